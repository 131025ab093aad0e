//! Appeals (EU DSA Article 20): which decisions may be appealed and until when, and how an
//! appeal is decided. Pure: both engines load the facts and store the outcome; what the
//! rules are is said here once.
//!
//! An appeal is an item of its own in the `appeals` lane (`appeal-` and the audit number of
//! the decision appealed), carrying the content as it was decided, so that the queue,
//! claims, leases and filters serve it as they serve any item. It is decided with `uphold`
//! or `overturn`; an overturn also undoes the appealed take down on its item, by a
//! reversal in the audit log made by the moderator who overturned it.

use chrono::{DateTime, Months, SecondsFormat, Utc};

use crate::model::{
    Appeal, AppealVerdict, Decision, DecisionAction, DecisionOutcome, Item, Lane, NewReport,
    ReporterType, ReviewState, Scope, Subject,
};
use crate::policy::PolicyCatalog;

use super::rules::{self, AppliedDecision, Facts, ItemStatus, Verdict};
use super::statements;
use super::storage::{AppealRecord, AppealRefusal, TokenInfo};

/// Longest appellant's statement, in characters.
pub const MAX_STATEMENT_CHARS: usize = 4000;
/// Article 20(1): the complaint system is open for at least six months after the decision.
pub const APPEAL_MONTHS: u32 = 6;
/// The lane-priority an appeal item starts from is its lane's; its single "report" (the
/// appeal itself) has this category.
pub const APPEAL_CATEGORY: &str = "appeal";

/// The id of the queue item that carries the appeal of the decision in audit row `audit_id`.
/// One decision, one appeal item: the id itself makes a second appeal impossible.
pub fn appeal_item_id(audit_id: i64) -> String {
    format!("appeal-{audit_id}")
}

/// The audit row a lodged appeal names: a statement's `puid` (`modq-42`) or the bare number.
pub fn decision_number(reference: &str) -> Option<i64> {
    let digits = reference.trim();
    let digits = digits.strip_prefix("modq-").unwrap_or(digits);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|n| *n > 0)
}

/// The last moment a decision made at `decided_at` may be appealed.
pub fn deadline(decided_at: DateTime<Utc>) -> DateTime<Utc> {
    decided_at
        .checked_add_months(Months::new(APPEAL_MONTHS))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Why an appellant's statement is refused: blank, or too long.
pub fn check_statement(statement: &str) -> Result<(), String> {
    if statement.trim().is_empty() {
        return Err("an appeal needs the appellant's statement".into());
    }
    if statement.chars().count() > MAX_STATEMENT_CHARS {
        return Err(format!(
            "an appellant's statement is at most {MAX_STATEMENT_CHARS} characters"
        ));
    }
    Ok(())
}

/// What lodging an appeal needs to know about the decision appealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub decision: AppliedDecision,
    /// A reversal has undone it since.
    pub reversed: bool,
    /// Its appeal, when it has one: the number and the verdict so far.
    pub appealed: Option<(i64, Option<AppealVerdict>)>,
}

/// Whether the decision `reference` names may be appealed at `now`.
pub fn may_lodge(
    reference: &str,
    target: Option<&Target>,
    now: DateTime<Utc>,
) -> Result<(), AppealRefusal> {
    let Some(target) = target else {
        return Err(AppealRefusal::UnknownDecision(format!(
            "no decision is {reference:?}: name it by its statement of reasons' puid (modq-N)"
        )));
    };
    let d = &target.decision;
    if d.action != DecisionAction::TakeDown {
        return Err(AppealRefusal::NotAppealable(format!(
            "{reference} is a {}: only a take down restricts the content, so only a take down \
             is appealed by the user affected",
            d.action.label()
        )));
    }
    if let Some((id, verdict)) = target.appealed {
        let state = verdict.map_or("waiting for a moderator", AppealVerdict::as_str);
        return Err(AppealRefusal::AlreadyAppealed(format!(
            "{reference} has an appeal already (appeal {id}, {state}); a decision is appealed once"
        )));
    }
    if target.reversed {
        return Err(AppealRefusal::NotAppealable(format!(
            "{reference} ({}) was reversed since: it restricts nothing any more",
            d.describe()
        )));
    }
    let last = deadline(d.at);
    if now > last {
        return Err(AppealRefusal::TooLate(format!(
            "{reference} ({}) could be appealed until {}: {APPEAL_MONTHS} months after it",
            d.describe(),
            last.to_rfc3339_opts(SecondsFormat::Secs, true)
        )));
    }
    Ok(())
}

