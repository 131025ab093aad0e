//! Leases over real HTTP (a server on 127.0.0.1 with a fresh SQLite file per test), and
//! their expiry at the storage level, where the clock is a parameter and no test sleeps.

use std::collections::HashSet;

use chrono::{DateTime, TimeDelta, Utc};
use modq::model::{
    ClaimCap, ClaimedPage, DecisionOutcome, DecisionResults, LeaseRelease, LeaseRenewal,
    ReviewState, Role,
};
use modq::server::{self, QueueQuery, SqliteStorage, Storage};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

// --- the harness ---------------------------------------------------------------------------

#[path = "common/json_api.rs"]
mod json_api;

use json_api::{Client, Server, answer, assert_api_error, decision};

impl Server {
    /// `count` items p000, p001…, all alike but for their age: queue order is id order.
    fn import_many(&self, count: u32) -> Vec<String> {
        let lines: Vec<Value> = (0..count).map(|i| report(&pid(i), i)).collect();
        self.import(&lines);
        (0..count).map(pid).collect()
    }

    fn lease_rows(&self, item_id: &str) -> Vec<String> {
        let db = self.sql();
        let mut stmt = db
            .prepare("SELECT holder FROM leases WHERE item_id = ?1")
            .expect("prepare");
        stmt.query_map([item_id], |r| r.get(0))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("rows")
    }
}

impl Client {
    async fn claim(&self, token: &str, body: Value) -> ClaimedPage {
        let (status, body) = self.post("/v1/queue/claim", token, &body).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value(body).expect("a ClaimedPage")
    }

