//! A server that takes fewer decisions per request than modq sends: an older modq took at
//! most 1,000, and a proxy in front of a server may cap the body. modq sends the batch in
//! halves instead, in order, and no decision is refused for the size of its batch.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::http::StatusCode;
use axum::routing::post;
use chrono::Utc;
use serde_json::{Value, json};

use modq::backend::modq::ModqClient;
use modq::backend::{Backend, BackendError};
use modq::model::{
    Decision, DecisionAction, DecisionBatch, DecisionOutcome, DecisionResult, DecisionResults,
};

const MOST: usize = 3;

/// Serves `POST /v1/decisions`, answering batches over [`MOST`] with `refusal`; answers the
/// API's address and the sizes of the batches it applied.
async fn small_batch_server(
    refusal: (StatusCode, &'static str),
) -> (String, Arc<Mutex<Vec<usize>>>) {
    let applied = Arc::new(Mutex::new(Vec::new()));
    let seen = applied.clone();
    let route = post(move |Json(batch): Json<DecisionBatch>| {
        let seen = seen.clone();
        async move {
            let n = batch.decisions.len();
            if n > MOST {
                let (status, error) = refusal;
                let message = format!("a batch holds at most {MOST} decisions; this one has {n}");
                let body = json!({"error": error, "message": message});
                return (status, Json(body));
            }
            seen.lock().unwrap().push(n);
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

fn take_downs(n: usize) -> Vec<Decision> {
    (0..n)
        .map(|i| Decision {
            idempotency_key: format!("key-{i}"),
            item_id: format!("post-{i}"),
            action: DecisionAction::TakeDown,
            reason_code: None,
            note: None,
            scope: None,
            escalation_target: None,
            reverses: None,
            decided_at: Utc::now(),
        })
        .collect()
}

async fn send_ten(refusal: (StatusCode, &'static str)) -> (Vec<DecisionResult>, Vec<usize>) {
    let (api, applied) = small_batch_server(refusal).await;
    let client = ModqClient::new(&api, "modq_token").unwrap();
    let results = client.send_decisions(&take_downs(10)).await.unwrap();
    let sizes = applied.lock().unwrap().clone();
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
