//! Items and reports on PostgreSQL: reading an item whole, filing reports into items, and
//! the tallies every move of an item updates.

use std::collections::{BTreeMap, HashMap};

use anyhow::anyhow;
use chrono::{DateTime, Utc};

use crate::model::{
    Author, AuthorRecord, EscalationTier, HistoryEntry, Item, ItemTotals, NewReport,
    ReportAccepted, ReviewState, Role,
};
use crate::query;
use crate::server::report_figures::{self, FiledReport};
use crate::server::rules;
use crate::server::storage::{
    CATEGORIES_LISTED, DECISIONS_LISTED, NOTES_LISTED, REPORTS_LISTED, StorageError, TokenInfo,
};
use crate::server::stored::{
    AuditColumns, CountedRecord, FILED_BEFORE, NoteColumns, ReportColumns, StoredFigures,
    TALLY_CATEGORY, TALLY_REPORTER_TYPE, WRITE_REPORT_FIGURES, audit_entry, figures_after,
    item_totals, note_entry, report_of, reported,
};

use super::convert::{
    from_json, name_of, opt_json, opt_tier, parse_opt_ts, parse_state, to_json, ts,
};
use ::postgres::Row;

use crate::server::account_rules::MEASURES_LOADED;

use super::db::Tx;
use super::queue::{ITEM_COLUMNS, item_row};

/// What an item read adds to an item's own columns, in one statement: its thread, its
/// newest reports, audit rows and notes (each a JSON array of rows in id order, each kind
/// capped apart, notes at each tier apart: see `storage::REPORTS_LISTED`), its totals (the
/// report tally, the audit rows and notes as the database counts them, migration 11), and of
/// its author the tally by state, the account's creation date and the standing measures. One round trip where each was a statement of its own; `?1` is the
/// id (or the ids). Each capped list is read newest first through its `(item_id, id)` index
/// and stops at its cap, so an item with 100,000 reports reads as fast as one with a hundred.
static CHILDREN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    // Each tier's newest notes apart, the tier a constant: with it PostgreSQL walks the
    // `(item_id, tier, id)` index backwards and stops at the cap (with the tier a parameter
    // its generic plan read every note at it and sorted them).
    let notes_by_tier = std::iter::once("")
        .chain(EscalationTier::ALL.map(EscalationTier::as_str))
        .map(|tier| {
            format!(
                "(SELECT * FROM notes WHERE notes.item_id = items.id
                    AND (COALESCE(notes.tier, '') COLLATE \"C\") = '{tier}'
                  ORDER BY notes.id DESC LIMIT {NOTES_LISTED})"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    format!(
        "items.thread,
         (SELECT json_agg(json_build_array(r.id, r.reporter_type, r.category, r.comment,
                                           r.lane, r.deadline, r.received_at) ORDER BY r.id)::TEXT
          FROM (SELECT * FROM reports WHERE reports.item_id = items.id
                ORDER BY reports.id DESC LIMIT {REPORTS_LISTED}) r),
         (SELECT json_agg(json_build_array(a.at, a.actor, a.action, a.reason_code, a.scope,
                                           a.note, a.escalation_target, a.from_tier, a.to_tier)
                          ORDER BY a.id)::TEXT
          FROM (SELECT * FROM audit WHERE audit.item_id = items.id
                ORDER BY audit.id DESC LIMIT {DECISIONS_LISTED}) a),
         (SELECT json_agg(json_build_array(n.at, n.actor, n.note, n.tier) ORDER BY n.id)::TEXT
          FROM ({notes_by_tier}) n),
         (SELECT json_agg(json_build_array(t.state, t.n))::TEXT FROM (
              SELECT author_tally.state, SUM(author_tally.items)::BIGINT AS n
              FROM author_tally WHERE author_tally.author_id = items.author::json->>'id'
              GROUP BY author_tally.state) t),
         (SELECT accounts.created_at FROM accounts
          WHERE accounts.id = items.author::json->>'id'),
         (SELECT json_agg(json_build_array(m.action, m.days, m.at, m.until, m.reason_code)
                          ORDER BY m.at DESC, m.id DESC)::TEXT FROM (
              SELECT * FROM account_measures am
              WHERE am.account_id = items.author::json->>'id' AND am.lifted_at IS NULL
              ORDER BY am.at DESC, am.id DESC LIMIT {MEASURES_LOADED}) m),
         (SELECT json_agg(json_build_array(t.name, t.reports))::TEXT
          FROM report_tally t
          WHERE t.item_id = items.id AND t.dimension = '{TALLY_REPORTER_TYPE}'),
         (SELECT json_agg(json_build_array(t.name, t.reports)
                          ORDER BY t.shown_first DESC, t.reports DESC, t.name)::TEXT
          FROM (SELECT * FROM report_tally
                WHERE report_tally.item_id = items.id
                  AND report_tally.dimension = '{TALLY_CATEGORY}'
                ORDER BY report_tally.shown_first DESC, report_tally.reports DESC,
                         report_tally.name
                LIMIT {CATEGORIES_LISTED}) t),
         items.decision_count,
         (SELECT json_agg(json_build_array(NULLIF(c.tier, ''), c.notes))::TEXT
          FROM note_tally c WHERE c.item_id = items.id),
         items.leading_category"
    )
});

