-- modq server schema on PostgreSQL, version 1: what SQLite's eight steps arrive at, made at
-- once. Timestamps are RFC 3339 UTC text with microseconds ("2026-05-01T10:00:00.000000Z"),
-- as in SQLite: text order is time order, and queue cursors carry the same keys on either
-- engine; compared in the "C" collation (byte order, as SQLite compares), whatever the
-- database's locale. JSON is text too (countries, media, scope…), read and written by the same code.

CREATE TABLE items (
    id                TEXT COLLATE "C" PRIMARY KEY,
    kind              TEXT NOT NULL,
    text              TEXT,
    author            TEXT,              -- JSON Author
    language          TEXT,
    countries         TEXT NOT NULL,     -- JSON array
    media             TEXT NOT NULL,     -- JSON array of Media
    priority          BIGINT NOT NULL,
    lane              TEXT NOT NULL,
    deadline          TEXT COLLATE "C",
    state             TEXT NOT NULL,
    restricted_in     TEXT,              -- JSON Scope
    escalation_target TEXT,
    created_at        TEXT COLLATE "C" NOT NULL,
    author_id         TEXT,
    author_handle     TEXT,              -- lowercased, without a leading '@'
    text_lc           TEXT,              -- the text, lowercased (Unicode)
    text_hash         TEXT,              -- query::text_hash: near-identical text
    links             TEXT NOT NULL DEFAULT '[]',   -- JSON array, query::links
    report_count      BIGINT NOT NULL DEFAULT 0,
    deadline_key      TEXT COLLATE "C" GENERATED ALWAYS AS
                          (COALESCE(deadline, '9999-12-31T23:59:59.999999Z')) STORED,
    hold_tier         TEXT,
    content_source    TEXT NOT NULL DEFAULT 'intake'
);

-- The queue orders, as in SQLite's schema 6 (open and escalated items only, but for the
-- priority order, which also lists decided items).
CREATE INDEX items_queue ON items (state, priority DESC, created_at, id);
CREATE INDEX items_lane_queue ON items (state, lane, priority DESC, created_at, id)
    WHERE state = 'open' OR state = 'escalated';
CREATE INDEX items_age_queue ON items (state, created_at, priority DESC, id)
    WHERE state = 'open' OR state = 'escalated';
CREATE INDEX items_reports_queue ON items (state, report_count DESC, priority DESC, id)
    WHERE state = 'open' OR state = 'escalated';
CREATE INDEX items_deadline_queue ON items (state, deadline_key, priority DESC, id)
    WHERE state = 'open' OR state = 'escalated';
CREATE INDEX items_overdue ON items (state, deadline, lane)
    WHERE state = 'open' AND deadline IS NOT NULL;
CREATE INDEX items_author ON items (author_id);
CREATE INDEX items_text_hash ON items (text_hash);

CREATE TABLE tokens (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,   -- hex SHA-256 of the token; the token is never stored
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT                    -- set by `modq serve token revoke`; never unset
);
-- Names are unique whatever their case, revoked tokens' included.
CREATE UNIQUE INDEX tokens_name ON tokens (lower(name));

CREATE TABLE reports (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id       TEXT NOT NULL REFERENCES items (id),
    reporter_type TEXT NOT NULL,
    category      TEXT NOT NULL,
    comment       TEXT,
    lane          TEXT NOT NULL,
    deadline      TEXT,
    received_at   TEXT NOT NULL,
    filed_by      BIGINT,             -- tokens.id; NULL: `modq serve import`
    filer_role    TEXT
);
CREATE INDEX reports_item ON reports (item_id, id);

-- The decision log and audit trail in one. The unique key (token, idempotency key) is what
-- makes a decision apply at most once, whichever server received it and however often.
CREATE TABLE audit (
    id                       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at                       TEXT COLLATE "C" NOT NULL,     -- server clock
    actor                    TEXT NOT NULL,     -- token name when it decided, for people
    actor_token_id           BIGINT NOT NULL,
    role                     TEXT NOT NULL,
    action                   TEXT NOT NULL,
    item_id                  TEXT NOT NULL REFERENCES items (id),
    reason_code              TEXT,
    scope                    TEXT,              -- JSON Scope, take downs only
    note                     TEXT,
    escalation_target        TEXT,              -- escalations only
    reverses                 TEXT,              -- reversals only: the key undone
    reverses_id              BIGINT,            -- reversals only: the audit row undone
    idempotency_key          TEXT NOT NULL,
    body_hash                TEXT,              -- SHA-256 of the decision as sent
    method                   TEXT,              -- single, tagged, range, filter, similar
    decided_at               TEXT NOT NULL,     -- client clock, within a day of `at`
    from_state               TEXT NOT NULL,
    from_restricted_in       TEXT,
    from_escalation_target   TEXT,
    from_tier                TEXT,
    to_state                 TEXT NOT NULL,
    to_tier                  TEXT,
    basis                    TEXT,              -- JSON: what the statement of reasons states
    CONSTRAINT audit_key UNIQUE (actor_token_id, idempotency_key)
);
CREATE INDEX audit_item ON audit (item_id, id);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_reverses ON audit (reverses_id) WHERE reverses_id IS NOT NULL;

CREATE TABLE notes (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id        TEXT NOT NULL REFERENCES items (id),
    at             TEXT NOT NULL,
    actor          TEXT NOT NULL,
    role           TEXT NOT NULL,
    note           TEXT NOT NULL,
    actor_token_id BIGINT,
    tier           TEXT
);
CREATE INDEX notes_item ON notes (item_id, id);

CREATE TABLE leases (
    item_id    TEXT PRIMARY KEY REFERENCES items (id),
    holder     TEXT NOT NULL,     -- token name, never a client-sent name
    expires_at TEXT COLLATE "C" NOT NULL      -- server clock
);
CREATE INDEX leases_holder ON leases (holder);

-- Every decision moves an item between two of these few counts. One row per count would
-- make every decision of every server wait for the one before it to commit; each count is
-- kept in 64 stripes instead (a connection writes the stripe of its backend's pid), and
-- read as their sum.
CREATE TABLE queue_tally (
    state  TEXT NOT NULL,
    lane   TEXT NOT NULL,
    tier   TEXT NOT NULL,     -- the escalation target; '' for none
    stripe SMALLINT NOT NULL,
    items  BIGINT NOT NULL,
    PRIMARY KEY (state, lane, tier, stripe)
);

CREATE TABLE author_tally (
    author_id TEXT NOT NULL,
    state     TEXT NOT NULL,
    items     BIGINT NOT NULL,
    PRIMARY KEY (author_id, state)
);

-- The audit log and notes are append-only in the database itself: whatever connects,
-- through modq or not, an UPDATE, DELETE or TRUNCATE of them fails.
CREATE FUNCTION modq_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION modq_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION modq_append_only();
CREATE TRIGGER notes_append_only BEFORE UPDATE OR DELETE ON notes
    FOR EACH ROW EXECUTE FUNCTION modq_append_only();
CREATE TRIGGER notes_no_truncate BEFORE TRUNCATE ON notes
    FOR EACH STATEMENT EXECUTE FUNCTION modq_append_only();
