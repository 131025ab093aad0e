//! The steps of applying a decision and lodging an appeal that both engines take alike,
//! written once over [`StepStore`]: the few reads and writes they need, each engine in its
//! own SQL (`sqlite/steps.rs`, `postgres/steps.rs`). What the steps decide is the rules'
//! ([`super::rules`], [`super::appeals`], [`super::account_rules`]); what is here is the
//! order they are asked in and what is written from their answers.
//!
//! What differs stays with the engine: how an item's status and tallies are changed, and
//! how audit rows are written (at once on SQLite, a batch at the end on PostgreSQL).

use chrono::{DateTime, Utc};

use crate::account::{AccountAction, AccountMeasure, AccountMeasureRecord, AccountStanding};
use crate::model::{
    AppealOutcome, AppealVerdict, Author, Decision, DecisionAction, DecisionMethod,
    DecisionOutcome, DecisionResult, HistoryEntry, HistoryEvent, Item, NewAppeal, ReporterAccount,
    Scope,
};
use crate::policy::PolicyCatalog;
use crate::support::SupportCatalog;

use super::account_rules;
use super::appeals::{self, AppealFacts, Target};
use super::rules::{self, AppliedDecision, Facts, ItemStatus, Verdict};
use super::storage::{AppealRefusal, DecisionBasis, StorageError, TakeDownRecord, TokenInfo};
use super::stored::{
    corrupt, from_json, from_name, name_of, opt_json, opt_tier, parse_opt_ts, parse_state,
    parse_ts, to_json, ts,
};

/// The reads and writes the shared steps need from an engine, inside its transaction.
pub trait StepStore {
    /// The audit row with this number, as judging needs it.
    fn applied_by_id(&mut self, audit_id: i64) -> Result<Option<AppliedDecision>, StorageError>;
    /// Whether a reversal names audit row `audit_id`.
    fn is_reversed(&mut self, audit_id: i64) -> Result<bool, StorageError>;
    /// The scope audit row `audit_id` recorded, as stored.
    fn decision_scope(&mut self, audit_id: i64) -> Result<Option<String>, StorageError>;
    /// The number of the audit row of the item's latest decision (a support message decides
    /// nothing): an overturn must find the decision appealed still latest.
    fn latest_audit_id(&mut self, item_id: &str) -> Result<Option<i64>, StorageError>;
    /// An item's status (`None`: no such item).
    fn status_of(&mut self, item_id: &str) -> Result<Option<ItemStatus>, StorageError>;
    /// Whether an item with this id exists.
    fn item_exists(&mut self, item_id: &str) -> Result<bool, StorageError>;
    /// An item, whole.
    fn item(&mut self, item_id: &str) -> Result<Option<Item>, StorageError>;
    /// The category of the item's most trusted report (see [`rules::leading_category`]), as
    /// filing keeps it on the item (`None`: no such item, or no report).
    fn leading_category(&mut self, item_id: &str) -> Result<Option<String>, StorageError>;
    /// The stored reporter accounts (JSON) of an item's reports that name one, in order.
    fn reporter_texts(&mut self, item_id: &str) -> Result<Vec<String>, StorageError>;
    /// The users already sent support resources about an item, each once.
    fn messaged(&mut self, item_id: &str) -> Result<Vec<String>, StorageError>;
    /// The appeal whose item this is: (appeal id, audit id of the decision appealed).
    fn appeal_on(&mut self, appeal_item_id: &str) -> Result<Option<(i64, i64)>, StorageError>;
    /// The appeal against audit row `audit_id`: its id and stored outcome.
    fn appeal_against(
        &mut self,
        audit_id: i64,
    ) -> Result<Option<(i64, Option<String>)>, StorageError>;
    /// Inserts one account measure row.
    fn insert_measure(&mut self, row: &MeasureRow<'_>) -> Result<(), StorageError>;
    /// Marks lifted, at `at`, the measure the decision (`token_id`, `key`) carried, if not
    /// lifted yet.
    fn lift_measure(&mut self, token_id: i64, key: &str, at: &str) -> Result<(), StorageError>;
    /// Inserts one support message to a user, unless that message was written already.
    fn queue_support(&mut self, row: &SupportRow<'_>) -> Result<(), StorageError>;
    /// Ends every lease on an item.
    fn end_leases(&mut self, item_id: &str) -> Result<(), StorageError>;
    /// The outcome of the appeal against audit row `audit_id`, if one was decided.
    fn appeal_outcome(&mut self, audit_id: i64) -> Result<Option<AppealOutcome>, StorageError>;
    /// The measure the decision (`token_id`, `key`) carried, lifted or not.
    fn measure_of(
        &mut self,
        token_id: Option<i64>,
        key: &str,
    ) -> Result<Option<AccountMeasure>, StorageError>;
    /// Inserts one note row; `tier` as stored.
    fn insert_note(
        &mut self,
        actor: &TokenInfo,
        item_id: &str,
        note: &str,
        tier: Option<String>,
        at: &str,
    ) -> Result<(), StorageError>;
    /// Records the verdict on an appeal not decided yet.
    fn set_appeal_verdict(
        &mut self,
        appeal_id: i64,
        verdict: AppealVerdict,
        actor: &TokenInfo,
        at: &str,
    ) -> Result<(), StorageError>;
}

/// An `account_measures` row, as stored.
pub struct MeasureRow<'a> {
    pub account_id: &'a str,
    pub item_id: &'a str,
    pub token_id: i64,
    pub key: &'a str,
    pub action: &'a str,
    pub days: Option<u32>,
    pub reason_code: Option<&'a str>,
    pub at: String,
    pub until: Option<String>,
}

/// A `user_messages` row of kind `support_resources`, as stored.
pub struct SupportRow<'a> {
    pub recipient: &'a str,
    pub country: Option<&'a str>,
    pub item_id: &'a str,
    pub body: String,
    pub token_id: i64,
    pub key: &'a str,
    pub created_at: String,
}

