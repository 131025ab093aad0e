//! Ozone's subjects, statuses and events as modq's items, reports and history; modq's
//! decisions as Ozone's events. Pure functions: no network here.
//!
//! Text is left as the platform sent it: the App passes every item through modq's sanitizer
//! (`sanitize_item`) before anything is drawn.

use chrono::{DateTime, Utc};

use super::wire::{
    self, EventView, REVIEW_CLOSED, REVIEW_ESCALATED, REVIEW_OPEN, SubjectRef, SubjectStatus,
    SubjectView,
};
use crate::account::{AccountCounts, AccountStanding};
use crate::model::{
    Appeal, AppealedDecision, Author, DecisionAction, EscalationTier, HistoryEntry, HistoryEvent,
    Item, ItemKind, Lane, Media, Report, ReporterType, ReviewState,
};

/// The role a member has on Ozone's team (`tools.ozone.team.defs#role*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OzoneRole {
    Admin,
    Moderator,
    /// Acknowledges, escalates and comments; may not take down or reverse one.
    Triage,
}

impl OzoneRole {
    pub fn parse(role: &str) -> Option<OzoneRole> {
        match role.rsplit('#').next()? {
            "roleAdmin" => Some(OzoneRole::Admin),
            "roleModerator" => Some(OzoneRole::Moderator),
            "roleTriage" => Some(OzoneRole::Triage),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            OzoneRole::Admin => "admin",
            OzoneRole::Moderator => "moderator",
            OzoneRole::Triage => "triage",
        }
    }

    /// modq's role closest to it. modq has no triage role: a triage member is a moderator
    /// whose capabilities say what Ozone does not let them do.
    pub fn modq_role(self) -> crate::model::Role {
        match self {
            OzoneRole::Admin => crate::model::Role::Admin,
            OzoneRole::Moderator | OzoneRole::Triage => crate::model::Role::Moderator,
        }
    }

    /// What this role may decide on an item standing in `state`.
    pub fn allowed(self, state: ReviewState) -> Vec<DecisionAction> {
        let full = self != OzoneRole::Triage;
        match state {
            ReviewState::Open | ReviewState::Escalated => {
                let mut actions = Vec::new();
                if full {
                    actions.push(DecisionAction::TakeDown);
                }
                actions.push(DecisionAction::Keep);
                if state == ReviewState::Open {
                    actions.push(DecisionAction::Escalate);
                }
                actions
            }
            ReviewState::TakenDown if full => vec![DecisionAction::Reverse],
            ReviewState::TakenDown | ReviewState::Kept => Vec::new(),
        }
    }
}

/// Ozone's review state as modq's: a closed subject is taken down or kept.
pub fn review_state(status: &SubjectStatus) -> ReviewState {
    if status.takendown {
        return ReviewState::TakenDown;
    }
    match status.review_state.as_str() {
        REVIEW_ESCALATED => ReviewState::Escalated,
        REVIEW_CLOSED => ReviewState::Kept,
        // `reviewOpen`, and `reviewNone` (a subject only commented on) counts as waiting.
        _ => ReviewState::Open,
    }
}

/// The `reviewState` parameter of `queryStatuses` for a modq queue state; `None` for the
/// states Ozone keeps as one closed state (asked with `takendown` instead).
pub fn review_state_param(state: ReviewState) -> (&'static str, Option<bool>) {
    match state {
        ReviewState::Open => (REVIEW_OPEN, None),
        ReviewState::Escalated => (REVIEW_ESCALATED, None),
        ReviewState::TakenDown => (REVIEW_CLOSED, Some(true)),
        ReviewState::Kept => (REVIEW_CLOSED, Some(false)),
    }
}

/// A report reason as a category: `com.atproto.moderation.defs#reasonSpam` → `spam`,
/// `tools.ozone.report.defs#reasonViolenceThreats` → `violence_threats`.
pub fn category(reason: &str) -> String {
    let name = reason.rsplit('#').next().unwrap_or(reason);
    let name = name.strip_prefix("reason").unwrap_or(name);
    let mut out = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    if out.is_empty() {
        "other".to_string()
    } else {
        out
    }
}

