//! What the reference server refuses, and to whom: the audit log is for admins, reports for
//! others need an admin, escalated items need a senior, bodies are capped, each token has a
//! rate, and the actor of a decision is always the token's holder, whatever the body says.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;

use modq::model::Role;
use modq::server::{self, ServerOptions, SqliteStorage, Storage};

/// The reference server on 127.0.0.1, with a token for each role.
struct Server {
    base: String,
    http: reqwest::Client,
    storage: Arc<SqliteStorage>,
    moderator: String,
    senior: String,
    admin: String,
    _dir: TempDir,
    _stop: oneshot::Sender<()>,
}

impl Server {
    async fn start() -> Server {
        Server::with_options(ServerOptions::default()).await
    }

    async fn with_options(options: ServerOptions) -> Server {
        let dir = TempDir::new().expect("temp dir");
        let storage = Arc::new(SqliteStorage::open(&dir.path().join("s.db")).expect("db"));
        let token = |name: &str, role| server::add_token(&*storage, name, role).expect("token");
        let (moderator, senior, admin) = (
            token("mod-alice", Role::Moderator),
            token("senior-sam", Role::Senior),
            token("admin-ada", Role::Admin),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = oneshot::channel::<()>();
        let shared: Arc<dyn Storage> = storage.clone();
        tokio::spawn(server::serve_with(listener, shared, options, async {
            let _ = stopped.await;
        }));
        Server {
            base,
            http: reqwest::Client::new(),
            storage,
            moderator,
            senior,
            admin,
            _dir: dir,
            _stop: stop,
        }
    }

    fn import(&self, reports: &[Value]) {
        let lines: String = reports.iter().map(|r| format!("{r}\n")).collect();
        server::import_jsonl(&*self.storage, lines.as_bytes()).expect("import");
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("HTTP {status}: not JSON ({e}): {text:?}"));
        (status, body)
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.base);
        self.send(self.http.get(url).bearer_auth(token)).await
    }

    async fn post(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.base);
        self.send(self.http.post(url).bearer_auth(token).json(body))
            .await
    }

    /// One decision; answers its outcome.
    async fn decide(&self, token: &str, decision: Value) -> String {
        let (status, body) = self
            .post("/v1/decisions", token, &json!({ "decisions": [decision] }))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["results"][0]["outcome"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

fn report(id: &str) -> Value {
    json!({
        "subject": {"id": id, "kind": "post", "text": format!("text of {id}")},
        "reporter_type": "user",
        "category": "spam",
    })
}

fn decision(item: &str, action: &str) -> Value {
    json!({
        "idempotency_key": modq::store::new_key(),
        "item_id": item,
        "action": action,
        "decided_at": "2026-11-23T12:00:00Z",
    })
}

fn assert_refused(status: StatusCode, body: &Value, expected: StatusCode, error: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn only_an_admin_reads_the_audit_log() {
    let s = Server::start().await;
    s.import(&[report("a"), report("b"), report("c")]);
    for id in ["a", "b", "c"] {
        assert_eq!(
            s.decide(&s.moderator, decision(id, "keep")).await,
            "applied"
        );
    }
    for token in [&s.moderator, &s.senior] {
        let (status, body) = s.get("/v1/audit", token).await;
        assert_refused(status, &body, StatusCode::FORBIDDEN, "forbidden");
        assert!(
            body["message"]
                .as_str()
                .unwrap_or_default()
                .contains("admin"),
            "{body}"
        );
    }
    let (status, body) = s.get("/v1/audit", "not-a-token").await;
    assert_refused(status, &body, StatusCode::UNAUTHORIZED, "unauthorized");

    let (status, body) = s.get("/v1/audit", &s.admin).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let items: Vec<&str> = body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["item_id"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(items, ["a", "b", "c"]);
    assert_eq!(body["entries"][0]["actor"], "mod-alice");
    assert_eq!(body["entries"][0]["to_state"], "kept");

    // Paged with since, filtered by item.
    let (_, first) = s.get("/v1/audit?limit=2", &s.admin).await;
    assert_eq!(first["entries"].as_array().map(Vec::len), Some(2));
    let since = first["next_since"]
        .as_i64()
        .expect("a full page says where to go on");
    let (_, rest) = s.get(&format!("/v1/audit?since={since}"), &s.admin).await;
    assert_eq!(rest["entries"][0]["item_id"], "c");
    assert!(rest["next_since"].is_null(), "{rest}");
    let (_, only_b) = s.get("/v1/audit?item=b", &s.admin).await;
    assert_eq!(only_b["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(only_b["entries"][0]["item_id"], "b");
}

#[tokio::test]
async fn a_decision_is_recorded_under_the_tokens_name_whatever_the_body_claims() {
    let s = Server::start().await;
    s.import(&[report("forged")]);
    let mut forged = decision("forged", "take_down");
    forged["actor"] = json!("admin-ada");
    forged["role"] = json!("admin");
    forged["name"] = json!("admin-ada");
    // Fields the API does not have are refused whole, naming them, and nothing is recorded.
    let (status, body) = s
        .post(
            "/v1/decisions",
            &s.moderator,
            &json!({ "decisions": [forged] }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("actor"),
        "{body}"
    );
    let (_, audit) = s.get("/v1/audit?item=forged", &s.admin).await;
    assert_eq!(
        audit["entries"].as_array().map(Vec::len),
        Some(0),
        "{audit}"
    );
    assert_eq!(
        s.decide(&s.moderator, decision("forged", "take_down"))
            .await,
        "applied"
    );
    let (_, audit) = s.get("/v1/audit?item=forged", &s.admin).await;
    assert_eq!(audit["entries"][0]["actor"], "mod-alice", "{audit}");
    assert_eq!(audit["entries"][0]["role"], "moderator", "{audit}");
    let (_, item) = s.get("/v1/items/forged", &s.moderator).await;
    let history = item["history"].as_array().expect("history");
    assert!(
        history.iter().all(|h| h["actor"] != "admin-ada"),
        "{history:?}"
    );
}

#[tokio::test]
async fn only_an_admin_files_reports_for_others() {
    let s = Server::start().await;
    let as_reporter = |reporter: &str| {
        let mut r = report("r");
        r["reporter_type"] = json!(reporter);
        r
    };
    for reporter in ["trusted_flagger", "authority", "automated"] {
        let (status, body) = s
            .post("/v1/reports", &s.moderator, &as_reporter(reporter))
            .await;
        assert_refused(status, &body, StatusCode::FORBIDDEN, "forbidden");
        let (status, body) = s
            .post("/v1/reports", &s.senior, &as_reporter(reporter))
            .await;
        assert_refused(status, &body, StatusCode::FORBIDDEN, "forbidden");
    }
    for (field, value) in [
        ("lane", json!("urgent")),
        ("deadline", json!("2026-11-23T13:00:00Z")),
        ("received_at", json!("2020-01-01T00:00:00Z")),
    ] {
        let mut r = report("r");
        r[field] = value;
        let (status, body) = s.post("/v1/reports", &s.moderator, &r).await;
        assert_refused(status, &body, StatusCode::FORBIDDEN, "forbidden");
    }
    // Nothing refused was stored.
    let (_, item) = s.get("/v1/items/r", &s.moderator).await;
    assert_eq!(item["error"], "not_found", "{item}");

    let (status, body) = s.post("/v1/reports", &s.moderator, &report("r")).await;
    assert_eq!(status, StatusCode::CREATED, "a user report: {body}");
    let (status, body) = s
        .post("/v1/reports", &s.admin, &as_reporter("authority"))
        .await;
    assert_eq!(status, StatusCode::CREATED, "an admin's intake: {body}");
}

#[tokio::test]
async fn escalated_items_are_decided_by_a_senior_not_a_moderator() {
    let s = Server::start().await;
    s.import(&[report("hard")]);
    assert_eq!(
        s.decide(&s.moderator, decision("hard", "escalate")).await,
        "applied"
    );
    assert_ne!(
        s.decide(&s.moderator, decision("hard", "take_down")).await,
        "applied"
    );
    let (status, body) = s
        .post(
            "/v1/queue/claim",
            &s.moderator,
            &json!({"state": "escalated"}),
        )
        .await;
    assert_refused(status, &body, StatusCode::BAD_REQUEST, "bad_request");
    assert_eq!(
        s.decide(&s.senior, decision("hard", "take_down")).await,
        "applied"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413_as_json() {
    let s = Server::start().await;
    let note = "x".repeat(server::BODY_LIMIT + 1);
    let mut d = decision("any", "keep");
    d["note"] = json!(note);
    let (status, body) = s
        .post("/v1/decisions", &s.moderator, &json!({ "decisions": [d] }))
        .await;
    assert_refused(
        status,
        &body,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
}

#[tokio::test]
async fn a_token_over_its_rate_gets_429_with_retry_after_and_others_go_on() {
    let s = Server::with_options(ServerOptions {
        rate_per_second: 1,
        ..ServerOptions::default()
    })
    .await;
    let mut limited = None;
    // A bucket holds two seconds' worth: the third request in a row is over.
    for _ in 0..10 {
        let response = s
            .http
            .get(format!("{}/v1/me", s.base))
            .bearer_auth(&s.moderator)
            .send()
            .await
            .expect("GET");
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(response);
            break;
        }
    }
    let response = limited.expect("ten requests at once exceed one per second");
    let retry_after: u64 = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a Retry-After in seconds");
    assert!(retry_after >= 1);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"], "rate_limited", "{body}");
    // Another token has its own bucket.
    let (status, body) = s.get("/v1/me", &s.senior).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Requests without a known token are refused before they count against anyone.
    let (status, _) = s.get("/v1/me", "unknown").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
