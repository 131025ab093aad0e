-- Each item's reports counted by reporter type and by category, kept as reports are filed:
-- an item read lists only its newest reports (`storage::REPORTS_LISTED`) and tells the
-- shape of all the others from here, in a few rows however many reports there are.
-- `shown_first` marks a category the media policy acts on (`media::policy::acts_on`: media
-- never shown, or always greyscale): the tally lists those before any other, so no flood of
-- other categories pushes them out of an item read. `item_id` collates as items.id (see
-- migration 7), so that the one-statement item read reaches these rows through the index.
CREATE TABLE report_tally (
    item_id     TEXT COLLATE "C" NOT NULL REFERENCES items (id),
    dimension   TEXT COLLATE "C" NOT NULL,    -- 'reporter_type' | 'category'
    name        TEXT COLLATE "C" NOT NULL,
    reports     BIGINT NOT NULL,
    shown_first BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (item_id, dimension, name)
);
CREATE INDEX report_tally_listed
    ON report_tally (item_id, dimension, shown_first DESC, reports DESC, name);

INSERT INTO report_tally (item_id, dimension, name, reports)
SELECT item_id, 'reporter_type', reporter_type, COUNT(*) FROM reports
GROUP BY item_id, reporter_type;

-- The categories `acts_on` names, matched as it matches: case folded, Unicode white space
-- (Rust's `str::trim`) taken off both ends.
INSERT INTO report_tally (item_id, dimension, name, reports, shown_first)
SELECT item_id, 'category', category, COUNT(*),
       lower(btrim(category, E'\t\n\u000B\f\r \u0085\u00A0\u1680\u2000\u2001\u2002\u2003'
                             || E'\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029'
                             || E'\u202F\u205F\u3000'))
       IN ('child_safety', 'csam', 'child_sexual_abuse', 'child_sexual_abuse_material',
           'child_sexual_exploitation', 'violence', 'gore', 'self_harm', 'suicide',
           'terrorism', 'violent_extremism', 'animal_cruelty')
FROM reports
GROUP BY item_id, category;
