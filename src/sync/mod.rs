//! Background work that keeps the network out of the moderator's way: flushing the outbox
//! (`flush`), reading queue pages ahead of the moderator (`prefetch`), and claiming, keeping
//! and handing back the leases on the few items at the selection (`leases`). All report back
//! as `SyncEvent`s; none ever blocks the UI.

mod flush;
mod leases;
mod prefetch;

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

pub use flush::{DeliveryError, FlushReport, flush_all};
use prefetch::Ask;
pub use prefetch::Fetch;

use crate::backend::{Backend, Capabilities, QueueQuery, Support};
use crate::model::{
    DailyStats, Decision, DecisionResult, HistoryEntry, Item, SelectRequest, Selection,
};
use crate::query::Sort;
use crate::store::{OutboxCounts, Store, StoreError};

#[derive(Debug, Clone, PartialEq)]
pub enum SyncEvent {
    /// The server answered a batch.
    Delivered {
        results: Vec<DecisionResult>,
    },
    /// A batch is going on the wire.
    Sending {
        keys: Vec<String>,
    },
    /// A bulk action is durable in the outbox.
    BulkSaved {
        bulk: String,
    },
    /// A bulk action could not be journaled: none of it is in the outbox.
    BulkFailed {
        bulk: String,
        error: String,
    },
    /// Every item matching a filter, for tagging.
    Selected(Selection),
    /// The server's policy catalog, for the take-down picker.
    Policies(crate::policy::PolicyCatalog),
    /// Open work per lane, for the lane tabs.
    Counts(crate::model::QueueCounts),
    SelectFailed(String),
    /// Sending failed in a way worth retrying; the batch is back in the outbox.
    Offline {
        error: String,
        retry_in: Duration,
    },
    /// The token stopped working: nothing more will get through.
    AuthLost(String),
    /// The outbox could not be read or updated; the flusher tries again with backoff.
    StoreFailed(String),
    /// The next page of the queue, as read (leasing nothing; each item names who else is
    /// reviewing it).
    Page {
        items: Vec<Item>,
        next_cursor: Option<String>,
    },
    PageFailed(String),
    /// The server's answer to a lease claim: which items are this session's now, and why
    /// the others are not.
    Claimed(crate::model::LeaseGrant),
    /// A lease claim did not get through; these items are not leased (yet).
    ClaimFailed {
        ids: Vec<String>,
        error: String,
    },
    /// These items are no longer this moderator's to review (another has them, or they were
    /// decided elsewhere).
    LeasesLost(Vec<String>),
    /// The server recorded a note on the item.
    NoteAdded {
        item_id: String,
        entry: HistoryEntry,
    },
    /// The note did not reach the server; its text comes back so it is not lost.
    NoteFailed {
        item_id: String,
        note: String,
        error: String,
    },
    /// The item as the server has it now (its whole history).
    ItemFetched(Box<Item>),
    ItemFetchFailed {
        item_id: String,
        error: String,
    },
    /// Today's transparency counts.
    DayStats(Box<DailyStats>),
    DayStatsFailed(String),
}

/// The items this session holds leases on. Shared by the prefetcher (adds what it claims), the
/// flusher (forgets what was decided: the server dropped the lease) and the lease keeper.
#[derive(Debug, Clone, Default)]
pub(crate) struct Held(Arc<Mutex<HashSet<String>>>);

impl Held {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        // The set is always valid between operations, so a poisoned lock is still usable.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add(&self, ids: impl IntoIterator<Item = String>) {
        self.lock().extend(ids);
    }

    fn forget<'a>(&self, ids: impl IntoIterator<Item = &'a String>) {
        let mut set = self.lock();
        for id in ids {
            set.remove(id);
        }
    }

    fn snapshot(&self) -> Vec<String> {
        self.lock().iter().cloned().collect()
    }
}

/// What the session already has when sync starts.
pub struct Window {
    /// Reads on after the first page (its cursor), with the same filters.
    pub query: QueueQuery,
    /// The lease length to ask for when claiming (the server's default when `None`).
    pub lease_seconds_asked: Option<u32>,
    /// Items leased already (the first few of the first page).
    pub held: Vec<String>,
    /// Lease length the server granted.
    pub lease_seconds: u32,
}

/// Controls for the background tasks; dropping it stops them.
pub struct SyncHandle {
    flush: Arc<Notify>,
    fetch: mpsc::UnboundedSender<Ask>,
    leases: mpsc::UnboundedSender<leases::LeaseAsk>,
    events: mpsc::UnboundedSender<SyncEvent>,
    tasks: Vec<JoinHandle<()>>,
    store: Arc<Mutex<Store>>,
    backend: Arc<dyn Backend>,
    /// What the backend honours, read once: nothing it lacks is ever called.
    capabilities: Capabilities,
    held: Held,
}

