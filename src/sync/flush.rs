//! Flushing the outbox: batches in order, retry with exponential backoff and jitter on
//! network trouble and 5xx, refusals kept as failed with the server's reason.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, mpsc};

use super::{Held, SyncEvent, with_store};
use crate::backend::{Backend, BackendError};
use crate::model::{Decision, DecisionResult};
use crate::store::{Claim, OutboxCounts, OutboxEntry, Store, StoreError};

/// Decisions per request: the most the backend takes in one call
/// ([`crate::backend::Capabilities::max_batch`]; modq's own server takes 5,000, so a bulk
/// action of 100,000 is 20 requests). The server's cost is mostly the pages a commit writes,
/// and a bigger batch shares more of them: 2.6 pages per decision at 5,000 against 6 at 1,000
/// (see BENCHMARKS.md).
fn batch_size(backend: &dyn Backend) -> usize {
    backend.capabilities().max_batch.max(1)
}
/// Encoded decisions per request, under the server's 2 MiB body limit with room for the
/// JSON around them: 5,000 plain take downs are about 1.3 MB, long notes make fewer fit.
pub const BATCH_BYTES: usize = 1536 * 1024;
const BACKOFF_START: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Flush the outbox of the store at `path` until it is empty or the API fails; used by
/// headless callers. Returns what is left.
pub async fn flush_all(backend: &dyn Backend, path: &Path) -> Result<FlushReport, StoreError> {
    let store = Arc::new(Mutex::new(Store::open(path)?));
    let held = Held::default();
    with_store(&store, |s| s.requeue_in_flight()).await?;
    let mut delivered = 0;
    let mut error = None;
    loop {
        match deliver_one_batch(backend, &store, &held).await {
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

pub(super) async fn run_flusher(
    backend: Arc<dyn Backend>,
    store: Arc<Mutex<Store>>,
    held: Held,
    flush: Arc<Notify>,
    events: mpsc::UnboundedSender<SyncEvent>,
) {
    let mut backoff = BACKOFF_START;
    // Rows a dead process left on the wire go back in line before anything else.
    let mut retry_at = match with_store(&store, |s| s.requeue_in_flight()).await {
        Ok(_) => None,
        Err(e) => {
            let _ = events.send(SyncEvent::StoreFailed(e.to_string()));
            Some(tokio::time::Instant::now() + jitter(backoff))
        }
    };
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
            let wait = match deliver_pipelined(&backend, &store, &held, &events).await {
                Ok(()) => {
                    backoff = BACKOFF_START;
                    break;
                }
                Err(DeliveryError::Backend(BackendError::Unauthorized(m))) => {
                    let _ = events.send(SyncEvent::AuthLost(m));
                    return;
                }
                Err(DeliveryError::Backend(e)) if !e.is_retryable() && !is_garbled(&e) => {
                    // Already marked failed; go on with the rest of the outbox.
                    tracing::warn!(error = %e, "batch refused");
                    let _ = events.send(SyncEvent::Delivered {
                        results: Vec::new(),
                    });
                    continue;
                }
                Err(DeliveryError::Backend(e)) => {
                    let wait = jitter(backoff);
                    tracing::info!(error = %e, retry_ms = wait.as_millis() as u64, "offline");
                    let _ = events.send(SyncEvent::Offline {
                        error: e.to_string(),
                        retry_in: wait,
                    });
                    wait
                }
                // A busy or failing disk: the decisions are still in the outbox (or the
                // transaction rolled back), so trying again later loses nothing.
                Err(DeliveryError::Store(e)) => {
                    tracing::warn!(error = %e, "outbox unavailable");
                    let _ = events.send(SyncEvent::StoreFailed(e.to_string()));
                    jitter(backoff)
                }
            };
            backoff = (backoff * 2).min(BACKOFF_MAX);
            retry_at = Some(tokio::time::Instant::now() + wait);
            break;
        }
    }
}

/// Deliver the outbox until it is empty, one request at a time and in order, with the local
/// work around each request done while it is on the wire: after a full batch the next is
/// claimed while this one is sent, and this one's results are settled while the next is
/// sent. Requests never overlap, so the server applies decisions in the order they were made
/// (a reversal after what it reverses). Each batch reports `Sending`, then `Delivered` once
/// settled.
async fn deliver_pipelined(
    backend: &Arc<dyn Backend>,
    store: &Arc<Mutex<Store>>,
    held: &Held,
    events: &mpsc::UnboundedSender<SyncEvent>,
) -> Result<(), DeliveryError> {
    let max = batch_size(&**backend);
    let mut batch = with_store(store, move |s| s.claim_batch(max, BATCH_BYTES)).await?;
    while !batch.entries.is_empty() {
        let started = std::time::Instant::now();
        let more_waiting = batch.more_waiting;
        let (decisions, keys) = unzip_batch(batch.entries);
        let _ = events.send(SyncEvent::Sending { keys: keys.clone() });
        // Only a batch cut short by a limit means more are waiting (a bulk action, a
        // backlog). A claimed row counts as possibly sent, so undo reverses it rather than
        // withdrawing it: a single decision just made is never claimed before its turn.
        let (sent, next) = if more_waiting {
            tokio::join!(
                backend.send_decisions(&decisions),
                with_store(store, move |s| s.claim_batch(max, BATCH_BYTES)),
            )
        } else {
            (
                backend.send_decisions(&decisions).await,
                Ok(Claim::default()),
            )
        };
        let results = match sent.and_then(answered_some) {
            Ok(results) => results,
            Err(e) => {
                let error = undelivered(store, keys, e).await;
                // The claimed next batch goes back in line too, ahead of anything newer, as
                // never tried: it never left.
                if let Ok(next) = next {
                    let (_, next_keys) = unzip_batch(next.entries);
                    with_store(store, move |s| s.release_never_sent(&next_keys)).await?;
                }
                return Err(error);
            }
        };
        let unanswered = unanswered(&keys, &results);
        forget_applied(held, &decisions, &results);
        tracing::debug!(
            n = results.len(),
            ms = started.elapsed().as_millis() as u64,
            "batch delivered"
        );
        let settling = store.clone();
        let events = events.clone();
        tokio::spawn(async move {
            let settled = results.clone();
            let _ = events.send(
                match with_store(&settling, move |s| s.settle(&settled)).await {
                    Ok(()) => SyncEvent::Delivered { results },
                    // The server has them; the rows stay `sending` and go again (as duplicates,
                    // settled then) after the next start.
                    Err(e) => SyncEvent::StoreFailed(e.to_string()),
                },
            );
        });
        let next = if unanswered.is_empty() {
            next?
        } else {
            // The rest of this batch go again first, and a batch claimed meanwhile goes back
            // behind them, so the server still applies decisions in the order they were made.
            // The part that failed may have arrived; the batch claimed meanwhile never left.
            let claimed = next.map(|next| unzip_batch(next.entries).1);
            let never_sent = claimed.as_ref().map(Vec::clone).unwrap_or_default();
            with_store(store, move |s| {
                s.release(&unanswered)?;
                s.release_never_sent(&never_sent)
            })
            .await?;
            claimed?;
            Claim::default()
        };
        batch = if next.entries.is_empty() {
            with_store(store, move |s| s.claim_batch(max, BATCH_BYTES)).await?
        } else {
            next
        };
    }
    Ok(())
}

fn unzip_batch(batch: Vec<OutboxEntry>) -> (Vec<Decision>, Vec<String>) {
    let decisions: Vec<_> = batch.into_iter().map(|e| e.decision).collect();
    let keys = decisions
        .iter()
        .map(|d| d.idempotency_key.clone())
        .collect();
    (decisions, keys)
}

/// A backend answers for a leading part of a batch, never for none of it (see
/// [`Backend::send_decisions`]); an answer for none would send the same batch again at once,
/// forever, so it is taken as garbled.
fn answered_some(results: Vec<DecisionResult>) -> Result<Vec<DecisionResult>, BackendError> {
    if results.is_empty() {
        return Err(BackendError::Malformed(
            "the server answered for none of the batch's decisions".into(),
        ));
    }
    Ok(results)
}

/// The keys of a batch's decisions after those answered: a batch sent in parts stopped at a
/// part the server did not take.
fn unanswered(keys: &[String], results: &[DecisionResult]) -> Vec<String> {
    keys.get(results.len()..).unwrap_or_default().to_vec()
}

/// The server drops the lease of every item it applied a decision to.
fn forget_applied(held: &Held, decisions: &[Decision], results: &[DecisionResult]) {
    let applied = decisions
        .iter()
        .zip(results)
        .filter(|(_, r)| r.outcome.is_settled_ok())
        .map(|(d, _)| &d.item_id);
    held.forget(applied);
}

/// A batch the server did not take: refused as a whole, its decisions are kept marked
/// failed with the server's reason (sending the same again gets the same refusal); else they
/// go back in line to be sent again, as never tried if no connection could be made.
async fn undelivered(
    store: &Arc<Mutex<Store>>,
    keys: Vec<String>,
    e: BackendError,
) -> DeliveryError {
    let kept = match &e {
        BackendError::Rejected { .. } => {
            let message = e.to_string();
            with_store(store, move |s| s.fail(&keys, &message)).await
        }
        BackendError::NoConnection(_) => {
            with_store(store, move |s| s.release_never_sent(&keys)).await
        }
        _ => with_store(store, move |s| s.release(&keys)).await,
    };
    match kept {
        Ok(()) => e.into(),
        Err(store_error) => store_error.into(),
    }
}

/// A 2xx answer we could not read: the server may or may not have applied the batch, so it
/// is resent (harmless thanks to idempotency keys) rather than marked failed.
fn is_garbled(e: &BackendError) -> bool {
    matches!(e, BackendError::Malformed(_))
}

/// Send one batch and settle the server's results in the store; `Ok(None)`: nothing was
/// waiting. The results go back to the caller for the UI.
pub(super) async fn deliver_one_batch(
    backend: &dyn Backend,
    store: &Arc<Mutex<Store>>,
    held: &Held,
) -> Result<Option<Vec<DecisionResult>>, DeliveryError> {
    let max = batch_size(backend);
    let batch = with_store(store, move |s| s.claim_batch(max, BATCH_BYTES)).await?;
    if batch.entries.is_empty() {
        return Ok(None);
    }
    let (decisions, keys) = unzip_batch(batch.entries);
    match backend
        .send_decisions(&decisions)
        .await
        .and_then(answered_some)
    {
        Ok(results) => {
            forget_applied(held, &decisions, &results);
            let unanswered = unanswered(&keys, &results);
            let settled = results.clone();
            with_store(store, move |s| {
                s.settle(&settled)?;
                s.release(&unanswered)
            })
            .await?;
            Ok(Some(results))
        }
        Err(e) => Err(undelivered(store, keys, e).await),
    }
}

/// Full jitter: a random wait between half and all of `d`, so many clients coming back do not
/// stampede.
fn jitter(d: Duration) -> Duration {
    let max = d.as_millis().max(1) as u64;
    Duration::from_millis(rand::random_range(max / 2..=max))
}
