//! modq's decisions as Ozone events, each one `emitEvent` carrying the decision's
//! idempotency key as `externalId` (and in `modTool.meta`, where an undo finds it again).
//!
//! What each decision becomes:
//! - take down: `modEventTakedown` (the subject leaves the queue, `takendown`);
//! - keep: `modEventAcknowledge` (review closed, the subject stays up);
//! - escalate: `modEventEscalate` (review escalated);
//! - undo of a take down: `modEventReverseTakedown` (up again; the review stays closed:
//!   Ozone has no event that puts a subject back in the open queue, only a new report does).
//!   An acknowledge or an escalation cannot be undone on Ozone: the undo is answered
//!   `invalid` with that sentence, and the event stays in Ozone's history.
//!
//! - uphold an appeal: `modEventResolveAppeal` (the take down stands), then
//!   `modEventAcknowledge`: on the installed Ozone (0.4.2) resolving an appeal only clears
//!   `appealed`, and the subject would stay in the escalated queue the appeal put it in;
//! - overturn an appeal: `modEventReverseTakedown` (up again, review closed), then
//!   `modEventResolveAppeal`.
//!
//! Each event of an appeal's decision carries the decision's key as its `externalId`
//! (Ozone refuses a repeat per event type and subject, `DuplicateExternalId`), so a decision
//! sent again after a crash between its two events completes it and adds nothing. Ozone
//! itself lets anyone on the team resolve any appeal: modq refuses the moderator who took
//! the subject down (EU DSA Article 20) before sending anything.
//!
//! Decisions on different subjects go out side by side (a few at a time); those on one
//! subject go in the order they were made.

use std::collections::HashMap;

use futures::StreamExt;

use super::OzoneBackend;
use super::mapping;
use super::wire::{self, EmitEvent, Emitted, ModTool, ModToolMeta, SubjectRef};
use super::xrpc::Failure;
use crate::backend::BackendError;
use crate::model::{Decision, DecisionAction, DecisionOutcome, DecisionResult, Scope};

/// The most decisions one `send_decisions` call takes (each is its own request).
pub const MAX_BATCH: usize = 500;
/// Requests in flight at once: enough to hide the round trip, few enough for one Ozone.
const IN_FLIGHT: usize = 8;
/// modq's own limit on an idempotency key.
const MAX_KEY_CHARS: usize = 256;

/// Send a batch: results for the whole batch, or for its leading part when a request could
/// not be answered (the rest goes again later, and a decision that did land then answers
/// `duplicate`). An error only when the first decision was not answered.
pub async fn send(
    backend: &OzoneBackend,
    decisions: &[Decision],
) -> Result<Vec<DecisionResult>, BackendError> {
    // Decisions grouped by subject, each group in order, groups in order of first sight.
    let mut order: Vec<&str> = Vec::new();
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, d) in decisions.iter().enumerate() {
        groups
            .entry(d.item_id.as_str())
            .or_insert_with(|| {
                order.push(d.item_id.as_str());
                Vec::new()
            })
            .push(i);
    }
    let mut runs: Vec<Vec<usize>> = Vec::with_capacity(order.len());
    for id in order {
        if let Some(run) = groups.remove(id) {
            runs.push(run);
        }
    }
    let answered: Vec<Vec<(usize, Result<DecisionResult, BackendError>)>> =
        futures::stream::iter(runs)
            .map(|run| async move {
                let mut out = Vec::with_capacity(run.len());
                for i in run {
                    let Some(d) = decisions.get(i) else { continue };
                    let answer = decide(backend, d).await;
                    let failed = answer.is_err();
                    out.push((i, answer));
                    if failed {
                        // The rest of this subject's decisions wait behind the one not
                        // answered, in order.
                        break;
                    }
                }
                out
            })
            .buffer_unordered(IN_FLIGHT)
            .collect()
            .await;
    let mut by_index: Vec<Option<Result<DecisionResult, BackendError>>> =
        (0..decisions.len()).map(|_| None).collect();
    for (i, answer) in answered.into_iter().flatten() {
        if let Some(slot) = by_index.get_mut(i) {
            *slot = Some(answer);
        }
    }
    let mut results = Vec::with_capacity(decisions.len());
    for slot in by_index {
        match slot {
            Some(Ok(result)) => results.push(result),
            Some(Err(e)) if results.is_empty() => return Err(e),
            Some(Err(e)) => {
                tracing::warn!(error = %e, answered = results.len(), "Ozone did not answer every decision");
                break;
            }
            None => break,
        }
    }
    Ok(results)
}