/// Statement columns [`CHILDREN`] adds.
const CHILD_COLUMNS: usize = 12;

/// An item whole, in one statement (inside a transaction: a decision's steps read it).
pub fn load_item(tx: &mut Tx<'_>, id: &str) -> Result<Option<Item>, StorageError> {
    let row = tx.opt(&ITEM_WHOLE, &[&id])?;
    row.as_ref().map(item_whole).transpose()
}

/// The statement [`item_whole`] reads: an item's columns, no lease (two NULLs where a
/// queue walk has the lease's columns, see `queue::item_row`), then [`CHILDREN`].
pub static ITEM_WHOLE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {ITEM_COLUMNS}, NULL::TEXT, NULL::TEXT, {} FROM items WHERE id = ?1",
        *CHILDREN
    )
});

/// An item whole from a row of [`ITEM_WHOLE`].
pub fn item_whole(row: &Row) -> Result<Item, StorageError> {
    let mut item = item_row(row)?.into_item()?;
    let first = row
        .len()
        .checked_sub(CHILD_COLUMNS)
        .ok_or_else(|| StorageError::Backend(anyhow!("an item read lacks its columns")))?;
    fill_from(&mut item, row, first)?;
    Ok(item)
}

/// Adds to each item of a page its reports, its history (reports, audit rows and notes,
/// oldest first), its thread and its author's record and standing: one statement for the
/// page, not one per item.
pub fn fill_items(tx: &mut Tx<'_>, items: &mut [Item]) -> Result<(), StorageError> {
    if items.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
    let sql = format!(
        "SELECT items.id, {} FROM items WHERE items.id = ANY(?1)",
        *CHILDREN
    );
    let mut rows: HashMap<String, Row> = HashMap::new();
    for r in tx.all(&sql, &[&ids])? {
        rows.insert(r.try_get(0)?, r);
    }
    for item in items.iter_mut() {
        match rows.get(&item.id) {
            Some(row) => fill_from(item, row, 1)?,
            // Gone since the page was read: cannot happen, items are never deleted; were
            // it to, the item goes out with no children rather than failing the page.
            None => fill_absent(item)?,
        }
    }
    Ok(())
}

