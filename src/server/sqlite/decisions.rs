//! Applying decisions: idempotency keys, the facts [`rules::judge`] weighs, and the audit
//! row each applied decision appends.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};

use crate::account::AccountMeasure;
use crate::model::{
    AppealOutcome, AppealVerdict, Decision, DecisionAction, DecisionOutcome, DecisionResult,
    HistoryEntry, Item,
};
use crate::policy::PolicyCatalog;

use super::SqliteStorage;
use super::convert::{corrupt, name_of, to_json};
use super::items::{ITEM_COLUMNS, item_row, item_totals, load_item};
use super::tally::{Tallied, TallyChanges};
use crate::server::appeals::{self, AppealFacts};
use crate::server::decision_steps::{
    self as steps, APPLIED_COLUMNS, Applied, AppliedRow, AuditRow, Before, Judged, Judgement,
    MeasureRow, StepStore, SupportRow, result, stored_status,
};
use crate::server::rules::{self, AppliedDecision, ItemStatus};
use crate::server::storage::{DecisionBasis, StorageError, TokenInfo};

pub(super) fn applied_row(r: &Row<'_>) -> rusqlite::Result<AppliedRow> {
    Ok(AppliedRow {
        id: r.get(0)?,
        key: r.get(1)?,
        item_id: r.get(2)?,
        action: r.get(3)?,
        actor: r.get(4)?,
        actor_token_id: r.get(5)?,
        at: r.get(6)?,
        body_hash: r.get(7)?,
        from_state: r.get(8)?,
        from_scope: r.get(9)?,
        from_target: r.get(10)?,
        from_tier: r.get(11)?,
    })
}

/// The decision `token` sent with idempotency key `key`: keys are the sender's own.
pub(super) fn applied_by_key(
    tx: &Transaction<'_>,
    token: i64,
    key: &str,
) -> Result<Option<AppliedDecision>, StorageError> {
    let sql = format!(
        "SELECT {APPLIED_COLUMNS} FROM audit WHERE actor_token_id = ?1 AND idempotency_key = ?2"
    );
    tx.prepare_cached(&sql)?
        .query_row(params![token, key], applied_row)
        .optional()?
        .map(AppliedRow::into_applied)
        .transpose()
}

/// The latest decision on `item_id` with idempotency key `key`, whoever sent it: what a
/// reversal names (a reversal undoes only an item's latest decision). Read through
/// `audit_item`: an item has a handful of decisions, not worth an index of their keys.
pub(super) fn applied_on_item(
    tx: &Transaction<'_>,
    item_id: &str,
    key: &str,
) -> Result<Option<AppliedDecision>, StorageError> {
    let sql = format!(
        "SELECT {APPLIED_COLUMNS} FROM audit WHERE item_id = ?1 AND idempotency_key = ?2
         ORDER BY id DESC LIMIT 1"
    );
    tx.prepare_cached(&sql)?
        .query_row([item_id, key], applied_row)
        .optional()?
        .map(AppliedRow::into_applied)
        .transpose()
}

pub(super) fn latest_applied(
    tx: &Connection,
    item_id: &str,
) -> Result<Option<AppliedDecision>, StorageError> {
    // A support message decides nothing: the latest decision is the one before it.
    let sql = format!(
        "SELECT {APPLIED_COLUMNS} FROM audit WHERE item_id = ?1 AND action <> 'send_support'
         ORDER BY id DESC LIMIT 1"
    );
    tx.prepare_cached(&sql)?
        .query_row([item_id], applied_row)
        .optional()?
        .map(AppliedRow::into_applied)
        .transpose()
}