fn answer(d: &Decision, outcome: DecisionOutcome, message: Option<String>) -> DecisionResult {
    DecisionResult {
        idempotency_key: d.idempotency_key.clone(),
        outcome,
        message,
    }
}

/// One decision: its result, or an error when Ozone could not be asked (try again).
async fn decide(backend: &OzoneBackend, d: &Decision) -> Result<DecisionResult, BackendError> {
    let key = d.idempotency_key.as_str();
    if key.trim().is_empty() || key.chars().count() > MAX_KEY_CHARS {
        return Ok(answer(
            d,
            DecisionOutcome::Invalid,
            Some(format!(
                "an idempotency key is 1 to {MAX_KEY_CHARS} characters"
            )),
        ));
    }
    if matches!(d.scope, Some(Scope::Countries(_))) {
        return Ok(answer(
            d,
            DecisionOutcome::Invalid,
            Some(
                "Ozone takes down everywhere: it has no take down limited to some countries".into(),
            ),
        ));
    }
    let Some(subject) = backend.subject_ref(&d.item_id).await? else {
        return Ok(answer(
            d,
            DecisionOutcome::NotFound,
            Some("Ozone does not know this subject".into()),
        ));
    };
    if d.action == DecisionAction::Reverse
        && let Some(refusal) = reversible(backend, d).await?
    {
        return Ok(answer(d, DecisionOutcome::Invalid, Some(refusal)));
    }
    if d.action.decides_appeal() {
        return decide_appeal(backend, d, &subject).await;
    }
    if d.account.is_some() {
        // Never sent by modq's TUI here (no account step on Ozone): refused, not dropped.
        let why = "modq sends no account measure with an Ozone take down: Ozone acts on an \
                   account as a subject of its own";
        return Ok(answer(d, DecisionOutcome::Invalid, Some(why.into())));
    }
    let event = match mapping::event_for(d.action, d.note.as_deref(), d.reason_code.as_deref()) {
        Ok(event) => event,
        Err(why) => return Ok(answer(d, DecisionOutcome::Invalid, Some(why))),
    };
    emit(backend, d, &subject, event).await
}

/// Whether the decision an undo names can be reversed on Ozone: `None` when it is a take
/// down modq emitted on this subject; otherwise the sentence saying why not.
async fn reversible(backend: &OzoneBackend, d: &Decision) -> Result<Option<String>, BackendError> {
    let Some(original) = d.reverses.as_deref() else {
        return Ok(Some("an undo names the decision it reverses".into()));
    };
    let events = backend
        .events(
            &d.item_id,
            &[
                wire::EVENT_TAKEDOWN,
                wire::EVENT_ACKNOWLEDGE,
                wire::EVENT_ESCALATE,
                wire::EVENT_RESOLVE_APPEAL,
            ],
            1000,
        )
        .await?;
    if events
        .iter()
        .any(|e| e.event.kind == wire::EVENT_RESOLVE_APPEAL && carries(e, original))
    {
        return Ok(Some(
            "an appeal's outcome is final: Ozone holds this appeal resolved".into(),
        ));
    }
    let found = events.iter().find(|e| carries(e, original));
    Ok(match found.map(|e| e.event.kind.as_str()) {
        Some(wire::EVENT_TAKEDOWN) => None,
        Some(wire::EVENT_ACKNOWLEDGE) => Some(
            "Ozone cannot undo an acknowledge: no event puts a reviewed subject back in the open \
             queue (only a new report does)"
                .into(),
        ),
        Some(wire::EVENT_ESCALATE) => Some(
            "Ozone cannot undo an escalation: no event takes a subject back from escalated to \
             open; a moderator closes it with a decision"
                .into(),
        ),
        _ => Some(format!(
            "Ozone holds no event of decision {} on this subject",
            crate::sanitize::clean_short(original, 80)
        )),
    })
}

