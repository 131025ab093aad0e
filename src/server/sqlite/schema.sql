-- modq server schema, version 1. Timestamps are RFC 3339 UTC text with microseconds
-- ("2026-05-01T10:00:00.000000Z"), so that text order is time order.

CREATE TABLE items (
    id                TEXT PRIMARY KEY,
    kind              TEXT NOT NULL,
    text              TEXT,
    author            TEXT,              -- JSON Author
    language          TEXT,
    countries         TEXT NOT NULL,     -- JSON array
    media             TEXT NOT NULL,     -- JSON array of Media
    priority          INTEGER NOT NULL,
    lane              TEXT NOT NULL,
    deadline          TEXT,
    state             TEXT NOT NULL,
    restricted_in     TEXT,              -- JSON Scope
    escalation_target TEXT,
    created_at        TEXT NOT NULL
);

-- Serves both queue orders: every lane, and one lane.
CREATE INDEX items_queue ON items (state, priority DESC, created_at, id);
CREATE INDEX items_lane_queue ON items (state, lane, priority DESC, created_at, id);

CREATE TABLE reports (
    id            INTEGER PRIMARY KEY,
    item_id       TEXT NOT NULL REFERENCES items (id),
    reporter_type TEXT NOT NULL,
    category      TEXT NOT NULL,
    comment       TEXT,
    lane          TEXT NOT NULL,
    deadline      TEXT,
    received_at   TEXT NOT NULL
);

CREATE INDEX reports_item ON reports (item_id);

-- The decision log and audit trail in one: every applied decision, reversals included.
-- The UNIQUE key is what makes a decision apply at most once, across restarts too.
CREATE TABLE audit (
    id                       INTEGER PRIMARY KEY,
    at                       TEXT NOT NULL,     -- server clock
    actor                    TEXT NOT NULL,     -- token name, never a client-sent name
    role                     TEXT NOT NULL,
    action                   TEXT NOT NULL,
    item_id                  TEXT NOT NULL REFERENCES items (id),
    reason_code              TEXT,
    scope                    TEXT,              -- JSON Scope, take downs only
    note                     TEXT,
    escalation_target        TEXT,              -- escalations only
    reverses                 TEXT,              -- reversals only: the key undone
    idempotency_key          TEXT NOT NULL UNIQUE,
    decided_at               TEXT NOT NULL,     -- client clock
    from_state               TEXT NOT NULL,
    from_restricted_in       TEXT,
    from_escalation_target   TEXT,
    to_state                 TEXT NOT NULL
);

CREATE INDEX audit_item ON audit (item_id, id);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only');
END;

CREATE TABLE tokens (
    hash       TEXT PRIMARY KEY,   -- hex SHA-256 of the token; the token itself is never stored
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    created_at TEXT NOT NULL
);
