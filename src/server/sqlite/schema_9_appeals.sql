-- modq server schema: appeals (EU DSA Article 20).
--
-- An appeal is against one applied decision (an audit row) and is carried by a queue item
-- of its own (`appeal-` and that row's number), so one decision has one appeal at most.
-- Its outcome is written once, by the moderator who decides it; the decision itself is
-- in the audit log like any other.

CREATE TABLE appeals (
    id                   INTEGER PRIMARY KEY,
    decision_id          INTEGER NOT NULL UNIQUE,  -- the audit row appealed
    item_id              TEXT NOT NULL,            -- the item that decision was on
    appeal_item_id       TEXT NOT NULL UNIQUE,     -- the queue item carrying the appeal
    statement            TEXT NOT NULL,            -- the appellant's, as written
    lodged_by            TEXT NOT NULL,            -- the token that lodged it
    lodged_by_token_id   INTEGER NOT NULL,
    lodged_at            TEXT NOT NULL,
    outcome              TEXT,                     -- upheld | overturned; NULL while open
    decided_by           TEXT,
    decided_by_token_id  INTEGER,
    decided_at           TEXT
);
