//! Carrying out decisions on a homeserver, each exactly once however often it is sent.
//!
//! Every step is idempotent on its own: the redaction is sent with the decision's
//! idempotency key as its transaction id (Synapse answers a repeated PUT with the same
//! redaction), a report closed twice answers 404 (taken as closed), suspending, shadow-banning
//! and blocking set a state. Reports are closed last, so a decision cut short by a crash is
//! finished by the same decision sent again. With a management room, a record of each
//! decision is written there once it is done: sent again, it is answered `duplicate`, and an
//! undo reads from it what to lift.

use std::collections::{HashMap, HashSet};

use reqwest::Method;
use serde_json::json;

use super::api::seg;
use super::catalog::Action;
use super::items::ItemRef;
use super::room::{self, Escalation, Record, Snapshot};
use super::wire::{DeleteStarted, DeleteStatus, EventId, EventReport, UserReport};
use super::{CONCURRENCY, SynapseBackend, lock};
use crate::backend::BackendError;
use crate::model::{
    Decision, DecisionAction, DecisionOutcome, DecisionResult, EscalationTier, Scope,
};

/// Why a support message is refused here (the capability says it before a key is pressed).
const NO_SUPPORT_MESSAGES: &str = "Synapse's admin API has no way to message a reporter: modq sends no support resources on Matrix";

/// What one batch knows before it acts: the room's state and every open report of the rooms
/// and accounts it names, read once for the whole batch.
struct Batch<'a> {
    b: &'a SynapseBackend,
    me: String,
    snapshot: Option<Snapshot>,
    events: HashMap<String, HashMap<String, Vec<EventReport>>>,
    users: HashMap<String, Vec<UserReport>>,
}

pub async fn send(
    b: &SynapseBackend,
    decisions: &[Decision],
) -> Result<Vec<DecisionResult>, BackendError> {
    if decisions.is_empty() {
        return Ok(Vec::new());
    }
    let me = b.user().await?.to_string();
    let snapshot = b.snapshot().await?;
    let mut rooms = HashSet::new();
    let mut accounts = HashSet::new();
    for d in decisions
        .iter()
        .filter(|d| d.action != DecisionAction::Reverse)
    {
        match ItemRef::parse(&d.item_id) {
            Ok(ItemRef::Event { room, .. }) => {
                rooms.insert(room);
            }
            Ok(ItemRef::User { user }) => {
                accounts.insert(user);
            }
            Err(_) => {}
        }
    }
    let mut events = HashMap::new();
    for room in rooms {
        let reports = b.reports_in_room(&room).await?;
        events.insert(room, reports);
    }
    let mut users = HashMap::new();
    for user in accounts {
        let reports = b.reports_on_user(&user).await?;
        users.insert(user, reports);
    }
    let batch = Batch {
        b,
        me,
        snapshot,
        events,
        users,
    };
    let mut results = Vec::with_capacity(decisions.len());
    // Decisions on distinct items go out together; a second decision on one item (an undo
    // right behind its decision) waits for the first.
    for run in runs(decisions) {
        let mut outcomes = Vec::with_capacity(run.len());
        for chunk in run.chunks(CONCURRENCY) {
            outcomes.extend(futures::future::join_all(chunk.iter().map(|d| batch.decide(d))).await);
        }
        for (d, outcome) in run.iter().zip(outcomes) {
            match outcome {
                Ok(r) => results.push(r),
                // Worth another try (or the token is gone): this one and the rest go again.
                Err(e) if e.is_retryable() || matches!(e, BackendError::Unauthorized(_)) => {
                    if results.is_empty() {
                        return Err(e);
                    }
                    return Ok(results);
                }
                Err(e) => results.push(answer(d, DecisionOutcome::Invalid, e.to_string())),
            }
        }
    }
    Ok(results)
}

