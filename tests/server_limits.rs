//! One request must not hurt everyone: a flood of large reports, a report full of links,
//! fields over their caps, and idle or half-sent connections, against the real server on
//! 127.0.0.1.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "common/json_api.rs"]
mod json_api;

use std::collections::HashSet;
use std::time::Duration;

use json_api::{Server, assert_api_error};
use modq::backend::modq::{Limits, ModqClient};
use modq::model::{ClaimRequest, Role};
use modq::server::{self, ServerOptions, SqliteStorage, Storage};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn big_report(i: usize, text_chars: usize) -> Value {
    json!({
        "subject": {"id": format!("flood-{i:04}"), "kind": "post",
                    "text": format!("{i} {}", "x".repeat(text_chars))},
        "reporter_type": "user",
        "category": "spam",
        "comment": "c".repeat(3000),
    })
}

#[tokio::test]
async fn a_flood_of_large_reports_pages_within_the_budget_and_the_client_keeps_going() {
    let s = Server::start().await;
    let token = s.token("alice", Role::Moderator);
    // 410 reports of ~47 KB: 19 MB as one page of 500, over a client's 16 MiB.
    let reports: Vec<Value> = (0..410).map(|i| big_report(i, 44_000)).collect();
    s.import(&reports);

    // Every page within the 4 MiB budget; walking the cursor reaches each item once.
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let response = s
            .http
            .get(format!("{}/v1/queue", s.base))
            .query(&[("limit", "500"), ("cursor", cursor.as_str())])
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = response.bytes().await.unwrap();
        assert!(
            bytes.len() <= server::DEFAULT_PAGE_BYTES + 64 * 1024,
            "{}",
            bytes.len()
        );
        let page: Value = serde_json::from_slice(&bytes).unwrap();
        let items = page["items"].as_array().unwrap();
        assert!(!items.is_empty() && items.len() < 410);
        seen.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 410, "no item repeated or skipped");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 410);

    // The real client, with a cap below one full page, claims without failing, and only
    // what it was given is leased.
    let limits = Limits {
        max_response_bytes: 2 * 1024 * 1024,
        ..Limits::default()
    };
    let client = ModqClient::with_limits(&s.base, &token, limits).unwrap();
    let page = client
        .claim_page(&ClaimRequest {
            limit: Some(500),
            ..ClaimRequest::default()
        })
        .await
        .expect("a claim within the client's cap");
    assert!(!page.items.is_empty() && page.items.len() < 100);
    assert!(page.next_cursor.is_some());
    let leased: i64 = s
        .sql()
        .query_row(
            "SELECT COUNT(*) FROM leases WHERE holder = 'alice'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(leased as usize, page.items.len());
}

