//! Reading queue pages ahead of the moderator, so the next item is always in memory. A page
//! read leases nothing: the lease worker claims only the few items at and after the
//! selection, and each item says who else is reviewing it.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::SyncEvent;
use crate::backend::{Backend, BackendError, QueueQuery};

/// What the App asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fetch {
    /// The page after the last one.
    Next,
    /// The queue again from the top: items whose leases ran out elsewhere come back this way.
    FromTop,
}

/// What the prefetcher is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Ask {
    Fetch(Fetch),
    /// From now on claim with this filter and order, starting from the top.
    Refilter {
        q: Option<String>,
        sort: crate::query::Sort,
        state: crate::model::ReviewState,
    },
}

pub(super) async fn run_prefetcher(
    backend: Arc<dyn Backend>,
    mut query: QueueQuery,
    mut asks: mpsc::UnboundedReceiver<Ask>,
    events: mpsc::UnboundedSender<SyncEvent>,
) {
    while let Some(first) = asks.recv().await {
        // Asks that piled up while a page was loading want one page; from the top wins.
        let mut ask = Fetch::Next;
        for next in std::iter::once(first).chain(std::iter::from_fn(|| asks.try_recv().ok())) {
            match next {
                Ask::Fetch(Fetch::Next) => {}
                Ask::Fetch(Fetch::FromTop) => ask = Fetch::FromTop,
                Ask::Refilter { q, sort, state } => {
                    query.q = q;
                    query.sort = Some(sort);
                    query.state = Some(state);
                    ask = Fetch::FromTop;
                }
            }
        }
        if ask == Fetch::FromTop {
            query.cursor = None;
        } else if query.cursor.is_none() {
            // The last page was the end of the queue; only a refill from the top follows.
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
