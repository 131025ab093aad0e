//! The management room: where modq keeps what Matrix itself has no place for. Claims,
//! escalations, notes and a record of each decision live there as state events keyed by
//! report (readable by every moderator in the room, and by any Matrix client), and each
//! escalation and note is also posted as a plain notice for the people in the room.
//!
//! State event types, all with modq's namespace:
//! - `org.modq.claim`, key `{item}|{holder}`: `{item, holder, since, expires}` (ms); `{}` once
//!   handed back. Each moderator writes only their own key, so no claim overwrites another.
//!   When two claim one item at once, the earlier claim (`since`, then the holder's id) wins
//!   and the other hands it back: both see the same winner once both writes are in.
//! - `org.modq.escalation`, key `{item}`: `{tier, by, at, note, key}`; `{}` once decided.
//! - `org.modq.note`, key `{item}|{note key}`: `{item, by, at, note}`.
//! - `org.modq.decision`, key the decision's idempotency key: what was decided and done,
//!   so that a decision sent again after a crash is answered `duplicate`, and an undo knows
//!   what it undoes.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use reqwest::Method;
use serde::{Deserialize, Serialize};

use super::api::{MatrixApi, seg};
use super::wire::{EventId, StateEvent};
use crate::backend::BackendError;
use crate::model::{EscalationTier, HistoryEntry, HistoryEvent};

pub const CLAIM: &str = "org.modq.claim";
pub const ESCALATION: &str = "org.modq.escalation";
pub const NOTE: &str = "org.modq.note";
pub const DECISION: &str = "org.modq.decision";

/// One moderator's claim on one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub holder: String,
    /// When the holder first claimed it (the homeserver's clock, ms).
    pub since: i64,
    pub expires: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ClaimContent {
    item: String,
    holder: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    since: Option<i64>,
    expires: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    pub tier: EscalationTier,
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub note: Option<String>,
    /// The idempotency key of the decision that escalated it.
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub item: String,
    pub by: String,
    pub at: DateTime<Utc>,
    pub note: String,
}

/// What one decision asked for and what modq did on the homeserver for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub item: String,
    pub action: crate::model::DecisionAction,
    #[serde(default)]
    pub reason_code: Option<String>,
    pub by: String,
    pub at: DateTime<Utc>,
    /// The account an account action applied to, and the room a room action applied to.
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub room: Option<String>,
    /// Report ids closed.
    #[serde(default)]
    pub closed: Vec<i64>,
    /// The redaction event, when one was sent.
    #[serde(default)]
    pub redaction: Option<String>,
    /// For an escalation: the escalation it replaced (restored by an undo).
    #[serde(default)]
    pub replaced: Option<Escalation>,
    /// Set once an undo went through: the same undo again changes nothing.
    #[serde(default)]
    pub reversed: bool,
}

/// The room's modq state, read in one request.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub claims: HashMap<String, Vec<Claim>>,
    pub escalations: HashMap<String, Escalation>,
    pub notes: HashMap<String, Vec<Note>>,
    pub decisions: HashMap<String, Record>,
}

impl Snapshot {
    fn from_events(events: Vec<StateEvent>) -> Snapshot {
        let mut s = Snapshot::default();
        for e in events {
            // An emptied state event is a claim handed back or an escalation decided.
            if e.content.as_object().is_none_or(|o| o.is_empty()) {
                continue;
            }
            match e.kind.as_str() {
                CLAIM => {
                    if let Ok(c) = serde_json::from_value::<ClaimContent>(e.content) {
                        // The holder is who wrote it: a claim in another's name is ignored.
                        if c.holder == e.sender {
                            s.claims.entry(c.item).or_default().push(Claim {
                                holder: c.holder,
                                since: c.since.unwrap_or(e.origin_server_ts),
                                expires: c.expires,
                            });
                        }
                    }
                }
                ESCALATION => {
                    if let Ok(x) = serde_json::from_value::<Escalation>(e.content) {
                        s.escalations.insert(e.state_key, x);
                    }
                }
                NOTE => {
                    if let Ok(n) = serde_json::from_value::<Note>(e.content) {
                        s.notes.entry(n.item.clone()).or_default().push(n);
                    }
                }
                DECISION => {
                    if let Ok(r) = serde_json::from_value::<Record>(e.content) {
                        s.decisions.insert(e.state_key, r);
                    }
                }
                _ => {}
            }
        }
        for notes in s.notes.values_mut() {
            notes.sort_by_key(|n| n.at);
        }
        s
    }

    /// Who holds `item` now: the earliest live claim.
    pub fn holder(&self, item: &str, now_ms: i64) -> Option<&Claim> {
        self.claims
            .get(item)?
            .iter()
            .filter(|c| c.expires > now_ms)
            .min_by(|a, b| (a.since, &a.holder).cmp(&(b.since, &b.holder)))
    }

    /// `me`'s own claim on `item`, live or not.
    pub fn own(&self, item: &str, me: &str) -> Option<&Claim> {
        self.claims.get(item)?.iter().find(|c| c.holder == me)
    }

