//! A Matrix homeserver running Synapse, reviewed through its admin API.
//!
//! The queue is the homeserver's event reports, then its user reports, oldest first; one
//! item per reported message (or account) with every report on it. What Matrix has no place
//! for (claims, escalations, notes, a record of each decision) lives in a management room
//! the team shares on the same homeserver (`room`). The account must be a server admin.

mod api;
mod catalog;
mod decide;
mod items;
mod paging;
mod room;
mod wire;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;
use futures::StreamExt;
use tokio::sync::OnceCell;

pub use catalog::Action as MatrixAction;
pub use items::ItemRef;

use api::{MatrixApi, seg};
use items::Context;
use paging::{Cursor, LIST_LIMIT, Phase, Read};
use room::{ManagementRoom, Snapshot};
use wire::{Account, EventReport, EventReportList, UserReport, UserReportList, WhoAmI};

use super::{Backend, BackendError, Capabilities, QueueQuery, Support};
use crate::model::{
    Decision, DecisionResult, EscalationTier, HistoryEntry, HistoryEvent, Item, LeaseGrant,
    LeaseRefusal, LeaseRelease, LeaseRenewal, Me, QueuePage, RefusalReason, ReviewState, Role,
};
use crate::policy::PolicyCatalog;

/// The profile option naming the management room (`[profile.NAME.options]`).
pub const MANAGEMENT_ROOM: &str = "management_room";
/// How many admin API calls run at once for one page or one batch.
const CONCURRENCY: usize = 8;
/// Claims last this long unless renewed.
const CLAIM_SECONDS: u32 = 300;
/// The most claims one moderator holds at once.
const MAX_CLAIMS: u32 = 50;

/// How to reach the homeserver.
#[derive(Debug, Clone)]
pub struct SynapseOptions {
    /// The homeserver's client-server base URL, e.g. `https://matrix.example.org`.
    pub url: String,
    /// A server admin's access token.
    pub token: String,
    /// The management room (`!id` or `#alias`) the team shares; without one there are no
    /// claims, escalations or notes.
    pub management_room: Option<String>,
    pub limits: super::modq::Limits,
}

pub struct SynapseBackend {
    api: MatrixApi,
    room_name: Option<String>,
    room: OnceCell<ManagementRoom>,
    user: OnceCell<String>,
    /// For each item read on a page since the queue was last read from the top: its first
    /// report's id (an item is shown on the page of its oldest report, once).
    first_seen: Mutex<HashMap<String, i64>>,
    /// Decisions applied by this process (kept in the management room too, when there is one).
    applied: Mutex<HashMap<String, room::Record>>,
    /// Rooms this account has joined with power to redact.
    empowered: Mutex<HashSet<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SynapseBackend {
    pub fn new(options: SynapseOptions) -> Result<SynapseBackend, BackendError> {
        let api = MatrixApi::new(&options.url, &options.token, options.limits)?;
        let room_name = options
            .management_room
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty());
        if let Some(r) = &room_name
            && !(r.starts_with('!') || r.starts_with('#'))
        {
            return Err(BackendError::Config(format!(
                "the management room {:?} must be a room id (!…) or an alias (#…)",
                crate::sanitize::clean_short(r, 120)
            )));
        }
        Ok(SynapseBackend {
            api,
            room_name,
            room: OnceCell::new(),
            user: OnceCell::new(),
            first_seen: Mutex::new(HashMap::new()),
            applied: Mutex::new(HashMap::new()),
            empowered: Mutex::new(HashSet::new()),
        })
    }

    /// The account's Matrix user id.
    async fn user(&self) -> Result<&str, BackendError> {
        self.user
            .get_or_try_init(|| async {
                let who: WhoAmI = self
                    .api
                    .get("/_matrix/client/v3/account/whoami", &[])
                    .await?;
                Ok::<_, BackendError>(who.user_id)
            })
            .await
            .map(String::as_str)
    }

    /// The management room, joined; `None` when the profile names none.
    async fn room(&self) -> Result<Option<&ManagementRoom>, BackendError> {
        let Some(name) = &self.room_name else {
            return Ok(None);
        };
        self.room
            .get_or_try_init(|| ManagementRoom::open(&self.api, name))
            .await
            .map(Some)
    }