/// The report that puts an appeal in the queue: the content as it was decided (from an
/// intake, so the server keeps it; without its author, whose record counts their own
/// items), in the `appeals` lane, the appellant's statement as its comment.
pub fn appeal_report(item: &Item, audit_id: i64, statement: &str, now: DateTime<Utc>) -> NewReport {
    NewReport {
        subject: Subject {
            id: appeal_item_id(audit_id),
            kind: item.kind,
            text: item.text.clone(),
            author: None,
            language: item.language.clone(),
            countries: item.countries.clone(),
            media: item.media.clone(),
            thread: item.thread.clone(),
        },
        reporter_type: ReporterType::User,
        category: APPEAL_CATEGORY.to_string(),
        comment: Some(statement.to_string()),
        lane: Some(Lane::Appeals),
        deadline: None,
        received_at: Some(now),
        // The appellant is no reporter to send support resources to.
        reporter: None,
    }
}

/// What deciding an appeal needs to know, besides the appeal item's own status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppealFacts {
    pub appeal_id: i64,
    /// The decision appealed.
    pub original: AppliedDecision,
    /// Its own scope (what it restricted).
    pub original_scope: Option<Scope>,
    /// Its item's status now.
    pub original_status: ItemStatus,
    /// A reversal has undone it since.
    pub original_reversed: bool,
    /// It is still its item's latest decision (what an overturn undoes).
    pub original_latest: bool,
}

/// Whether `actor` made the decision appealed: then, by Article 20(6), someone else decides.
pub fn made_by(actor: &TokenInfo, original: &AppliedDecision) -> bool {
    match original.actor_token_id {
        Some(by) => by == actor.id,
        None => original.actor == actor.name,
    }
}

fn refuse(outcome: DecisionOutcome, message: String) -> Verdict {
    Verdict::Refuse { outcome, message }
}

/// Judges one well-shaped decision: an appeal's (`appeal` set, the item is an appeal) by
/// the rules here, any other by [`rules::judge`].
pub fn judge(
    actor: &TokenInfo,
    d: &Decision,
    facts: &Facts<'_>,
    appeal: Option<&AppealFacts>,
) -> Verdict {
    let Some(appeal) = appeal else {
        if d.action.decides_appeal() {
            return refuse(
                DecisionOutcome::Invalid,
                format!(
                    "item {:?} is not an appeal: only appeals are upheld or overturned",
                    d.item_id
                ),
            );
        }
        return rules::judge(actor, d, facts);
    };
    let original = &appeal.original;
    if !d.action.decides_appeal() {
        let why = if d.action == DecisionAction::Reverse {
            "an appeal's outcome is final; it is not reversed"
        } else {
            "an appeal is decided with uphold or overturn"
        };
        return refuse(
            DecisionOutcome::Invalid,
            format!("item {:?} is appeal {}: {why}", d.item_id, appeal.appeal_id),
        );
    }
    if facts.current.state != ReviewState::Open {
        let by = facts
            .latest
            .map(|l| format!(": {}", l.describe()))
            .unwrap_or_default();
        return refuse(
            DecisionOutcome::Conflict,
            format!("appeal {} is decided already{by}", appeal.appeal_id),
        );
    }
    if made_by(actor, original) {
        return refuse(
            DecisionOutcome::Conflict,
            format!(
                "you made the decision appealed ({}); under EU DSA Article 20 another \
                 moderator decides appeal {}",
                original.describe(),
                appeal.appeal_id
            ),
        );
    }
    if let Some(tier) = appeal.original_status.held_by()
        && !actor.role.decides(tier)
    {
        return refuse(
            DecisionOutcome::Conflict,
            format!(
                "the decision appealed ({}) is held by the {} tier; only the {} role or an \
                 admin decides its appeal (this token's role is {})",
                original.describe(),
                tier.label(),
                tier.as_str(),
                actor.role.as_str()
            ),
        );
    }
    if appeal.original_reversed {
        return refuse(
            DecisionOutcome::Conflict,
            format!(
                "the decision appealed ({}) was reversed since; nothing is left to decide",
                original.describe()
            ),
        );
    }
    let after = match d.action {
        DecisionAction::Overturn => {
            if !appeal.original_latest {
                return refuse(
                    DecisionOutcome::Conflict,
                    format!(
                        "the decision appealed ({}) is no longer its item's latest: decide \
                         what came after it first",
                        original.describe()
                    ),
                );
            }
            ItemStatus {
                state: ReviewState::Kept,
                restricted_in: None,
                escalation_target: None,
                tier: None,
            }
        }
        _ => ItemStatus {
            state: ReviewState::TakenDown,
            restricted_in: appeal.original_scope.clone(),
            escalation_target: None,
            tier: None,
        },
    };
    Verdict::Apply {
        after,
        reason_code: d.reason_code.clone(),
    }
}

