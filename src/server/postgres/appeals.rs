//! Appeals on PostgreSQL: lodging one (the appeal row and its queue item in one
//! transaction), the facts deciding one needs, and the outcome as statements read it. The
//! outcome's audit rows are written with the batch's (see `decisions::record_outcome`).

use chrono::{DateTime, Utc};

use crate::model::{AppealLodged, AppealOutcome, NewAppeal};
use crate::server::appeals;
use ::postgres::Row;

use crate::server::decision_steps::{self as steps, TAKE_DOWN_COLUMNS, TakeDownRow};
use crate::server::storage::{AppealRecord, AppealRefusal, StorageError, TokenInfo};

use super::convert::{parse_ts, ts};
use super::db::Tx;
use super::items::{TallyChanges, add_report, search_columns};

pub fn lodge_appeal(
    tx: &mut Tx<'_>,
    filer: &TokenInfo,
    appeal: &NewAppeal,
    now: DateTime<Utc>,
) -> Result<Result<AppealLodged, AppealRefusal>, StorageError> {
    let (decision, item) = match steps::appeal_to_lodge(tx, appeal, now)? {
        Ok(found) => found,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let report = appeals::appeal_report(&item, decision.audit_id, &appeal.statement, now);
    let columns = search_columns(report.subject.text.as_deref(), None)?;
    let mut tally = TallyChanges::default();
    let accepted = add_report(tx, &mut tally, None, (&report, &columns), now)?;
    tally.write(tx)?;
    let row = tx.one(
        "INSERT INTO appeals (decision_id, item_id, appeal_item_id, statement, lodged_by,
                              lodged_by_token_id, lodged_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING id",
        &[
            &decision.audit_id,
            &decision.item_id,
            &accepted.item_id,
            &appeal.statement,
            &filer.name,
            &filer.id,
            &ts(now),
        ],
    )?;
    Ok(Ok(AppealLodged {
        appeal_id: row.try_get(0)?,
        item_id: accepted.item_id,
    }))
}

/// The outcome of the appeal against audit row `decision_id`, if one was decided.
pub fn outcome_of(
    tx: &mut Tx<'_>,
    decision_id: i64,
) -> Result<Option<AppealOutcome>, StorageError> {
    let Some(r) = tx.opt(
        "SELECT outcome, decided_by, decided_at FROM appeals WHERE decision_id = ?1",
        &[&decision_id],
    )?
    else {
        return Ok(None);
    };
    let verdict: Option<String> = r.try_get(0)?;
    let at: Option<String> = r.try_get(2)?;
    steps::appeal_outcome(verdict.as_deref(), r.try_get(1)?, at.as_deref())
}

pub fn appeals_of(tx: &mut Tx<'_>, item_ids: &[String]) -> Result<Vec<AppealRecord>, StorageError> {
    let ids: Vec<&str> = item_ids.iter().map(String::as_str).collect();
    let rows = tx.all(
        &format!(
            "SELECT p.id, p.statement, p.lodged_by, p.lodged_at, a.actor, p.appeal_item_id,
                    {TAKE_DOWN_COLUMNS}
             FROM appeals p JOIN audit a ON a.id = p.decision_id
             WHERE p.appeal_item_id = ANY(?1)
             ORDER BY p.id"
        ),
        &[&ids],
    )?;
    let mut records = Vec::with_capacity(rows.len());
    for r in rows {
        let lodged_at: String = r.try_get(3)?;
        let original = take_down_row(&r, 6)?;
        records.push(AppealRecord {
            id: r.try_get(0)?,
            appeal_item_id: r.try_get(5)?,
            statement: r.try_get(1)?,
            lodged_by: r.try_get(2)?,
            lodged_at: parse_ts(&lodged_at)?,
            decided_by: r.try_get(4)?,
            original: original.read(tx, "appeal")?,
        });
    }
    Ok(records)
}

/// A [`TakeDownRow`] read from [`TAKE_DOWN_COLUMNS`], starting at column `from`.
pub fn take_down_row(r: &Row, from: usize) -> Result<TakeDownRow, StorageError> {
    Ok(TakeDownRow {
        audit_id: r.try_get(from)?,
        at: r.try_get(from + 1)?,
        reason_code: r.try_get(from + 2)?,
        scope: r.try_get(from + 3)?,
        item_id: r.try_get(from + 4)?,
        basis: r.try_get(from + 5)?,
        token_id: r.try_get(from + 6)?,
        key: r.try_get(from + 7)?,
    })
}

/// The open appeals against decisions `holder` made: never leased to them (Article 20: they
/// may not decide them, and holding one would keep the others from it).
pub fn withheld_from(
    tx: &mut Tx<'_>,
    holder: &str,
) -> Result<std::collections::HashSet<String>, StorageError> {
    tx.all(
        "SELECT p.appeal_item_id FROM appeals p JOIN audit a ON a.id = p.decision_id
         WHERE a.actor = ?1 AND p.outcome IS NULL",
        &[&holder],
    )?
    .iter()
    .map(|r| Ok(r.try_get::<_, String>(0)?))
    .collect()
}
