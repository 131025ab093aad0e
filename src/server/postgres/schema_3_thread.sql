-- modq server schema (PostgreSQL): the thread around an item; see the SQLite
-- schema_10_thread.sql.

ALTER TABLE items ADD COLUMN thread TEXT;
