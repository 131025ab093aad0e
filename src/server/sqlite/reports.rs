//! Filing reports: merging each into the item for its subject, and keeping what the item
//! derives from its reports (`server::report_figures`).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior, params};

use crate::model::{NewReport, ReportAccepted, ReviewState, Role};

use super::SqliteStorage;
use super::convert::{from_json, name_of, to_json, ts};
use super::items::{SearchColumns, search_columns, write_columns};
use super::tally::{Tallied, TallyChanges};
use crate::server::report_figures::{self, FiledReport, ReportFigures};
use crate::server::rules;
use crate::server::storage::{StorageError, TokenInfo};
use crate::server::stored::{FILED_BEFORE, StoredFigures, WRITE_REPORT_FIGURES, figures_after};

/// Whether reports by `filer` describe content: an admin's intake and the operator's
/// import do; an ordinary token's report quotes what its holder saw.
pub(super) fn is_intake(filer: Option<&TokenInfo>) -> bool {
    filer.is_none_or(|t| t.role == Role::Admin)
}

/// Where a report's subject describes content the server keeps.
pub(super) const FROM_INTAKE: &str = "intake";
pub(super) const FROM_REPORTER: &str = "reporter";

pub(super) fn add_report(
    tx: &Transaction<'_>,
    tally: &mut TallyChanges,
    filer: Option<&TokenInfo>,
    (report, columns): (&NewReport, &SearchColumns),
    now: DateTime<Utc>,
) -> Result<ReportAccepted, StorageError> {
    let subject = &report.subject;
    let received_at = rules::received_time(report, now);
    let lane = rules::report_lane(report);
    let intake = is_intake(filer);

    let existing: Option<(String, String, Tallied, StoredFigures)> = tx
        .prepare_cached(
            "SELECT countries, content_source, state, lane, escalation_target, author_id,
                    priority, report_weight, report_count, deadline, created_at,
                    leading_reporter_type, leading_category
             FROM items WHERE id = ?1",
        )?
        .query_row([&subject.id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                Tallied {
                    state: r.get(2)?,
                    lane: r.get(3)?,
                    tier: r.get(4)?,
                    author: r.get(5)?,
                },
                StoredFigures {
                    lane: r.get(3)?,
                    priority: r.get(6)?,
                    report_weight: r.get(7)?,
                    report_count: r.get(8)?,
                    deadline: r.get(9)?,
                    created_at: r.get(10)?,
                    leading_reporter_type: r.get(11)?,
                    leading_category: r.get(12)?,
                },
            ))
        })
        .optional()?;
    let merged = existing.is_some();
    // Only an intake says where content is shown, who wrote it and what its media matched:
    // an ordinary token's report can neither forge an author's record nor a hash match.
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
    match &existing {
        Some((_, source, _, _)) if intake && source == FROM_REPORTER => {
            // The intake's description replaces the one a reporter gave first.
            tx.prepare_cached(
                "UPDATE items SET kind = ?2, text = ?3, author = ?4, language = ?5,
                                  countries = ?6, media = ?7, content_source = ?8
                 WHERE id = ?1",
            )?
            .execute(params![
                subject.id,
                name_of(subject.kind)?,
                subject.text,
                author.map(to_json).transpose()?,
                subject.language,
                to_json(&countries)?,
                to_json(&media)?,
                FROM_INTAKE,
            ])?;
            write_columns(tx, &subject.id, columns)?;
            new_author = Some(author.map(|a| a.id.clone()));
        }
        // Content fields come from the first description; later intake reports add
        // countries only, and ordinary ones nothing.
        Some(_) if intake => {
            tx.prepare_cached("UPDATE items SET countries = ?2 WHERE id = ?1")?
                .execute(params![subject.id, to_json(&countries)?])?;
        }
        Some(_) => {}
        None => {
            // Priority, lane, deadline and created_at are set from the reports just below.
            tx.prepare_cached(
                "INSERT INTO items (id, kind, text, author, language, countries, media, priority,
                                    lane, deadline, state, created_at, content_source)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, NULL, ?9, ?10, ?11)",
            )?
            .execute(params![
                subject.id,
                name_of(subject.kind)?,
                subject.text,
                author.map(to_json).transpose()?,
                subject.language,
                to_json(&countries)?,
                to_json(&media)?,
                lane.as_str(),
                ReviewState::Open.as_str(),
                ts(received_at),
                if intake { FROM_INTAKE } else { FROM_REPORTER },
            ])?;
            write_columns(tx, &subject.id, columns)?;
        }
    }

    // The thread around the content is the intake's to describe, like the content.
    if let Some(thread) = subject.thread.as_ref().filter(|_| intake) {
        tx.prepare_cached("UPDATE items SET thread = ?2 WHERE id = ?1")?
            .execute(params![subject.id, to_json(thread)?])?;
    }
    // Whether this token already reported the item, asked before its report is in.
    let ordinary = !intake;
    let filed_before = match filer {
        Some(token) if ordinary && merged => tx
            .prepare_cached(FILED_BEFORE)?
            .query_row(params![subject.id, token.id, Role::Admin.as_str()], |r| {
                r.get(0)
            })?,
        _ => false,
    };
    tx.prepare_cached(
        "INSERT INTO reports (item_id, reporter_type, category, comment, lane, deadline,
                              received_at, filed_by, filer_role, reporter)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        subject.id,
        name_of(report.reporter_type)?,
        report.category,
        report.comment,
        lane.as_str(),
        rules::deadline_time(report).map(ts),
        ts(received_at),
        filer.map(|t| t.id),
        filer.map(|t| t.role.as_str()),
        rules::reporter_of(report, intake)
            .map(|r| to_json(&r))
            .transpose()?,
    ])?;
    let report_id = tx.last_insert_rowid();
    count_report(tx, &subject.id, report)?;
    let filed = FiledReport::of(
        report,
        received_at,
        report_figures::counts(ordinary, filed_before),
    );
    let figures = figures_after(existing.as_ref().map(|e| &e.3), &filed)?;
    write_figures(tx, &subject.id, &figures)?;
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

