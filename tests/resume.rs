//! A session that ends before its decisions reach the server — the API was down, then the
//! moderator's process went away — resumes where it was and delivers them exactly once.

mod common;

use common::{Session, TestServer};
use modq::backend::Backend;
use modq::backend::modq::ModqClient;
use modq::model::{DecisionAction, ReviewState};
use modq::store::{Store, Undone};
use modq::sync::flush_all;

#[tokio::test]
async fn decisions_made_while_the_api_was_down_are_delivered_once_after_a_restart() {
    let mut server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");

    // Session one: the API goes down, the moderator keeps working, then the process dies.
    let mut first = Session::open(&server, data.path()).await;
    server.stop().await;
    let decided = first.first_ids(3);
    first.press("tae");
    let resume_at = first.selected_id();
    assert_eq!(first.app.counts.unsent, 3);
    first.crash();

    // The API comes back; session two opens on the same profile.
    server.restart().await;
    let mut second = Session::open(&server, data.path()).await;
    assert_eq!(
        second.selected_id(),
        resume_at,
        "resumes at the same position"
    );
    for id in &decided {
        assert!(
            second.app.entries.iter().all(|e| &e.id != id),
            "{id} was decided already and must not be offered again"
        );
    }
    assert!(
        second
            .screen(100, 30)
            .contains("earlier session are being sent")
    );
    second.wait_delivered().await;

    assert_eq!(server.item(&decided[0]).await.state, ReviewState::TakenDown);
    assert_eq!(server.item(&decided[1]).await.state, ReviewState::Kept);
    assert_eq!(server.item(&decided[2]).await.state, ReviewState::Escalated);
    for id in &decided {
        assert_eq!(server.audit_rows(id), 1, "{id} applied exactly once");
    }
    second.quit().await;

    // A third start has nothing left to send.
    let third = Session::open(&server, data.path()).await;
    assert_eq!(third.app.counts.unsent, 0);
    assert_eq!(third.selected_id(), resume_at);
}

#[tokio::test]
async fn a_batch_the_server_applied_but_never_confirmed_is_not_applied_twice() {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");

    // A decision is journaled and sent by a process that then dies mid-flight.
    let session = Session::open(&server, data.path()).await;
    let db = session.prepared_db.clone();
    let id = session.selected_id();
    session.crash();
    {
        let mut store = Store::open(&db).expect("store");
        let decision = common::decision(&id, modq::model::DecisionAction::TakeDown);
        store
            .journal("crashed-session", &decision, None)
            .expect("journal");
        // The batch goes on the wire and the server applies it…
        let batch = store.claim_batch(10, usize::MAX).expect("claim").entries;
        let client = ModqClient::new(&server.api, &server.token).expect("client");
        let decisions: Vec<_> = batch.into_iter().map(|e| e.decision).collect();
        client.send_decisions(&decisions).await.expect("applied");
        // …but the process dies before it records the answer: the row stays `sending`.
    }

    // The next start resends it; the server recognises the key and applies nothing.
    let mut session = Session::open(&server, data.path()).await;
    session.wait_delivered().await;
    assert_eq!(server.audit_rows(&id), 1);
    assert_eq!(server.item(&id).await.state, ReviewState::TakenDown);
    let store = Store::open(&db).expect("store");
    let counts = store.counts().expect("counts");
    assert_eq!((counts.unsent, counts.failed, counts.sent), (0, 0, 1));
}

/// `modq sync` delivers what a session left behind without opening the TUI, and says (by its
/// exit code) whether anything is left.
#[tokio::test]
async fn modq_sync_flushes_a_left_behind_outbox_headless() {
    let mut server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut session = Session::open(&server, data.path()).await;
    server.stop().await;
    let decided = session.first_ids(2);
    session.press("ta");
    session.crash();

    let sync = |api: String, token: String, data: std::path::PathBuf| async move {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_modq"))
            .args(["sync", "--api", &api, "--data-dir"])
            .arg(data)
            .env("MODQ_TOKEN", token)
            .env_remove("MODQ_API")
            .output()
            .await
            .expect("run modq sync")
    };

    // The API is down: nothing can be sent, and the exit code says so.
    let down = sync(server.api.clone(), server.token.clone(), data.path().into()).await;
    assert!(!down.status.success());
    let said = String::from_utf8_lossy(&down.stderr);
    assert!(said.contains("Cannot reach"), "{said}");

    server.restart().await;
    let up = sync(server.api.clone(), server.token.clone(), data.path().into()).await;
    let said = String::from_utf8_lossy(&up.stdout);
    assert!(
        up.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&up.stderr)
    );
    assert!(said.contains("delivered 2, unsent 0, refused 0"), "{said}");
    assert_eq!(server.item(&decided[0]).await.state, ReviewState::TakenDown);
    assert_eq!(server.item(&decided[1]).await.state, ReviewState::Kept);
    for id in &decided {
        assert_eq!(server.audit_rows(id), 1);
    }

    // Nothing left: a second run has nothing to do and still succeeds.
    let again = sync(server.api.clone(), server.token.clone(), data.path().into()).await;
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("delivered 0, unsent 0"));
}

