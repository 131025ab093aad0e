-- Filing a report keeps its item's figures one report at a time (`server::report_figures`)
-- instead of rereading every earlier report of the item: the counted reports' weights are
-- kept beside the priority (which is the most urgent counted lane's base plus them), the
-- most trusted report's source and category beside the lane, and whether a token already
-- reported the item is found through an index of its own.
ALTER TABLE items ADD COLUMN report_weight INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN leading_reporter_type TEXT;
ALTER TABLE items ADD COLUMN leading_category TEXT;
CREATE INDEX reports_filer ON reports (item_id, filed_by);

-- The weights are `ReporterType::weight`'s. A report counts unless an ordinary (non-admin)
-- token already filed an ordinary report on the item.
UPDATE items SET report_weight = COALESCE((
    SELECT SUM(CASE r.reporter_type WHEN 'user' THEN 10 WHEN 'automated' THEN 15
                                    WHEN 'trusted_flagger' THEN 40 WHEN 'authority' THEN 50
                                    ELSE 0 END)
    FROM reports r
    WHERE r.item_id = items.id
      AND NOT (r.filed_by IS NOT NULL AND r.filer_role IS NOT NULL AND r.filer_role <> 'admin'
               AND EXISTS (SELECT 1 FROM reports e
                           WHERE e.item_id = r.item_id AND e.filed_by = r.filed_by
                             AND e.filer_role IS NOT NULL AND e.filer_role <> 'admin'
                             AND e.id < r.id))
), 0);

-- The leading report: the most trusted source's, the earliest on a tie.
UPDATE items SET leading_reporter_type = (
    SELECT r.reporter_type FROM reports r WHERE r.item_id = items.id
    ORDER BY CASE r.reporter_type WHEN 'user' THEN 10 WHEN 'automated' THEN 15
                                  WHEN 'trusted_flagger' THEN 40 WHEN 'authority' THEN 50
                                  ELSE 0 END DESC, r.id
    LIMIT 1
), leading_category = (
    SELECT r.category FROM reports r WHERE r.item_id = items.id
    ORDER BY CASE r.reporter_type WHEN 'user' THEN 10 WHEN 'automated' THEN 15
                                  WHEN 'trusted_flagger' THEN 40 WHEN 'authority' THEN 50
                                  ELSE 0 END DESC, r.id
    LIMIT 1
);