/// The item an overturn leaves behind: the content restored and reviewed.
pub fn restored() -> ItemStatus {
    ItemStatus {
        state: ReviewState::Kept,
        restricted_in: None,
        escalation_target: None,
        tier: None,
    }
}

/// The idempotency key of the reversal an overturn writes on the appealed item: one per
/// appeal, so a replay can never write a second.
pub fn reversal_key(appeal_id: i64) -> String {
    format!("appeal-{appeal_id}-overturned")
}

/// The decisions `actor` may make on an appeal item now (mirrors [`judge`], for clients).
pub fn allowed_actions(actor: &TokenInfo, appeal: &Appeal) -> Vec<DecisionAction> {
    if appeal.outcome.is_some() || appeal.decision.decided_by.eq_ignore_ascii_case(&actor.name) {
        return Vec::new();
    }
    vec![DecisionAction::Uphold, DecisionAction::Overturn]
}

/// The appeal as the API shows it: the original decision with its statement of reasons as
/// exported now (updated by the outcome).
pub fn view(record: &AppealRecord, policies: &PolicyCatalog) -> Appeal {
    let original = &record.original;
    Appeal {
        id: record.id,
        item_id: original.item.id.clone(),
        decision: crate::model::AppealedDecision {
            audit_id: original.audit_id,
            action: DecisionAction::TakeDown,
            reason_code: original.reason_code.clone(),
            scope: Some(original.scope.clone()),
            decided_by: record.decided_by.clone(),
            decided_at: original.applied_at,
            statement: statements::statement(original, policies),
        },
        appellant_statement: record.statement.clone(),
        lodged_by: record.lodged_by.clone(),
        lodged_at: record.lodged_at,
        outcome: original.appeal.clone(),
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Role;

    fn take_down(at: DateTime<Utc>) -> AppliedDecision {
        AppliedDecision {
            audit_id: 7,
            idempotency_key: "k".into(),
            item_id: "p1".into(),
            action: DecisionAction::TakeDown,
            actor: "alice".into(),
            actor_token_id: Some(1),
            at,
            body_hash: None,
            before: restored(),
        }
    }

    #[test]
    fn a_take_down_is_appealed_once_within_six_months() {
        let at = DateTime::parse_from_rfc3339("2026-01-31T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let target = Target {
            decision: take_down(at),
            reversed: false,
            appealed: None,
        };
        assert_eq!(deadline(at).to_rfc3339(), "2026-07-31T10:00:00+00:00");
        assert!(may_lodge("modq-7", Some(&target), deadline(at)).is_ok());
        let late = may_lodge(
            "modq-7",
            Some(&target),
            deadline(at) + chrono::TimeDelta::seconds(1),
        );
        assert!(matches!(late, Err(AppealRefusal::TooLate(_))), "{late:?}");
        let twice = Target {
            appealed: Some((3, None)),
            ..target.clone()
        };
        assert!(matches!(
            may_lodge("modq-7", Some(&twice), at),
            Err(AppealRefusal::AlreadyAppealed(_))
        ));
        let keep = Target {
            decision: AppliedDecision {
                action: DecisionAction::Keep,
                ..take_down(at)
            },
            ..target
        };
        assert!(matches!(
            may_lodge("modq-7", Some(&keep), at),
            Err(AppealRefusal::NotAppealable(_))
        ));
        assert!(matches!(
            may_lodge("modq-9", None, at),
            Err(AppealRefusal::UnknownDecision(_))
        ));
    }

    #[test]
    fn a_decision_is_named_by_its_puid_or_number() {
        assert_eq!(decision_number("modq-42"), Some(42));
        assert_eq!(decision_number("42"), Some(42));
        for bad in [
            "",
            "modq-",
            "modq--1",
            "0",
            "4 2",
            "modq-99999999999999999999",
        ] {
            assert_eq!(decision_number(bad), None, "{bad:?}");
        }
        let _ = Role::Moderator;
    }
}
