-- modq server schema: account measures (issue 19, "The account").
--
-- A take down may carry a measure on its author's account: a strike, a restriction or
-- suspension for some days, a ban. One row per such take down, named by the decision's
-- token and idempotency key (unique per token, like the audit's), so that the audit row
-- and its statement of reasons find it, and a reversal of the take down lifts it.
-- Rows are never deleted: a lifted measure keeps when and by which audit row.
CREATE TABLE account_measures (
    id              INTEGER PRIMARY KEY,
    account_id      TEXT NOT NULL,
    item_id         TEXT NOT NULL,
    token_id        INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    action          TEXT NOT NULL,     -- strike | restrict | suspend | ban
    days            INTEGER,           -- restrict and suspend: 1 to 365
    reason_code     TEXT,
    at              TEXT NOT NULL,
    until           TEXT,              -- restrict and suspend: at + days
    lifted_at       TEXT,              -- set when the take down is reversed
    UNIQUE (token_id, idempotency_key)
);
CREATE INDEX account_measures_account ON account_measures (account_id, at);

-- Support resources (issue 19, point 7). A report may name the platform's user who filed it
-- (JSON {"id", "country"}; from the intake only), and the server keeps an outbox of messages
-- to users, read by the platform's delivery job through GET /v1/messages (admin only).
-- A message row is written with the `send_support` decision that caused it, once per
-- reporter, under the decision's token and key.
ALTER TABLE reports ADD COLUMN reporter TEXT;
CREATE TABLE user_messages (
    id              INTEGER PRIMARY KEY,
    recipient       TEXT NOT NULL,
    country         TEXT,
    kind            TEXT NOT NULL,     -- support_resources
    item_id         TEXT NOT NULL,
    body            TEXT NOT NULL,     -- JSON {"resources": [...], "verified": bool}
    token_id        INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    UNIQUE (token_id, idempotency_key, recipient)
);

-- The accounts the server knows, from the intake's `author` of reports: when each was made
-- (the item view shows its age) and when the server first heard of it. A later intake that
-- says when an account was made replaces what an earlier one said.
CREATE TABLE accounts (
    id         TEXT PRIMARY KEY,
    created_at TEXT,
    first_seen TEXT NOT NULL
);