/// The columns an [`AppliedRow`] is read from, in its order.
pub const APPLIED_COLUMNS: &str = "id, idempotency_key, item_id, action, actor, actor_token_id, \
                                   at, body_hash, from_state, from_restricted_in, \
                                   from_escalation_target, from_tier";

/// An audit row as far as judging later decisions needs it, as stored.
pub struct AppliedRow {
    pub id: i64,
    pub key: String,
    pub item_id: String,
    pub action: String,
    pub actor: String,
    pub actor_token_id: Option<i64>,
    pub at: String,
    pub body_hash: Option<String>,
    pub from_state: String,
    pub from_scope: Option<String>,
    pub from_target: Option<String>,
    pub from_tier: Option<String>,
}

impl AppliedRow {
    pub fn into_applied(self) -> Result<AppliedDecision, StorageError> {
        Ok(AppliedDecision {
            audit_id: self.id,
            idempotency_key: self.key,
            item_id: self.item_id,
            action: from_name("action", &self.action)?,
            actor: self.actor,
            actor_token_id: self.actor_token_id,
            at: parse_ts(&self.at)?,
            body_hash: self.body_hash,
            before: stored_status(
                &self.from_state,
                self.from_scope.as_deref(),
                self.from_target.as_deref(),
                self.from_tier.as_deref(),
            )?,
        })
    }
}

/// An item's status from its stored columns: state, scope (JSON), escalation target, tier.
pub fn stored_status(
    state: &str,
    scope: Option<&str>,
    target: Option<&str>,
    tier: Option<&str>,
) -> Result<ItemStatus, StorageError> {
    Ok(ItemStatus {
        state: parse_state(state)?,
        restricted_in: opt_json::<Scope>("scope", scope)?,
        escalation_target: opt_tier(target)?,
        tier: opt_tier(tier)?,
    })
}

