//! Items as stored: the row, the columns filters read, and an item's reports, history,
//! notes and author record.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::model::{
    Author, AuthorRecord, HistoryEntry, Item, ItemKind, ItemTotals, Report, ReviewState,
};
use crate::query;

use super::SqliteStorage;
use super::convert::{
    from_json, from_name, opt_json, opt_tier, parse_lane, parse_opt_ts, parse_state, parse_ts,
    to_json,
};
use crate::server::storage::{
    CATEGORIES_LISTED, DECISIONS_LISTED, NOTES_LISTED, REPORTS_LISTED, StorageError,
};
use crate::server::stored::{
    AuditColumns, CountedRecord, NoteColumns, ReportColumns, TALLY_CATEGORY, TALLY_REPORTER_TYPE,
    audit_entry, note_entry, report_of, reported,
};

pub(super) const ITEM_COLUMNS: &str = "id, kind, text, author, language, countries, media, priority, lane, \
                            deadline, state, restricted_in, escalation_target, created_at, \
                            report_count";

// Each capped read goes through its `(item_id, id)` index (the tally through
// `report_tally_listed`) newest first and stops at its cap: no sort of all an item's rows
// (see the test `capped_reads_walk_an_index_and_sort_nothing`).
/// The report tally of one dimension, categories acted on first, then the most reported.
const TALLY_LISTED: &str =
    "SELECT name, reports FROM report_tally WHERE item_id = ?1 AND dimension = ?2
     ORDER BY shown_first DESC, reports DESC, name LIMIT ?3";
/// An item's newest notes at one tier ('' for none: see migration 18), newest first.
const NEWEST_NOTES: &str = "SELECT at, actor, note, tier, id FROM notes
     WHERE item_id = ?1 AND COALESCE(tier, '') = ?2 ORDER BY id DESC LIMIT ?3";
/// An item's newest reports, newest first.
const NEWEST_REPORTS: &str =
    "SELECT id, reporter_type, category, comment, lane, deadline, received_at
     FROM reports WHERE item_id = ?1 ORDER BY id DESC LIMIT ?2";
/// An item's newest audit rows, newest first.
const NEWEST_AUDIT: &str =
    "SELECT at, actor, action, reason_code, scope, note, escalation_target, from_tier, to_tier
     FROM audit WHERE item_id = ?1 ORDER BY id DESC LIMIT ?2";

/// An items row as stored, converted after the statement is done with it.
pub(super) struct ItemRow {
    pub(super) id: String,
    pub(super) kind: String,
    pub(super) text: Option<String>,
    pub(super) author: Option<String>,
    pub(super) language: Option<String>,
    pub(super) countries: String,
    pub(super) media: String,
    pub(super) priority: i64,
    pub(super) lane: String,
    pub(super) deadline: Option<String>,
    pub(super) state: String,
    pub(super) restricted_in: Option<String>,
    pub(super) escalation_target: Option<String>,
    pub(super) created_at: String,
    pub(super) report_count: i64,
}

pub(super) fn item_row(r: &Row<'_>) -> rusqlite::Result<ItemRow> {
    Ok(ItemRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        text: r.get(2)?,
        author: r.get(3)?,
        language: r.get(4)?,
        countries: r.get(5)?,
        media: r.get(6)?,
        priority: r.get(7)?,
        lane: r.get(8)?,
        deadline: r.get(9)?,
        state: r.get(10)?,
        restricted_in: r.get(11)?,
        escalation_target: r.get(12)?,
        created_at: r.get(13)?,
        report_count: r.get(14)?,
    })
}

impl ItemRow {
    /// The item without reports and history; [`fill_item`] adds them.
    pub(super) fn into_item(self) -> Result<Item, StorageError> {
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
            totals: None,
            id: self.id,
        })
    }
}

/// The derived columns filters read, from an item's content: author id and handle,
/// lowercased text, text hash and links.
pub(super) struct SearchColumns {
    pub(super) author_id: Option<String>,
    pub(super) author_handle: Option<String>,
    pub(super) text_lc: Option<String>,
    pub(super) text_hash: Option<String>,
    pub(super) links: String,
}

