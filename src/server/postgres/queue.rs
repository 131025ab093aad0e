//! The queue walk on PostgreSQL: the filter compiled by the engines' one compiler in
//! PostgreSQL's dialect, the sort orders and their keyset cursors, and the priority order's
//! two groups.

use ::postgres::Row;
use ::postgres::types::ToSql;
use chrono::{DateTime, Utc};

use crate::model::{Item, ItemKind};
use crate::query::{Likeness, Sort, Term};
use crate::server::filter_sql::{self, Dialect, SqlValue};
use crate::server::rules::Lease;
use crate::server::storage::{Cursor, Group, QueueQuery, SortValue, StorageError};

use super::convert::{
    from_json, from_name, opt_json, opt_tier, parse_lane, parse_opt_ts, parse_state, parse_ts, ts,
};
use super::db::{Param, Tx};

pub const ITEM_COLUMNS: &str = "id, kind, text, author, language, countries, media, priority, \
                                lane, deadline, state, restricted_in, escalation_target, \
                                created_at, report_count";

/// An items row as stored.
pub struct ItemRow {
    pub id: String,
    kind: String,
    text: Option<String>,
    author: Option<String>,
    language: Option<String>,
    countries: String,
    media: String,
    priority: i64,
    pub lane: String,
    deadline: Option<String>,
    pub state: String,
    restricted_in: Option<String>,
    escalation_target: Option<String>,
    created_at: String,
    report_count: i64,
    /// The item's lease, when the row came from a queue walk (which reads it alongside).
    pub lease: Option<Lease>,
}

pub fn item_row(r: &Row) -> Result<ItemRow, StorageError> {
    Ok(ItemRow {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        text: r.try_get(2)?,
        author: r.try_get(3)?,
        language: r.try_get(4)?,
        countries: r.try_get(5)?,
        media: r.try_get(6)?,
        priority: r.try_get(7)?,
        lane: r.try_get(8)?,
        deadline: r.try_get(9)?,
        state: r.try_get(10)?,
        restricted_in: r.try_get(11)?,
        escalation_target: r.try_get(12)?,
        created_at: r.try_get(13)?,
        report_count: r.try_get(14)?,
        lease: lease_columns(r, 15)?,
    })
}

/// The lease in columns `at` and `at + 1` (holder, expiry), when the row has them.
fn lease_columns(r: &Row, at: usize) -> Result<Option<Lease>, StorageError> {
    if r.len() <= at + 1 {
        return Ok(None);
    }
    let holder: Option<String> = r.try_get(at)?;
    let expires_at: Option<String> = r.try_get(at + 1)?;
    match (holder, expires_at) {
        (Some(holder), Some(expires_at)) => Ok(Some(Lease {
            holder,
            expires_at: parse_ts(&expires_at)?,
        })),
        _ => Ok(None),
    }
}

impl ItemRow {
    /// The item without reports and history; `items::fill_item` adds them.
    pub fn into_item(self) -> Result<Item, StorageError> {
        Ok(Item {
            kind: from_name::<ItemKind>("item kind", &self.kind)?,
            text: self.text,
            author: opt_json("author", self.author.as_deref())?,
            language: self.language,
            countries: from_json("countries", &self.countries)?,
            media: from_json("media", &self.media)?,
            reports: Vec::new(),
            priority: self.priority,
            lane: parse_lane(&self.lane)?,
            deadline: parse_opt_ts(self.deadline.as_deref())?,
            state: parse_state(&self.state)?,
            restricted_in: opt_json("scope", self.restricted_in.as_deref())?,
            escalation_target: opt_tier(self.escalation_target.as_deref())?,
            created_at: parse_ts(&self.created_at)?,
            history: Vec::new(),
            author_record: None,
            allowed_actions: None,
            leased_by: None,
            appeal: None,
            thread: None,
            account: None,
            id: self.id,
            totals: None,
        })
    }