/// An item's status, and where it is counted in the tallies.
pub(super) fn item_status(
    tx: &Connection,
    item_id: &str,
) -> Result<Option<(ItemStatus, Tallied)>, StorageError> {
    let row = tx
        .prepare_cached(
            "SELECT state, restricted_in, escalation_target, lane, author_id, hold_tier
             FROM items WHERE id = ?1",
        )?
        .query_row([item_id], |r| {
            Ok((
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(5)?,
                Tallied {
                    state: r.get(0)?,
                    lane: r.get(3)?,
                    tier: r.get(2)?,
                    author: r.get(4)?,
                },
            ))
        })
        .optional()?;
    let Some((scope, hold, tallied)) = row else {
        return Ok(None);
    };
    let status = stored_status(
        &tallied.state,
        scope.as_deref(),
        tallied.tier.as_deref(),
        hold.as_deref(),
    )?;
    Ok(Some((status, tallied)))
}

/// What a take down's statement of reasons will state, as the item is now.
pub(super) fn decision_basis(
    tx: &Transaction<'_>,
    item_id: &str,
    method: crate::model::DecisionMethod,
) -> Result<Option<DecisionBasis>, StorageError> {
    let sql = format!("SELECT {ITEM_COLUMNS} FROM items WHERE id = ?1");
    let Some(row) = tx
        .prepare_cached(&sql)?
        .query_row([item_id], item_row)
        .optional()?
    else {
        return Ok(None);
    };
    let mut item = row.into_item()?;
    // The tally counts every report in a few rows; the basis freezes that, never the list.
    item.totals = Some(item_totals(tx, item_id)?);
    Ok(Some(DecisionBasis::of(&item, method)))
}

pub(super) fn apply_one(
    tx: &Transaction<'_>,
    tally: &mut TallyChanges,
    actor: &TokenInfo,
    d: &Decision,
    policies: &PolicyCatalog,
    now: DateTime<Utc>,
) -> Result<DecisionResult, StorageError> {
    if let Err(message) = rules::check_decision_shape(d) {
        return Ok(result(d, DecisionOutcome::Invalid, Some(message)));
    }
    let body_hash = rules::body_hash(d);
    if let Some(earlier) = applied_by_key(tx, actor.id, &d.idempotency_key)? {
        return Ok(steps::already_applied(d, &earlier, &body_hash));
    }
    let Some((current, counted)) = item_status(tx, &d.item_id)? else {
        let message = format!("no item has id {:?}", d.item_id);
        return Ok(result(d, DecisionOutcome::NotFound, Some(message)));
    };
    let latest = latest_applied(tx, &d.item_id)?;
    let reversed = match &d.reverses {
        Some(key) => applied_on_item(tx, &d.item_id, key)?,
        None => None,
    };
    let before = Before {
        current: &current,
        author: counted.author.as_deref(),
        latest: latest.as_ref(),
        reversed: reversed.as_ref(),
    };
    let judged = match steps::judge(&mut Sql(tx), actor, d, policies, &before, |_| None)? {
        Ok(judged) => judged,
        Err(refused) => return Ok(refused),
    };
    let Judgement {
        after,
        reason_code,
        appeal,
        reporters,
    } = judged;

    tx.prepare_cached(
        "UPDATE items SET state = ?2, restricted_in = ?3, escalation_target = ?4,
                          hold_tier = ?5
         WHERE id = ?1",
    )?
    .execute(params![
        d.item_id,
        after.state.as_str(),
        after.restricted_in.as_ref().map(to_json).transpose()?,
        after.escalation_target.map(name_of).transpose()?,
        after.tier.map(name_of).transpose()?,
    ])?;
    let now_counted = Tallied {
        state: after.state.as_str().to_owned(),
        tier: after.escalation_target.map(name_of).transpose()?,
        ..counted.clone()
    };
    let author = counted.author.clone();
    tally.moved(Some(counted), now_counted);
    // A take down's statement is written from the item as the moderator decided it.
    let basis = match d.action {
        DecisionAction::TakeDown => decision_basis(tx, &d.item_id, d.method)?
            .as_ref()
            .map(to_json)
            .transpose()?,
        _ => None,
    };
    let row = AuditRow::decision(
        d,
        Applied {
            actor,
            current: &current,
            after: &after,
            reason_code: reason_code.clone(),
            reversed_id: reversed.as_ref().map(|r| r.audit_id),
            body_hash,
            basis,
            now,
        },
    )?;
    insert_audit(tx, &row)?;
    if let Some(appeal) = &appeal {
        record_outcome(tx, tally, actor, d, appeal, now)?;
    }
    steps::finish(
        &mut Sql(tx),
        &Judged {
            actor,
            decision: d,
            author: author.as_deref(),
            reason_code: reason_code.as_deref(),
            reversed: reversed.as_ref(),
            support: &policies.support,
            reporters: &reporters,
            now,
        },
    )
}

