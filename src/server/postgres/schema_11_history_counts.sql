-- An item read says how many decisions and notes an item has in all. It counted them, which
-- grew with them: any token that may read an item may write notes on it, hundreds a second.
-- The database keeps the counts as rows are added instead (both tables are append-only).
ALTER TABLE items ADD COLUMN decision_count BIGINT NOT NULL DEFAULT 0;
CREATE TABLE note_tally (
    item_id TEXT COLLATE "C" NOT NULL,
    tier    TEXT COLLATE "C" NOT NULL,      -- the note's tier; '' for none
    notes   BIGINT NOT NULL,
    PRIMARY KEY (item_id, tier)
);

UPDATE items SET decision_count = (SELECT COUNT(*) FROM audit WHERE audit.item_id = items.id);
INSERT INTO note_tally (item_id, tier, notes)
SELECT item_id, COALESCE(tier, ''), COUNT(*) FROM notes GROUP BY item_id, COALESCE(tier, '');

-- A decision's transaction holds its item's row already (decisions lock their items first).
CREATE FUNCTION modq_count_decision() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE items SET decision_count = decision_count + 1 WHERE id = NEW.item_id;
    RETURN NULL;
END $$;
CREATE TRIGGER audit_counted AFTER INSERT ON audit
    FOR EACH ROW EXECUTE FUNCTION modq_count_decision();

CREATE FUNCTION modq_count_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO note_tally (item_id, tier, notes) VALUES (NEW.item_id, COALESCE(NEW.tier, ''), 1)
    ON CONFLICT (item_id, tier) DO UPDATE SET notes = note_tally.notes + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER note_counted AFTER INSERT ON notes
    FOR EACH ROW EXECUTE FUNCTION modq_count_note();