/// Adds `actor`'s note to an item (`None`: no such item).
pub fn add_note(
    store: &mut impl StepStore,
    actor: &TokenInfo,
    item_id: &str,
    note: &str,
    now: DateTime<Utc>,
) -> Result<Option<HistoryEntry>, StorageError> {
    let Some(status) = store.status_of(item_id)? else {
        return Ok(None);
    };
    // A note belongs to the tier holding the item when it is written: one written for
    // child safety stays theirs after the item moves on.
    let tier = status.held_by();
    store.insert_note(
        actor,
        item_id,
        note,
        tier.map(name_of).transpose()?,
        &ts(now),
    )?;
    Ok(Some(HistoryEntry {
        at: now,
        actor: actor.name.clone(),
        event: HistoryEvent::Note,
        reason_code: None,
        scope: None,
        note: Some(note.to_owned()),
        escalation_target: None,
        tier,
        visible_to: rules::note_visible_to(tier, None),
    }))
}

/// A decision's answer.
pub fn result(d: &Decision, outcome: DecisionOutcome, message: Option<String>) -> DecisionResult {
    DecisionResult {
        idempotency_key: d.idempotency_key.clone(),
        outcome,
        message,
    }
}

/// The answer to a decision whose key this token used before, for `earlier`: "duplicate"
/// when it is the same decision, refused when the key stood for another.
pub fn already_applied(d: &Decision, earlier: &AppliedDecision, body_hash: &str) -> DecisionResult {
    // A key stands for one decision: the same key with another body is a client's
    // mistake, and answering "duplicate" would tell it a decision it never made is done.
    if earlier.body_hash.as_ref().is_some_and(|h| *h != body_hash) {
        let message = format!(
            "idempotency key {:?} was already used by this token for another decision \
             ({} on item {:?}); a new decision needs a new key",
            d.idempotency_key,
            earlier.describe(),
            earlier.item_id
        );
        return result(d, DecisionOutcome::Invalid, Some(message));
    }
    let elsewhere = if earlier.item_id == d.item_id {
        String::new()
    } else {
        format!(" on item {:?}", earlier.item_id)
    };
    let message = format!("already applied: {}{elsewhere}", earlier.describe());
    result(d, DecisionOutcome::Duplicate, Some(message))
}

/// The appeal an item carries, with what deciding it needs (`None`: not an appeal).
/// `latest_in_batch` finds a decision the engine has made but not written yet.
pub fn appeal_facts(
    store: &mut impl StepStore,
    item_id: &str,
    latest_in_batch: impl Fn(&str) -> Option<i64>,
) -> Result<Option<AppealFacts>, StorageError> {
    let Some((appeal_id, decision_id)) = store.appeal_on(item_id)? else {
        return Ok(None);
    };
    let original = store
        .applied_by_id(decision_id)?
        .ok_or_else(|| corrupt("appeal", format!("audit row {decision_id} is missing")))?;
    let scope = store.decision_scope(decision_id)?;
    let original_status = store
        .status_of(&original.item_id)?
        .ok_or_else(|| corrupt("appeal", format!("item {:?} is missing", original.item_id)))?;
    let latest = match latest_in_batch(&original.item_id) {
        Some(id) => Some(id),
        None => store.latest_audit_id(&original.item_id)?,
    };
    Ok(Some(AppealFacts {
        appeal_id,
        original_scope: opt_json::<Scope>("scope", scope.as_deref())?,
        original_status,
        original_reversed: store.is_reversed(decision_id)?,
        original_latest: latest == Some(original.audit_id),
        original,
    }))
}

/// What an item was when a decision on it was judged, as the engine read it.
pub struct Before<'a> {
    pub current: &'a ItemStatus,
    /// The item's author, when the item names one.
    pub author: Option<&'a str>,
    /// The item's latest decision (a support message decides nothing).
    pub latest: Option<&'a AppliedDecision>,
    /// The decision `d.reverses` names on the item, if found.
    pub reversed: Option<&'a AppliedDecision>,
}