/// An item's children as its row carries them from column `at` on (see [`CHILDREN`]).
fn fill_from(item: &mut Item, row: &Row, at: usize) -> Result<(), StorageError> {
    let col = |n: usize| at + n;
    let thread: Option<String> = row.try_get(col(0))?;
    let reports: Option<String> = row.try_get(col(1))?;
    let audit: Option<String> = row.try_get(col(2))?;
    let notes: Option<String> = row.try_get(col(3))?;
    let tally: Option<String> = row.try_get(col(4))?;
    let created_at: Option<String> = row.try_get(col(5))?;
    let measures: Option<String> = row.try_get(col(6))?;
    let reporter_types: Option<String> = row.try_get(col(7))?;
    let categories: Option<String> = row.try_get(col(8))?;
    let decisions: i64 = row.try_get(col(9))?;
    let notes_by_tier: Option<String> = row.try_get(col(10))?;
    let leading_category: Option<String> = row.try_get(col(11))?;
    item.thread = opt_json("thread", thread.as_deref())?;
    item.reports = rows_of::<ReportColumns>("reports", reports.as_deref())?
        .into_iter()
        .map(report_of)
        .collect::<Result<_, _>>()?;
    let mut history: Vec<HistoryEntry> = item.reports.iter().map(reported).collect();
    for a in rows_of::<AuditColumns>("audit", audit.as_deref())? {
        history.push(audit_entry(a)?);
    }
    for n in rows_of::<NoteColumns>("notes", notes.as_deref())? {
        history.push(note_entry(n)?);
    }
    // Stable: at equal times a report stays before the decision that followed it.
    history.sort_by_key(|h| h.at);
    item.history = history;
    let mut notes_counted = Vec::new();
    for (tier, n) in rows_of::<(Option<String>, i64)>("notes", notes_by_tier.as_deref())? {
        notes_counted.push((opt_tier(tier.as_deref())?, n));
    }
    item.totals = Some(item_totals(CountedRecord {
        reporter_types: rows_of("report tally", reporter_types.as_deref())?,
        categories: rows_of("report tally", categories.as_deref())?,
        decisions,
        notes_by_tier: notes_counted,
        leading_category,
    })?);
    let tallies: Vec<(String, i64)> = rows_of("author tally", tally.as_deref())?;
    item.author_record = match &item.author {
        Some(author) => Some(author_record(&tallies, &author.id, item.state)?),
        None => None,
    };
    let made = parse_opt_ts(created_at.as_deref())?;
    let measures = rows_of::<super::accounts::MeasureColumns>("measures", measures.as_deref())?;
    item.account = match &item.author {
        Some(author) => Some(super::accounts::standing_of(author, made, measures)?),
        None => None,
    };
    Ok(())
}

/// What [`fill_from`] makes of an item with no row: no children.
fn fill_absent(item: &mut Item) -> Result<(), StorageError> {
    item.thread = None;
    item.reports = Vec::new();
    item.history = Vec::new();
    item.totals = Some(ItemTotals::default());
    item.author_record = match &item.author {
        Some(author) => Some(author_record(&[], &author.id, item.state)?),
        None => None,
    };
    item.account = match &item.author {
        Some(author) => Some(super::accounts::standing_of(author, None, Vec::new())?),
        None => None,
    };
    Ok(())
}

/// A JSON array of row arrays (`None`: no rows).
fn rows_of<T: serde::de::DeserializeOwned>(
    what: &str,
    json: Option<&str>,
) -> Result<Vec<T>, StorageError> {
    match json {
        Some(json) => from_json(what, json),
        None => Ok(Vec::new()),
    }
}

