//! Support resources (issue 19, point 7), as a moderator's sessions against the reference
//! server over HTTP through modq's own event loop: `H` on a self-harm item sends each of its
//! reporters the helplines for their country (the fallback where the catalog has none), once,
//! through a crash and a retry; the item stays to be decided; other items are not offered it.

mod common;

use serde_json::Value;

use common::{Session, TestServer};
use modq::model::{DecisionAction, ReviewState, Role};
use modq::server::{self, SqliteStorage};
use modq::support::{SupportCatalog, UserMessages};

/// A self-harm post reported by a user in Germany (twice) and one whose country the catalog
/// has no entry for; a spam post reported by a user in France.
const QUEUE: &str = r#"{"subject": {"id": "sh-1", "kind": "post", "text": "nobody would notice if I was gone", "author": {"id": "u-sad"}, "countries": ["DE"]}, "reporter_type": "user", "category": "self_harm", "reporter": {"id": "r-anna", "country": "de"}, "received_at": "2026-11-23T09:00:00Z"}
{"subject": {"id": "sh-1", "kind": "post", "text": "nobody would notice if I was gone", "author": {"id": "u-sad"}, "countries": ["DE"]}, "reporter_type": "user", "category": "self_harm", "reporter": {"id": "r-anna", "country": "DE"}, "received_at": "2026-11-23T09:05:00Z"}
{"subject": {"id": "sh-1", "kind": "post", "text": "nobody would notice if I was gone", "author": {"id": "u-sad"}, "countries": ["DE"]}, "reporter_type": "user", "category": "self_harm", "reporter": {"id": "r-bo", "country": "BR"}, "received_at": "2026-11-23T09:06:00Z"}
{"subject": {"id": "sp-1", "kind": "post", "text": "buy followers", "author": {"id": "u-spam"}, "countries": ["FR"]}, "reporter_type": "user", "category": "spam", "reporter": {"id": "r-cat", "country": "FR"}, "received_at": "2026-11-23T09:01:00Z"}
"#;

fn admin(server: &TestServer) -> String {
    let storage = SqliteStorage::open(&server.db).expect("open server db");
    server::add_token(
        &storage,
        &format!("delivery-{}", modq::store::new_key()),
        Role::Admin,
    )
    .expect("token")
}

async fn messages(server: &TestServer) -> UserMessages {
    reqwest::Client::new()
        .get(format!("{}/v1/messages", server.api))
        .bearer_auth(admin(server))
        .send()
        .await
        .expect("GET messages")
        .json()
        .await
        .expect("messages JSON")
}

fn go_to(s: &mut Session, id: &str) {
    let i = s
        .app
        .entries
        .iter()
        .position(|e| e.id == id)
        .unwrap_or_else(|| panic!("{id} in the window"));
    s.select(i);
    assert_eq!(s.selected_id(), id);
}

async fn desk(server: &TestServer, data: &std::path::Path) -> Session {
    let mut s = Session::open(server, data).await;
    s.wait_until("the catalog arrives", |app| app.policies.is_some())
        .await;
    s
}

#[tokio::test]
async fn h_sends_each_reporter_of_a_self_harm_item_their_countrys_resources_once_through_a_crash() {
    let mut server = TestServer::with_reports(QUEUE).await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut first = desk(&server, data.path()).await;

    // Not offered on a spam item: said at once, nothing journaled.
    go_to(&mut first, "sp-1");
    first.press("H");
    assert!(
        first
            .screen(120, 30)
            .contains("Support resources are sent on self-harm items"),
        "{}",
        first.screen(120, 30)
    );
    assert_eq!(first.app.counts.unsent, 0);

    // The API is down when the moderator presses H: journaled, then the laptop dies.
    go_to(&mut first, "sh-1");
    server.stop().await;
    first.press("H");
    assert_eq!(first.app.counts.unsent, 1);
    assert_eq!(first.selected_id(), "sh-1", "the item stays, to be decided");
    assert!(
        first
            .screen(120, 30)
            .contains("the item is still yours to decide")
    );
    first.crash();

    // Back: the outbox sends it; each reporter gets one message, in their country's terms.
    server.restart().await;
    let mut second = desk(&server, data.path()).await;
    second.wait_delivered().await;
    assert!(
        second.app.entries.iter().any(|e| e.id == "sh-1"),
        "a support message decides nothing: the item is still offered"
    );
    let got = messages(&server).await.messages;
    assert_eq!(got.len(), 2, "{got:#?}");
    let catalog = SupportCatalog::builtin();
    let anna = got
        .iter()
        .find(|m| m.recipient == "r-anna")
        .expect("anna's");
    assert_eq!(anna.country.as_deref(), Some("DE"));
    assert_eq!(anna.kind, "support_resources");
    assert_eq!(anna.item_id, "sh-1");
    assert_eq!(anna.resources, catalog.for_country(Some("DE")).resources);
    assert!(!anna.verified, "the shipped entries are examples to verify");
    let bo = got.iter().find(|m| m.recipient == "r-bo").expect("bo's");
    assert_eq!(bo.resources, catalog.fallback.resources, "no entry for BR");
    assert!(got.iter().all(|m| m.recipient != "r-cat"));

    // A retry of the same decision (an answer lost on the way) is a duplicate: no message
    // goes twice.
    let audit: Value = reqwest::Client::new()
        .get(format!("{}/v1/audit?item=sh-1", server.api))
        .bearer_auth(admin(&server))
        .send()
        .await
        .expect("GET audit")
        .json()
        .await
        .expect("audit JSON");
    let entries = audit["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{audit:#}");
    assert_eq!(entries[0]["action"], "send_support");
    assert_eq!(entries[0]["from_state"], "open");
    assert_eq!(entries[0]["to_state"], "open");
    let retry = modq::model::Decision {
        idempotency_key: entries[0]["idempotency_key"]
            .as_str()
            .expect("key")
            .to_string(),
        ..common::decision("sh-1", DecisionAction::SendSupport)
    };
    let again = reqwest::Client::new()
        .post(format!("{}/v1/decisions", server.api))
        .bearer_auth(&server.token)
        .json(&serde_json::json!({ "decisions": [retry] }))
        .send()
        .await
        .expect("POST")
        .json::<Value>()
        .await
        .expect("JSON");
    let outcome = &again["results"][0]["outcome"];
    assert_eq!(outcome, "duplicate", "{again:#}");
    assert_eq!(messages(&server).await.messages.len(), 2, "none sent twice");

    // The item is still the moderator's to decide, and undo does not take a message back.
    go_to(&mut second, "sh-1");
    second.press("u");
    assert!(second.screen(120, 30).contains("Nothing to undo"));
    second.press("t");
    second.wait_delivered().await;
    assert_eq!(server.item("sh-1").await.state, ReviewState::TakenDown);
    // The history says what was done.
    let history = server.item("sh-1").await.history;
    assert!(
        history
            .iter()
            .any(|h| h.event == modq::model::HistoryEvent::SupportSent)
    );
    // And the take down after it is still undoable: the message is not its latest decision.
    second.press("u");
    second.wait_delivered().await;
    assert_eq!(server.item("sh-1").await.state, ReviewState::Open);
}

