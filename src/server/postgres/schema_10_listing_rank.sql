-- The report tally lists an item's categories by rank (`media::policy::listing_rank`): those
-- whose media are never shown (2), then those always grey (1), then the rest (0). One flag
-- for both let a flood of reports in fifty spellings of "gore" push the one report that
-- said CSAM out of an item read's fifty categories, and the server served its media.
ALTER TABLE report_tally ALTER COLUMN shown_first DROP DEFAULT;
ALTER TABLE report_tally ALTER COLUMN shown_first TYPE SMALLINT
    USING (CASE WHEN shown_first THEN 1 ELSE 0 END);
ALTER TABLE report_tally ALTER COLUMN shown_first SET DEFAULT 0;

-- Matched as `listing_rank` matches: ASCII case folded (`translate`, not `lower`, which
-- follows the database's locale and would also fold, say, a dotted capital I), Unicode white
-- space (Rust's `str::trim`) taken off both ends. This also ranks again the rows migration 8
-- matched with `lower`.
UPDATE report_tally SET shown_first =
    CASE
        WHEN translate(btrim(name, E'\t\n\u000B\f\r \u0085\u00A0\u1680\u2000\u2001\u2002\u2003'
                                   || E'\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029'
                                   || E'\u202F\u205F\u3000'),
                       'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
             IN ('child_safety', 'csam', 'child_sexual_abuse', 'child_sexual_abuse_material',
                 'child_sexual_exploitation') THEN 2
        WHEN translate(btrim(name, E'\t\n\u000B\f\r \u0085\u00A0\u1680\u2000\u2001\u2002\u2003'
                                   || E'\u2004\u2005\u2006\u2007\u2008\u2009\u200A\u2028\u2029'
                                   || E'\u202F\u205F\u3000'),
                       'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')
             IN ('violence', 'gore', 'self_harm', 'suicide', 'terrorism', 'violent_extremism',
                 'animal_cruelty') THEN 1
        ELSE 0
    END
WHERE dimension = 'category';
