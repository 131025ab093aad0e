//! The moderation rules every storage shares: what a valid report is, how urgent an item
//! is, and which decisions apply to an item in which state by whom. Pure functions over
//! facts the storage loads, so a second storage cannot drift from the first.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};

use crate::model::{
    Decision, DecisionAction, DecisionOutcome, EscalationTier, HistoryEntry, HistoryEvent, Item,
    Lane, NewReport, ReporterAccount, ReviewState, Role, Scope,
};
use crate::policy::PolicyCatalog;

use super::storage::TokenInfo;

pub const MAX_SUBJECT_ID_CHARS: usize = 256;
pub const MAX_CATEGORY_CHARS: usize = 128;
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 256;
/// Most decisions in one request, applied in one transaction: big enough that a bulk action
/// of 100,000 is 20 commits, small enough that one batch holds the database for a fraction
/// of a second.
pub const MAX_DECISIONS_PER_BATCH: usize = 5000;
/// Most item ids in one renew or release request.
pub const MAX_LEASE_IDS: usize = 1000;
/// Lease length when the client names none, and the bounds a requested one is clamped to.
pub const DEFAULT_LEASE_SECONDS: u32 = 300;
pub const MIN_LEASE_SECONDS: u32 = 10;
pub const MAX_LEASE_SECONDS: u32 = 3600;
/// Longest note, on a decision or on its own.
pub const MAX_NOTE_CHARS: usize = 2000;

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
    for country in &report.subject.countries {
        if !is_reported_country(country) {
            return Err(format!(
                "subject.countries: {country:?} is not an ISO 3166-1 alpha-2 country code"
            ));
        }
    }
    if let Some(thread) = &report.subject.thread {
        check_thread(thread)?;
    }
    Ok(())
}

/// Most messages a thread keeps on each side of the item.
pub const MAX_THREAD_SIDE: usize = 5;
/// Longest text of one thread message, in characters.
pub const MAX_THREAD_TEXT_CHARS: usize = 4000;

/// Why a thread is refused: too many messages on a side, a message too long or without id.
pub fn check_thread(thread: &crate::model::Thread) -> Result<(), String> {
    for (side, messages) in [("before", &thread.before), ("after", &thread.after)] {
        if messages.len() > MAX_THREAD_SIDE {
            return Err(format!(
                "subject.thread.{side} holds at most {MAX_THREAD_SIDE} messages"
            ));
        }
    }
    let all = thread
        .parent
        .iter()
        .chain(&thread.before)
        .chain(&thread.after);
    for m in all {
        if m.id.trim().is_empty() || m.id.chars().count() > MAX_SUBJECT_ID_CHARS {
            return Err(format!(
                "a thread message's id must be 1 to {MAX_SUBJECT_ID_CHARS} characters"
            ));
        }
        if m.text
            .as_deref()
            .is_some_and(|t| t.chars().count() > MAX_THREAD_TEXT_CHARS)
        {
            return Err(format!(
                "a thread message's text is at most {MAX_THREAD_TEXT_CHARS} characters"
            ));
        }
        let handle = m
            .author
            .as_ref()
            .and_then(|a| a.handle.as_deref())
            .unwrap_or("");
        let author = m.author.as_ref().map_or("", |a| a.id.as_str());
        if author.chars().count() > 256 || handle.chars().count() > 256 {
            return Err(
                "a thread message's author id and handle are at most 256 characters".into(),
            );
        }
    }
    Ok(())
}

/// Whether `code` is an ISO 3166-1 alpha-2 code (assigned, or user-assigned `XK` for
/// Kosovo, which the EU uses), in upper case.
pub fn is_country(code: &str) -> bool {
    crate::model::ISO_3166_ALPHA_2.binary_search(&code).is_ok()
}

/// Whether a report may name `code` as a country: an ISO 3166-1 alpha-2 code in upper or
/// lower case, exactly as the published schema lists them.
pub fn is_reported_country(code: &str) -> bool {
    is_country(code)
        || (code == code.to_ascii_lowercase() && is_country(&code.to_ascii_uppercase()))
}

/// Refuses a scope naming something that is not a country.
pub fn check_scope(scope: &Scope) -> Result<(), String> {
    match scope {
        Scope::Global => Ok(()),
        Scope::Countries(cs) => match cs.iter().find(|c| !is_country(c)) {
            Some(c) => Err(format!(
                "scope: {c:?} is not an ISO 3166-1 alpha-2 country code"
            )),
            None => Ok(()),
        },
    }
}

/// How far from the server's clock a client's timestamp may be: a moderator's laptop clock
/// is wrong by minutes, not by a day.
pub const CLOCK_SKEW: TimeDelta = TimeDelta::days(1);

/// A decision's `decided_at` as recorded: the client's clock, moved to within a day of the
/// server's. The server's own `at` is the time of record; this one says when the moderator
/// pressed the key, and a clock a day off cannot say that.
pub fn clamp_decided_at(decided_at: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    decided_at.clamp(now - CLOCK_SKEW, now + CLOCK_SKEW)
}

