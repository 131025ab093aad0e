-- modq server schema on PostgreSQL: account measures (issue 19, "The account"); the same
-- table as SQLite's schema_11_account.sql, which says what each column holds.
CREATE TABLE account_measures (
    id              BIGSERIAL PRIMARY KEY,
    account_id      TEXT NOT NULL,
    item_id         TEXT NOT NULL,
    token_id        BIGINT NOT NULL,
    idempotency_key TEXT NOT NULL,
    action          TEXT NOT NULL,
    days            BIGINT,
    reason_code     TEXT,
    at              TEXT NOT NULL,
    until           TEXT,
    lifted_at       TEXT,
    UNIQUE (token_id, idempotency_key)
);
CREATE INDEX account_measures_account ON account_measures (account_id, at);

-- Support resources: the reporter a report names, and the outbox of messages to users (see
-- SQLite's schema_11_account.sql).
ALTER TABLE reports ADD COLUMN reporter TEXT;
CREATE TABLE user_messages (
    id              BIGSERIAL PRIMARY KEY,
    recipient       TEXT NOT NULL,
    country         TEXT,
    kind            TEXT NOT NULL,
    item_id         TEXT NOT NULL,
    body            TEXT NOT NULL,
    token_id        BIGINT NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    UNIQUE (token_id, idempotency_key, recipient)
);

-- The accounts the server knows (see SQLite's schema_11_account.sql).
CREATE TABLE accounts (
    id         TEXT PRIMARY KEY,
    created_at TEXT,
    first_seen TEXT NOT NULL
);