/// A decision the rules let through: the item's status after it, the reason code it
/// records, and the appeal it decides when its item is one.
pub struct Judgement {
    pub after: ItemStatus,
    pub reason_code: Option<String>,
    pub appeal: Option<AppealFacts>,
    /// For a support message, the reporters it reaches, as judging found them (read once:
    /// a post 100,000 people reported names 100,000).
    pub reporters: Vec<ReporterAccount>,
}

/// Reads what the rules weigh besides `before` and asks them about `d`: `Err` is the
/// answer to a decision they refuse. `latest_in_batch` as for [`appeal_facts`].
pub fn judge(
    store: &mut impl StepStore,
    actor: &TokenInfo,
    d: &Decision,
    policies: &PolicyCatalog,
    before: &Before<'_>,
    latest_in_batch: impl Fn(&str) -> Option<i64>,
) -> Result<Result<Judgement, DecisionResult>, StorageError> {
    let report_category = store.leading_category(&d.item_id)?;
    let (reporters, messaged) = if d.action == DecisionAction::SendSupport {
        unmessaged_reporters(store, &d.item_id)?
    } else {
        (Vec::new(), 0)
    };
    let facts = Facts {
        current: before.current,
        latest: before.latest,
        reversed: before.reversed,
        report_category: report_category.as_deref(),
        policies,
        author: before.author,
        support: rules::SupportReach {
            reachable: reporters.len(),
            messaged,
        },
    };
    let appeal = appeal_facts(store, &d.item_id, latest_in_batch)?;
    Ok(match appeals::judge(actor, d, &facts, appeal.as_ref()) {
        Verdict::Apply { after, reason_code } => Ok(Judgement {
            after,
            reason_code,
            appeal,
            reporters,
        }),
        Verdict::Refuse { outcome, message } => Err(result(d, outcome, Some(message))),
    })
}

/// Records the verdict deciding `appeal` with `d` gives; `true` when it overturns the
/// decision appealed, which the engine then reverses (see [`AuditRow::overturn`]).
pub fn decide_appeal(
    store: &mut impl StepStore,
    actor: &TokenInfo,
    d: &Decision,
    appeal: &AppealFacts,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let verdict = match d.action {
        DecisionAction::Overturn => AppealVerdict::Overturned,
        _ => AppealVerdict::Upheld,
    };
    store.set_appeal_verdict(appeal.appeal_id, verdict, actor, &ts(now))?;
    Ok(verdict == AppealVerdict::Overturned)
}

/// One audit row, in the stored forms, as both engines write it.
pub struct AuditRow {
    pub at: String,
    pub actor: String,
    pub actor_token_id: i64,
    pub role: String,
    pub action: String,
    pub item_id: String,
    pub reason_code: Option<String>,
    pub scope: Option<String>,
    pub note: Option<String>,
    /// `escalation_target`: escalations only.
    pub target: Option<String>,
    pub reverses: Option<String>,
    /// The audit row undone. On PostgreSQL, negative: a row of the batch not yet numbered.
    pub reverses_id: Option<i64>,
    pub key: String,
    pub body_hash: String,
    pub method: String,
    pub decided_at: String,
    pub from_state: String,
    pub from_scope: Option<String>,
    pub from_target: Option<String>,
    pub from_tier: Option<String>,
    pub to_state: String,
    pub to_tier: Option<String>,
    pub basis: Option<String>,
}

/// What a decision's audit row is written from, besides the decision.
pub struct Applied<'a> {
    pub actor: &'a TokenInfo,
    pub current: &'a ItemStatus,
    pub after: &'a ItemStatus,
    pub reason_code: Option<String>,
    /// The audit row of the decision it reverses.
    pub reversed_id: Option<i64>,
    pub body_hash: String,
    /// A take down's statement basis, as stored.
    pub basis: Option<String>,
    pub now: DateTime<Utc>,
}

