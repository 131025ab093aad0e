//! Decisions, leases and claim caps on PostgreSQL. Every transaction that changes an item's
//! state or lease locks the item's row first (`FOR UPDATE`, in id order), so decisions,
//! renewals and releases on one item from several servers run one after another, and a
//! claim walking `FOR UPDATE SKIP LOCKED` passes over an item while they do.

use ::postgres::Row;
use chrono::{DateTime, Utc};

use crate::model::{
    ClaimCap, Decision, DecisionAction, DecisionOutcome, DecisionResult, ReporterType, Scope,
};
use crate::policy::PolicyCatalog;
use crate::server::claims::{self, ClaimLimits};
use crate::server::rules::{self, AppliedDecision, Facts, ItemStatus, Lease, Verdict};
use crate::server::statements::DecisionBasis;
use crate::server::storage::{StorageError, TokenInfo};

use super::convert::{from_name, name_of, opt_json, opt_tier, parse_state, parse_ts, to_json, ts};
use super::db::{AUDIT_LOCK, Tx};
use super::items::{Tallied, TallyChanges, load_reports};
use super::queue::{ITEM_COLUMNS, item_row};

const APPLIED_COLUMNS: &str = "id, idempotency_key, item_id, action, actor, actor_token_id, at, \
                               body_hash, from_state, from_restricted_in, \
                               from_escalation_target, from_tier";

fn applied(r: &Row) -> Result<AppliedDecision, StorageError> {
    let action: String = r.try_get(3)?;
    let at: String = r.try_get(6)?;
    let from_state: String = r.try_get(8)?;
    let from_scope: Option<String> = r.try_get(9)?;
    let from_target: Option<String> = r.try_get(10)?;
    let from_tier: Option<String> = r.try_get(11)?;
    Ok(AppliedDecision {
        audit_id: r.try_get(0)?,
        idempotency_key: r.try_get(1)?,
        item_id: r.try_get(2)?,
        action: from_name("action", &action)?,
        actor: r.try_get(4)?,
        actor_token_id: r.try_get(5)?,
        at: parse_ts(&at)?,
        body_hash: r.try_get(7)?,
        before: ItemStatus {
            state: parse_state(&from_state)?,
            restricted_in: opt_json::<Scope>("scope", from_scope.as_deref())?,
            escalation_target: opt_tier(from_target.as_deref())?,
            tier: opt_tier(from_tier.as_deref())?,
        },
    })
}

