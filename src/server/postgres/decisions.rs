//! Decisions, leases and claim caps on PostgreSQL. Every transaction that changes an item's
//! state or lease locks the item's row first (`FOR UPDATE`, in id order), so decisions,
//! renewals and releases on one item from several servers run one after another, and a
//! claim walking `FOR UPDATE SKIP LOCKED` passes over an item while they do.

use chrono::{DateTime, Utc};

use crate::account::AccountMeasure;
use crate::model::{
    AppealOutcome, AppealVerdict, Decision, DecisionAction, DecisionOutcome, DecisionResult, Item,
};
use crate::policy::PolicyCatalog;
use crate::server::appeals::{self, AppealFacts};
use crate::server::claims::{self, Allowance, LaneHeld};
use crate::server::decision_steps::{
    self as steps, APPLIED_COLUMNS, Applied, AuditRow, Before, Judged, Judgement, MeasureRow,
    StepStore, SupportRow, result,
};
use crate::server::rules::{self, AppliedDecision, ItemStatus, Lease};
use crate::server::storage::{ClaimLimits, DecisionBasis};
use crate::server::storage::{StorageError, TokenInfo};

use super::convert::{name_of, parse_ts, to_json, ts};
use super::db::{AUDIT_LOCK, Param, Tx};
use super::decision_reads::{Decide, Earlier, Known, applied, item_status};
use super::items::{Tallied, TallyChanges, load_item};