/// The author's other items by state, from the author tally.
fn author_record(
    tallies: &[(String, i64)],
    author_id: &str,
    own_state: ReviewState,
) -> Result<AuthorRecord, StorageError> {
    let mut record = AuthorRecord {
        author_id: author_id.to_owned(),
        other_items: 0,
        taken_down: 0,
        kept: 0,
        escalated: 0,
        open: 0,
    };
    for (state, count) in tallies {
        let state = parse_state(state)?;
        let count = u64::try_from(*count)
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

// --- reports ------------------------------------------------------------------------------

/// The derived columns filters read, from an item's content.
pub struct SearchColumns {
    author_id: Option<String>,
    author_handle: Option<String>,
    text_lc: Option<String>,
    text_hash: Option<String>,
    links: String,
}

pub fn search_columns(
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

fn write_columns(tx: &mut Tx<'_>, id: &str, c: &SearchColumns) -> Result<(), StorageError> {
    tx.exec(
        "UPDATE items SET author_id = ?2, author_handle = ?3, text_lc = ?4, text_hash = ?5,
                          links = ?6
         WHERE id = ?1",
        &[
            &id,
            &c.author_id,
            &c.author_handle,
            &c.text_lc,
            &c.text_hash,
            &c.links,
        ],
    )?;
    Ok(())
}

/// Whether reports by `filer` describe content: an admin's intake and the operator's
/// import do; an ordinary token's report quotes what its holder saw.
pub fn is_intake(filer: Option<&TokenInfo>) -> bool {
    filer.is_none_or(|t| t.role == Role::Admin)
}

const FROM_INTAKE: &str = "intake";
const FROM_REPORTER: &str = "reporter";

/// Files one report (see `Storage::file_reports`). The item's row is locked first, so that
/// reports on one item from several servers merge one after the other; two transactions
/// creating the same new item meet at its primary key, and the loser runs again.
pub fn add_report(
    tx: &mut Tx<'_>,
    tally: &mut TallyChanges,
    filer: Option<&TokenInfo>,
    (report, columns): (&NewReport, &SearchColumns),
    now: DateTime<Utc>,
) -> Result<ReportAccepted, StorageError> {
    let subject = &report.subject;
    let received_at = rules::received_time(report, now);
    let lane = rules::report_lane(report);
    let intake = is_intake(filer);

    let existing: Option<(String, String, Tallied, StoredFigures)> = match tx.opt(
        "SELECT countries, content_source, state, lane, escalation_target, author_id,
                priority, report_weight, report_count, deadline, created_at,
                leading_reporter_type, leading_category
         FROM items WHERE id = ?1 FOR UPDATE",
        &[&subject.id],
    )? {
        Some(r) => Some((
            r.try_get(0)?,
            r.try_get(1)?,
            Tallied {
                state: r.try_get(2)?,
                lane: r.try_get(3)?,
                tier: r.try_get(4)?,
                author: r.try_get(5)?,
            },
            StoredFigures {
                lane: r.try_get(3)?,
                priority: r.try_get(6)?,
                report_weight: r.try_get(7)?,
                report_count: r.try_get(8)?,
                deadline: r.try_get(9)?,
                created_at: r.try_get(10)?,
                leading_reporter_type: r.try_get(11)?,
                leading_category: r.try_get(12)?,
            },
        )),
        None => None,
    };
    let merged = existing.is_some();
    let described_countries: Vec<String> = if intake {
        subject
            .countries
            .iter()
            .map(|c| c.to_ascii_uppercase())
            .collect()
    } else {
        Vec::new()
    };
    let author = subject.author.as_ref().filter(|_| intake);
    if let Some(a) = author {
        super::accounts::know(tx, a, now)?;
    }
    let media: Vec<crate::model::Media> = subject
        .media
        .iter()
        .map(|m| crate::model::Media {
            hash_match: m.hash_match.clone().filter(|_| intake),
            ..m.clone()
        })
        .collect();
    let mut countries: Vec<String> = match &existing {
        Some((stored, _, _, _)) => from_json("countries", stored)?,
        None => Vec::new(),
    };
    for c in &described_countries {
        if !countries.contains(c) {
            countries.push(c.clone());
        }
    }
    let mut new_author = None;
    let kind = name_of(subject.kind)?;
    let author_json = author.map(to_json).transpose()?;
    let countries_json = to_json(&countries)?;
    let media_json = to_json(&media)?;
    match &existing {
        Some((_, source, _, _)) if intake && source == FROM_REPORTER => {
            tx.exec(
                "UPDATE items SET kind = ?2, text = ?3, author = ?4, language = ?5,
                                  countries = ?6, media = ?7, content_source = ?8
                 WHERE id = ?1",
                &[
                    &subject.id,
                    &kind,
                    &subject.text,
                    &author_json,
                    &subject.language,
                    &countries_json,
                    &media_json,
                    &FROM_INTAKE,
                ],
            )?;
            write_columns(tx, &subject.id, columns)?;
            new_author = Some(author.map(|a| a.id.clone()));
        }
        Some(_) if intake => {
            tx.exec(
                "UPDATE items SET countries = ?2 WHERE id = ?1",
                &[&subject.id, &countries_json],
            )?;
        }
        Some(_) => {}
        None => {
            tx.exec(
                "INSERT INTO items (id, kind, text, author, language, countries, media, priority,
                                    lane, deadline, state, created_at, content_source)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, NULL, ?9, ?10, ?11)",
                &[
                    &subject.id,
                    &kind,
                    &subject.text,
                    &author_json,
                    &subject.language,
                    &countries_json,
                    &media_json,
                    &lane.as_str(),
                    &ReviewState::Open.as_str(),
                    &ts(received_at),
                    &if intake { FROM_INTAKE } else { FROM_REPORTER },
                ],
            )?;
            write_columns(tx, &subject.id, columns)?;
        }
    }

    // The thread around the content is the intake's to describe, like the content.
    if let Some(thread) = subject.thread.as_ref().filter(|_| intake) {
        tx.exec(
            "UPDATE items SET thread = ?2 WHERE id = ?1",
            &[&subject.id, &to_json(thread)?],
        )?;
    }
    // Whether this token already reported the item, asked before its report is in.
    let ordinary = !intake;
    let filed_before = match filer {
        Some(token) if ordinary && merged => tx
            .one(
                FILED_BEFORE,
                &[&subject.id, &token.id, &Role::Admin.as_str()],
            )?
            .try_get(0)?,
        _ => false,
    };
    let report_id: i64 = tx
        .one(
            "INSERT INTO reports (item_id, reporter_type, category, comment, lane, deadline,
                                  received_at, filed_by, filer_role, reporter)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
            &[
                &subject.id,
                &name_of(report.reporter_type)?,
                &report.category,
                &report.comment,
                &lane.as_str(),
                &rules::deadline_time(report).map(ts),
                &ts(received_at),
                &filer.map(|t| t.id),
                &filer.map(|t| t.role.as_str()),
                &rules::reporter_of(report, intake)
                    .map(|r| to_json(&r))
                    .transpose()?,
            ],
        )?
        .try_get(0)?;
    count_report(tx, &subject.id, report)?;
    let filed = FiledReport::of(
        report,
        received_at,
        report_figures::counts(ordinary, filed_before),
    );
    let figures = figures_after(existing.as_ref().map(|e| &e.3), &filed)?;
    tx.exec(
        WRITE_REPORT_FIGURES,
        &[
            &subject.id,
            &figures.priority(),
            &figures.lane.as_str(),
            &figures.deadline.map(ts),
            &ts(figures.first_reported),
            &figures.counted,
            &figures.weight,
            &figures
                .leading
                .as_ref()
                .map(|(reporter, _)| name_of(*reporter))
                .transpose()?,
            &figures.leading.as_ref().map(|(_, category)| category),
        ],
    )?;
    let (priority, lane) = (figures.priority(), figures.lane);
    let before = existing.map(|(_, _, tallied, _)| tallied);
    let mut after = Tallied {
        lane: lane.as_str().to_owned(),
        ..before.clone().unwrap_or_else(|| Tallied {
            state: ReviewState::Open.as_str().to_owned(),
            lane: String::new(),
            tier: None,
            author: author.map(|a| a.id.clone()),
        })
    };
    if let Some(author) = new_author {
        after.author = author;
    }
    tally.moved(before, after);
    Ok(ReportAccepted {
        item_id: subject.id.clone(),
        report_id,
        merged,
        priority,
    })
}

