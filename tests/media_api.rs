//! Media over HTTP, as someone holding a valid token would try it: bytes too large, of the
//! wrong type, too many, from a token that is not an intake, with an id of their choosing;
//! each gets a clear 4xx and nothing is stored. Bytes kept come back only for the item that
//! lists them, with their sniffed type, and never where viewing harms (CSAM), for anyone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "common/json_api.rs"]
mod json_api;

use base64::Engine;
use json_api::{Server, assert_api_error};
use modq::backend::Backend;
use modq::backend::modq::ModqClient;
use modq::model::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn png(side: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(side, side, |x, y| image::Rgb([x as u8, y as u8, 200]));
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    bytes
}

fn report(id: &str, category: &str, media: Value) -> Value {
    json!({
        "subject": {"id": id, "kind": "post", "text": "see the picture", "media": media},
        "reporter_type": "automated", "category": category,
    })
}

/// GET of raw bytes: status, content type, cache control, body.
async fn fetch(s: &Server, path: &str, token: &str) -> (StatusCode, String, String, Vec<u8>) {
    let response = s
        .client
        .http
        .get(format!("{}{path}", s.client.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    let (status, kind, cache) = (
        response.status(),
        header("content-type"),
        header("cache-control"),
    );
    (
        status,
        kind,
        cache,
        response.bytes().await.unwrap().to_vec(),
    )
}

async fn missing(s: &Server, id: &str, token: &str) {
    let (status, body) = s.client.get(&format!("/v1/items/{id}"), token).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{id} was stored: {body}");
}

#[tokio::test]
async fn an_intake_hands_over_an_image_and_a_moderator_reads_it_back_for_that_item_only() {
    let s = Server::start().await;
    let intake = s.token("intake", Role::Admin);
    let moderator = s.token("alice", Role::Moderator);
    let photo = png(24);
    let (status, body) = s
        .post(
            "/v1/reports",
            &intake,
            &report(
                "p-photo",
                "spam",
                json!([{"kind": "image", "data": b64(&photo)}]),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let item = s.item("p-photo", &moderator).await;
    let media = &item.media[0];
    assert_eq!(media.content_type.as_deref(), Some("image/png"));
    assert!(media.data.is_none());
    let id = media.id.clone().unwrap();

    let (status, kind, cache, bytes) =
        fetch(&s, &format!("/v1/items/p-photo/media/{id}"), &moderator).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind, "image/png");
    assert_eq!(cache, "no-store");
    assert_eq!(bytes, photo);
    // The client reads it the same way, within its size limit.
    let client = ModqClient::new(&s.client.base, &moderator).unwrap();
    assert_eq!(client.media("p-photo", &id, 1 << 20).await.unwrap(), photo);
    let small = client.media("p-photo", &id, 100).await.unwrap_err();
    assert!(
        small.to_string().contains("larger than 100 bytes"),
        "{small}"
    );

    // Through another item, or with an id the item does not list: not found.
    s.import(&[report("p-other", "spam", json!([{"kind": "image"}]))]);
    let (status, ..) = fetch(&s, &format!("/v1/items/p-other/media/{id}"), &moderator).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, ..) = fetch(&s, "/v1/items/p-photo/media/abc", &moderator).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Without a token: nothing.
    let (status, ..) = fetch(&s, &format!("/v1/items/p-photo/media/{id}"), "nope").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn media_where_viewing_harms_is_never_served_to_anyone() {
    let s = Server::start().await;
    let admin = s.token("intake", Role::Admin);
    let child_safety = s.token("cs-team", Role::ChildSafety);
    s.import(&[
        report(
            "p-matched",
            "spam",
            json!([{"kind": "image", "hash_match": "csam-hashlist", "data": b64(&png(8))}]),
        ),
        report(
            "p-reported",
            "child_safety",
            json!([{"kind": "image", "data": b64(&png(9))}]),
        ),
    ]);
    for (item, token) in [
        ("p-matched", &admin),
        ("p-matched", &child_safety),
        ("p-reported", &admin),
    ] {
        let listed = s.item(item, token).await;
        let id = listed.media[0].id.clone().expect("kept, as evidence");
        let (status, _, _, body) = fetch(&s, &format!("/v1/items/{item}/media/{id}"), token).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_api_error(&body, "media_not_viewable");
        assert!(
            body["message"].as_str().unwrap().contains("never served"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_token_that_means_harm_gets_a_clear_refusal_and_nothing_is_stored() {
    let s = Server::start().await;
    let intake = s.token("intake", Role::Admin);
    let moderator = s.token("mallory", Role::Moderator);
    let mut too_big = png(8);
    too_big.resize(modq::server::MAX_MEDIA_BYTES + 1, 0);
    let image = |data: &[u8]| json!([{"kind": "image", "data": b64(data)}]);
    let cases: Vec<(&str, &String, Value, StatusCode, &str)> = vec![
        (
            "r-big",
            &intake,
            image(&too_big),
            StatusCode::PAYLOAD_TOO_LARGE,
            "media_too_large",
        ),
        (
            "r-svg",
            &intake,
            image(b"<svg xmlns='http://www.w3.org/2000/svg'><script/></svg>"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "r-html",
            &intake,
            image(b"<html>\x1b]52;c;cHduZWQ=\x07</html>"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            "r-b64",
            &intake,
            json!([{"kind": "image", "data": "not base64 at all!"}]),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "r-forged",
            &intake,
            json!([{"kind": "image", "id": "0".repeat(64), "content_type": "image/png"}]),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "r-reporter",
            &moderator,
            image(&png(8)),
            StatusCode::FORBIDDEN,
            "forbidden",
        ),
        (
            "r-many",
            &intake,
            Value::Array((0..33).map(|_| json!({"kind": "image"})).collect()),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
    ];
    for (id, token, media, status, error) in cases {
        let mut body = report(id, "spam", media);
        if token == &moderator {
            body["reporter_type"] = json!("user");
        }
        let (got, answer) = s.post("/v1/reports", token, &body).await;
        assert_eq!(got, status, "{id}: {answer}");
        assert_api_error(&answer, error);
        missing(&s, id, &intake).await;
    }
    // Far past the body cap: refused before it is read whole.
    let huge = report("r-huge", "spam", image(&vec![0x89; 3 << 20]));
    let (got, _) = s.post("/v1/reports", &intake, &huge).await;
    assert_eq!(got, StatusCode::PAYLOAD_TOO_LARGE);
    missing(&s, "r-huge", &intake).await;
    // No bytes were kept for any of them.
    let blobs: i64 = s
        .sql()
        .query_row("SELECT count(*) FROM media_blobs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(blobs, 0);
}