/// When a report was received, as stored: its own time brought within what can be stored
/// (1970 to 9999) and no later than the server's clock (a time of receipt cannot be in the
/// future). Clamped rather than refused, so that every time the schema allows is taken.
pub fn received_time(report: &NewReport, now: DateTime<Utc>) -> DateTime<Utc> {
    report
        .received_at
        .map_or(now, |t| t.clamp(DateTime::<Utc>::UNIX_EPOCH, now))
}

/// A report's deadline, as stored: within 1970 to 9999 (one long past is simply overdue).
pub fn deadline_time(report: &NewReport) -> Option<DateTime<Utc>> {
    let latest = DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    report
        .deadline
        .map(|t| t.clamp(DateTime::<Utc>::UNIX_EPOCH, latest))
}

/// The lane a report counts in: the one it names, else the reporter's.
pub fn report_lane(report: &NewReport) -> Lane {
    report
        .lane
        .unwrap_or_else(|| Lane::for_reporter(report.reporter_type))
}

/// Where an item stands, as far as decisions are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemStatus {
    pub state: ReviewState,
    pub restricted_in: Option<Scope>,
    pub escalation_target: Option<EscalationTier>,
    /// The tier whose role decides on the item now: the one it is escalated to, or the one
    /// that decided it (a take down or keep made at a tier stays that tier's). `None`: any
    /// moderator.
    pub tier: Option<EscalationTier>,
}

impl ItemStatus {
    /// The tier whose role (or an admin) must make any decision on the item now, a reversal,
    /// a further take down and the narrowing that undoes one included.
    pub fn held_by(&self) -> Option<EscalationTier> {
        match self.state {
            ReviewState::Escalated => {
                Some(self.escalation_target.unwrap_or(EscalationTier::Senior))
            }
            _ => self.tier,
        }
    }
}

/// The tiers whose items, with their notes, only their own role and admins read: what
/// reaches child-safety specialists and the law-enforcement liaison is evidence, and may
/// name victims.
pub fn restricted(tier: EscalationTier) -> bool {
    matches!(
        tier,
        EscalationTier::ChildSafety | EscalationTier::LawEnforcement
    )
}

/// Whether `role` may read an item held by `tier`, and the notes written at it.
pub fn may_read(role: Role, tier: Option<EscalationTier>) -> bool {
    tier.is_none_or(|t| !restricted(t) || role.decides(t))
}

/// The tiers `role` may not read: their items are left out of its queue pages.
pub fn unreadable_tiers(role: Role) -> Vec<EscalationTier> {
    EscalationTier::ALL
        .into_iter()
        .filter(|t| !may_read(role, Some(*t)))
        .collect()
}

/// An item's status as the API shows it: the tier comes from its escalation, or else from
/// the latest decision in its history.
pub fn status_of(item: &Item) -> ItemStatus {
    let tier = item
        .history
        .iter()
        .rev()
        .find(|h| !matches!(h.event, HistoryEvent::Reported | HistoryEvent::Note))
        .and_then(|h| h.tier);
    ItemStatus {
        state: item.state,
        restricted_in: item.restricted_in.clone(),
        escalation_target: item.escalation_target,
        tier,
    }
}

/// The item as `role` may see it: entries whose note is for a tier it may not read lose
/// the note (decisions) or are left out (notes), and the history's total no longer counts
/// the notes left out, listed or not. Of the notes it may read, the newest
/// [`NOTES_LISTED`](super::NOTES_LISTED) stay (storage lists that many at each tier apart, so
/// that notes a role may not read never push out those it may).
pub fn redact_history(role: Role, item: &mut Item) {
    item.history.retain_mut(|h| {
        if may_read(role, h.visible_to) {
            return true;
        }
        h.note = None;
        h.event != HistoryEvent::Note
    });
    let notes = item
        .history
        .iter()
        .filter(|h| h.event == HistoryEvent::Note)
        .count();
    let mut older = notes.saturating_sub(super::NOTES_LISTED);
    item.history.retain(|h| {
        let drop = older > 0 && h.event == HistoryEvent::Note;
        older -= usize::from(drop);
        !drop
    });
    if let Some(totals) = &mut item.totals {
        for (tier, notes) in std::mem::take(&mut totals.restricted_notes) {
            if !may_read(role, Some(tier)) {
                totals.history = totals.history.saturating_sub(notes);
            }
        }
    }
}

/// The tier a note or decision note belongs to when it is one only that tier may read:
/// written while the item was with it, or addressed to it by an escalation.
pub fn note_visible_to(
    from: Option<EscalationTier>,
    to: Option<EscalationTier>,
) -> Option<EscalationTier> {
    [to, from].into_iter().flatten().find(|t| restricted(*t))
}

