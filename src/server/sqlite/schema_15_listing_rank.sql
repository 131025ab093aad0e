-- The report tally lists an item's categories by rank (`media::policy::listing_rank`): those
-- whose media are never shown (2), then those always grey (1), then the rest (0). One flag
-- for both let a flood of reports in fifty spellings of "gore" push the one report that
-- said CSAM out of an item read's fifty categories, and the server served its media.
-- Matched as `listing_rank` matches: ASCII case folded (SQLite's `lower`), Unicode white
-- space (Rust's `str::trim`) taken off both ends.
UPDATE report_tally SET shown_first =
    CASE
        WHEN lower(trim(name, char(9, 10, 11, 12, 13, 32, 133, 160, 5760, 8192, 8193, 8194,
                                   8195, 8196, 8197, 8198, 8199, 8200, 8201, 8202, 8232,
                                   8233, 8239, 8287, 12288)))
             IN ('child_safety', 'csam', 'child_sexual_abuse', 'child_sexual_abuse_material',
                 'child_sexual_exploitation') THEN 2
        WHEN lower(trim(name, char(9, 10, 11, 12, 13, 32, 133, 160, 5760, 8192, 8193, 8194,
                                   8195, 8196, 8197, 8198, 8199, 8200, 8201, 8202, 8232,
                                   8233, 8239, 8287, 12288)))
             IN ('violence', 'gore', 'self_harm', 'suicide', 'terrorism', 'violent_extremism',
                 'animal_cruelty') THEN 1
        ELSE 0
    END
WHERE dimension = 'category';