/// The reports of a subject read from its `report:<category>` tags, when its report events
/// were not read (a queue page): one per category, at the last report's time.
fn reports_from_tags(status: &SubjectStatus) -> Vec<Report> {
    let at = status.last_reported_at.unwrap_or(status.created_at);
    status
        .tags
        .iter()
        .filter_map(|t| t.strip_prefix("report:"))
        .zip(1..)
        .map(|(cat, i)| Report {
            id: i,
            reporter_type: ReporterType::User,
            category: cat.to_string(),
            comment: None,
            lane: lane(status),
            deadline: None,
            received_at: at,
        })
        .collect()
}

fn lane(status: &SubjectStatus) -> Lane {
    if status.appealed == Some(true) {
        Lane::Appeals
    } else {
        Lane::Standard
    }
}

/// A report event as a modq report.
pub fn report(event: &EventView, lane: Lane) -> Option<Report> {
    if event.event.kind != wire::EVENT_REPORT {
        return None;
    }
    Some(Report {
        id: event.id,
        reporter_type: ReporterType::User,
        category: event
            .event
            .report_type
            .as_deref()
            .map(category)
            .unwrap_or_else(|| "other".into()),
        comment: event.event.comment.clone(),
        lane,
        deadline: None,
        received_at: event.created_at,
    })
}

/// An event as a line of the item's history; `None` for events modq does not show
/// (labels, tags, mutes, hosting changes).
pub fn history(event: &EventView) -> Option<HistoryEntry> {
    let kind = event.event.kind.as_str();
    let (what, tier) = match kind {
        wire::EVENT_REPORT => (HistoryEvent::Reported, None),
        wire::EVENT_TAKEDOWN => (HistoryEvent::TakeDown, None),
        wire::EVENT_ACKNOWLEDGE => (HistoryEvent::Keep, None),
        wire::EVENT_ESCALATE => (HistoryEvent::Escalate, Some(EscalationTier::Senior)),
        wire::EVENT_REVERSE_TAKEDOWN => (HistoryEvent::Reversal, None),
        wire::EVENT_COMMENT => (HistoryEvent::Note, None),
        _ => return None,
    };
    Some(HistoryEntry {
        at: event.created_at,
        actor: event
            .creator_handle
            .clone()
            .unwrap_or_else(|| event.created_by.clone()),
        event: what,
        reason_code: event.event.report_type.as_deref().map(category),
        scope: None,
        note: event.event.comment.clone(),
        escalation_target: tier,
        tier,
        visible_to: None,
    })
}

/// A subject as modq's item. `view` brings the record or account (absent when Ozone could
/// not hydrate it: the item still shows, without its text); `events`, when read, its reports
/// and history, newest first as Ozone lists them.
pub fn item(
    status: &SubjectStatus,
    view: Option<&SubjectView>,
    events: Option<&[EventView]>,
    role: OzoneRole,
) -> Option<Item> {
    let id = status.subject.id()?.to_string();
    let state = review_state(status);
    let lane = lane(status);
    let record = view.and_then(|v| v.record.as_ref());
    let repo = view.and_then(|v| v.repo.as_ref());
    let (kind, text, language, media) = match (&status.subject, record) {
        (SubjectRef::Repo { .. }, _) => (ItemKind::Account, None, None, Vec::new()),
        (_, Some(r)) => (
            ItemKind::Post,
            record_text(&r.value),
            r.value
                .get("langs")
                .and_then(|l| l.get(0))
                .and_then(|l| l.as_str())
                .map(str::to_string),
            r.blobs
                .iter()
                .map(|b| Media {
                    kind: b
                        .get("mimeType")
                        .and_then(|m| m.as_str())
                        .unwrap_or("blob")
                        .to_string(),
                    description: None,
                    hash_match: None,
                    ..Media::default()
                })
                .collect(),
        ),
        (_, None) => (ItemKind::Post, None, None, Vec::new()),
    };
    let author_did = match &status.subject {
        SubjectRef::Repo { did } => Some(did.clone()),
        SubjectRef::Record { uri, .. } => uri
            .strip_prefix("at://")
            .and_then(|rest| rest.split('/').next())
            .map(str::to_string),
        SubjectRef::Other => None,
    };
    let handle = record
        .and_then(|r| r.repo.as_ref())
        .or(repo)
        .and_then(|r| r.handle.clone())
        .or_else(|| status.subject_repo_handle.clone());
    let created_at = view.and_then(account_created_at);
    let author = author_did.map(|id| Author {
        id,
        handle,
        created_at,
    });
    let account = author.as_ref().map(|a| standing(a, status));
    let (reports, history) = match events {
        Some(events) => {
            let mut reports: Vec<Report> = events.iter().filter_map(|e| report(e, lane)).collect();
            reports.reverse();
            let mut history: Vec<HistoryEntry> = events.iter().filter_map(history).collect();
            history.reverse();
            (reports, history)
        }
        None => (reports_from_tags(status), Vec::new()),
    };
    Some(Item {
        id,
        kind,
        text,
        author,
        language,
        countries: Vec::new(),
        media,
        reports,
        priority: status.priority_score.unwrap_or(0),
        lane,
        deadline: None,
        state,
        restricted_in: None,
        escalation_target: (state == ReviewState::Escalated).then_some(EscalationTier::Senior),
        created_at: status.created_at,
        history,
        author_record: None,
        allowed_actions: Some(role.allowed(state)),
        leased_by: None,
        appeal: None,
        thread: None,
        account,
        totals: None,
    })
}

