//! The moderation rules every storage shares: what a valid report is, how urgent an item
//! is, and which decisions apply to an item in which state by whom. Pure functions over
//! facts the storage loads, so a second storage cannot drift from the first.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::model::{
    Decision, DecisionAction, DecisionOutcome, EscalationTier, Lane, NewReport, ReporterType,
    ReviewState, Role, Scope,
};

use super::storage::TokenInfo;

pub const MAX_SUBJECT_ID_CHARS: usize = 256;
pub const MAX_CATEGORY_CHARS: usize = 128;
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 256;
pub const MAX_DECISIONS_PER_BATCH: usize = 1000;

/// Why a report is refused, in words for the person who sent it.
pub fn check_report(report: &NewReport) -> Result<(), String> {
    let id = &report.subject.id;
    if id.trim().is_empty() {
        return Err("subject.id must not be empty".into());
    }
    if id.chars().count() > MAX_SUBJECT_ID_CHARS {
        return Err(format!(
            "subject.id is longer than {MAX_SUBJECT_ID_CHARS} characters"
        ));
    }
    if report.category.trim().is_empty() {
        return Err("category must not be empty".into());
    }
    if report.category.chars().count() > MAX_CATEGORY_CHARS {
        return Err(format!(
            "category is longer than {MAX_CATEGORY_CHARS} characters"
        ));
    }
    Ok(())
}

/// The lane a report counts in: the one it names, else the reporter's.
pub fn report_lane(report: &NewReport) -> Lane {
    report
        .lane
        .unwrap_or_else(|| Lane::for_reporter(report.reporter_type))
}

/// Priority of an item from its reports: the most urgent lane's base, plus every report's
/// weight, so that more reports and more trusted sources both move an item up.
pub fn priority(reports: impl IntoIterator<Item = (Lane, ReporterType)>) -> i64 {
    let mut base = 0;
    let mut weights = 0;
    for (lane, reporter) in reports {
        base = base.max(lane.base_priority());
        weights += reporter.weight();
    }
    base + weights
}

/// Where an item stands, as far as decisions are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemStatus {
    pub state: ReviewState,
    pub restricted_in: Option<Scope>,
    pub escalation_target: Option<EscalationTier>,
}

/// A decision already applied to an item, as the audit log remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedDecision {
    pub idempotency_key: String,
    pub item_id: String,
    pub action: DecisionAction,
    pub actor: String,
    pub at: DateTime<Utc>,
    /// The item's status just before; a reversal restores it.
    pub before: ItemStatus,
}

impl AppliedDecision {
    /// "take down by alice at 2026-05-01T10:00:00Z", for messages.
    pub fn describe(&self) -> String {
        format!(
            "{} by {} at {}",
            self.action.label(),
            self.actor,
            self.at.to_rfc3339_opts(SecondsFormat::Secs, true)
        )
    }
}

/// What the storage must do with one decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Apply {
        after: ItemStatus,
    },
    Refuse {
        outcome: DecisionOutcome,
        message: String,
    },
}

fn refuse(outcome: DecisionOutcome, message: String) -> Verdict {
    Verdict::Refuse { outcome, message }
}

/// Checks a decision can be judged at all, before anything is looked up: a decision without
/// a usable key could not be answered or deduplicated.
pub fn check_decision_shape(d: &Decision) -> Result<(), String> {
    if d.idempotency_key.trim().is_empty() {
        return Err("idempotency_key must not be empty".into());
    }
    if d.idempotency_key.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS {
        return Err(format!(
            "idempotency_key is longer than {MAX_IDEMPOTENCY_KEY_CHARS} characters"
        ));
    }
    match (d.action, &d.reverses) {
        (DecisionAction::Reverse, None) => {
            Err("a reverse decision must name the idempotency key it undoes in `reverses`".into())
        }
        (action, Some(_)) if action != DecisionAction::Reverse => Err(format!(
            "`reverses` belongs only to reverse decisions, not to {}",
            action.label()
        )),
        _ => Ok(()),
    }
}