/// Counts a report filed on `item_id` in the item's report tally (schema 13), which item
/// reads list in a few rows however many reports there are.
fn count_report(
    tx: &Transaction<'_>,
    item_id: &str,
    report: &NewReport,
) -> Result<(), StorageError> {
    let mut upsert = tx.prepare_cached(
        "INSERT INTO report_tally (item_id, dimension, name, reports, shown_first)
         VALUES (?1, ?2, ?3, 1, ?4)
         ON CONFLICT (item_id, dimension, name) DO UPDATE SET reports = reports + 1",
    )?;
    upsert.execute(params![
        item_id,
        crate::server::stored::TALLY_REPORTER_TYPE,
        name_of(report.reporter_type)?,
        0
    ])?;
    upsert.execute(params![
        item_id,
        crate::server::stored::TALLY_CATEGORY,
        report.category,
        crate::media::policy::listing_rank(&report.category)
    ])?;
    Ok(())
}

fn write_figures(
    tx: &Transaction<'_>,
    item_id: &str,
    figures: &ReportFigures,
) -> Result<(), StorageError> {
    tx.prepare_cached(WRITE_REPORT_FIGURES)?.execute(params![
        item_id,
        figures.priority(),
        figures.lane.as_str(),
        figures.deadline.map(ts),
        ts(figures.first_reported),
        figures.counted,
        figures.weight,
        figures
            .leading
            .as_ref()
            .map(|(reporter, _)| name_of(*reporter))
            .transpose()?,
        figures.leading.as_ref().map(|(_, category)| category),
    ])?;
    Ok(())
}

