//! Ozone's wire format, as far as modq reads it (lexicons `tools.ozone.moderation.*`,
//! `tools.ozone.server.getConfig`, `com.atproto.server.createSession`). Every field modq can
//! do without is optional: a newer Ozone adding or dropping one must not stop a review.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The lexicon prefix of Ozone's own definitions.
pub const DEFS: &str = "tools.ozone.moderation.defs";

pub const REVIEW_OPEN: &str = "tools.ozone.moderation.defs#reviewOpen";
pub const REVIEW_ESCALATED: &str = "tools.ozone.moderation.defs#reviewEscalated";
pub const REVIEW_CLOSED: &str = "tools.ozone.moderation.defs#reviewClosed";

pub const EVENT_TAKEDOWN: &str = "tools.ozone.moderation.defs#modEventTakedown";
pub const EVENT_REVERSE_TAKEDOWN: &str = "tools.ozone.moderation.defs#modEventReverseTakedown";
pub const EVENT_ACKNOWLEDGE: &str = "tools.ozone.moderation.defs#modEventAcknowledge";
pub const EVENT_ESCALATE: &str = "tools.ozone.moderation.defs#modEventEscalate";
pub const EVENT_COMMENT: &str = "tools.ozone.moderation.defs#modEventComment";
pub const EVENT_REPORT: &str = "tools.ozone.moderation.defs#modEventReport";
pub const EVENT_RESOLVE_APPEAL: &str = "tools.ozone.moderation.defs#modEventResolveAppeal";

/// The report reasons Ozone reads as an appeal by the subject's author (both spellings the
/// installed server checks in `isAppealReport`).
pub const APPEAL_REASONS: [&str; 2] = [
    "com.atproto.moderation.defs#reasonAppeal",
    "tools.ozone.report.defs#reasonAppeal",
];

pub const REPO_REF: &str = "com.atproto.admin.defs#repoRef";
pub const STRONG_REF: &str = "com.atproto.repo.strongRef";

/// The name modq gives itself in `modTool` on every event it emits.
pub const MOD_TOOL: &str = "modq";

/// An XRPC error body: `{"error":"InvalidRequest","message":"…"}`.
#[derive(Debug, Deserialize)]
pub struct XrpcError {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// `com.atproto.server.createSession` / `refreshSession`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionTokens {
    pub access_jwt: String,
    pub refresh_jwt: String,
    pub handle: String,
    pub did: String,
}

#[derive(Debug, Serialize)]
pub struct CreateSession<'a> {
    pub identifier: &'a str,
    pub password: &'a str,
}

/// `tools.ozone.server.getConfig`: the viewer's role on this Ozone.
#[derive(Debug, Deserialize)]
pub struct ServerConfig {
    #[serde(default)]
    pub viewer: Option<Viewer>,
}

#[derive(Debug, Deserialize)]
pub struct Viewer {
    #[serde(default)]
    pub role: Option<String>,
}

/// What a report or an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "$type")]
pub enum SubjectRef {
    /// An account.
    #[serde(rename = "com.atproto.admin.defs#repoRef")]
    Repo { did: String },
    /// A record (a post, a profile, a list…), at one version.
    #[serde(rename = "com.atproto.repo.strongRef")]
    Record { uri: String, cid: String },
    /// Chat messages and whatever a later Ozone adds: modq does not review them.
    #[serde(other, skip_serializing)]
    Other,
}

impl SubjectRef {
    /// The subject as modq names the item: the record's URI or the account's DID.
    pub fn id(&self) -> Option<&str> {
        match self {
            SubjectRef::Repo { did } => Some(did),
            SubjectRef::Record { uri, .. } => Some(uri),
            SubjectRef::Other => None,
        }
    }
}

/// `tools.ozone.moderation.queryStatuses`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusPage {
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub subject_statuses: Vec<SubjectStatus>,
}

/// `subjectStatusView`: where one subject stands in Ozone's review.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectStatus {
    pub subject: SubjectRef,
    #[serde(default)]
    pub review_state: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub last_reported_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub takendown: bool,
    #[serde(default)]
    pub appealed: Option<bool>,
    #[serde(default)]
    pub subject_repo_handle: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub priority_score: Option<i64>,
    /// What Ozone counts for the subject's account (refreshed by Ozone every 30 s or so).
    #[serde(default, deserialize_with = "account_stats")]
    pub account_stats: Option<AccountStats>,
}

