//! Which items a queue query selects, as one SQL condition: the query's state, lane and tier,
//! its filter ([`crate::query`]) and the tiers hidden from the reader. Every engine compiles
//! the one syntax tree here, so that a filter cannot mean one thing on SQLite and another on
//! PostgreSQL; what differs between them goes through [`Dialect`].
//!
//! The conditions name the columns both engines' schemas give `items` (`state`, `lane`,
//! `escalation_target`, `hold_tier`, `priority`, `language`, `countries`, and the search
//! columns `author_id`, `author_handle`, `text_lc`, `text_hash`, `links`) and `reports`
//! (`item_id`, `category`, `reporter_type`), with enums stored by their serde names and
//! `countries` and `links` as JSON arrays of strings.
//!
//! Each condition mirrors the client's matching (`Clause::matches`), which
//! `tests/server_filters.rs` and `tests/storage_suite.rs` hold every engine to.

use crate::model::{ReporterType, ReviewState};
use crate::query::{self, Clause, Likeness, Term};

use super::storage::{QueueQuery, StorageError};

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    Int(i64),
    Text(String),
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.to_owned())
}

/// What one engine's SQL spells its own way. In the fragments it returns, and in every
/// fragment given to [`Where::push`], a `?` stands for the next bound value and for nothing
/// else; [`Dialect::placeholder`] then writes it as the engine wants.
pub trait Dialect {
    /// The placeholder of the statement's `n`th bound value, counted from 1: `?` for
    /// SQLite, `$n` for PostgreSQL.
    fn placeholder(&self, n: usize) -> String;

    /// Whether the text expression `haystack` contains the text bound at `?` (NULL when
    /// `haystack` is NULL): `instr(haystack, ?) > 0` in SQLite.
    fn contains(&self, haystack: &str) -> String;

    /// A row source yielding each string of the JSON array in the column `column` as a
    /// text column named `value`: `json_each(column)` in SQLite.
    fn json_strings(&self, column: &str) -> String;
}

/// SQL conditions, ANDed, and the values of their placeholders in order.
pub struct Where<'d> {
    dialect: &'d dyn Dialect,
    /// The number of the statement's placeholder before this condition's first.
    before: usize,
    pub conditions: Vec<String>,
    pub values: Vec<SqlValue>,
}

impl<'d> Where<'d> {
    /// An empty condition whose first placeholder is the statement's `before + 1`th.
    pub fn new(dialect: &'d dyn Dialect, before: usize) -> Where<'d> {
        Where {
            dialect,
            before,
            conditions: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Adds `sql`, one `?` in it for each of `values`.
    pub fn push(&mut self, sql: &str, values: impl IntoIterator<Item = SqlValue>) {
        let mut written = String::with_capacity(sql.len());
        for (i, part) in sql.split('?').enumerate() {
            if i > 0 {
                let n = self.before + self.values.len() + i;
                written.push_str(&self.dialect.placeholder(n));
            }
            written.push_str(part);
        }
        self.conditions.push(written);
        self.values.extend(values);
    }

    /// The conditions joined with AND.
    pub fn sql(&self) -> String {
        if self.conditions.is_empty() {
            return "TRUE".into();
        }
        self.conditions.join(" AND ")
    }
}

/// The items `query` selects, whatever their order or cursor: its state, lane, tier, filter
/// and hidden tiers. `likeness` tells what the item a `similar:` term names looks like
/// (`None`: no such item, which then matches only itself).
pub fn queue_conditions<'d>(
    dialect: &'d dyn Dialect,
    before: usize,
    query: &QueueQuery,
    likeness: &dyn Fn(&str) -> Result<Option<Likeness>, StorageError>,
) -> Result<Where<'d>, StorageError> {
    let mut w = Where::new(dialect, before);
    // A literal, not a placeholder: only then can SQLite tell that the partial queue indexes
    // of its schema 6 (open and escalated items) hold every row the walk wants.
    w.push(&format!("state = '{}'", query.state.as_str()), []);
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
        let (sql, values) = clause_condition(dialect, clause, likeness)?;
        w.push(&sql, values);
    }
    // Open items are held by no tier: only decided and escalated ones can be hidden.
    if !query.hidden_tiers.is_empty() && query.state != ReviewState::Open {
        let marks = vec!["?"; query.hidden_tiers.len()].join(", ");
        w.push(
            &format!("(hold_tier IS NULL OR hold_tier NOT IN ({marks}))"),
            query.hidden_tiers.iter().map(|t| text(t.as_str())),
        );
    }
    Ok(w)
}