    async fn snapshot(&self) -> Result<Option<Snapshot>, BackendError> {
        match self.room().await? {
            Some(room) => Ok(Some(room.snapshot(&self.api).await?)),
            None => Ok(None),
        }
    }

    fn no_room(&self, what: &str) -> Support {
        Support::no(format!(
            "Matrix has no {what}: name a management room in the profile (management_room) \
             and modq keeps them there for the team"
        ))
    }

    async fn read_event_reports(
        &self,
        from: u64,
        room: Option<&str>,
    ) -> Result<Read<EventReport>, BackendError> {
        let mut query = vec![
            ("from", from.to_string()),
            ("limit", LIST_LIMIT.to_string()),
            ("dir", "f".to_string()),
        ];
        if let Some(room) = room {
            query.push(("room_id", room.to_string()));
        }
        let list: EventReportList = self
            .api
            .get("/_synapse/admin/v1/event_reports", &query)
            .await?;
        let more = list.next_token.is_some();
        Ok(Read {
            rows: list.event_reports,
            more,
        })
    }

    async fn read_user_reports(
        &self,
        from: u64,
        target: Option<&str>,
    ) -> Result<Read<UserReport>, BackendError> {
        let mut query = vec![
            ("from", from.to_string()),
            ("limit", LIST_LIMIT.to_string()),
            ("dir", "f".to_string()),
        ];
        if let Some(target) = target {
            query.push(("target_user_id", target.to_string()));
        }
        let list: UserReportList = self
            .api
            .get("/_synapse/admin/v1/user_reports", &query)
            .await?;
        let more = list.next_token.is_some();
        Ok(Read {
            rows: list.user_reports,
            more,
        })
    }

    /// Every open report in one room, by message (the list's room filter matches parts of
    /// ids, so the room is checked again here).
    async fn reports_in_room(
        &self,
        room: &str,
    ) -> Result<HashMap<String, Vec<EventReport>>, BackendError> {
        let mut by_event: HashMap<String, Vec<EventReport>> = HashMap::new();
        let mut cursor = Some(Cursor::start(Phase::Events));
        while let Some(c) = cursor {
            let (rows, next) = paging::walk(&c, usize::MAX, |from| {
                self.read_event_reports(from, Some(room))
            })
            .await?;
            for r in rows.into_iter().filter(|r| r.room_id == room) {
                by_event.entry(r.event_id.clone()).or_default().push(r);
            }
            cursor = next;
        }
        Ok(by_event)
    }

    /// Every open user report on one account.
    async fn reports_on_user(&self, user: &str) -> Result<Vec<UserReport>, BackendError> {
        let mut out = Vec::new();
        let mut cursor = Some(Cursor::start(Phase::Users));
        while let Some(c) = cursor {
            let (rows, next) = paging::walk(&c, usize::MAX, |from| {
                self.read_user_reports(from, Some(user))
            })
            .await?;
            out.extend(rows.into_iter().filter(|r| r.target_user_id == user));
            cursor = next;
        }
        Ok(out)
    }

    /// The account's state; `None` for an account this homeserver does not hold.
    async fn account(&self, user: &str) -> Result<Option<Account>, BackendError> {
        match self
            .api
            .get::<Account>(&format!("/_synapse/admin/v2/users/{}", seg(user)), &[])
            .await
        {
            Ok(a) => Ok(Some(a)),
            Err(f) if f.is_not_found() || f.status == Some(400) => Ok(None),
            Err(f) => Err(f.into()),
        }
    }

    async fn accounts(&self, users: impl IntoIterator<Item = String>) -> HashMap<String, Account> {
        let unique: HashSet<String> = users.into_iter().collect();
        futures::stream::iter(unique)
            .map(|u| async move {
                let a = self.account(&u).await;
                (u, a)
            })
            .buffer_unordered(CONCURRENCY)
            .filter_map(|(u, a)| async move {
                match a {
                    Ok(Some(a)) => Some((u, a)),
                    Ok(None) => None,
                    Err(e) => {
                        tracing::info!(error = %e, "account state not read");
                        None
                    }
                }
            })
            .collect()
            .await
    }