#[tokio::test]
async fn fields_over_their_caps_are_refused_naming_the_field_and_the_cap() {
    let s = Server::start().await;
    let token = s.token("intake", Role::Admin);
    let mut long_text = big_report(1, 10);
    long_text["subject"]["text"] = json!("y".repeat(65_537));
    let mut long_comment = big_report(2, 10);
    long_comment["comment"] = json!("y".repeat(4001));
    for (body, field, cap) in [
        (long_text, "subject.text", "65536"),
        (long_comment, "comment", "4000"),
    ] {
        let (status, answer) = s.post("/v1/reports", &token, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert_api_error(&answer, "bad_request");
        let message = answer["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("{field}: ")), "{message}");
        assert!(message.contains(cap), "{message}");
    }
    s.import(&[big_report(3, 10)]);
    let (status, answer) = s
        .post(
            "/v1/items/flood-0003/notes",
            &token,
            &json!({"note": "n".repeat(2001)}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let (status, answer) = s
        .post("/v1/items/flood-0003/notes", &token, &json!({"note": " "}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("blank"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_report_full_of_links_keeps_a_bounded_number_and_similar_still_answers() {
    let s = Server::start().await;
    let token = s.token("intake", Role::Admin);
    // As many distinct links as the text cap holds.
    let text: String = (0..7000).map(|i| format!("s{i}.example ")).collect();
    let text: String = text.chars().take(65_536).collect();
    let report = json!({"subject": {"id": "links", "kind": "post", "text": text},
                        "category": "spam"});
    let (status, answer) = s.post("/v1/reports", &token, &report).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let (note, _) = s
        .post("/v1/items/links/notes", &token, &json!({"note": "seen"}))
        .await;
    assert_eq!(note, StatusCode::CREATED);
    let stored: String = s
        .sql()
        .query_row("SELECT links FROM items WHERE id = 'links'", [], |r| {
            r.get(0)
        })
        .unwrap();
    let stored: Vec<String> = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored.len(), modq::query::MAX_LINKS_PER_ITEM);
    let (status, page) = s.get("/v1/queue?q=similar:links", &token).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"][0]["id"], "links");
}

/// A server on 127.0.0.1 with these options; its address, and an admin token for it.
async fn serve_with(options: ServerOptions) -> (String, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStorage::open(&dir.path().join("modq.db")).unwrap();
    let token = server::add_token(&sqlite, "ops", Role::Admin).unwrap();
    let storage: std::sync::Arc<dyn Storage> = std::sync::Arc::new(sqlite);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(server::serve_with(
        listener,
        storage,
        options,
        std::future::pending(),
    ));
    (addr, token, dir)
}

async fn health(addr: &str) -> Option<StatusCode> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    client
        .get(format!("http://{addr}/v1/health"))
        .send()
        .await
        .ok()
        .map(|r| r.status())
}

/// Whether the server has closed this connection (it reads end of file).
async fn closed(stream: &mut tokio::net::TcpStream) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test]
async fn idle_and_half_sent_connections_are_closed_and_health_still_answers() {
    let options = ServerOptions {
        connections: server::ConnectionLimits {
            max_connections: 300,
            header_timeout: Duration::from_secs(1),
            idle_timeout: Duration::from_secs(2),
            body_timeout: Duration::from_secs(1),
        },
        ..ServerOptions::default()
    };
    let (addr, token, _dir) = serve_with(options).await;
    let mut idle = Vec::new();
    for i in 0..200 {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        if i % 2 == 0 {
            // Half a request head, never finished.
            stream
                .write_all(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n")
                .await
                .unwrap();
        }
        idle.push(stream);
    }
    // 200 of the 300 places are taken, and health answers beside them.
    assert_eq!(health(&addr).await, Some(StatusCode::OK));
    // Every idle and half-sent connection is closed by the server.
    for stream in &mut idle {
        assert!(closed(stream).await, "the server left a connection open");
    }
    // A body that never arrives is answered 408, in JSON, and the connection closed.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v1/reports HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), slow.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"body_timeout\""), "{answer}");
    assert!(closed(&mut slow).await);
    assert_eq!(health(&addr).await, Some(StatusCode::OK));
}

#[tokio::test]
async fn past_the_connection_cap_a_connection_is_told_so_in_json_and_closed() {
    let options = ServerOptions {
        connections: server::ConnectionLimits {
            max_connections: 20,
            header_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(60),
        },
        ..ServerOptions::default()
    };
    let (addr, _token, _dir) = serve_with(options).await;
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(tokio::net::TcpStream::connect(&addr).await.unwrap());
    }
    // Give the server time to accept them all: a refusal then comes back at once.
    let mut answer = String::new();
    for _ in 0..100 {
        let mut extra = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let mut text = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(2), extra.read_to_end(&mut text)).await;
        answer = String::from_utf8_lossy(&text).into_owned();
        if answer.starts_with("HTTP/1.1 503") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer:?}");
    let body = answer.split("\r\n\r\n").nth(1).unwrap();
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["error"], "too_many_connections");
    drop(held);
    // Places free up as connections close.
    let mut ok = None;
    for _ in 0..100 {
        ok = health(&addr).await;
        if ok == Some(StatusCode::OK) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ok, Some(StatusCode::OK));
}

#[tokio::test]
async fn against_a_server_without_a_budget_the_client_asks_for_fewer_items_instead_of_failing() {
    use axum::routing::post;
    use std::sync::{Arc, Mutex};
    // A server that ignores max_bytes: every item is 300 KB, and it gives `limit` of them.
    let asked: Arc<Mutex<Vec<u64>>> = Arc::default();
    let seen = Arc::clone(&asked);
    let app = axum::Router::new().route(
        "/v1/queue/claim",
        post(move |axum::Json(body): axum::Json<Value>| {
            let seen = Arc::clone(&seen);
            async move {
                let limit = body["limit"].as_u64().unwrap_or(50);
                seen.lock().unwrap().push(limit);
                let items: Vec<Value> = (0..limit)
                    .map(|i| {
                        json!({"id": format!("big-{i}"), "kind": "post",
                               "text": "z".repeat(300_000), "reports": [], "priority": 1,
                               "lane": "standard", "state": "open",
                               "created_at": "2026-11-23T12:00:00Z"})
                    })
                    .collect();
                axum::Json(json!({"items": items, "next_cursor": "00",
                                  "lease_expires_at": "2026-11-23T12:05:00Z",
                                  "lease_seconds": 300}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let limits = Limits {
        max_response_bytes: 1024 * 1024,
        ..Limits::default()
    };
    let client = ModqClient::with_limits(&base, "t", limits).unwrap();
    let page = client
        .claim_page(&ClaimRequest {
            limit: Some(50),
            ..ClaimRequest::default()
        })
        .await
        .expect("a smaller page, not a failure");
    assert!(
        !page.items.is_empty() && page.items.len() <= 3,
        "{}",
        page.items.len()
    );
    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked.first(), Some(&50));
    assert!(asked.windows(2).all(|w| w[1] < w[0]), "{asked:?}");
}

#[tokio::test]
async fn long_targets_large_headers_and_other_media_types_are_answered_in_json() {
    let s = Server::start().await;
    let token = s.token("alice", Role::Moderator);
    // Raw, as a client that sends anything would: reqwest itself refuses such a URL.
    let addr = s.base.trim_start_matches("http://").to_owned();
    let mut raw = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = format!(
        "GET /v1/queue?q={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "a".repeat(40 * 1024)
    );
    raw.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    raw.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 414"), "{answer}");
    let body: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_api_error(&body, "uri_too_long");

    let response = s
        .http
        .get(format!("{}/v1/me", s.base))
        .bearer_auth(&token)
        .header("x-padding", "p".repeat(40 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    );
    let body: Value = response.json().await.unwrap();
    assert_api_error(&body, "headers_too_large");

    let response = s
        .http
        .post(format!("{}/v1/queue/claim", s.base))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = response.json().await.unwrap();
    assert_api_error(&body, "unsupported_media_type");

    let response = s
        .http
        .post(format!("{}/v1/reports", s.base))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(vec![b' '; 3 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_api_error(&body, "payload_too_large");
}

#[tokio::test]
async fn pages_cut_by_bytes_neither_skip_nor_repeat_in_any_order() {
    let s = Server::start().await;
    let token = s.token("alice", Role::Moderator);
    // 60 items of uneven size, some with several reports, some with deadlines.
    let mut reports = Vec::new();
    for i in 0..60usize {
        let mut r = big_report(i, (i * 397) % 3000);
        r["comment"] = json!("c");
        if i % 7 == 0 {
            r["lane"] = json!("urgent");
        }
        if i % 5 == 0 {
            r["deadline"] = json!(format!("2026-11-{:02}T12:00:00Z", 24 + i % 5));
            r["reporter_type"] = json!("authority");
        }
        for _ in 0..(i % 3) {
            reports.push(r.clone());
        }
        reports.push(r);
    }
    let admin = s.token("intake", Role::Admin);
    for r in &reports {
        let (status, body) = s.post("/v1/reports", &admin, r).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    for sort in ["priority", "age", "reports", "deadline"] {
        let walk = |max_bytes: Option<&'static str>| {
            let s = &s;
            let token = &token;
            async move {
                let mut ids = Vec::new();
                let mut cursor = String::new();
                loop {
                    let mut query = vec![("limit", "500"), ("sort", sort), ("cursor", &cursor)];
                    if let Some(m) = max_bytes {
                        query.push(("max_bytes", m));
                    }
                    let response = s
                        .http
                        .get(format!("{}/v1/queue", s.base))
                        .query(&query)
                        .bearer_auth(token)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), StatusCode::OK);
                    let page: Value = response.json().await.unwrap();
                    let items = page["items"].as_array().unwrap();
                    ids.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_owned()));
                    match page["next_cursor"].as_str() {
                        Some(next) => cursor = next.to_owned(),
                        None => return ids,
                    }
                }
            }
        };
        let whole = walk(None).await;
        assert_eq!(whole.len(), 60, "{sort}");
        for budget in ["1024", "6000", "20000"] {
            assert_eq!(
                walk(Some(budget)).await,
                whole,
                "sort={sort} max_bytes={budget}"
            );
        }
    }
}