/// Uphold or overturn an appeal: checked against Ozone's status and the take down appealed,
/// then its two events in order (see the module's head). A decision whose events are on the
/// subject already is completed, not checked again (its first event changed the status).
async fn decide_appeal(
    backend: &OzoneBackend,
    d: &Decision,
    subject: &SubjectRef,
) -> Result<DecisionResult, BackendError> {
    let ours = backend
        .events(
            &d.item_id,
            &[
                wire::EVENT_RESOLVE_APPEAL,
                wire::EVENT_REVERSE_TAKEDOWN,
                wire::EVENT_ACKNOWLEDGE,
            ],
            1000,
        )
        .await?
        .iter()
        .any(|e| carries(e, &d.idempotency_key));
    if !ours && let Some(refusal) = appeal_refusal(backend, d).await? {
        return Ok(refusal);
    }
    let comment = mapping::event_for(
        DecisionAction::Keep,
        d.note.as_deref(),
        d.reason_code.as_deref(),
    )
    .ok()
    .and_then(|e| e.get("comment").cloned());
    let event = |kind: &str| {
        let mut event = serde_json::json!({ "$type": kind });
        if let (Some(comment), Some(map)) = (comment.clone(), event.as_object_mut()) {
            map.insert("comment".into(), comment);
        }
        event
    };
    let steps = if d.action == DecisionAction::Uphold {
        [wire::EVENT_RESOLVE_APPEAL, wire::EVENT_ACKNOWLEDGE]
    } else {
        [wire::EVENT_REVERSE_TAKEDOWN, wire::EVENT_RESOLVE_APPEAL]
    };
    let mut applied = false;
    let mut last = None;
    for kind in steps {
        let result = emit_kind(backend, d, subject, event(kind), kind).await?;
        match result.outcome {
            DecisionOutcome::Applied => applied = true,
            DecisionOutcome::Duplicate => {}
            _ => return Ok(result),
        }
        last = Some(result);
    }
    Ok(if applied {
        answer(d, DecisionOutcome::Applied, None)
    } else {
        last.unwrap_or_else(|| answer(d, DecisionOutcome::Duplicate, None))
    })
}

/// Why Ozone's subject is not an appeal this moderator may decide now, as the answer to the
/// decision; `None` when it is.
async fn appeal_refusal(
    backend: &OzoneBackend,
    d: &Decision,
) -> Result<Option<DecisionResult>, BackendError> {
    let status = backend
        .subjects(std::slice::from_ref(&d.item_id))
        .await?
        .remove(&d.item_id)
        .and_then(|v| v.status);
    let Some(status) = status else {
        return Ok(Some(answer(
            d,
            DecisionOutcome::NotFound,
            Some("Ozone has no review status for this subject".into()),
        )));
    };
    if status.appealed != Some(true) || !status.takendown {
        return Ok(Some(answer(
            d,
            DecisionOutcome::Conflict,
            Some(
                "Ozone holds no open appeal of a take down on this subject (decided already, \
                 or never appealed)"
                    .into(),
            ),
        )));
    }
    let events = backend
        .events(&d.item_id, &mapping::APPEAL_EVENTS, 1000)
        .await?;
    let Some(takedown) = mapping::appealed_takedown(&events) else {
        return Ok(Some(answer(
            d,
            DecisionOutcome::Invalid,
            Some(
                "Ozone holds no take down on this subject: modq decides appeals of take downs only"
                    .into(),
            ),
        )));
    };
    if takedown.created_by == backend.did().await? {
        let why = mapping::first_decider_refusal(takedown, mapping::appeal_id(&events, takedown));
        return Ok(Some(answer(d, DecisionOutcome::Conflict, Some(why))));
    }
    if d.action == DecisionAction::Overturn && backend.role() == mapping::OzoneRole::Triage {
        return Ok(Some(answer(
            d,
            DecisionOutcome::Invalid,
            Some(
                "a triage member cannot reverse a take down on Ozone (\"Must be a full \
                 moderator to take this type of action\")"
                    .into(),
            ),
        )));
    }
    Ok(None)
}