    /// Claims page after page until the walk reaches the end or the server's cap on live
    /// leases stops it; every item claimed, in order.
    async fn claim_to_end(&self, token: &str, limit: u32) -> Vec<String> {
        let mut claimed = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = self
                .claim(token, json!({"limit": limit, "cursor": cursor}))
                .await;
            assert!(page.items.len() <= limit as usize);
            claimed.extend(ids(&page));
            if page.limited_by.contains(&ClaimCap::MaxLeases) {
                assert_eq!(page.held, page.max_leases);
                return claimed;
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return claimed,
            }
        }
    }

    async fn renew(&self, token: &str, item_ids: &[&str], seconds: Option<u32>) -> LeaseRenewal {
        let body = json!({"item_ids": item_ids, "lease_seconds": seconds});
        let (status, body) = self.post("/v1/leases/renew", token, &body).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value(body).expect("a LeaseRenewal")
    }

    async fn release(&self, token: &str, item_ids: &[String]) -> usize {
        let (status, body) = self
            .post(
                "/v1/leases/release",
                token,
                &json!({ "item_ids": item_ids }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value::<LeaseRelease>(body)
            .expect("a LeaseRelease")
            .released
    }

    async fn decide(&self, token: &str, decisions: Vec<Value>) -> Vec<(DecisionOutcome, String)> {
        let (status, body) = self
            .post("/v1/decisions", token, &json!({ "decisions": decisions }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let results: DecisionResults = serde_json::from_value(body).expect("DecisionResults");
        results
            .results
            .into_iter()
            .map(|r| (r.outcome, r.message.unwrap_or_default()))
            .collect()
    }
}

fn message(body: &Value) -> &str {
    body["message"].as_str().unwrap_or_default()
}

fn pid(i: u32) -> String {
    format!("p{i:03}")
}

/// A user report on `id`, received `minute` minutes into a day in the past.
fn report(id: &str, minute: u32) -> Value {
    json!({
        "subject": {"id": id, "kind": "post", "text": format!("text of {id}")},
        "reporter_type": "user",
        "category": "spam",
        "received_at": format!("2020-03-01T{:02}:{:02}:00Z", minute / 60, minute % 60),
    })
}

fn ids(page: &ClaimedPage) -> Vec<String> {
    page.items.iter().map(|i| i.id.clone()).collect()
}

fn set(ids: &[String]) -> HashSet<String> {
    ids.iter().cloned().collect()
}

// --- claiming -----------------------------------------------------------------------------

#[tokio::test]
async fn two_moderators_claim_disjoint_pages_that_cover_the_queue() {
    let s = Server::start().await;
    let alice = s.token("alice", Role::Moderator);
    let bob = s.token("bob", Role::Moderator);
    let carol = s.token("carol", Role::Moderator);
    let all = s.import_many(30);

    let a1 = s.claim(&alice, json!({"limit": 10})).await;
    let b1 = s.claim(&bob, json!({"limit": 10})).await;
    assert_eq!(ids(&a1), all[0..10]);
    assert_eq!(ids(&b1), all[10..20], "bob skips alice's items");
    assert_eq!(a1.lease_seconds, 300);
    assert!(
        a1.items
            .iter()
            .all(|i| !i.reports.is_empty() && !i.history.is_empty())
    );

    // Each pages on from their own cursor, past what the other holds.
    let a2 = s
        .claim(&alice, json!({"limit": 10, "cursor": a1.next_cursor}))
        .await;
    assert_eq!(ids(&a2), all[20..30], "alice skips bob's items");
    assert_eq!(a2.next_cursor, None, "the walk reached the end");
    let b2 = s
        .claim(&bob, json!({"limit": 10, "cursor": b1.next_cursor}))
        .await;
    assert!(b2.items.is_empty());
    assert_eq!(b2.next_cursor, None);

    let alices = set(&[ids(&a1), ids(&a2)].concat());
    let bobs = set(&ids(&b1));
    assert!(alices.is_disjoint(&bobs));
    assert_eq!(&alices | &bobs, set(&all));

    // While those leases are live, a third moderator gets nothing.
    let c = s.claim(&carol, json!({})).await;
    assert!(c.items.is_empty());
    assert_eq!(c.next_cursor, None);

    // The plain queue still lists every item; leases only steer claims.
    let (status, body) = s.get("/v1/queue?limit=500", &carol).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["items"].as_array().map(Vec::len), Some(30));

    // Claiming again from the start gives alice back her own items, extended.
    let again = s
        .claim(&alice, json!({"limit": 10, "lease_seconds": 600}))
        .await;
    assert_eq!(ids(&again), all[0..10]);
    assert_eq!(again.lease_seconds, 600);
    assert!(again.lease_expires_at > a1.lease_expires_at);
}

#[tokio::test]
async fn a_claim_follows_the_lane_filter_and_skipped_items_do_not_come_back() {
    let s = Server::start().await;
    let alice = s.token("alice", Role::Moderator);
    let bob = s.token("bob", Role::Moderator);
    let all = s.import_many(6);
    let mut urgent = report("u1", 50);
    urgent["lane"] = json!("urgent");
    s.import(&[urgent]);

    let u = s.claim(&alice, json!({"lane": "urgent"})).await;
    assert_eq!(ids(&u), ["u1"]);
    assert_eq!(u.next_cursor, None);

    // Bob holds p001 and p003; alice's pages of 2 pass over them for good.
    let b = s.claim(&bob, json!({"limit": 4, "lane": "standard"})).await;
    assert_eq!(ids(&b), all[0..4]);
    assert_eq!(s.release(&bob, &[all[0].clone(), all[2].clone()]).await, 2);

    let a1 = s
        .claim(&alice, json!({"limit": 2, "lane": "standard"}))
        .await;
    assert_eq!(ids(&a1), [all[0].clone(), all[2].clone()]);
    let a2 = s
        .claim(
            &alice,
            json!({"limit": 2, "lane": "standard", "cursor": a1.next_cursor}),
        )
        .await;
    assert_eq!(ids(&a2), all[4..6]);
    assert_eq!(a2.next_cursor, None);
}

#[tokio::test]
async fn released_items_go_to_the_next_claimer_and_only_the_holder_can_release() {
    let s = Server::start().await;
    let alice = s.token("alice", Role::Moderator);
    let bob = s.token("bob", Role::Moderator);
    let all = s.import_many(5);

    let a = s.claim(&alice, json!({"limit": 3})).await;
    assert_eq!(ids(&a), all[0..3]);

    // Bob cannot release alice's leases.
    assert_eq!(s.release(&bob, &ids(&a)).await, 0);
    assert_eq!(ids(&s.claim(&bob, json!({})).await), all[3..5]);

    // Alice quits: her items (a repeat counts once, an unknown id not at all) go to bob.
    let mut mine = ids(&a);
    mine.push(all[0].clone());
    mine.push("nope".into());
    assert_eq!(s.release(&alice, &mine).await, 3);
    assert_eq!(s.release(&alice, &mine).await, 0, "nothing left to release");
    let b = s.claim(&bob, json!({})).await;
    assert_eq!(ids(&b), all, "bob's own leases are included again");
    assert!(s.lease_rows(&all[0]) == ["bob"]);
}

#[tokio::test]
async fn lease_lengths_outside_10_to_3600_seconds_are_refused_not_changed() {
    let s = Server::start().await;
    let alice = s.token("alice", Role::Moderator);
    let all = s.import_many(2);

    let before = Utc::now();
    let short = s
        .claim(&alice, json!({"limit": 1, "lease_seconds": 10}))
        .await;
    assert_eq!(short.lease_seconds, 10);
    let granted = short.lease_expires_at - before;
    assert!(granted >= TimeDelta::seconds(10) && granted < TimeDelta::seconds(15));

    // An hour (the most the API takes), is cut to the server's longest lease (15 minutes unless
    // `modq serve --max-lease-seconds` says otherwise): a lease is for what one can review
    // before it runs out.
    let long = s.renew(&alice, &[&all[0]], Some(3600)).await;
    assert_eq!(long.renewed, [all[0].clone()]);
    let granted = long.lease_expires_at - before;
    let max = i64::from(server::DEFAULT_MAX_LEASE_SECONDS);
    assert!(granted >= TimeDelta::seconds(max) && granted < TimeDelta::seconds(max + 5));
    let hour = s
        .claim(&alice, json!({"limit": 1, "lease_seconds": 3600}))
        .await;
    assert_eq!(hour.lease_seconds, server::DEFAULT_MAX_LEASE_SECONDS);

    let default = s.renew(&alice, &[&all[0]], None).await;
    let granted = default.lease_expires_at - before;
    assert!(granted >= TimeDelta::seconds(300) && granted < TimeDelta::seconds(305));

    for (path, body) in [
        ("/v1/queue/claim", json!({"lease_seconds": 1})),
        (
            "/v1/queue/claim",
            json!({"lease_seconds": 2_169_784_018u64}),
        ),
        (
            "/v1/leases/renew",
            json!({"item_ids": [&all[0]], "lease_seconds": 1_000_000}),
        ),
    ] {
        let (status, answer) = s.post(path, &alice, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("lease_seconds: "), "{message}");
    }
    // An integral float is an integer to JSON Schema, and so to the server.
    let page = s
        .claim(&alice, json!({"limit": 1.0, "lease_seconds": 208.0}))
        .await;
    assert_eq!(page.lease_seconds, 208);
}

// --- renewing and deciding ----------------------------------------------------------------

#[tokio::test]
async fn renewal_keeps_live_leases_and_reports_the_lost_ones() {
    let s = Server::start().await;
    let alice = s.token("alice", Role::Moderator);
    let bob = s.token("bob", Role::Moderator);
    let all = s.import_many(6);
    let p: Vec<&str> = all.iter().map(String::as_str).collect();

    assert_eq!(ids(&s.claim(&alice, json!({"limit": 4})).await), all[0..4]);
    assert_eq!(ids(&s.claim(&bob, json!({"limit": 1})).await), all[4..5]);

    // Meanwhile bob decides two of alice's items: kept, and escalated (still undecided for
    // seniors, but no longer alice's to review).
    let answers = s
        .decide(
            &bob,
            vec![
                decision("b1", p[1], "keep"),
                decision("b2", p[2], "escalate"),
            ],
        )
        .await;
    assert!(
        answers.iter().all(|a| a.0 == DecisionOutcome::Applied),
        "{answers:?}"
    );

    let r = s
        .renew(
            &alice,
            &[p[0], p[1], p[2], p[3], p[4], p[5], "nope", p[0]],
            None,
        )
        .await;
    assert_eq!(r.renewed, [p[0], p[3]]);
    assert_eq!(r.lost, [p[1], p[2], p[4], p[5], "nope"]);
    assert!(r.lease_expires_at > Utc::now());

    // A renewal never takes a lease: p005 is still free (bob gets his p004 again, too).
    assert_eq!(ids(&s.claim(&bob, json!({"limit": 2})).await), [p[4], p[5]]);
    // And after releasing, a renewal is lost.
    assert_eq!(s.release(&alice, &[all[3].clone()]).await, 1);
    assert_eq!(s.renew(&alice, &[p[3]], None).await.lost, [p[3]]);
}

#[tokio::test]
async fn a_decision_ends_the_lease_and_a_second_decision_names_the_first() {
    let s = Server::start().await;
    let alice = s.token("alice", Role::Moderator);
    let bob = s.token("bob", Role::Moderator);
    let all = s.import_many(3);

    assert_eq!(ids(&s.claim(&alice, json!({})).await), all);
    assert_eq!(s.lease_rows(&all[0]), ["alice"]);

    let answers = s
        .decide(&alice, vec![decision("a1", &all[0], "keep")])
        .await;
    assert_eq!(answers[0].0, DecisionOutcome::Applied);
    assert!(
        s.lease_rows(&all[0]).is_empty(),
        "the holder's decision ends it"
    );

    // Bob decides an item alice holds: applied (a lease only prevents duplicate work).
    let answers = s
        .decide(&bob, vec![decision("b1", &all[1], "take_down")])
        .await;
    assert_eq!(answers[0].0, DecisionOutcome::Applied, "{answers:?}");
    assert!(
        s.lease_rows(&all[1]).is_empty(),
        "anyone's decision ends it"
    );

    // Alice's decision comes second: a conflict that says who decided, and when.
    let answers = s
        .decide(&alice, vec![decision("a2", &all[1], "keep")])
        .await;
    assert_eq!(answers[0].0, DecisionOutcome::Conflict);
    let text = &answers[0].1;
    assert!(text.contains("taken_down"), "{text}");
    assert!(text.contains("take down by bob at "), "{text}");
    assert!(
        text.contains(&Utc::now().format("%Y-%m-%d").to_string()),
        "{text}"
    );

    // A refused decision leaves the lease alone.
    let mut undo = decision("b2", &all[2], "reverse");
    undo["reverses"] = json!("never-sent");
    assert_eq!(
        s.decide(&bob, vec![undo]).await[0].0,
        DecisionOutcome::Invalid
    );
    assert_eq!(s.lease_rows(&all[2]), ["alice"]);
}

#[tokio::test]
async fn escalated_items_are_claimed_by_seniors_and_decided_items_by_nobody() {
    let s = Server::start().await;
    let alice = s.token("alice", Role::Moderator);
    let sam = s.token("sam", Role::Senior);
    let all = s.import_many(2);
    s.decide(
        &alice,
        vec![
            decision("e1", &all[0], "escalate"),
            decision("k1", &all[1], "keep"),
        ],
    )
    .await;

    let (status, body) = s
        .post("/v1/queue/claim", &alice, &json!({"state": "escalated"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).contains("senior"), "{body}");

    let page = s.claim(&sam, json!({"state": "escalated"})).await;
    assert_eq!(ids(&page), [all[0].clone()]);
    assert_eq!(page.items[0].state, ReviewState::Escalated);

    let (status, body) = s
        .post("/v1/queue/claim", &sam, &json!({"state": "kept"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message(&body).contains("kept"), "{body}");
}

// --- many claimers at once ----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_claimers_paging_at_once_never_share_an_item() {
    let s = Server::start().await;
    let all = s.import_many(300);
    // Each pages until the cap on live leases stops it: 8 × 25 of the 300 are handed out,
    // none twice, and the rest stay free for whoever comes next.
    let tokens: Vec<String> = (0..8)
        .map(|i| s.token(&format!("mod{i}"), Role::Moderator))
        .collect();

    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let client = s.client.clone();
            tokio::spawn(async move { client.claim_to_end(&token, 20).await })
        })
        .collect();
    let mut seen: HashSet<String> = HashSet::new();
    for task in tasks {
        for id in task.await.expect("claimer") {
            assert!(seen.insert(id.clone()), "{id} was handed to two claimers");
        }
    }
    let cap = server::DEFAULT_MAX_LEASES as usize;
    assert_eq!(seen.len(), 8 * cap);
    assert!(seen.is_subset(&set(&all)));
    let free: Vec<&String> = all.iter().filter(|id| !seen.contains(*id)).collect();
    assert_eq!(free.len(), all.len() - 8 * cap);
    for id in free {
        assert!(s.lease_rows(id).is_empty(), "{id} is free");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_moderators_working_through_the_queue_decide_each_item_once() {
    let s = Server::start().await;
    let all = s.import_many(300);
    let tokens: Vec<String> = (0..8)
        .map(|i| s.token(&format!("mod{i}"), Role::Moderator))
        .collect();

    // Each claims a page from the start, decides all of it, and again, until nothing is
    // left for them. Any item handed to two would end in a conflict for one of them.
    let tasks: Vec<_> = tokens
        .into_iter()
        .enumerate()
        .map(|(n, token)| {
            let client = s.client.clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let page = client.claim(&token, json!({"limit": 20})).await;
                    if page.items.is_empty() {
                        return mine;
                    }
                    let batch = page
                        .items
                        .iter()
                        .map(|i| decision(&format!("{n}-{}", i.id), &i.id, "keep"))
                        .collect();
                    let answers = client.decide(&token, batch).await;
                    assert!(
                        answers.iter().all(|a| a.0 == DecisionOutcome::Applied),
                        "{answers:?}"
                    );
                    mine.extend(ids(&page));
                }
            })
        })
        .collect();
    let mut seen: HashSet<String> = HashSet::new();
    for task in tasks {
        for id in task.await.expect("moderator") {
            assert!(seen.insert(id.clone()), "{id} was handed to two moderators");
        }
    }
    assert_eq!(seen, set(&all));
    let open: i64 = s
        .sql()
        .query_row("SELECT COUNT(*) FROM items WHERE state = 'open'", [], |r| {
            r.get(0)
        })
        .expect("count");
    assert_eq!(open, 0);
    let leases: i64 = s
        .sql()
        .query_row("SELECT COUNT(*) FROM leases", [], |r| r.get(0))
        .expect("count");
    assert_eq!(leases, 0, "every decision ended its lease");
}

// --- bodies and limits --------------------------------------------------------------------

#[tokio::test]
async fn bad_lease_requests_get_json_errors() {
    let s = Server::start().await;
    let token = s.token("alice", Role::Moderator);
    s.import_many(1);

    for path in ["/v1/queue/claim", "/v1/leases/renew", "/v1/leases/release"] {
        let response = s
            .http
            .post(format!("{}{path}", s.base))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{\"item_ids\": [")
            .send()
            .await
            .expect("POST");
        let (status, body) = answer(response).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert_api_error(&body, "bad_request");

        let (status, body) = s.post(path, "", &json!({"item_ids": []})).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
        assert_api_error(&body, "unauthorized");

        let huge = json!({"item_ids": ["x".repeat(3 * 1024 * 1024)]});
        let (status, body) = s.post(path, &token, &huge).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{path}");
        assert_api_error(&body, "payload_too_large");

        let (status, body) = s.get(path, &token).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_api_error(&body, "method_not_allowed");
    }

    // Wrong shapes and values name what was wrong.
    for (path, body, needle) in [
        ("/v1/queue/claim", json!({"lane": "fast"}), "fast"),
        ("/v1/queue/claim", json!({"limit": -1}), "limit"),
        ("/v1/queue/claim", json!({"cursor": "zz"}), "cursor"),
        ("/v1/leases/renew", json!({}), "item_ids"),
        (
            "/v1/leases/release",
            json!({"item_ids": "p000"}),
            "item_ids",
        ),
    ] {
        let (status, answer) = s.post(path, &token, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {answer}");
        assert_api_error(&answer, "bad_request");
        assert!(message(&answer).contains(needle), "{path}: {answer}");
    }

    let many: Vec<String> = (0..1001).map(|i| format!("p{i}")).collect();
    for path in ["/v1/leases/renew", "/v1/leases/release"] {
        let (status, body) = s.post(path, &token, &json!({ "item_ids": many })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}");
        assert!(message(&body).contains("1000"), "{body}");
    }
    // 1000 is allowed.
    let r = s
        .renew(
            &token,
            &many[..1000].iter().map(String::as_str).collect::<Vec<_>>(),
            None,
        )
        .await;
    assert_eq!(r.lost.len(), 1000);

    // Limits outside 1 to 500 are refused as in GET /v1/queue, and so is a body that is
    // not an object.
    for body in [
        json!({"limit": 0}),
        json!({"limit": 501}),
        json!([]),
        json!({"limt": 5}),
    ] {
        let (status, answer) = s.post("/v1/queue/claim", &token, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
    }
}

#[test]
fn the_openapi_document_describes_the_lease_routes() {
    let doc: Value = serde_json::from_str(&server::openapi_json()).expect("valid JSON");
    for path in ["/v1/queue/claim", "/v1/leases/renew", "/v1/leases/release"] {
        assert!(
            doc["paths"][path]["post"].is_object(),
            "{path} is documented"
        );
    }
    for schema in [
        "ClaimRequest",
        "ClaimedPage",
        "LeaseRequest",
        "LeaseRenewal",
        "LeaseRelease",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} is documented"
        );
    }
}

// --- SQLite's own: claimers on separate connections --------------------------------------
//
// Expiry, renewal, release and the claim walk past live leases are proved on every engine by
// tests/storage_suite.rs.

/// A storage with `count` open items, and the instant the test calls "now".
fn storage_with(count: u32) -> (TempDir, SqliteStorage, DateTime<Utc>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = SqliteStorage::open(&dir.path().join("modq.db")).expect("open database");
    let lines: Vec<String> = (0..count).map(|i| report(&pid(i), i).to_string()).collect();
    server::import_jsonl(&storage, lines.join("\n").as_bytes()).expect("import");
    (dir, storage, Utc::now())
}

fn open_items(limit: usize) -> QueueQuery {
    QueueQuery {
        limit,
        ..QueueQuery::default()
    }
}

#[test]
fn claimers_on_separate_connections_never_share_an_item() {
    // As if several server processes shared one database file: the in-process mutex no
    // longer serializes them, only SQLite's write lock does.
    let (dir, storage, now) = storage_with(300);
    drop(storage);
    let path = dir.path().join("modq.db");
    let threads: Vec<_> = (0..8)
        .map(|n| {
            let path = path.clone();
            std::thread::spawn(move || {
                let storage = SqliteStorage::open(&path).expect("open database");
                let holder = format!("mod{n}");
                let mut query = open_items(20);
                let mut mine = Vec::new();
                loop {
                    let page = storage.claim(&holder, &query, 300, now).expect("claim");
                    mine.extend(ids(&page));
                    match page.next_cursor.as_deref() {
                        Some(next) => query.after = server::Cursor::decode(next),
                        None => return mine,
                    }
                }
            })
        })
        .collect();
    let mut seen: HashSet<String> = HashSet::new();
    for thread in threads {
        for id in thread.join().expect("claimer") {
            assert!(seen.insert(id.clone()), "{id} was handed to two claimers");
        }
    }
    assert_eq!(seen, (0..300).map(pid).collect::<HashSet<_>>());
}
