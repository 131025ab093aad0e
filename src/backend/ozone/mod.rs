//! Bluesky's Ozone as a modq backend: the queue is `tools.ozone.moderation.queryStatuses`
//! (subjects open or escalated), an item is the subject hydrated by `getSubjects` with its
//! reports and history from `queryEvents`, and decisions are `emitEvent`s carrying the
//! decision's idempotency key as `externalId`. modq logs in as the moderator on their PDS
//! (`createSession` with an app password) and the PDS proxies every `tools.ozone.*` call to
//! Ozone by the `atproto-proxy` header.
//!
//! Observed on Ozone 0.4.2, what a decision sent again answers: an acknowledge or an
//! escalation with the same `externalId` (same subject, same event type) is refused
//! `DuplicateExternalId`; a take down is refused "Subject is already taken down" and a
//! reversal "Subject is not taken down" (checked before the `externalId`). modq answers the
//! first `duplicate`, and the others `duplicate` when the subject carries an event of this
//! very decision (its key in `modTool.meta`), `conflict` when another decision did it. So a
//! decision sent again after a crash is applied once.

mod auth;
mod claims;
mod decide;
pub mod mapping;
mod thread;
mod thread_cache;
pub mod wire;
mod xrpc;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::Instant;

use async_trait::async_trait;
use futures::StreamExt;
use serde::de::DeserializeOwned;

use auth::Auth;
pub use auth::Login;
use mapping::OzoneRole;
use wire::{EventPage, StatusPage, SubjectRef, SubjectView, SubjectsAnswer};
use xrpc::{Failure, Xrpc};

use super::modq::Limits;
use super::{Backend, BackendError, Capabilities, QueueQuery, Support};
use crate::model::{
    Decision, DecisionResult, EscalationTier, HistoryEntry, Item, Lane, LeaseGrant, LeaseRelease,
    LeaseRenewal, Me, QueuePage, ReviewState,
};
use crate::query::Sort;

/// The options an Ozone profile takes (`[profile.NAME.options]`).
pub const OPTIONS: &[&str] = &[
    "ozone_did",
    "handle",
    "pds",
    "queue_count",
    "queue_index",
    "queue_seed",
];

/// The most subjects `getSubjects` and `queryStatuses` take or give at once.
const MAX_PAGE: u32 = 100;
/// Subjects whose thread and appeal are read side by side while a page is fetched.
const CONTEXT_AT_ONCE: usize = 8;

/// One moderator's share of the queue, by Ozone's own split (`queryStatuses`' `queueCount`,
/// `queueIndex`, `queueSeed`): accounts are dealt to `count` queues by a hash of their DID
/// (an author's posts all fall in one), and this moderator reads queue `index` only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSplit {
    pub count: u32,
    pub index: u32,
    pub seed: Option<String>,
}

/// Where the moderator's Ozone is and who they are.
#[derive(Debug)]
pub struct OzoneConfig {
    /// The moderator's PDS, which proxies to Ozone.
    pub pds: String,
    /// Ozone's service DID (the `atproto-proxy` header names `<did>#atproto_labeler`).
    pub ozone_did: String,
    pub login: Login,
    pub split: Option<QueueSplit>,
    pub limits: Limits,
}

impl OzoneConfig {
    /// From a profile's options as strings: `pds` (else `url`), `ozone_did`, `handle`, and
    /// optionally `queue_count`, `queue_index`, `queue_seed`. `password` is the app password
    /// the profile's secret source gave.
    pub fn from_options(
        url: &str,
        password: &str,
        options: &BTreeMap<String, String>,
        limits: Limits,
    ) -> Result<OzoneConfig, BackendError> {
        let get = |key: &str| options.get(key).map(|v| v.trim()).filter(|v| !v.is_empty());
        let need = |key: &str| {
            get(key).map(str::to_string).ok_or_else(|| {
                BackendError::Config(format!(
                    "an Ozone profile needs `{key}` (see the README's Bluesky Ozone section)"
                ))
            })
        };
        let number = |key: &str| -> Result<Option<u32>, BackendError> {
            get(key)
                .map(|v| {
                    v.parse::<u32>().map_err(|_| {
                        BackendError::Config(format!("`{key}` must be a whole number, not {v:?}"))
                    })
                })
                .transpose()
        };
        let split = match (number("queue_count")?, number("queue_index")?) {
            (None, None) => None,
            (Some(count), Some(index)) if count > 0 && index < count => Some(QueueSplit {
                count,
                index,
                seed: get("queue_seed").map(str::to_string),
            }),
            _ => {
                return Err(BackendError::Config(
                    "`queue_count` and `queue_index` go together, with 0 <= queue_index < queue_count"
                        .into(),
                ));
            }
        };
        Ok(OzoneConfig {
            pds: get("pds").unwrap_or(url).to_string(),
            ozone_did: need("ozone_did")?,
            login: Login {
                identifier: need("handle")?,
                password: password.to_string(),
            },
            split,
            limits,
        })
    }
}