/// A decision already applied to an item, as the audit log remembers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedDecision {
    /// The audit row: what a reversal names.
    pub audit_id: i64,
    pub idempotency_key: String,
    pub item_id: String,
    pub action: DecisionAction,
    pub actor: String,
    /// `None` only for decisions recorded before tokens had ids (schema 8).
    pub actor_token_id: Option<i64>,
    pub at: DateTime<Utc>,
    /// SHA-256 of the decision as it was sent; `None` before schema 8.
    pub body_hash: Option<String>,
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
        /// The reason code to record: the one sent, or for a take down without one the
        /// catalog's default for the item's report category.
        reason_code: Option<String>,
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
    if let Some(note) = &d.note {
        check_note(note)?;
    }
    if let Some(scope) = &d.scope {
        check_scope(scope)?;
    }
    super::account_rules::check_shape(d)?;
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

/// What binds an idempotency key to its decision: the SHA-256 of the decision as sent.
pub fn body_hash(d: &Decision) -> String {
    use sha2::{Digest, Sha256};
    // Serializing a struct cannot fail; an empty text would only weaken the check.
    let body = serde_json::to_string(d).unwrap_or_default();
    hex::encode(Sha256::digest(body.as_bytes()))
}

/// Why a note is refused: too long (empty notes are simply absent).
pub fn check_note(note: &str) -> Result<(), String> {
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err(format!("a note is at most {MAX_NOTE_CHARS} characters"));
    }
    Ok(())
}

pub use crate::model::leading_category;

/// What a judge needs besides the decision and the actor.
pub struct Facts<'a> {
    pub current: &'a ItemStatus,
    /// The item's most recent applied decision.
    pub latest: Option<&'a AppliedDecision>,
    /// The applied decision named by `d.reverses` (looked up only for reversals).
    pub reversed: Option<&'a AppliedDecision>,
    /// See [`leading_category`].
    pub report_category: Option<&'a str>,
    pub policies: &'a PolicyCatalog,
    /// The item's author's account id, which an account measure acts on.
    pub author: Option<&'a str>,
    /// Whom a support message would reach (looked up only for support messages).
    pub support: SupportReach,
}

/// The reporters of an item a support message would reach: those the server can message and
/// has not sent resources about the item yet; and those it has sent them already.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SupportReach {
    pub reachable: usize,
    pub messaged: usize,
}

