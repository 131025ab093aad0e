//! Background work that keeps the network out of the moderator's way: flushing the outbox
//! (with retry and backoff) and prefetching queue pages. Both report back as `SyncEvent`s;
//! neither ever blocks the UI.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use crate::backend::{Backend, BackendError, QueueQuery};
use crate::model::{DecisionResult, Item};
use crate::store::{OutboxCounts, Store, StoreError};

/// Decisions per request: large enough to clear a backlog quickly, small enough that one
/// request stays well under the server's body limit.
pub const BATCH_SIZE: usize = 200;
const BACKOFF_START: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, PartialEq)]
pub enum SyncEvent {
    /// The server answered a batch.
    Delivered {
        results: Vec<DecisionResult>,
        counts: OutboxCounts,
    },
    /// Sending failed in a way worth retrying; the batch is back in the outbox.
    Offline {
        error: String,
        retry_in: Duration,
        counts: OutboxCounts,
    },
    /// The token stopped working: nothing more will get through.
    AuthLost(String),
    /// The local cache failed: decisions cannot be trusted to it any more.
    StoreFailed(String),
    /// The next page of the queue.
    Page {
        items: Vec<Item>,
        next_cursor: Option<String>,
    },
    PageFailed(String),
}

/// Controls for the background tasks; dropping it stops them.
pub struct SyncHandle {
    flush: Arc<Notify>,
    fetch: mpsc::UnboundedSender<()>,
    flusher: JoinHandle<()>,
    prefetcher: JoinHandle<()>,
    store: Arc<Mutex<Store>>,
    backend: Arc<dyn Backend>,
}

impl SyncHandle {
    /// Something new is in the outbox.
    pub fn flush(&self) {
        self.flush.notify_one();
    }

    /// The window of items is running low.
    pub fn fetch_more(&self) {
        // A closed channel means the prefetcher is gone (shutdown): nothing to ask.
        let _ = self.fetch.send(());
    }