pub struct OzoneBackend {
    xrpc: Xrpc,
    auth: Auth,
    split: Option<QueueSplit>,
    /// The account's role on Ozone's team, learnt by `me`.
    role: RwLock<Option<OzoneRole>>,
    /// Each record's CID as last read: a record subject is named by URI and CID together.
    cids: Mutex<HashMap<String, String>>,
    /// Posts' threads as the AppView last gave them.
    threads: thread_cache::ThreadCache,
    /// Threads asked of the AppView so far (those not taken from `threads`).
    threads_fetched: AtomicU64,
}

impl OzoneBackend {
    pub fn new(config: OzoneConfig) -> Result<OzoneBackend, BackendError> {
        Ok(OzoneBackend {
            xrpc: Xrpc::new(&config.pds, &config.ozone_did, config.limits)?,
            auth: Auth::new(config.login),
            split: config.split,
            role: RwLock::new(None),
            cids: Mutex::new(HashMap::new()),
            threads: thread_cache::ThreadCache::default(),
            threads_fetched: AtomicU64::new(0),
        })
    }

    /// The role `me` learnt; a moderator's until then.
    pub fn role(&self) -> OzoneRole {
        match self.role.read() {
            Ok(role) => role.unwrap_or(OzoneRole::Moderator),
            Err(poisoned) => poisoned.into_inner().unwrap_or(OzoneRole::Moderator),
        }
    }

    fn set_role(&self, role: OzoneRole) {
        match self.role.write() {
            Ok(mut held) => *held = Some(role),
            Err(poisoned) => *poisoned.into_inner() = Some(role),
        }
    }

    /// The moderator's DID (`createdBy` on every event).
    async fn did(&self) -> Result<String, BackendError> {
        Ok(self.auth.session(&self.xrpc).await?.did)
    }

    /// A query through the PDS proxy to Ozone as the moderator, the session renewed once if
    /// expired.
    async fn query<T: DeserializeOwned>(
        &self,
        nsid: &str,
        params: &[(&str, String)],
    ) -> Result<T, Failure> {
        self.query_to(nsid, params, true).await
    }

    /// A query as the moderator to Ozone (`to_ozone`) or to wherever the PDS sends it by
    /// default (`app.bsky.*`: its AppView), the session renewed once if expired.
    async fn query_to<T: DeserializeOwned>(
        &self,
        nsid: &str,
        params: &[(&str, String)],
        to_ozone: bool,
    ) -> Result<T, Failure> {
        let session = self.auth.session(&self.xrpc).await?;
        match self
            .xrpc
            .query(nsid, params, Some(&session.access_jwt), to_ozone)
            .await
        {
            Err(f) if f.is_expired_token() => {
                let fresh = self.auth.renew(&self.xrpc, &session.access_jwt).await?;
                self.xrpc
                    .query(nsid, params, Some(&fresh.access_jwt), to_ozone)
                    .await
            }
            answer => answer,
        }
    }

    /// The thread around a post, from the AppView the moderator's PDS reaches; `None` when
    /// it cannot say (no AppView behind the PDS, the post gone, any failure): the item is
    /// shown without it.
    /// Taken from memory while fresh (see `thread_cache`). An answer without a thread (the
    /// post deleted, or not indexed yet) is kept like any answer; a failed request is not, so
    /// the next read asks again.
    async fn thread(&self, uri: &str) -> Option<crate::model::Thread> {
        if let Some(kept) = self.threads.get(uri, Instant::now()) {
            return kept;
        }
        self.threads_fetched.fetch_add(1, Ordering::Relaxed);
        let answer: serde_json::Value = self
            .query_to("app.bsky.feed.getPostThread", &thread::params(uri), false)
            .await
            .map_err(|e| {
                let e = e.into_backend();
                tracing::debug!(error = %e, "no thread from the AppView");
            })
            .ok()?;
        let thread = thread::from_answer(&answer);
        self.threads.put(uri, thread.clone(), Instant::now());
        thread
    }