    /// What the room knows of an item, as history: escalations and notes.
    pub fn history(&self, item: &str) -> Vec<HistoryEntry> {
        let mut out: Vec<HistoryEntry> = self
            .notes
            .get(item)
            .into_iter()
            .flatten()
            .map(|n| HistoryEntry {
                at: n.at,
                actor: n.by.clone(),
                event: HistoryEvent::Note,
                reason_code: None,
                scope: None,
                note: Some(n.note.clone()),
                escalation_target: None,
                tier: None,
                visible_to: None,
            })
            .collect();
        if let Some(x) = self.escalations.get(item) {
            out.push(HistoryEntry {
                at: x.at,
                actor: x.by.clone(),
                event: HistoryEvent::Escalate,
                reason_code: None,
                scope: None,
                note: x.note.clone(),
                escalation_target: Some(x.tier),
                tier: Some(x.tier),
                visible_to: None,
            });
        }
        out.sort_by_key(|h| h.at);
        out
    }
}

/// A management room modq has joined.
pub struct ManagementRoom {
    pub id: String,
}

impl ManagementRoom {
    /// Find the room (an id, or an alias to resolve) and join it: the account must be invited
    /// or the room public.
    pub async fn open(api: &MatrixApi, name: &str) -> Result<ManagementRoom, BackendError> {
        let id = if name.starts_with('#') {
            let found: super::wire::RoomId = api
                .get(
                    &format!("/_matrix/client/v3/directory/room/{}", seg(name)),
                    &[],
                )
                .await
                .map_err(|f| {
                    BackendError::Config(format!(
                        "the management room {name} was not found on the homeserver: {}",
                        f.error
                    ))
                })?;
            found.room_id
        } else {
            name.to_string()
        };
        let _: serde_json::Value = api
            .send(
                Method::POST,
                &format!("/_matrix/client/v3/join/{}", seg(&id)),
                &serde_json::json!({}),
            )
            .await
            .map_err(|f| {
                BackendError::Config(format!(
                    "cannot join the management room {name} (invite this account to it): {}",
                    f.error
                ))
            })?;
        Ok(ManagementRoom { id })
    }

    pub async fn snapshot(&self, api: &MatrixApi) -> Result<Snapshot, BackendError> {
        let events: Vec<StateEvent> = api
            .get(
                &format!("/_matrix/client/v3/rooms/{}/state", seg(&self.id)),
                &[],
            )
            .await?;
        Ok(Snapshot::from_events(events))
    }

    pub async fn put<T: Serialize>(
        &self,
        api: &MatrixApi,
        kind: &str,
        key: &str,
        content: &T,
    ) -> Result<(), BackendError> {
        let _: EventId = api
            .send(
                Method::PUT,
                &format!(
                    "/_matrix/client/v3/rooms/{}/state/{}/{}",
                    seg(&self.id),
                    seg(kind),
                    seg(key)
                ),
                content,
            )
            .await?;
        Ok(())
    }

    pub async fn clear(&self, api: &MatrixApi, kind: &str, key: &str) -> Result<(), BackendError> {
        self.put(api, kind, key, &serde_json::json!({})).await
    }

    pub async fn claim(
        &self,
        api: &MatrixApi,
        item: &str,
        holder: &str,
        since: Option<i64>,
        expires: i64,
    ) -> Result<(), BackendError> {
        let content = ClaimContent {
            item: item.to_string(),
            holder: holder.to_string(),
            since,
            expires,
        };
        self.put(api, CLAIM, &claim_key(item, holder), &content)
            .await
    }

    pub async fn release(
        &self,
        api: &MatrixApi,
        item: &str,
        holder: &str,
    ) -> Result<(), BackendError> {
        self.clear(api, CLAIM, &claim_key(item, holder)).await
    }

    /// A notice for the people in the room; `txn` makes a retry post it once.
    pub async fn notice(&self, api: &MatrixApi, txn: &str, text: &str) -> Result<(), BackendError> {
        let _: EventId = api
            .send(
                Method::PUT,
                &format!(
                    "/_matrix/client/v3/rooms/{}/send/m.room.message/{}",
                    seg(&self.id),
                    seg(txn)
                ),
                &serde_json::json!({"msgtype": "m.notice", "body": text}),
            )
            .await?;
        Ok(())
    }
}

pub fn claim_key(item: &str, holder: &str) -> String {
    format!("{item}|{holder}")
}

/// Milliseconds since the epoch, as Matrix counts time.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    fn claim_event(holder: &str, item: &str, since: Option<i64>, ts: i64, exp: i64) -> StateEvent {
        StateEvent {
            kind: CLAIM.into(),
            state_key: claim_key(item, holder),
            sender: holder.into(),
            origin_server_ts: ts,
            content: serde_json::to_value(ClaimContent {
                item: item.into(),
                holder: holder.into(),
                since,
                expires: exp,
            })
            .unwrap(),
        }
    }

    #[test]
    fn the_earliest_live_claim_holds_and_forged_or_expired_ones_do_not() {
        let mut forged = claim_event("@eve:x", "i", None, 1, 10_000);
        forged.sender = "@mallory:x".into();
        let s = Snapshot::from_events(vec![
            claim_event("@b:x", "i", None, 200, 10_000),
            claim_event("@a:x", "i", Some(100), 300, 10_000),
            claim_event("@old:x", "i", None, 50, 150),
            forged,
        ]);
        assert_eq!(s.holder("i", 160).unwrap().holder, "@a:x");
        assert_eq!(s.holder("i", 10_001), None);
        assert!(s.own("i", "@eve:x").is_none());
    }
}