impl AuditRow {
    /// The row a decision appends.
    pub fn decision(d: &Decision, a: Applied<'_>) -> Result<Self, StorageError> {
        // A take down records its own scope: what it restricts, which for one widening an
        // earlier restriction is more than the item's scope before it.
        let scope = match d.action {
            DecisionAction::TakeDown => Some(to_json(&d.scope.clone().unwrap_or_default())?),
            _ => None,
        };
        let target = match d.action {
            DecisionAction::Escalate => a.after.escalation_target.map(name_of).transpose()?,
            _ => None,
        };
        Ok(AuditRow {
            at: ts(a.now),
            actor: a.actor.name.clone(),
            actor_token_id: a.actor.id,
            role: a.actor.role.as_str().to_owned(),
            action: d.action.as_str().to_owned(),
            item_id: d.item_id.clone(),
            reason_code: a.reason_code,
            scope,
            note: d
                .note
                .as_deref()
                .filter(|n| !n.trim().is_empty())
                .map(str::to_owned),
            target,
            reverses: d.reverses.clone(),
            reverses_id: a.reversed_id,
            key: d.idempotency_key.clone(),
            body_hash: a.body_hash,
            method: d.method.as_str().to_owned(),
            decided_at: ts(rules::clamp_decided_at(d.decided_at, a.now)),
            from_state: a.current.state.as_str().to_owned(),
            from_scope: a.current.restricted_in.as_ref().map(to_json).transpose()?,
            from_target: a.current.escalation_target.map(name_of).transpose()?,
            from_tier: a.current.tier.map(name_of).transpose()?,
            to_state: a.after.state.as_str().to_owned(),
            to_tier: a.after.tier.map(name_of).transpose()?,
            basis: a.basis,
        })
    }

    /// The reversal an overturned appeal makes of the take down appealed, by the moderator
    /// who overturned it; `current` is its item's status before, `after` restored.
    pub fn overturn(
        actor: &TokenInfo,
        appeal: &AppealFacts,
        current: &ItemStatus,
        after: &ItemStatus,
        now: DateTime<Utc>,
    ) -> Result<Self, StorageError> {
        let original = &appeal.original;
        Ok(AuditRow {
            at: ts(now),
            actor: actor.name.clone(),
            actor_token_id: actor.id,
            role: actor.role.as_str().to_owned(),
            action: DecisionAction::Reverse.as_str().to_owned(),
            item_id: original.item_id.clone(),
            reason_code: None,
            scope: None,
            note: Some(format!("appeal {} overturned", appeal.appeal_id)),
            target: None,
            reverses: Some(original.idempotency_key.clone()),
            reverses_id: Some(original.audit_id),
            key: appeals::reversal_key(appeal.appeal_id),
            // Made by the server, not sent: bound to nothing a client could send again.
            body_hash: String::new(),
            method: DecisionMethod::Single.as_str().to_owned(),
            decided_at: ts(now),
            from_state: current.state.as_str().to_owned(),
            from_scope: current.restricted_in.as_ref().map(to_json).transpose()?,
            from_target: current.escalation_target.map(name_of).transpose()?,
            from_tier: current.tier.map(name_of).transpose()?,
            to_state: after.state.as_str().to_owned(),
            to_tier: after.tier.map(name_of).transpose()?,
            basis: None,
        })
    }
}

/// What a judged decision writes besides its item and audit row, in order: the account
/// measure it carries, the lifting of the one a reversed decision carried, and a support
/// message's outbox rows; a decision that decides the item ends its leases.
pub struct Judged<'a> {
    pub actor: &'a TokenInfo,
    pub decision: &'a Decision,
    /// The item's author, when the item names one.
    pub author: Option<&'a str>,
    pub reason_code: Option<&'a str>,
    pub reversed: Option<&'a AppliedDecision>,
    pub support: &'a SupportCatalog,
    /// A support message's reporters, from its [`Judgement`].
    pub reporters: &'a [ReporterAccount],
    pub now: DateTime<Utc>,
}

