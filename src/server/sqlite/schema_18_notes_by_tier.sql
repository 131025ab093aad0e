-- An item read lists the newest notes at each tier apart (see `storage::NOTES_LISTED`), so
-- that notes a role may not read cannot push those it may out of its view. '' for no tier,
-- as note_tally keeps it.
CREATE INDEX notes_item_tier ON notes (item_id, COALESCE(tier, ''), id);
