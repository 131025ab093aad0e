-- modq server schema, version 6: the lane, age, report-count and deadline orders index only
-- the items someone still has to review (open or escalated). A decision then takes the item
-- out of these four indexes instead of moving it within each of them, which halves their
-- share of a decision's writes, and they stay the size of the queue, not of history.
-- `items_queue` keeps every state, so decided items can still be listed in priority order.
--
-- The priority order's two indexes also carry lane and deadline, which decide whether an
-- item belongs to its first group (urgent lane, or a deadline already due): the walk tests
-- the group from index entries and reads an item's row only when it belongs, instead of
-- reading every row between the group's members.
-- Queries name the state as a literal (`state = 'open'`), which is how SQLite knows a
-- partial index applies.
--
-- The deadline order's key becomes a (virtual) column: on an indexed expression SQLite did
-- not see that a page resuming within one deadline is already in order, and sorted every
-- item without a deadline for each such page.

DROP INDEX items_queue;
DROP INDEX items_lane_queue;
DROP INDEX items_age_queue;
DROP INDEX items_reports_queue;
DROP INDEX items_deadline_queue;

CREATE INDEX items_queue ON items (state, priority DESC, created_at, id, lane, deadline);
CREATE INDEX items_lane_queue ON items (state, lane, priority DESC, created_at, id, deadline)
    WHERE state = 'open' OR state = 'escalated';
CREATE INDEX items_age_queue ON items (state, created_at, priority DESC, id)
    WHERE state = 'open' OR state = 'escalated';
CREATE INDEX items_reports_queue ON items (state, report_count DESC, priority DESC, id)
    WHERE state = 'open' OR state = 'escalated';
ALTER TABLE items ADD COLUMN deadline_key TEXT
    GENERATED ALWAYS AS (COALESCE(deadline, '9999-12-31T23:59:59.999999Z')) VIRTUAL;
CREATE INDEX items_deadline_queue ON items (state, deadline_key, priority DESC, id)
    WHERE state = 'open' OR state = 'escalated';
