//! The Synapse admin API's answers, as a Synapse 1.163 sends them (see
//! ../shared/reference/matrix-synapse-admin-api.md). Unknown fields are ignored: a newer
//! Synapse adds fields, and modq reads only these.

use serde::Deserialize;

/// `GET /_synapse/admin/v1/event_reports` answer.
#[derive(Debug, Clone, Deserialize)]
pub struct EventReportList {
    #[serde(default)]
    pub event_reports: Vec<EventReport>,
    /// Absent on the last page.
    #[serde(default)]
    pub next_token: Option<u64>,
}

/// One event report; `GET /event_reports/{id}` adds the stored event.
#[derive(Debug, Clone, Deserialize)]
pub struct EventReport {
    pub id: i64,
    pub received_ts: i64,
    pub room_id: String,
    pub event_id: String,
    /// The reporter.
    pub user_id: String,
    #[serde(default)]
    pub score: Option<i64>,
    #[serde(default)]
    pub reason: Option<String>,
    /// The reported event's sender.
    #[serde(default)]
    pub sender: Option<String>,
    #[serde(default)]
    pub canonical_alias: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub event_json: Option<StoredEvent>,
}

/// The reported event as stored (Synapse shows the original even after a redaction).
#[derive(Debug, Clone, Deserialize)]
pub struct StoredEvent {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub sender: Option<String>,
    #[serde(default)]
    pub origin_server_ts: Option<i64>,
    #[serde(default)]
    pub content: serde_json::Value,
}

/// `GET /_synapse/admin/v1/rooms/{room}/context/{event}` answer: the event and the room's
/// events around it (`events_before` newest first, `events_after` oldest first).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EventContext {
    #[serde(default)]
    pub events_before: Vec<ContextEvent>,
    #[serde(default)]
    pub event: Option<ContextEvent>,
    #[serde(default)]
    pub events_after: Vec<ContextEvent>,
}

/// One event of a context, with its id.
#[derive(Debug, Clone, Deserialize)]
pub struct ContextEvent {
    #[serde(default)]
    pub event_id: String,
    #[serde(flatten)]
    pub event: StoredEvent,
}

/// `GET /_synapse/admin/v1/user_reports` answer.
#[derive(Debug, Clone, Deserialize)]
pub struct UserReportList {
    #[serde(default)]
    pub user_reports: Vec<UserReport>,
    #[serde(default)]
    pub next_token: Option<u64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct UserReport {
    pub id: i64,
    pub received_ts: i64,
    pub target_user_id: String,
    /// The reporter.
    pub user_id: String,
    #[serde(default)]
    pub reason: Option<String>,
}

/// `GET /_synapse/admin/v2/users/{userId}`: the account's state.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Account {
    #[serde(default)]
    pub displayname: Option<String>,
    #[serde(default)]
    pub admin: bool,
    #[serde(default)]
    pub deactivated: bool,
    #[serde(default)]
    pub suspended: bool,
    #[serde(default)]
    pub shadow_banned: bool,
    #[serde(default)]
    pub locked: bool,
    #[serde(default)]
    pub erased: bool,
}

impl Account {
    /// What a moderator needs to know about the account, in words: `suspended, shadow-banned`.
    pub fn state_words(&self) -> String {
        let flags = [
            (self.admin, "server admin"),
            (self.deactivated, "deactivated"),
            (self.erased, "erased"),
            (self.suspended, "suspended"),
            (self.shadow_banned, "shadow-banned"),
            (self.locked, "locked"),
        ];
        let words: Vec<&str> = flags
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, w)| *w)
            .collect();
        if words.is_empty() {
            "active".to_string()
        } else {
            words.join(", ")
        }
    }
}

/// `GET /_matrix/client/v3/account/whoami`.
#[derive(Debug, Clone, Deserialize)]
pub struct WhoAmI {
    pub user_id: String,
}

/// One event of `GET /_matrix/client/v3/rooms/{roomId}/state`.
#[derive(Debug, Clone, Deserialize)]
pub struct StateEvent {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub state_key: String,
    #[serde(default)]
    pub sender: String,
    #[serde(default)]
    pub origin_server_ts: i64,
    #[serde(default)]
    pub content: serde_json::Value,
}

/// An answer carrying an event id (a sent message, state event or redaction).
#[derive(Debug, Clone, Deserialize)]
pub struct EventId {
    pub event_id: String,
}

/// `GET /_matrix/client/v3/directory/room/{alias}`.
#[derive(Debug, Clone, Deserialize)]
pub struct RoomId {
    pub room_id: String,
}

/// `DELETE /_synapse/admin/v2/rooms/{roomId}` answer.
#[derive(Debug, Clone, Deserialize)]
pub struct DeleteStarted {
    pub delete_id: String,
}

/// `GET /_synapse/admin/v2/rooms/delete_status/{deleteId}`.
#[derive(Debug, Clone, Deserialize)]
pub struct DeleteStatus {
    pub status: String,
    #[serde(default)]
    pub error: Option<String>,
}

/// A Matrix error body.
#[derive(Debug, Clone, Deserialize)]
pub struct MatrixError {
    #[serde(default)]
    pub errcode: String,
    #[serde(default)]
    pub error: String,
}
