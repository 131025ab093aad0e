-- Each item's reports counted by reporter type and by category, kept as reports are filed:
-- an item read lists only its newest reports (`storage::REPORTS_LISTED`) and tells the
-- shape of all the others from here, in a few rows however many reports there are.
-- `shown_first` marks a category the media policy acts on (`media::policy::acts_on`: media
-- never shown, or always greyscale): the tally lists those before any other, so no flood of
-- other categories pushes them out of an item read.
CREATE TABLE report_tally (
    item_id     TEXT NOT NULL REFERENCES items (id),
    dimension   TEXT NOT NULL,                -- 'reporter_type' | 'category'
    name        TEXT NOT NULL,
    reports     INTEGER NOT NULL,
    shown_first INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (item_id, dimension, name)
) WITHOUT ROWID;
CREATE INDEX report_tally_listed
    ON report_tally (item_id, dimension, shown_first DESC, reports DESC, name);

INSERT INTO report_tally (item_id, dimension, name, reports)
SELECT item_id, 'reporter_type', reporter_type, COUNT(*) FROM reports
GROUP BY item_id, reporter_type;

-- The categories `acts_on` names, matched as it matches: ASCII case folded, Unicode white
-- space (Rust's `str::trim`) taken off both ends.
INSERT INTO report_tally (item_id, dimension, name, reports, shown_first)
SELECT item_id, 'category', category, COUNT(*),
       lower(trim(category, char(9, 10, 11, 12, 13, 32, 133, 160, 5760, 8192, 8193, 8194,
                                  8195, 8196, 8197, 8198, 8199, 8200, 8201, 8202, 8232,
                                  8233, 8239, 8287, 12288)))
       IN ('child_safety', 'csam', 'child_sexual_abuse', 'child_sexual_abuse_material',
           'child_sexual_exploitation', 'violence', 'gore', 'self_harm', 'suicide',
           'terrorism', 'violent_extremism', 'animal_cruelty')
FROM reports
GROUP BY item_id, category;
