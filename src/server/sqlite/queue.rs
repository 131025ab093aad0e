//! The queue walk that listing, claiming and selecting share: keyset paging in each sort
//! order, cursors, and the priority order's two groups.

use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension};

use crate::model::QueuePage;
use crate::query::{Likeness, Sort};

use super::SqliteStorage;
use super::claims::lease_of;
use super::convert::{from_json, parse_lane, parse_opt_ts, ts};
use super::items::{ITEM_COLUMNS, ItemRow, fill_item, item_row};
use crate::server::filter_sql::{self, Dialect, SqlValue};
use crate::server::rules;
use crate::server::storage::{
    Cursor, Group, MAX_SELECTION, QueueQuery, Selected, SortValue, StorageError, within_budget,
};

impl ItemRow {
    /// The position just after this row in `sort`'s order, in a walk begun at `as_of`.
    pub(super) fn cursor(&self, sort: Sort, as_of: DateTime<Utc>) -> Result<Cursor, StorageError> {
        let text = |s: &str| SortValue::Text(s.to_owned());
        let int = SortValue::Int;
        let deadline = self.deadline.as_deref().unwrap_or(NO_DEADLINE);
        let keys = match sort {
            Sort::Priority => [int(self.priority), text(&self.created_at)],
            Sort::Age => [text(&self.created_at), int(self.priority)],
            Sort::Reports => [int(self.report_count), int(self.priority)],
            Sort::Deadline => [text(deadline), int(self.priority)],
        };
        let group = match sort {
            Sort::Priority => Some(Group {
                as_of,
                first: crate::server::storage::sorts_first(
                    parse_lane(&self.lane)?,
                    parse_opt_ts(self.deadline.as_deref())?,
                    as_of,
                ),
            }),
            _ => None,
        };
        Ok(Cursor {
            sort,
            keys,
            id: self.id.clone(),
            group,
        })
    }
}

/// Items without a deadline sort after every real one.
pub(super) const NO_DEADLINE: &str = "9999-12-31T23:59:59.999999Z";

