-- modq server schema, version 8: roles at every tier, and facts the server can stand behind.
--
-- Tokens get a stable id, unique names and a revocation time; the audit log, notes and
-- reports record the token id of whoever made them. Items remember the tier whose role now
-- decides on them (the tier they are escalated to, or the one that decided them), decisions
-- the tier they were made under and how they were taken (one item, a range, a filter…), and
-- take downs the facts their statement of reasons is written from, frozen when they are made.
--
-- The audit table is rebuilt: an idempotency key is now unique per token, not across the
-- server, so another moderator's key can never answer "duplicate" for someone else's
-- decision. sqlite.rs `backfill_schema_8` fills what older rows lack (by replaying the log)
-- and then puts back the append-only triggers, all in the migration's one transaction.

-- The old tables are renamed and copied into new ones made under their own names, so that
-- the schema reads `CREATE TABLE audit (…)` as before (a renamed table's reads
-- `CREATE TABLE "audit"`, which tools matching the schema's text do not expect).
ALTER TABLE tokens RENAME TO tokens_v7;
CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,   -- hex SHA-256 of the token; the token is never stored
    name       TEXT NOT NULL,
    role       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT                    -- set by `modq serve token revoke`; never unset
);
INSERT INTO tokens (hash, name, role, created_at)
    SELECT hash, name, role, created_at FROM tokens_v7 ORDER BY created_at, rowid;
DROP TABLE tokens_v7;
-- Names were not unique before: a later token with an earlier one's name gets its id added.
UPDATE tokens SET name = name || '-' || id
    WHERE EXISTS (SELECT 1 FROM tokens t
                  WHERE t.name = tokens.name COLLATE NOCASE AND t.id < tokens.id);
CREATE UNIQUE INDEX tokens_name ON tokens (name COLLATE NOCASE);

DROP TRIGGER audit_no_update;
DROP TRIGGER audit_no_delete;
DROP INDEX audit_item;
DROP INDEX audit_at;
DROP INDEX audit_reverses;
ALTER TABLE audit RENAME TO audit_v7;
CREATE TABLE audit (
    id                       INTEGER PRIMARY KEY,
    at                       TEXT NOT NULL,     -- server clock
    actor                    TEXT NOT NULL,     -- token name when it decided, for people
    actor_token_id           INTEGER,           -- tokens.id; NULL only for rows older than v8
                                                -- whose token name was not found
    role                     TEXT NOT NULL,
    action                   TEXT NOT NULL,
    item_id                  TEXT NOT NULL REFERENCES items (id),
    reason_code              TEXT,
    scope                    TEXT,              -- JSON Scope, take downs only
    note                     TEXT,
    escalation_target        TEXT,              -- escalations only
    reverses                 TEXT,              -- reversals only: the key undone
    reverses_id              INTEGER,           -- reversals only: the audit row undone
    idempotency_key          TEXT NOT NULL,
    body_hash                TEXT,              -- SHA-256 of the decision as sent (v8 on)
    method                   TEXT,              -- single, tagged, range, filter, similar
    decided_at               TEXT NOT NULL,     -- client clock, within a day of `at`
    from_state               TEXT NOT NULL,
    from_restricted_in       TEXT,
    from_escalation_target   TEXT,
    from_tier                TEXT,              -- the tier whose role the decision needed
    to_state                 TEXT NOT NULL,
    to_tier                  TEXT,              -- the tier whose role decides the item after
    basis                    TEXT               -- JSON: what the statement of reasons states
);
INSERT INTO audit (id, at, actor, role, action, item_id, reason_code, scope, note,
                      escalation_target, reverses, idempotency_key, decided_at, from_state,
                      from_restricted_in, from_escalation_target, to_state)
    SELECT id, at, actor, role, action, item_id, reason_code, scope, note, escalation_target,
           reverses, idempotency_key, decided_at, from_state, from_restricted_in,
           from_escalation_target, to_state
    FROM audit_v7 ORDER BY id;
DROP TABLE audit_v7;
UPDATE audit SET actor_token_id = (SELECT id FROM tokens WHERE tokens.name = audit.actor);

CREATE UNIQUE INDEX audit_key ON audit (actor_token_id, idempotency_key);
CREATE INDEX audit_item ON audit (item_id, id);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_reverses ON audit (reverses_id) WHERE reverses_id IS NOT NULL;

ALTER TABLE items ADD COLUMN hold_tier TEXT;   -- filled by the replay

ALTER TABLE notes ADD COLUMN actor_token_id INTEGER;
ALTER TABLE notes ADD COLUMN tier TEXT;          -- the item's hold tier when written

ALTER TABLE reports ADD COLUMN filed_by INTEGER;   -- tokens.id; NULL: `modq serve import`
ALTER TABLE reports ADD COLUMN filer_role TEXT;

-- Who described an item's content: 'intake' (an admin token or an import), or 'reporter'
-- (an ordinary token's report on content the server did not know yet, which the intake's
-- description replaces when it comes).
ALTER TABLE items ADD COLUMN content_source TEXT NOT NULL DEFAULT 'intake';