fn applied_where(
    tx: &mut Tx<'_>,
    condition: &str,
    params: &[super::db::Param<'_>],
) -> Result<Option<AppliedDecision>, StorageError> {
    let sql = format!("SELECT {APPLIED_COLUMNS} FROM audit WHERE {condition}");
    tx.opt(&sql, params)?.as_ref().map(applied).transpose()
}

/// An item's status, and where it is counted in the tallies.
pub fn item_status(
    tx: &mut Tx<'_>,
    item_id: &str,
) -> Result<Option<(ItemStatus, Tallied)>, StorageError> {
    let Some(r) = tx.opt(
        "SELECT state, restricted_in, escalation_target, lane, author_id, hold_tier
         FROM items WHERE id = ?1",
        &[&item_id],
    )?
    else {
        return Ok(None);
    };
    let scope: Option<String> = r.try_get(1)?;
    let hold: Option<String> = r.try_get(5)?;
    let tallied = Tallied {
        state: r.try_get(0)?,
        lane: r.try_get(3)?,
        tier: r.try_get(2)?,
        author: r.try_get(4)?,
    };
    let status = ItemStatus {
        state: parse_state(&tallied.state)?,
        restricted_in: opt_json("scope", scope.as_deref())?,
        escalation_target: opt_tier(tallied.tier.as_deref())?,
        tier: opt_tier(hold.as_deref())?,
    };
    Ok(Some((status, tallied)))
}

/// Locks the rows of these items (those that exist), in id order, until the transaction
/// ends.
pub fn lock_items(tx: &mut Tx<'_>, ids: &[&str]) -> Result<(), StorageError> {
    let mut sorted: Vec<&str> = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    tx.all(
        "SELECT id FROM items WHERE id = ANY(?1) ORDER BY id FOR UPDATE",
        &[&sorted],
    )?;
    Ok(())
}

fn decision_basis(
    tx: &mut Tx<'_>,
    item_id: &str,
    method: crate::model::DecisionMethod,
) -> Result<Option<DecisionBasis>, StorageError> {
    let sql = format!("SELECT {ITEM_COLUMNS} FROM items WHERE id = ?1");
    let Some(row) = tx.opt(&sql, &[&item_id])? else {
        return Ok(None);
    };
    let mut item = item_row(&row)?.into_item()?;
    item.reports = load_reports(tx, item_id)?;
    Ok(Some(DecisionBasis::of(&item, method)))
}

fn result(d: &Decision, outcome: DecisionOutcome, message: Option<String>) -> DecisionResult {
    DecisionResult {
        idempotency_key: d.idempotency_key.clone(),
        outcome,
        message,
    }
}

/// Applies one decision of a batch whose items are locked (see `Storage::apply_decisions`).
/// The same key sent twice at once, to two servers, meets at the audit table's unique
/// key: the loser's transaction runs again and answers "duplicate".
pub fn apply_one(
    tx: &mut Tx<'_>,
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
    let earlier = applied_where(
        tx,
        "actor_token_id = ?1 AND idempotency_key = ?2",
        &[&actor.id, &d.idempotency_key],
    )?;
    if let Some(earlier) = earlier {
        if earlier.body_hash.as_ref().is_some_and(|h| *h != body_hash) {
            let message = format!(
                "idempotency key {:?} was already used by this token for another decision \
                 ({} on item {:?}); a new decision needs a new key",
                d.idempotency_key,
                earlier.describe(),
                earlier.item_id
            );
            return Ok(result(d, DecisionOutcome::Invalid, Some(message)));
        }
        let elsewhere = if earlier.item_id == d.item_id {
            String::new()
        } else {
            format!(" on item {:?}", earlier.item_id)
        };
        let message = format!("already applied: {}{elsewhere}", earlier.describe());
        return Ok(result(d, DecisionOutcome::Duplicate, Some(message)));
    }
    let Some((current, counted)) = item_status(tx, &d.item_id)? else {
        let message = format!("no item has id {:?}", d.item_id);
        return Ok(result(d, DecisionOutcome::NotFound, Some(message)));
    };
    let latest = applied_where(tx, "item_id = ?1 ORDER BY id DESC LIMIT 1", &[&d.item_id])?;
    let reversed = match &d.reverses {
        Some(key) => applied_where(
            tx,
            "item_id = ?1 AND idempotency_key = ?2 ORDER BY id DESC LIMIT 1",
            &[&d.item_id, key],
        )?,
        None => None,
    };
    let report_category = leading_category(tx, &d.item_id)?;
    let facts = Facts {
        current: &current,
        latest: latest.as_ref(),
        reversed: reversed.as_ref(),
        report_category: report_category.as_deref(),
        policies,
    };
    let (after, reason_code) = match rules::judge(actor, d, &facts) {
        Verdict::Apply { after, reason_code } => (after, reason_code),
        Verdict::Refuse { outcome, message } => return Ok(result(d, outcome, Some(message))),
    };

    let after_target = after.escalation_target.map(name_of).transpose()?;
    let after_tier = after.tier.map(name_of).transpose()?;
    tx.exec(
        "UPDATE items SET state = ?2, restricted_in = ?3, escalation_target = ?4,
                          hold_tier = ?5
         WHERE id = ?1",
        &[
            &d.item_id,
            &after.state.as_str(),
            &after.restricted_in.as_ref().map(to_json).transpose()?,
            &after_target,
            &after_tier,
        ],
    )?;
    let now_counted = Tallied {
        state: after.state.as_str().to_owned(),
        tier: after_target.clone(),
        ..counted.clone()
    };
    tally.moved(Some(counted), now_counted);
    let scope = match d.action {
        DecisionAction::TakeDown => Some(to_json(&d.scope.clone().unwrap_or_default())?),
        _ => None,
    };
    let note = d.note.as_deref().filter(|n| !n.trim().is_empty());
    let target = match d.action {
        DecisionAction::Escalate => after_target.clone(),
        _ => None,
    };
    let basis = match d.action {
        DecisionAction::TakeDown => decision_basis(tx, &d.item_id, d.method)?
            .as_ref()
            .map(to_json)
            .transpose()?,
        _ => None,
    };
    // Ids in commit order (see `AUDIT_LOCK`); held to the end of the transaction.
    tx.lock(AUDIT_LOCK)?;
    tx.exec(
        "INSERT INTO audit (at, actor, actor_token_id, role, action, item_id, reason_code,
                            scope, note, escalation_target, reverses, reverses_id,
                            idempotency_key, body_hash, method, decided_at, from_state,
                            from_restricted_in, from_escalation_target, from_tier, to_state,
                            to_tier, basis)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18, ?19, ?20, ?21, ?22, ?23)",
        &[
            &ts(now),
            &actor.name,
            &actor.id,
            &actor.role.as_str(),
            &d.action.as_str(),
            &d.item_id,
            &reason_code,
            &scope,
            &note,
            &target,
            &d.reverses,
            &reversed.as_ref().map(|r| r.audit_id),
            &d.idempotency_key,
            &body_hash,
            &d.method.as_str(),
            &ts(rules::clamp_decided_at(d.decided_at, now)),
            &current.state.as_str(),
            &current.restricted_in.as_ref().map(to_json).transpose()?,
            &current.escalation_target.map(name_of).transpose()?,
            &current.tier.map(name_of).transpose()?,
            &after.state.as_str(),
            &after_tier,
            &basis,
        ],
    )?;
    // Decided: there is nothing left to review undisturbed, whoever was reviewing it.
    tx.exec("DELETE FROM leases WHERE item_id = ?1", &[&d.item_id])?;
    Ok(result(d, DecisionOutcome::Applied, None))
}

