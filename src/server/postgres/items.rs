//! Items and reports on PostgreSQL: reading an item whole, filing reports into items, and
//! the tallies every move of an item updates.

use std::collections::{BTreeMap, HashMap};

use anyhow::anyhow;
use chrono::{DateTime, Utc};

use crate::model::{
    Author, AuthorRecord, DecisionAction, HistoryEntry, HistoryEvent, Item, Lane, NewReport,
    Report, ReportAccepted, ReporterType, ReviewState, Role,
};
use crate::query;
use crate::server::rules;
use crate::server::storage::{StorageError, TokenInfo};

use super::convert::{
    from_json, from_name, name_of, opt_json, opt_tier, parse_lane, parse_opt_ts, parse_state,
    parse_ts, to_json, ts,
};
use super::db::Tx;
use super::queue::{ITEM_COLUMNS, item_row};

pub fn load_item(tx: &mut Tx<'_>, id: &str) -> Result<Option<Item>, StorageError> {
    let sql = format!("SELECT {ITEM_COLUMNS} FROM items WHERE id = ?1");
    let Some(row) = tx.opt(&sql, &[&id])? else {
        return Ok(None);
    };
    let mut item = item_row(&row)?.into_item()?;
    fill_item(tx, &mut item)?;
    Ok(Some(item))
}

/// Adds an item's reports and its history (reports, audit rows and notes, oldest first).
pub fn fill_item(tx: &mut Tx<'_>, item: &mut Item) -> Result<(), StorageError> {
    fill_items(tx, std::slice::from_mut(item))
}

/// [`fill_item`] for a page of items: four statements for the page, not four per item.
pub fn fill_items(tx: &mut Tx<'_>, items: &mut [Item]) -> Result<(), StorageError> {
    if items.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
    let mut reports = load_reports_of(tx, &ids)?;
    let mut decisions = load_decision_history(tx, &ids)?;
    let mut notes = load_notes(tx, &ids)?;
    let authors: Vec<&str> = items
        .iter()
        .filter_map(|i| i.author.as_ref().map(|a| a.id.as_str()))
        .collect();
    let tallies = author_tallies(tx, &authors)?;
    let mut threads: HashMap<String, String> = HashMap::new();
    for r in tx.all(
        "SELECT id, thread FROM items WHERE id = ANY(?1) AND thread IS NOT NULL",
        &[&ids],
    )? {
        threads.insert(r.try_get(0)?, r.try_get(1)?);
    }
    for item in items.iter_mut() {
        item.thread = opt_json("thread", threads.remove(&item.id).as_deref())?;
        item.reports = reports.remove(&item.id).unwrap_or_default();
        let mut history: Vec<HistoryEntry> = item
            .reports
            .iter()
            .map(|r| HistoryEntry {
                at: r.received_at,
                actor: r.reporter_type.label().to_string(),
                event: HistoryEvent::Reported,
                reason_code: Some(r.category.clone()),
                scope: None,
                note: r.comment.clone(),
                escalation_target: None,
                tier: None,
                visible_to: None,
            })
            .collect();
        history.extend(decisions.remove(&item.id).unwrap_or_default());
        history.extend(notes.remove(&item.id).unwrap_or_default());
        // Stable: at equal times a report stays before the decision that followed it.
        history.sort_by_key(|h| h.at);
        item.history = history;
        item.author_record = match &item.author {
            Some(author) => Some(author_record(&tallies, &author.id, item.state)?),
            None => None,
        };
    }
    super::accounts::fill_standings(tx, items)?;
    Ok(())
}

/// Each item's notes, oldest first.
fn load_notes(
    tx: &mut Tx<'_>,
    ids: &[&str],
) -> Result<HashMap<String, Vec<HistoryEntry>>, StorageError> {
    let rows = tx.all(
        "SELECT item_id, at, actor, note, tier FROM notes WHERE item_id = ANY(?1)
         ORDER BY item_id, id",
        &[&ids],
    )?;
    let mut notes: HashMap<String, Vec<HistoryEntry>> = HashMap::new();
    for r in rows {
        let at: String = r.try_get(1)?;
        let tier: Option<String> = r.try_get(4)?;
        let tier = opt_tier(tier.as_deref())?;
        notes.entry(r.try_get(0)?).or_default().push(HistoryEntry {
            at: parse_ts(&at)?,
            actor: r.try_get(2)?,
            event: HistoryEvent::Note,
            reason_code: None,
            scope: None,
            note: Some(r.try_get(3)?),
            escalation_target: None,
            tier,
            visible_to: rules::note_visible_to(tier, None),
        });
    }
    Ok(notes)
}

