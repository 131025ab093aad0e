-- Every column that holds an item's id takes the collation of `items.id` ("C", so that ids
-- sort as Rust's strings do). They were created with the database's default collation, and
-- a comparison of two columns of different collations cannot use an index: a statement that
-- read an item's reports, audit rows or notes beside the item itself (`r.item_id = items.id`)
-- scanned the whole table for every item, 1.7 s a page at 150,000 items. Text to text changes
-- no stored value: the tables are not rewritten, only their indexes on these columns rebuilt.
ALTER TABLE reports ALTER COLUMN item_id TYPE TEXT COLLATE "C";
ALTER TABLE audit ALTER COLUMN item_id TYPE TEXT COLLATE "C";
ALTER TABLE notes ALTER COLUMN item_id TYPE TEXT COLLATE "C";
ALTER TABLE leases ALTER COLUMN item_id TYPE TEXT COLLATE "C";
ALTER TABLE appeals ALTER COLUMN item_id TYPE TEXT COLLATE "C";
ALTER TABLE appeals ALTER COLUMN appeal_item_id TYPE TEXT COLLATE "C";
ALTER TABLE account_measures ALTER COLUMN item_id TYPE TEXT COLLATE "C";
ALTER TABLE user_messages ALTER COLUMN item_id TYPE TEXT COLLATE "C";
