//! The queue walk on PostgreSQL: filters compiled to its SQL, the sort orders and their
//! keyset cursors, and the priority order's two groups.

use ::postgres::Row;
use ::postgres::types::ToSql;
use chrono::{DateTime, Utc};

use crate::model::{Item, ItemKind, ReviewState};
use crate::query::{self, Clause, Likeness, Sort, Term};
use crate::server::storage::{Cursor, Group, QueueQuery, SortValue, StorageError};

use super::convert::{
    from_json, from_name, name_of, opt_json, opt_tier, parse_lane, parse_opt_ts, parse_state,
    parse_ts, ts,
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
    })
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
            id: self.id,
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

/// The priority order's first group: urgent-lane items and those overdue at the walk's
/// `as_of`. Mirrors [`crate::server::storage::sorts_first`].
const FIRST_GROUP: &str = "(lane = 'urgent' OR (deadline IS NOT NULL AND deadline <= ?))";

type Value = Box<dyn ToSql + Sync + Send>;

fn text(s: &str) -> Value {
    Box::new(s.to_owned())
}

fn int(i: i64) -> Value {
    Box::new(i)
}

/// An SQL condition and the values of its `?` placeholders, in order.
#[derive(Default)]
struct Where {
    sql: Vec<String>,
    values: Vec<Value>,
}

impl Where {
    fn push(&mut self, sql: impl Into<String>, values: impl IntoIterator<Item = Value>) {
        self.sql.push(sql.into());
        self.values.extend(values);
    }
}

const REPORT: &str = "EXISTS (SELECT 1 FROM reports r WHERE r.item_id = items.id AND";
const COUNTRY: &str = "EXISTS (SELECT 1 FROM jsonb_array_elements_text(items.countries::jsonb) \
                       AS c(value) WHERE upper(c.value)";
const LINK: &str = "EXISTS (SELECT 1 FROM jsonb_array_elements_text(items.links::jsonb) \
                    AS l(value) WHERE";

/// The condition for one filter clause, mirroring `query::Clause::matches` on the client.
fn clause_condition(tx: &mut Tx<'_>, clause: &Clause, w: &mut Where) -> Result<(), StorageError> {
    let (sql, values) = match same_field_in_list(&clause.any_of)? {
        Some(in_list) => in_list,
        None => {
            let mut any = Where::default();
            for term in &clause.any_of {
                term_condition(tx, term, &mut any)?;
            }
            (format!("({})", any.sql.join(" OR ")), any.values)
        }
    };
    if clause.negated {
        // An item without the field (no language, no text) fails the term on the client, so
        // its negation holds: SQL's NULL must become false before NOT, or such items vanish.
        w.push(format!("NOT COALESCE({sql}, FALSE)"), values);
    } else {
        w.push(sql, values);
    }
    Ok(())
}

/// Alternatives on one field as one `IN` list (`cat:spam,scam`).
fn same_field_in_list(terms: &[Term]) -> Result<Option<(String, Vec<Value>)>, StorageError> {
    if terms.len() < 2 {
        return Ok(None);
    }
    let mut template = None;
    let mut values = Vec::new();
    for term in terms {
        let (field, value) = match term {
            Term::Category(c) => ("category", text(c)),
            Term::Author(a) => ("author", text(a)),
            Term::Reporter(r) => ("reporter", text(&name_of(*r)?)),
            Term::Lane(l) => ("lane", text(l.as_str())),
            Term::Country(c) => ("country", text(c)),
            Term::Language(l) => ("language", text(l)),
            _ => return Ok(None),
        };
        if template.is_some_and(|t| t != field) {
            return Ok(None);
        }
        template = Some(field);
        values.push(value);
    }
    let marks = vec!["?"; values.len()].join(", ");
    let sql = match template {
        Some("category") => format!("{REPORT} lower(r.category) IN ({marks}))"),
        Some("author") => format!("author_id IN ({marks})"),
        Some("reporter") => format!("{REPORT} r.reporter_type IN ({marks}))"),
        Some("lane") => format!("lane IN ({marks})"),
        Some("country") => format!("{COUNTRY} IN ({marks}))"),
        Some("language") => format!("lower(language) IN ({marks})"),
        _ => return Ok(None),
    };
    Ok(Some((sql, values)))
}