/// Why an optional call is not made: the backend's sentence.
fn why_not(support: &Support) -> Option<String> {
    support.why_not().map(str::to_string)
}

impl SyncHandle {
    /// Something new is in the outbox.
    pub fn flush(&self) {
        self.flush.notify_one();
    }

    /// Ask for more items: the next page, or the queue again from the top.
    pub fn fetch(&self, what: Fetch) {
        // A closed channel means the prefetcher is gone (shutdown): nothing to ask.
        let _ = self.fetch.send(Ask::Fetch(what));
    }

    /// Claim from the top again, with this filter and order from now on.
    pub fn refilter(&self, q: Option<String>, sort: Sort, state: crate::model::ReviewState) {
        let _ = self.fetch.send(Ask::Refilter { q, sort, state });
    }

    /// Journal a bulk action off the UI thread (one transaction), then send it. Reports
    /// `BulkSaved` or `BulkFailed`.
    pub fn journal_bulk(&self, session: String, bulk: String, decisions: Vec<Decision>) {
        let store = self.store.clone();
        let flush = self.flush.clone();
        let events = self.events.clone();
        tokio::spawn(async move {
            let id = bulk.clone();
            let saved =
                with_store(&store, move |s| s.journal_bulk(&session, &id, &decisions)).await;
            let _ = events.send(match saved {
                Ok(()) => {
                    flush.notify_one();
                    SyncEvent::BulkSaved { bulk }
                }
                Err(e) => SyncEvent::BulkFailed {
                    bulk,
                    error: e.to_string(),
                },
            });
        });
    }

    /// Ask the server for every item matching a filter. Reports `Selected` or `SelectFailed`.
    pub fn select(&self, request: SelectRequest) {
        if let Some(why) = why_not(&self.capabilities.bulk_select) {
            let _ = self.events.send(SyncEvent::SelectFailed(why));
            return;
        }
        let backend = self.backend.clone();
        let events = self.events.clone();
        tokio::spawn(async move {
            let _ = events.send(match backend.select(&request).await {
                Ok(selection) => SyncEvent::Selected(selection),
                Err(e) => SyncEvent::SelectFailed(e.to_string()),
            });
        });
    }

    /// Add a note to an item. Reports `NoteAdded` or `NoteFailed`.
    pub fn add_note(&self, item_id: String, note: String) {
        if let Some(error) = why_not(&self.capabilities.notes) {
            let _ = self.events.send(SyncEvent::NoteFailed {
                item_id,
                note,
                error,
            });
            return;
        }
        let backend = self.backend.clone();
        let events = self.events.clone();
        tokio::spawn(async move {
            let _ = events.send(match backend.add_note(&item_id, &note).await {
                Ok(entry) => SyncEvent::NoteAdded { item_id, entry },
                Err(e) => SyncEvent::NoteFailed {
                    item_id,
                    note,
                    error: e.to_string(),
                },
            });
        });
    }

    /// The backend, for work that goes straight to it (an image, fetched on demand).
    pub fn backend(&self) -> Arc<dyn Backend> {
        self.backend.clone()
    }

    /// Read an item afresh (for its history). Reports `ItemFetched` or `ItemFetchFailed`.
    pub fn fetch_item(&self, item_id: String) {
        let backend = self.backend.clone();
        let events = self.events.clone();
        tokio::spawn(async move {
            let _ = events.send(match backend.item(&item_id).await {
                Ok(item) => SyncEvent::ItemFetched(Box::new(item)),
                Err(e) => SyncEvent::ItemFetchFailed {
                    item_id,
                    error: e.to_string(),
                },
            });
        });
    }

    /// Read the server's counts for today. Reports `DayStats` or `DayStatsFailed`.
    pub fn day_stats(&self) {
        if let Some(why) = why_not(&self.capabilities.stats) {
            let _ = self.events.send(SyncEvent::DayStatsFailed(why));
            return;
        }
        let backend = self.backend.clone();
        let events = self.events.clone();
        tokio::spawn(async move {
            let _ = events.send(match backend.daily_stats(None).await {
                Ok(stats) => SyncEvent::DayStats(Box::new(stats)),
                Err(e) => SyncEvent::DayStatsFailed(e.to_string()),
            });
        });
    }

    /// Fetch the lane counts; reports `Counts` (a failure is only logged: the tabs keep their
    /// last figures).
    pub fn counts(&self) {
        if !self.capabilities.counts.is_yes() {
            return;
        }
        let backend = self.backend.clone();
        let events = self.events.clone();
        tokio::spawn(async move {
            match backend.queue_counts().await {
                Ok(counts) => {
                    let _ = events.send(SyncEvent::Counts(counts));
                }
                Err(e) => tracing::info!(error = %e, "lane counts not fetched"),
            }
        });
    }

