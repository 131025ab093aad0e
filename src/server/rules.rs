//! The moderation rules every storage shares: what a valid report is, how urgent an item
//! is, and which decisions apply to an item in which state by whom. Pure functions over
//! facts the storage loads, so a second storage cannot drift from the first.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use crate::model::{
    Decision, DecisionAction, DecisionOutcome, EscalationTier, Lane, NewReport, ReporterType,
    ReviewState, Role, Scope,
};

use super::storage::TokenInfo;

pub const MAX_SUBJECT_ID_CHARS: usize = 256;
pub const MAX_CATEGORY_CHARS: usize = 128;
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 256;
pub const MAX_DECISIONS_PER_BATCH: usize = 1000;
/// Most item ids in one renew or release request.
pub const MAX_LEASE_IDS: usize = 1000;
/// Lease length when the client names none, and the bounds a requested one is clamped to.
pub const DEFAULT_LEASE_SECONDS: u32 = 300;
pub const MIN_LEASE_SECONDS: u32 = 10;
pub const MAX_LEASE_SECONDS: u32 = 3600;

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

// --- leases -------------------------------------------------------------------------------

/// A lease as stored: who may review the item undisturbed, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub holder: String,
    pub expires_at: DateTime<Utc>,
}

impl Lease {
    /// Whether the lease still counts at `now`; an expired lease is as good as none, and the
    /// next claim or renewal simply overwrites it.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at > now
    }
}

/// The lease length granted for a requested one: the default when absent, else clamped to
/// `MIN_LEASE_SECONDS..=MAX_LEASE_SECONDS`.
pub fn lease_seconds(requested: Option<u32>) -> u32 {
    requested.map_or(DEFAULT_LEASE_SECONDS, |s| {
        s.clamp(MIN_LEASE_SECONDS, MAX_LEASE_SECONDS)
    })
}

/// When a lease of `seconds` granted at `now` runs out.
pub fn lease_expiry(now: DateTime<Utc>, seconds: u32) -> DateTime<Utc> {
    let length = TimeDelta::seconds(i64::from(seconds));
    now.checked_add_signed(length)
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Whether items in `state` can be leased: those still waiting for a decision. A decided
/// item is final until reversed, so there is nothing to review undisturbed.
pub fn leasable(state: ReviewState) -> bool {
    matches!(state, ReviewState::Open | ReviewState::Escalated)
}

/// Why `actor` may not claim items in `state`, if so. Decided items cannot be leased, and
/// escalated ones only by those who can decide them: a moderator's lease would only keep
/// them from the seniors.
pub fn check_claim(actor: &TokenInfo, state: ReviewState) -> Result<(), String> {
    if !leasable(state) {
        return Err(format!(
            "only open or escalated items can be claimed, not {} ones; \
             read decided items with GET /v1/queue",
            state.as_str()
        ));
    }
    if state == ReviewState::Escalated && actor.role < Role::Senior {
        return Err(
            "only a senior or admin can claim escalated items; read them with GET /v1/queue".into(),
        );
    }
    Ok(())
}

/// Whether a claim by `caller` at `now` must skip an item with this lease: it is someone
/// else's and still live. The caller's own leases are taken again (and extended).
pub fn claim_skips(lease: Option<&Lease>, caller: &str, now: DateTime<Utc>) -> bool {
    lease.is_some_and(|l| l.holder != caller && l.is_live(now))
}

/// Whether `caller` may renew its lease on an item in `state` (`None`: no such item).
///
/// Only a lease the caller still has a row for can be renewed, even an expired one: nobody
/// else claimed the item meanwhile, and no decision was applied to it (a decision deletes
/// the item's lease, whoever held it). A renewal never acquires a lease the caller did not
/// have; that is what a claim is for.
pub fn may_renew(state: Option<ReviewState>, lease: Option<&Lease>, caller: &str) -> bool {
    let Some(state) = state else {
        return false;
    };
    leasable(state) && lease.is_some_and(|l| l.holder == caller)
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

    fn lease(holder: &str, expires_at: DateTime<Utc>) -> Lease {
        Lease {
            holder: holder.into(),
            expires_at,
        }
    }

    #[test]
    fn lease_length_defaults_and_is_clamped() {
        assert_eq!(lease_seconds(None), 300);
        assert_eq!(lease_seconds(Some(0)), 10);
        assert_eq!(lease_seconds(Some(9)), 10);
        assert_eq!(lease_seconds(Some(120)), 120);
        assert_eq!(lease_seconds(Some(3601)), 3600);
        assert_eq!(lease_seconds(Some(u32::MAX)), 3600);
        let now = Utc::now();
        assert_eq!(lease_expiry(now, 300), now + TimeDelta::seconds(300));
    }

    #[test]
    fn a_claim_skips_only_live_leases_of_others() {
        let now = Utc::now();
        let later = now + TimeDelta::seconds(1);
        assert!(!claim_skips(None, "al", now));
        assert!(claim_skips(Some(&lease("bo", later)), "al", now));
        assert!(!claim_skips(Some(&lease("al", later)), "al", now));
        // Expired at this very instant counts as expired.
        assert!(!claim_skips(Some(&lease("bo", now)), "al", now));
    }

    #[test]
    fn only_the_holder_renews_and_only_undecided_items() {
        let now = Utc::now();
        let past = now - TimeDelta::seconds(1);
        let open = Some(ReviewState::Open);
        assert!(may_renew(open, Some(&lease("al", now)), "al"));
        // Expired but nobody took it over: still the holder's.
        assert!(may_renew(open, Some(&lease("al", past)), "al"));
        assert!(may_renew(
            Some(ReviewState::Escalated),
            Some(&lease("al", now)),
            "al"
        ));
        assert!(!may_renew(open, Some(&lease("bo", past)), "al"));
        assert!(!may_renew(open, None, "al"));
        assert!(!may_renew(None, None, "al"));
        assert!(!may_renew(
            Some(ReviewState::Kept),
            Some(&lease("al", now)),
            "al"
        ));
    }

    #[test]
    fn only_undecided_items_can_be_claimed_and_escalated_ones_by_seniors() {
        let al = moderator("al");
        assert_eq!(check_claim(&al, ReviewState::Open), Ok(()));
        assert!(check_claim(&al, ReviewState::Escalated).is_err());
        assert_eq!(check_claim(&senior(), ReviewState::Escalated), Ok(()));
        assert!(check_claim(&senior(), ReviewState::TakenDown).is_err());
        assert!(check_claim(&senior(), ReviewState::Kept).is_err());
    }
}