#[tokio::test]
async fn a_disk_that_stops_syncing_is_shown_until_the_server_has_every_decision() {
    let mut server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let cache = data.path().join("cache");
    let mut session = Session::open(&server, &cache).await;
    server.stop().await;
    // The cache's folder goes away under the running session (an unmounted or failing
    // disk): SQLite still writes through the files it holds open, but the fsync of what it
    // wrote fails.
    std::fs::rename(&cache, data.path().join("moved")).expect("move the cache away");
    session.press("t");
    assert_eq!(session.app.counts.unsent, 1, "the decision is journaled");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !session.app.disk_at_risk {
        assert!(
            std::time::Instant::now() < deadline,
            "the failed fsync was never shown"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        session.tick(common::sample_now());
    }
    let screen = session.screen(120, 30);
    assert!(screen.contains("DISK SYNC FAILED"), "{screen}");
    assert!(
        screen.contains("a power cut could lose decisions not yet sent"),
        "{screen}"
    );

    // The server comes back and takes the decision: nothing is at risk any more.
    server.restart().await;
    session.wait_delivered().await;
    assert!(!session.app.disk_at_risk);
    assert!(!session.screen(120, 30).contains("DISK SYNC FAILED"));
}

/// The race the crash harness found: the next session delivers a decision left over from the
/// last, while a page the server put together just before it applied that decision is on the
/// wire. The page still lists the item as open; it must not be offered again.
#[tokio::test]
async fn a_page_older_than_a_delivered_decision_does_not_offer_its_item_again() {
    let mut server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut first = Session::open(&server, data.path()).await;
    let decided = first.selected_id();
    let as_listed_before = server.item(&decided).await;
    server.stop().await;
    first.press("a");
    first.crash();

    server.restart().await;
    let mut second = Session::open(&server, data.path()).await;
    assert!(second.app.entries.iter().all(|e| e.id != decided));
    second.wait_delivered().await;
    assert_eq!(server.item(&decided).await.state, ReviewState::Kept);

    second.sync_event(modq::sync::SyncEvent::Page {
        items: vec![as_listed_before],
        next_cursor: None,
    });
    assert!(
        second.app.entries.iter().all(|e| e.id != decided),
        "{decided} was decided in the last session and is offered again"
    );
}

/// Undo after the outbox tried to send: a decision that found no server (the connection was
/// refused) never left and is withdrawn; one whose connection broke on the way may have
/// arrived, and is followed by a reversal instead.
#[tokio::test]
async fn undo_withdraws_a_decision_that_found_no_server_and_reverses_one_that_may_have_arrived() {
    let refusing = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        drop(listener);
        format!("http://{address}")
    };
    let hanging_up = {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        // Takes the whole request, then closes without a word.
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let mut request = vec![0u8; 64 * 1024];
                let _ = tokio::io::AsyncReadExt::read(&mut socket, &mut request).await;
            }
        });
        format!("http://{address}")
    };
    for (api, expect_withdrawn) in [(refusing, true), (hanging_up, false)] {
        let data = tempfile::tempdir().expect("tempdir");
        let outbox = data.path().join("outbox.sqlite");
        let decision = common::decision("post-1", DecisionAction::TakeDown);
        Store::open(&outbox)
            .expect("outbox")
            .journal("s1", &decision, None)
            .expect("journal");
        let client = ModqClient::new(&api, "modq_token").expect("client");
        let report = flush_all(&client, &outbox).await.expect("flush");
        assert_eq!(report.counts.unsent, 1, "{api}: kept to send again");
        let undone = Store::open(&outbox)
            .expect("outbox")
            .undo_last("s1", modq::store::new_key(), chrono::Utc::now())
            .expect("undo");
        match undone {
            Some(Undone::Withdrawn(d)) if expect_withdrawn => assert_eq!(d, decision),
            Some(Undone::Reversed { original, .. }) if !expect_withdrawn => {
                assert_eq!(original, decision)
            }
            other => panic!("{api} ({:?}): undo gave {other:?}", report.error),
        }
    }
}