/// A condition (with `?` marks) and its values.
type Fragment = (String, Vec<SqlValue>);

/// The condition for one filter clause, mirroring `query::Clause::matches` on the client.
fn clause_condition(
    dialect: &dyn Dialect,
    clause: &Clause,
    likeness: &dyn Fn(&str) -> Result<Option<Likeness>, StorageError>,
) -> Result<Fragment, StorageError> {
    let (sql, values) = match same_field_in_list(dialect, &clause.any_of)? {
        Some(in_list) => in_list,
        None => {
            let mut any = Vec::new();
            let mut values = Vec::new();
            for term in &clause.any_of {
                let (sql, term_values) = term_condition(dialect, term, likeness)?;
                any.push(sql);
                values.extend(term_values);
            }
            (format!("({})", any.join(" OR ")), values)
        }
    };
    if clause.negated {
        // An item without the field (no language, no text) fails the term on the client, so
        // its negation holds: SQL's NULL must become false before NOT, or such items vanish.
        Ok((format!("NOT COALESCE({sql}, FALSE)"), values))
    } else {
        Ok((sql, values))
    }
}

const REPORT: &str = "EXISTS (SELECT 1 FROM reports r WHERE r.item_id = items.id AND";

/// Alternatives on one field as one `IN` list (`cat:spam,scam`), which an index on the field
/// still serves; `None` for a single term or fields an `IN` cannot express.
fn same_field_in_list(
    dialect: &dyn Dialect,
    terms: &[Term],
) -> Result<Option<Fragment>, StorageError> {
    if terms.len() < 2 {
        return Ok(None);
    }
    let mut template = None;
    let mut values = Vec::new();
    for term in terms {
        let (field, value) = match term {
            Term::Category(c) => ("category", text(c)),
            Term::Author(a) => ("author", text(a)),
            Term::Reporter(r) => ("reporter", text(&reporter_name(*r)?)),
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
        Some("country") => format!(
            "EXISTS (SELECT 1 FROM {} WHERE upper(value) IN ({marks}))",
            dialect.json_strings("items.countries")
        ),
        Some("language") => format!("lower(language) IN ({marks})"),
        _ => return Ok(None),
    };
    Ok(Some((sql, values)))
}

/// The condition for one filter term, mirroring `query::Term` matching on the client.
fn term_condition(
    dialect: &dyn Dialect,
    term: &Term,
    likeness: &dyn Fn(&str) -> Result<Option<Likeness>, StorageError>,
) -> Result<Fragment, StorageError> {
    let one = |sql: String, value: SqlValue| Ok((sql, vec![value]));
    match term {
        Term::Text(t) => one(dialect.contains("text_lc"), text(t)),
        Term::Category(c) => one(format!("{REPORT} lower(r.category) = ?)"), text(c)),
        Term::From(who) => Ok((
            "(author_id = ? OR author_handle = ?)".into(),
            vec![text(who), text(who)],
        )),
        Term::Author(id) => one("author_id = ?".into(), text(id)),
        Term::Reporter(t) => one(
            format!("{REPORT} r.reporter_type = ?)"),
            text(&reporter_name(*t)?),
        ),
        Term::Lane(l) => one("lane = ?".into(), text(l.as_str())),
        Term::Country(c) => one(
            format!(
                "EXISTS (SELECT 1 FROM {} WHERE upper(value) = ?)",
                dialect.json_strings("items.countries")
            ),
            text(c),
        ),
        Term::Language(l) => one("lower(language) = ?".into(), text(l)),
        Term::Priority(op, p) => one(format!("priority {} ?", op.symbol()), SqlValue::Int(*p)),
        Term::Link(part) => one(
            format!(
                "EXISTS (SELECT 1 FROM {} WHERE {})",
                dialect.json_strings("items.links"),
                dialect.contains("value")
            ),
            text(part),
        ),
        Term::Similar(id) => {
            let mut any = vec!["id = ?".to_owned()];
            let mut values = vec![text(id)];
            if let Some(like) = likeness(id)? {
                if let Some(author) = &like.author_id {
                    any.push("author_id = ?".into());
                    values.push(text(author));
                }
                if let Some(hash) = &like.text_hash {
                    any.push("text_hash = ?".into());
                    values.push(text(hash));
                }
                // At most MAX_LINKS_PER_ITEM variables, even for an item stored before the
                // cap: SQLite refuses a statement with too many.
                let links: Vec<&String> =
                    like.links.iter().take(query::MAX_LINKS_PER_ITEM).collect();
                if !links.is_empty() {
                    let marks = vec!["?"; links.len()].join(", ");
                    any.push(format!(
                        "EXISTS (SELECT 1 FROM {} WHERE value IN ({marks}))",
                        dialect.json_strings("items.links")
                    ));
                    values.extend(links.into_iter().map(|l| text(l)));
                }
            }
            Ok((format!("({})", any.join(" OR ")), values))
        }
    }
}

/// A reporter type as stored: its serde name (`trusted_flagger`).
fn reporter_name(r: ReporterType) -> Result<String, StorageError> {
    match serde_json::to_value(r) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(StorageError::Backend(anyhow::anyhow!(
            "{r:?} has no plain name to store"
        ))),
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::Query;

    /// Numbered placeholders and its own spellings, as PostgreSQL has them.
    struct Numbered;

    impl Dialect for Numbered {
        fn placeholder(&self, n: usize) -> String {
            format!("${n}")
        }
        fn contains(&self, haystack: &str) -> String {
            format!("strpos({haystack}, ?) > 0")
        }
        fn json_strings(&self, column: &str) -> String {
            format!("jsonb_array_elements_text({column}) AS j(value)")
        }
    }

    fn no_items(_: &str) -> Result<Option<Likeness>, StorageError> {
        Ok(None)
    }

    /// Placeholders are numbered in the order of their values, from where the statement
    /// left off, through every kind of term and the dialect's own fragments.
    #[test]
    fn placeholders_follow_the_values_in_the_dialects_spelling() {
        let query = QueueQuery {
            lane: Some(crate::model::Lane::Urgent),
            filter: Query::parse("cat:spam,scam crypto -link:t.me prio:>5 from:@al").unwrap(),
            ..QueueQuery::default()
        };
        let w = queue_conditions(&Numbered, 2, &query, &no_items).unwrap();
        assert_eq!(
            w.sql(),
            "state = 'open' AND lane = $3 AND EXISTS (SELECT 1 FROM reports r WHERE \
             r.item_id = items.id AND lower(r.category) IN ($4, $5)) AND (strpos(text_lc, $6) \
             > 0) AND NOT COALESCE((EXISTS (SELECT 1 FROM jsonb_array_elements_text(\
             items.links) AS j(value) WHERE strpos(value, $7) > 0)), FALSE) AND (priority > \
             $8) AND ((author_id = $9 OR author_handle = $10))"
        );
        let values: Vec<SqlValue> = ["urgent", "spam", "scam", "crypto", "t.me"]
            .into_iter()
            .map(text)
            .chain([SqlValue::Int(5), text("al"), text("al")])
            .collect();
        assert_eq!(w.values, values);
    }

    #[test]
    fn similar_asks_what_the_item_looks_like_and_matches_itself_when_it_is_gone() {
        let query = QueueQuery {
            filter: Query::parse("similar:p1").unwrap(),
            ..QueueQuery::default()
        };
        let w = queue_conditions(&Numbered, 0, &query, &no_items).unwrap();
        assert_eq!(w.sql(), "state = 'open' AND ((id = $1))");
        let like = |id: &str| {
            assert_eq!(id, "p1");
            Ok(Some(Likeness {
                author_id: Some("u1".into()),
                text_hash: None,
                links: vec!["a.example".into(), "b.example".into()],
            }))
        };
        let w = queue_conditions(&Numbered, 0, &query, &like).unwrap();
        assert_eq!(
            w.sql(),
            "state = 'open' AND ((id = $1 OR author_id = $2 OR EXISTS (SELECT 1 FROM \
             jsonb_array_elements_text(items.links) AS j(value) WHERE value IN ($3, $4))))"
        );
        assert_eq!(w.values.len(), 4);
    }
}
