//! Claiming the few items at and just after the moderator's selection, keeping those leases
//! alive, and handing them back when the moderator moves on or quits, so no two moderators
//! review the same item and nobody waits for a lease that will never be used.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use super::{Held, SyncEvent, with_store};
use crate::backend::{Backend, BackendError};
use crate::store::Store;

/// What the App asks of the lease worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum LeaseAsk {
    Claim(Vec<String>),
    Release(Vec<String>),
}

/// Claims and releases, one at a time and in the order asked: a release sent after a claim
/// of the same item must reach the server after it, or the item would stay leased.
pub(super) async fn run_lease_worker(
    backend: Arc<dyn Backend>,
    held: Held,
    lease_seconds: Option<u32>,
    mut asks: mpsc::UnboundedReceiver<LeaseAsk>,
    events: mpsc::UnboundedSender<SyncEvent>,
) {
    while let Some(ask) = asks.recv().await {
        match ask {
            LeaseAsk::Claim(ids) => {
                for chunk in ids.chunks(IDS_PER_REQUEST) {
                    match backend.claim_items(chunk, lease_seconds).await {
                        Ok(grant) => {
                            held.add(grant.leased.iter().cloned());
                            let _ = events.send(SyncEvent::Claimed(grant));
                        }
                        Err(BackendError::Unauthorized(m)) => {
                            let _ = events.send(SyncEvent::AuthLost(m));
                            return;
                        }
                        Err(e) => {
                            let _ = events.send(SyncEvent::ClaimFailed {
                                ids: chunk.to_vec(),
                                error: e.to_string(),
                            });
                        }
                    }
                }
            }
            LeaseAsk::Release(ids) => {
                held.forget(&ids);
                for chunk in ids.chunks(IDS_PER_REQUEST) {
                    if let Err(e) = backend.release_leases(chunk).await {
                        tracing::info!(error = %e, "leases not released; they will expire");
                        break;
                    }
                }
            }
        }
    }
}

/// The server takes at most this many ids per lease request.
pub(super) const IDS_PER_REQUEST: usize = 1000;

/// Renew every held lease about three times per lease length, so one missed renewal (a slow
/// or briefly unreachable API) does not lose the items.
pub(super) async fn run_keeper(
    backend: Arc<dyn Backend>,
    held: Held,
    lease_seconds: u32,
    events: mpsc::UnboundedSender<SyncEvent>,
) {
    let period = Duration::from_secs(u64::from(lease_seconds / 3).max(3));
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let ids = held.snapshot();
        for chunk in ids.chunks(IDS_PER_REQUEST) {
            match backend.renew_leases(chunk, lease_seconds).await {
                Ok(renewal) => {
                    if !renewal.lost.is_empty() {
                        held.forget(&renewal.lost);
                        let _ = events.send(SyncEvent::LeasesLost(renewal.lost));
                    }
                }
                Err(BackendError::Unauthorized(m)) => {
                    let _ = events.send(SyncEvent::AuthLost(m));
                    return;
                }
                // Offline: the flusher already tells the moderator; try again next round.
                Err(e) => {
                    tracing::info!(error = %e, "lease renewal failed");
                    break;
                }
            }
        }
    }
}

/// Give back the leases on items without a decision waiting to be delivered. Items with one
/// stay leased until it arrives (or the lease runs out), so nobody else starts on them.
pub(super) async fn release_undecided(
    backend: &dyn Backend,
    store: &Arc<Mutex<Store>>,
    held: &Held,
) {
    let waiting = match with_store(store, |s| s.undelivered_items()).await {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the outbox; leases left to expire");
            return;
        }
    };
    let free: Vec<String> = held
        .snapshot()
        .into_iter()
        .filter(|id| !waiting.contains(id))
        .collect();
    for chunk in free.chunks(IDS_PER_REQUEST) {
        if let Err(e) = backend.release_leases(chunk).await {
            tracing::info!(error = %e, "leases not released; they will expire");
            return;
        }
    }
}