    /// A report with the stored event (`GET /event_reports/{id}`).
    async fn report_detail(&self, id: i64) -> Result<Option<EventReport>, BackendError> {
        match self
            .api
            .get::<EventReport>(&format!("/_synapse/admin/v1/event_reports/{id}"), &[])
            .await
        {
            Ok(r) => Ok(Some(r)),
            Err(f) if f.is_not_found() => Ok(None),
            Err(f) => Err(f.into()),
        }
    }

    /// The thread around a reported message, from Synapse's event context; `None` when the
    /// homeserver cannot say (the event or the room is gone): the item is shown without it.
    async fn thread(
        &self,
        room: &str,
        event: &str,
        stored: Option<&wire::StoredEvent>,
    ) -> Option<crate::model::Thread> {
        // Synapse splits `limit` between the two sides; state events are left out after.
        let around = self.context(room, event, 4 * items::THREAD_SIDE).await?;
        let parent = match stored.and_then(items::reply_to) {
            None => None,
            Some(id) => match around.events_before.iter().find(|e| e.event_id == id) {
                Some(found) => Some(found.clone()),
                None => self.context(room, id, 0).await.and_then(|c| c.event),
            },
        };
        Some(items::thread_of(&around, parent.as_ref()))
    }

    /// `GET /_synapse/admin/v1/rooms/{room}/context/{event}?limit=N`; `None` on any failure.
    async fn context(&self, room: &str, event: &str, limit: usize) -> Option<wire::EventContext> {
        let path = format!(
            "/_synapse/admin/v1/rooms/{}/context/{}",
            seg(room),
            seg(event)
        );
        self.api
            .get::<wire::EventContext>(&path, &[("limit", limit.to_string())])
            .await
            .ok()
    }