    /// Fetch the policy catalog; reports `Policies`. A server without one leaves the take-down
    /// picker with free reasons.
    pub fn policies(&self) {
        if !self.capabilities.policies.is_yes() {
            return;
        }
        let backend = self.backend.clone();
        let events = self.events.clone();
        tokio::spawn(async move {
            match backend.policies().await {
                Ok(catalog) => {
                    let _ = events.send(SyncEvent::Policies(catalog));
                }
                Err(e) => tracing::info!(error = %e, "policy catalog not fetched"),
            }
        });
    }

    /// Lease these items (at and just after the selection). Reports `Claimed` or
    /// `ClaimFailed`. A backend without claims has no lease worker: nothing is sent.
    pub fn claim(&self, ids: Vec<String>) {
        // A closed channel means the worker is gone (shutdown): nothing to claim.
        let _ = self.leases.send(leases::LeaseAsk::Claim(ids));
    }

    /// Hand back the leases on items that left the window, after any claim asked before.
    pub fn release(&self, ids: Vec<String>) {
        let _ = self.leases.send(leases::LeaseAsk::Release(ids));
    }

    /// Stop the background tasks, then try once more, for at most `grace`, to deliver what is
    /// left and to hand back the leases on items nobody decided. Whatever still fails stays in
    /// the outbox for the next start. Returns the counts.
    pub async fn shutdown(mut self, grace: Duration) -> Result<OutboxCounts, StoreError> {
        for task in &self.tasks {
            task.abort();
        }
        for task in &mut self.tasks {
            let _ = task.await;
        }
        let store = self.store.clone();
        let backend = self.backend.clone();
        let held = self.held.clone();
        let claims = self.capabilities.claims.is_yes();
        let _ = tokio::time::timeout(grace, async {
            // An aborted flush may have left its batch marked as on the wire.
            let _ = with_store(&store, |s| s.requeue_in_flight()).await;
            while let Ok(Some(_)) = flush::deliver_one_batch(&*backend, &store, &held).await {}
            if claims {
                leases::release_undecided(&*backend, &store, &held).await;
            }
        })
        .await;
        with_store(&self.store, |s| {
            s.requeue_in_flight()?;
            s.counts()
        })
        .await
    }
}

impl Drop for SyncHandle {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Start the flusher, the prefetcher and, when the backend has claims, the lease worker and
/// keeper.
pub fn spawn(
    backend: Arc<dyn Backend>,
    store_path: &Path,
    window: Window,
    events: mpsc::UnboundedSender<SyncEvent>,
) -> Result<SyncHandle, StoreError> {
    let store = Arc::new(Mutex::new(Store::open(store_path)?));
    let flush = Arc::new(Notify::new());
    let held = Held::default();
    held.add(window.held);
    let (fetch_tx, fetch_rx) = mpsc::unbounded_channel();
    let (leases_tx, leases_rx) = mpsc::unbounded_channel();
    let lease_seconds = window.lease_seconds_asked;
    let capabilities = backend.capabilities();
    let mut tasks = vec![
        tokio::spawn(flush::run_flusher(
            backend.clone(),
            store.clone(),
            held.clone(),
            flush.clone(),
            events.clone(),
        )),
        tokio::spawn(prefetch::run_prefetcher(
            backend.clone(),
            window.query,
            fetch_rx,
            events.clone(),
        )),
    ];
    // Without claims the moderator reviews without leasing: the lease channel has no
    // receiver, and asks to claim or release go nowhere.
    if capabilities.claims.is_yes() {
        tasks.push(tokio::spawn(leases::run_lease_worker(
            backend.clone(),
            held.clone(),
            lease_seconds,
            leases_rx,
            events.clone(),
        )));
        tasks.push(tokio::spawn(leases::run_keeper(
            backend.clone(),
            held.clone(),
            window.lease_seconds,
            events.clone(),
        )));
    }
    // Whatever an earlier session left unsent goes out now.
    flush.notify_one();
    Ok(SyncHandle {
        flush,
        fetch: fetch_tx,
        leases: leases_tx,
        events,
        tasks,
        store,
        backend,
        capabilities,
        held,
    })
}

/// Run a small store operation off the async threads.
async fn with_store<T: Send + 'static>(
    store: &Arc<Mutex<Store>>,
    f: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || {
        // A poisoned lock means another store call panicked mid-way; SQLite's transaction
        // was rolled back, so the data is still consistent and we may go on.
        let mut guard = store.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    })
    .await
    .map_err(|e| StoreError::Corrupt(format!("store task failed: {e}")))?
}
