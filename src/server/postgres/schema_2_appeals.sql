-- modq server schema (PostgreSQL): appeals (EU DSA Article 20); see the SQLite
-- schema_9_appeals.sql for what each column holds.

CREATE TABLE appeals (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    decision_id          BIGINT NOT NULL UNIQUE,
    item_id              TEXT NOT NULL,
    appeal_item_id       TEXT NOT NULL UNIQUE,
    statement            TEXT NOT NULL,
    lodged_by            TEXT NOT NULL,
    lodged_by_token_id   BIGINT NOT NULL,
    lodged_at            TEXT NOT NULL,
    outcome              TEXT,
    decided_by           TEXT,
    decided_by_token_id  BIGINT,
    decided_at           TEXT
);