/// Judges one well-shaped decision.
///
/// `latest` is the item's most recent applied decision; `reversed` is the applied decision
/// named by `d.reverses` (looked up only for reversals).
pub fn judge(
    actor: &TokenInfo,
    d: &Decision,
    current: &ItemStatus,
    latest: Option<&AppliedDecision>,
    reversed: Option<&AppliedDecision>,
) -> Verdict {
    if d.action == DecisionAction::Reverse {
        return judge_reversal(actor, d, latest, reversed);
    }
    let senior = actor.role >= Role::Senior;
    let decided_by = || match latest {
        Some(l) => format!(" ({})", l.describe()),
        None => String::new(),
    };
    match current.state {
        ReviewState::Open => {}
        ReviewState::Escalated if !senior => {
            let target = current.escalation_target.unwrap_or(EscalationTier::Senior);
            return refuse(
                DecisionOutcome::Conflict,
                format!(
                    "item is escalated to {}{}; only a senior or admin can decide escalated items",
                    tier_label(target),
                    decided_by()
                ),
            );
        }
        ReviewState::Escalated => {
            let target = d.escalation_target.unwrap_or(EscalationTier::Senior);
            if d.action == DecisionAction::Escalate && current.escalation_target == Some(target) {
                return refuse(
                    DecisionOutcome::Conflict,
                    format!(
                        "item is already escalated to {}{}",
                        tier_label(target),
                        decided_by()
                    ),
                );
            }
        }
        state @ (ReviewState::TakenDown | ReviewState::Kept) => {
            return refuse(
                DecisionOutcome::Conflict,
                format!(
                    "item is already {}{}; reverse that decision first to decide again",
                    state.as_str(),
                    decided_by()
                ),
            );
        }
    }
    let after = match d.action {
        DecisionAction::TakeDown => ItemStatus {
            state: ReviewState::TakenDown,
            restricted_in: Some(d.scope.clone().unwrap_or_default()),
            escalation_target: None,
        },
        DecisionAction::Keep => ItemStatus {
            state: ReviewState::Kept,
            restricted_in: None,
            escalation_target: None,
        },
        DecisionAction::Escalate => ItemStatus {
            state: ReviewState::Escalated,
            restricted_in: None,
            escalation_target: Some(d.escalation_target.unwrap_or(EscalationTier::Senior)),
        },
        // Handled above; kept total rather than unreachable!() so no path can panic.
        DecisionAction::Reverse => current.clone(),
    };
    Verdict::Apply { after }
}

fn judge_reversal(
    actor: &TokenInfo,
    d: &Decision,
    latest: Option<&AppliedDecision>,
    reversed: Option<&AppliedDecision>,
) -> Verdict {
    let key = d.reverses.as_deref().unwrap_or_default();
    let Some(target) = reversed else {
        return refuse(
            DecisionOutcome::Invalid,
            format!("no applied decision has idempotency key {key:?}"),
        );
    };
    if target.item_id != d.item_id {
        return refuse(
            DecisionOutcome::Invalid,
            format!(
                "decision {key:?} was made on item {:?}, not {:?}",
                target.item_id, d.item_id
            ),
        );
    }
    if target.action == DecisionAction::Reverse {
        return refuse(
            DecisionOutcome::Invalid,
            format!("decision {key:?} is itself a reversal; make a new decision instead"),
        );
    }
    match latest {
        Some(l) if l.idempotency_key == target.idempotency_key => {}
        Some(l) if l.action == DecisionAction::Reverse => {
            return refuse(
                DecisionOutcome::Conflict,
                format!(
                    "decision {key:?} is no longer in force: the item's latest decision is a {}",
                    l.describe()
                ),
            );
        }
        Some(l) => {
            return refuse(
                DecisionOutcome::Conflict,
                format!(
                    "decision {key:?} is no longer the item's latest: {} came after it",
                    l.describe()
                ),
            );
        }
        None => {
            return refuse(
                DecisionOutcome::Conflict,
                format!("decision {key:?} is not the item's latest decision"),
            );
        }
    }
    if actor.role < Role::Senior && target.actor != actor.name {
        return refuse(
            DecisionOutcome::Conflict,
            format!(
                "only a senior or admin can reverse another moderator's decision ({})",
                target.describe()
            ),
        );
    }
    Verdict::Apply {
        after: target.before.clone(),
    }
}

