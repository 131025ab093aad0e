//! Matrix reports as modq items. An item is one reported message (every report on it), id
//! `{room id}/{event id}`, or one reported account (every user report on it), id the user id.
//! Text is carried as the homeserver sent it: the App sanitizes every item it is handed.

use chrono::{DateTime, Utc};

use super::room::{Snapshot, from_ms};
use super::wire::{Account, ContextEvent, EventContext, EventReport, StoredEvent, UserReport};
use crate::backend::BackendError;
use crate::model::{
    Author, Item, ItemKind, Lane, Report, ReporterType, ReviewState, Thread, ThreadMessage,
};

/// What an item id names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ItemRef {
    Event { room: String, event: String },
    User { user: String },
}

impl ItemRef {
    pub fn parse(id: &str) -> Result<ItemRef, BackendError> {
        if id.starts_with('@') {
            return Ok(ItemRef::User {
                user: id.to_string(),
            });
        }
        // Room ids never hold a `/`; old event ids may, so the first one splits.
        match id.split_once('/') {
            Some((room, event)) if room.starts_with('!') && event.starts_with('$') => {
                Ok(ItemRef::Event {
                    room: room.to_string(),
                    event: event.to_string(),
                })
            }
            _ => Err(BackendError::Rejected {
                status: 400,
                message: format!(
                    "{:?} names no Matrix report: an item is `!room/$event` or `@user`",
                    crate::sanitize::clean_short(id, 120)
                ),
            }),
        }
    }

    pub fn id(&self) -> String {
        match self {
            ItemRef::Event { room, event } => format!("{room}/{event}"),
            ItemRef::User { user } => user.clone(),
        }
    }
}

/// The score a reporter gave (-100 most offensive, 0 inoffensive) as a priority: more
/// reports and worse scores come first.
fn weight(score: Option<i64>) -> i64 {
    10 + score.map_or(0, |s| (-s).clamp(0, 100))
}

fn category(score: Option<i64>) -> String {
    match score {
        Some(s) => format!("score {s}"),
        None => "no score".to_string(),
    }
}

fn report_of(id: i64, reporter: &str, score: Option<i64>, reason: Option<&str>, ts: i64) -> Report {
    Report {
        id,
        reporter_type: ReporterType::User,
        category: category(score),
        comment: Some(format!(
            "{reporter}: {}",
            reason
                .filter(|r| !r.is_empty())
                .unwrap_or("(no reason given)")
        )),
        lane: Lane::Standard,
        deadline: None,
        received_at: from_ms(ts),
    }
}

/// The message's text as a moderator reads it.
pub fn event_text(event: Option<&StoredEvent>) -> String {
    let Some(e) = event else {
        return "(the reported event is no longer on the homeserver)".to_string();
    };
    let body = e.content.get("body").and_then(|b| b.as_str());
    let msgtype = e.content.get("msgtype").and_then(|b| b.as_str());
    match (e.kind.as_str(), msgtype, body) {
        ("m.room.message", Some("m.text") | None, Some(body)) => body.to_string(),
        ("m.room.message", Some(kind), Some(body)) => format!("[{kind}] {body}"),
        (kind, _, _) => {
            let content = serde_json::to_string(&e.content).unwrap_or_default();
            let short: String = content.chars().take(2000).collect();
            format!("[{kind}] {short}")
        }
    }
}

/// Most messages of the thread shown on each side of a reported one.
pub const THREAD_SIDE: usize = 5;

/// The event a message replies to (`m.relates_to` → `m.in_reply_to`), if it is a reply.
pub fn reply_to(event: &StoredEvent) -> Option<&str> {
    event
        .content
        .get("m.relates_to")?
        .get("m.in_reply_to")?
        .get("event_id")?
        .as_str()
}

fn thread_message(e: &ContextEvent) -> ThreadMessage {
    ThreadMessage {
        id: e.event_id.clone(),
        author: e.event.sender.as_ref().map(|s| Author {
            id: s.clone(),
            handle: None,
            created_at: None,
        }),
        text: Some(event_text(Some(&e.event))),
        at: e.event.origin_server_ts.map(from_ms),
    }
}

/// The thread around a reported message from its room's context: the messages (not state
/// events) just before and after it, oldest first, and the message it replies to.
pub fn thread_of(context: &EventContext, parent: Option<&ContextEvent>) -> Thread {
    let message = |e: &&ContextEvent| e.event.kind == "m.room.message";
    let mut before: Vec<ThreadMessage> = context
        .events_before
        .iter()
        .filter(message)
        .take(THREAD_SIDE)
        .map(thread_message)
        .collect();
    before.reverse();
    Thread {
        parent: parent.map(thread_message),
        before,
        after: context
            .events_after
            .iter()
            .filter(message)
            .take(THREAD_SIDE)
            .map(thread_message)
            .collect(),
    }
}

/// The account line: `mallory [suspended, shadow-banned]`.
fn author(user: &str, account: Option<&Account>) -> Author {
    let handle = account.map(|a| {
        let name = a.displayname.as_deref().unwrap_or(user);
        format!("{name} [{}]", a.state_words())
    });
    Author {
        id: user.to_string(),
        handle,
        created_at: None,
    }
}

pub struct Context<'a> {
    pub me: &'a str,
    pub room: Option<&'a Snapshot>,
    pub now_ms: i64,
}

impl Context<'_> {
    fn apply(&self, item: &mut Item) {
        let Some(room) = self.room else {
            return;
        };
        if let Some(x) = room.escalations.get(&item.id) {
            item.state = ReviewState::Escalated;
            item.escalation_target = Some(x.tier);
        }
        item.history = room.history(&item.id);
        item.leased_by = room
            .holder(&item.id, self.now_ms)
            .filter(|c| c.holder != self.me)
            .map(|c| c.holder.clone());
    }
}

