//! The thread around an item, as a moderator reads it through modq's own event loop against
//! the reference server holding the sample queue: `p` opens what the reply answers, the
//! messages before and after it and the item itself marked among them, hostile text made
//! visible, from what is in memory. And the server keeps threads within their bounds.

mod common;

use common::{Session, TestServer};
use serde_json::json;

#[tokio::test]
async fn p_shows_the_thread_around_a_reply_with_the_item_marked_and_hostile_text_visible() {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = Session::open(&server, data.path()).await;
    s.load_whole_queue().await;
    let i = s
        .app
        .entries
        .iter()
        .position(|e| e.id == "post-137712")
        .expect("the reply is in the queue");
    s.select(i);
    assert!(
        s.app.entries[i].shown.thread.is_some(),
        "the page carried its thread"
    );

    s.press("p");
    // Every size down to 1x1 draws it, no panic.
    s.draw_at_every_size();
    let screen = s.screen(160, 45);
    // Parent first, then the messages before, the item marked, then those after: each found
    // after the one before it, from the overlay's title on.
    let mut from = 0;
    for needle in [
        "thread around post-137712",
        "replies to",
        "Screenshots saved in case it gets deleted.",
        "before it",
        "@host_of_thread",
        "▶ @lea.travel (u-58425)",
        "Bu [grup] ülkemizde istemiyoruz",
        "after it",
        "Yes, I will ask about the bus lanes.",
    ] {
        let found = screen
            .get(from..)
            .and_then(|rest| rest.find(needle))
            .unwrap_or_else(|| panic!("{needle:?} not on screen after the one before:\n{screen}"));
        from += found + needle.len();
    }
    // The hostile neighbour: bidi override, zero-width space and ESC are shown, not obeyed.
    assert!(screen.contains("@⟪RLO⟫txet_desrever"), "{screen}");
    assert!(
        screen.contains("hidden ⟪ZWSP⟫ marks and an ␛[31mescape␛[0m"),
        "{screen}"
    );
    assert!(
        !screen.contains('\u{1b}') && !screen.contains('\u{202e}') && !screen.contains('\u{200b}')
    );

    // esc closes it; an item without a thread says so instead.
    s.press("<esc>");
    assert!(s.app.layers.is_empty());
    let plain = s
        .app
        .entries
        .iter()
        .position(|e| e.shown.thread.is_none())
        .expect("an item without a thread");
    s.select(plain);
    s.press("p");
    assert!(s.app.layers.is_empty());
    let flash = s.flash_text();
    assert!(flash.starts_with("No thread for"), "{flash}");
    s.quit().await;
}

#[tokio::test]
async fn the_server_refuses_a_thread_past_its_bounds() {
    let server = TestServer::with_sample().await;
    let message = |k: usize, text: String| json!({"id": format!("m{k}"), "text": text});
    let post = |thread: serde_json::Value| {
        let api = server.api.clone();
        let token = server.token.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{api}/v1/reports"))
                .bearer_auth(token)
                .json(&json!({
                    "subject": {"id": "fresh-1", "kind": "post", "text": "hi", "thread": thread},
                    "category": "spam"
                }))
                .send()
                .await
                .expect("POST")
                .status()
        }
    };
    let six: Vec<_> = (0..6).map(|k| message(k, "hi".into())).collect();
    assert_eq!(
        post(json!({"before": six})).await,
        reqwest::StatusCode::BAD_REQUEST
    );
    let long = json!({"parent": message(0, "x".repeat(4001))});
    assert_eq!(post(long).await, reqwest::StatusCode::BAD_REQUEST);
    let unknown = json!({"parent": {"id": "m", "colour": "red"}});
    assert_eq!(post(unknown).await, reqwest::StatusCode::BAD_REQUEST);
    let fine = json!({"parent": message(0, "a question".into())});
    assert_eq!(post(fine).await, reqwest::StatusCode::CREATED);
}