/// The condition for one filter term, mirroring `query::Term` matching on the client.
fn term_condition(tx: &mut Tx<'_>, term: &Term, w: &mut Where) -> Result<(), StorageError> {
    match term {
        Term::Text(t) => w.push("strpos(text_lc, ?) > 0", [text(t)]),
        Term::Category(c) => w.push(format!("{REPORT} lower(r.category) = ?)"), [text(c)]),
        Term::From(who) => w.push(
            "(author_id = ? OR author_handle = ?)",
            [text(who), text(who)],
        ),
        Term::Author(id) => w.push("author_id = ?", [text(id)]),
        Term::Reporter(t) => w.push(
            format!("{REPORT} r.reporter_type = ?)"),
            [text(&name_of(*t)?)],
        ),
        Term::Lane(l) => w.push("lane = ?", [text(l.as_str())]),
        Term::Country(c) => w.push(format!("{COUNTRY} = ?)"), [text(c)]),
        Term::Language(l) => w.push("lower(language) = ?", [text(l)]),
        Term::Priority(op, p) => w.push(format!("priority {} ?", op.symbol()), [int(*p)]),
        Term::Link(part) => w.push(format!("{LINK} strpos(l.value, ?) > 0)"), [text(part)]),
        Term::Similar(id) => {
            let mut any = vec!["id = ?".to_owned()];
            let mut values = vec![text(id)];
            if let Some(like) = likeness_of(tx, id)? {
                if let Some(author) = &like.author_id {
                    any.push("author_id = ?".into());
                    values.push(text(author));
                }
                if let Some(hash) = &like.text_hash {
                    any.push("text_hash = ?".into());
                    values.push(text(hash));
                }
                let links: Vec<&String> =
                    like.links.iter().take(query::MAX_LINKS_PER_ITEM).collect();
                if !links.is_empty() {
                    let marks = vec!["?"; links.len()].join(", ");
                    any.push(format!("{LINK} l.value IN ({marks}))"));
                    values.extend(links.into_iter().map(|l| text(l)));
                }
            }
            w.push(format!("({})", any.join(" OR ")), values);
        }
    }
    Ok(())
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
fn key_value(v: &SortValue, number: bool) -> Result<Value, StorageError> {
    match (v, number) {
        (SortValue::Int(i), true) => Ok(int(*i)),
        (SortValue::Text(t), false) => Ok(text(t)),
        _ => Err(StorageError::Invalid(
            "this cursor does not fit its order; start again without it".into(),
        )),
    }
}

/// The queue walk that listing, claiming and selecting share: the query's state, lane,
/// filter and cursor, in its sort order, at most `row_limit` rows (`None`: no limit).
fn queue_sql(
    tx: &mut Tx<'_>,
    query: &QueueQuery,
    row_limit: Option<i64>,
    group: Option<bool>,
) -> Result<(String, Vec<Value>), StorageError> {
    let mut w = Where::default();
    // A literal, so that the planner sees the partial queue indexes apply.
    w.push(format!("state = '{}'", query.state.as_str()), []);
    if let Some(lane) = query.lane {
        w.push("lane = ?", [text(lane.as_str())]);
    }
    if let Some(tier) = query.tier {
        w.push(
            "COALESCE(escalation_target, 'senior') = ?",
            [text(tier.as_str())],
        );
    }
    for clause in &query.filter.clauses {
        clause_condition(tx, clause, &mut w)?;
    }
    if !query.hidden_tiers.is_empty() && query.state != ReviewState::Open {
        let marks = vec!["?"; query.hidden_tiers.len()].join(", ");
        w.push(
            format!("(hold_tier IS NULL OR hold_tier NOT IN ({marks}))"),
            query.hidden_tiers.iter().map(|t| text(t.as_str())),
        );
    }
    let [(k1, d1, n1), (k2, d2, n2)] = order_keys(query.sort);
    if let Some(first) = group {
        let condition = if first {
            FIRST_GROUP.to_string()
        } else {
            format!("NOT {FIRST_GROUP}")
        };
        w.push(condition, [text(&ts(query.as_of))]);
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
            format!(
                "(({k1} = ? AND {k2} = ? AND id > ?) OR ({k1} = ? AND {k2} {} ?) OR {k1} {} ?)",
                further(d2),
                further(d1)
            ),
            [
                key_value(a, n1)?,
                key_value(b, n2)?,
                text(&after.id),
                key_value(a, n1)?,
                key_value(b, n2)?,
                key_value(a, n1)?,
            ],
        );
    }
    let dir = |desc: bool| if desc { "DESC" } else { "ASC" };
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM items WHERE {} ORDER BY {k1} {}, {k2} {}, id ASC \
         LIMIT ?::BIGINT",
        w.sql.join(" AND "),
        dir(d1),
        dir(d2),
    );
    w.values.push(Box::new(row_limit));
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
        walk_part(tx, query, row_limit, None, &mut visit)?;
        return Ok(());
    }
    let cursor_in_first = query
        .after
        .as_ref()
        .map(|c| c.group.is_some_and(|g| g.first));
    let mut left = row_limit;
    if cursor_in_first != Some(false) {
        let (seen, go_on) = walk_part(tx, query, left, Some(true), &mut visit)?;
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
    walk_part(tx, &rest, left, Some(false), &mut visit)?;
    Ok(())
}

/// One run of [`queue_sql`]: how many rows it handed over, and whether `visit` wants more.
fn walk_part(
    tx: &mut Tx<'_>,
    query: &QueueQuery,
    row_limit: Option<i64>,
    group: Option<bool>,
    visit: &mut impl FnMut(&mut Tx<'_>, ItemRow) -> Result<bool, StorageError>,
) -> Result<(i64, bool), StorageError> {
    let (sql, values) = queue_sql(tx, query, row_limit, group)?;
    let params: Vec<Param<'_>> = values.iter().map(|v| &**v as Param<'_>).collect();
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