/// One reported message with its reports (oldest first), the stored event, and the sender's
/// account.
pub fn event_item(
    reports: &[EventReport],
    event: Option<&StoredEvent>,
    account: Option<&Account>,
    cx: &Context<'_>,
) -> Option<Item> {
    let first = reports.first()?;
    let sender = first
        .sender
        .clone()
        .or_else(|| event.and_then(|e| e.sender.clone()))
        .unwrap_or_else(|| "(unknown sender)".into());
    let place = match (&first.name, &first.canonical_alias) {
        (Some(n), Some(a)) => format!("{n} ({a})"),
        (Some(n), None) => n.clone(),
        (None, Some(a)) => a.clone(),
        (None, None) => "an unnamed room".into(),
    };
    let text = format!(
        "{}\n\n— in {place}, room {}, event {}",
        event_text(event),
        first.room_id,
        first.event_id
    );
    let mut item = Item {
        id: ItemRef::Event {
            room: first.room_id.clone(),
            event: first.event_id.clone(),
        }
        .id(),
        kind: ItemKind::Post,
        text: Some(text),
        author: Some(author(&sender, account)),
        language: None,
        countries: Vec::new(),
        media: Vec::new(),
        reports: reports
            .iter()
            .map(|r| {
                report_of(
                    r.id,
                    &r.user_id,
                    r.score,
                    r.reason.as_deref(),
                    r.received_ts,
                )
            })
            .collect(),
        priority: reports.iter().map(|r| weight(r.score)).sum(),
        lane: Lane::Standard,
        deadline: None,
        state: ReviewState::Open,
        restricted_in: None,
        escalation_target: None,
        created_at: created(event, first.received_ts),
        history: Vec::new(),
        author_record: None,
        allowed_actions: None,
        leased_by: None,
        appeal: None,
        thread: None,
        account: None,
        totals: None,
    };
    cx.apply(&mut item);
    Some(item)
}

fn created(event: Option<&StoredEvent>, fallback_ms: i64) -> DateTime<Utc> {
    from_ms(
        event
            .and_then(|e| e.origin_server_ts)
            .unwrap_or(fallback_ms),
    )
}

/// One reported account with its user reports.
pub fn user_item(
    reports: &[UserReport],
    account: Option<&Account>,
    cx: &Context<'_>,
) -> Option<Item> {
    let first = reports.first()?;
    let user = &first.target_user_id;
    let state = account.map_or_else(
        || "unknown to this homeserver".to_string(),
        Account::state_words,
    );
    let mut item = Item {
        id: ItemRef::User { user: user.clone() }.id(),
        kind: ItemKind::Account,
        text: Some(format!(
            "The account {user} was reported ({state}). t suspends it; T offers shadow-ban and deactivation."
        )),
        author: Some(author(user, account)),
        language: None,
        countries: Vec::new(),
        media: Vec::new(),
        reports: reports
            .iter()
            .map(|r| report_of(r.id, &r.user_id, None, r.reason.as_deref(), r.received_ts))
            .collect(),
        priority: reports.len() as i64 * weight(None),
        lane: Lane::Standard,
        deadline: None,
        state: ReviewState::Open,
        restricted_in: None,
        escalation_target: None,
        created_at: from_ms(first.received_ts),
        history: Vec::new(),
        author_record: None,
        allowed_actions: None,
        leased_by: None,
        appeal: None,
        thread: None,
        account: None,
        totals: None,
    };
    cx.apply(&mut item);
    Some(item)
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    /// The context's sides come back oldest first, state events left out, the parent kept.
    #[test]
    fn a_thread_is_read_from_a_context_oldest_first_without_state_events() {
        let event = |id: &str, kind: &str, ts: i64| -> ContextEvent {
            serde_json::from_value(serde_json::json!({
                "event_id": id, "type": kind, "sender": "@a:t", "origin_server_ts": ts,
                "content": {"msgtype": "m.text", "body": format!("text {id}")}
            }))
            .unwrap()
        };
        let context = EventContext {
            events_before: vec![
                event("$b2", "m.room.message", 20),
                event("$join", "m.room.member", 15),
                event("$b1", "m.room.message", 10),
            ],
            event: Some(event("$it", "m.room.message", 30)),
            events_after: vec![event("$a1", "m.room.message", 40)],
        };
        let thread = thread_of(&context, context.events_before.last());
        let ids = |ms: &[ThreadMessage]| ms.iter().map(|m| m.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&thread.before), ["$b1", "$b2"]);
        assert_eq!(ids(&thread.after), ["$a1"]);
        assert_eq!(thread.parent.map(|p| p.text), Some(Some("text $b1".into())));
        let reply: StoredEvent = serde_json::from_value(serde_json::json!({
            "type": "m.room.message",
            "content": {"body": "x", "m.relates_to": {"m.in_reply_to": {"event_id": "$q"}}}
        }))
        .unwrap();
        assert_eq!(reply_to(&reply), Some("$q"));
    }

    #[test]
    fn item_ids_name_a_message_or_an_account() {
        let e = ItemRef::parse("!abc:x/$ev/with+slash").unwrap();
        assert_eq!(
            e,
            ItemRef::Event {
                room: "!abc:x".into(),
                event: "$ev/with+slash".into()
            }
        );
        assert_eq!(ItemRef::parse(&e.id()).unwrap(), e);
        assert_eq!(
            ItemRef::parse("@m:x").unwrap(),
            ItemRef::User {
                user: "@m:x".into()
            }
        );
        assert!(ItemRef::parse("post-1").is_err());
        assert!(ItemRef::parse("!room-without-event").is_err());
    }
}