fn applied_where(
    tx: &mut Tx<'_>,
    condition: &str,
    params: &[super::db::Param<'_>],
) -> Result<Option<AppliedDecision>, StorageError> {
    let sql = format!("SELECT {APPLIED_COLUMNS} FROM audit WHERE {condition}");
    tx.opt(&sql, params)?.as_ref().map(applied).transpose()
}

/// The audit row with this number.
pub fn applied_by_id(tx: &mut Tx<'_>, id: i64) -> Result<Option<AppliedDecision>, StorageError> {
    applied_where(tx, "id = ?1", &[&id])
}

/// The number of an item's latest decision's audit row (a support message decides nothing).
pub fn latest_of(tx: &mut Tx<'_>, item_id: &str) -> Result<Option<i64>, StorageError> {
    Ok(tx
        .opt(
            "SELECT id FROM audit WHERE item_id = ?1 AND action <> 'send_support'
             ORDER BY id DESC LIMIT 1",
            &[&item_id],
        )?
        .map(|r| r.try_get(0))
        .transpose()?)
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
    known: &mut Known,
    item_id: &str,
    method: crate::model::DecisionMethod,
) -> Result<Option<DecisionBasis>, StorageError> {
    // The basis is the item's content and report tally, which no decision changes: as
    // locked.
    if let Some(item) = known.item_with_totals(tx, item_id)? {
        return Ok(Some(DecisionBasis::of(&item, method)));
    }
    Ok(load_item(tx, item_id)?.map(|item| DecisionBasis::of(&item, method)))
}

/// Applies one decision of a batch whose items are locked (see `Storage::apply_decisions`),
/// `known` what the lock read of them.
/// The same key sent twice at once, to two servers, meets at the audit table's unique
/// key: the loser's transaction runs again and answers "duplicate".
#[allow(clippy::too_many_arguments)]
pub fn apply_one(
    tx: &mut Tx<'_>,
    known: &mut Known,
    tally: &mut TallyChanges,
    log: &mut AuditBatch,
    actor: &TokenInfo,
    d: &Decision,
    policies: &PolicyCatalog,
    now: DateTime<Utc>,
) -> Result<DecisionResult, StorageError> {
    if let Err(message) = rules::check_decision_shape(d) {
        return Ok(result(d, DecisionOutcome::Invalid, Some(message)));
    }
    let body_hash = rules::body_hash(d);
    // This batch's own rows first: they are not in the audit table yet.
    if let Some(earlier) =
        log.find(|a| a.actor_token_id == Some(actor.id) && a.idempotency_key == d.idempotency_key)
    {
        return Ok(steps::already_applied(d, &earlier, &body_hash));
    }
    let stored = Earlier::read(
        tx,
        actor.id,
        &d.idempotency_key,
        &d.item_id,
        d.reverses.as_deref(),
    )?;
    if let Some(earlier) = stored.with_key {
        return Ok(steps::already_applied(d, &earlier, &body_hash));
    }
    let Some((current, counted)) = known.status(tx, &d.item_id)? else {
        let message = format!("no item has id {:?}", d.item_id);
        return Ok(result(d, DecisionOutcome::NotFound, Some(message)));
    };
    // A support message decides nothing: the latest decision is the one before it.
    let latest = log
        .find(|a| a.item_id == d.item_id && a.action.decides())
        .or(stored.latest);
    let reversed = match &d.reverses {
        Some(key) => log
            .find(|a| a.item_id == d.item_id && a.idempotency_key == *key)
            .or(stored.reversed),
        None => None,
    };
    let before = Before {
        current: &current,
        author: counted.author.as_deref(),
        latest: latest.as_ref(),
        reversed: reversed.as_ref(),
    };
    let judged = steps::judge(
        &mut Decide { tx, known },
        actor,
        d,
        policies,
        &before,
        |item| {
            log.find(|a| a.item_id == item && a.action.decides())
                .map(|a| a.audit_id)
        },
    )?;
    let Judgement {
        after,
        reason_code,
        appeal,
        reporters,
    } = match judged {
        Ok(judged) => judged,
        Err(refused) => return Ok(refused),
    };
    let recorded_reason = reason_code.clone();

    let after_target = after.escalation_target.map(name_of).transpose()?;
    let after_tier = after.tier.map(name_of).transpose()?;
    // A decision ends the item's leases (see `steps::finish`; a support message decides
    // nothing): in the same statement, so that `finish` finds them ended.
    let decides = d.action.decides();
    tx.exec(
        "WITH ended AS (DELETE FROM leases WHERE item_id = ?1 AND ?6)
         UPDATE items SET state = ?2, restricted_in = ?3, escalation_target = ?4,
                          hold_tier = ?5
         WHERE id = ?1",
        &[
            &d.item_id,
            &after.state.as_str(),
            &after.restricted_in.as_ref().map(to_json).transpose()?,
            &after_target,
            &after_tier,
            &decides,
        ],
    )?;
    known.changed(&d.item_id);
    if decides {
        known.leases_ended(&d.item_id);
    }
    let now_counted = Tallied {
        state: after.state.as_str().to_owned(),
        tier: after_target.clone(),
        ..counted.clone()
    };
    let author = counted.author.clone();
    tally.moved(Some(counted), now_counted);
    let basis = match d.action {
        DecisionAction::TakeDown => decision_basis(tx, known, &d.item_id, d.method)?
            .as_ref()
            .map(to_json)
            .transpose()?,
        _ => None,
    };
    log.push(
        AppliedDecision {
            audit_id: 0,
            idempotency_key: d.idempotency_key.clone(),
            item_id: d.item_id.clone(),
            action: d.action,
            actor: actor.name.clone(),
            actor_token_id: Some(actor.id),
            at: now,
            body_hash: Some(body_hash.clone()),
            before: current.clone(),
        },
        AuditRow::decision(
            d,
            Applied {
                actor,
                current: &current,
                after: &after,
                reason_code,
                reversed_id: reversed.as_ref().map(|r| r.audit_id),
                body_hash,
                basis,
                now,
            },
        )?,
    );
    if let Some(appeal) = &appeal {
        record_outcome(tx, known, tally, log, actor, d, appeal, now)?;
    }
    steps::finish(
        &mut Decide { tx, known },
        &Judged {
            actor,
            decision: d,
            author: author.as_deref(),
            reason_code: recorded_reason.as_deref(),
            reversed: reversed.as_ref(),
            support: &policies.support,
            reporters: &reporters,
            now,
        },
    )
}

pub fn is_reversed(tx: &mut Tx<'_>, audit_id: i64) -> Result<bool, StorageError> {
    Ok(tx
        .one(
            "SELECT EXISTS (SELECT 1 FROM audit WHERE reverses_id = ?1)",
            &[&audit_id],
        )?
        .try_get(0)?)
}

/// Writes an appeal's outcome: the appeal row, and for an overturn the reversal of the
/// take down on its item (the content restored), made by the same moderator, in this
/// batch's audit rows.
#[allow(clippy::too_many_arguments)]
fn record_outcome(
    tx: &mut Tx<'_>,
    known: &mut Known,
    tally: &mut TallyChanges,
    log: &mut AuditBatch,
    actor: &TokenInfo,
    d: &Decision,
    appeal: &AppealFacts,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    if !steps::decide_appeal(&mut Decide { tx, known }, actor, d, appeal, now)? {
        return Ok(());
    }
    let original = &appeal.original;
    let Some((current, counted)) = known.status(tx, &original.item_id)? else {
        return Err(super::convert::corrupt(
            "appeal",
            format!("item {:?} is missing", original.item_id),
        ));
    };
    let after = appeals::restored();
    tx.exec(
        "UPDATE items SET state = ?2, restricted_in = NULL, escalation_target = NULL,
                          hold_tier = NULL
         WHERE id = ?1",
        &[&original.item_id, &after.state.as_str()],
    )?;
    known.changed(&original.item_id);
    tally.moved(
        Some(counted.clone()),
        Tallied {
            state: after.state.as_str().to_owned(),
            tier: None,
            ..counted
        },
    );
    let key = appeals::reversal_key(appeal.appeal_id);
    log.push(
        AppliedDecision {
            audit_id: 0,
            idempotency_key: key.clone(),
            item_id: original.item_id.clone(),
            action: DecisionAction::Reverse,
            actor: actor.name.clone(),
            actor_token_id: Some(actor.id),
            at: now,
            body_hash: None,
            before: current.clone(),
        },
        AuditRow::overturn(actor, appeal, &current, &after, now)?,
    );
    tx.end_leases(&original.item_id)
}

/// The audit rows a batch of decisions makes, written together at its end.
///
/// Audit ids must become visible in order, so that a reader paging by id never passes one
/// that commits later: the rows are numbered and inserted under [`AUDIT_LOCK`], held to the
/// commit. Written last, in one statement, the lock is held for that statement and the
/// commit whatever the batch's size; the decisions of the batch meanwhile see each other
/// here (a key twice, an item decided twice, a reversal of a decision just made), under
/// provisional negative ids.
#[derive(Default)]
pub struct AuditBatch {
    rows: Vec<(AppliedDecision, AuditRow)>,
}

impl AuditBatch {
    /// The latest decision of this batch that `matches`.
    fn find(&self, matches: impl Fn(&AppliedDecision) -> bool) -> Option<AppliedDecision> {
        self.rows
            .iter()
            .rev()
            .map(|(a, _)| a)
            .find(|a| matches(a))
            .cloned()
    }

    fn push(&mut self, mut applied: AppliedDecision, row: AuditRow) {
        applied.audit_id = -1 - i64::try_from(self.rows.len()).unwrap_or(i64::MAX - 1);
        self.rows.push((applied, row));
    }

    /// Numbers the rows and inserts them, under the audit lock.
    pub fn write(self, tx: &mut Tx<'_>) -> Result<(), StorageError> {
        if self.rows.is_empty() {
            return Ok(());
        }
        let rows: Vec<&AuditRow> = self.rows.iter().map(|(_, r)| r).collect();
        // A reversal of a decision made in this same batch names a row not numbered yet:
        // then the rows are numbered first (a statement more under the lock). Otherwise one
        // statement takes the lock, numbers the rows in order and inserts them.
        let within = rows.iter().any(|r| r.reverses_id.is_some_and(|id| id < 0));
        let mut ids: Vec<i64> = Vec::new();
        if within {
            tx.lock(AUDIT_LOCK)?;
            let n = i64::try_from(rows.len()).unwrap_or(i64::MAX);
            ids = tx
                .all(
                    "SELECT nextval(pg_get_serial_sequence('audit', 'id'))
                     FROM generate_series(1, ?1::BIGINT)",
                    &[&n],
                )?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            ids.sort_unstable();
        }
        let number = |id: Option<i64>| match id {
            Some(p) if p < 0 => usize::try_from(-1 - p)
                .ok()
                .and_then(|i| ids.get(i))
                .copied(),
            other => other,
        };
        let texts = |f: fn(&AuditRow) -> &str| -> Vec<&str> { rows.iter().map(|r| f(r)).collect() };
        let opts = |f: fn(&AuditRow) -> Option<&str>| -> Vec<Option<&str>> {
            rows.iter().map(|r| f(r)).collect()
        };
        let token_ids: Vec<i64> = rows.iter().map(|r| r.actor_token_id).collect();
        let reverses_ids: Vec<Option<i64>> = rows.iter().map(|r| number(r.reverses_id)).collect();
        let (at, actor, role, action, item) = (
            texts(|r| &r.at),
            texts(|r| &r.actor),
            texts(|r| &r.role),
            texts(|r| &r.action),
            texts(|r| &r.item_id),
        );
        let (reason, scope, note, target, reverses) = (
            opts(|r| r.reason_code.as_deref()),
            opts(|r| r.scope.as_deref()),
            opts(|r| r.note.as_deref()),
            opts(|r| r.target.as_deref()),
            opts(|r| r.reverses.as_deref()),
        );
        let (key, hash, method, decided, from_state) = (
            texts(|r| &r.key),
            texts(|r| &r.body_hash),
            texts(|r| &r.method),
            texts(|r| &r.decided_at),
            texts(|r| &r.from_state),
        );
        let (from_scope, from_target, from_tier, to_state, to_tier, basis) = (
            opts(|r| r.from_scope.as_deref()),
            opts(|r| r.from_target.as_deref()),
            opts(|r| r.from_tier.as_deref()),
            texts(|r| &r.to_state),
            opts(|r| r.to_tier.as_deref()),
            opts(|r| r.basis.as_deref()),
        );
        let mut params: Vec<Param<'_>> = vec![
            &at,
            &actor,
            &token_ids,
            &role,
            &action,
            &item,
            &reason,
            &scope,
            &note,
            &target,
            &reverses,
            &reverses_ids,
            &key,
            &hash,
            &method,
            &decided,
            &from_state,
            &from_scope,
            &from_target,
            &from_tier,
            &to_state,
            &to_tier,
            &basis,
        ];
        let columns = AUDIT_COLUMNS.map(|(c, _)| c).join(", ");
        let typed = |from: usize| -> String {
            AUDIT_COLUMNS
                .iter()
                .enumerate()
                .map(|(i, (_, t))| format!("?{}::{t}[]", i + from))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let sql = if within {
            params.insert(0, &ids);
            format!(
                "INSERT INTO audit (id, {columns}) OVERRIDING SYSTEM VALUE
                 SELECT * FROM UNNEST(?1::BIGINT[], {})",
                typed(2)
            )
        } else {
            // The lock is taken before the first row is numbered: the rows come out of the
            // join with it. Identities are given in the order the rows are inserted.
            format!(
                "WITH audit_lock AS MATERIALIZED (SELECT pg_advisory_xact_lock({AUDIT_LOCK}))
                 INSERT INTO audit ({columns})
                 SELECT {columns} FROM audit_lock,
                      UNNEST({}) WITH ORDINALITY AS u({columns}, ord)
                 ORDER BY ord",
                typed(1)
            )
        };
        tx.exec(&sql, &params)?;
        Ok(())
    }
}

/// The audit table's columns as [`AuditBatch::write`] fills them, with their types.
const AUDIT_COLUMNS: [(&str, &str); 23] = [
    ("at", "TEXT"),
    ("actor", "TEXT"),
    ("actor_token_id", "BIGINT"),
    ("role", "TEXT"),
    ("action", "TEXT"),
    ("item_id", "TEXT"),
    ("reason_code", "TEXT"),
    ("scope", "TEXT"),
    ("note", "TEXT"),
    ("escalation_target", "TEXT"),
    ("reverses", "TEXT"),
    ("reverses_id", "BIGINT"),
    ("idempotency_key", "TEXT"),
    ("body_hash", "TEXT"),
    ("method", "TEXT"),
    ("decided_at", "TEXT"),
    ("from_state", "TEXT"),
    ("from_restricted_in", "TEXT"),
    ("from_escalation_target", "TEXT"),
    ("from_tier", "TEXT"),
    ("to_state", "TEXT"),
    ("to_tier", "TEXT"),
    ("basis", "TEXT"),
];

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

/// What `holder` may still take in one claim, from this transaction's counts: in one
/// statement (a claim is made on every few keys, and each statement is a round trip).
pub fn allowance_of(
    tx: &mut Tx<'_>,
    holder: &str,
    limits: &ClaimLimits,
    now: DateTime<Utc>,
) -> Result<Allowance, StorageError> {
    let now = ts(now);
    let lanes: Vec<String> = claims::SHARED_LANES
        .iter()
        .map(|lane| name_of(*lane))
        .collect::<Result<_, _>>()?;
    // One row per shared lane, in their order (one with no lane if there were none); the
    // holder's live leases and the other holders at work repeated on each (CTEs used twice
    // are computed once).
    let rows = tx.all(
        "WITH held AS (SELECT COUNT(*) AS n FROM leases WHERE holder = ?1 AND expires_at > ?2),
              others AS (SELECT ARRAY(SELECT DISTINCT holder FROM leases
                                      WHERE expires_at > ?2 AND holder <> ?1) AS names)
         SELECT l.lane,
                (SELECT COALESCE(SUM(items), 0)::BIGINT FROM queue_tally
                  WHERE state = 'open' AND lane = l.lane),
                (SELECT COUNT(*) FROM leases JOIN items ON items.id = leases.item_id
                  WHERE leases.holder = ?1 AND leases.expires_at > ?2
                    AND items.state = 'open' AND items.lane = l.lane),
                (SELECT n FROM held), (SELECT names FROM others)
         FROM (SELECT 1) AS one
              LEFT JOIN unnest(?3::TEXT[]) WITH ORDINALITY AS l(lane, n) ON true
         ORDER BY l.n",
        &[&holder, &now, &lanes],
    )?;
    let mut active: std::collections::HashSet<String> = limits
        .active_elsewhere
        .iter()
        .filter(|name| name.as_str() != holder)
        .cloned()
        .collect();
    let mut held = 0;
    let mut shared = Vec::with_capacity(rows.len());
    for r in rows {
        held = usize::try_from(r.try_get::<_, i64>(3)?).unwrap_or_default();
        active.extend(r.try_get::<_, Vec<String>>(4)?);
        let Some(lane) = r.try_get::<_, Option<String>>(0)? else {
            continue;
        };
        let open: i64 = r.try_get(1)?;
        let mine: i64 = r.try_get(2)?;
        shared.push(LaneHeld {
            lane,
            open: u64::try_from(open).unwrap_or_default(),
            mine: u64::try_from(mine).unwrap_or_default(),
        });
    }
    let active = active.len().saturating_add(1);
    Ok(Allowance::new(limits.max_leases, held, shared, active))
}

// --- the shared steps' reads and writes (see `decision_steps`) ----------------------------

impl StepStore for Tx<'_> {
    fn applied_by_id(&mut self, audit_id: i64) -> Result<Option<AppliedDecision>, StorageError> {
        applied_by_id(self, audit_id)
    }

    fn is_reversed(&mut self, audit_id: i64) -> Result<bool, StorageError> {
        is_reversed(self, audit_id)
    }

    fn decision_scope(&mut self, audit_id: i64) -> Result<Option<String>, StorageError> {
        Ok(self
            .one("SELECT scope FROM audit WHERE id = ?1", &[&audit_id])?
            .try_get(0)?)
    }

    /// Any audit row counts, a support message's too.
    fn latest_audit_id(&mut self, item_id: &str) -> Result<Option<i64>, StorageError> {
        latest_of(self, item_id)
    }

    fn status_of(&mut self, item_id: &str) -> Result<Option<ItemStatus>, StorageError> {
        Ok(item_status(self, item_id)?.map(|(status, _)| status))
    }

    fn item_exists(&mut self, item_id: &str) -> Result<bool, StorageError> {
        Ok(self
            .opt("SELECT 1 FROM items WHERE id = ?1", &[&item_id])?
            .is_some())
    }

    fn item(&mut self, item_id: &str) -> Result<Option<Item>, StorageError> {
        load_item(self, item_id)
    }

    fn leading_category(&mut self, item_id: &str) -> Result<Option<String>, StorageError> {
        match self.opt(
            "SELECT leading_category FROM items WHERE id = ?1",
            &[&item_id],
        )? {
            Some(r) => Ok(r.try_get(0)?),
            None => Ok(None),
        }
    }

    fn reporter_texts(&mut self, item_id: &str) -> Result<Vec<String>, StorageError> {
        self.all(
            "SELECT reporter FROM reports WHERE item_id = ?1 AND reporter IS NOT NULL ORDER BY id",
            &[&item_id],
        )?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
    }

    fn messaged(&mut self, item_id: &str) -> Result<Vec<String>, StorageError> {
        self.all(
            "SELECT DISTINCT recipient FROM user_messages
             WHERE item_id = ?1 AND kind = 'support_resources'",
            &[&item_id],
        )?
        .iter()
        .map(|r| Ok(r.try_get(0)?))
        .collect()
    }

    fn appeal_on(&mut self, appeal_item_id: &str) -> Result<Option<(i64, i64)>, StorageError> {
        self.opt(
            "SELECT id, decision_id FROM appeals WHERE appeal_item_id = ?1",
            &[&appeal_item_id],
        )?
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .transpose()
    }

    fn appeal_against(
        &mut self,
        audit_id: i64,
    ) -> Result<Option<(i64, Option<String>)>, StorageError> {
        self.opt(
            "SELECT id, outcome FROM appeals WHERE decision_id = ?1",
            &[&audit_id],
        )?
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .transpose()
    }

    fn insert_measure(&mut self, m: &MeasureRow<'_>) -> Result<(), StorageError> {
        let days = m.days.map(i64::from);
        self.exec(
            "INSERT INTO account_measures (account_id, item_id, token_id, idempotency_key, action,
                                           days, reason_code, at, until)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            &[
                &m.account_id,
                &m.item_id,
                &m.token_id,
                &m.key,
                &m.action,
                &days,
                &m.reason_code,
                &m.at,
                &m.until,
            ],
        )?;
        Ok(())
    }

    fn lift_measure(&mut self, token_id: i64, key: &str, at: &str) -> Result<(), StorageError> {
        self.exec(
            "UPDATE account_measures SET lifted_at = ?3
             WHERE token_id = ?1 AND idempotency_key = ?2 AND lifted_at IS NULL",
            &[&token_id, &key, &at],
        )?;
        Ok(())
    }

    fn queue_support(&mut self, m: &SupportRow<'_>) -> Result<(), StorageError> {
        self.exec(
            "INSERT INTO user_messages (recipient, country, kind, item_id, body, token_id,
                                        idempotency_key, created_at)
             VALUES (?1, ?2, 'support_resources', ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT DO NOTHING",
            &[
                &m.recipient,
                &m.country,
                &m.item_id,
                &m.body,
                &m.token_id,
                &m.key,
                &m.created_at,
            ],
        )?;
        Ok(())
    }

    fn end_leases(&mut self, item_id: &str) -> Result<(), StorageError> {
        self.exec("DELETE FROM leases WHERE item_id = ?1", &[&item_id])?;
        Ok(())
    }

    fn appeal_outcome(&mut self, audit_id: i64) -> Result<Option<AppealOutcome>, StorageError> {
        super::appeals::outcome_of(self, audit_id)
    }

    fn measure_of(
        &mut self,
        token_id: Option<i64>,
        key: &str,
    ) -> Result<Option<AccountMeasure>, StorageError> {
        super::accounts::measure_of(self, token_id, key)
    }

    fn insert_note(
        &mut self,
        actor: &TokenInfo,
        item_id: &str,
        note: &str,
        tier: Option<String>,
        at: &str,
    ) -> Result<(), StorageError> {
        self.exec(
            "INSERT INTO notes (item_id, at, actor, role, note, actor_token_id, tier)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &[
                &item_id,
                &at,
                &actor.name,
                &actor.role.as_str(),
                &note,
                &actor.id,
                &tier,
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
        self.exec(
            "UPDATE appeals SET outcome = ?2, decided_by = ?3, decided_by_token_id = ?4,
                                decided_at = ?5
             WHERE id = ?1 AND outcome IS NULL",
            &[&appeal_id, &verdict.as_str(), &actor.name, &actor.id, &at],
        )?;
        Ok(())
    }
}
