//! Appeals on PostgreSQL: lodging one (the appeal row and its queue item in one
//! transaction), the facts deciding one needs, and the outcome as statements read it. The
//! outcome's audit rows are written with the batch's (see `decisions::record_outcome`).

use chrono::{DateTime, Utc};

use crate::model::{AppealLodged, AppealOutcome, NewAppeal, Scope};
use crate::server::appeals;
use crate::server::decision_steps as steps;
use crate::server::storage::{
    AppealRecord, AppealRefusal, StorageError, TakeDownRecord, TokenInfo,
};

use super::convert::{corrupt, opt_json, parse_ts, ts};
use super::db::Tx;
use super::items::{TallyChanges, add_report, load_item, search_columns};

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

/// The items whose rows deciding `item_ids` also changes: the appealed items of those that
/// are appeals (locked with the batch's, in one order).
pub fn appealed_items(tx: &mut Tx<'_>, item_ids: &[&str]) -> Result<Vec<String>, StorageError> {
    let ids: Vec<&str> = item_ids.to_vec();
    tx.all(
        "SELECT item_id FROM appeals WHERE appeal_item_id = ANY(?1)",
        &[&ids],
    )?
    .iter()
    .map(|r| Ok(r.try_get::<_, String>(0)?))
    .collect()
}

fn outcome_of(tx: &mut Tx<'_>, decision_id: i64) -> Result<Option<AppealOutcome>, StorageError> {
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

/// [`outcome_of`] for statements.
pub fn statement_outcome(
    tx: &mut Tx<'_>,
    decision_id: i64,
) -> Result<Option<AppealOutcome>, StorageError> {
    outcome_of(tx, decision_id)
}

pub fn appeals_of(tx: &mut Tx<'_>, item_ids: &[String]) -> Result<Vec<AppealRecord>, StorageError> {
    let ids: Vec<&str> = item_ids.iter().map(String::as_str).collect();
    let rows = tx.all(
        "SELECT p.id, p.statement, p.lodged_by, p.lodged_at, a.id, a.at, a.reason_code,
                a.scope, a.item_id, a.basis, a.actor, p.appeal_item_id, a.actor_token_id,
                a.idempotency_key
         FROM appeals p JOIN audit a ON a.id = p.decision_id
         WHERE p.appeal_item_id = ANY(?1)
         ORDER BY p.id",
        &[&ids],
    )?;
    let mut records = Vec::with_capacity(rows.len());
    for r in rows {
        let audit_id: i64 = r.try_get(4)?;
        let item_id: String = r.try_get(8)?;
        let lodged_at: String = r.try_get(3)?;
        let at: String = r.try_get(5)?;
        let scope: Option<String> = r.try_get(7)?;
        let basis: Option<String> = r.try_get(9)?;
        let token_id: Option<i64> = r.try_get(12)?;
        let key: String = r.try_get(13)?;
        let item = load_item(tx, &item_id)?
            .ok_or_else(|| corrupt("appeal", format!("item {item_id:?} is missing")))?;
        records.push(AppealRecord {
            id: r.try_get(0)?,
            appeal_item_id: r.try_get(11)?,
            statement: r.try_get(1)?,
            lodged_by: r.try_get(2)?,
            lodged_at: parse_ts(&lodged_at)?,
            decided_by: r.try_get(10)?,
            original: TakeDownRecord {
                audit_id,
                applied_at: parse_ts(&at)?,
                reason_code: r.try_get(6)?,
                scope: opt_json::<Scope>("scope", scope.as_deref())?.unwrap_or_default(),
                basis: opt_json("decision basis", basis.as_deref())?,
                item,
                appeal: outcome_of(tx, audit_id)?,
                account: super::accounts::measure_of(tx, token_id, &key)?,
            },
        });
    }
    Ok(records)
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
