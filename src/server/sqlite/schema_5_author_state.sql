-- modq server schema, version 5: the author record (an item's author's other items, by state)
-- is counted from this index alone, without reading each item's row: a prolific author's
-- thousands of items cost a page of claims little. It also serves `author_id = ?` filters.

DROP INDEX items_author;
CREATE INDEX items_author_state ON items (author_id, state);
