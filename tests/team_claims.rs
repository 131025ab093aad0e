//! A team's day on one queue: nobody hoards it, everybody is told why there is nothing for
//! them, and two, eight or thirty-two moderators share it so that every item is reviewed
//! once, nobody idles while free work waits, and the urgent lane goes first for all of them.
//! The reference server on 127.0.0.1, the real HTTP client and the real App; no sleeps that
//! a result depends on, and every wait bounded.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::Duration as Span;
use common::{Session, TestServer, sample_now};
use modq::backend::modq::ModqClient;
use modq::backend::{Backend, QueueQuery};
use modq::model::{ClaimCap, ClaimRequest, DecisionAction, DecisionOutcome, Lane, ReviewState};
use modq::server::{DEFAULT_MAX_LEASE_SECONDS, DEFAULT_MAX_LEASES};
use modq::tui::app::{LEASE_WINDOW, Lease};

fn client(server: &TestServer, token: &str) -> ModqClient {
    ModqClient::new(&server.api, token).expect("client")
}

/// Every open item, read by `who` (which counts them as at work).
async fn read_queue(who: &ModqClient) -> Vec<modq::model::Item> {
    let mut items = Vec::new();
    let mut query = QueueQuery {
        state: Some(ReviewState::Open),
        limit: Some(500),
        ..QueueQuery::default()
    };
    loop {
        let page = who.queue_page(&query).await.expect("read the queue");
        items.extend(page.items);
        match page.next_cursor {
            Some(c) => query.cursor = Some(c),
            None => return items,
        }
    }
}

/// Lease rows a holder has, straight from the server's database.
fn leases_of(server: &TestServer, holder: &str) -> usize {
    let conn = rusqlite::Connection::open(&server.db).expect("db");
    conn.query_row(
        "SELECT COUNT(*) FROM leases WHERE holder = ?1",
        [holder],
        |r| r.get::<_, i64>(0),
    )
    .expect("count") as usize
}

/// Open items nobody holds a lease on, by lane.
fn unleased_open(server: &TestServer) -> HashMap<String, usize> {
    let conn = rusqlite::Connection::open(&server.db).expect("db");
    let mut stmt = conn
        .prepare(
            "SELECT lane, COUNT(*) FROM items WHERE state = 'open'
               AND NOT EXISTS (SELECT 1 FROM leases WHERE leases.item_id = items.id)
             GROUP BY lane",
        )
        .expect("prepare");
    stmt.query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as usize)))
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
}

/// Wait (bounded) until the server's database shows what `done` wants.
async fn eventually(what: &str, done: impl Fn() -> bool) {
    for _ in 0..400 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("never happened: {what}");
}

// --- 1. nobody hoards the queue ------------------------------------------------------------

#[tokio::test]
async fn a_greedy_claim_gets_what_one_moderator_can_review_and_the_answer_says_so() {
    let server = TestServer::with_sample().await;
    let alice = client(&server, &server.token);
    // 09:00: Alice asks for 500 items for an hour, as the old client's `G` did.
    let page = alice
        .claim_page(&ClaimRequest {
            limit: Some(500),
            lease_seconds: Some(3600),
            ..ClaimRequest::default()
        })
        .await
        .expect("claim");
    assert!(page.items.len() <= DEFAULT_MAX_LEASES as usize);
    assert_eq!(page.held, DEFAULT_MAX_LEASES);
    assert_eq!(page.max_leases, DEFAULT_MAX_LEASES);
    assert_eq!(page.lease_seconds, DEFAULT_MAX_LEASE_SECONDS);
    assert!(
        page.limited_by.contains(&ClaimCap::MaxLeases),
        "{:?}",
        page.limited_by
    );
    assert!(
        page.next_cursor.is_some(),
        "the rest of the queue is still there"
    );
    assert_eq!(leases_of(&server, "mod-alice"), DEFAULT_MAX_LEASES as usize);

    // Bob reads the queue: he sees everything, and who is reviewing what.
    let bob = client(&server, &server.add_moderator("mod-bob"));
    let listed = read_queue(&bob).await;
    let alices: HashSet<String> = page.items.iter().map(|i| i.id.clone()).collect();
    for item in &listed {
        let expected = alices.contains(&item.id).then_some("mod-alice");
        assert_eq!(item.leased_by.as_deref(), expected, "{}", item.id);
    }
    // Alice's own read does not name her.
    assert!(
        read_queue(&alice)
            .await
            .iter()
            .all(|i| i.leased_by.is_none())
    );
    // His claim gets work, none of hers.
    let his = bob
        .claim_page(&ClaimRequest {
            limit: Some(8),
            ..ClaimRequest::default()
        })
        .await
        .expect("claim");
    assert_eq!(his.items.len(), 8);
    assert!(his.items.iter().all(|i| !alices.contains(&i.id)));
}