/// `accountStats`: Ozone's counts for an account as a subject of its own. Every count is
/// absent until Ozone's statistics have taken the account in, and a count that is not a
/// whole number from 0 up (negative, fractional, text) is read as absent: it is shown
/// beside an item, and one bad count must not cost the moderator the whole page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountStats {
    #[serde(default, deserialize_with = "count")]
    pub report_count: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    pub appeal_count: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    pub suspend_count: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    pub escalate_count: Option<u64>,
    #[serde(default, deserialize_with = "count")]
    pub takedown_count: Option<u64>,
}

/// A count as [`AccountStats`] reads it: any JSON value, kept only when it is one.
fn count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(serde_json::Value::deserialize(d)?.as_u64())
}

/// What [`AccountStats`] reads from whatever `accountStats` holds: nothing when it is not
/// an object.
fn account_stats<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<AccountStats>, D::Error> {
    // serde would also read a struct from an array of its fields in order.
    Ok(match serde_json::Value::deserialize(d)? {
        object @ serde_json::Value::Object(_) => serde_json::from_value(object).ok(),
        _ => None,
    })
}

/// `tools.ozone.moderation.getSubjects`.
#[derive(Debug, Deserialize)]
pub struct SubjectsAnswer {
    #[serde(default)]
    pub subjects: Vec<SubjectView>,
}

/// `subjectView`: the subject with its record or account, hydrated.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubjectView {
    pub subject: String,
    #[serde(default)]
    pub status: Option<SubjectStatus>,
    #[serde(default)]
    pub repo: Option<RepoView>,
    #[serde(default)]
    pub record: Option<RecordView>,
    /// The author's profile as the AppView shows it (`app.bsky.actor.defs#profileViewDetailed`;
    /// modq reads its `createdAt`).
    #[serde(default)]
    pub profile: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RepoView {
    pub did: String,
    #[serde(default)]
    pub handle: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordView {
    pub uri: String,
    pub cid: String,
    /// The record as its author wrote it (`app.bsky.feed.post` has `text`, `langs`, `embed`).
    #[serde(default)]
    pub value: serde_json::Value,
    #[serde(default)]
    pub repo: Option<RepoView>,
    #[serde(default)]
    pub blobs: Vec<serde_json::Value>,
}

/// `tools.ozone.moderation.queryEvents`.
#[derive(Debug, Deserialize)]
pub struct EventPage {
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub events: Vec<EventView>,
}

/// `modEventView`: one thing that happened to a subject.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub id: i64,
    pub event: EventBody,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub creator_handle: Option<String>,
    #[serde(default)]
    pub mod_tool: Option<ModTool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventBody {
    #[serde(rename = "$type")]
    pub kind: String,
    #[serde(default)]
    pub comment: Option<String>,
    /// Reports: `com.atproto.moderation.defs#reasonSpam` and the like.
    #[serde(default)]
    pub report_type: Option<String>,
}

/// `modTool`: which tool emitted an event. modq records the decision it carried out in
/// `meta`, so that an undo finds the very event to reverse.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModTool {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<ModToolMeta>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModToolMeta {
    /// The modq decision's idempotency key (also the event's `externalId`).
    #[serde(default)]
    pub decision: Option<String>,
}

/// `tools.ozone.moderation.emitEvent`'s input.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EmitEvent<'a> {
    pub event: serde_json::Value,
    pub subject: &'a SubjectRef,
    pub created_by: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<&'a str>,
    pub mod_tool: ModTool,
}

/// `emitEvent`'s answer, as far as modq reads it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Emitted {
    pub id: i64,
    pub created_at: DateTime<Utc>,
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    fn status_with(account_stats: &str) -> SubjectStatus {
        let json = format!(
            r#"{{"subject": {{"$type": "com.atproto.admin.defs#repoRef", "did": "did:plc:a"}},
                "reviewState": "{REVIEW_OPEN}", "createdAt": "2026-11-23T12:00:00Z",
                "accountStats": {account_stats}}}"#
        );
        serde_json::from_str(&json).unwrap()
    }

    #[test]
    fn account_counts_that_are_no_counts_are_absent_and_the_status_still_reads() {
        let stats = status_with(
            r#"{"reportCount": 3, "appealCount": -1, "suspendCount": 2.5,
                "escalateCount": "many", "takedownCount": null}"#,
        )
        .account_stats
        .unwrap();
        assert_eq!(
            stats,
            AccountStats {
                report_count: Some(3),
                ..AccountStats::default()
            }
        );
        for not_an_object in ["[1, 2]", "\"none\"", "7", "null"] {
            assert_eq!(
                status_with(not_an_object).account_stats,
                None,
                "{not_an_object}"
            );
        }
        assert_eq!(
            status_with(r#"{"reportCount": 18446744073709551615}"#)
                .account_stats
                .unwrap()
                .report_count,
            Some(u64::MAX)
        );
    }
}
