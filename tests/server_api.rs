//! API v1 over real HTTP: a server on 127.0.0.1 with a fresh SQLite file per test, driven
//! the way an operator and the modq client would drive it.

use std::collections::HashSet;
use std::path::PathBuf;

use modq::model::{
    DecisionOutcome, DecisionResults, HistoryEvent, Lane, QueuePage, ReportAccepted, ReviewState,
    Role, Scope,
};
use modq::server::{self};
use reqwest::StatusCode;
use serde_json::{Value, json};

// --- the harness --------------------------------------------------------------------------

#[path = "common/json_api.rs"]
mod json_api;

use json_api::{Server, answer, assert_api_error, decision};

impl Server {
    async fn queue(&self, query: &str, token: &str) -> QueuePage {
        let (status, body) = self.client.get(&format!("/v1/queue{query}"), token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value(body).expect("a QueuePage")
    }

    async fn decide(&self, token: &str, decisions: Vec<Value>) -> Vec<(DecisionOutcome, String)> {
        let (status, body) = self
            .client
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

    fn audit_rows(&self, key: &str) -> i64 {
        self.sql()
            .query_row(
                "SELECT COUNT(*) FROM audit WHERE idempotency_key = ?1",
                [key],
                |r| r.get(0),
            )
            .expect("count audit rows")
    }
}

/// A report as a platform would send it, received `minute` minutes into a day in the past
/// (so that decisions, stamped with the server's clock, always come after it).
fn report(id: &str, reporter: &str, minute: u32) -> Value {
    json!({
        "subject": {"id": id, "kind": "post", "text": format!("text of {id}"),
                    "author": {"id": "u1", "handle": "someone"}, "countries": ["DE"]},
        "reporter_type": reporter,
        "category": "spam",
        "received_at": at(minute),
    })
}

fn at(minute: u32) -> String {
    format!("2020-03-01T{:02}:{:02}:00Z", minute / 60, minute % 60)
}

fn ids(page: &QueuePage) -> Vec<String> {
    page.items.iter().map(|i| i.id.clone()).collect()
}

// --- auth ---------------------------------------------------------------------------------

#[tokio::test]
async fn health_and_the_openapi_document_need_no_token() {
    let s = Server::start().await;
    let (status, body) = s.get("/v1/health", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "ok"}));

    let (status, body) = s.get("/v1/openapi.json", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["openapi"], "3.1.0");
}