/// When the account was made, as the AppView's profile says (`createdAt`). The repo view's
/// `indexedAt` is not read: the installed Ozone answers 1970-01-01 there.
fn account_created_at(view: &SubjectView) -> Option<DateTime<Utc>> {
    view.profile
        .as_ref()?
        .get("createdAt")?
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

/// The author's account as Ozone counts it. Ozone keeps no strike window and proposes no
/// measure: those stay empty (`window_days` 0), and its own counts are carried as they are.
fn standing(author: &Author, status: &SubjectStatus) -> AccountStanding {
    let counts = status.account_stats.as_ref().and_then(|s| {
        let counts = AccountCounts {
            reports: s.report_count,
            takedowns: s.takedown_count,
            suspensions: s.suspend_count,
            appeals: s.appeal_count,
            escalations: s.escalate_count,
        };
        (counts != AccountCounts::default()).then_some(counts)
    });
    AccountStanding {
        account_id: author.id.clone(),
        created_at: author.created_at,
        window_days: 0,
        strikes_in_window: 0,
        recent: Vec::new(),
        in_force: None,
        proposal: None,
        counts,
    }
}

/// The events an appeal is read from: the take down appealed and the appeal itself.
pub const APPEAL_EVENTS: [&str; 2] = [wire::EVENT_TAKEDOWN, wire::EVENT_REPORT];

/// Why the moderator who took the subject down may not decide its appeal (EU DSA Article
/// 20), in the words of modq's own server.
pub fn first_decider_refusal(takedown: &EventView, appeal_id: i64) -> String {
    format!(
        "you made the decision appealed (take down on {}); under EU DSA Article 20 another \
         moderator decides appeal {appeal_id}",
        takedown.created_at.format("%Y-%m-%d %H:%M UTC")
    )
}

/// The appeal's number as `fill_appeal` gives it: the author's appeal report, else the take
/// down's event.
pub fn appeal_id(events: &[EventView], takedown: &EventView) -> i64 {
    events
        .iter()
        .filter(|e| e.created_at >= takedown.created_at)
        .find(|e| is_appeal_report(e))
        .map_or(takedown.id, |a| a.id)
}

/// The take down an appeal is against: the newest take down event (`events` newest first).
pub fn appealed_takedown(events: &[EventView]) -> Option<&EventView> {
    events.iter().find(|e| e.event.kind == wire::EVENT_TAKEDOWN)
}

fn is_appeal_report(event: &EventView) -> bool {
    event.event.kind == wire::EVENT_REPORT
        && event
            .event
            .report_type
            .as_deref()
            .is_some_and(|t| wire::APPEAL_REASONS.contains(&t))
}

/// Make an appealed, taken down subject an appeal modq decides: the take down appealed (who
/// made it, when, its comment), the author's appeal, and the keys this moderator may use:
/// none for the one who took it down (EU DSA Article 20), uphold only for a triage member
/// (Ozone lets triage resolve an appeal, not reverse a take down). An appeal of anything
/// else (a label, an acknowledge) is left as an escalated subject: modq maps only take downs.
pub fn fill_appeal(item: &mut Item, events: &[EventView], me: Option<&str>, role: OzoneRole) {
    if item.lane != Lane::Appeals || item.state != ReviewState::TakenDown {
        return;
    }
    let Some(takedown) = appealed_takedown(events) else {
        return;
    };
    let appeal = events
        .iter()
        .filter(|e| e.created_at >= takedown.created_at)
        .find(|e| is_appeal_report(e));
    debug_assert_eq!(
        appeal.map_or(takedown.id, |a| a.id),
        appeal_id(events, takedown)
    );
    let who = |e: &EventView| {
        e.creator_handle
            .clone()
            .unwrap_or_else(|| e.created_by.clone())
    };
    item.appeal = Some(Appeal {
        id: appeal.map_or(takedown.id, |a| a.id),
        item_id: item.id.clone(),
        decision: AppealedDecision {
            audit_id: takedown.id,
            action: DecisionAction::TakeDown,
            reason_code: None,
            scope: None,
            decided_by: who(takedown),
            decided_at: takedown.created_at,
            statement: None,
        },
        appellant_statement: appeal
            .and_then(|a| a.event.comment.clone())
            .unwrap_or_default(),
        lodged_by: appeal.map_or_else(|| "the author".into(), who),
        lodged_at: appeal.map_or(takedown.created_at, |a| a.created_at),
        outcome: None,
    });
    item.allowed_actions = Some(if me == Some(takedown.created_by.as_str()) {
        Vec::new()
    } else if role == OzoneRole::Triage {
        vec![DecisionAction::Uphold]
    } else {
        vec![DecisionAction::Uphold, DecisionAction::Overturn]
    });
}

/// What a record says: a post's `text`; for other records (lists, feeds, profiles) their
/// name and description, or the record's type.
fn record_text(value: &serde_json::Value) -> Option<String> {
    let field = |name: &str| value.get(name).and_then(|v| v.as_str());
    if let Some(text) = field("text") {
        return Some(text.to_string());
    }
    let parts: Vec<&str> = ["displayName", "name", "description"]
        .into_iter()
        .filter_map(field)
        .collect();
    if !parts.is_empty() {
        return Some(parts.join("\n"));
    }
    field("$type").map(|t| format!("a {t} record"))
}

/// The Ozone event a modq decision becomes, or why it cannot become one.
pub fn event_for(
    action: DecisionAction,
    note: Option<&str>,
    reason_code: Option<&str>,
) -> Result<serde_json::Value, String> {
    let comment = match (reason_code, note) {
        (Some(code), Some(note)) => Some(format!("[{code}] {note}")),
        (Some(code), None) => Some(format!("[{code}]")),
        (None, Some(note)) => Some(note.to_string()),
        (None, None) => None,
    };
    let kind = match action {
        DecisionAction::TakeDown => wire::EVENT_TAKEDOWN,
        DecisionAction::Keep => wire::EVENT_ACKNOWLEDGE,
        DecisionAction::Escalate => wire::EVENT_ESCALATE,
        DecisionAction::Reverse => wire::EVENT_REVERSE_TAKEDOWN,
        // Each is two events (see `decide::decide_appeal`), never one from here.
        DecisionAction::Uphold | DecisionAction::Overturn => {
            return Err("an appeal is decided by its own events".to_string());
        }
        DecisionAction::SendSupport => {
            return Err(
                "Ozone has no event that messages a reporter: modq sends no support resources there"
                    .into(),
            );
        }
    };
    let mut event = serde_json::json!({ "$type": kind });
    if let (Some(comment), Some(map)) = (comment, event.as_object_mut()) {
        map.insert("comment".into(), serde_json::Value::String(comment));
    }
    Ok(event)
}

/// A note as Ozone's comment event.
pub fn comment_event(note: &str) -> serde_json::Value {
    serde_json::json!({ "$type": wire::EVENT_COMMENT, "comment": note })
}

/// The history entry of a note modq just emitted.
pub fn note_entry(actor: &str, note: &str, at: DateTime<Utc>) -> HistoryEntry {
    HistoryEntry {
        at,
        actor: actor.to_string(),
        event: HistoryEvent::Note,
        reason_code: None,
        scope: None,
        note: Some(note.to_string()),
        escalation_target: None,
        tier: None,
        visible_to: None,
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_reasons_read_as_categories() {
        assert_eq!(category("com.atproto.moderation.defs#reasonSpam"), "spam");
        assert_eq!(
            category("tools.ozone.report.defs#reasonViolenceThreats"),
            "violence_threats"
        );
        assert_eq!(category("#reason"), "other");
    }

    #[test]
    fn a_triage_member_may_keep_and_escalate_but_not_take_down_or_reverse() {
        let triage = OzoneRole::Triage.allowed(ReviewState::Open);
        assert_eq!(triage, vec![DecisionAction::Keep, DecisionAction::Escalate]);
        assert!(OzoneRole::Triage.allowed(ReviewState::TakenDown).is_empty());
        assert!(
            OzoneRole::Moderator
                .allowed(ReviewState::Open)
                .contains(&DecisionAction::TakeDown)
        );
        assert_eq!(
            OzoneRole::parse("tools.ozone.team.defs#roleTriage"),
            Some(OzoneRole::Triage)
        );
    }

    fn event(id: i64, kind: &str, by: &str, minute: u32, report_type: Option<&str>) -> EventView {
        EventView {
            id,
            event: wire::EventBody {
                kind: kind.to_string(),
                comment: Some(format!("comment {id}")),
                report_type: report_type.map(str::to_string),
            },
            created_by: by.to_string(),
            created_at: chrono::TimeZone::with_ymd_and_hms(&Utc, 2026, 12, 1, 10, minute, 0)
                .unwrap(),
            creator_handle: Some(format!("{by}.test")),
            mod_tool: None,
        }
    }

    fn appealed_status(takendown: bool) -> SubjectStatus {
        serde_json::from_value(serde_json::json!({
            "subject": {"$type": wire::STRONG_REF, "uri": "at://did:plc:m/app.bsky.feed.post/1", "cid": "c"},
            "reviewState": REVIEW_ESCALATED,
            "createdAt": "2026-12-01T10:00:00Z",
            "takendown": takendown,
            "appealed": true,
            "accountStats": {"reportCount": 2, "takedownCount": 0},
        }))
        .unwrap()
    }

    #[test]
    fn an_appealed_take_down_is_an_appeal_withheld_from_its_taker() {
        // Newest first, as Ozone lists them: the author's appeal, the take down, a report.
        let events = [
            event(
                3,
                wire::EVENT_REPORT,
                "did:plc:m",
                3,
                Some(wire::APPEAL_REASONS[0]),
            ),
            event(2, wire::EVENT_TAKEDOWN, "did:plc:senior", 2, None),
            event(
                1,
                wire::EVENT_REPORT,
                "did:plc:alice",
                1,
                Some("com.atproto.moderation.defs#reasonSpam"),
            ),
        ];
        let status = appealed_status(true);
        let fill = |me: &str, role| {
            let mut item = item(&status, None, None, role).unwrap();
            fill_appeal(&mut item, &events, Some(me), role);
            item
        };
        let other = fill("did:plc:mod", OzoneRole::Moderator);
        let appeal = other.appeal.clone().unwrap();
        assert_eq!(appeal.id, 3);
        assert_eq!(appeal.decision.audit_id, 2);
        assert_eq!(appeal.decision.decided_by, "did:plc:senior.test");
        assert_eq!(appeal.appellant_statement, "comment 3");
        assert_eq!(
            other.allowed_actions,
            Some(vec![DecisionAction::Uphold, DecisionAction::Overturn])
        );
        let taker = fill("did:plc:senior", OzoneRole::Moderator);
        assert_eq!(taker.allowed_actions, Some(vec![]));
        let why = crate::tui::appeal::withheld(&taker).unwrap();
        assert!(why.contains("Article 20"), "{why}");
        assert_eq!(
            fill("did:plc:t", OzoneRole::Triage).allowed_actions,
            Some(vec![DecisionAction::Uphold])
        );
        // Not taken down (a label appealed, or reversed already): not an appeal modq decides.
        let up = appealed_status(false);
        let mut item = item(&up, None, None, OzoneRole::Moderator).unwrap();
        fill_appeal(
            &mut item,
            &events,
            Some("did:plc:mod"),
            OzoneRole::Moderator,
        );
        assert_eq!(item.appeal, None);
        // The account as Ozone counts it, without a strike window.
        let account = other.account.unwrap();
        assert_eq!(account.window_days, 0);
        let counts = account.counts.unwrap();
        assert_eq!(
            (counts.reports, counts.takedowns, counts.appeals),
            (Some(2), Some(0), None)
        );
    }
}