/// The report category of the item's most trusted source; see [`rules::leading_category`].
pub fn leading_category(tx: &mut Tx<'_>, item_id: &str) -> Result<Option<String>, StorageError> {
    let rows = tx.all(
        "SELECT reporter_type, category FROM reports WHERE item_id = ?1 ORDER BY id",
        &[&item_id],
    )?;
    let mut reports = Vec::with_capacity(rows.len());
    for r in rows {
        let reporter: String = r.try_get(0)?;
        let category: String = r.try_get(1)?;
        reports.push((
            from_name::<ReporterType>("reporter type", &reporter)?,
            category,
        ));
    }
    Ok(rules::leading_category(reports.iter().map(|(r, c)| (*r, c.as_str()))).map(str::to_owned))
}

// --- leases -------------------------------------------------------------------------------

pub fn lease_of(tx: &mut Tx<'_>, item_id: &str) -> Result<Option<Lease>, StorageError> {
    let Some(r) = tx.opt(
        "SELECT holder, expires_at FROM leases WHERE item_id = ?1",
        &[&item_id],
    )?
    else {
        return Ok(None);
    };
    let expires_at: String = r.try_get(1)?;
    Ok(Some(Lease {
        holder: r.try_get(0)?,
        expires_at: parse_ts(&expires_at)?,
    }))
}

/// Gives `holder` the lease on an item, replacing whatever lease was there.
pub fn put_lease(
    tx: &mut Tx<'_>,
    item_id: &str,
    holder: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), StorageError> {
    tx.exec(
        "INSERT INTO leases (item_id, holder, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (item_id) DO UPDATE SET holder = excluded.holder,
                                             expires_at = excluded.expires_at",
        &[&item_id, &holder, &ts(expires_at)],
    )?;
    Ok(())
}

/// Each id once, in the order first given.
pub fn distinct(ids: &[String]) -> Vec<&str> {
    let mut seen = std::collections::HashSet::new();
    ids.iter()
        .map(String::as_str)
        .filter(|id| seen.insert(*id))
        .collect()
}