    /// The position just after this row in `sort`'s order, in a walk begun at `as_of`.
    pub fn cursor(&self, sort: Sort, as_of: DateTime<Utc>) -> Result<Cursor, StorageError> {
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
const NO_DEADLINE: &str = "9999-12-31T23:59:59.999999Z";

/// The two sort keys of an order, each a column, whether it descends, and whether it is a
/// number; the item id, ascending, always follows. The indexes of schema_1.sql match them.
fn order_keys(sort: Sort) -> [(&'static str, bool, bool); 2] {
    match sort {
        Sort::Priority => [("priority", true, true), ("created_at", false, false)],
        Sort::Age => [("created_at", false, false), ("priority", true, true)],
        Sort::Reports => [("report_count", true, true), ("priority", true, true)],
        Sort::Deadline => [("deadline_key", false, false), ("priority", true, true)],
    }
}

/// A part of the priority order, as one query reads it. The first group (urgent-lane items
/// and those overdue at the walk's `as_of`, mirroring [`crate::server::storage::sorts_first`])
/// is read as two queries merged here: written as one `OR`, PostgreSQL fetched and sorted the
/// whole urgent lane for every claim (a bitmap scan of ~10,000 rows, 0.6 s a claim under the
/// load bench), where the lane's own index walks it in order and stops at what a claim needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    /// The whole order (sorts other than priority).
    All,
    /// Urgent-lane items, in order by the lane's index.
    Urgent,
    /// Overdue items of the other lanes: few, read whole and merged into the urgent walk.
    Overdue,
    /// Everything after the first group.
    Rest,
}

impl Part {
    /// The condition that selects the part, `?` bound to the walk's `as_of` where it has one.
    fn condition(self) -> Option<(&'static str, bool)> {
        match self {
            Part::All => None,
            Part::Urgent => Some(("lane = 'urgent'", false)),
            Part::Overdue => Some((
                "lane <> 'urgent' AND deadline IS NOT NULL AND deadline <= ?",
                true,
            )),
            Part::Rest => Some((
                "lane <> 'urgent' AND (deadline IS NULL OR deadline > ?)",
                true,
            )),
        }
    }
}

/// Whether `a` comes before `b` in the priority order (priority descending, then oldest, then
/// id): the order `queue_sql` asks of PostgreSQL, whose text columns compare bytewise
/// (`COLLATE "C"`) as Rust's strings do.
fn sorts_before(a: &ItemRow, b: &ItemRow) -> bool {
    (
        std::cmp::Reverse(a.priority),
        a.created_at.as_str(),
        a.id.as_str(),
    ) < (
        std::cmp::Reverse(b.priority),
        b.created_at.as_str(),
        b.id.as_str(),
    )
}

/// PostgreSQL's spelling of what the one filter compiler ([`filter_sql`]) leaves to each
/// engine.
struct Postgres;

impl Dialect for Postgres {
    fn placeholder(&self, n: usize) -> String {
        format!("${n}")
    }

    fn contains(&self, haystack: &str) -> String {
        format!("strpos({haystack}, ?) > 0")
    }

    fn json_strings(&self, column: &str) -> String {
        format!("jsonb_array_elements_text({column}::jsonb) AS json_strings(value)")
    }
}

/// A value as the client binds it.
fn bound(v: &SqlValue) -> &(dyn ToSql + Sync) {
    match v {
        SqlValue::Int(i) => i,
        SqlValue::Text(t) => t,
    }
}

/// What the item `id` looks like, for `similar:` (`None`: no such item).
fn likeness_of(tx: &mut Tx<'_>, id: &str) -> Result<Option<Likeness>, StorageError> {
    let Some(r) = tx.opt(
        "SELECT author_id, text_hash, links FROM items WHERE id = ?1",
        &[&id],
    )?
    else {
        return Ok(None);
    };
    let links: String = r.try_get(2)?;
    Ok(Some(Likeness {
        author_id: r.try_get(0)?,
        text_hash: r.try_get(1)?,
        links: from_json("links", &links)?,
    }))
}

/// A cursor key as a value of its column's type; a cursor whose keys do not fit its order
/// is the client's mistake.
fn key_value(v: &SortValue, number: bool) -> Result<SqlValue, StorageError> {
    match (v, number) {
        (SortValue::Int(i), true) => Ok(SqlValue::Int(*i)),
        (SortValue::Text(t), false) => Ok(SqlValue::Text(t.clone())),
        _ => Err(StorageError::Invalid(
            "this cursor does not fit its order; start again without it".into(),
        )),
    }
}

/// The queue walk that listing, claiming and selecting share: the query's state, lane,
/// filter and cursor, in its sort order, at most `row_limit` rows (`None`: no limit). The
/// conditions are [`filter_sql::queue_conditions`], SQLite's too.
fn queue_sql(
    tx: &mut Tx<'_>,
    query: &QueueQuery,
    row_limit: Option<i64>,
    part: Part,
) -> Result<(String, Vec<SqlValue>), StorageError> {
    // What each `similar:` item looks like, read first: the compiler asks through a closure
    // that cannot borrow the transaction.
    let mut likes = std::collections::HashMap::new();
    for clause in &query.filter.clauses {
        for term in &clause.any_of {
            if let Term::Similar(id) = term {
                likes.insert(id.clone(), likeness_of(tx, id)?);
            }
        }
    }
    let likeness = |id: &str| Ok(likes.get(id).cloned().flatten());
    let mut w = filter_sql::queue_conditions(&Postgres, 0, query, &likeness)?;
    let [(k1, d1, n1), (k2, d2, n2)] = order_keys(query.sort);
    match part.condition() {
        Some((condition, true)) => w.push(condition, [SqlValue::Text(ts(query.as_of))]),
        Some((condition, false)) => w.push(condition, []),
        None => {}
    }
    if let Some(after) = &query.after {
        if after.sort != query.sort {
            return Err(StorageError::Invalid(format!(
                "this cursor belongs to the {} order, not {}; start again without it",
                after.sort.as_str(),
                query.sort.as_str()
            )));
        }
        let further = |desc: bool| if desc { "<" } else { ">" };
        let [a, b] = &after.keys;
        w.push(
            &format!(
                "(({k1} = ? AND {k2} = ? AND id > ?) OR ({k1} = ? AND {k2} {} ?) OR {k1} {} ?)",
                further(d2),
                further(d1)
            ),
            [
                key_value(a, n1)?,
                key_value(b, n2)?,
                SqlValue::Text(after.id.clone()),
                key_value(a, n1)?,
                key_value(b, n2)?,
                key_value(a, n1)?,
            ],
        );
    }
    let dir = |desc: bool| if desc { "DESC" } else { "ASC" };
    // Each item's lease comes along: claims and selections judge every row they pass by
    // it, and a query per row would cost a round trip per item leased to someone else.
    // A chunk's limit is written into the statement: bound as a parameter, the cached generic
    // plan does not know it is small, and fetches and sorts the whole part again.
    let limit = match row_limit {
        None => String::new(),
        Some(CHUNK) => format!("LIMIT {CHUNK}"),
        Some(n) => {
            w.values.push(SqlValue::Int(n));
            format!("LIMIT ${}::BIGINT", w.values.len())
        }
    };
    let sql = format!(
        "SELECT {ITEM_COLUMNS}, leases.holder, leases.expires_at
         FROM items LEFT JOIN leases ON leases.item_id = items.id
         WHERE {} ORDER BY {k1} {}, {k2} {}, id ASC {limit}",
        w.sql(),
        dir(d1),
        dir(d2),
    );
    Ok((sql, w.values))
}

/// Runs the walk for `query`, handing each row to `visit` until it answers false.
///
/// The priority order puts urgent and overdue items first, a group that depends on the
/// walk's `as_of`: the walk reads the first group, then the rest, each from where the
/// cursor stands.
pub fn walk_queue(
    tx: &mut Tx<'_>,
    query: &QueueQuery,
    row_limit: Option<i64>,
    mut visit: impl FnMut(&mut Tx<'_>, ItemRow) -> Result<bool, StorageError>,
) -> Result<(), StorageError> {
    if query.sort != Sort::Priority {
        walk_part(tx, query, row_limit, Part::All, &mut visit)?;
        return Ok(());
    }
    let cursor_in_first = query
        .after
        .as_ref()
        .map(|c| c.group.is_some_and(|g| g.first));
    let mut left = row_limit;
    if cursor_in_first != Some(false) {
        let (seen, go_on) = walk_first_group(tx, query, left, &mut visit)?;
        if !go_on {
            return Ok(());
        }
        if let Some(n) = left.as_mut() {
            *n -= seen;
            if *n <= 0 {
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
    walk_part(tx, &rest, left, Part::Rest, &mut visit)?;
    Ok(())
}

/// The first group: the overdue items of other lanes merged in order into the walk of the
/// urgent lane. How many rows it handed over, and whether `visit` wants more.
fn walk_first_group(
    tx: &mut Tx<'_>,
    query: &QueueQuery,
    row_limit: Option<i64>,
    visit: &mut impl FnMut(&mut Tx<'_>, ItemRow) -> Result<bool, StorageError>,
) -> Result<(i64, bool), StorageError> {
    let mut overdue = OverdueFeed::new(query);
    let mut seen = 0;
    let mut go_on = true;
    let room = |seen: i64| row_limit.is_none_or(|n| seen < n);
    walk_part(tx, query, row_limit, Part::Urgent, &mut |tx, row| {
        while let Some(before) = overdue.next_before(tx, Some(&row))? {
            if !room(seen) {
                return Ok(false);
            }
            seen += 1;
            go_on = visit(tx, before)?;
            if !go_on {
                return Ok(false);
            }
        }
        if !room(seen) {
            return Ok(false);
        }
        seen += 1;
        go_on = visit(tx, row)?;
        Ok(go_on)
    })?;
    while go_on && room(seen) {
        let Some(row) = overdue.next_before(tx, None)? else {
            break;
        };
        seen += 1;
        go_on = visit(tx, row)?;
    }
    Ok((seen, go_on))
}

/// The overdue items of the lanes other than urgent, read a chunk at a time as the merge
/// reaches them: usually few, but a backlog of a trusted flagger's deadlines may be thousands,
/// and a claim that wants five must not read them all.
struct OverdueFeed {
    from: QueueQuery,
    rows: std::collections::VecDeque<ItemRow>,
    done: bool,
}

impl OverdueFeed {
    fn new(query: &QueueQuery) -> OverdueFeed {
        OverdueFeed {
            from: query.clone(),
            rows: std::collections::VecDeque::new(),
            done: false,
        }
    }

    /// The next overdue row if it sorts before `next` (`None`: the urgent walk has ended).
    fn next_before(
        &mut self,
        tx: &mut Tx<'_>,
        next: Option<&ItemRow>,
    ) -> Result<Option<ItemRow>, StorageError> {
        if self.rows.is_empty() && !self.done {
            let mut got = Vec::new();
            walk_once(tx, &self.from, Some(CHUNK), Part::Overdue, &mut |_, row| {
                got.push(row);
                Ok(true)
            })?;
            self.done = i64::try_from(got.len()).unwrap_or(i64::MAX) < CHUNK;
            if let Some(last) = got.last() {
                self.from.after = Some(cursor_after(last));
            }
            self.rows.extend(got);
        }
        let comes_first = self
            .rows
            .front()
            .is_some_and(|o| next.is_none_or(|r| sorts_before(o, r)));
        Ok(if comes_first {
            self.rows.pop_front()
        } else {
            None
        })
    }
}

/// A priority-order position just past `row`.
fn cursor_after(row: &ItemRow) -> Cursor {
    Cursor {
        sort: Sort::Priority,
        keys: [
            SortValue::Int(row.priority),
            SortValue::Text(row.created_at.clone()),
        ],
        id: row.id.clone(),
        group: None,
    }
}

/// Rows one query of a priority-order part asks for when the walk has no limit of its own.
/// PostgreSQL plans a portal for reading every row, so an unbounded walk of the urgent lane
/// was planned as "fetch the whole lane, then sort" (~0.5 s a claim under load) although a
/// claim reads a few dozen rows; a limit lets it walk the lane's index in order. A walk that
/// reads past a chunk goes on from its last row.
const CHUNK: i64 = 256;

/// One part of the walk: how many rows it handed over, and whether `visit` wants more.
fn walk_part(
    tx: &mut Tx<'_>,
    query: &QueueQuery,
    row_limit: Option<i64>,
    part: Part,
    visit: &mut impl FnMut(&mut Tx<'_>, ItemRow) -> Result<bool, StorageError>,
) -> Result<(i64, bool), StorageError> {
    if row_limit.is_some() || part == Part::All {
        return walk_once(tx, query, row_limit, part, visit);
    }
    let mut from = query.clone();
    let mut seen = 0;
    loop {
        let mut last = None;
        let (got, go_on) = walk_once(tx, &from, Some(CHUNK), part, &mut |tx, row| {
            last = Some(cursor_after(&row));
            visit(tx, row)
        })?;
        seen += got;
        let Some(after) = last.filter(|_| go_on && got == CHUNK) else {
            return Ok((seen, go_on));
        };
        from.after = Some(after);
    }
}

/// One query of [`queue_sql`]: how many rows it handed over, and whether `visit` wants more.
fn walk_once(
    tx: &mut Tx<'_>,
    query: &QueueQuery,
    row_limit: Option<i64>,
    part: Part,
    visit: &mut impl FnMut(&mut Tx<'_>, ItemRow) -> Result<bool, StorageError>,
) -> Result<(i64, bool), StorageError> {
    let (sql, values) = queue_sql(tx, query, row_limit, part)?;
    let params: Vec<Param<'_>> = values.iter().map(bound).collect();
    let mut seen = 0;
    let mut go_on = true;
    // Batches of 64: a page or a claim seldom reads further, and the rest stays unread.
    tx.walk(&sql, &params, 64, |tx, row| {
        seen += 1;
        go_on = visit(tx, item_row(&row)?)?;
        Ok(go_on)
    })?;
    Ok((seen, go_on))
}