#[tokio::test]
async fn requests_without_a_known_token_are_refused_in_json() {
    let s = Server::start().await;
    s.token("alice", Role::Moderator);

    let response = s
        .http
        .get(format!("{}/v1/queue", s.base))
        .send()
        .await
        .expect("GET");
    assert!(response.headers().contains_key("www-authenticate"));
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_api_error(&body, "unauthorized");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("Bearer")
    );

    let (status, body) = s.get("/v1/me", "modq_not-a-real-token").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_api_error(&body, "unauthorized");

    let (status, body) = s
        .post("/v1/decisions", "wrong", &json!({"decisions": []}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_api_error(&body, "unauthorized");
}

#[tokio::test]
async fn a_token_names_its_holder_and_only_its_hash_is_stored() {
    let s = Server::start().await;
    let token = s.token("alice", Role::Senior);
    assert!(
        token.starts_with("modq_") && token.len() == 5 + 64,
        "{token}"
    );

    let (status, me) = s.get("/v1/me", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me, json!({"name": "alice", "role": "senior"}));

    let (hash, name): (String, String) = s
        .sql()
        .query_row("SELECT hash, name FROM tokens", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("the token row");
    assert_eq!(name, "alice");
    assert_eq!(hash, server::hash_token(&token));
    // Not in any column, nor anywhere in the files SQLite writes.
    for file in ["modq.db", "modq.db-wal"] {
        let bytes = std::fs::read(s.dir.path().join(file)).unwrap_or_default();
        let found = bytes.windows(token.len()).any(|w| w == token.as_bytes());
        assert!(!found, "plaintext token found in {file}");
    }
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let s = Server::start().await;
    let mode = std::fs::metadata(s.db())
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

// --- reports ------------------------------------------------------------------------------

#[tokio::test]
async fn reports_on_one_subject_merge_and_raise_its_priority() {
    let s = Server::start().await;
    let token = s.token("intake", Role::Admin);

    let (status, body) = s
        .post("/v1/reports", &token, &report("post-1", "user", 0))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let first: ReportAccepted = serde_json::from_value(body).expect("ReportAccepted");
    assert_eq!((first.item_id.as_str(), first.merged), ("post-1", false));
    assert_eq!(first.priority, 10);

    // A second user report adds its weight; a trusted flagger lifts the lane too.
    let mut second = report("post-1", "user", 5);
    second["subject"]["text"] = json!("a different text that must not win");
    second["subject"]["countries"] = json!(["AT", "DE"]);
    let (_, body) = s.post("/v1/reports", &token, &second).await;
    let second: ReportAccepted = serde_json::from_value(body).expect("ReportAccepted");
    assert!(second.merged);
    assert_eq!(second.priority, 20);

    let (_, body) = s
        .post(
            "/v1/reports",
            &token,
            &report("post-1", "trusted_flagger", 9),
        )
        .await;
    let third: ReportAccepted = serde_json::from_value(body).expect("ReportAccepted");
    assert_eq!(third.priority, 150 + 10 + 10 + 40);

    let item = s.item("post-1", &token).await;
    assert_eq!(item.reports.len(), 3);
    assert_eq!(item.text.as_deref(), Some("text of post-1"));
    assert_eq!(item.countries, vec!["DE".to_string(), "AT".to_string()]);
    assert_eq!(item.lane, Lane::TrustedFlagger);
    assert_eq!(item.priority, 210);
    assert_eq!(item.state, ReviewState::Open);
    assert_eq!(item.created_at.to_rfc3339(), "2020-03-01T00:00:00+00:00");
}

#[tokio::test]
async fn invalid_reports_are_refused_with_a_reason() {
    let s = Server::start().await;
    let token = s.token("intake", Role::Admin);

    let mut empty_id = report("x", "user", 0);
    empty_id["subject"]["id"] = json!("");
    let (status, body) = s.post("/v1/reports", &token, &empty_id).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_api_error(&body, "bad_request");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("subject.id")
    );

    let mut no_category = report("x", "user", 0);
    no_category["category"] = json!("");
    let (status, _) = s.post("/v1/reports", &token, &no_category).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let mut missing = report("x", "user", 0);
    missing.as_object_mut().map(|o| o.remove("category"));
    let (status, body) = s.post("/v1/reports", &token, &missing).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("category"),
        "{body}"
    );
}

#[tokio::test]
async fn an_import_counts_reports_and_items_and_names_a_bad_line() {
    let s = Server::start().await;
    let summary = s.import(&[
        report("a", "user", 0),
        report("b", "authority", 1),
        report("a", "automated", 2),
    ]);
    assert_eq!(
        summary,
        server::ImportSummary {
            reports: 3,
            items: 2
        }
    );

    let text = format!(
        "{}\n\n{}\n{{\"subject\": {{\"id\": \"d\", \"kind\": \"post\"}}}}\n",
        report("c", "user", 0),
        report("d", "user", 0)
    );
    let err = server::import_jsonl(s.storage.as_ref(), text.as_bytes())
        .expect_err("line 4 has no category");
    let message = format!("{err:#}");
    assert!(message.starts_with("line 4:"), "{message}");
    assert!(message.contains("category"), "{message}");

    let text = format!("{}\nnot json\n", report("c", "user", 0));
    let err = server::import_jsonl(s.storage.as_ref(), text.as_bytes()).expect_err("bad JSON");
    assert!(format!("{err:#}").starts_with("line 2:"), "{err:#}");

    // A failed import stores nothing.
    let token = s.token("ops", Role::Admin);
    let (status, _) = s.get("/v1/items/c", &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// --- the queue ----------------------------------------------------------------------------

#[tokio::test]
async fn the_queue_is_most_urgent_first_then_oldest_first() {
    let s = Server::start().await;
    let token = s.token("alice", Role::Moderator);
    s.import(&[
        report("user-late", "user", 30),
        report("user-early", "user", 10),
        report("authority", "authority", 50),
        report("flagger", "trusted_flagger", 40),
        report("twice", "user", 20),
        report("twice", "user", 21),
    ]);
    let page = s.queue("", &token).await;
    assert_eq!(
        ids(&page),
        ["authority", "flagger", "twice", "user-early", "user-late"]
    );
    let priorities: Vec<i64> = page.items.iter().map(|i| i.priority).collect();
    assert_eq!(priorities, [250, 190, 20, 10, 10]);
    assert_eq!(page.next_cursor, None);
    assert_eq!(page.items[2].reports.len(), 2);
    assert_eq!(page.items[2].history.len(), 2);
}

#[tokio::test]
async fn paging_with_a_cursor_returns_every_item_once() {
    let s = Server::start().await;
    let token = s.token("alice", Role::Moderator);
    let reports: Vec<Value> = (0..120)
        .map(|i| {
            // Ties in priority and in time, so the id has to break them.
            let reporter = if i % 3 == 0 { "automated" } else { "user" };
            report(&format!("item-{i:03}"), reporter, i / 7)
        })
        .collect();
    s.import(&reports);

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut sizes = Vec::new();
    loop {
        let query = match &cursor {
            Some(c) => format!("?limit=50&cursor={c}"),
            None => "?limit=50".to_string(),
        };
        let page = s.queue(&query, &token).await;
        sizes.push(page.items.len());
        seen.extend(ids(&page));
        if seen.len() == 50 {
            // A new, most urgent item arrives mid-way; it sorts before the cursor, so the
            // rest of this walk neither repeats nor skips anything.
            s.import(&[report("late-urgent", "authority", 0)]);
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(sizes, [50, 50, 20]);
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), 120, "no duplicates");
    let expected: HashSet<String> = (0..120).map(|i| format!("item-{i:03}")).collect();
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), expected);

    // The walk was in queue order throughout.
    let all = s.queue("?limit=500", &token).await;
    let in_order: Vec<String> = ids(&all)
        .into_iter()
        .filter(|id| id != "late-urgent")
        .collect();
    assert_eq!(seen, in_order);
}

#[tokio::test]
async fn page_sizes_outside_1_to_500_are_refused_not_changed() {
    let s = Server::start().await;
    let token = s.token("alice", Role::Moderator);
    let reports: Vec<Value> = (0..510)
        .map(|i| report(&format!("p{i}"), "user", 0))
        .collect();
    s.import(&reports);
    let page = s.queue("?limit=500", &token).await;
    assert_eq!(page.items.len(), 500);
    assert!(page.next_cursor.is_some());
    assert_eq!(s.queue("", &token).await.items.len(), 50);
    for bad in [
        "?limit=100000",
        "?limit=0",
        "?lane=",
        "?sort=",
        "?cursor=00",
    ] {
        let (status, body) = s.client.get(&format!("/v1/queue{bad}"), &token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_api_error(&body, "bad_request");
    }
}

#[tokio::test]
async fn the_queue_filters_by_lane_and_state() {
    let s = Server::start().await;
    let token = s.token("alice", Role::Moderator);
    let mut urgent = report("urgent", "user", 0);
    urgent["lane"] = json!("urgent");
    s.import(&[
        urgent,
        report("auth", "authority", 0),
        report("std-1", "user", 0),
        report("std-2", "user", 1),
    ]);
    let answers = s
        .decide(&token, vec![decision("k-std-1", "std-1", "keep")])
        .await;
    assert_eq!(answers[0].0, DecisionOutcome::Applied);

    assert_eq!(ids(&s.queue("?lane=standard", &token).await), ["std-2"]);
    assert_eq!(ids(&s.queue("?lane=urgent", &token).await), ["urgent"]);
    assert_eq!(ids(&s.queue("?state=kept", &token).await), ["std-1"]);
    assert_eq!(
        ids(&s.queue("?state=kept&lane=standard", &token).await),
        ["std-1"]
    );
    assert!(s.queue("?state=escalated", &token).await.items.is_empty());
}

#[tokio::test]
async fn bad_queue_parameters_are_400_and_say_which() {
    let s = Server::start().await;
    let token = s.token("alice", Role::Moderator);
    for (query, mention) in [
        ("?lane=fast", "fast"),
        ("?state=done", "done"),
        ("?cursor=not-a-cursor", "cursor"),
        ("?cursor=00ff", "cursor"),
        ("?limit=many", "limit"),
    ] {
        let (status, body) = s.get(&format!("/v1/queue{query}"), &token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_api_error(&body, "bad_request");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(mention), "{query}: {message}");
    }
}

#[tokio::test]
async fn an_item_comes_with_its_history_and_unknown_ids_are_404() {
    let s = Server::start().await;
    let token = s.token("alice", Role::Moderator);
    // Platform ids may hold slashes and spaces; clients percent-encode them.
    s.import(&[report("at://did/post 1", "user", 0)]);
    s.decide(&token, vec![decision("k1", "at://did/post 1", "take_down")])
        .await;

    let item = s.item("at:%2F%2Fdid%2Fpost%201", &token).await;
    assert_eq!(item.id, "at://did/post 1");
    assert_eq!(item.state, ReviewState::TakenDown);
    assert_eq!(item.restricted_in, Some(Scope::Global));
    let events: Vec<(HistoryEvent, String)> = item
        .history
        .iter()
        .map(|h| (h.event, h.actor.clone()))
        .collect();
    assert_eq!(
        events,
        [
            (HistoryEvent::Reported, "user".to_string()),
            (HistoryEvent::TakeDown, "alice".to_string())
        ]
    );

    let (status, body) = s.get("/v1/items/nope", &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_api_error(&body, "not_found");
}

// --- decisions ----------------------------------------------------------------------------

#[tokio::test]
async fn a_decision_applies_exactly_once_whatever_is_replayed() {
    let s = Server::start().await;
    let token = s.token("alice", Role::Moderator);
    s.import(&[report("p1", "user", 0)]);

    // The same key twice in one batch: applied, then duplicate.
    let answers = s
        .decide(
            &token,
            vec![
                decision("k1", "p1", "take_down"),
                decision("k1", "p1", "take_down"),
            ],
        )
        .await;
    assert_eq!(answers[0].0, DecisionOutcome::Applied);
    assert_eq!(answers[1].0, DecisionOutcome::Duplicate);
    assert!(answers[1].1.contains("alice"), "{}", answers[1].1);

    // The client retries after a lost answer.
    let answers = s
        .decide(&token, vec![decision("k1", "p1", "take_down")])
        .await;
    assert_eq!(answers[0].0, DecisionOutcome::Duplicate);

    // And once more after the server restarted.
    let s = s.restart().await;
    let answers = s
        .decide(&token, vec![decision("k1", "p1", "take_down")])
        .await;
    assert_eq!(answers[0].0, DecisionOutcome::Duplicate);

    assert_eq!(s.audit_rows("k1"), 1);
    let item = s.item("p1", &token).await;
    assert_eq!(item.state, ReviewState::TakenDown);
    assert_eq!(item.history.len(), 2);
}

#[tokio::test]
async fn decisions_report_conflicts_unknown_items_and_malformed_ones() {
    let s = Server::start().await;
    let alice = s.token("alice", Role::Moderator);
    let bob = s.token("bob", Role::Moderator);
    s.import(&[report("p1", "user", 0), report("p2", "user", 1)]);

    let mut scoped = decision("a1", "p1", "take_down");
    scoped["scope"] = json!(["de", "AT"]);
    let answers = s
        .decide(
            &alice,
            vec![
                scoped,
                decision("a2", "missing", "keep"),
                decision("", "p2", "keep"),
            ],
        )
        .await;
    let outcomes: Vec<DecisionOutcome> = answers.iter().map(|a| a.0).collect();
    assert_eq!(
        outcomes,
        [
            DecisionOutcome::Applied,
            DecisionOutcome::NotFound,
            DecisionOutcome::Invalid
        ]
    );
    let item = s.item("p1", &alice).await;
    assert_eq!(
        item.restricted_in,
        Some(Scope::Countries(vec!["AT".into(), "DE".into()]))
    );

    // Bob, not knowing, decides the same item: told what happened and by whom.
    let answers = s.decide(&bob, vec![decision("b1", "p1", "keep")]).await;
    assert_eq!(answers[0].0, DecisionOutcome::Conflict);
    assert!(answers[0].1.contains("taken_down"), "{}", answers[0].1);
    assert!(answers[0].1.contains("alice"), "{}", answers[0].1);
    assert_eq!(s.audit_rows("b1"), 0);

    // The actor is always the token's holder.
    let actor: String = s
        .sql()
        .query_row(
            "SELECT actor FROM audit WHERE idempotency_key = 'a1'",
            [],
            |r| r.get(0),
        )
        .expect("audit row");
    assert_eq!(actor, "alice");
}

#[tokio::test]
async fn escalated_items_wait_for_a_senior() {
    let s = Server::start().await;
    let moderator = s.token("alice", Role::Moderator);
    let senior = s.token("sam", Role::Senior);
    s.import(&[report("p1", "user", 0)]);

    let mut escalate = decision("e1", "p1", "escalate");
    escalate["escalation_target"] = json!("senior");
    assert_eq!(
        s.decide(&moderator, vec![escalate]).await[0].0,
        DecisionOutcome::Applied
    );
    assert_eq!(ids(&s.queue("?state=escalated", &moderator).await), ["p1"]);

    let answers = s
        .decide(&moderator, vec![decision("e2", "p1", "take_down")])
        .await;
    assert_eq!(answers[0].0, DecisionOutcome::Conflict);
    assert!(answers[0].1.contains("senior"), "{}", answers[0].1);

    let answers = s
        .decide(&senior, vec![decision("e3", "p1", "take_down")])
        .await;
    assert_eq!(answers[0].0, DecisionOutcome::Applied);
    let item = s.item("p1", &senior).await;
    assert_eq!(item.state, ReviewState::TakenDown);
    assert_eq!(item.history.last().map(|h| h.actor.as_str()), Some("sam"));
}

#[tokio::test]
async fn a_reversal_reopens_the_item_and_is_audited() {
    let s = Server::start().await;
    let alice = s.token("alice", Role::Moderator);
    let bob = s.token("bob", Role::Moderator);
    s.import(&[report("p1", "user", 0)]);
    s.decide(&alice, vec![decision("k1", "p1", "take_down")])
        .await;

    let mut undo = decision("u1", "p1", "reverse");
    undo["reverses"] = json!("k1");
    let mut bobs_undo = undo.clone();
    bobs_undo["idempotency_key"] = json!("u0");
    let answers = s.decide(&bob, vec![bobs_undo]).await;
    assert_eq!(
        answers[0].0,
        DecisionOutcome::Conflict,
        "not bob's decision"
    );

    assert_eq!(
        s.decide(&alice, vec![undo]).await[0].0,
        DecisionOutcome::Applied
    );
    let item = s.item("p1", &alice).await;
    assert_eq!(item.state, ReviewState::Open);
    assert_eq!(item.restricted_in, None);
    assert_eq!(
        item.history.last().map(|h| h.event),
        Some(HistoryEvent::Reversal)
    );
    assert_eq!(s.audit_rows("u1"), 1);
    assert_eq!(ids(&s.queue("", &alice).await), ["p1"]);

    // Undoing twice, or undoing an unknown key, changes nothing.
    let mut again = decision("u2", "p1", "reverse");
    again["reverses"] = json!("k1");
    let mut unknown = decision("u3", "p1", "reverse");
    unknown["reverses"] = json!("never-sent");
    let answers = s.decide(&alice, vec![again, unknown]).await;
    assert_eq!(answers[0].0, DecisionOutcome::Conflict);
    assert_eq!(answers[1].0, DecisionOutcome::Invalid);

    // Decided again after the reversal, the newer decision is the one in force.
    assert_eq!(
        s.decide(&alice, vec![decision("k2", "p1", "keep")]).await[0].0,
        DecisionOutcome::Applied
    );
    assert_eq!(s.item("p1", &alice).await.state, ReviewState::Kept);
}

#[tokio::test]
async fn audit_rows_cannot_be_changed_or_removed() {
    let s = Server::start().await;
    let token = s.token("alice", Role::Moderator);
    s.import(&[report("p1", "user", 0)]);
    s.decide(&token, vec![decision("k1", "p1", "keep")]).await;

    let db = s.sql();
    let update = db.execute("UPDATE audit SET actor = 'mallory'", []);
    assert!(
        format!("{:?}", update).contains("append-only"),
        "{update:?}"
    );
    let delete = db.execute("DELETE FROM audit", []);
    assert!(delete.is_err(), "{delete:?}");
    assert_eq!(s.audit_rows("k1"), 1);
}

// --- bodies and limits --------------------------------------------------------------------

#[tokio::test]
async fn malformed_bodies_get_json_errors() {
    let s = Server::start().await;
    let token = s.token("alice", Role::Moderator);

    let response = s
        .http
        .post(format!("{}/v1/decisions", s.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"decisions\": [")
        .send()
        .await
        .expect("POST");
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_api_error(&body, "bad_request");

    let (status, body) = s
        .post(
            "/v1/decisions",
            &token,
            &json!({"decisions": [{"idempotency_key": "k", "item_id": "p", "action": "delete",
                                   "decided_at": "2020-03-01T12:00:00Z"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("delete"),
        "{body}"
    );

    let most = modq::server::MAX_DECISIONS_PER_BATCH;
    let many: Vec<Value> = (0..=most)
        .map(|i| decision(&format!("k{i}"), "p", "keep"))
        .collect();
    let (status, body) = s
        .post("/v1/decisions", &token, &json!({ "decisions": many }))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&most.to_string()),
        "{body}"
    );

    let mut huge = report("big", "user", 0);
    huge["comment"] = json!("x".repeat(3 * 1024 * 1024));
    let (status, body) = s.post("/v1/reports", &token, &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_api_error(&body, "payload_too_large");

    let response = s
        .http
        .post(format!("{}/v1/reports", s.base))
        .bearer_auth(&token)
        .body(report("p", "user", 0).to_string())
        .send()
        .await
        .expect("POST without a content type");
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_api_error(&body, "unsupported_media_type");

    let (status, body) = s.get("/v1/nowhere", &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_api_error(&body, "not_found");

    let (status, body) = s.get("/v1/decisions", &token).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_api_error(&body, "method_not_allowed");
}

// --- the OpenAPI document -----------------------------------------------------------------

#[test]
fn the_checked_in_openapi_document_is_current() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json");
    let generated = server::openapi_json();
    if std::env::var_os("MODQ_WRITE_OPENAPI").is_some() {
        std::fs::write(&path, format!("{generated}\n")).expect("write docs/openapi.json");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in.trim_end() == generated.trim_end(),
        "docs/openapi.json is out of date with the code; regenerate it with\n    \
         MODQ_WRITE_OPENAPI=1 cargo test --test server_api"
    );
    let doc: Value = serde_json::from_str(&generated).expect("valid JSON");
    for path in [
        "/v1/health",
        "/v1/me",
        "/v1/queue",
        "/v1/items/{id}",
        "/v1/decisions",
        "/v1/reports",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is documented");
    }
}