/// The two sort keys of an order, each an SQL expression and whether it descends; the item
/// id, ascending, always follows. They match the indexes of schema_3_search.sql and
/// schema_6_open_queues.sql.
pub(super) fn order_keys(sort: Sort) -> [(&'static str, bool); 2] {
    match sort {
        Sort::Priority => [("priority", true), ("created_at", false)],
        Sort::Age => [("created_at", false), ("priority", true)],
        Sort::Reports => [("report_count", true), ("priority", true)],
        // deadline_key: COALESCE(deadline, NO_DEADLINE), a virtual column (schema 6).
        Sort::Deadline => [("deadline_key", false), ("priority", true)],
    }
}

/// The priority order's first group: urgent-lane items and those overdue at the walk's
/// `as_of` (the one placeholder). Mirrors [`crate::server::storage::sorts_first`].
pub(super) const FIRST_GROUP: &str =
    "(lane = 'urgent' OR (deadline IS NOT NULL AND deadline <= ?))";

pub(super) fn sql_value(v: &SortValue) -> Value {
    match v {
        SortValue::Int(i) => Value::Integer(*i),
        SortValue::Text(t) => Value::Text(t.clone()),
    }
}

/// SQLite's spelling of what [`filter_sql`] leaves to the engine.
pub(super) struct Sqlite;

impl Dialect for Sqlite {
    /// Positional: a statement that repeats a condition binds its values again.
    fn placeholder(&self, _n: usize) -> String {
        "?".into()
    }

    fn contains(&self, haystack: &str) -> String {
        format!("instr({haystack}, ?) > 0")
    }

    fn json_strings(&self, column: &str) -> String {
        format!("json_each({column})")
    }
}

fn bound(v: SqlValue) -> Value {
    match v {
        SqlValue::Int(i) => Value::Integer(i),
        SqlValue::Text(t) => Value::Text(t),
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// What the item `id` looks like, for `similar:` (`None`: no such item).
fn likeness_of(conn: &Connection, id: &str) -> Result<Option<Likeness>, StorageError> {
    let row = conn
        .prepare_cached("SELECT author_id, text_hash, links FROM items WHERE id = ?1")?
        .query_row([id], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .optional()?;
    row.map(|(author_id, text_hash, links)| {
        Ok(Likeness {
            author_id,
            text_hash,
            links: from_json("links", &links)?,
        })
    })
    .transpose()
}

/// The queue walk that listing, claiming and selecting share, so their order and filters
/// cannot drift: the query's state, lane, filter and cursor, in its sort order, at most
/// `row_limit` rows (-1: no limit).
pub(super) fn queue_sql(
    conn: &Connection,
    query: &QueueQuery,
    row_limit: i64,
    group: Option<bool>,
) -> Result<(String, Vec<Value>), StorageError> {
    let likeness = |id: &str| likeness_of(conn, id);
    let mut w = filter_sql::queue_conditions(&Sqlite, 0, query, &likeness)?;
    let [(k1, d1), (k2, d2)] = order_keys(query.sort);
    if let Some(first) = group {
        // One of the priority order's two groups (see `walk_queue`).
        let condition = if first {
            FIRST_GROUP.to_string()
        } else {
            format!("NOT {FIRST_GROUP}")
        };
        w.push(&condition, [SqlValue::Text(ts(query.as_of))]);
    }
    let dir = |desc: bool| if desc { "DESC" } else { "ASC" };
    let order_by =
        |c1: &str, c2: &str| format!("{c1} {}, {c2} {}, id ASC LIMIT ?", dir(d1), dir(d2));
    let Some(after) = &query.after else {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM items WHERE {} ORDER BY {}",
            w.sql(),
            order_by(k1, k2)
        );
        let mut values: Vec<Value> = w.values.into_iter().map(bound).collect();
        values.push(Value::Integer(row_limit));
        return Ok((sql, values));
    };
    if after.sort != query.sort {
        return Err(StorageError::Invalid(format!(
            "this cursor belongs to the {} order, not {}; start again without it",
            after.sort.as_str(),
            query.sort.as_str()
        )));
    }
    // Past the cursor in three index ranges, merged in order: the rest of its (k1, k2)
    // group, the rest of its k1 group, then everything further along k1. SQLite seeks to
    // each (the sort's index has state, k1, k2, id); one OR'ed condition would be read as a
    // filter instead, walking every item before the cursor on every page.
    let further = |desc: bool| if desc { "<" } else { ">" };
    let [a, b] = &after.keys;
    let arms = [
        (
            format!("{k1} = ? AND {k2} = ? AND id > ?"),
            vec![sql_value(a), sql_value(b), text(&after.id)],
        ),
        (
            format!("{k1} = ? AND {k2} {} ?", further(d2)),
            vec![sql_value(a), sql_value(b)],
        ),
        (format!("{k1} {} ?", further(d1)), vec![sql_value(a)]),
    ];
    let mut sql = Vec::new();
    let mut values = Vec::new();
    for (cursor, cursor_values) in arms {
        sql.push(format!(
            "SELECT {ITEM_COLUMNS}, {k1} AS sort_1, {k2} AS sort_2 FROM items WHERE {} AND {cursor}",
            w.sql()
        ));
        values.extend(w.values.iter().cloned().map(bound));
        values.extend(cursor_values);
    }
    let sql = format!(
        "{} ORDER BY {}",
        sql.join(" UNION ALL "),
        order_by("sort_1", "sort_2")
    );
    values.push(Value::Integer(row_limit));
    Ok((sql, values))
}

/// Runs [`queue_sql`] for `query`, handing each row to `visit` until it answers false.
///
/// The priority order puts urgent and overdue items first, a group that depends on the
/// walk's `as_of`, so no index can order it: the walk reads the first group, then the rest,
/// each in index order from where the cursor stands, so a page costs the same at any depth.
pub(super) fn walk_queue(
    conn: &Connection,
    query: &QueueQuery,
    row_limit: i64,
    mut visit: impl FnMut(ItemRow) -> Result<bool, StorageError>,
) -> Result<(), StorageError> {
    if query.sort != Sort::Priority {
        walk_part(conn, query, row_limit, None, &mut visit)?;
        return Ok(());
    }
    let cursor_in_first = query
        .after
        .as_ref()
        .map(|c| c.group.is_some_and(|g| g.first));
    let mut left = row_limit;
    if cursor_in_first != Some(false) {
        let (seen, go_on) = walk_part(conn, query, left, Some(true), &mut visit)?;
        if !go_on {
            return Ok(());
        }
        if left >= 0 {
            left -= seen;
            if left <= 0 {
                return Ok(());
            }
        }
    }
    let rest = QueueQuery {
        after: query
            .after
            .clone()
            .filter(|_| cursor_in_first == Some(false)),
        ..query.clone()
    };
    walk_part(conn, &rest, left, Some(false), &mut visit)?;
    Ok(())
}

/// One run of [`queue_sql`]: how many rows it handed over, and whether `visit` wants more.
pub(super) fn walk_part(
    conn: &Connection,
    query: &QueueQuery,
    row_limit: i64,
    group: Option<bool>,
    visit: &mut impl FnMut(ItemRow) -> Result<bool, StorageError>,
) -> Result<(i64, bool), StorageError> {
    let (sql, values) = queue_sql(conn, query, row_limit, group)?;
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(values))?;
    let mut seen = 0;
    while let Some(row) = rows.next()? {
        seen += 1;
        if !visit(item_row(row)?)? {
            return Ok((seen, false));
        }
    }
    Ok((seen, true))
}

pub(super) fn queue_page(
    storage: &SqliteStorage,
    query: &QueueQuery,
) -> Result<QueuePage, StorageError> {
    storage.read(|conn| {
        // One more row than asked tells whether a next page exists.
        let fetch = i64::try_from(query.limit.saturating_add(1)).unwrap_or(i64::MAX);
        let mut rows = Vec::new();
        walk_queue(conn, query, fetch, |row| {
            rows.push(row);
            Ok(true)
        })?;
        let mut more = rows.len() > query.limit;
        rows.truncate(query.limit);
        let mut cursors = Vec::with_capacity(rows.len());
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            cursors.push(row.cursor(query.sort, query.as_of)?);
            let mut item = row.into_item()?;
            fill_item(conn, &mut item)?;
            items.push(item);
        }
        // Past the byte budget the page ends early; the next starts right after it.
        let fit = within_budget(&items, query.max_bytes);
        if fit < items.len() {
            items.truncate(fit);
            more = true;
        }
        let next_cursor = if more {
            cursors.get(fit.wrapping_sub(1)).map(Cursor::encode)
        } else {
            None
        };
        Ok(QueuePage { items, next_cursor })
    })
}

pub(super) fn select(
    storage: &SqliteStorage,
    holder: &str,
    query: &QueueQuery,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<Selected, StorageError> {
    storage.read(|conn| {
        let limit = limit.min(MAX_SELECTION);
        let query = QueueQuery {
            after: None,
            ..query.clone()
        };
        let mut selected = Selected {
            ids: Vec::new(),
            leased_elsewhere: 0,
            truncated: false,
        };
        walk_queue(conn, &query, -1, |row| {
            if rules::claim_skips(lease_of(conn, &row.id)?.as_ref(), holder, now) {
                selected.leased_elsewhere += 1;
            } else if selected.ids.len() == limit {
                selected.truncated = true;
                return Ok(false);
            } else {
                selected.ids.push(row.id);
            }
            Ok(true)
        })?;
        Ok(selected)
    })
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ReviewState;
    use crate::query;

    /// Negations and alternatives keep the walk in its index: they filter the rows the order's
    /// index yields (alternatives on one field as one `IN` list), never a scan or a sort.
    #[test]
    fn negated_and_alternative_filters_keep_the_walk_in_its_index() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("modq.db")).unwrap();
        let conn = storage.writer.lock().unwrap();
        for filter in [
            "cat:spam,scam",
            "-cat:spam,scam",
            "lane:urgent,authority",
            "-lane:standard lang:de,fr",
            "-lang:ru prio:>50,<10 -word",
            "author:u-1,u-2 reporter:user,authority country:DE,AT",
        ] {
            let query = QueueQuery {
                filter: query::Query::parse(filter).unwrap(),
                sort: Sort::Age,
                ..QueueQuery::default()
            };
            let (sql, values) = queue_sql(&conn, &query, 50, None).unwrap();
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(rusqlite::params_from_iter(values), |r| r.get(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert!(
                plan.iter().any(|l| l.contains("INDEX items_")),
                "{filter}: {plan:?}"
            );
            assert!(
                !plan.iter().any(|l| l.starts_with("SCAN items")),
                "{filter}: {plan:?}"
            );
            assert!(
                !plan.iter().any(|l| l.contains("TEMP B-TREE")),
                "{filter}: {plan:?}"
            );
            if filter.starts_with("cat:") {
                let sql = sql.to_lowercase();
                assert!(
                    sql.contains("lower(r.category) in (?, ?)"),
                    "one IN list: {sql}"
                );
            }
        }
    }

    /// Every page of every order, lane or not, open or escalated, seeks in an index: no
    /// walk over the table, no sort of it. Schema 6's queue indexes hold only open and
    /// escalated items, which SQLite uses only when it can see the state in the query.
    #[test]
    fn every_queue_walk_reads_an_index_in_its_order() {
        use crate::model::Lane;
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("modq.db")).unwrap();
        let conn = storage.writer.lock().unwrap();
        let sorts = [Sort::Priority, Sort::Age, Sort::Reports, Sort::Deadline];
        for sort in sorts {
            for state in [ReviewState::Open, ReviewState::Escalated] {
                for lane in [None, Some(Lane::Urgent)] {
                    for after in [false, true] {
                        let keys = match sort {
                            Sort::Age | Sort::Deadline => [
                                SortValue::Text("2026-01-01T00:00:00.000000Z".into()),
                                SortValue::Int(50),
                            ],
                            Sort::Priority => [
                                SortValue::Int(50),
                                SortValue::Text("2026-01-01T00:00:00.000000Z".into()),
                            ],
                            Sort::Reports => [SortValue::Int(3), SortValue::Int(50)],
                        };
                        let query = QueueQuery {
                            lane,
                            state,
                            sort,
                            after: after.then(|| Cursor {
                                sort,
                                keys,
                                id: "p1".into(),
                                group: None,
                            }),
                            ..QueueQuery::default()
                        };
                        let groups = match sort {
                            Sort::Priority => vec![Some(true), Some(false)],
                            _ => vec![None],
                        };
                        for group in groups {
                            let (sql, values) = queue_sql(&conn, &query, 50, group).unwrap();
                            let mut stmt =
                                conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
                            let plan: Vec<String> = stmt
                                .query_map(rusqlite::params_from_iter(values), |r| r.get(3))
                                .unwrap()
                                .collect::<rusqlite::Result<_>>()
                                .unwrap();
                            let case = format!(
                                "{sort:?} {state:?} {lane:?} after={after} {group:?}: {plan:?}"
                            );
                            assert!(plan.iter().any(|l| l.contains("INDEX items_")), "{case}");
                            assert!(!plan.iter().any(|l| l.starts_with("SCAN items")), "{case}");
                            assert!(!plan.iter().any(|l| l.contains("TEMP B-TREE")), "{case}");
                        }
                    }
                }
            }
        }
    }
}