/// Live leases `holder` has at `now` (a stored timestamp).
pub fn live_leases_of(tx: &mut Tx<'_>, holder: &str, now: &str) -> Result<usize, StorageError> {
    let n: i64 = tx
        .one(
            "SELECT COUNT(*) FROM leases WHERE holder = ?1 AND expires_at > ?2",
            &[&holder, &now],
        )?
        .try_get(0)?;
    Ok(usize::try_from(n).unwrap_or_default())
}

/// Serializes one holder's claims, whichever server they reach: the cap on live leases is
/// counted and spent by one claim at a time.
pub fn lock_holder(tx: &mut Tx<'_>, holder: &str) -> Result<(), StorageError> {
    tx.exec(
        "SELECT pg_advisory_xact_lock(hashtextextended(?1, 7))",
        &[&holder],
    )?;
    Ok(())
}

/// What a holder may still take in one claim: room under the cap on live leases, and what
/// is left of its fair share of each shared lane of the open queue.
pub struct Allowance {
    room: usize,
    /// Per shared lane (by its stored name): the holder's share, and how many it holds.
    lanes: Vec<(String, u64, u64)>,
    pub limited_by: Vec<ClaimCap>,
}

impl Allowance {
    pub fn of(
        tx: &mut Tx<'_>,
        holder: &str,
        limits: &ClaimLimits,
        now: DateTime<Utc>,
    ) -> Result<Allowance, StorageError> {
        let now = ts(now);
        let held = live_leases_of(tx, holder, &now)?;
        let mut active: std::collections::HashSet<String> = limits
            .active_elsewhere
            .iter()
            .filter(|name| name.as_str() != holder)
            .cloned()
            .collect();
        for r in tx.all(
            "SELECT DISTINCT holder FROM leases WHERE expires_at > ?1 AND holder <> ?2",
            &[&now, &holder],
        )? {
            active.insert(r.try_get(0)?);
        }
        let active = active.len().saturating_add(1);
        let mut lanes = Vec::new();
        for lane in claims::SHARED_LANES {
            let lane = name_of(lane)?;
            let open: i64 = tx
                .one(
                    "SELECT COALESCE(SUM(items), 0)::BIGINT FROM queue_tally
                     WHERE state = 'open' AND lane = ?1",
                    &[&lane],
                )?
                .try_get(0)?;
            let mine: i64 = tx
                .one(
                    "SELECT COUNT(*) FROM leases JOIN items ON items.id = leases.item_id
                     WHERE leases.holder = ?1 AND leases.expires_at > ?2
                       AND items.state = 'open' AND items.lane = ?3",
                    &[&holder, &now, &lane],
                )?
                .try_get(0)?;
            let share = claims::fair_share(u64::try_from(open).unwrap_or_default(), active);
            lanes.push((lane, share, u64::try_from(mine).unwrap_or_default()));
        }
        Ok(Allowance {
            room: limits.max_leases.saturating_sub(held),
            lanes,
            limited_by: Vec::new(),
        })
    }

    /// Take an item of `lane` in `state`: always, when the holder's own lease is live (it is
    /// only extended); else when a cap allows it, which is then counted.
    pub fn take(&mut self, state: &str, lane: &str, own: bool) -> Result<(), ClaimCap> {
        if own {
            return Ok(());
        }
        let refuse = |this: &mut Allowance, cap| {
            if !this.limited_by.contains(&cap) {
                this.limited_by.push(cap);
            }
            Err(cap)
        };
        if self.room == 0 {
            return refuse(self, ClaimCap::MaxLeases);
        }
        let shared = self.lanes.iter_mut().find(|(name, _, _)| name == lane);
        if let Some((_, share, mine)) = shared.filter(|_| state == "open") {
            if *mine >= *share {
                return refuse(self, ClaimCap::FairShare);
            }
            *mine += 1;
        }
        self.room -= 1;
        Ok(())
    }
}