/// Writes what [`Judged`] says, and answers the decision applied.
pub fn finish(store: &mut impl StepStore, j: &Judged<'_>) -> Result<DecisionResult, StorageError> {
    let d = j.decision;
    if let (Some(measure), Some(account_id)) = (d.account, j.author) {
        store.insert_measure(&MeasureRow {
            account_id,
            item_id: &d.item_id,
            token_id: j.actor.id,
            key: &d.idempotency_key,
            action: measure.action.as_str(),
            days: measure.days,
            reason_code: j.reason_code,
            at: ts(j.now),
            until: account_rules::record(measure, j.now, None).until.map(ts),
        })?;
    }
    if let Some(undone) = j.reversed {
        // Undoing a take down lifts what it did to the account too.
        if let Some(token_id) = undone.actor_token_id {
            store.lift_measure(token_id, &undone.idempotency_key, &ts(j.now))?;
        }
    }
    if d.action == DecisionAction::SendSupport {
        send_support(store, j, d)?;
        // The item is still to be decided: whoever reviews it keeps it.
        return Ok(result(d, DecisionOutcome::Applied, None));
    }
    // Decided: there is nothing left to review undisturbed, whoever was reviewing it.
    store.end_leases(&d.item_id)?;
    Ok(result(d, DecisionOutcome::Applied, None))
}

/// The reporters of an item the server can message and has not sent support resources about
/// it yet, each once, in the order they reported. A reporter hears from the server once about
/// an item, however many moderators press `H` on it and with whatever keys: a token must not
/// be able to message someone who reported a post about suicide over and over.
fn unmessaged_reporters(
    store: &mut impl StepStore,
    item_id: &str,
) -> Result<(Vec<ReporterAccount>, usize), StorageError> {
    // Sets, not scans of those found: a post 100,000 people reported names 100,000.
    let messaged: std::collections::HashSet<String> =
        store.messaged(item_id)?.into_iter().collect();
    let mut seen = std::collections::HashSet::new();
    let mut found: Vec<ReporterAccount> = Vec::new();
    for text in store.reporter_texts(item_id)? {
        let reporter: ReporterAccount = from_json("reporter", &text)?;
        if !messaged.contains(&reporter.id) && seen.insert(reporter.id.clone()) {
            found.push(reporter);
        }
    }
    Ok((found, messaged.len()))
}

/// One message per reporter of `d`'s item not sent one about it yet (as judging found them),
/// with the resources for their country as the catalog has them now.
fn send_support(
    store: &mut impl StepStore,
    j: &Judged<'_>,
    d: &Decision,
) -> Result<(), StorageError> {
    for reporter in j.reporters {
        let body = rules::support_body(j.support, reporter.country.as_deref());
        store.queue_support(&SupportRow {
            recipient: &reporter.id,
            country: reporter.country.as_deref(),
            item_id: &d.item_id,
            body: to_json(&body)?,
            token_id: j.actor.id,
            key: &d.idempotency_key,
            created_at: ts(j.now),
        })?;
    }
    Ok(())
}

/// What lodging `appeal` finds: the decision appealed and its item as it is now, or why it
/// may not be appealed. The engine then files the appeal's item and row.
pub fn appeal_to_lodge(
    store: &mut impl StepStore,
    appeal: &NewAppeal,
    now: DateTime<Utc>,
) -> Result<Result<(AppliedDecision, Item), AppealRefusal>, StorageError> {
    if let Err(message) = appeals::check_statement(&appeal.statement) {
        return Ok(Err(AppealRefusal::Invalid(message)));
    }
    let decision = match appeals::decision_number(&appeal.decision) {
        Some(n) => store.applied_by_id(n)?,
        None => None,
    };
    let target = match decision {
        Some(decision) => {
            let appealed = store.appeal_against(decision.audit_id)?;
            Some(Target {
                reversed: store.is_reversed(decision.audit_id)?,
                appealed: appealed.map(|(id, o)| (id, o.as_deref().and_then(AppealVerdict::parse))),
                decision,
            })
        }
        None => None,
    };
    if let Err(refusal) = appeals::may_lodge(&appeal.decision, target.as_ref(), now) {
        return Ok(Err(refusal));
    }
    let Some(Target { decision, .. }) = target else {
        return Err(corrupt(
            "appeal",
            "a decision passed the check without being found",
        ));
    };
    let appeal_item = appeals::appeal_item_id(decision.audit_id);
    if store.item_exists(&appeal_item)? {
        return Ok(Err(AppealRefusal::NotAppealable(format!(
            "the appeal's item id {appeal_item:?} is taken by a reported item; ask the operator"
        ))));
    }
    let item = store.item(&decision.item_id)?.ok_or_else(|| {
        corrupt(
            "audit row",
            format!("item {:?} is missing", decision.item_id),
        )
    })?;
    Ok(Ok((decision, item)))
}