/// Appends one audit row.
fn insert_audit(conn: &Connection, row: &AuditRow) -> Result<(), StorageError> {
    conn.prepare_cached(
        "INSERT INTO audit (at, actor, actor_token_id, role, action, item_id, reason_code,
                            scope, note, escalation_target, reverses, reverses_id,
                            idempotency_key, body_hash, method, decided_at, from_state,
                            from_restricted_in, from_escalation_target, from_tier, to_state,
                            to_tier, basis)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18, ?19, ?20, ?21, ?22, ?23)",
    )?
    .execute(params![
        row.at,
        row.actor,
        row.actor_token_id,
        row.role,
        row.action,
        row.item_id,
        row.reason_code,
        row.scope,
        row.note,
        row.target,
        row.reverses,
        row.reverses_id,
        row.key,
        row.body_hash,
        row.method,
        row.decided_at,
        row.from_state,
        row.from_scope,
        row.from_target,
        row.from_tier,
        row.to_state,
        row.to_tier,
        row.basis,
    ])?;
    Ok(())
}

// --- appeals ---------------------------------------------------------------------------

pub(super) fn applied_by_id(
    conn: &Connection,
    id: i64,
) -> Result<Option<AppliedDecision>, StorageError> {
    let sql = format!("SELECT {APPLIED_COLUMNS} FROM audit WHERE id = ?1");
    conn.prepare_cached(&sql)?
        .query_row([id], applied_row)
        .optional()?
        .map(AppliedRow::into_applied)
        .transpose()
}

pub(super) fn is_reversed(conn: &Connection, audit_id: i64) -> Result<bool, StorageError> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM audit WHERE reverses_id = ?1)")?
        .query_row([audit_id], |r| r.get(0))?)
}

/// Writes an appeal's outcome: the appeal row, and for an overturn the reversal of the
/// take down on its item (the content restored), made by the same moderator.
fn record_outcome(
    tx: &Transaction<'_>,
    tally: &mut TallyChanges,
    actor: &TokenInfo,
    d: &Decision,
    appeal: &AppealFacts,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    if !steps::decide_appeal(&mut Sql(tx), actor, d, appeal, now)? {
        return Ok(());
    }
    let original = &appeal.original;
    let Some((current, counted)) = item_status(tx, &original.item_id)? else {
        return Err(corrupt(
            "appeal",
            format!("item {:?} is missing", original.item_id),
        ));
    };
    let after = appeals::restored();
    tx.prepare_cached(
        "UPDATE items SET state = ?2, restricted_in = NULL, escalation_target = NULL,
                          hold_tier = NULL
         WHERE id = ?1",
    )?
    .execute(params![original.item_id, after.state.as_str()])?;
    tally.moved(
        Some(counted.clone()),
        Tallied {
            state: after.state.as_str().to_owned(),
            tier: None,
            ..counted
        },
    );
    insert_audit(
        tx,
        &AuditRow::overturn(actor, appeal, &current, &after, now)?,
    )?;
    Sql(tx).end_leases(&original.item_id)
}

pub(super) fn apply_decisions(
    storage: &SqliteStorage,
    actor: &TokenInfo,
    decisions: &[Decision],
    policies: &PolicyCatalog,
    now: DateTime<Utc>,
) -> Result<Vec<DecisionResult>, StorageError> {
    storage.write(|conn| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut tally = TallyChanges::default();
        let mut results = Vec::with_capacity(decisions.len());
        for d in decisions {
            results.push(apply_one(&tx, &mut tally, actor, d, policies, now)?);
        }
        tally.write(&tx)?;
        tx.commit()?;
        Ok(results)
    })
}

