//! A server that takes fewer decisions per request than modq sends: an older modq took at
//! most 1,000, and a proxy in front of a server may cap the body. modq sends the batch in
//! halves instead, in order, and no decision is refused for the size of its batch.

mod common;

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};

use modq::backend::modq::ModqClient;
use modq::backend::{Backend, BackendError};
use modq::model::{
    Decision, DecisionAction, DecisionBatch, DecisionOutcome, DecisionResult, DecisionResults,
};
use modq::store::Store;
use modq::sync::{FlushReport, SyncEvent, Window, flush_all};

const MOST: usize = 3;

/// What the server does with one request, told the items it holds: `None` applies the batch;
/// `Some((status, error, message))` answers that instead.
type Answer = Box<dyn Fn(&[String]) -> Option<(StatusCode, &'static str, String)> + Send + Sync>;

/// Serves `POST /v1/decisions` as `answer` says; answers the API's address and the items of
/// each batch it applied, in order.
async fn decisions_server(answer: Answer) -> (String, Arc<Mutex<Vec<Vec<String>>>>) {
    let applied = Arc::new(Mutex::new(Vec::new()));
    let seen = applied.clone();
    let answer = Arc::new(answer);
    let route = post(move |Json(batch): Json<DecisionBatch>| {
        let (seen, answer) = (seen.clone(), answer.clone());
        async move {
            let items: Vec<String> = batch.decisions.iter().map(|d| d.item_id.clone()).collect();
            if let Some((status, error, message)) = answer(&items) {
                return (status, Json(json!({"error": error, "message": message})));
            }
            seen.lock().unwrap().push(items);
            let results = DecisionResults {
                results: batch
                    .decisions
                    .iter()
                    .map(|d| DecisionResult {
                        idempotency_key: d.idempotency_key.clone(),
                        outcome: DecisionOutcome::Applied,
                        message: None,
                    })
                    .collect(),
            };
            (StatusCode::OK, Json(serde_json::to_value(results).unwrap()))
        }
    });
    let app = axum::Router::new().route("/v1/decisions", route);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}"), applied)
}