/// The author tally's rows (state, items) of each of `authors`.
fn author_tallies(
    tx: &mut Tx<'_>,
    authors: &[&str],
) -> Result<HashMap<String, Vec<(String, i64)>>, StorageError> {
    let mut tallies: HashMap<String, Vec<(String, i64)>> = HashMap::new();
    if authors.is_empty() {
        return Ok(tallies);
    }
    for r in tx.all(
        "SELECT author_id, state, SUM(items)::BIGINT FROM author_tally
         WHERE author_id = ANY(?1) GROUP BY author_id, state",
        &[&authors],
    )? {
        tallies
            .entry(r.try_get(0)?)
            .or_default()
            .push((r.try_get(1)?, r.try_get(2)?));
    }
    Ok(tallies)
}

/// The author's other items by state, from the author tally.
fn author_record(
    tallies: &HashMap<String, Vec<(String, i64)>>,
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
    for (state, count) in tallies
        .get(author_id)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
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

pub fn load_reports(tx: &mut Tx<'_>, item_id: &str) -> Result<Vec<Report>, StorageError> {
    Ok(load_reports_of(tx, &[item_id])?
        .remove(item_id)
        .unwrap_or_default())
}

/// Each item's reports, oldest first.
fn load_reports_of(
    tx: &mut Tx<'_>,
    ids: &[&str],
) -> Result<HashMap<String, Vec<Report>>, StorageError> {
    let rows = tx.all(
        "SELECT item_id, id, reporter_type, category, comment, lane, deadline, received_at
         FROM reports WHERE item_id = ANY(?1) ORDER BY item_id, id",
        &[&ids],
    )?;
    let mut reports: HashMap<String, Vec<Report>> = HashMap::new();
    for r in rows {
        let reporter: String = r.try_get(2)?;
        let lane: String = r.try_get(5)?;
        let deadline: Option<String> = r.try_get(6)?;
        let received: String = r.try_get(7)?;
        reports.entry(r.try_get(0)?).or_default().push(Report {
            id: r.try_get(1)?,
            reporter_type: from_name::<ReporterType>("reporter type", &reporter)?,
            category: r.try_get(3)?,
            comment: r.try_get(4)?,
            lane: parse_lane(&lane)?,
            deadline: parse_opt_ts(deadline.as_deref())?,
            received_at: parse_ts(&received)?,
        });
    }
    Ok(reports)
}

/// Each item's decisions, oldest first, as history.
fn load_decision_history(
    tx: &mut Tx<'_>,
    ids: &[&str],
) -> Result<HashMap<String, Vec<HistoryEntry>>, StorageError> {
    let rows = tx.all(
        "SELECT item_id, at, actor, action, reason_code, scope, note, escalation_target,
                from_tier, to_tier
         FROM audit WHERE item_id = ANY(?1) ORDER BY item_id, id",
        &[&ids],
    )?;
    let mut entries: HashMap<String, Vec<HistoryEntry>> = HashMap::new();
    for r in rows {
        let at: String = r.try_get(1)?;
        let action: String = r.try_get(3)?;
        let scope: Option<String> = r.try_get(5)?;
        let note: Option<String> = r.try_get(6)?;
        let target: Option<String> = r.try_get(7)?;
        let from_tier: Option<String> = r.try_get(8)?;
        let to_tier: Option<String> = r.try_get(9)?;
        let to_tier = opt_tier(to_tier.as_deref())?;
        let visible_to = match &note {
            Some(_) => rules::note_visible_to(opt_tier(from_tier.as_deref())?, to_tier),
            None => None,
        };
        let event = match from_name::<DecisionAction>("action", &action)? {
            DecisionAction::TakeDown => HistoryEvent::TakeDown,
            DecisionAction::Keep => HistoryEvent::Keep,
            DecisionAction::Escalate => HistoryEvent::Escalate,
            DecisionAction::Reverse => HistoryEvent::Reversal,
            DecisionAction::Uphold => HistoryEvent::Upheld,
            DecisionAction::Overturn => HistoryEvent::Overturned,
            DecisionAction::SendSupport => HistoryEvent::SupportSent,
        };
        entries
            .entry(r.try_get(0)?)
            .or_default()
            .push(HistoryEntry {
                at: parse_ts(&at)?,
                actor: r.try_get(2)?,
                event,
                reason_code: r.try_get(4)?,
                scope: opt_json("scope", scope.as_deref())?,
                note,
                escalation_target: opt_tier(target.as_deref())?,
                tier: to_tier,
                visible_to,
            });
    }
    Ok(entries)
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

    let existing: Option<(String, String, Tallied)> = match tx.opt(
        "SELECT countries, content_source, state, lane, escalation_target, author_id
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
        Some((stored, _, _)) => from_json("countries", stored)?,
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
        Some((_, source, _)) if intake && source == FROM_REPORTER => {
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
    let (priority, lane) = refresh_aggregates(tx, &subject.id)?;
    let before = existing.map(|(_, _, tallied)| tallied);
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

/// Recomputes what an item derives from all its reports: priority, most urgent lane,
/// earliest deadline, and first-reported time. Returns the priority and the lane.
fn refresh_aggregates(tx: &mut Tx<'_>, item_id: &str) -> Result<(i64, Lane), StorageError> {
    let rows = tx.all(
        "SELECT lane, reporter_type, deadline, received_at, filed_by, filer_role
         FROM reports WHERE item_id = ?1 ORDER BY id",
        &[&item_id],
    )?;
    let mut weighed = Vec::new();
    let mut most_urgent: Option<Lane> = None;
    let mut ordinary_filers = std::collections::HashSet::new();
    let mut deadline: Option<DateTime<Utc>> = None;
    let mut created_at: Option<DateTime<Utc>> = None;
    for r in rows {
        let lane: String = r.try_get(0)?;
        let reporter: String = r.try_get(1)?;
        let report_deadline: Option<String> = r.try_get(2)?;
        let received: String = r.try_get(3)?;
        let filed_by: Option<i64> = r.try_get(4)?;
        let filer_role: Option<String> = r.try_get(5)?;
        let lane = parse_lane(&lane)?;
        most_urgent = Some(most_urgent.map_or(lane, |l| l.min(lane)));
        // An intake relays many people's reports; an ordinary token is one person, who
        // counts once however often they report.
        let ordinary = filer_role.is_some_and(|r| r != Role::Admin.as_str());
        let counted = match filed_by {
            Some(id) if ordinary => ordinary_filers.insert(id),
            _ => true,
        };
        if counted {
            weighed.push((lane, from_name::<ReporterType>("reporter type", &reporter)?));
        }
        if let Some(d) = parse_opt_ts(report_deadline.as_deref())? {
            deadline = Some(deadline.map_or(d, |e| e.min(d)));
        }
        let received = parse_ts(&received)?;
        created_at = Some(created_at.map_or(received, |c| c.min(received)));
    }
    let lane = most_urgent
        .ok_or_else(|| StorageError::Backend(anyhow!("item {item_id:?} has no reports")))?;
    let report_count = i64::try_from(weighed.len()).unwrap_or(i64::MAX);
    let priority = rules::priority(weighed);
    tx.exec(
        "UPDATE items SET priority = ?2, lane = ?3, deadline = ?4,
                          created_at = COALESCE(?5, created_at), report_count = ?6
         WHERE id = ?1",
        &[
            &item_id,
            &priority,
            &lane.as_str(),
            &deadline.map(ts),
            &created_at.map(ts),
            &report_count,
        ],
    )?;
    Ok((priority, lane))
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

    /// One statement per tally, whatever the number of rows changed.
    pub fn write(self, tx: &mut Tx<'_>) -> Result<(), StorageError> {
        let queue: Vec<_> = self.queue.into_iter().filter(|(_, c)| *c != 0).collect();
        if !queue.is_empty() {
            let states: Vec<&str> = queue.iter().map(|((s, _, _), _)| s.as_str()).collect();
            let lanes: Vec<&str> = queue.iter().map(|((_, l, _), _)| l.as_str()).collect();
            let tiers: Vec<&str> = queue.iter().map(|((_, _, t), _)| t.as_str()).collect();
            let changes: Vec<i64> = queue.iter().map(|(_, c)| *c).collect();
            tx.exec(
                "INSERT INTO queue_tally (state, lane, tier, stripe, items)
                 SELECT s, l, t, (pg_backend_pid() % 64)::SMALLINT, c
                 FROM UNNEST(?1::TEXT[], ?2::TEXT[], ?3::TEXT[], ?4::BIGINT[]) AS u(s, l, t, c)
                 ON CONFLICT (state, lane, tier, stripe)
                 DO UPDATE SET items = queue_tally.items + excluded.items",
                &[&states, &lanes, &tiers, &changes],
            )?;
        }
        let authors: Vec<_> = self.authors.into_iter().filter(|(_, c)| *c != 0).collect();
        if !authors.is_empty() {
            let ids: Vec<&str> = authors.iter().map(|((a, _), _)| a.as_str()).collect();
            let states: Vec<&str> = authors.iter().map(|((_, s), _)| s.as_str()).collect();
            let changes: Vec<i64> = authors.iter().map(|(_, c)| *c).collect();
            tx.exec(
                "INSERT INTO author_tally (author_id, state, stripe, items)
                 SELECT a, s, (pg_backend_pid() % 8)::SMALLINT, c
                 FROM UNNEST(?1::TEXT[], ?2::TEXT[], ?3::BIGINT[]) AS u(a, s, c)
                 ON CONFLICT (author_id, state, stripe)
                 DO UPDATE SET items = author_tally.items + excluded.items",
                &[&ids, &states, &changes],
            )?;
        }
        Ok(())
    }
}
