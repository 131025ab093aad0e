-- modq server schema, version 7: the lane tabs' counts without walking the queue.
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