fn tier_label(t: EscalationTier) -> &'static str {
    match t {
        EscalationTier::Senior => "senior",
        EscalationTier::Legal => "legal",
        EscalationTier::LawEnforcement => "law enforcement",
        EscalationTier::ChildSafety => "child safety",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ItemKind, Subject};

    fn moderator(name: &str) -> TokenInfo {
        TokenInfo {
            name: name.into(),
            role: Role::Moderator,
        }
    }

    fn senior() -> TokenInfo {
        TokenInfo {
            name: "sam".into(),
            role: Role::Senior,
        }
    }

    fn decision(action: DecisionAction) -> Decision {
        Decision {
            idempotency_key: "k2".into(),
            item_id: "i".into(),
            action,
            reason_code: None,
            note: None,
            scope: None,
            escalation_target: None,
            reverses: None,
            decided_at: Utc::now(),
        }
    }

    fn applied(action: DecisionAction, actor: &str, before: ItemStatus) -> AppliedDecision {
        AppliedDecision {
            idempotency_key: "k1".into(),
            item_id: "i".into(),
            action,
            actor: actor.into(),
            at: Utc::now(),
            before,
        }
    }

    fn open() -> ItemStatus {
        ItemStatus {
            state: ReviewState::Open,
            restricted_in: None,
            escalation_target: None,
        }
    }

    fn escalated() -> ItemStatus {
        ItemStatus {
            state: ReviewState::Escalated,
            restricted_in: None,
            escalation_target: Some(EscalationTier::Senior),
        }
    }

    #[test]
    fn priority_is_top_lane_base_plus_weights() {
        assert_eq!(priority([]), 0);
        assert_eq!(priority([(Lane::Standard, ReporterType::User)]), 10);
        assert_eq!(
            priority([
                (Lane::Standard, ReporterType::User),
                (Lane::Authority, ReporterType::Authority)
            ]),
            200 + 10 + 50
        );
    }

    #[test]
    fn reports_need_a_subject_and_category() {
        let mut r = NewReport {
            subject: Subject {
                id: "p1".into(),
                kind: ItemKind::Post,
                text: None,
                author: None,
                language: None,
                countries: vec![],
                media: vec![],
            },
            reporter_type: ReporterType::User,
            category: "spam".into(),
            comment: None,
            lane: None,
            deadline: None,
            received_at: None,
        };
        assert_eq!(check_report(&r), Ok(()));
        r.category = " ".into();
        assert!(check_report(&r).is_err());
        r.category = "spam".into();
        r.subject.id = "x".repeat(257);
        assert!(check_report(&r).is_err());
    }

    #[test]
    fn take_down_of_open_item_defaults_to_global() {
        let v = judge(
            &moderator("al"),
            &decision(DecisionAction::TakeDown),
            &open(),
            None,
            None,
        );
        assert_eq!(
            v,
            Verdict::Apply {
                after: ItemStatus {
                    state: ReviewState::TakenDown,
                    restricted_in: Some(Scope::Global),
                    escalation_target: None
                }
            }
        );
    }

    #[test]
    fn escalated_items_need_a_senior() {
        let latest = applied(DecisionAction::Escalate, "al", open());
        let v = judge(
            &moderator("al"),
            &decision(DecisionAction::Keep),
            &escalated(),
            Some(&latest),
            None,
        );
        assert!(
            matches!(v, Verdict::Refuse { outcome: DecisionOutcome::Conflict, ref message }
            if message.contains("senior or admin") && message.contains("escalate by al"))
        );
        let v = judge(
            &senior(),
            &decision(DecisionAction::Keep),
            &escalated(),
            Some(&latest),
            None,
        );
        assert!(matches!(v, Verdict::Apply { .. }));
    }

    #[test]
    fn reversal_restores_what_was_before() {
        let latest = applied(DecisionAction::TakeDown, "sam", escalated());
        let mut d = decision(DecisionAction::Reverse);
        d.reverses = Some("k1".into());
        let current = ItemStatus {
            state: ReviewState::TakenDown,
            restricted_in: Some(Scope::Global),
            escalation_target: None,
        };
        let v = judge(&senior(), &d, &current, Some(&latest), Some(&latest));
        assert_eq!(v, Verdict::Apply { after: escalated() });
        // A moderator cannot undo a senior's decision.
        let v = judge(&moderator("al"), &d, &current, Some(&latest), Some(&latest));
        assert!(matches!(
            v,
            Verdict::Refuse {
                outcome: DecisionOutcome::Conflict,
                ..
            }
        ));
    }

    #[test]
    fn decision_shape_is_checked_first() {
        let mut d = decision(DecisionAction::Reverse);
        assert!(check_decision_shape(&d).is_err());
        d.reverses = Some("k1".into());
        assert_eq!(check_decision_shape(&d), Ok(()));
        d.action = DecisionAction::Keep;
        assert!(check_decision_shape(&d).is_err());
        d.reverses = None;
        d.idempotency_key = String::new();
        assert!(check_decision_shape(&d).is_err());
    }
}