pub(super) fn file_reports(
    storage: &SqliteStorage,
    filer: Option<&TokenInfo>,
    reports: &[NewReport],
    now: DateTime<Utc>,
) -> Result<Vec<ReportAccepted>, StorageError> {
    for report in reports {
        rules::check_report(report).map_err(StorageError::Invalid)?;
    }
    // Derived before the write lock: other writers do not wait on text processing. Only
    // an intake's author counts (see `add_report`).
    let intake = is_intake(filer);
    let columns = reports
        .iter()
        .map(|r| {
            let author = r.subject.author.as_ref().filter(|_| intake);
            search_columns(r.subject.text.as_deref(), author)
        })
        .collect::<Result<Vec<_>, _>>()?;
    storage.write(|conn| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut tally = TallyChanges::default();
        let mut accepted = Vec::with_capacity(reports.len());
        for (report, columns) in reports.iter().zip(&columns) {
            accepted.push(add_report(&tx, &mut tally, filer, (report, columns), now)?);
        }
        tally.write(&tx)?;
        tx.commit()?;
        Ok(accepted)
    })
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::storage::Storage;

    /// A moderator's report on content the server did not know gives no author; the
    /// intake's description that follows replaces the content, and the author's tally counts
    /// the item from then on.
    #[test]
    fn the_intakes_description_replaces_a_reporters_and_moves_the_author_tally() {
        use crate::model::{Author, ItemKind, Media, NewReport, ReporterType, Subject};
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("modq.db")).unwrap();
        let now = Utc::now();
        let report = |text: &str, author: &str| NewReport {
            subject: Subject {
                id: "p1".into(),
                kind: ItemKind::Post,
                text: Some(text.into()),
                author: Some(Author {
                    id: author.into(),
                    handle: None,
                    created_at: None,
                }),
                language: None,
                countries: vec!["de".into()],
                media: vec![Media {
                    kind: "image".into(),
                    description: None,
                    hash_match: Some("list".into()),
                    ..Media::default()
                }],
                thread: None,
            },
            reporter_type: ReporterType::User,
            category: "spam".into(),
            comment: None,
            lane: None,
            deadline: None,
            received_at: None,
            reporter: None,
        };
        let alice = TokenInfo {
            id: 1,
            name: "alice".into(),
            role: Role::Moderator,
        };
        let ada = TokenInfo {
            id: 2,
            name: "ada".into(),
            role: Role::Admin,
        };
        storage
            .file_reports(Some(&alice), &[report("forged", "u-victim")], now)
            .unwrap();
        let item = storage.item("p1").unwrap().unwrap();
        assert_eq!(item.text.as_deref(), Some("forged"));
        assert!(item.author.is_none() && item.countries.is_empty());
        assert!(item.media.iter().all(|m| m.hash_match.is_none()));
        storage
            .file_reports(Some(&ada), &[report("real", "u-real")], now)
            .unwrap();
        let item = storage.item("p1").unwrap().unwrap();
        assert_eq!(item.text.as_deref(), Some("real"));
        assert_eq!(item.author.map(|a| a.id).as_deref(), Some("u-real"));
        assert_eq!(item.countries, ["DE"]);
        assert_eq!(item.media[0].hash_match.as_deref(), Some("list"));
        let conn = storage.writer.lock().unwrap();
        let tallied: Vec<(String, i64)> = conn
            .prepare("SELECT author_id, items FROM author_tally WHERE items != 0")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(tallied, [("u-real".to_string(), 1)]);
    }

    /// Whether a token reported an item before is found through the index by item and filer:
    /// an item reported 100,000 times takes its next report as fast as its first.
    #[test]
    fn a_filers_earlier_report_is_found_through_its_index() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("modq.db")).unwrap();
        let conn = storage.writer.lock().unwrap();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {FILED_BEFORE}"))
            .unwrap()
            .query_map(params!["p1", 2, "admin"], |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|l| l.contains("INDEX reports_filer (item_id=? AND filed_by=?)")),
            "{plan:?}"
        );
    }
}