#[tokio::test]
async fn urgent_and_authority_work_is_shared_among_the_moderators_at_work() {
    let server = TestServer::with_sample().await;
    let team: Vec<ModqClient> = ["mod-ann", "mod-ben", "mod-cat"]
        .iter()
        .map(|name| client(&server, &server.add_moderator(name)))
        .collect();
    // The shift starts: each reads the queue, and so counts as at work.
    let mut open = Vec::new();
    for m in &team {
        open = read_queue(m).await;
    }
    let in_lane = |lane| open.iter().filter(|i| i.lane == lane).count() as u64;
    let (urgent, authority) = (in_lane(Lane::Urgent), in_lane(Lane::Authority));
    assert!(
        urgent >= 3 && authority >= 3,
        "{urgent} urgent, {authority} authority"
    );
    let mut urgent_held = HashSet::new();
    for m in &team {
        let page = m
            .claim_page(&ClaimRequest {
                limit: Some(25),
                ..ClaimRequest::default()
            })
            .await
            .expect("claim");
        let count = |lane| page.items.iter().filter(|i| i.lane == lane).count() as u64;
        assert!(
            count(Lane::Urgent) >= 1,
            "everyone at work gets urgent work"
        );
        assert!(
            count(Lane::Urgent) <= urgent.div_ceil(3),
            "at most a fair share"
        );
        assert!(count(Lane::Authority) <= authority.div_ceil(3));
        urgent_held.extend(
            (page.items.iter())
                .filter(|i| i.lane == Lane::Urgent)
                .map(|i| i.id.clone()),
        );
    }
    assert_eq!(
        urgent_held.len() as u64,
        urgent,
        "the three shares cover the lane"
    );
}

#[tokio::test]
async fn a_lease_claim_names_who_holds_what_and_what_the_cap_stopped() {
    let server = TestServer::with_sample().await;
    let alice = client(&server, &server.token);
    let bob = client(&server, &server.add_moderator("mod-bob"));
    let standard: Vec<String> = read_queue(&alice)
        .await
        .into_iter()
        .filter(|i| i.lane == Lane::Standard)
        .map(|i| i.id)
        .collect();
    let first = alice
        .claim_items(&standard[..3], None)
        .await
        .expect("claim");
    assert_eq!(first.leased, standard[..3]);
    // Bob asks for 30: Alice's three are hers, and he gets his cap's worth of the rest.
    let grant = bob.claim_items(&standard[..30], None).await.expect("claim");
    assert_eq!(grant.leased, standard[3..3 + DEFAULT_MAX_LEASES as usize]);
    assert_eq!(grant.held, DEFAULT_MAX_LEASES);
    let reasons: Vec<_> = grant
        .refused
        .iter()
        .map(|r| (r.item_id.as_str(), r.reason, r.leased_by.as_deref()))
        .collect();
    for id in &standard[..3] {
        assert!(reasons.contains(&(
            id.as_str(),
            modq::model::RefusalReason::LeasedElsewhere,
            Some("mod-alice")
        )));
    }
    assert_eq!(
        (reasons.iter())
            .filter(|r| r.1 == modq::model::RefusalReason::MaxLeases)
            .count(),
        30 - 3 - DEFAULT_MAX_LEASES as usize
    );
    // A decided item is nobody's to claim.
    let done = common::decision(&standard[0], DecisionAction::Keep);
    alice.send_decisions(&[done]).await.expect("decide");
    let late = bob.claim_items(&standard[..1], None).await.expect("claim");
    assert_eq!(
        late.refused[0].reason,
        modq::model::RefusalReason::NotClaimable
    );
}

