-- modq server schema: the thread around an item (its parent and a few messages before and
-- after it), as the platform's intake describes it: JSON of `model::Thread`, bounded by
-- `rules::check_thread`; NULL where the platform gave none.

ALTER TABLE items ADD COLUMN thread TEXT;