    /// How many threads this backend has asked the AppView for (the rest came from memory).
    pub fn threads_fetched(&self) -> u64 {
        self.threads_fetched.load(Ordering::Relaxed)
    }

    /// What a page's items need beyond their status: the thread of each post, and for each
    /// appealed subject the take down appealed and the appeal (its events). A few subjects
    /// at a time, in the background fetch of the page, never on a key.
    async fn fill_context(&self, items: &mut [Item], events_read: bool) {
        let me = self.did().await.ok();
        let wanted: Vec<(String, bool)> = items
            .iter()
            .map(|i| (i.id.clone(), !events_read && i.lane == Lane::Appeals))
            .collect();
        let found: Vec<(Option<crate::model::Thread>, Option<Vec<wire::EventView>>)> =
            futures::stream::iter(wanted)
                .map(|(id, appealed)| async move {
                    let thread = if thread::is_post(&id) {
                        self.thread(&id).await
                    } else {
                        None
                    };
                    let events = if appealed {
                        self.events(&id, &mapping::APPEAL_EVENTS, MAX_PAGE as usize)
                            .await
                            .ok()
                    } else {
                        None
                    };
                    (thread, events)
                })
                .buffered(CONTEXT_AT_ONCE)
                .collect()
                .await;
        let role = self.role();
        for (item, (thread, events)) in items.iter_mut().zip(found) {
            item.thread = thread;
            if let Some(events) = events {
                mapping::fill_appeal(item, &events, me.as_deref(), role);
            }
        }
    }

    /// A procedure through the PDS proxy as the moderator, the session renewed once if
    /// expired (the refused call changed nothing, so sending it again is safe).
    async fn procedure<T: DeserializeOwned, B: serde::Serialize + ?Sized>(
        &self,
        nsid: &str,
        body: &B,
    ) -> Result<T, Failure> {
        let session = self.auth.session(&self.xrpc).await?;
        match self
            .xrpc
            .procedure(nsid, body, Some(&session.access_jwt), true)
            .await
        {
            Err(f) if f.is_expired_token() => {
                let fresh = self.auth.renew(&self.xrpc, &session.access_jwt).await?;
                self.xrpc
                    .procedure(nsid, body, Some(&fresh.access_jwt), true)
                    .await
            }
            answer => answer,
        }
    }

    /// Subjects hydrated with their record or account, by id.
    async fn subjects(&self, ids: &[String]) -> Result<HashMap<String, SubjectView>, BackendError> {
        let mut views = HashMap::new();
        for chunk in ids.chunks(MAX_PAGE as usize) {
            let params: Vec<(&str, String)> =
                chunk.iter().map(|id| ("subjects", id.clone())).collect();
            let answer: SubjectsAnswer = self
                .query("tools.ozone.moderation.getSubjects", &params)
                .await
                .map_err(Failure::into_backend)?;
            for view in answer.subjects {
                if let Some(record) = &view.record {
                    self.remember_cid(&record.uri, &record.cid);
                }
                views.insert(view.subject.clone(), view);
            }
        }
        Ok(views)
    }

    fn remember_cid(&self, uri: &str, cid: &str) {
        if let Ok(mut cids) = self.cids.lock() {
            cids.insert(uri.to_string(), cid.to_string());
        }
    }

    /// The subject an item id names: an account by DID, a record by URI at the CID last read
    /// (read now when this session has not seen it). `None`: Ozone does not know it.
    async fn subject_ref(&self, id: &str) -> Result<Option<SubjectRef>, BackendError> {
        if id.starts_with("did:") {
            return Ok(Some(SubjectRef::Repo {
                did: id.to_string(),
            }));
        }
        if !id.starts_with("at://") {
            return Ok(None);
        }
        let known = self.cids.lock().ok().and_then(|c| c.get(id).cloned());
        let cid = match known {
            Some(cid) => Some(cid),
            None => self
                .subjects(&[id.to_string()])
                .await?
                .get(id)
                .and_then(|v| v.record.as_ref())
                .map(|r| r.cid.clone()),
        };
        Ok(cid.map(|cid| SubjectRef::Record {
            uri: id.to_string(),
            cid,
        }))
    }

