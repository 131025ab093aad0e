-- modq server schema, version 7: the lane tabs' counts without walking the queue.
--
-- Counting open items per lane read the index entry of every open item, on every
-- GET /v1/queue/counts: about 150 ms of a core at 1,000,000 items, which on a two-core
-- machine took the second core from whatever else ran there. Triggers now keep a tally
-- of items per state, lane and escalation target, so the open and escalated counts read a
-- handful of rows; the overdue counts read only the overdue items, from an index of the
-- open items that have a deadline.

CREATE TABLE queue_tally (
    state TEXT NOT NULL,
    lane  TEXT NOT NULL,
    tier  TEXT NOT NULL,     -- the escalation target; '' for none
    items INTEGER NOT NULL,
    PRIMARY KEY (state, lane, tier)
) WITHOUT ROWID;

INSERT INTO queue_tally (state, lane, tier, items)
    SELECT state, lane, COALESCE(escalation_target, ''), COUNT(*) FROM items GROUP BY 1, 2, 3;

CREATE TRIGGER queue_tally_insert AFTER INSERT ON items
BEGIN
    INSERT INTO queue_tally (state, lane, tier, items)
        VALUES (NEW.state, NEW.lane, COALESCE(NEW.escalation_target, ''), 1)
        ON CONFLICT (state, lane, tier) DO UPDATE SET items = items + 1;
END;

-- Only when one of them changes: a new report rewrites the lane even when it stays the same.
CREATE TRIGGER queue_tally_update AFTER UPDATE OF state, lane, escalation_target ON items
WHEN OLD.state IS NOT NEW.state OR OLD.lane IS NOT NEW.lane
  OR OLD.escalation_target IS NOT NEW.escalation_target
BEGIN
    UPDATE queue_tally SET items = items - 1
        WHERE state = OLD.state AND lane = OLD.lane
          AND tier = COALESCE(OLD.escalation_target, '');
    INSERT INTO queue_tally (state, lane, tier, items)
        VALUES (NEW.state, NEW.lane, COALESCE(NEW.escalation_target, ''), 1)
        ON CONFLICT (state, lane, tier) DO UPDATE SET items = items + 1;
END;

CREATE TRIGGER queue_tally_delete AFTER DELETE ON items
BEGIN
    UPDATE queue_tally SET items = items - 1
        WHERE state = OLD.state AND lane = OLD.lane
          AND tier = COALESCE(OLD.escalation_target, '');
END;

CREATE INDEX items_overdue ON items (state, deadline, lane)
    WHERE state = 'open' AND deadline IS NOT NULL;