/// Counts a report filed on `item_id` in the item's report tally (migration 8), which item
/// reads list in a few rows however many reports there are. The item's row is locked: two
/// reports on one item count one after the other.
fn count_report(tx: &mut Tx<'_>, item_id: &str, report: &NewReport) -> Result<(), StorageError> {
    let reporter = name_of(report.reporter_type)?;
    let shown_first = crate::media::policy::listing_rank(&report.category);
    tx.exec(
        "INSERT INTO report_tally (item_id, dimension, name, reports, shown_first)
         VALUES (?1, ?2, ?3, 1, 0), (?1, ?4, ?5, 1, ?6)
         ON CONFLICT (item_id, dimension, name)
         DO UPDATE SET reports = report_tally.reports + 1",
        &[
            &item_id,
            &TALLY_REPORTER_TYPE,
            &reporter,
            &TALLY_CATEGORY,
            &report.category,
            &shown_first,
        ],
    )?;
    Ok(())
}

// --- the tallies --------------------------------------------------------------------------

/// Where an item counts in the tallies: in `queue_tally` by its state, lane and escalation
/// target, in `author_tally` by its author and state.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Tallied {
    pub state: String,
    pub lane: String,
    pub tier: Option<String>,
    pub author: Option<String>,
}

/// A transaction's changes to the tallies, written once before it commits. Kept in key
/// order, so that concurrent transactions update shared tally rows in one order and never
/// wait on each other in a circle.
#[derive(Default)]
pub struct TallyChanges {
    queue: BTreeMap<(String, String, String), i64>,
    authors: BTreeMap<(String, String), i64>,
}