    /// Every event on a subject, newest first (at most `max`).
    async fn events(
        &self,
        id: &str,
        types: &[&str],
        max: usize,
    ) -> Result<Vec<wire::EventView>, BackendError> {
        let mut events = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut params: Vec<(&str, String)> =
                vec![("subject", id.to_string()), ("limit", MAX_PAGE.to_string())];
            params.extend(types.iter().map(|t| ("types", (*t).to_string())));
            if let Some(c) = &cursor {
                params.push(("cursor", c.clone()));
            }
            let page: EventPage = self
                .query("tools.ozone.moderation.queryEvents", &params)
                .await
                .map_err(Failure::into_backend)?;
            // Ozone answers a cursor on its last page too: an empty page ends the list.
            let done = page.events.is_empty() || page.cursor.is_none();
            events.extend(page.events);
            if done || events.len() >= max {
                return Ok(events);
            }
            cursor = page.cursor;
        }
    }
}

/// `queryStatuses`' order for modq's sort: the queue's oldest report first unless asked.
fn sort_params(sort: Option<Sort>) -> (&'static str, &'static str) {
    match sort {
        Some(Sort::Priority) => ("priorityScore", "desc"),
        Some(Sort::Reports) => ("reportedRecordsCount", "desc"),
        Some(Sort::Age) | Some(Sort::Deadline) | None => ("lastReportedAt", "asc"),
    }
}

#[async_trait]
impl Backend for OzoneBackend {
    fn capabilities(&self) -> Capabilities {
        let role = self.role();
        let mut caps = Capabilities::core("Bluesky Ozone");
        caps.lanes = vec![Lane::Standard, Lane::Appeals];
        caps.tiers = vec![EscalationTier::Senior];
        caps.escalate = Support::Yes;
        caps.notes = Support::Yes;
        caps.claims = Support::Yes;
        caps.country_scope = Support::no(
            "Ozone takes down everywhere: it has no take down limited to some countries",
        );
        caps.undo = Support::Yes;
        caps.policies = Support::no(
            "modq does not read Ozone's policy list; a reason code goes in the event's comment",
        );
        caps.max_batch = decide::MAX_BATCH;
        caps.appeals = Support::Yes;
        caps.account_measures = Support::no(
            "modq does not send Ozone account actions: Ozone acts on an account as its own \
             subject (a takedown of the DID), not as part of a post's take down",
        );
        if role == OzoneRole::Triage {
            let why = "a triage member of Ozone's team may acknowledge, escalate and comment, \
                       not take down (Ozone: \"Must be a full moderator to take this type of action\")";
            caps.take_down = Support::no(why);
            caps.undo = Support::no(
                "a triage member cannot reverse a take down on Ozone, and Ozone has no event that \
                 reopens an acknowledged or escalated subject",
            );
        }
        caps
    }

    async fn me(&self) -> Result<Me, BackendError> {
        let session = self.auth.session(&self.xrpc).await?;
        let config: wire::ServerConfig = self
            .query("tools.ozone.server.getConfig", &[])
            .await
            .map_err(Failure::into_backend)?;
        let role = config
            .viewer
            .and_then(|v| v.role)
            .as_deref()
            .and_then(OzoneRole::parse)
            .ok_or_else(|| {
                BackendError::Unauthorized(format!(
                    "{} is not on this Ozone's team (no admin, moderator or triage role)",
                    session.handle
                ))
            })?;
        self.set_role(role);
        Ok(Me {
            name: session.handle,
            role: role.modq_role(),
        })
    }