/// The columns of audit row `a` a [`TakeDownRow`] is read from, in its order.
pub const TAKE_DOWN_COLUMNS: &str =
    "a.id, a.at, a.reason_code, a.scope, a.item_id, a.basis, a.actor_token_id, a.idempotency_key";

/// A take down's audit row as stored, before its item, appeal and account measure are read.
pub struct TakeDownRow {
    pub audit_id: i64,
    pub at: String,
    pub reason_code: Option<String>,
    pub scope: Option<String>,
    pub item_id: String,
    pub basis: Option<String>,
    pub token_id: Option<i64>,
    pub key: String,
}

impl TakeDownRow {
    /// The take down whole, as statements of reasons and appeals state it: its item now, the
    /// outcome of its appeal and the account measure it carried. A missing item is a
    /// corrupt `what`.
    pub fn read(
        self,
        store: &mut impl StepStore,
        what: &str,
    ) -> Result<TakeDownRecord, StorageError> {
        let item = store
            .item(&self.item_id)?
            .ok_or_else(|| corrupt(what, format!("item {:?} is missing", self.item_id)))?;
        let basis = match opt_json("decision basis", self.basis.as_deref())? {
            Some(basis) => basis,
            // Take downs from before schema 8 froze no basis: the item as it is now stands
            // in, with its tally of every report (the item read lists only the newest, and a
            // trusted flagger's report older than those still makes the statement's source).
            None => DecisionBasis::of(&item, DecisionMethod::Single),
        };
        Ok(TakeDownRecord {
            audit_id: self.audit_id,
            applied_at: parse_ts(&self.at)?,
            reason_code: self.reason_code,
            scope: opt_json::<Scope>("scope", self.scope.as_deref())?.unwrap_or_default(),
            basis: Some(basis),
            item,
            appeal: store.appeal_outcome(self.audit_id)?,
            account: store.measure_of(self.token_id, &self.key)?,
        })
    }
}

/// An appeal's outcome, from its row's columns (`None`: not decided yet).
pub fn appeal_outcome(
    verdict: Option<&str>,
    decided_by: Option<String>,
    decided_at: Option<&str>,
) -> Result<Option<AppealOutcome>, StorageError> {
    let (Some(verdict), Some(decided_by), Some(decided_at)) =
        (verdict, decided_by, parse_opt_ts(decided_at)?)
    else {
        return Ok(None);
    };
    let verdict =
        AppealVerdict::parse(verdict).ok_or_else(|| corrupt("appeal outcome", verdict))?;
    Ok(Some(AppealOutcome {
        verdict,
        decided_by,
        decided_at,
    }))
}

/// An account measure from its row's columns.
pub fn stored_measure(action: &str, days: Option<u32>) -> Result<AccountMeasure, StorageError> {
    let action = AccountAction::parse(action).ok_or_else(|| corrupt("account action", action))?;
    Ok(AccountMeasure { action, days })
}

/// An author's standing as stored, before the HTTP layer weighs it with the catalog: the
/// measures not lifted (newest first) and when the account was made, as the accounts table
/// knows it or else as the item says.
pub fn standing(
    author: &Author,
    known_created_at: Option<DateTime<Utc>>,
    recent: Vec<AccountMeasureRecord>,
) -> AccountStanding {
    AccountStanding {
        account_id: author.id.clone(),
        created_at: known_created_at.or(author.created_at),
        window_days: 0,
        strikes_in_window: 0,
        recent,
        in_force: None,
        proposal: None,
        counts: None,
    }
}