    /// Items for report groups (each oldest first), with their events and senders read.
    async fn event_items(
        &self,
        groups: Vec<Vec<EventReport>>,
        cx: &Context<'_>,
    ) -> Result<Vec<Item>, BackendError> {
        let details: Vec<Result<Option<EventReport>, BackendError>> = futures::stream::iter(
            groups
                .iter()
                .map(|g| g.first().map(|r| r.id))
                .collect::<Vec<_>>(),
        )
        .map(|id| async move {
            match id {
                Some(id) => self.report_detail(id).await,
                None => Ok(None),
            }
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
        let details = details.into_iter().collect::<Result<Vec<_>, _>>()?;
        let senders = groups
            .iter()
            .filter_map(|g| g.first().and_then(|r| r.sender.clone()));
        let accounts = self.accounts(senders).await;
        let events: Vec<Option<wire::StoredEvent>> = details
            .into_iter()
            .map(|d| d.and_then(|d| d.event_json))
            .collect();
        let wanted: Vec<(String, String, Option<wire::StoredEvent>)> = groups
            .iter()
            .zip(&events)
            .map(|(g, e)| {
                let (room, event) = g
                    .first()
                    .map(|r| (r.room_id.clone(), r.event_id.clone()))
                    .unwrap_or_default();
                (room, event, e.clone())
            })
            .collect();
        let threads: Vec<Option<crate::model::Thread>> = futures::stream::iter(wanted)
            .map(|(room, event, stored)| async move {
                self.thread(&room, &event, stored.as_ref()).await
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        Ok(groups
            .iter()
            .zip(events)
            .zip(threads)
            .filter_map(|((group, event), thread)| {
                let account = group
                    .first()
                    .and_then(|r| r.sender.as_ref())
                    .and_then(|s| accounts.get(s));
                let mut item = items::event_item(group, event.as_ref(), account, cx)?;
                item.thread = thread;
                Some(item)
            })
            .collect())
    }

    async fn user_items(&self, groups: Vec<Vec<UserReport>>, cx: &Context<'_>) -> Vec<Item> {
        let accounts = self
            .accounts(
                groups
                    .iter()
                    .filter_map(|g| g.first().map(|r| r.target_user_id.clone())),
            )
            .await;
        groups
            .iter()
            .filter_map(|g| {
                let account = g.first().and_then(|r| accounts.get(&r.target_user_id));
                items::user_item(g, account, cx)
            })
            .collect()
    }

    /// Group a page's reports by item, in order of each item's first report here; an item
    /// whose oldest report was on an earlier page is not shown again.
    fn group<R>(
        &self,
        rows: Vec<R>,
        key: impl Fn(&R) -> String,
        id: impl Fn(&R) -> i64,
    ) -> Vec<Vec<R>> {
        let mut order: Vec<String> = Vec::new();
        let mut groups: HashMap<String, Vec<R>> = HashMap::new();
        for r in rows {
            let k = key(&r);
            if !groups.contains_key(&k) {
                order.push(k.clone());
            }
            groups.entry(k).or_default().push(r);
        }
        let mut seen = lock(&self.first_seen);
        order
            .into_iter()
            .filter_map(|k| {
                let group = groups.remove(&k)?;
                let first = group.first().map(&id)?;
                match seen.get(&k) {
                    Some(&earlier) if earlier != first => None,
                    _ => {
                        seen.insert(k, first);
                        Some(group)
                    }
                }
            })
            .collect()
    }

    /// One page of the queue from `cursor`: reports read, grouped, turned into items.
    async fn page_from(
        &self,
        cursor: &Cursor,
        want: usize,
        cx: &Context<'_>,
    ) -> Result<(Vec<Item>, Option<Cursor>), BackendError> {
        match cursor.phase {
            Phase::Events => {
                let (rows, next) =
                    paging::walk(cursor, want, |from| self.read_event_reports(from, None)).await?;
                let groups = self.group(
                    rows,
                    |r: &EventReport| {
                        ItemRef::Event {
                            room: r.room_id.clone(),
                            event: r.event_id.clone(),
                        }
                        .id()
                    },
                    |r| r.id,
                );
                let items = self.event_items(groups, cx).await?;
                Ok((
                    items,
                    Some(next.unwrap_or_else(|| Cursor::start(Phase::Users))),
                ))
            }
            Phase::Users => {
                let (rows, next) =
                    paging::walk(cursor, want, |from| self.read_user_reports(from, None)).await?;
                let groups = self.group(rows, |r: &UserReport| r.target_user_id.clone(), |r| r.id);
                Ok((self.user_items(groups, cx).await, next))
            }
        }
    }
}

#[async_trait]
impl Backend for SynapseBackend {
    fn capabilities(&self) -> Capabilities {
        let mut caps = Capabilities::core("Matrix");
        caps.country_scope = Support::no(
            "Matrix has no take down limited to countries: a redaction applies everywhere",
        );
        // `u` withdraws what was not sent; of what was, it lifts what Matrix can lift
        // (suspension, shadow-ban, room block, escalation) and says what stands.
        caps.undo = Support::Yes;
        caps.policies = Support::Yes;
        caps.bulk_select = Support::no(
            "Matrix has no server-side selection: tag what is loaded (x, V), or filter it (/)",
        );
        caps.counts = Support::no("Synapse does not count reports by lane");
        caps.stats = Support::no("Synapse keeps no record of decisions to count");
        caps.max_batch = 200;
        caps.account_measures = Support::no(
            "on Matrix, T's reasons carry Synapse's own account actions (suspend, shadow-ban, \
             deactivate); Synapse keeps no strikes and its suspensions have no end date",
        );
        if self.room_name.is_some() {
            caps.tiers = EscalationTier::ALL.to_vec();
            caps.escalate = Support::Yes;
            caps.claims = Support::Yes;
            caps.notes = Support::Yes;
        } else {
            caps.escalate = self.no_room("escalation");
            caps.claims = self.no_room("claims on reports");
            caps.notes = self.no_room("notes on reports");
        }
        caps
    }

    async fn me(&self) -> Result<Me, BackendError> {
        let user = self.user().await?.to_string();
        // The event report list is the admin API's: a plain account gets M_FORBIDDEN here.
        let probe = self
            .api
            .get::<serde_json::Value>(
                "/_synapse/admin/v1/event_reports",
                &[("limit", "1".to_string())],
            )
            .await;
        if let Err(f) = probe {
            return Err(match f.status {
                Some(403) => BackendError::Unauthorized(format!(
                    "{user} is not a server admin of this homeserver; modq reviews Matrix \
                     reports through Synapse's admin API, which only server admins may use"
                )),
                _ => f.error,
            });
        }
        self.room().await?;
        Ok(Me {
            name: user,
            role: Role::Admin,
        })
    }

    async fn queue_page(&self, query: &QueueQuery) -> Result<QueuePage, BackendError> {
        let state = query.state.unwrap_or(ReviewState::Open);
        if !matches!(state, ReviewState::Open | ReviewState::Escalated) {
            // Matrix forgets a report once it is closed: there is no list of decided ones.
            return Ok(QueuePage {
                items: Vec::new(),
                next_cursor: None,
            });
        }
        let mut cursor = match &query.cursor {
            Some(c) => Cursor::decode(c)?,
            None => {
                lock(&self.first_seen).clear();
                Cursor::start(Phase::Events)
            }
        };
        let want = query.limit.unwrap_or(50).clamp(1, 500) as usize;
        let me = self.user().await?.to_string();
        let snapshot = self.snapshot().await?;
        let cx = Context {
            me: &me,
            room: snapshot.as_ref(),
            now_ms: room::now_ms(),
        };
        loop {
            let (items, next) = self.page_from(&cursor, want, &cx).await?;
            let items: Vec<Item> = items.into_iter().filter(|i| i.state == state).collect();
            match next {
                Some(next) if items.is_empty() => cursor = next,
                next => {
                    return Ok(QueuePage {
                        items,
                        next_cursor: next.map(|c| c.encode()),
                    });
                }
            }
        }
    }

    async fn item(&self, id: &str) -> Result<Item, BackendError> {
        let me = self.user().await?.to_string();
        let snapshot = self.snapshot().await?;
        let cx = Context {
            me: &me,
            room: snapshot.as_ref(),
            now_ms: room::now_ms(),
        };
        let gone = || BackendError::Rejected {
            status: 404,
            message: "no open report on it any more (closed by a decision?)".into(),
        };
        let found = match ItemRef::parse(id)? {
            ItemRef::Event { room, event } => {
                let mut reports = self.reports_in_room(&room).await?;
                let group = reports.remove(&event).ok_or_else(gone)?;
                self.event_items(vec![group], &cx).await?.into_iter().next()
            }
            ItemRef::User { user } => {
                let group = self.reports_on_user(&user).await?;
                if group.is_empty() {
                    return Err(gone());
                }
                self.user_items(vec![group], &cx).await.into_iter().next()
            }
        };
        found.ok_or_else(gone)
    }

    async fn send_decisions(
        &self,
        decisions: &[Decision],
    ) -> Result<Vec<DecisionResult>, BackendError> {
        decide::send(self, decisions).await
    }

    async fn policies(&self) -> Result<PolicyCatalog, BackendError> {
        Ok(catalog::catalog())
    }

    async fn claim_items(
        &self,
        item_ids: &[String],
        lease_seconds: Option<u32>,
    ) -> Result<LeaseGrant, BackendError> {
        let room = self.room().await?.ok_or_else(|| {
            BackendError::Unsupported(
                self.no_room("claims on reports")
                    .why_not()
                    .unwrap_or_default()
                    .to_string(),
            )
        })?;
        let me = self.user().await?.to_string();
        let seconds = lease_seconds.unwrap_or(CLAIM_SECONDS).clamp(10, 3600);
        let now = room::now_ms();
        let expires = now + i64::from(seconds) * 1000;
        let before = room.snapshot(&self.api).await?;
        let mut refused = Vec::new();
        let mut wanted = Vec::new();
        for id in item_ids {
            match before.holder(id, now) {
                Some(c) if c.holder != me => refused.push(LeaseRefusal {
                    item_id: id.clone(),
                    reason: RefusalReason::LeasedElsewhere,
                    leased_by: Some(c.holder.clone()),
                }),
                _ => wanted.push(id.clone()),
            }
        }
        let held_before = before
            .claims
            .iter()
            .filter(|(item, _)| before.holder(item, now).is_some_and(|c| c.holder == me))
            .count() as u32;
        for chunk in wanted.chunks(CONCURRENCY) {
            let writes = chunk.iter().map(|id| {
                let since = before
                    .own(id, &me)
                    .filter(|c| c.expires > now)
                    .map(|c| c.since);
                room.claim(&self.api, id, &me, since, expires)
            });
            for w in futures::future::join_all(writes).await {
                w?;
            }
        }
        // Both writes of a race are in by now: the same earliest claim wins for both sides.
        let after = room.snapshot(&self.api).await?;
        let mut leased = Vec::new();
        for id in wanted {
            match after.holder(&id, now) {
                Some(c) if c.holder == me => leased.push(id),
                Some(c) => {
                    room.release(&self.api, &id, &me).await?;
                    refused.push(LeaseRefusal {
                        item_id: id.clone(),
                        reason: RefusalReason::LeasedElsewhere,
                        leased_by: Some(c.holder.clone()),
                    });
                }
                None => leased.push(id),
            }
        }
        let held = after
            .claims
            .keys()
            .filter(|item| after.holder(item, now).is_some_and(|c| c.holder == me))
            .count() as u32;
        Ok(LeaseGrant {
            leased,
            refused,
            lease_expires_at: room::from_ms(expires),
            lease_seconds: seconds,
            held: held.max(held_before),
            max_leases: MAX_CLAIMS,
        })
    }

    async fn renew_leases(
        &self,
        item_ids: &[String],
        lease_seconds: u32,
    ) -> Result<LeaseRenewal, BackendError> {
        let grant = self.claim_items(item_ids, Some(lease_seconds)).await?;
        Ok(LeaseRenewal {
            renewed: grant.leased,
            lost: grant.refused.into_iter().map(|r| r.item_id).collect(),
            lease_expires_at: grant.lease_expires_at,
        })
    }

    async fn release_leases(&self, item_ids: &[String]) -> Result<LeaseRelease, BackendError> {
        let Some(room) = self.room().await? else {
            return Ok(LeaseRelease { released: 0 });
        };
        let me = self.user().await?.to_string();
        let snapshot = room.snapshot(&self.api).await?;
        let mut released = 0;
        for id in item_ids {
            if snapshot.own(id, &me).is_some() {
                room.release(&self.api, id, &me).await?;
                released += 1;
            }
        }
        Ok(LeaseRelease { released })
    }

    async fn add_note(&self, item_id: &str, note: &str) -> Result<HistoryEntry, BackendError> {
        let room = self.room().await?.ok_or_else(|| {
            BackendError::Unsupported(
                self.no_room("notes on reports")
                    .why_not()
                    .unwrap_or_default()
                    .to_string(),
            )
        })?;
        ItemRef::parse(item_id)?;
        let me = self.user().await?.to_string();
        let at = chrono::Utc::now();
        let key = crate::store::new_key();
        let content = room::Note {
            item: item_id.to_string(),
            by: me.clone(),
            at,
            note: note.to_string(),
        };
        room.put(&self.api, room::NOTE, &format!("{item_id}|{key}"), &content)
            .await?;
        let text = format!("modq: {me} noted on {item_id}: {note}");
        room.notice(&self.api, &format!("note-{key}"), &text)
            .await?;
        Ok(HistoryEntry {
            at,
            actor: me,
            event: HistoryEvent::Note,
            reason_code: None,
            scope: None,
            note: Some(note.to_string()),
            escalation_target: None,
            tier: None,
            visible_to: None,
        })
    }
}

impl paging::Row for EventReport {
    fn received_ts(&self) -> i64 {
        self.received_ts
    }
    fn id(&self) -> i64 {
        self.id
    }
}

impl paging::Row for UserReport {
    fn received_ts(&self) -> i64 {
        self.received_ts
    }
    fn id(&self) -> i64 {
        self.id
    }
}
