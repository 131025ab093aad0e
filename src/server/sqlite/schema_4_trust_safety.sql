-- modq server schema, migration 4: trust & safety. Notes join the append-only audit trail;
-- indexes serve the daily report and the statements export (the author record reads
-- schema 3's items_author).

-- A note on an item, outside any decision. Kept apart from `audit` because the audit
-- table's latest row is the decision in force, which a note must not displace.
CREATE TABLE notes (
    id      INTEGER PRIMARY KEY,
    item_id TEXT NOT NULL REFERENCES items (id),
    at      TEXT NOT NULL,     -- server clock
    actor   TEXT NOT NULL,     -- token name, never a client-sent name
    role    TEXT NOT NULL,
    note    TEXT NOT NULL
);

CREATE INDEX notes_item ON notes (item_id, id);

CREATE TRIGGER notes_no_update BEFORE UPDATE ON notes
BEGIN
    SELECT RAISE(ABORT, 'notes are append-only');
END;

CREATE TRIGGER notes_no_delete BEFORE DELETE ON notes
BEGIN
    SELECT RAISE(ABORT, 'notes are append-only');
END;

-- The daily report and the statements export read the audit table by time.
CREATE INDEX audit_at ON audit (at);
-- Whether a take down was reversed.
CREATE INDEX audit_reverses ON audit (reverses) WHERE reverses IS NOT NULL;