pub(super) fn search_columns(
    text: Option<&str>,
    author: Option<&Author>,
) -> Result<SearchColumns, StorageError> {
    let body = text.unwrap_or("");
    Ok(SearchColumns {
        author_id: author.map(|a| a.id.clone()),
        author_handle: author
            .and_then(|a| a.handle.as_deref())
            .map(|h| h.trim_start_matches('@').to_lowercase()),
        text_lc: text.map(str::to_lowercase),
        text_hash: query::text_hash(body),
        links: to_json(&query::links(body))?,
    })
}

pub(super) fn write_search_columns(
    conn: &Connection,
    id: &str,
    text: Option<&str>,
    author: Option<&Author>,
) -> Result<(), StorageError> {
    write_columns(conn, id, &search_columns(text, author)?)
}

/// Stores columns already derived, so that the deriving (a pass over up to 64 KiB of text)
/// happens before the write lock is taken, not while every other writer waits.
pub(super) fn write_columns(
    conn: &Connection,
    id: &str,
    c: &SearchColumns,
) -> Result<(), StorageError> {
    conn.prepare_cached(
        "UPDATE items SET author_id = ?2, author_handle = ?3, text_lc = ?4, text_hash = ?5,
                          links = ?6
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        c.author_id,
        c.author_handle,
        c.text_lc,
        c.text_hash,
        c.links
    ])?;
    Ok(())
}

pub(super) fn load_item(conn: &Connection, id: &str) -> Result<Option<Item>, StorageError> {
    let sql = format!("SELECT {ITEM_COLUMNS} FROM items WHERE id = ?1");
    let Some(row) = conn.query_row(&sql, [id], item_row).optional()? else {
        return Ok(None);
    };
    let mut item = row.into_item()?;
    fill_item(conn, &mut item)?;
    Ok(Some(item))
}

/// Adds an item's newest reports, its history (the newest reports, audit rows and notes,
/// each kind capped apart, oldest first) and its totals (see `storage::REPORTS_LISTED`).
/// Each list is read newest first through its `(item_id, id)` index and stops at its cap,
/// so an item with 100,000 reports reads as fast as one with a hundred.
pub(super) fn fill_item(conn: &Connection, item: &mut Item) -> Result<(), StorageError> {
    item.reports = load_newest_reports(conn, &item.id)?;
    let mut history: Vec<HistoryEntry> = item.reports.iter().map(reported).collect();
    history.extend(load_decision_history(conn, &item.id)?);
    let thread: Option<String> = conn
        .prepare_cached("SELECT thread FROM items WHERE id = ?1")?
        .query_row([&item.id], |r| r.get(0))
        .optional()?
        .flatten();
    item.thread = opt_json("thread", thread.as_deref())?;
    history.extend(load_notes(conn, &item.id)?);
    // Stable: at equal times a report stays before the decision that followed it.
    history.sort_by_key(|h| h.at);
    item.history = history;
    item.totals = Some(item_totals(conn, &item.id)?);
    item.author_record = match &item.author {
        Some(author) => Some(author_record(conn, &author.id, item.state)?),
        None => None,
    };
    item.account = super::accounts::standing_of(conn, item)?;
    Ok(())
}

