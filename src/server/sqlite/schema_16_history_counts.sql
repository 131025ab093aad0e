-- An item read says how many decisions and notes an item has in all. It counted them, which
-- grew with them: any token that may read an item may write notes on it, hundreds a second.
-- The database keeps the counts as rows are added instead (both tables are append-only).
ALTER TABLE items ADD COLUMN decision_count INTEGER NOT NULL DEFAULT 0;
CREATE TABLE note_tally (
    item_id TEXT NOT NULL,
    tier    TEXT NOT NULL,      -- the note's tier; '' for none
    notes   INTEGER NOT NULL,
    PRIMARY KEY (item_id, tier)
) WITHOUT ROWID;

UPDATE items SET decision_count = (SELECT COUNT(*) FROM audit WHERE audit.item_id = items.id);
INSERT INTO note_tally (item_id, tier, notes)
SELECT item_id, COALESCE(tier, ''), COUNT(*) FROM notes GROUP BY item_id, COALESCE(tier, '');

CREATE TRIGGER audit_counted AFTER INSERT ON audit
BEGIN
    UPDATE items SET decision_count = decision_count + 1 WHERE id = NEW.item_id;
END;
CREATE TRIGGER note_counted AFTER INSERT ON notes
BEGIN
    INSERT INTO note_tally (item_id, tier, notes) VALUES (NEW.item_id, COALESCE(NEW.tier, ''), 1)
    ON CONFLICT (item_id, tier) DO UPDATE SET notes = notes + 1;
END;
