//! Eight moderators, each with their own token and their own local cache, drain one queue on
//! the reference server at the same time: every item is decided exactly once, none twice, and
//! thanks to leases nobody's decision is refused as a conflict.

mod common;

use std::time::Duration;

use chrono::Duration as Span;
use common::{Session, TestServer, sample_now};
use modq::backend::modq::ModqClient;
use modq::backend::{Backend, QueueQuery};
use modq::model::ReviewState;
use modq::tui::app::{Entry, Lease, QueueEnd};

const MODERATORS: usize = 8;

async fn open_items(server: &TestServer) -> usize {
    let client = ModqClient::new(&server.api, &server.token).expect("client");
    let mut query = QueueQuery {
        state: Some(ReviewState::Open),
        limit: Some(500),
        ..QueueQuery::default()
    };
    let mut n = 0;
    loop {
        let page = client.queue_page(&query).await.expect("queue");
        n += page.items.len();
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => return n,
        }
    }
}

/// One moderator clears what they hold, then looks for more, until the queue is empty.
async fn moderate(server: &TestServer, name: String, seed: u64) -> (usize, usize) {
    let token = server.add_moderator(&name);
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = Session::open_as(server, &token, data.path()).await;
    let mut clock = sample_now();
    let mut n = seed;
    loop {
        s.pump();
        // A refused decision is this test's failure: said at the end, not waited on for ever
        // (the refused item stays open here, so the loop would never drain).
        if s.app.counts.failed > 0 {
            break;
        }
        // A moderator decides what is theirs to review: the item on screen, once its lease
        // is granted (the window claims it as the selection arrives).
        if s.app
            .selected_entry()
            .is_some_and(|e| e.is_open() && e.lease == Lease::Held)
        {
            // A cheap deterministic spread of actions per moderator.
            n = n
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let key = ["t", "a", "a", "e"][(n >> 33) as usize % 4];
            s.press(key);
            tokio::task::yield_now().await;
            continue;
        }
        if s.app.selected_entry().is_some_and(Entry::is_open) {
            // Its lease is on its way (or, refused, the selection moves on); time passes too,
            // so a claim that failed is asked for again.
            s.pump_wait(Duration::from_millis(20)).await;
            clock += Span::seconds(1);
            s.tick(clock);
            continue;
        }
        if s.app.entries.iter().any(Entry::is_open) {
            // Onward first (what lies above was mostly decided already), back to the top
            // only from the end. Bounded: an open item `j` cannot reach is a bug to report,
            // not a hang.
            let mut presses = 0;
            while !s.app.selected_entry().is_some_and(Entry::is_open) {
                assert!(
                    presses <= 2 * s.app.entries.len() + 2,
                    "{name}: an open item that j never reaches: selected {} of {:?}, open at {:?}",
                    s.app.selected,
                    s.app.visible,
                    s.app
                        .entries
                        .iter()
                        .enumerate()
                        .filter(|(_, e)| e.is_open())
                        .map(|(i, _)| i)
                        .collect::<Vec<_>>()
                );
                let before = s.app.selected;
                s.press("j");
                if s.app.selected == before {
                    s.press("g");
                }
                presses += 1;
            }
            continue;
        }
        if s.app.queue_end == QueueEnd::Exhausted
            && s.app.counts.unsent == 0
            && open_items(server).await == 0
        {
            break;
        }
        // Nothing in hand: let time pass so the App asks for more (a refill from the top
        // picks up items other moderators let go).
        clock += Span::seconds(31);
        s.tick(clock);
        s.pump_wait(Duration::from_millis(20)).await;
    }
    let decided = s.app.decided;
    let failed = s.app.counts.failed;
    s.quit().await;
    (decided, failed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_moderators_drain_one_queue_and_decide_every_item_exactly_once() {
    let server = std::sync::Arc::new(TestServer::with_sample().await);
    let total = open_items(&server).await;
    assert!(total > 300, "the sample queue has {total} open items");

    let mut handles = Vec::new();
    for i in 0..MODERATORS {
        let server = server.clone();
        handles.push(tokio::spawn(async move {
            moderate(&server, format!("mod-{i}"), i as u64 + 1).await
        }));
    }
    let mut decided = 0;
    for h in handles {
        let (d, failed) = h.await.expect("moderator task");
        assert_eq!(
            failed, 0,
            "a decision was refused: leases should prevent conflicts"
        );
        decided += d;
    }

    assert_eq!(
        decided, total,
        "every item decided once across all moderators"
    );
    assert_eq!(open_items(&server).await, 0);
    let conn = rusqlite::Connection::open(&server.db).expect("db");
    let twice: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM (SELECT item_id FROM audit GROUP BY item_id HAVING COUNT(*) > 1)",
            [],
            |r| r.get(0),
        )
        .expect("query");
    assert_eq!(twice, 0, "no item decided twice");
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))
        .expect("query");
    assert_eq!(rows as usize, total);
    let workers: i64 = conn
        .query_row("SELECT COUNT(DISTINCT actor) FROM audit", [], |r| r.get(0))
        .expect("query");
    assert!(
        workers > 1,
        "the work was shared, not done by one moderator"
    );
}