#[tokio::test]
async fn the_window_leases_the_selection_and_a_few_after_it_and_the_end_is_read_unleased() {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tmp");
    let mut s = Session::open(&server, data.path()).await;
    // The list shows a page of the queue; only the window at the top is Alice's.
    assert!(s.app.entries.len() > 50);
    assert_eq!(s.app.held_ids().len(), LEASE_WINDOW);
    assert_eq!(leases_of(&server, "mod-alice"), LEASE_WINDOW);
    // She reads a few items down: the leases follow her, never more than the window and a
    // little slack around it.
    s.press("jjjjjjjjjj");
    s.wait_until("the window follows", |app| {
        !app.entries.iter().any(|e| e.lease == Lease::Claiming)
    })
    .await;
    let top = s.app.entries[0].id.clone();
    eventually("the first items are handed back", || {
        server_has_no_lease_on(&server, &top)
    })
    .await;
    eventually("only the window and two behind it stay leased", || {
        leases_of(&server, "mod-alice") <= LEASE_WINDOW + 2
    })
    .await;
    // `G` to the end reads the whole queue in, and leases none of it.
    s.load_whole_queue().await;
    assert!(s.app.entries.len() > 300, "the whole queue is listed");
    eventually("jumping to the end hands everything back", || {
        leases_of(&server, "mod-alice") == 0
    })
    .await;
    // Back to the top: the window is claimed again.
    s.press("g");
    s.wait_until("the top is claimed", |app| {
        app.held_ids().len() == LEASE_WINDOW
    })
    .await;
    assert_eq!(leases_of(&server, "mod-alice"), LEASE_WINDOW);
    s.quit().await;
}

fn server_has_no_lease_on(server: &TestServer, id: &str) -> bool {
    let conn = rusqlite::Connection::open(&server.db).expect("db");
    conn.query_row(
        "SELECT COUNT(*) FROM leases WHERE item_id = ?1",
        [id],
        |r| r.get::<_, i64>(0),
    )
    .expect("count")
        == 0
}

// --- 2. say why there is nothing ---------------------------------------------------------

