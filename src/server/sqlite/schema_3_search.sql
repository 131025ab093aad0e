-- modq server schema, version 3: what queue filters and sort orders read. Derived from the
-- item's content when it is stored (see sqlite.rs `search_columns`); a database upgraded to
-- this version has them filled in by the same code right after this script.

ALTER TABLE items ADD COLUMN author_id TEXT;
ALTER TABLE items ADD COLUMN author_handle TEXT;      -- lowercased, without a leading '@'
ALTER TABLE items ADD COLUMN text_lc TEXT;            -- the text, lowercased (Unicode)
ALTER TABLE items ADD COLUMN text_hash TEXT;          -- query::text_hash: near-identical text
ALTER TABLE items ADD COLUMN links TEXT NOT NULL DEFAULT '[]';  -- JSON array, query::links
ALTER TABLE items ADD COLUMN report_count INTEGER NOT NULL DEFAULT 0;

UPDATE items SET report_count = (SELECT COUNT(*) FROM reports WHERE reports.item_id = items.id);

CREATE INDEX items_author ON items (author_id);
CREATE INDEX items_text_hash ON items (text_hash);
CREATE INDEX items_age_queue ON items (state, created_at, priority DESC, id);
CREATE INDEX items_reports_queue ON items (state, report_count DESC, priority DESC, id);
CREATE INDEX items_deadline_queue
    ON items (state, COALESCE(deadline, '9999-12-31T23:59:59.999999Z'), priority DESC, id);
