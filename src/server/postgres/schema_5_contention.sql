-- The priority order after its first group (urgent lane and overdue items) is walked without
-- the urgent lane: on items_queue that walk first stepped over every open urgent item, all of
-- them sorted ahead, for each claim (~8,000 rows in the load bench).
CREATE INDEX items_rest_queue ON items (state, priority DESC, created_at, id)
    WHERE lane <> 'urgent';

-- An author's tally row was one row per state that every decision on any of their items
-- updated: under load, decisions on one author's items (a spam wave is one author) waited on
-- each other there (17 ms a decision in the load bench). Kept in 8 stripes now, as
-- queue_tally is, and read as their sum.
ALTER TABLE author_tally ADD COLUMN stripe SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE author_tally DROP CONSTRAINT author_tally_pkey;
ALTER TABLE author_tally ADD PRIMARY KEY (author_id, state, stripe);
