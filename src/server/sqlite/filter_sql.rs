//! The filter language ([`crate::query`]) as SQL conditions on `items`.

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension};

use crate::query::{self, Clause, Likeness, Term};

use super::convert::{from_json, name_of};
use crate::server::storage::StorageError;

/// An SQL condition and the values of its `?` placeholders, in order.
#[derive(Default)]
pub(super) struct Where {
    pub(super) sql: Vec<String>,
    pub(super) values: Vec<Value>,
}

impl Where {
    pub(super) fn push(&mut self, sql: impl Into<String>, values: impl IntoIterator<Item = Value>) {
        self.sql.push(sql.into());
        self.values.extend(values);
    }
}

pub(super) fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// The condition for one filter clause, mirroring `query::Clause::matches` on the client.
pub(super) fn clause_condition(
    conn: &Connection,
    clause: &Clause,
    w: &mut Where,
) -> Result<(), StorageError> {
    let (sql, values) = match same_field_in_list(&clause.any_of)? {
        Some(in_list) => in_list,
        None => {
            let mut any = Where::default();
            for term in &clause.any_of {
                term_condition(conn, term, &mut any)?;
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

/// Alternatives on one field as one `IN` list (`cat:spam,scam`), which an index on the field
/// still serves; `None` for a single term or fields an `IN` cannot express.
pub(super) fn same_field_in_list(
    terms: &[Term],
) -> Result<Option<(String, Vec<Value>)>, StorageError> {
    const REPORT: &str = "EXISTS (SELECT 1 FROM reports r WHERE r.item_id = items.id AND";
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
        Some("country") => format!(
            "EXISTS (SELECT 1 FROM json_each(items.countries) WHERE upper(value) IN ({marks}))"
        ),
        Some("language") => format!("lower(language) IN ({marks})"),
        _ => return Ok(None),
    };
    Ok(Some((sql, values)))
}

/// The condition for one filter term, mirroring `query::Term` matching on the client.
pub(super) fn term_condition(
    conn: &Connection,
    term: &Term,
    w: &mut Where,
) -> Result<(), StorageError> {
    const REPORT: &str = "EXISTS (SELECT 1 FROM reports r WHERE r.item_id = items.id AND";
    match term {
        Term::Text(t) => w.push("instr(text_lc, ?) > 0", [text(t)]),
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
        Term::Country(c) => w.push(
            "EXISTS (SELECT 1 FROM json_each(items.countries) WHERE upper(value) = ?)",
            [text(c)],
        ),
        Term::Language(l) => w.push("lower(language) = ?", [text(l)]),
        Term::Priority(op, p) => {
            w.push(format!("priority {} ?", op.symbol()), [Value::Integer(*p)])
        }
        Term::Link(part) => w.push(
            "EXISTS (SELECT 1 FROM json_each(items.links) WHERE instr(value, ?) > 0)",
            [text(part)],
        ),
        Term::Similar(id) => {
            let mut any = vec!["id = ?".to_owned()];
            let mut values = vec![text(id)];
            if let Some(like) = likeness_of(conn, id)? {
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
                        "EXISTS (SELECT 1 FROM json_each(items.links) WHERE value IN ({marks}))"
                    ));
                    values.extend(links.into_iter().map(|l| text(l)));
                }
            }
            w.push(format!("({})", any.join(" OR ")), values);
        }
    }
    Ok(())
}

/// What the item `id` looks like, for `similar:` (`None`: no such item).
pub(super) fn likeness_of(conn: &Connection, id: &str) -> Result<Option<Likeness>, StorageError> {
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