    async fn queue_page(&self, query: &QueueQuery) -> Result<QueuePage, BackendError> {
        let (review_state, takendown) =
            mapping::review_state_param(query.state.unwrap_or(ReviewState::Open));
        let limit = query.limit.unwrap_or(50).clamp(1, MAX_PAGE);
        let (sort_field, direction) = sort_params(query.sort);
        let mut params: Vec<(&str, String)> = vec![
            ("reviewState", review_state.to_string()),
            ("limit", limit.to_string()),
            ("sortField", sort_field.to_string()),
            ("sortDirection", direction.to_string()),
        ];
        if let Some(t) = takendown {
            params.push(("takendown", t.to_string()));
        }
        match query.lane {
            Some(Lane::Appeals) => params.push(("appealed", "true".into())),
            Some(_) => params.push(("appealed", "false".into())),
            None => {}
        }
        if let Some(cursor) = &query.cursor {
            params.push(("cursor", cursor.clone()));
        }
        if let Some(split) = &self.split {
            params.push(("queueCount", split.count.to_string()));
            params.push(("queueIndex", split.index.to_string()));
            if let Some(seed) = &split.seed {
                params.push(("queueSeed", seed.clone()));
            }
        }
        let page: StatusPage = self
            .query("tools.ozone.moderation.queryStatuses", &params)
            .await
            .map_err(Failure::into_backend)?;
        let ids: Vec<String> = page
            .subject_statuses
            .iter()
            .filter_map(|s| s.subject.id().map(str::to_string))
            .collect();
        let views = if ids.is_empty() {
            HashMap::new()
        } else {
            self.subjects(&ids).await?
        };
        let role = self.role();
        let mut items: Vec<Item> = page
            .subject_statuses
            .iter()
            .filter_map(|status| {
                let view = status.subject.id().and_then(|id| views.get(id));
                mapping::item(status, view, None, role)
            })
            .collect();
        self.fill_context(&mut items, false).await;
        // Ozone answers a cursor on its last page too; only an empty page ends the queue.
        let next_cursor = if page.subject_statuses.is_empty() {
            None
        } else {
            page.cursor
        };
        Ok(QueuePage { items, next_cursor })
    }

    async fn item(&self, id: &str) -> Result<Item, BackendError> {
        let views = self.subjects(&[id.to_string()]).await?;
        let view = views.get(id);
        let status =
            view.and_then(|v| v.status.as_ref())
                .ok_or_else(|| BackendError::Rejected {
                    status: 404,
                    message: format!(
                        "Ozone has no review status for {}",
                        crate::sanitize::clean_short(id, 200)
                    ),
                })?;
        let events = self.events(id, &[], 500).await?;
        let mut item =
            mapping::item(status, view, Some(&events), self.role()).ok_or_else(|| {
                BackendError::Malformed("Ozone named a subject modq cannot review".into())
            })?;
        let me = self.did().await.ok();
        mapping::fill_appeal(&mut item, &events, me.as_deref(), self.role());
        self.fill_context(std::slice::from_mut(&mut item), true)
            .await;
        Ok(item)
    }

    async fn send_decisions(
        &self,
        decisions: &[Decision],
    ) -> Result<Vec<DecisionResult>, BackendError> {
        decide::send(self, decisions).await
    }

    async fn add_note(&self, item_id: &str, note: &str) -> Result<HistoryEntry, BackendError> {
        let subject = self
            .subject_ref(item_id)
            .await?
            .ok_or_else(|| BackendError::Rejected {
                status: 404,
                message: "Ozone does not know this subject".into(),
            })?;
        let created_by = self.did().await?;
        let body = wire::EmitEvent {
            event: mapping::comment_event(note),
            subject: &subject,
            created_by: &created_by,
            external_id: None,
            mod_tool: wire::ModTool {
                name: wire::MOD_TOOL.into(),
                meta: None,
            },
        };
        let emitted: wire::Emitted = self
            .procedure("tools.ozone.moderation.emitEvent", &body)
            .await
            .map_err(Failure::into_backend)?;
        let actor = self.auth.session(&self.xrpc).await?.handle;
        Ok(mapping::note_entry(&actor, note, emitted.created_at))
    }

    async fn claim_items(
        &self,
        item_ids: &[String],
        _lease_seconds: Option<u32>,
    ) -> Result<LeaseGrant, BackendError> {
        claims::claim(self, item_ids).await
    }

    async fn renew_leases(
        &self,
        item_ids: &[String],
        _lease_seconds: u32,
    ) -> Result<LeaseRenewal, BackendError> {
        claims::renew(self, item_ids).await
    }

    async fn release_leases(&self, item_ids: &[String]) -> Result<LeaseRelease, BackendError> {
        claims::release(self, item_ids).await
    }
}