    /// Stop the background tasks, then try once more, for at most `grace`, to deliver what is
    /// left. Whatever still fails stays in the outbox for the next start. Returns the counts.
    pub async fn shutdown(mut self, grace: Duration) -> Result<OutboxCounts, StoreError> {
        self.flusher.abort();
        self.prefetcher.abort();
        let _ = (&mut self.flusher).await;
        let store = self.store.clone();
        let _ = tokio::time::timeout(grace, async {
            // An aborted flush may have left its batch marked as on the wire.
            let _ = with_store(&store, |s| s.requeue_in_flight()).await;
            while let Ok(Some(_)) = deliver_one_batch(&*self.backend, &store).await {}
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
        self.flusher.abort();
        self.prefetcher.abort();
    }
}

/// Start the flusher and prefetcher. `cursor` continues the page the caller already has.
pub fn spawn(
    backend: Arc<dyn Backend>,
    store_path: &Path,
    query: QueueQuery,
    events: mpsc::UnboundedSender<SyncEvent>,
) -> Result<SyncHandle, StoreError> {
    let store = Arc::new(Mutex::new(Store::open(store_path)?));
    let flush = Arc::new(Notify::new());
    let (fetch_tx, fetch_rx) = mpsc::unbounded_channel();
    let flusher = tokio::spawn(run_flusher(
        backend.clone(),
        store.clone(),
        flush.clone(),
        events.clone(),
    ));
    let prefetcher = tokio::spawn(run_prefetcher(backend.clone(), query, fetch_rx, events));
    // Whatever an earlier session left unsent goes out now.
    flush.notify_one();
    Ok(SyncHandle {
        flush,
        fetch: fetch_tx,
        flusher,
        prefetcher,
        store,
        backend,
    })
}

/// Flush the outbox of the store at `path` until it is empty or the API fails; used by
/// headless callers. Returns what is left.
pub async fn flush_all(backend: &dyn Backend, path: &Path) -> Result<FlushReport, StoreError> {
    let store = Arc::new(Mutex::new(Store::open(path)?));
    with_store(&store, |s| s.requeue_in_flight()).await?;
    let mut delivered = 0;
    let mut error = None;
    loop {
        match deliver_one_batch(backend, &store).await {
            Ok(Some(results)) => delivered += results.len(),
            Ok(None) => break,
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    let counts = with_store(&store, |s| s.counts()).await?;
    Ok(FlushReport {
        delivered,
        counts,
        error,
    })
}

#[derive(Debug)]
pub struct FlushReport {
    pub delivered: usize,
    pub counts: OutboxCounts,
    pub error: Option<DeliveryError>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

async fn run_flusher(
    backend: Arc<dyn Backend>,
    store: Arc<Mutex<Store>>,
    flush: Arc<Notify>,
    events: mpsc::UnboundedSender<SyncEvent>,
) {
    if let Err(e) = with_store(&store, |s| s.requeue_in_flight()).await {
        let _ = events.send(SyncEvent::StoreFailed(e.to_string()));
        return;
    }
    let mut backoff = BACKOFF_START;
    let mut retry_at: Option<tokio::time::Instant> = None;
    loop {
        match retry_at {
            Some(at) => tokio::select! {
                _ = flush.notified() => {}
                _ = tokio::time::sleep_until(at) => {}
            },
            None => flush.notified().await,
        }
        retry_at = None;
        loop {
            // Settle the batch and tell the UI in one step, so counts match the results.
            let results_before = std::time::Instant::now();
            let outcome = deliver_one_batch(&*backend, &store).await;
            let counts = with_store(&store, |s| s.counts()).await;
            let counts = match counts {
                Ok(c) => c,
                Err(e) => {
                    let _ = events.send(SyncEvent::StoreFailed(e.to_string()));
                    return;
                }
            };
            match outcome {
                Ok(None) => break,
                Ok(Some(results)) => {
                    backoff = BACKOFF_START;
                    tracing::debug!(
                        n = results.len(),
                        ms = results_before.elapsed().as_millis() as u64,
                        "batch delivered"
                    );
                    let _ = events.send(SyncEvent::Delivered { results, counts });
                }
                Err(DeliveryError::Backend(BackendError::Unauthorized(m))) => {
                    let _ = events.send(SyncEvent::AuthLost(m));
                    return;
                }
                Err(DeliveryError::Store(e)) => {
                    let _ = events.send(SyncEvent::StoreFailed(e.to_string()));
                    return;
                }
                Err(DeliveryError::Backend(e)) if !e.is_retryable() && !is_garbled(&e) => {
                    // Already marked failed; go on with the rest of the outbox.
                    tracing::warn!(error = %e, "batch refused");
                    let _ = events.send(SyncEvent::Delivered {
                        results: Vec::new(),
                        counts,
                    });
                }
                Err(DeliveryError::Backend(e)) => {
                    let wait = jitter(backoff);
                    tracing::info!(error = %e, retry_ms = wait.as_millis() as u64, "offline");
                    let _ = events.send(SyncEvent::Offline {
                        error: e.to_string(),
                        retry_in: wait,
                        counts,
                    });
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    retry_at = Some(tokio::time::Instant::now() + wait);
                    break;
                }
            }
        }
    }
}

/// A 2xx answer we could not read: the server may or may not have applied the batch, so it
/// is resent (harmless thanks to idempotency keys) rather than marked failed.
fn is_garbled(e: &BackendError) -> bool {
    matches!(e, BackendError::Malformed(_))
}

/// Send one batch and settle the server's results in the store; `Ok(None)`: nothing was
/// waiting. The results go back to the caller for the UI.
async fn deliver_one_batch(
    backend: &dyn Backend,
    store: &Arc<Mutex<Store>>,
) -> Result<Option<Vec<DecisionResult>>, DeliveryError> {
    let batch = with_store(store, |s| s.claim_batch(BATCH_SIZE)).await?;
    if batch.is_empty() {
        return Ok(None);
    }
    let decisions: Vec<_> = batch.into_iter().map(|e| e.decision).collect();
    let keys: Vec<String> = decisions
        .iter()
        .map(|d| d.idempotency_key.clone())
        .collect();
    match backend.send_decisions(&decisions).await {
        Ok(results) => {
            let settled = results.clone();
            with_store(store, move |s| s.settle(&settled)).await?;
            Ok(Some(results))
        }
        Err(e @ BackendError::Rejected { .. }) => {
            // The server refused the request as a whole: retrying sends the same refusal,
            // so keep the decisions, marked failed with the server's reason.
            let message = e.to_string();
            with_store(store, move |s| s.fail(&keys, &message)).await?;
            Err(e.into())
        }
        Err(e) => {
            with_store(store, move |s| s.release(&keys)).await?;
            Err(e.into())
        }
    }
}

async fn run_prefetcher(
    backend: Arc<dyn Backend>,
    mut query: QueueQuery,
    mut requests: mpsc::UnboundedReceiver<()>,
    events: mpsc::UnboundedSender<SyncEvent>,
) {
    while requests.recv().await.is_some() {
        // Requests that piled up while a page was loading all want the same page.
        while requests.try_recv().is_ok() {}
        if query.cursor.is_none() {
            // The caller's first page was the last one.
            continue;
        }
        match backend.queue_page(&query).await {
            Ok(page) => {
                query.cursor = page.next_cursor.clone();
                let _ = events.send(SyncEvent::Page {
                    items: page.items,
                    next_cursor: page.next_cursor,
                });
            }
            Err(BackendError::Unauthorized(m)) => {
                let _ = events.send(SyncEvent::AuthLost(m));
                return;
            }
            Err(e) => {
                let _ = events.send(SyncEvent::PageFailed(e.to_string()));
            }
        }
    }
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

/// Full jitter: a random wait up to `d`, so many clients coming back do not stampede.
fn jitter(d: Duration) -> Duration {
    let max = d.as_millis().max(1) as u64;
    Duration::from_millis(rand::random_range(max / 2..=max))
}
