//! Appeals on SQLite: lodging one (the appeal row and its queue item in one transaction),
//! the facts deciding one needs, and writing its outcome.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::model::{AppealLodged, AppealOutcome, DecisionAction, NewAppeal, Scope};
use crate::server::appeals;
use crate::server::decision_steps as steps;
use crate::server::storage::{
    AppealRecord, AppealRefusal, StorageError, TakeDownRecord, TokenInfo,
};

use super::SqliteStorage;
use super::convert::{corrupt, from_name, opt_json, parse_ts, ts};
use super::decisions::Sql;
use super::items::{load_item, search_columns};
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

/// The outcome of the appeal against audit row `decision_id`, if one was decided.
pub(super) fn outcome_of(
    conn: &Connection,
    decision_id: i64,
) -> Result<Option<AppealOutcome>, StorageError> {
    let row = conn
        .prepare_cached(
            "SELECT outcome, decided_by, decided_at FROM appeals WHERE decision_id = ?1",
        )?
        .query_row([decision_id], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })
        .optional()?;
    match row {
        Some((verdict, by, at)) => steps::appeal_outcome(verdict.as_deref(), by, at.as_deref()),
        None => Ok(None),
    }
}

pub(super) fn appeals_of(
    storage: &SqliteStorage,
    item_ids: &[String],
) -> Result<Vec<AppealRecord>, StorageError> {
    storage.read(|conn| {
        let mut records = Vec::new();
        for id in item_ids {
            let row = conn
                .prepare_cached(
                    "SELECT p.id, p.statement, p.lodged_by, p.lodged_at, a.id, a.at,
                            a.reason_code, a.scope, a.item_id, a.basis, a.actor, a.action,
                            a.actor_token_id, a.idempotency_key
                     FROM appeals p JOIN audit a ON a.id = p.decision_id
                     WHERE p.appeal_item_id = ?1",
                )?
                .query_row([id], |r| {
                    Ok((
                        (
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                        ),
                        (r.get::<_, i64>(4)?, r.get::<_, String>(5)?),
                        (
                            r.get::<_, Option<String>>(6)?,
                            r.get::<_, Option<String>>(7)?,
                            r.get::<_, String>(8)?,
                            r.get::<_, Option<String>>(9)?,
                        ),
                        (r.get::<_, String>(10)?, r.get::<_, String>(11)?),
                        (r.get::<_, Option<i64>>(12)?, r.get::<_, String>(13)?),
                    ))
                })
                .optional()?;
            let Some((
                (appeal_id, statement, lodged_by, lodged_at),
                (audit_id, at),
                rest,
                who,
                (token_id, key),
            )) = row
            else {
                continue;
            };
            let (reason_code, scope, item_id, basis) = rest;
            let (decided_by, action) = who;
            let _: DecisionAction = from_name("action", &action)?;
            let item = load_item(conn, &item_id)?
                .ok_or_else(|| corrupt("appeal", format!("item {item_id:?} is missing")))?;
            records.push(AppealRecord {
                id: appeal_id,
                appeal_item_id: id.clone(),
                statement,
                lodged_by,
                lodged_at: parse_ts(&lodged_at)?,
                decided_by,
                original: TakeDownRecord {
                    audit_id,
                    applied_at: parse_ts(&at)?,
                    reason_code,
                    scope: opt_json::<Scope>("scope", scope.as_deref())?.unwrap_or_default(),
                    basis: opt_json("decision basis", basis.as_deref())?,
                    item,
                    appeal: outcome_of(conn, audit_id)?,
                    account: super::accounts::measure_of(conn, token_id, &key)?,
                },
            });
        }
        Ok(records)
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