/// Whether an event was emitted by modq for the decision `key`.
fn carries(e: &wire::EventView, key: &str) -> bool {
    e.mod_tool
        .as_ref()
        .and_then(|t| t.meta.as_ref())
        .and_then(|m| m.decision.as_deref())
        == Some(key)
}

async fn emit(
    backend: &OzoneBackend,
    d: &Decision,
    subject: &SubjectRef,
    event: serde_json::Value,
) -> Result<DecisionResult, BackendError> {
    let kind = match d.action {
        DecisionAction::TakeDown => wire::EVENT_TAKEDOWN,
        DecisionAction::Keep => wire::EVENT_ACKNOWLEDGE,
        DecisionAction::Escalate => wire::EVENT_ESCALATE,
        DecisionAction::Reverse => wire::EVENT_REVERSE_TAKEDOWN,
        // Never emitted through here (see `decide` and `mapping::event_for`).
        DecisionAction::Uphold | DecisionAction::Overturn | DecisionAction::SendSupport => {
            return Ok(answer(
                d,
                DecisionOutcome::Invalid,
                Some("modq sends no single Ozone event for this decision".into()),
            ));
        }
    };
    emit_kind(backend, d, subject, event, kind).await
}

/// Emit one event of type `kind` for the decision, its key as `externalId`.
async fn emit_kind(
    backend: &OzoneBackend,
    d: &Decision,
    subject: &SubjectRef,
    event: serde_json::Value,
    kind: &str,
) -> Result<DecisionResult, BackendError> {
    let created_by = backend.did().await?;
    let body = EmitEvent {
        event,
        subject,
        created_by: &created_by,
        external_id: Some(&d.idempotency_key),
        mod_tool: ModTool {
            name: wire::MOD_TOOL.into(),
            meta: Some(ModToolMeta {
                decision: Some(d.idempotency_key.clone()),
            }),
        },
    };
    match backend
        .procedure::<Emitted, _>("tools.ozone.moderation.emitEvent", &body)
        .await
    {
        Ok(_) => Ok(answer(d, DecisionOutcome::Applied, None)),
        Err(Failure::Refused(r)) if r.error == "DuplicateExternalId" => Ok(answer(
            d,
            DecisionOutcome::Duplicate,
            Some("Ozone already holds this decision's event".into()),
        )),
        Err(Failure::Refused(r)) if r.status == 429 || r.status >= 500 => {
            Err(super::xrpc::refusal_error(&r))
        }
        Err(Failure::Refused(r)) => {
            // Ozone checks a take down's subject before its externalId: a take down sent
            // again answers "Subject is already taken down", a reversal sent again "Subject
            // is not taken down". Whether it is this decision's own event tells a repeat
            // from another moderator's decision.
            if r.status == 400 && carried(backend, d, kind).await? {
                return Ok(answer(
                    d,
                    DecisionOutcome::Duplicate,
                    Some(format!(
                        "Ozone already holds this decision's event ({})",
                        r.message
                    )),
                ));
            }
            let lower = r.message.to_lowercase();
            let outcome = if lower.contains("not found") || r.error.ends_with("NotFound") {
                DecisionOutcome::NotFound
            } else if lower.contains("already taken down") || lower.contains("is not taken down") {
                DecisionOutcome::Conflict
            } else {
                DecisionOutcome::Invalid
            };
            Ok(answer(
                d,
                outcome,
                Some(format!("Ozone refused it ({}): {}", r.error, r.message)),
            ))
        }
        Err(Failure::Other(e)) => Err(e),
    }
}

/// Whether an event of type `kind` modq emitted for this very decision is on the subject.
async fn carried(backend: &OzoneBackend, d: &Decision, kind: &str) -> Result<bool, BackendError> {
    let events = backend.events(&d.item_id, &[kind], 1000).await?;
    Ok(events.iter().any(|e| carries(e, &d.idempotency_key)))
}