pub(super) fn add_note(
    storage: &SqliteStorage,
    actor: &TokenInfo,
    item_id: &str,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Option<HistoryEntry>, StorageError> {
    storage.write(|conn| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let entry = steps::add_note(&mut Sql(&tx), actor, item_id, note, now)?;
        tx.commit()?;
        Ok(entry)
    })
}

// --- the shared steps' reads and writes (see `decision_steps`) ------------------------

/// The shared steps over one connection (inside the caller's transaction).
pub(super) struct Sql<'a>(pub(super) &'a Connection);

impl StepStore for Sql<'_> {
    fn applied_by_id(&mut self, audit_id: i64) -> Result<Option<AppliedDecision>, StorageError> {
        applied_by_id(self.0, audit_id)
    }

    fn is_reversed(&mut self, audit_id: i64) -> Result<bool, StorageError> {
        is_reversed(self.0, audit_id)
    }

    fn decision_scope(&mut self, audit_id: i64) -> Result<Option<String>, StorageError> {
        Ok(self
            .0
            .prepare_cached("SELECT scope FROM audit WHERE id = ?1")?
            .query_row([audit_id], |r| r.get(0))?)
    }

    /// A support message decides nothing: the latest decision is the one before it.
    fn latest_audit_id(&mut self, item_id: &str) -> Result<Option<i64>, StorageError> {
        Ok(latest_applied(self.0, item_id)?.map(|l| l.audit_id))
    }

    fn status_of(&mut self, item_id: &str) -> Result<Option<ItemStatus>, StorageError> {
        Ok(item_status(self.0, item_id)?.map(|(status, _)| status))
    }

    fn item_exists(&mut self, item_id: &str) -> Result<bool, StorageError> {
        Ok(self
            .0
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM items WHERE id = ?1)")?
            .query_row([item_id], |r| r.get(0))?)
    }

    fn item(&mut self, item_id: &str) -> Result<Option<Item>, StorageError> {
        load_item(self.0, item_id)
    }

    fn leading_category(&mut self, item_id: &str) -> Result<Option<String>, StorageError> {
        Ok(self
            .0
            .prepare_cached("SELECT leading_category FROM items WHERE id = ?1")?
            .query_row([item_id], |r| r.get(0))
            .optional()?
            .flatten())
    }

    fn reporter_texts(&mut self, item_id: &str) -> Result<Vec<String>, StorageError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT reporter FROM reports WHERE item_id = ?1 AND reporter IS NOT NULL ORDER BY id",
        )?;
        let rows = stmt.query_map([item_id], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn messaged(&mut self, item_id: &str) -> Result<Vec<String>, StorageError> {
        let mut stmt = self.0.prepare_cached(
            "SELECT DISTINCT recipient FROM user_messages
             WHERE item_id = ?1 AND kind = 'support_resources'",
        )?;
        let rows = stmt.query_map([item_id], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn appeal_on(&mut self, appeal_item_id: &str) -> Result<Option<(i64, i64)>, StorageError> {
        Ok(self
            .0
            .prepare_cached("SELECT id, decision_id FROM appeals WHERE appeal_item_id = ?1")?
            .query_row([appeal_item_id], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
            })
            .optional()?)
    }

    fn appeal_against(
        &mut self,
        audit_id: i64,
    ) -> Result<Option<(i64, Option<String>)>, StorageError> {
        Ok(self
            .0
            .prepare_cached("SELECT id, outcome FROM appeals WHERE decision_id = ?1")?
            .query_row([audit_id], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
            })
            .optional()?)
    }

    fn insert_measure(&mut self, m: &MeasureRow<'_>) -> Result<(), StorageError> {
        self.0
            .prepare_cached(
                "INSERT INTO account_measures (account_id, item_id, token_id, idempotency_key,
                                               action, days, reason_code, at, until)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                m.account_id,
                m.item_id,
                m.token_id,
                m.key,
                m.action,
                m.days,
                m.reason_code,
                m.at,
                m.until,
            ])?;
        Ok(())
    }

    fn lift_measure(&mut self, token_id: i64, key: &str, at: &str) -> Result<(), StorageError> {
        self.0
            .prepare_cached(
                "UPDATE account_measures SET lifted_at = ?3
                 WHERE token_id = ?1 AND idempotency_key = ?2 AND lifted_at IS NULL",
            )?
            .execute(params![token_id, key, at])?;
        Ok(())
    }

    fn queue_support(&mut self, m: &SupportRow<'_>) -> Result<(), StorageError> {
        self.0
            .prepare_cached(
                "INSERT OR IGNORE INTO user_messages (recipient, country, kind, item_id, body,
                                                      token_id, idempotency_key, created_at)
                 VALUES (?1, ?2, 'support_resources', ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                m.recipient,
                m.country,
                m.item_id,
                m.body,
                m.token_id,
                m.key,
                m.created_at,
            ])?;
        Ok(())
    }

    fn end_leases(&mut self, item_id: &str) -> Result<(), StorageError> {
        self.0
            .prepare_cached("DELETE FROM leases WHERE item_id = ?1")?
            .execute([item_id])?;
        Ok(())
    }

    fn appeal_outcome(&mut self, audit_id: i64) -> Result<Option<AppealOutcome>, StorageError> {
        let row = self
            .0
            .prepare_cached(
                "SELECT outcome, decided_by, decided_at FROM appeals WHERE decision_id = ?1",
            )?
            .query_row([audit_id], |r| {
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

    fn measure_of(
        &mut self,
        token_id: Option<i64>,
        key: &str,
    ) -> Result<Option<AccountMeasure>, StorageError> {
        super::accounts::measure_of(self.0, token_id, key)
    }

    fn insert_note(
        &mut self,
        actor: &TokenInfo,
        item_id: &str,
        note: &str,
        tier: Option<String>,
        at: &str,
    ) -> Result<(), StorageError> {
        self.0.execute(
            "INSERT INTO notes (item_id, at, actor, role, note, actor_token_id, tier)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                item_id,
                at,
                actor.name,
                actor.role.as_str(),
                note,
                actor.id,
                tier
            ],
        )?;
        Ok(())
    }

    fn set_appeal_verdict(
        &mut self,
        appeal_id: i64,
        verdict: AppealVerdict,
        actor: &TokenInfo,
        at: &str,
    ) -> Result<(), StorageError> {
        self.0
            .prepare_cached(
                "UPDATE appeals SET outcome = ?2, decided_by = ?3, decided_by_token_id = ?4,
                                    decided_at = ?5
                 WHERE id = ?1 AND outcome IS NULL",
            )?
            .execute(params![
                appeal_id,
                verdict.as_str(),
                actor.name,
                actor.id,
                at
            ])?;
        Ok(())
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decision_path_does_not_prepare_its_statements_again_for_each_item() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("modq.db")).unwrap();
        let mut conn = storage.writer.lock().unwrap();
        let tx = conn.transaction().unwrap();
        for id in ["p1", "p2", "p3", "p4"] {
            latest_applied(&tx, id).unwrap();
            Sql(&tx).leading_category(id).unwrap();
        }
        let latest = format!(
            "SELECT {APPLIED_COLUMNS} FROM audit WHERE item_id = ?1 AND action <> 'send_support'
         ORDER BY id DESC LIMIT 1"
        );
        let category = "SELECT leading_category FROM items WHERE id = ?1";
        for sql in [latest.as_str(), category] {
            let stmt = tx.prepare_cached(sql).unwrap();
            assert_eq!(
                stmt.get_status(rusqlite::StatementStatus::RePrepare),
                0,
                "{sql}"
            );
        }
    }
}