impl TallyChanges {
    /// An item moved from `before` (`None`: it is new) to `after`.
    pub fn moved(&mut self, before: Option<Tallied>, after: Tallied) {
        if before.as_ref() == Some(&after) {
            return;
        }
        if let Some(before) = before {
            self.count(before, -1);
        }
        self.count(after, 1);
    }

    fn count(&mut self, at: Tallied, change: i64) {
        if let Some(author) = at.author {
            *self.authors.entry((author, at.state.clone())).or_default() += change;
        }
        let tier = at.tier.unwrap_or_default();
        *self.queue.entry((at.state, at.lane, tier)).or_default() += change;
    }

    /// One statement for both tallies, whatever the number of rows changed (nothing when
    /// nothing changed). The author tally's insert is a data-modifying `WITH` nothing reads,
    /// which PostgreSQL runs after the main insert (its executor finishes such a `WITH`
    /// last; checked with triggers on PostgreSQL 15): the rows are taken in the order
    /// the two statements of before took them, queue tally first, each in key order. The
    /// documentation leaves that order open; were it to change, a deadlock between two
    /// writers is run again like any other (`db::transaction`).
    pub fn write(self, tx: &mut Tx<'_>) -> Result<(), StorageError> {
        let queue: Vec<_> = self.queue.into_iter().filter(|(_, c)| *c != 0).collect();
        let authors: Vec<_> = self.authors.into_iter().filter(|(_, c)| *c != 0).collect();
        if queue.is_empty() && authors.is_empty() {
            return Ok(());
        }
        let states: Vec<&str> = queue.iter().map(|((s, _, _), _)| s.as_str()).collect();
        let lanes: Vec<&str> = queue.iter().map(|((_, l, _), _)| l.as_str()).collect();
        let tiers: Vec<&str> = queue.iter().map(|((_, _, t), _)| t.as_str()).collect();
        let changes: Vec<i64> = queue.iter().map(|(_, c)| *c).collect();
        let ids: Vec<&str> = authors.iter().map(|((a, _), _)| a.as_str()).collect();
        let author_states: Vec<&str> = authors.iter().map(|((_, s), _)| s.as_str()).collect();
        let author_changes: Vec<i64> = authors.iter().map(|(_, c)| *c).collect();
        tx.exec(
            "WITH authors AS (
                 INSERT INTO author_tally (author_id, state, stripe, items)
                 SELECT a, s, (pg_backend_pid() % 8)::SMALLINT, c
                 FROM UNNEST(?5::TEXT[], ?6::TEXT[], ?7::BIGINT[]) AS u(a, s, c)
                 ON CONFLICT (author_id, state, stripe)
                 DO UPDATE SET items = author_tally.items + excluded.items
             )
             INSERT INTO queue_tally (state, lane, tier, stripe, items)
             SELECT s, l, t, (pg_backend_pid() % 64)::SMALLINT, c
             FROM UNNEST(?1::TEXT[], ?2::TEXT[], ?3::TEXT[], ?4::BIGINT[]) AS u(s, l, t, c)
             ON CONFLICT (state, lane, tier, stripe)
             DO UPDATE SET items = queue_tally.items + excluded.items",
            &[
                &states,
                &lanes,
                &tiers,
                &changes,
                &ids,
                &author_states,
                &author_changes,
            ],
        )?;
        Ok(())
    }
}