/// `count` standard items, alike but for their age.
fn small_queue(count: usize) -> String {
    (0..count)
        .map(|i| {
            serde_json::json!({
                "subject": {"id": format!("post-{i:03}"), "kind": "post", "text": format!("item {i}")},
                "reporter_type": "user", "category": "spam",
                "received_at": format!("2026-11-23T09:{i:02}:00Z"),
            })
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn with_everything_held_by_others_the_list_says_so_and_work_arrives_without_a_key() {
    let server = TestServer::with_reports(&small_queue(12)).await;
    // Bob, Carol and Dave each hold four of the twelve.
    let mut holders = Vec::new();
    for name in ["mod-bob", "mod-carol", "mod-dave"] {
        let who = client(&server, &server.add_moderator(name));
        let page = who
            .claim_page(&ClaimRequest {
                limit: Some(4),
                ..ClaimRequest::default()
            })
            .await
            .expect("claim");
        assert_eq!(page.items.len(), 4);
        holders.push((who, page.items));
    }
    // Alice opens modq: twelve items listed, none hers, and the list says why.
    let data = tempfile::tempdir().expect("tmp");
    let mut s = Session::open(&server, data.path()).await;
    assert_eq!(s.app.entries.len(), 12);
    assert!(s.app.held_ids().is_empty());
    let screen = s.screen(120, 30);
    assert!(
        screen.contains("12 open, all being reviewed by 3 others; you get the next one freed"),
        "{screen}"
    );
    // The list marks each as someone else's, and the item says whose.
    assert!(screen.contains('⊘'), "{screen}");
    assert!(screen.contains("being reviewed by mod-bob"), "{screen}");
    // Bob goes home and hands his four back. Alice presses nothing: time passes, and the
    // list looks again and claims them.
    let (bob, bobs) = &holders[0];
    let ids: Vec<String> = bobs.iter().map(|i| i.id.clone()).collect();
    bob.release_leases(&ids).await.expect("release");
    // The clock goes on as it would on screen, a second a tick: a look that fell due while a
    // page was still on its way happens at the next one. Bounded: 90 ticks is 18 looks.
    let mut now = sample_now();
    for _ in 0..90 {
        if s.app.held_ids().len() == 4 {
            break;
        }
        now += Span::seconds(1);
        s.tick(now);
        s.pump_wait(std::time::Duration::from_millis(50)).await;
    }
    s.wait_until("Bob's items are Alice's", |app| app.held_ids().len() == 4)
        .await;
    let mut held = s.app.held_ids();
    held.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(held, expected);
    assert!(
        ids.contains(&s.selected_id()),
        "the freed work is on screen"
    );
    assert!(!s.screen(120, 30).contains("all being reviewed"));
    s.quit().await;
}

// --- 3. two, eight and thirty-two moderators on one queue ----------------------------------

/// One round of a team's day: every moderator claims the top of what is free for them (the
/// window of the TUI, through the same client), then each decides the first item it holds.
/// Rounds run in lockstep, so what each saw can be checked between them.
async fn team_day(moderators: usize) {
    let server = TestServer::with_sample().await;
    let team: Vec<(String, ModqClient)> = (0..moderators)
        .map(|i| {
            let name = format!("mod-{i:02}");
            let token = server.add_moderator(&name);
            (name, client(&server, &token))
        })
        .collect();
    // The shift starts: everyone reads the queue.
    let mut total = 0;
    for (_, m) in &team {
        total = read_queue(m).await.len();
    }
    let urgent_total = read_queue(&team[0].1)
        .await
        .iter()
        .filter(|i| i.lane == Lane::Urgent)
        .count();
    assert!(total > 300 && urgent_total > 0);

    let mut decided: HashMap<String, usize> = HashMap::new();
    let mut urgent_by: HashMap<String, usize> = HashMap::new();
    let mut last_urgent_round = 0;
    let rounds_allowed = total / moderators + 20;
    let mut round = 0;
    while !read_queue(&team[0].1).await.is_empty() {
        round += 1;
        assert!(round <= rounds_allowed, "the queue did not drain");
        // Everyone claims at once (a window of the TUI's size, from the top).
        let window = ClaimRequest {
            limit: Some(LEASE_WINDOW as u32),
            ..ClaimRequest::default()
        };
        let claims = team.iter().map(|(_, m)| m.claim_page(&window));
        let pages: Vec<_> = futures::future::join_all(claims).await;
        let free = unleased_open(&server);
        let free_total: usize = free.values().sum();
        let free_urgent = free.get("urgent").copied().unwrap_or(0);
        let mut batch = Vec::new();
        for ((name, _), page) in team.iter().zip(pages) {
            let page = page.expect("claim");
            // Nobody idles while free work waits.
            assert!(
                !page.items.is_empty() || free_total == 0,
                "{name} got nothing while {free_total} items were free (round {round})"
            );
            let Some(first) = page.items.first() else {
                continue;
            };
            let urgent = first.lane == Lane::Urgent;
            // The urgent lane goes first: nobody starts on other work while an urgent item
            // is free for the taking.
            assert!(
                urgent || free_urgent == 0,
                "{name} took {} while {free_urgent} urgent items were free",
                first.id
            );
            if urgent {
                *urgent_by.entry(name.clone()).or_default() += 1;
                last_urgent_round = round;
            }
            batch.push((name.clone(), first.id.clone()));
        }
        let sends = team.iter().filter_map(|(name, m)| {
            let id = batch.iter().find(|(n, _)| n == name)?.1.clone();
            Some(async move {
                let d = common::decision(&id, DecisionAction::Keep);
                (id, m.send_decisions(&[d]).await)
            })
        });
        for (id, result) in futures::future::join_all(sends).await {
            let result = result.expect("decision sent");
            assert_eq!(result[0].outcome, DecisionOutcome::Applied, "{id}");
            *decided.entry(id).or_default() += 1;
        }
    }
    // Every item reviewed, each once.
    assert_eq!(decided.len(), total);
    assert!(decided.values().all(|&n| n == 1));
    let conn = rusqlite::Connection::open(&server.db).expect("db");
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))
        .expect("audit");
    assert_eq!(rows as usize, total);
    // The urgent lane was drained first, by all of them: every moderator had urgent work
    // while there was enough to go round, and nobody had more than a fair share and one.
    let share = urgent_total.div_ceil(moderators);
    assert_eq!(urgent_by.len(), moderators.min(urgent_total));
    assert!(urgent_by.values().all(|&n| n <= share + 1), "{urgent_by:?}");
    assert!(
        last_urgent_round <= share + 1,
        "urgent work done in {last_urgent_round} rounds"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_moderators_share_one_queue() {
    team_day(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_moderators_share_one_queue() {
    team_day(8).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_two_moderators_share_one_queue() {
    team_day(32).await;
}

/// What `modq serve --max-leases 3 --max-lease-seconds 60` sets: the server's options.
#[tokio::test]
async fn the_caps_are_the_servers_options() {
    let dir = tempfile::tempdir().expect("tmp");
    let storage = modq::server::SqliteStorage::open(&dir.path().join("s.sqlite")).expect("db");
    modq::server::import_jsonl(&storage, small_queue(10).as_bytes()).expect("import");
    let token =
        modq::server::add_token(&storage, "mod-eve", modq::model::Role::Moderator).expect("token");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let api = format!("http://{}", listener.local_addr().expect("addr"));
    let options = modq::server::ServerOptions {
        leases: modq::server::LeasePolicy {
            max_leases: 3,
            max_lease_seconds: 60,
        },
        ..modq::server::ServerOptions::default()
    };
    let storage: std::sync::Arc<dyn modq::server::Storage> = std::sync::Arc::new(storage);
    tokio::spawn(modq::server::serve_with(
        listener,
        storage,
        options,
        std::future::pending(),
    ));
    let eve = ModqClient::new(&api, &token).expect("client");
    let page = eve
        .claim_page(&ClaimRequest {
            limit: Some(10),
            lease_seconds: Some(300),
            ..ClaimRequest::default()
        })
        .await
        .expect("claim");
    assert_eq!(page.items.len(), 3);
    assert_eq!((page.held, page.max_leases, page.lease_seconds), (3, 3, 60));
    assert_eq!(page.limited_by, [ClaimCap::MaxLeases]);
    // Deciding one makes room for one more, where the last claim stopped.
    let first = page.items[0].id.clone();
    let done = common::decision(&first, DecisionAction::Keep);
    eve.send_decisions(&[done]).await.expect("decide");
    let next = eve
        .claim_page(&ClaimRequest {
            limit: Some(10),
            cursor: page.next_cursor.clone(),
            ..ClaimRequest::default()
        })
        .await
        .expect("claim");
    assert_eq!(next.items.len(), 1);
    assert_eq!(next.items[0].id, "post-003");
}

/// A page of `count` open posts, `post-0` first.
fn page_of_posts(count: usize) -> modq::model::QueuePage {
    let items: Vec<serde_json::Value> = (0..count)
        .map(|n| {
            serde_json::json!({
                "id": format!("post-{n}"), "kind": "post", "text": format!("post {n}"),
                "reports": [{"id": n, "reporter_type": "user", "category": "spam",
                             "lane": "standard", "received_at": "2026-11-23T12:00:00Z"}],
                "priority": 10, "lane": "standard", "state": "open",
                "created_at": "2026-11-23T12:00:00Z"
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({"items": items, "next_cursor": null}))
        .expect("a page")
}

fn grant(leased: &[String], taken_by_bob: &[&str]) -> modq::sync::SyncEvent {
    modq::sync::SyncEvent::Claimed(modq::model::LeaseGrant {
        leased: leased.to_vec(),
        refused: taken_by_bob
            .iter()
            .map(|id| modq::model::LeaseRefusal {
                item_id: (*id).to_string(),
                reason: modq::model::RefusalReason::LeasedElsewhere,
                leased_by: Some("bob".into()),
            })
            .collect(),
        lease_expires_at: sample_now() + Span::seconds(300),
        lease_seconds: 300,
        held: 8,
        max_leases: 25,
    })
}

/// Alice moves away from the head of the queue and back before the server answers: her lease
/// worker sends claim, release, claim, one after another, and the server takes them in that
/// order. The first claim's grant says nothing of what she holds now (the release after it
/// let go, and bob claimed `post-0` in between): only the last claim's answer does. Taken on
/// the first grant's word, `post-0` was held here while bob held it on the server, and both
/// decided it (the eight-moderator drain caught it as a refused decision).
#[tokio::test]
async fn only_the_answer_to_an_items_last_claim_says_whether_it_is_held() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("alice.sqlite");
    let app = modq::tui::app::App::new(modq::tui::app::AppInit {
        profile: "alice@127.0.0.1".into(),
        api: "http://127.0.0.1".into(),
        capabilities: modq::backend::modq::capabilities(),
        store: modq::store::Store::open(&db).expect("store"),
        first_page: page_of_posts(40),
        keymap: modq::tui::keymap::KeyMap::default_keymap(),
        theme: modq::tui::theme::Theme::default_theme(),
        now: sample_now(),
    })
    .expect("app");
    // On modq's loop; its sync's API never answers, so the answers are this test's to give,
    // in the order the lease worker would bring them.
    let mut s = Session::without_server(app, db, sample_now());
    let lease_of = |s: &Session, id: &str| {
        s.app
            .entries
            .iter()
            .find(|e| e.id == id)
            .map(|e| e.lease)
            .expect("entry")
    };
    // At the head: the window is claimed. Away (released), and back (claimed again).
    s.press("g");
    let first: Vec<String> = s.first_ids(LEASE_WINDOW);
    assert_eq!(lease_of(&s, "post-0"), Lease::Claiming);
    s.press(&"j".repeat(30));
    assert_eq!(lease_of(&s, "post-0"), Lease::None, "handed back");
    s.press("g");
    assert_eq!(lease_of(&s, "post-0"), Lease::Claiming, "asked for again");

    // The first claim's grant: not the last word on post-0.
    s.sync_event(grant(&first, &[]));
    assert_eq!(lease_of(&s, "post-0"), Lease::Claiming);
    // The second claim's answer: bob holds it now.
    let rest: Vec<String> = first.iter().skip(1).cloned().collect();
    s.sync_event(grant(&rest, &["post-0"]));
    assert_eq!(lease_of(&s, "post-0"), Lease::None);
    assert_eq!(lease_of(&s, "post-1"), Lease::Held);
    assert_ne!(
        s.selected_id(),
        "post-0",
        "the selection moved on from bob's item"
    );
}
