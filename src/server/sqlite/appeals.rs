//! Appeals on SQLite: lodging one (the appeal row and its queue item in one transaction),
//! the facts deciding one needs, and writing its outcome.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};

use crate::model::{AppealLodged, DecisionAction, NewAppeal};
use crate::server::appeals;
use crate::server::decision_steps::{self as steps, TAKE_DOWN_COLUMNS, TakeDownRow};
use crate::server::storage::{AppealRecord, AppealRefusal, StorageError, TokenInfo};

use super::SqliteStorage;
use super::convert::{from_name, parse_ts, ts};
use super::decisions::Sql;
use super::items::search_columns;
use super::reports::add_report;
use super::tally::TallyChanges;

pub(super) fn lodge_appeal(
    storage: &SqliteStorage,
    filer: &TokenInfo,
    appeal: &NewAppeal,
    now: DateTime<Utc>,
) -> Result<Result<AppealLodged, AppealRefusal>, StorageError> {
    // A statement refused is refused before the writer is taken (and again by the step).
    if let Err(message) = appeals::check_statement(&appeal.statement) {
        return Ok(Err(AppealRefusal::Invalid(message)));
    }
    storage.write(|conn| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (decision, item) = match steps::appeal_to_lodge(&mut Sql(&tx), appeal, now)? {
            Ok(found) => found,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let report = appeals::appeal_report(&item, decision.audit_id, &appeal.statement, now);
        let columns = search_columns(report.subject.text.as_deref(), None)?;
        let mut tally = TallyChanges::default();
        let accepted = add_report(&tx, &mut tally, None, (&report, &columns), now)?;
        tally.write(&tx)?;
        tx.prepare_cached(
            "INSERT INTO appeals (decision_id, item_id, appeal_item_id, statement, lodged_by,
                                  lodged_by_token_id, lodged_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            decision.audit_id,
            decision.item_id,
            accepted.item_id,
            appeal.statement,
            filer.name,
            filer.id,
            ts(now),
        ])?;
        let appeal_id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(Ok(AppealLodged {
            appeal_id,
            item_id: accepted.item_id,
        }))
    })
}

pub(super) fn appeals_of(
    storage: &SqliteStorage,
    item_ids: &[String],
) -> Result<Vec<AppealRecord>, StorageError> {
    let sql = format!(
        "SELECT p.id, p.statement, p.lodged_by, p.lodged_at, a.actor, a.action,
                {TAKE_DOWN_COLUMNS}
         FROM appeals p JOIN audit a ON a.id = p.decision_id
         WHERE p.appeal_item_id = ?1"
    );
    storage.read(|conn| {
        let mut records = Vec::new();
        for id in item_ids {
            let row = conn
                .prepare_cached(&sql)?
                .query_row([id], |r| {
                    Ok((
                        (
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                        ),
                        (r.get::<_, String>(4)?, r.get::<_, String>(5)?),
                        take_down_row(r, 6)?,
                    ))
                })
                .optional()?;
            let Some((
                (appeal_id, statement, lodged_by, lodged_at),
                (decided_by, action),
                original,
            )) = row
            else {
                continue;
            };
            let _: DecisionAction = from_name("action", &action)?;
            records.push(AppealRecord {
                id: appeal_id,
                appeal_item_id: id.clone(),
                statement,
                lodged_by,
                lodged_at: parse_ts(&lodged_at)?,
                decided_by,
                original: original.read(&mut Sql(conn), "appeal")?,
            });
        }
        Ok(records)
    })
}

/// A [`TakeDownRow`] read from [`TAKE_DOWN_COLUMNS`], starting at column `from`.
pub(super) fn take_down_row(r: &Row<'_>, from: usize) -> rusqlite::Result<TakeDownRow> {
    Ok(TakeDownRow {
        audit_id: r.get(from)?,
        at: r.get(from + 1)?,
        reason_code: r.get(from + 2)?,
        scope: r.get(from + 3)?,
        item_id: r.get(from + 4)?,
        basis: r.get(from + 5)?,
        token_id: r.get(from + 6)?,
        key: r.get(from + 7)?,
    })
}

/// The open appeals against decisions `holder` made: never leased to them (Article 20: they
/// may not decide them, and holding one would keep the others from it).
pub(super) fn withheld_from(
    conn: &Connection,
    holder: &str,
) -> Result<std::collections::HashSet<String>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT p.appeal_item_id FROM appeals p JOIN audit a ON a.id = p.decision_id
         WHERE a.actor = ?1 AND p.outcome IS NULL",
    )?;
    let rows = stmt.query_map([holder], |r| r.get::<_, String>(0))?;
    let mut ids = std::collections::HashSet::new();
    for id in rows {
        ids.insert(id?);
    }
    Ok(ids)
}