/// Consecutive runs of decisions on distinct items.
fn runs(decisions: &[Decision]) -> Vec<&[Decision]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut items: HashSet<&str> = HashSet::new();
    for (i, d) in decisions.iter().enumerate() {
        if !items.insert(&d.item_id) {
            out.push(decisions.get(start..i).unwrap_or_default());
            start = i;
            items.clear();
            items.insert(&d.item_id);
        }
    }
    out.push(decisions.get(start..).unwrap_or_default());
    out
}

fn answer(d: &Decision, outcome: DecisionOutcome, message: impl Into<String>) -> DecisionResult {
    DecisionResult {
        idempotency_key: d.idempotency_key.clone(),
        outcome,
        message: Some(message.into()),
    }
}

fn codes() -> String {
    Action::ALL
        .iter()
        .map(|a| a.code())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Batch<'_> {
    fn record_of(&self, key: &str) -> Option<Record> {
        lock(&self.b.applied).get(key).cloned().or_else(|| {
            self.snapshot
                .as_ref()
                .and_then(|s| s.decisions.get(key).cloned())
        })
    }

    async fn decide(&self, d: &Decision) -> Result<DecisionResult, BackendError> {
        let item = match ItemRef::parse(&d.item_id) {
            Ok(item) => item,
            Err(e) => return Ok(answer(d, DecisionOutcome::NotFound, e.to_string())),
        };
        if self.record_of(&d.idempotency_key).is_some() {
            return Ok(answer(
                d,
                DecisionOutcome::Duplicate,
                "already carried out on the homeserver",
            ));
        }
        if d.account.is_some() {
            // Never sent by modq's TUI here (no account step on Matrix): refused, not dropped.
            return Ok(answer(
                d,
                DecisionOutcome::Invalid,
                "on Matrix an account action is one of T's reasons (suspend, shadow-ban, \
                 deactivate), not a measure with the take down",
            ));
        }
        if d.action != DecisionAction::Reverse
            && let Some(holder) = self
                .snapshot
                .as_ref()
                .and_then(|s| s.holder(&d.item_id, room::now_ms()))
                .filter(|c| c.holder != self.me)
        {
            return Ok(answer(
                d,
                DecisionOutcome::Conflict,
                format!(
                    "{} is reviewing it (their claim is in the management room)",
                    holder.holder
                ),
            ));
        }
        let done = match d.action {
            DecisionAction::TakeDown => self.take_down(d, &item).await?,
            DecisionAction::Keep => self.keep(d, &item).await?,
            DecisionAction::Escalate => self.escalate(d).await?,
            DecisionAction::Reverse => return self.reverse(d).await,
            DecisionAction::Uphold | DecisionAction::Overturn => {
                return Ok(answer(d, DecisionOutcome::Invalid, "Matrix has no appeals"));
            }
            DecisionAction::SendSupport => {
                return Ok(answer(d, DecisionOutcome::Invalid, NO_SUPPORT_MESSAGES));
            }
        };
        let (record, said) = match done {
            Ok(done) => done,
            Err(refusal) => return Ok(refusal),
        };
        self.settle(d, record).await?;
        Ok(answer(d, DecisionOutcome::Applied, said))
    }

    /// Keep the record, take the item out of escalation once decided, hand back the claim.
    async fn settle(&self, d: &Decision, record: Record) -> Result<(), BackendError> {
        lock(&self.b.applied).insert(d.idempotency_key.clone(), record.clone());
        let Some(room) = self.b.room().await? else {
            return Ok(());
        };
        room.put(&self.b.api, room::DECISION, &d.idempotency_key, &record)
            .await?;
        if d.action != DecisionAction::Escalate
            && self
                .snapshot
                .as_ref()
                .is_some_and(|s| s.escalations.contains_key(&d.item_id))
        {
            room.clear(&self.b.api, room::ESCALATION, &d.item_id)
                .await?;
        }
        if self
            .snapshot
            .as_ref()
            .is_some_and(|s| s.own(&d.item_id, &self.me).is_some())
        {
            room.release(&self.b.api, &d.item_id, &self.me).await?;
        }
        Ok(())
    }

    fn record(&self, d: &Decision) -> Record {
        Record {
            item: d.item_id.clone(),
            action: d.action,
            reason_code: d.reason_code.clone(),
            by: self.me.clone(),
            at: d.decided_at,
            account: None,
            room: None,
            closed: Vec::new(),
            redaction: None,
            replaced: None,
            reversed: false,
        }
    }

    fn event_reports(&self, room: &str, event: &str) -> Vec<EventReport> {
        self.events
            .get(room)
            .and_then(|m| m.get(event))
            .cloned()
            .unwrap_or_default()
    }

    fn user_reports(&self, user: &str) -> Vec<UserReport> {
        self.users.get(user).cloned().unwrap_or_default()
    }

    async fn take_down(
        &self,
        d: &Decision,
        item: &ItemRef,
    ) -> Result<Result<(Record, String), DecisionResult>, BackendError> {
        if matches!(d.scope, Some(Scope::Countries(_))) {
            return Ok(Err(answer(
                d,
                DecisionOutcome::Invalid,
                "Matrix cannot limit a take down to countries: a redaction applies everywhere",
            )));
        }
        let on_user = matches!(item, ItemRef::User { .. });
        let Some(action) = Action::parse(d.reason_code.as_deref(), on_user) else {
            return Ok(Err(answer(
                d,
                DecisionOutcome::Invalid,
                format!(
                    "{:?} is no Matrix action; T offers {}",
                    d.reason_code.as_deref().unwrap_or_default(),
                    codes()
                ),
            )));
        };
        let mut record = self.record(d);
        let mut said = Vec::new();
        match item {
            ItemRef::User { user } => {
                if !action.is_account() {
                    return Ok(Err(answer(
                        d,
                        DecisionOutcome::Invalid,
                        "a user report names no message or room: suspend, shadow_ban or \
                         deactivate the account",
                    )));
                }
                said.push(self.account_action(action, user).await?);
                record.account = Some(user.clone());
                let reports = self.user_reports(user);
                record.closed = self.close_user_reports(&reports).await?;
            }
            ItemRef::Event { room, event } => {
                let reports = self.event_reports(room, event);
                let sender = reports.first().and_then(|r| r.sender.clone());
                if action == Action::DeleteRoom {
                    said.push(self.delete_room(room, d).await?);
                    record.room = Some(room.clone());
                } else {
                    let (words, redaction) = self.redact(room, event, d).await?;
                    said.push(words);
                    record.redaction = redaction;
                }
                if action.is_account() {
                    match &sender {
                        Some(sender) => {
                            said.push(self.account_action(action, sender).await?);
                            record.account = Some(sender.clone());
                        }
                        None => said.push(
                            "no open report was left to name the sender: no account action".into(),
                        ),
                    }
                }
                if action == Action::BlockRoom {
                    self.block_room(room, true).await?;
                    said.push(format!("blocked {room}"));
                    record.room = Some(room.clone());
                }
                record.closed = self.close_event_reports(&reports).await?;
            }
        }
        said.push(format!("closed {} report(s)", record.closed.len()));
        Ok(Ok((record, said.join("; "))))
    }

    async fn keep(
        &self,
        d: &Decision,
        item: &ItemRef,
    ) -> Result<Result<(Record, String), DecisionResult>, BackendError> {
        let mut record = self.record(d);
        record.closed = match item {
            ItemRef::Event { room, event } => {
                let reports = self.event_reports(room, event);
                self.close_event_reports(&reports).await?
            }
            ItemRef::User { user } => {
                let reports = self.user_reports(user);
                self.close_user_reports(&reports).await?
            }
        };
        let said = format!(
            "closed {} report(s); the message or account stays as it is",
            record.closed.len()
        );
        Ok(Ok((record, said)))
    }

    async fn escalate(
        &self,
        d: &Decision,
    ) -> Result<Result<(Record, String), DecisionResult>, BackendError> {
        let Some(room) = self.b.room().await? else {
            return Ok(Err(answer(
                d,
                DecisionOutcome::Invalid,
                "Matrix has no escalation: name a management room in the profile",
            )));
        };
        let tier = d.escalation_target.unwrap_or(EscalationTier::Senior);
        let mut record = self.record(d);
        record.replaced = self
            .snapshot
            .as_ref()
            .and_then(|s| s.escalations.get(&d.item_id).cloned());
        let escalation = Escalation {
            tier,
            by: self.me.clone(),
            at: d.decided_at,
            note: d.note.clone(),
            key: d.idempotency_key.clone(),
        };
        room.put(&self.b.api, room::ESCALATION, &d.item_id, &escalation)
            .await?;
        let note = d
            .note
            .as_deref()
            .map(|n| format!(": {n}"))
            .unwrap_or_default();
        let text = format!(
            "modq: {} escalated {} to the {}{note}",
            self.me,
            d.item_id,
            tier.label()
        );
        room.notice(
            &self.b.api,
            &format!("escalate-{}", d.idempotency_key),
            &text,
        )
        .await?;
        Ok(Ok((record, format!("escalated to the {}", tier.label()))))
    }

    /// Undo: lift what Matrix can lift, and say plainly what stands.
    async fn reverse(&self, d: &Decision) -> Result<DecisionResult, BackendError> {
        let Some(key) = d.reverses.as_deref() else {
            return Ok(answer(
                d,
                DecisionOutcome::Invalid,
                "a reversal names the decision it undoes",
            ));
        };
        let Some(mut original) = self.record_of(key) else {
            return Ok(answer(
                d,
                DecisionOutcome::Invalid,
                "modq holds no record of that decision on this homeserver (without a \
                 management room, records last only while modq runs)",
            ));
        };
        match original.action {
            DecisionAction::Escalate => {
                if !original.reversed {
                    if let Some(room) = self.b.room().await? {
                        match &original.replaced {
                            Some(before) => {
                                room.put(&self.b.api, room::ESCALATION, &original.item, before)
                                    .await?
                            }
                            None => {
                                room.clear(&self.b.api, room::ESCALATION, &original.item)
                                    .await?
                            }
                        }
                    }
                    original.reversed = true;
                    self.keep_record(key, &original).await?;
                }
                Ok(answer(
                    d,
                    DecisionOutcome::Applied,
                    "the escalation is withdrawn",
                ))
            }
            DecisionAction::Keep => Ok(answer(
                d,
                DecisionOutcome::Conflict,
                format!(
                    "Matrix cannot reopen a closed report: the {} report(s) stay closed",
                    original.closed.len()
                ),
            )),
            DecisionAction::TakeDown => {
                let on_user =
                    ItemRef::parse(&original.item).is_ok_and(|i| matches!(i, ItemRef::User { .. }));
                let action = Action::parse(original.reason_code.as_deref(), on_user);
                let mut said = Vec::new();
                if !original.reversed {
                    match (action, &original.account, &original.room) {
                        (Some(Action::Suspend), Some(user), _) => {
                            self.suspend(user, false).await?;
                            said.push(format!("lifted the suspension of {user}"));
                        }
                        (Some(Action::ShadowBan), Some(user), _) => {
                            self.shadow_ban(user, false).await?;
                            said.push(format!("lifted the shadow-ban of {user}"));
                        }
                        (Some(Action::BlockRoom), _, Some(room)) => {
                            self.block_room(room, false).await?;
                            said.push(format!("unblocked {room}"));
                        }
                        _ => {}
                    }
                    if !said.is_empty() {
                        original.reversed = true;
                        self.keep_record(key, &original).await?;
                    }
                }
                match action {
                    Some(Action::Deactivate) => said.push(
                        "the account stays deactivated: Matrix cannot undo a deactivation".into(),
                    ),
                    Some(Action::DeleteRoom) => said.push(
                        "the room stays deleted: Matrix cannot undo a deleted, purged room".into(),
                    ),
                    _ => {}
                }
                if original.redaction.is_some() {
                    said.push("the redaction stands: Matrix cannot undo a redaction".into());
                }
                said.push(format!(
                    "the {} report(s) stay closed: Matrix cannot reopen a report",
                    original.closed.len()
                ));
                Ok(answer(d, DecisionOutcome::Conflict, said.join("; ")))
            }
            DecisionAction::Reverse => Ok(answer(
                d,
                DecisionOutcome::Invalid,
                "an undo is not undone: decide the item again",
            )),
            DecisionAction::Uphold | DecisionAction::Overturn => {
                Ok(answer(d, DecisionOutcome::Invalid, "Matrix has no appeals"))
            }
            DecisionAction::SendSupport => {
                Ok(answer(d, DecisionOutcome::Invalid, NO_SUPPORT_MESSAGES))
            }
        }
    }

    async fn keep_record(&self, key: &str, record: &Record) -> Result<(), BackendError> {
        lock(&self.b.applied).insert(key.to_string(), record.clone());
        if let Some(room) = self.b.room().await? {
            room.put(&self.b.api, room::DECISION, key, record).await?;
        }
        Ok(())
    }

    /// Join the room and take power in it, once per room and process (both are idempotent).
    async fn empower(&self, room: &str) -> Result<(), BackendError> {
        if lock(&self.b.empowered).contains(room) {
            return Ok(());
        }
        let body = json!({"user_id": self.me});
        let _: serde_json::Value = self
            .b
            .api
            .send(
                Method::POST,
                &format!("/_synapse/admin/v1/join/{}", seg(room)),
                &body,
            )
            .await?;
        let _: serde_json::Value = self
            .b
            .api
            .send(
                Method::POST,
                &format!("/_synapse/admin/v1/rooms/{}/make_room_admin", seg(room)),
                &body,
            )
            .await?;
        lock(&self.b.empowered).insert(room.to_string());
        Ok(())
    }

    /// The redaction, with the decision's key as its transaction id: sent again, Synapse
    /// answers with the same redaction event and redacts nothing more.
    async fn redact(
        &self,
        room: &str,
        event: &str,
        d: &Decision,
    ) -> Result<(String, Option<String>), BackendError> {
        self.empower(room).await?;
        let mut reason = format!(
            "modq: {}",
            d.reason_code.as_deref().unwrap_or(Action::Redact.code())
        );
        if let Some(note) = &d.note {
            reason.push_str(": ");
            reason.push_str(note);
        }
        let sent = self
            .b
            .api
            .send::<EventId, _>(
                Method::PUT,
                &format!(
                    "/_matrix/client/v3/rooms/{}/redact/{}/{}",
                    seg(room),
                    seg(event),
                    seg(&d.idempotency_key)
                ),
                &json!({"reason": reason}),
            )
            .await;
        match sent {
            Ok(sent) => Ok(("redacted the message".into(), Some(sent.event_id))),
            Err(f) if f.is_not_found() => Ok((
                "the message is no longer on the homeserver: nothing to redact".into(),
                None,
            )),
            Err(f) => Err(f.into()),
        }
    }

    async fn account_action(&self, action: Action, user: &str) -> Result<String, BackendError> {
        match action {
            Action::Suspend => {
                self.suspend(user, true).await?;
                Ok(format!("suspended {user}"))
            }
            Action::ShadowBan => {
                self.shadow_ban(user, true).await?;
                Ok(format!("shadow-banned {user}"))
            }
            Action::Deactivate => {
                let _: serde_json::Value = self
                    .b
                    .api
                    .send(
                        Method::POST,
                        &format!("/_synapse/admin/v1/deactivate/{}", seg(user)),
                        &json!({"erase": false}),
                    )
                    .await?;
                Ok(format!("deactivated {user}"))
            }
            Action::Redact | Action::BlockRoom | Action::DeleteRoom => Ok(String::new()),
        }
    }

    async fn suspend(&self, user: &str, on: bool) -> Result<(), BackendError> {
        let _: serde_json::Value = self
            .b
            .api
            .send(
                Method::PUT,
                &format!("/_synapse/admin/v1/suspend/{}", seg(user)),
                &json!({"suspend": on}),
            )
            .await?;
        Ok(())
    }

    async fn shadow_ban(&self, user: &str, on: bool) -> Result<(), BackendError> {
        let method = if on { Method::POST } else { Method::DELETE };
        let _: serde_json::Value = self
            .b
            .api
            .send(
                method,
                &format!("/_synapse/admin/v1/users/{}/shadow_ban", seg(user)),
                &json!({}),
            )
            .await?;
        Ok(())
    }

    async fn block_room(&self, room: &str, on: bool) -> Result<(), BackendError> {
        let _: serde_json::Value = self
            .b
            .api
            .send(
                Method::PUT,
                &format!("/_synapse/admin/v1/rooms/{}/block", seg(room)),
                &json!({"block": on}),
            )
            .await?;
        Ok(())
    }

    /// Delete, purge and block the room, waiting (a minute at most) for Synapse to finish.
    async fn delete_room(&self, room: &str, d: &Decision) -> Result<String, BackendError> {
        let started = self
            .b
            .api
            .send::<DeleteStarted, _>(
                Method::DELETE,
                &format!("/_synapse/admin/v2/rooms/{}", seg(room)),
                &json!({"block": true, "purge": true,
                        "message": d.note.clone().unwrap_or_else(|| "This room was removed by the homeserver's moderators.".into())}),
            )
            .await;
        let started = match started {
            Ok(s) => s,
            Err(f) if f.is_not_found() => return Ok(format!("{room} was already gone")),
            Err(f) => return Err(f.into()),
        };
        for _ in 0..600 {
            let status: DeleteStatus = self
                .b
                .api
                .get(
                    &format!(
                        "/_synapse/admin/v2/rooms/delete_status/{}",
                        seg(&started.delete_id)
                    ),
                    &[],
                )
                .await?;
            match status.status.as_str() {
                "complete" => return Ok(format!("deleted, purged and blocked {room}")),
                "failed" => {
                    return Err(BackendError::Server {
                        status: 500,
                        message: format!(
                            "Synapse could not delete {room}: {}",
                            status.error.unwrap_or_default()
                        ),
                    });
                }
                _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
        Err(BackendError::Timeout(60))
    }

    async fn close(&self, path: String) -> Result<bool, BackendError> {
        match self
            .b
            .api
            .send::<serde_json::Value, _>(Method::DELETE, &path, &json!({}))
            .await
        {
            Ok(_) => Ok(true),
            // Closed already: by this decision before a crash, or by someone else.
            Err(f) if f.is_not_found() => Ok(false),
            Err(f) => Err(f.into()),
        }
    }

    async fn close_event_reports(&self, reports: &[EventReport]) -> Result<Vec<i64>, BackendError> {
        let mut closed = Vec::new();
        for r in reports {
            self.close(format!("/_synapse/admin/v1/event_reports/{}", r.id))
                .await?;
            closed.push(r.id);
        }
        Ok(closed)
    }

    async fn close_user_reports(&self, reports: &[UserReport]) -> Result<Vec<i64>, BackendError> {
        let mut closed = Vec::new();
        for r in reports {
            self.close(format!("/_synapse/admin/v1/user_reports/{}", r.id))
                .await?;
            closed.push(r.id);
        }
        Ok(closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(item: &str) -> Decision {
        Decision {
            idempotency_key: crate::store::new_key(),
            item_id: item.into(),
            action: DecisionAction::TakeDown,
            reason_code: None,
            note: None,
            scope: None,
            escalation_target: None,
            reverses: None,
            decided_at: chrono::Utc::now(),
            method: crate::model::DecisionMethod::Single,
            account: None,
        }
    }

    #[test]
    fn a_second_decision_on_an_item_waits_for_the_first() {
        let batch = [d("a"), d("b"), d("a"), d("c"), d("c")];
        let sizes: Vec<usize> = runs(&batch).iter().map(|r| r.len()).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
    }
}