/// Judges one well-shaped decision.
pub fn judge(actor: &TokenInfo, d: &Decision, facts: &Facts<'_>) -> Verdict {
    let current = facts.current;
    let latest = facts.latest;
    let decided_by = || match latest {
        Some(l) => format!(" ({})", l.describe()),
        None => String::new(),
    };
    // Whoever holds the item now: every verb on it — deciding, reversing, widening, the
    // narrowing that undoes a widening — is theirs (and an admin's).
    if let Some(tier) = current.held_by()
        && !actor.role.decides(tier)
        && !takes_back_own_escalation(actor, d, current, facts.reversed)
    {
        let held = if current.state == ReviewState::Escalated {
            format!("is escalated to {}", tier.label())
        } else {
            format!("was decided at the {} tier", tier.label())
        };
        return refuse(
            DecisionOutcome::Conflict,
            format!(
                "item {held}{}; only the {} role or an admin can decide it \
                 (this token's role is {})",
                decided_by(),
                tier.as_str(),
                actor.role.as_str()
            ),
        );
    }
    if d.action == DecisionAction::Reverse {
        return judge_reversal(actor, d, latest, facts.reversed, current);
    }
    if d.action == DecisionAction::SendSupport {
        return judge_support(facts);
    }
    if let Some(message) = d
        .account
        .as_ref()
        .and_then(|m| super::account_rules::refuse_measure(actor, m, facts.author))
    {
        return refuse(DecisionOutcome::Invalid, message);
    }
    let note_missing = d.note.as_deref().is_none_or(|n| n.trim().is_empty());
    let target = d.escalation_target.unwrap_or(EscalationTier::Senior);
    if d.action == DecisionAction::Escalate && target.needs_note() && note_missing {
        return refuse(
            DecisionOutcome::Invalid,
            format!(
                "an escalation to {} needs a note saying what they should look at",
                target.label()
            ),
        );
    }
    match current.state {
        ReviewState::Open => {}
        ReviewState::Escalated => {
            let tier = current.escalation_target.unwrap_or(EscalationTier::Senior);
            if d.action == DecisionAction::Escalate && tier == target {
                return refuse(
                    DecisionOutcome::Conflict,
                    format!(
                        "item is already escalated to {}{}",
                        tier.label(),
                        decided_by()
                    ),
                );
            }
        }
        ReviewState::TakenDown if d.action == DecisionAction::TakeDown => {
            // A take down in more countries widens the restriction (e.g. a second court
            // order); one already covered changes nothing and is refused.
            let wanted = d.scope.clone().unwrap_or_default();
            let Some(after) = widen(current.restricted_in.as_ref(), &wanted) else {
                return refuse(
                    DecisionOutcome::Conflict,
                    format!(
                        "item is already taken down in {}{}",
                        current
                            .restricted_in
                            .as_ref()
                            .map_or_else(|| "global".to_string(), Scope::label),
                        decided_by()
                    ),
                );
            };
            return match take_down_reason(d, facts) {
                Ok(reason_code) => Verdict::Apply {
                    after: ItemStatus {
                        state: ReviewState::TakenDown,
                        restricted_in: Some(after),
                        escalation_target: None,
                        tier: current.held_by(),
                    },
                    reason_code: Some(reason_code),
                },
                Err(message) => refuse(DecisionOutcome::Invalid, message),
            };
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
    let (after, reason_code) = match d.action {
        DecisionAction::TakeDown => match take_down_reason(d, facts) {
            Ok(code) => (
                ItemStatus {
                    state: ReviewState::TakenDown,
                    restricted_in: Some(d.scope.clone().unwrap_or_default()),
                    escalation_target: None,
                    tier: current.held_by(),
                },
                Some(code),
            ),
            Err(message) => return refuse(DecisionOutcome::Invalid, message),
        },
        DecisionAction::Keep => (
            ItemStatus {
                state: ReviewState::Kept,
                restricted_in: None,
                escalation_target: None,
                tier: current.held_by(),
            },
            d.reason_code.clone(),
        ),
        DecisionAction::Escalate => (
            ItemStatus {
                state: ReviewState::Escalated,
                restricted_in: None,
                escalation_target: Some(target),
                tier: Some(target),
            },
            d.reason_code.clone(),
        ),
        // Handled above (and appeals in `appeals::judge`); kept total rather than
        // unreachable!() so no path can panic.
        DecisionAction::Reverse
        | DecisionAction::Uphold
        | DecisionAction::Overturn
        | DecisionAction::SendSupport => (current.clone(), None),
    };
    Verdict::Apply { after, reason_code }
}

/// Whether `d` undoes `actor`'s own escalation to the senior tier, still waiting there: a
/// moderator's `u` right after a mistaken `e`. Specialist tiers are not taken back this
/// way: an item escalated to legal, law enforcement or child safety is theirs to send back.
fn takes_back_own_escalation(
    actor: &TokenInfo,
    d: &Decision,
    current: &ItemStatus,
    reversed: Option<&AppliedDecision>,
) -> bool {
    d.action == DecisionAction::Reverse
        && current.state == ReviewState::Escalated
        && current.held_by() == Some(EscalationTier::Senior)
        && reversed.is_some_and(|r| {
            r.action == DecisionAction::Escalate
                && r.item_id == d.item_id
                && match r.actor_token_id {
                    Some(by) => by == actor.id,
                    None => r.actor == actor.name,
                }
        })
}

/// The catalog code a take down cites: the one sent if the catalog has it, else the
/// default for the item's report category.
fn take_down_reason(d: &Decision, facts: &Facts<'_>) -> Result<String, String> {
    match d.reason_code.as_deref().filter(|c| !c.is_empty()) {
        Some(code) if facts.policies.get(code).is_some() => Ok(code.to_string()),
        Some(code) => Err(format!(
            "{code:?} is not a reason code in the policy catalog; GET /v1/policies lists them"
        )),
        None => Ok(facts
            .policies
            .default_code(facts.report_category.unwrap_or_default())
            .to_string()),
    }
}

/// The scope after a further take down in `wanted`, or `None` when `current` covers it.
pub fn widen(current: Option<&Scope>, wanted: &Scope) -> Option<Scope> {
    match (current, wanted) {
        (Some(Scope::Global), _) => None,
        (None, w) => Some(w.clone()),
        (Some(Scope::Countries(_)), Scope::Global) => Some(Scope::Global),
        (Some(Scope::Countries(have)), Scope::Countries(want)) => {
            if want.iter().all(|c| have.contains(c)) {
                return None;
            }
            let mut all = have.clone();
            all.extend(want.iter().cloned());
            all.sort();
            all.dedup();
            Some(Scope::Countries(all))
        }
    }
}

/// The decisions `actor` may make now on an item in `status` whose history is `history`,
/// so that a client can show what a role cannot do before the key is pressed. Mirrors
/// [`judge`]: an action listed here is not refused for the actor's role or the item's
/// state (it may still be refused for its content, e.g. an unknown reason code).
pub fn allowed_actions(
    actor: &TokenInfo,
    status: &ItemStatus,
    history: &[HistoryEntry],
) -> Vec<DecisionAction> {
    let latest = history.iter().rev().find(|h| {
        !matches!(
            h.event,
            HistoryEvent::Reported | HistoryEvent::Note | HistoryEvent::SupportSent
        )
    });
    if status
        .held_by()
        .is_some_and(|tier| !actor.role.decides(tier))
    {
        // Only their own escalation to the senior tier, which they may take back.
        let own_escalation = latest.is_some_and(|l| {
            l.event == HistoryEvent::Escalate
                && l.actor == actor.name
                && status.held_by() == Some(EscalationTier::Senior)
        });
        return if own_escalation {
            vec![DecisionAction::Reverse]
        } else {
            Vec::new()
        };
    }
    let may_reverse = latest.is_some_and(|l| {
        l.event != HistoryEvent::Reversal && (actor.role.is_lead() || l.actor == actor.name)
    });
    let mut actions = Vec::new();
    match status.state {
        ReviewState::Open => actions.extend([
            DecisionAction::TakeDown,
            DecisionAction::Keep,
            DecisionAction::Escalate,
        ]),
        ReviewState::Escalated => actions.extend([
            DecisionAction::TakeDown,
            DecisionAction::Keep,
            DecisionAction::Escalate,
        ]),
        ReviewState::TakenDown => {
            if matches!(status.restricted_in, Some(Scope::Countries(_))) {
                actions.push(DecisionAction::TakeDown);
            }
        }
        ReviewState::Kept => {}
    }
    if may_reverse {
        actions.push(DecisionAction::Reverse);
    }
    actions
}

/// The reporter a report names, as stored: only from the intake (an ordinary token's report
/// cannot make the server message someone), its country upper case and only if it is one.
pub fn reporter_of(report: &NewReport, intake: bool) -> Option<ReporterAccount> {
    let r = report.reporter.as_ref().filter(|_| intake)?;
    let id = r.id.trim();
    if id.is_empty() || id.chars().count() > MAX_SUBJECT_ID_CHARS {
        return None;
    }
    let country = r
        .country
        .as_deref()
        .map(str::to_ascii_uppercase)
        .filter(|c| crate::model::ISO_3166_ALPHA_2.contains(&c.as_str()));
    Some(ReporterAccount {
        id: id.to_string(),
        country,
    })
}

/// What a support message holds: the resources for the reporter's country (or the
/// fallback), frozen when sent, and whether the operator verified that entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SupportBody {
    pub resources: Vec<crate::support::SupportResource>,
    pub verified: bool,
}

pub fn support_body(
    catalog: &crate::support::SupportCatalog,
    country: Option<&str>,
) -> SupportBody {
    let entry = catalog.for_country(country);
    SupportBody {
        resources: entry.resources.clone(),
        verified: entry.verified,
    }
}

/// A support message: only on a self-harm item (by its leading report category, through the
/// catalog), only to reporters the server can message, in any state; the item stays as it is.
fn judge_support(facts: &Facts<'_>) -> Verdict {
    let category = facts.report_category.unwrap_or_default();
    if !facts.policies.is_self_harm(category) {
        return refuse(
            DecisionOutcome::Invalid,
            format!(
                "support resources go to the reporters of self-harm items; this item is \
                 reported as {category:?}"
            ),
        );
    }
    match facts.support {
        SupportReach {
            reachable: 0,
            messaged: 0,
        } => {
            return refuse(
                DecisionOutcome::Invalid,
                "no report on this item names a reporter the server can message".into(),
            );
        }
        SupportReach {
            reachable: 0,
            messaged,
        } => {
            return refuse(
                DecisionOutcome::Conflict,
                format!(
                    "support resources about this item went to its {messaged} reporter(s) \
                     already; a reporter is sent them once"
                ),
            );
        }
        _ => {}
    }
    Verdict::Apply {
        after: facts.current.clone(),
        reason_code: None,
    }
}

fn judge_reversal(
    actor: &TokenInfo,
    d: &Decision,
    latest: Option<&AppliedDecision>,
    reversed: Option<&AppliedDecision>,
    current: &ItemStatus,
) -> Verdict {
    let key = d.reverses.as_deref().unwrap_or_default();
    let Some(target) = reversed else {
        return refuse(
            DecisionOutcome::Invalid,
            format!(
                "no applied decision on item {:?} has idempotency key {key:?}",
                d.item_id
            ),
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
    if target.action == DecisionAction::SendSupport {
        return refuse(
            DecisionOutcome::Invalid,
            format!("decision {key:?} sent support resources: a message sent is not taken back"),
        );
    }
    match latest {
        Some(l) if l.audit_id == target.audit_id => {}
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
    let own = match (target.actor_token_id, actor.id) {
        (Some(by), me) => by == me,
        (None, _) => target.actor == actor.name,
    };
    // Who may undo a decision the item's tier does not restrict: its maker, or a lead. (A
    // held item was checked in `judge`: only its tier's role gets this far.)
    if current.held_by().is_none() && !actor.role.is_lead() && !own {
        return refuse(
            DecisionOutcome::Conflict,
            format!(
                "only a senior, specialist or admin can reverse another moderator's decision ({})",
                target.describe()
            ),
        );
    }
    Verdict::Apply {
        after: target.before.clone(),
        reason_code: d.reason_code.clone(),
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

/// Which escalated items a claim by `actor` in `state` takes (`Ok(None)`: every tier, or
/// the state is not escalated), or why it may not claim at all. Decided items cannot be
/// leased, and escalated ones only by those who can decide them: anyone else's lease would
/// only keep them from the people who can.
pub fn claim_tier(
    actor: &TokenInfo,
    state: ReviewState,
    requested: Option<EscalationTier>,
) -> Result<Option<EscalationTier>, String> {
    if !leasable(state) {
        return Err(format!(
            "only open or escalated items can be claimed, not {} ones; \
             read decided items with GET /v1/queue",
            state.as_str()
        ));
    }
    if state != ReviewState::Escalated {
        return Ok(None);
    }
    match requested {
        Some(tier) if actor.role.decides(tier) => Ok(Some(tier)),
        Some(tier) => Err(format!(
            "only the {} role or an admin can claim items escalated to {} \
             (this token's role is {}); read them with GET /v1/queue",
            tier.as_str(),
            tier.label(),
            actor.role.as_str()
        )),
        None => match actor.role.tier() {
            Some(own) => Ok(Some(own)),
            None if actor.role.decides(EscalationTier::Senior) => Ok(None),
            None => Err(
                "a moderator cannot claim escalated items; each tier is claimed by its role \
                 (senior, legal, law_enforcement, child_safety) or an admin"
                    .into(),
            ),
        },
    }
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

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ItemKind, ReporterType, Role, Subject};

    /// An item read counts every note; a role that may not read a restricted tier's notes
    /// is shown neither them nor their number, listed or only counted.
    #[test]
    fn the_history_total_leaves_out_the_notes_a_role_may_not_read() {
        let mut item: Item = serde_json::from_value(serde_json::json!({
            "id": "i", "kind": "post", "reports": [], "priority": 0, "lane": "standard",
            "state": "escalated", "created_at": "2026-11-23T12:00:00Z",
            "history": [{"at": "2026-11-23T12:00:00Z", "actor": "cs", "event": "note",
                         "note": "evidence", "tier": "child_safety",
                         "visible_to": "child_safety"}],
        }))
        .unwrap();
        item.totals = Some(crate::model::ItemTotals {
            history: 10,
            restricted_notes: vec![(EscalationTier::ChildSafety, 3)],
            ..Default::default()
        });
        let mut specialist = item.clone();
        redact_history(Role::ChildSafety, &mut specialist);
        assert_eq!(specialist.history.len(), 1);
        assert_eq!(specialist.totals.unwrap().history, 10);
        redact_history(Role::Moderator, &mut item);
        assert!(item.history.is_empty());
        let totals = item.totals.unwrap();
        assert_eq!(totals.history, 7);
        assert!(totals.restricted_notes.is_empty());
    }

    fn catalog() -> PolicyCatalog {
        PolicyCatalog::builtin()
    }

    fn judged(
        actor: &TokenInfo,
        d: &Decision,
        current: &ItemStatus,
        latest: Option<&AppliedDecision>,
        reversed: Option<&AppliedDecision>,
    ) -> Verdict {
        let policies = catalog();
        judge(
            actor,
            d,
            &Facts {
                current,
                latest,
                reversed,
                report_category: Some("spam"),
                policies: &policies,
                author: Some("author"),
                support: SupportReach::default(),
            },
        )
    }

    fn token(name: &str, role: Role) -> TokenInfo {
        TokenInfo {
            id: name.len() as i64,
            name: name.into(),
            role,
        }
    }

    fn moderator(name: &str) -> TokenInfo {
        TokenInfo {
            id: 100 + name.len() as i64,
            name: name.into(),
            role: Role::Moderator,
        }
    }

    fn senior() -> TokenInfo {
        TokenInfo {
            id: 7,
            name: "sam".into(),
            role: Role::Senior,
        }
    }

    fn decision(action: DecisionAction) -> Decision {
        Decision::bare("k2", "i", action, Utc::now())
    }

    fn applied(action: DecisionAction, actor: &str, before: ItemStatus) -> AppliedDecision {
        AppliedDecision {
            audit_id: 1,
            idempotency_key: "k1".into(),
            item_id: "i".into(),
            action,
            actor: actor.into(),
            actor_token_id: None,
            at: Utc::now(),
            body_hash: None,
            before,
        }
    }

    fn open() -> ItemStatus {
        ItemStatus {
            state: ReviewState::Open,
            restricted_in: None,
            escalation_target: None,
            tier: None,
        }
    }

    fn escalated() -> ItemStatus {
        ItemStatus {
            state: ReviewState::Escalated,
            restricted_in: None,
            escalation_target: Some(EscalationTier::Senior),
            tier: Some(EscalationTier::Senior),
        }
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
                thread: None,
            },
            reporter_type: ReporterType::User,
            category: "spam".into(),
            comment: None,
            lane: None,
            deadline: None,
            received_at: None,
            reporter: None,
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
        let v = judged(
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
                    escalation_target: None,
                    tier: None,
                },
                reason_code: Some("spam".into()),
            }
        );
    }

    #[test]
    fn escalated_items_need_a_senior() {
        let latest = applied(DecisionAction::Escalate, "al", open());
        let v = judged(
            &moderator("al"),
            &decision(DecisionAction::Keep),
            &escalated(),
            Some(&latest),
            None,
        );
        assert!(
            matches!(v, Verdict::Refuse { outcome: DecisionOutcome::Conflict, ref message }
            if message.contains("senior role or an admin") && message.contains("escalate by al")),
            "{v:?}"
        );
        let v = judged(
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
            tier: None,
        };
        let v = judged(&senior(), &d, &current, Some(&latest), Some(&latest));
        assert_eq!(
            v,
            Verdict::Apply {
                after: escalated(),
                reason_code: None
            }
        );
        // A moderator cannot undo a senior's decision.
        let v = judged(&moderator("al"), &d, &current, Some(&latest), Some(&latest));
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
    fn escalated_items_are_claimed_by_their_tiers_role() {
        let al = moderator("al");
        let legal = token("lee", Role::Legal);
        let admin = token("ada", Role::Admin);
        let escalated = ReviewState::Escalated;
        assert_eq!(claim_tier(&al, ReviewState::Open, None), Ok(None));
        assert!(claim_tier(&al, escalated, None).is_err());
        assert_eq!(
            claim_tier(&senior(), escalated, None),
            Ok(Some(EscalationTier::Senior))
        );
        assert_eq!(
            claim_tier(&legal, escalated, None),
            Ok(Some(EscalationTier::Legal))
        );
        let refused = claim_tier(&legal, escalated, Some(EscalationTier::ChildSafety));
        assert!(refused.is_err_and(|m| m.contains("child_safety role")));
        assert_eq!(claim_tier(&admin, escalated, None), Ok(None));
        assert_eq!(
            claim_tier(&admin, escalated, Some(EscalationTier::Legal)),
            Ok(Some(EscalationTier::Legal))
        );
        assert!(claim_tier(&senior(), ReviewState::TakenDown, None).is_err());
        assert!(claim_tier(&senior(), ReviewState::Kept, None).is_err());
    }

    #[test]
    fn only_the_tiers_role_decides_and_specialist_tiers_need_a_note() {
        let legal_item = ItemStatus {
            state: ReviewState::Escalated,
            restricted_in: None,
            escalation_target: Some(EscalationTier::Legal),
            tier: Some(EscalationTier::Legal),
        };
        let keep = decision(DecisionAction::Keep);
        let refused = judged(&senior(), &keep, &legal_item, None, None);
        assert!(matches!(
            refused,
            Verdict::Refuse {
                outcome: DecisionOutcome::Conflict,
                ..
            }
        ));
        let applied = judged(&token("lee", Role::Legal), &keep, &legal_item, None, None);
        assert!(matches!(applied, Verdict::Apply { .. }));

        let mut up = decision(DecisionAction::Escalate);
        up.escalation_target = Some(EscalationTier::ChildSafety);
        let refused = judged(&moderator("al"), &up, &open(), None, None);
        assert!(
            matches!(refused, Verdict::Refuse { outcome: DecisionOutcome::Invalid, ref message }
            if message.contains("needs a note"))
        );
        up.note = Some("hash match, possible grooming in DMs".into());
        assert!(matches!(
            judged(&moderator("al"), &up, &open(), None, None),
            Verdict::Apply { .. }
        ));
        // The senior tier works from the queue; no note needed.
        let to_senior = decision(DecisionAction::Escalate);
        assert!(matches!(
            judged(&moderator("al"), &to_senior, &open(), None, None),
            Verdict::Apply { .. }
        ));
    }

    #[test]
    fn a_decision_at_a_tier_keeps_the_item_with_that_tier_for_every_verb() {
        let cora = token("cora", Role::ChildSafety);
        let taken_down = ItemStatus {
            state: ReviewState::TakenDown,
            restricted_in: Some(Scope::Countries(vec!["DE".into()])),
            escalation_target: None,
            tier: Some(EscalationTier::ChildSafety),
        };
        let by_cora = applied(DecisionAction::TakeDown, "cora", escalated());
        let mut widen = decision(DecisionAction::TakeDown);
        widen.scope = Some(Scope::Global);
        let mut undo = decision(DecisionAction::Reverse);
        undo.reverses = Some("k1".into());
        for who in [senior(), moderator("al"), token("lee", Role::Legal)] {
            for d in [&widen, &undo, &decision(DecisionAction::Keep)] {
                let v = judged(&who, d, &taken_down, Some(&by_cora), Some(&by_cora));
                assert!(
                    matches!(v, Verdict::Refuse { outcome: DecisionOutcome::Conflict, ref message }
                        if message.contains("only the child_safety role")),
                    "{who:?} {d:?}: {v:?}"
                );
            }
        }
        // Cora widens it, and the item stays hers.
        let v = judged(&cora, &widen, &taken_down, Some(&by_cora), None);
        assert!(
            matches!(v, Verdict::Apply { ref after, .. } if after.tier == Some(EscalationTier::ChildSafety)),
            "{v:?}"
        );
        // What only that tier reads.
        assert!(!may_read(Role::Senior, Some(EscalationTier::ChildSafety)));
        assert!(may_read(
            Role::ChildSafety,
            Some(EscalationTier::ChildSafety)
        ));
        assert!(may_read(Role::Admin, Some(EscalationTier::LawEnforcement)));
        assert!(may_read(Role::Moderator, Some(EscalationTier::Legal)));
        assert_eq!(
            unreadable_tiers(Role::Legal),
            vec![EscalationTier::LawEnforcement, EscalationTier::ChildSafety]
        );
        assert_eq!(
            note_visible_to(None, Some(EscalationTier::ChildSafety)),
            Some(EscalationTier::ChildSafety)
        );
        assert_eq!(note_visible_to(Some(EscalationTier::Senior), None), None);
    }

    #[test]
    fn decided_at_stays_within_a_day_and_report_times_are_storable() {
        let now = Utc::now();
        let year_one = DateTime::parse_from_rfc3339("0001-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(clamp_decided_at(year_one, now), now - CLOCK_SKEW);
        assert_eq!(clamp_decided_at(now, now), now);
        let report = |received: Option<DateTime<Utc>>, deadline: Option<DateTime<Utc>>| {
            let mut r: NewReport = serde_json::from_value(serde_json::json!({
                "subject": {"id": "p1", "kind": "post"}, "category": "spam"
            }))
            .unwrap();
            r.received_at = received;
            r.deadline = deadline;
            r
        };
        let epoch = DateTime::<Utc>::UNIX_EPOCH;
        let far = now + chrono::TimeDelta::days(365 * 900);
        assert_eq!(received_time(&report(Some(year_one), None), now), epoch);
        assert_eq!(received_time(&report(Some(far), None), now), now);
        assert_eq!(received_time(&report(None, None), now), now);
        assert_eq!(deadline_time(&report(None, Some(year_one))), Some(epoch));
        assert!(is_country("DE") && is_country("XK") && !is_country("XX") && !is_country("de"));
        assert!(is_reported_country("de") && is_reported_country("DE"));
        assert!(!is_reported_country("De") && !is_reported_country("xx"));
    }

    #[test]
    fn reasons_come_from_the_catalog() {
        let mut d = decision(DecisionAction::TakeDown);
        d.reason_code = Some("made_up".into());
        assert!(matches!(
            judged(&moderator("al"), &d, &open(), None, None),
            Verdict::Refuse { outcome: DecisionOutcome::Invalid, ref message } if message.contains("made_up")
        ));
        d.reason_code = Some("copyright".into());
        assert!(matches!(
            judged(&moderator("al"), &d, &open(), None, None),
            Verdict::Apply { reason_code: Some(ref c), .. } if c == "copyright"
        ));
        assert_eq!(
            leading_category([
                (ReporterType::User, "spam"),
                (ReporterType::Authority, "hate"),
                (ReporterType::TrustedFlagger, "terrorism")
            ]),
            Some("hate")
        );
    }

    #[test]
    fn a_take_down_in_more_countries_widens_the_scope() {
        let de = Scope::Countries(vec!["DE".into()]);
        let fr = Scope::Countries(vec!["FR".into()]);
        assert_eq!(
            widen(Some(&de), &fr),
            Some(Scope::Countries(vec!["DE".into(), "FR".into()]))
        );
        assert_eq!(widen(Some(&de), &de), None);
        assert_eq!(widen(Some(&de), &Scope::Global), Some(Scope::Global));
        assert_eq!(widen(Some(&Scope::Global), &fr), None);
    }

    #[test]
    fn allowed_actions_follow_role_state_and_tier() {
        let legal_item = ItemStatus {
            state: ReviewState::Escalated,
            restricted_in: None,
            escalation_target: Some(EscalationTier::Legal),
            tier: Some(EscalationTier::Legal),
        };
        let escalated_by_al = [HistoryEntry {
            at: Utc::now(),
            actor: "al".into(),
            event: HistoryEvent::Escalate,
            reason_code: None,
            scope: None,
            note: Some("court order".into()),
            escalation_target: Some(EscalationTier::Legal),
            tier: Some(EscalationTier::Legal),
            visible_to: None,
        }];
        assert_eq!(
            allowed_actions(&moderator("bo"), &legal_item, &escalated_by_al),
            vec![]
        );
        // Not even who escalated it: it is legal's now, and only legal sends it back.
        assert_eq!(
            allowed_actions(&moderator("al"), &legal_item, &escalated_by_al),
            vec![]
        );
        assert_eq!(
            allowed_actions(&token("lee", Role::Legal), &legal_item, &escalated_by_al),
            vec![
                DecisionAction::TakeDown,
                DecisionAction::Keep,
                DecisionAction::Escalate,
                DecisionAction::Reverse
            ]
        );
        assert_eq!(
            allowed_actions(&moderator("bo"), &open(), &[]),
            vec![
                DecisionAction::TakeDown,
                DecisionAction::Keep,
                DecisionAction::Escalate
            ]
        );
    }
}
