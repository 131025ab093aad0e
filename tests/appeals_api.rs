//! Appeals (EU DSA Article 20) over real HTTP against the reference server: a user's side
//! lodges an appeal against a take down; the moderator who took it down is refused, one
//! by one and in bulk; another overturns it; the content is back, the audit log and the
//! updated statement of reasons say so; an upheld appeal; and what an intake must not be
//! able to do (an oversized statement, an unknown or un-appealable decision, a second
//! appeal, an appeal after six months).

use std::sync::Arc;

use chrono::{DateTime, Months, Utc};
use modq::model::{AppealVerdict, DecisionAction, Item, Lane, ReviewState, Role};
use modq::server::{self, SqliteStorage, Storage};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::oneshot;

#[path = "common/json_api.rs"]
mod json_api;

use json_api::{Client, assert_api_error};

/// The server on a clock of the test's choosing, over a database folder the test keeps.
struct Served {
    client: Client,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn serve(db: &std::path::Path, at: DateTime<Utc>) -> Served {
    let storage: Arc<dyn Storage> = Arc::new(SqliteStorage::open(db).expect("open database"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = oneshot::channel::<()>();
    let options = server::ServerOptions {
        clock: server::Clock::starting_at(at),
        ..server::ServerOptions::default()
    };
    let task = tokio::spawn(server::serve_with(listener, storage, options, async {
        let _ = stopped.await;
    }));
    Served {
        client: Client {
            base,
            http: reqwest::Client::new(),
        },
        stop,
        task,
    }
}

impl Served {
    async fn end(self) {
        let _ = self.stop.send(());
        self.task.await.expect("server task").expect("server ran");
    }

    async fn decide(&self, token: &str, decisions: Value) -> Vec<(String, String)> {
        let (status, body) = self
            .client
            .post("/v1/decisions", token, &json!({ "decisions": decisions }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| {
                (
                    r["outcome"].as_str().unwrap_or_default().to_string(),
                    r["message"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    async fn item(&self, id: &str, token: &str) -> Item {
        let (status, body) = self.client.get(&format!("/v1/items/{id}"), token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value(body).expect("an Item")
    }

    async fn appeal(&self, token: &str, decision: &str, statement: &str) -> (StatusCode, Value) {
        self.client
            .post(
                "/v1/appeals",
                token,
                &json!({ "decision": decision, "statement": statement }),
            )
            .await
    }

    /// The `puid` of the statement of `item`'s take down.
    async fn puid_of(&self, lead: &str, item: &str) -> String {
        let (status, body) = self.client.get("/v1/audit", lead).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let row = body["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .find(|e| e["item_id"] == item && e["action"] == "take_down")
            .unwrap_or_else(|| panic!("no take down of {item}: {body}"));
        format!("modq-{}", row["id"])
    }

    async fn statement(&self, lead: &str, puid: &str) -> Value {
        let (status, body) = self.client.get("/v1/statements", lead).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["statements"]
            .as_array()
            .expect("statements")
            .iter()
            .find(|s| s["puid"] == puid)
            .cloned()
            .unwrap_or_else(|| panic!("no statement {puid}: {body}"))
    }
}

fn decision(key: &str, item: &str, action: &str) -> Value {
    json!({
        "idempotency_key": key,
        "item_id": item,
        "action": action,
        "decided_at": "2026-03-01T12:00:00Z",
    })
}

fn report(id: &str, text: &str) -> Value {
    json!({
        "subject": {"id": id, "kind": "post", "text": text, "language": "de",
                    "author": {"id": "u-9", "handle": "@nine"}, "countries": ["DE"]},
        "reporter_type": "user",
        "category": "spam",
        "received_at": "2026-03-01T10:00:00Z",
    })
}

fn start() -> DateTime<Utc> {
    "2026-03-01T12:00:00Z".parse().expect("time")
}

struct World {
    dir: tempfile::TempDir,
    alice: String,
    bob: String,
    intake: String,
}

fn world() -> World {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = SqliteStorage::open(&dir.path().join("modq.db")).expect("open database");
    let lines: Vec<String> = [
        report("p1", "buy followers now"),
        report("p2", "cheap watches"),
        report("p3", "a harmless post"),
    ]
    .iter()
    .map(Value::to_string)
    .collect();
    server::import_jsonl(&storage, lines.join("\n").as_bytes()).expect("import");
    let alice = server::add_token(&storage, "alice", Role::Moderator).expect("token");
    let bob = server::add_token(&storage, "bob", Role::Moderator).expect("token");
    let intake = server::add_token(&storage, "intake", Role::Admin).expect("token");
    World {
        dir,
        alice,
        bob,
        intake,
    }
}

#[tokio::test]
async fn a_take_down_appealed_is_overturned_by_another_moderator_and_the_statement_says_so() {
    let w = world();
    let s = serve(&w.dir.path().join("modq.db"), start()).await;
    let applied = s
        .decide(
            &w.alice,
            json!([
                decision("a1", "p1", "take_down"),
                decision("a2", "p2", "take_down")
            ]),
        )
        .await;
    assert!(applied.iter().all(|(o, _)| o == "applied"), "{applied:?}");
    let puid = s.puid_of(&w.intake, "p1").await;

    // The user's side lodges the appeal; it enters the queue in the appeals lane.
    let (status, lodged) = s
        .appeal(&w.intake, &puid, "It was a joke among friends \u{1b}[31m")
        .await;
    assert_eq!(status, StatusCode::CREATED, "{lodged}");
    let appeal_item = lodged["item_id"].as_str().expect("item id").to_string();
    let (status, page) = s.client.get("/v1/queue?lane=appeals", &w.bob).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"][0]["id"], appeal_item.as_str(), "{page}");

    // Reading it gives the decision, its statement, who decided and the appellant's words.
    let item = s.item(&appeal_item, &w.bob).await;
    assert_eq!((item.lane, item.state), (Lane::Appeals, ReviewState::Open));
    let appeal = item.appeal.clone().expect("the appeal");
    assert_eq!(appeal.item_id, "p1");
    assert_eq!(appeal.decision.action, DecisionAction::TakeDown);
    assert_eq!(appeal.decision.decided_by, "alice");
    assert_eq!(appeal.decision.reason_code.as_deref(), Some("spam"));
    assert_eq!(
        appeal
            .decision
            .statement
            .as_ref()
            .map(|st| st.puid.as_str()),
        Some(puid.as_str())
    );
    assert_eq!(
        appeal.appellant_statement,
        "It was a joke among friends \u{1b}[31m"
    );
    assert_eq!(
        item.allowed_actions,
        Some(vec![DecisionAction::Uphold, DecisionAction::Overturn])
    );
    // Alice decided first: she is offered nothing, and the server refuses her, also in bulk.
    let as_alice = s.item(&appeal_item, &w.alice).await;
    assert_eq!(as_alice.allowed_actions, Some(vec![]));
    let refused = s
        .decide(
            &w.alice,
            json!([
                decision("x1", &appeal_item, "overturn"),
                decision("x2", &appeal_item, "uphold")
            ]),
        )
        .await;
    for (outcome, message) in &refused {
        assert_eq!(outcome, "conflict");
        assert!(message.contains("Article 20"), "{message}");
    }
    // A plain decision on an appeal, or an appeal's outcome on a plain item, is malformed.
    let wrong = s
        .decide(
            &w.bob,
            json!([
                decision("b0", &appeal_item, "keep"),
                decision("b00", "p3", "overturn")
            ]),
        )
        .await;
    assert!(wrong.iter().all(|(o, _)| o == "invalid"), "{wrong:?}");

    // Bob overturns; a replay is a duplicate; nobody decides it again.
    let overturn = json!([decision("b1", &appeal_item, "overturn")]);
    assert_eq!(s.decide(&w.bob, overturn.clone()).await[0].0, "applied");
    assert_eq!(s.decide(&w.bob, overturn).await[0].0, "duplicate");
    let again = s
        .decide(&w.intake, json!([decision("i1", &appeal_item, "uphold")]))
        .await;
    assert_eq!(again[0].0, "conflict", "{again:?}");

    // The content is back, the audit log says who and why, the statement is updated.
    let p1 = s.item("p1", &w.bob).await;
    assert_eq!(
        (p1.state, p1.restricted_in.clone()),
        (ReviewState::Kept, None)
    );
    let (_, audit) = s.client.get("/v1/audit?item=p1", &w.intake).await;
    let last = audit["entries"]
        .as_array()
        .expect("entries")
        .last()
        .cloned();
    let last = last.expect("a row");
    assert_eq!(last["action"], "reverse");
    assert_eq!(last["actor"], "bob");
    assert!(
        last["note"]
            .as_str()
            .is_some_and(|n| n.contains("overturned"))
    );
    let statement = s.statement(&w.intake, &puid).await;
    assert_eq!(statement["end_date_visibility_restriction"], "2026-03-01");
    // Still a statement the Transparency Database takes.
    let (_, export) = s.client.get("/v1/statements", &w.intake).await;
    let schema: Value =
        serde_json::from_str(include_str!("../docs/sor.schema.json")).expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let errors: Vec<String> = validator
        .iter_errors(&export)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(
        statement["decision_facts"]
            .as_str()
            .is_some_and(|f| f.contains("overturned the decision on 2026-03-01")),
        "{statement}"
    );
    let item = s.item(&appeal_item, &w.bob).await;
    let outcome = item.appeal.and_then(|a| a.outcome).expect("outcome");
    assert_eq!(outcome.verdict, AppealVerdict::Overturned);
    assert_eq!(outcome.decided_by, "bob");

    // An upheld appeal: the take down stands, and its statement says it was upheld.
    let puid2 = s.puid_of(&w.intake, "p2").await;
    let (status, second) = s.appeal(&w.intake, &puid2, "please").await;
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let second = second["item_id"].as_str().expect("id").to_string();
    assert_eq!(
        s.decide(&w.bob, json!([decision("b2", &second, "uphold")]))
            .await[0]
            .0,
        "applied"
    );
    assert_eq!(s.item("p2", &w.bob).await.state, ReviewState::TakenDown);
    let statement = s.statement(&w.intake, &puid2).await;
    assert!(statement.get("end_date_visibility_restriction").is_none());
    assert!(
        statement["decision_facts"]
            .as_str()
            .is_some_and(|f| f.contains("upheld the decision")),
        "{statement}"
    );
    s.end().await;
}

#[tokio::test]
async fn an_intake_cannot_abuse_appeals() {
    let w = world();
    let db = w.dir.path().join("modq.db");
    let s = serve(&db, start()).await;
    s.decide(
        &w.alice,
        json!([
            decision("a1", "p1", "take_down"),
            decision("a2", "p3", "keep")
        ]),
    )
    .await;
    let puid = s.puid_of(&w.intake, "p1").await;

    let huge = "x".repeat(4001);
    let (status, body) = s.appeal(&w.intake, &puid, &huge).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = s.appeal(&w.intake, &puid, " \n ").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    for unknown in ["modq-999", "modq-", "p1", "modq-99999999999999999999999"] {
        let (status, body) = s.appeal(&w.intake, unknown, "mine").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}: {body}");
        assert_api_error(&body, "not_found");
    }
    // A keep restricts nothing: the notice's side reports again instead.
    let (_, audit) = s.client.get("/v1/audit?item=p3", &w.intake).await;
    let keep = format!("modq-{}", audit["entries"][0]["id"]);
    let (status, body) = s.appeal(&w.intake, &keep, "mine").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // Nothing was queued by the refusals.
    let (_, page) = s.client.get("/v1/queue?lane=appeals", &w.bob).await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(0), "{page}");

    let (status, _) = s.appeal(&w.intake, &puid, "first").await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = s.appeal(&w.intake, &puid, "second").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| m.contains("once")),
        "{body}"
    );
    s.end().await;

    // Six months and a day later, a take down made then is past appeal.
    let s = serve(&db, start()).await;
    s.decide(&w.alice, json!([decision("a3", "p2", "take_down")]))
        .await;
    let puid2 = s.puid_of(&w.intake, "p2").await;
    s.end().await;
    let late =
        start().checked_add_months(Months::new(6)).expect("date") + chrono::TimeDelta::days(1);
    let s = serve(&db, late).await;
    let (status, body) = s.appeal(&w.intake, &puid2, "too late?").await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("6 months")),
        "{body}"
    );
    s.end().await;
}