/// What an item holds in all: the report tally (every reporter type, the categories
/// listed first), and its audit rows and notes as the database counts them (migration 16).
pub(super) fn item_totals(conn: &Connection, item_id: &str) -> Result<ItemTotals, StorageError> {
    let tally = |dimension: &str, limit: i64| -> Result<Vec<(String, i64)>, StorageError> {
        let mut stmt = conn.prepare_cached(TALLY_LISTED)?;
        let rows = stmt.query_map(params![item_id, dimension, limit], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    };
    // Reporter types are few (an enum): all of them, so the reports total is their sum.
    let reporter_types = tally(TALLY_REPORTER_TYPE, i64::MAX)?;
    let categories = tally(TALLY_CATEGORY, limit_of(CATEGORIES_LISTED))?;
    let (decisions, leading_category): (i64, Option<String>) = conn
        .prepare_cached("SELECT decision_count, leading_category FROM items WHERE id = ?1")?
        .query_row([item_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or_default();
    let mut stmt =
        conn.prepare_cached("SELECT NULLIF(tier, ''), notes FROM note_tally WHERE item_id = ?1")?;
    let mut notes_by_tier = Vec::new();
    for row in stmt.query_map([item_id], |r| {
        Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?))
    })? {
        let (tier, n) = row?;
        notes_by_tier.push((opt_tier(tier.as_deref())?, n));
    }
    crate::server::stored::item_totals(CountedRecord {
        reporter_types,
        categories,
        decisions,
        notes_by_tier,
        leading_category,
    })
}

/// A cap as SQLite's `LIMIT` takes it.
fn limit_of(cap: usize) -> i64 {
    i64::try_from(cap).unwrap_or(i64::MAX)
}

/// The item's newest notes at each tier it has notes at (see `storage::NOTES_LISTED`),
/// oldest first. Each tier is capped apart, so that notes a role may not read cannot push
/// those it may out of its view: a specialist tier's hundred notes on a case left a
/// moderator none of their colleagues'. `rules::redact_history` then keeps the newest the
/// reader may read.
pub(super) fn load_notes(
    conn: &Connection,
    item_id: &str,
) -> Result<Vec<HistoryEntry>, StorageError> {
    let tiers: Vec<String> = conn
        .prepare_cached("SELECT tier FROM note_tally WHERE item_id = ?1")?
        .query_map([item_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut stmt = conn.prepare_cached(NEWEST_NOTES)?;
    let mut rows = Vec::new();
    for tier in &tiers {
        for row in stmt.query_map(params![item_id, tier, limit_of(NOTES_LISTED)], |r| {
            Ok((r.get::<_, i64>(4)?, NoteColumns::try_from(r)?))
        })? {
            rows.push(row?);
        }
    }
    // The history is oldest first.
    rows.sort_by_key(|(id, _)| *id);
    rows.into_iter().map(|(_, row)| note_entry(row)).collect()
}

/// The author's other items by state (through the `items_author` index).
pub(super) fn author_record(
    conn: &Connection,
    author_id: &str,
    own_state: ReviewState,
) -> Result<AuthorRecord, StorageError> {
    // From the tally (schema 7): a few rows, however many items the author has. The item
    // itself is taken off after.
    let mut stmt =
        conn.prepare_cached("SELECT state, items FROM author_tally WHERE author_id = ?1")?;
    let rows = stmt.query_map([author_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut record = AuthorRecord {
        author_id: author_id.to_owned(),
        other_items: 0,
        taken_down: 0,
        kept: 0,
        escalated: 0,
        open: 0,
    };
    for row in rows {
        let (state, count) = row?;
        let state = parse_state(&state)?;
        let count = u64::try_from(count)
            .unwrap_or_default()
            .saturating_sub(u64::from(state == own_state));
        record.other_items += count;
        match state {
            ReviewState::Open => record.open += count,
            ReviewState::Escalated => record.escalated += count,
            ReviewState::TakenDown => record.taken_down += count,
            ReviewState::Kept => record.kept += count,
        }
    }
    Ok(record)
}

/// The item's newest reports (see `storage::REPORTS_LISTED`), oldest first.
pub(super) fn load_newest_reports(
    conn: &Connection,
    item_id: &str,
) -> Result<Vec<Report>, StorageError> {
    let mut reports = reports_where(
        conn,
        NEWEST_REPORTS,
        params![item_id, limit_of(REPORTS_LISTED)],
    )?;
    reports.reverse();
    Ok(reports)
}

fn reports_where(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<Report>, StorageError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(params, |r| ReportColumns::try_from(r))?;
    let mut reports = Vec::new();
    for row in rows {
        reports.push(report_of(row?)?);
    }
    Ok(reports)
}

/// The item's newest audit rows as history (see `storage::DECISIONS_LISTED`), oldest first.
pub(super) fn load_decision_history(
    conn: &Connection,
    item_id: &str,
) -> Result<Vec<HistoryEntry>, StorageError> {
    let mut stmt = conn.prepare_cached(NEWEST_AUDIT)?;
    let rows = stmt.query_map(params![item_id, limit_of(DECISIONS_LISTED)], |r| {
        AuditColumns::try_from(r)
    })?;
    let mut entries = Vec::new();
    for row in rows {
        entries.push(audit_entry(row?)?);
    }
    // Read newest first to stop at the cap; the history is oldest first.
    entries.reverse();
    Ok(entries)
}

pub(super) fn item(storage: &SqliteStorage, id: &str) -> Result<Option<Item>, StorageError> {
    storage.read(|conn| load_item(conn, id))
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ReporterType;

    /// A take down from before schema 8 froze no basis: its statement of reasons stands in
    /// with the item as it is, and must weigh every report, not the newest the read lists:
    /// the trusted flagger who reported first is still the statement's source.
    #[test]
    fn a_take_down_without_a_frozen_basis_states_every_report() {
        use crate::model::{
            Decision, DecisionAction, DecisionMethod, DecisionOutcome, NewReport, Role, Scope,
            Subject,
        };
        use crate::policy::PolicyCatalog;
        use crate::server::storage::{Storage, TokenInfo};
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("modq.db")).unwrap();
        let now: chrono::DateTime<chrono::Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
        let reports: Vec<NewReport> = (0..=REPORTS_LISTED)
            .map(|i| NewReport {
                subject: Subject {
                    id: "p1".into(),
                    kind: ItemKind::Post,
                    text: Some("viral".into()),
                    author: None,
                    language: None,
                    countries: vec![],
                    media: vec![],
                    thread: None,
                },
                reporter_type: if i == 0 {
                    ReporterType::TrustedFlagger
                } else {
                    ReporterType::User
                },
                category: "hate".into(),
                comment: None,
                lane: None,
                deadline: None,
                received_at: Some(
                    now - chrono::TimeDelta::seconds(1000)
                        + chrono::TimeDelta::seconds(i64::try_from(i).unwrap()),
                ),
                reporter: None,
            })
            .collect();
        storage.add_reports(&reports, now).unwrap();
        let alice = TokenInfo {
            id: storage.create_token("alice", Role::Moderator, "h").unwrap(),
            name: "alice".into(),
            role: Role::Moderator,
        };
        let take_down = Decision {
            idempotency_key: "k1".into(),
            item_id: "p1".into(),
            action: DecisionAction::TakeDown,
            reason_code: None,
            note: None,
            scope: Some(Scope::Global),
            escalation_target: None,
            reverses: None,
            decided_at: now,
            method: DecisionMethod::Single,
            account: None,
        };
        let applied = storage
            .apply_decisions(&alice, &[take_down], &PolicyCatalog::builtin(), now)
            .unwrap();
        assert_eq!(applied[0].outcome, DecisionOutcome::Applied);
        // As schema 8's backfill left older take downs: no basis.
        storage
            .writer
            .lock()
            .unwrap()
            .execute_batch("DROP TRIGGER audit_no_update; UPDATE audit SET basis = NULL;")
            .unwrap();
        let item = storage.item("p1").unwrap().unwrap();
        assert!(
            item.reports
                .iter()
                .all(|r| r.reporter_type == ReporterType::User)
        );
        let downs = storage
            .take_downs_since(now - chrono::TimeDelta::seconds(60), 0, 1000)
            .unwrap();
        let basis = downs[0].basis.as_ref().unwrap();
        assert_eq!(basis.tally().total, REPORTS_LISTED as u64 + 1);
        let statement =
            crate::server::statements::statement(&downs[0], &PolicyCatalog::builtin()).unwrap();
        assert_eq!(statement.source_type, "SOURCE_TRUSTED_FLAGGER");
    }

    /// Reports filed before the report tally existed are counted by its migration as filing
    /// counts them: the same rows, and the same categories listed first (matched as
    /// `media::policy::listing_rank` matches, white space of any kind trimmed, case folded).
    #[test]
    fn the_tally_migration_counts_old_reports_as_filing_does() {
        use crate::model::{NewReport, Subject};
        use crate::server::storage::Storage;
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("modq.db")).unwrap();
        let now: chrono::DateTime<chrono::Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
        let categories = [
            "\u{3000}CSAM\t",
            "Gore",
            "spam",
            "spam",
            "csam-ish",
            "\u{200b}csam",
            "Self_Harm\u{a0}",
        ];
        let reports: Vec<NewReport> = categories
            .iter()
            .enumerate()
            .map(|(i, category)| NewReport {
                subject: Subject {
                    id: format!("p{}", i % 2),
                    kind: ItemKind::Post,
                    text: None,
                    author: None,
                    language: None,
                    countries: vec![],
                    media: vec![],
                    thread: None,
                },
                reporter_type: if i == 0 {
                    ReporterType::Authority
                } else {
                    ReporterType::User
                },
                category: (*category).into(),
                comment: None,
                lane: None,
                deadline: None,
                received_at: None,
                reporter: None,
            })
            .collect();
        storage.add_reports(&reports, now).unwrap();
        let tally = |conn: &Connection| -> Vec<(String, String, String, i64, i64)> {
            conn.prepare(
                "SELECT item_id, dimension, name, reports, shown_first FROM report_tally
                 ORDER BY item_id, dimension, name",
            )
            .unwrap()
            .query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
        };
        let conn = storage.writer.lock().unwrap();
        let filed = tally(&conn);
        let ranked: Vec<(&str, i64)> = filed
            .iter()
            .filter(|t| t.4 > 0)
            .map(|t| (t.2.as_str(), t.4))
            .collect();
        assert_eq!(
            ranked,
            [("Self_Harm\u{a0}", 1), ("\u{3000}CSAM\t", 2), ("Gore", 1)]
        );
        let migration = super::super::schema::MIGRATIONS
            .iter()
            .find(|m| m.contains("CREATE TABLE report_tally"))
            .unwrap();
        let backfill = migration
            .find("INSERT INTO report_tally")
            .and_then(|at| migration.get(at..))
            .unwrap();
        // Then migration 15 ranks what 13 flagged, as an upgrade runs them.
        let ranks = super::super::schema::MIGRATIONS
            .iter()
            .find(|m| m.contains("UPDATE report_tally SET shown_first"))
            .unwrap();
        conn.execute_batch(&format!("DELETE FROM report_tally; {backfill}; {ranks}"))
            .unwrap();
        assert_eq!(tally(&conn), filed);
    }

    /// An item with 100,000 reports reads as fast as one with a hundred: SQLite's plan for
    /// each capped read searches an index by the item and sorts nothing.
    #[test]
    fn capped_reads_walk_an_index_and_sort_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("modq.db")).unwrap();
        let conn = storage.writer.lock().unwrap();
        for (sql, index, params) in [
            (NEWEST_REPORTS, "reports_item", params!["p1", 10]),
            (NEWEST_AUDIT, "audit_item", params!["p1", 10]),
            (NEWEST_NOTES, "notes_item_tier", params!["p1", "", 10]),
            (
                TALLY_LISTED,
                "report_tally_listed",
                params!["p1", "category", 10],
            ),
        ] {
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(params, |r| r.get(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert!(
                plan.iter().any(|l| l.contains(&format!("INDEX {index}"))),
                "{sql}: {plan:?}"
            );
            assert!(
                !plan.iter().any(|l| l.contains("TEMP B-TREE")),
                "{sql}: {plan:?}"
            );
            assert!(
                !plan.iter().any(|l| l.starts_with("SCAN")),
                "{sql}: {plan:?}"
            );
        }
    }
}