/// Refuses batches over [`MOST`] decisions with `refusal`, as an older modq or a proxy does.
fn over_most(
    refusal: (StatusCode, &'static str),
    items: &[String],
) -> Option<(StatusCode, &'static str, String)> {
    let n = items.len();
    (n > MOST).then(|| {
        let message = format!("a batch holds at most {MOST} decisions; this one has {n}");
        (refusal.0, refusal.1, message)
    })
}

/// `n` take downs of `post-0`, `post-1`… with keys the test can name again.
fn take_downs(n: usize) -> Vec<Decision> {
    (0..n)
        .map(|i| Decision {
            idempotency_key: format!("key-{i}"),
            ..common::decision(&format!("post-{i}"), DecisionAction::TakeDown)
        })
        .collect()
}

async fn send_ten(refusal: (StatusCode, &'static str)) -> (Vec<DecisionResult>, Vec<usize>) {
    let (api, applied) = decisions_server(Box::new(move |items| over_most(refusal, items))).await;
    let client = ModqClient::new(&api, "modq_token").unwrap();
    let results = client.send_decisions(&take_downs(10)).await.unwrap();
    let sizes = applied.lock().unwrap().iter().map(Vec::len).collect();
    (results, sizes)
}

fn keys_in_order(results: &[DecisionResult]) -> Vec<String> {
    results.iter().map(|r| r.idempotency_key.clone()).collect()
}

#[tokio::test]
async fn a_batch_over_the_servers_count_goes_in_halves_and_in_order() {
    let (results, sizes) = send_ten((StatusCode::BAD_REQUEST, "bad_request")).await;
    let sent: Vec<String> = take_downs(10)
        .into_iter()
        .map(|d| d.idempotency_key)
        .collect();
    assert_eq!(keys_in_order(&results), sent);
    assert!(
        results
            .iter()
            .all(|r| r.outcome == DecisionOutcome::Applied)
    );
    assert!(sizes.iter().all(|&n| n <= MOST), "{sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), 10);
}

#[tokio::test]
async fn a_body_too_large_for_the_server_goes_in_halves_too() {
    let (results, sizes) = send_ten((StatusCode::PAYLOAD_TOO_LARGE, "too_large")).await;
    assert_eq!(results.len(), 10);
    assert_eq!(sizes.iter().sum::<usize>(), 10);
}

/// Any other refusal is the batch's own fault: it is not split and sent again.
#[tokio::test]
async fn another_refusal_is_not_split() {
    let requests = Arc::new(Mutex::new(0));
    let counted = requests.clone();
    let app = axum::Router::new().route(
        "/v1/decisions",
        post(move || async move {
            *counted.lock().unwrap() += 1;
            let body: Value = json!({"error": "bad_request", "message": "unknown field `actoin`"});
            (StatusCode::BAD_REQUEST, Json(body))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = ModqClient::new(&api, "modq_token").unwrap();
    match client.send_decisions(&take_downs(10)).await {
        Err(BackendError::Rejected {
            status: 400,
            message,
        }) => {
            assert!(message.contains("actoin"), "{message}")
        }
        other => panic!("expected the refusal, got {other:?}"),
    }
    assert_eq!(*requests.lock().unwrap(), 1);
}

/// Ten take downs journaled in a fresh outbox, as a moderator's session leaves them.
fn outbox_of_ten(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("outbox.sqlite");
    let mut store = Store::open(&path).unwrap();
    store
        .journal_bulk("session", "bulk", &take_downs(10))
        .unwrap();
    path
}

/// Ten take downs journaled, then sent to the API at `api` until it fails or all are sent;
/// answers the outbox (kept while the folder is) and what the flush reported.
async fn flush_ten(api: &str) -> (tempfile::TempDir, std::path::PathBuf, FlushReport) {
    let dir = tempfile::tempdir().unwrap();
    let outbox = outbox_of_ten(dir.path());
    let client = ModqClient::new(api, "modq_token").unwrap();
    let report = flush_all(&client, &outbox).await.unwrap();
    (dir, outbox, report)
}

fn failed_items(path: &std::path::Path) -> Vec<(String, String)> {
    Store::open(path)
        .unwrap()
        .failed()
        .unwrap()
        .into_iter()
        .map(|e| (e.decision.item_id, e.message.unwrap_or_default()))
        .collect()
}

/// The batch goes in parts of three; the part holding post-7 is refused for its own reason.
/// Only that part's decisions are refused, with the reason; the part after it is still sent.
#[tokio::test]
async fn a_part_refused_for_another_reason_fails_alone_and_the_rest_still_go() {
    let (api, applied) = decisions_server(Box::new(|items| {
        over_most((StatusCode::PAYLOAD_TOO_LARGE, "too_large"), items).or_else(|| {
            items.iter().any(|i| i == "post-7").then(|| {
                let message = "decision 2: the note is longer than 4,000 characters".to_string();
                (StatusCode::BAD_REQUEST, "bad_request", message)
            })
        })
    }))
    .await;
    let (_dir, outbox, report) = flush_ten(&api).await;
    assert!(report.error.is_none(), "{:?}", report.error);
    let applied: Vec<String> = applied.lock().unwrap().concat();
    let expected: Vec<String> = [0, 1, 2, 3, 4, 5, 9].map(|i| format!("post-{i}")).into();
    assert_eq!(applied, expected);
    assert_eq!(report.counts.sent, 7);
    assert_eq!(report.counts.unsent, 0);
    let failed = failed_items(&outbox);
    let items: Vec<&str> = failed.iter().map(|(i, _)| i.as_str()).collect();
    assert_eq!(items, ["post-6", "post-7", "post-8"]);
    for (item, message) in &failed {
        assert!(
            message.contains("longer than 4,000 characters"),
            "{item}: {message}"
        );
    }
}

/// The server fails (503) on the part holding post-7, once. The parts before it are kept as
/// sent, the rest go again at once, and every decision is applied exactly once.
#[tokio::test]
async fn a_part_lost_to_a_server_error_goes_again_and_nothing_is_applied_twice() {
    let failures = Arc::new(Mutex::new(0));
    let failed = failures.clone();
    let (api, applied) = decisions_server(Box::new(move |items| {
        over_most((StatusCode::BAD_REQUEST, "bad_request"), items).or_else(|| {
            let mut failed = failed.lock().unwrap();
            (*failed == 0 && items.iter().any(|i| i == "post-7")).then(|| {
                *failed += 1;
                let message = "the database is busy".to_string();
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
            })
        })
    }))
    .await;
    let (_dir, _outbox, report) = flush_ten(&api).await;
    assert_eq!(*failures.lock().unwrap(), 1, "the server failed once");
    assert!(report.error.is_none(), "{:?}", report.error);
    assert_eq!(report.counts.sent, 10);
    assert_eq!(report.counts.failed, 0);
    let applied: Vec<String> = applied.lock().unwrap().concat();
    let expected: Vec<String> = (0..10).map(|i| format!("post-{i}")).collect();
    assert_eq!(applied, expected, "each applied once, in order");
}

/// A bulk action bigger than one batch: the flusher claims the next batch while one is on
/// the wire. When a part of a batch is lost to a server error, the rest of that batch goes
/// again ahead of the batch claimed meanwhile, so every decision is applied once and in the
/// order it was made.
#[tokio::test]
async fn a_bulk_bigger_than_a_batch_keeps_its_order_when_a_part_fails() {
    const BULK: usize = modq::server::MAX_DECISIONS_PER_BATCH + 3;
    let failures = Arc::new(Mutex::new(0));
    let failed = failures.clone();
    let (api, applied) = decisions_server(Box::new(move |items| {
        let n = items.len();
        if n > 1000 {
            let message = format!("a batch holds at most 1000 decisions; this one has {n}");
            return Some((StatusCode::BAD_REQUEST, "bad_request", message));
        }
        let mut failed = failed.lock().unwrap();
        (*failed == 0 && items.iter().any(|i| i == "post-2500")).then(|| {
            *failed += 1;
            let message = "the database is busy".to_string();
            (StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
        })
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let outbox = dir.path().join("outbox.sqlite");
    Store::open(&outbox)
        .unwrap()
        .journal_bulk("session", "bulk", &take_downs(BULK))
        .unwrap();
    let client = ModqClient::new(&api, "modq_token").unwrap();
    let (events, mut heard) = tokio::sync::mpsc::unbounded_channel();
    let window = Window {
        query: modq::backend::QueueQuery::default(),
        lease_seconds_asked: None,
        held: Vec::new(),
        lease_seconds: 300,
    };
    let sync = modq::sync::spawn(Arc::new(client), &outbox, window, events).unwrap();
    sync.flush();
    let mut settled = 0;
    while settled < BULK {
        let event = tokio::time::timeout(std::time::Duration::from_secs(60), heard.recv())
            .await
            .expect("the bulk is delivered within a minute")
            .expect("the flusher runs");
        if let SyncEvent::Delivered { results } = event {
            assert!(
                results
                    .iter()
                    .all(|r| r.outcome == DecisionOutcome::Applied)
            );
            settled += results.len();
        }
    }
    let counts = sync
        .shutdown(std::time::Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!((counts.sent, counts.unsent, counts.failed), (BULK, 0, 0));
    assert_eq!(*failures.lock().unwrap(), 1, "the server failed once");
    let applied: Vec<String> = applied.lock().unwrap().concat();
    let expected: Vec<String> = (0..BULK).map(|i| format!("post-{i}")).collect();
    assert!(applied == expected, "each applied once, in order");
}