/// `H` again on an item whose reporters were sent resources says so first and sends nothing:
/// from the session that sent them, and from another moderator's reading the item after. A
/// further `H` sends, and the server reaches no one twice.
#[tokio::test]
async fn h_again_on_an_item_whose_reporters_heard_says_so_before_sending() {
    let server = TestServer::with_reports(QUEUE).await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut alice = desk(&server, data.path()).await;
    go_to(&mut alice, "sh-1");
    alice.press("H");
    // At once: still on its way, or already answered.
    alice.press("H");
    let said = alice.flash_text();
    assert!(
        said.contains("on their way") || said.contains("already"),
        "{said}"
    );
    alice.wait_delivered().await;
    assert_eq!(messages(&server).await.messages.len(), 2);
    alice.press("H");
    assert!(
        alice
            .flash_text()
            .contains("went to this item's reporters already (from this session"),
        "{}",
        alice.flash_text()
    );
    assert_eq!((alice.app.counts.unsent, alice.app.counts.failed), (0, 0));

    let bob_token = server.add_moderator("bob");
    let other = tempfile::tempdir().expect("tempdir");
    let mut bob = Session::open_as(&server, &bob_token, other.path()).await;
    bob.wait_until("the catalog arrives", |app| app.policies.is_some())
        .await;
    go_to(&mut bob, "sh-1");
    bob.press("H");
    assert!(
        bob.flash_text()
            .contains("went to this item's reporters already (by "),
        "{}",
        bob.flash_text()
    );
    assert_eq!((bob.app.counts.unsent, bob.app.counts.failed), (0, 0));
    assert_eq!(messages(&server).await.messages.len(), 2, "one each");

    // Asked, not refused: H again sends (a report since might name someone new the list does
    // not show), and the server, which knows, reaches no one twice.
    bob.press("H");
    assert_eq!(bob.app.counts.unsent, 1, "journaled");
    bob.wait_delivered().await;
    assert_eq!(
        bob.app.counts.failed, 1,
        "the server refused it: nobody new"
    );
    assert!(bob.flash_text().contains("REFUSED"), "{}", bob.flash_text());
    assert_eq!(messages(&server).await.messages.len(), 2, "still one each");
}

#[tokio::test]
async fn the_api_sends_support_only_on_self_harm_items_with_reporters_and_never_takes_it_back() {
    let server = TestServer::with_reports(QUEUE).await;
    let send = |item: &str, key: &str| modq::model::Decision {
        idempotency_key: key.into(),
        ..common::decision(item, DecisionAction::SendSupport)
    };
    let post = |decisions: Vec<modq::model::Decision>| {
        let api = server.api.clone();
        let token = server.token.clone();
        async move {
            reqwest::Client::new()
                .post(format!("{api}/v1/decisions"))
                .bearer_auth(token)
                .json(&serde_json::json!({ "decisions": decisions }))
                .send()
                .await
                .expect("POST")
                .json::<Value>()
                .await
                .expect("JSON")
        }
    };
    let undo = modq::model::Decision {
        idempotency_key: "undo".into(),
        reverses: Some("s1".into()),
        ..common::decision("sh-1", DecisionAction::Reverse)
    };
    let answer = post(vec![
        send("sp-1", "spam"),
        send("nobody", "ghost"),
        send("sh-1", "s1"),
        send("sh-1", "s1"),
        undo,
    ])
    .await;
    let outcomes: Vec<&str> = answer["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| r["outcome"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        outcomes,
        ["invalid", "not_found", "applied", "duplicate", "invalid"],
        "{answer:#}"
    );
    let messages = answer["results"][0]["message"].as_str().unwrap_or_default();
    assert!(messages.contains("self-harm"), "{answer:#}");
    assert!(
        answer["results"][4]["message"]
            .as_str()
            .is_some_and(|m| m.contains("not taken back")),
        "{answer:#}"
    );
    assert_eq!(self::messages(&server).await.messages.len(), 2);
    // A moderator's token reads no messages.
    let status = reqwest::Client::new()
        .get(format!("{}/v1/messages", server.api))
        .bearer_auth(&server.token)
        .send()
        .await
        .expect("GET")
        .status();
    assert_eq!(status, reqwest::StatusCode::FORBIDDEN);
}
