-- modq server schema, version 7: the lane tabs' counts and the author record without
-- walking the queue.
--
-- Counting open items per lane read the index entry of every open item, on every
-- GET /v1/queue/counts: about 150 ms of a core at 1,000,000 items, which on a two-core
-- machine took the second core from whatever else ran there. A tally of items per state,
-- lane and escalation target, which the server updates in the transaction of every write
-- that moves an item (once per transaction, see `TallyChanges`), gives the open and
-- escalated counts from a handful of rows; the overdue counts read only the overdue items,
-- from an index of the open items that have a deadline.

CREATE TABLE queue_tally (
    state TEXT NOT NULL,
    lane  TEXT NOT NULL,
    tier  TEXT NOT NULL,     -- the escalation target; '' for none
    items INTEGER NOT NULL,
    PRIMARY KEY (state, lane, tier)
) WITHOUT ROWID;

INSERT INTO queue_tally (state, lane, tier, items)
    SELECT state, lane, COALESCE(escalation_target, ''), COUNT(*) FROM items GROUP BY 1, 2, 3;

CREATE INDEX items_overdue ON items (state, deadline, lane)
    WHERE state = 'open' AND deadline IS NOT NULL;

-- The author record (an item's author's other items, by state) was counted from the
-- (author_id, state) index: a spam wave of 100,000 posts by one account made every item of
-- it cost 100,000 index entries, on every page and claim. It reads this tally now, kept the
-- same way. The index keeps serving `author:` filters without the state, so a decision no
-- longer moves the item within it.
CREATE TABLE author_tally (
    author_id TEXT NOT NULL,
    state     TEXT NOT NULL,
    items     INTEGER NOT NULL,
    PRIMARY KEY (author_id, state)
) WITHOUT ROWID;

INSERT INTO author_tally (author_id, state, items)
    SELECT author_id, state, COUNT(*) FROM items WHERE author_id IS NOT NULL GROUP BY 1, 2;

DROP INDEX items_author_state;
CREATE INDEX items_author ON items (author_id);
