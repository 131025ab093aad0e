//! Appeals as moderators live them, through modq's own event loop against the reference
//! server over HTTP: alice takes a post down; its author appeals (through the platform's
//! intake); alice sees the appeal but its keys withheld, with the reason, and the server
//! refuses her; bob reads the decision, its statement and the appellant's words, and
//! overturns it; the post is back, the audit log and the statement say so. Another appeal
//! is upheld, by a session that crashes before its decision is sent: exactly one outcome.

mod common;

use common::{Session, TestServer};
use modq::backend::Backend as _;
use modq::backend::modq::ModqClient;
use modq::model::{DecisionAction, DecisionOutcome, Lane, ReviewState, Role};
use modq::server::{self, SqliteStorage};
use serde_json::{Value, json};

const QUEUE: &str = r#"{"subject": {"id": "p-1", "kind": "post", "text": "buy followers at shop.example", "author": {"id": "u-4"}, "countries": ["FR"]}, "reporter_type": "user", "category": "spam", "received_at": "2026-11-23T09:03:00Z"}
{"subject": {"id": "p-2", "kind": "post", "text": "cheap watches", "author": {"id": "u-6"}, "countries": ["NL"]}, "reporter_type": "user", "category": "spam", "received_at": "2026-11-23T09:05:00Z"}
{"subject": {"id": "p-3", "kind": "post", "text": "a birthday party", "author": {"id": "u-7"}, "countries": ["BE"]}, "reporter_type": "user", "category": "spam", "received_at": "2026-11-23T09:07:00Z"}
"#;

/// Tokens straight into the server's database, as `modq serve token add` makes them.
fn token(server: &TestServer, name: &str, role: Role) -> String {
    let storage = SqliteStorage::open(&server.db).expect("open server db");
    server::add_token(&storage, name, role).expect("token")
}

async fn get(server: &TestServer, path: &str, token: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{}{path}", server.api))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET")
        .json()
        .await
        .expect("JSON")
}

/// The platform's intake lodges the author's appeal against `item`'s take down; the
/// appeal item's id.
async fn appeal(server: &TestServer, intake: &str, item: &str, statement: &str) -> String {
    let audit = get(server, &format!("/v1/audit?item={item}"), intake).await;
    let id = audit["entries"][0]["id"].clone();
    let answer: Value = reqwest::Client::new()
        .post(format!("{}/v1/appeals", server.api))
        .bearer_auth(intake)
        .json(&json!({"decision": format!("modq-{id}"), "statement": statement}))
        .send()
        .await
        .expect("POST")
        .json()
        .await
        .expect("JSON");
    answer["item_id"]
        .as_str()
        .unwrap_or_else(|| panic!("lodged: {answer}"))
        .to_string()
}

/// The appeals lane, with the appeal item there and selected.
async fn open_appeal(s: &mut Session, id: &str) {
    s.press("5<enter>");
    s.wait_until("the appeal arrives", |app| {
        app.entries
            .iter()
            .any(|e| e.id == id && e.shown.appeal.is_some())
    })
    .await;
    let i = s
        .app
        .entries
        .iter()
        .position(|e| e.id == id)
        .expect("in the window");
    s.select(i);
    assert_eq!(s.selected_id(), id);
    // The lane's flash goes; the hint line shows the keys.
    s.press("<esc>");
}

#[tokio::test]
async fn an_appeal_is_overturned_by_another_moderator_and_never_by_the_one_who_decided() {
    let server = TestServer::with_reports(QUEUE).await;
    let intake = token(&server, "intake", Role::Admin);
    let bob_token = token(&server, "bob", Role::Moderator);

    // Alice takes p-1 down.
    let alice_data = tempfile::tempdir().expect("tempdir");
    let mut alice = Session::open(&server, alice_data.path()).await;
    assert_eq!(alice.selected_id(), "p-1");
    alice.press("t");
    alice.wait_delivered().await;
    let appeal_id = appeal(
        &server,
        &intake,
        "p-1",
        "I run that shop; this was my own ad \u{1b}]52;c;aGk=\u{7}",
    )
    .await;

    // Alice sees the appeal, with the keys withheld and why; her key is refused at once.
    open_appeal(&mut alice, &appeal_id).await;
    // Every size down to 1x1 draws it, no panic.
    alice.draw_at_every_size();
    let screen = alice.screen(160, 50);
    assert!(screen.contains("Appeal 1"), "{screen}");
    assert!(
        screen.contains("keys withheld: you made the decision appealed"),
        "{screen}"
    );
    assert!(screen.contains("✗r overturn"), "{screen}");
    assert!(
        !screen.contains('\u{1b}'),
        "hostile text reached the screen"
    );
    assert!(screen.contains("I run that shop"), "{screen}");
    alice.press("r");
    let flash = alice.flash_text();
    assert!(flash.contains("Article 20"), "{flash}");
    assert_eq!(alice.app.counts.unsent, 0, "nothing journaled");
    // Nor does she hold it: the others may take it.
    let alice_entry = alice
        .app
        .entries
        .iter()
        .find(|e| e.id == appeal_id)
        .expect("entry");
    assert_eq!(alice_entry.lease, modq::tui::app::Lease::None);
    // The server refuses her too, whatever client she uses.
    let alice_client = ModqClient::new(&server.api, &server.token).expect("client");
    let refused = alice_client
        .send_decisions(&[common::decision(&appeal_id, DecisionAction::Overturn)])
        .await
        .expect("answered");
    assert_eq!(refused[0].outcome, DecisionOutcome::Conflict);
    alice.quit().await;

    // Bob reads what was decided, on what grounds, and what the appellant says.
    let bob_data = tempfile::tempdir().expect("tempdir");
    let mut bob = Session::open_as(&server, &bob_token, bob_data.path()).await;
    open_appeal(&mut bob, &appeal_id).await;
    let screen = bob.screen(160, 50);
    for shown in [
        "against take down of p-1 by mod-alice",
        "reason spam",
        "statement modq-1",
        "appellant says",
        "I run that shop; this was my own ad ␛]52;c;aGk=␇",
        "c uphold (the decision stands) · r overturn (the content is restored)",
    ] {
        assert!(screen.contains(shown), "{shown:?} not on screen:\n{screen}");
    }
    assert!(
        screen.contains("c uphold"),
        "hint line offers the keys:\n{screen}"
    );
    // t is not for appeals.
    bob.press("t");
    let flash = bob.flash_text();
    assert!(flash.contains("upheld or overturned"), "{flash}");
    bob.press("r");
    bob.wait_delivered().await;
    // An appeal's outcome is final: the server refuses its undo, and the overturn stands.
    bob.press("u");
    bob.wait_until("the server refuses the undo", |app| {
        app.flash
            .as_ref()
            .is_some_and(|f| f.text.contains("UNDO REFUSED"))
    })
    .await;
    let flash = bob.flash_text();
    assert!(flash.contains("outcome is final"), "{flash}");

    let p1 = server.item("p-1").await;
    assert_eq!(p1.state, ReviewState::Kept, "the post is back");
    let audit = get(&server, "/v1/audit?item=p-1", &intake).await;
    let last = audit["entries"].as_array().and_then(|e| e.last()).cloned();
    let last = last.expect("a row");
    assert_eq!(
        (last["action"].as_str(), last["actor"].as_str()),
        (Some("reverse"), Some("bob"))
    );
    let statements = get(&server, "/v1/statements", &intake).await;
    let statement = &statements["statements"][0];
    assert_eq!(statement["puid"], "modq-1");
    assert_eq!(statement["end_date_visibility_restriction"], "2026-11-23");
    let appeal_item = server.item(&appeal_id).await;
    assert_eq!(appeal_item.lane, Lane::Appeals);
    let outcome = appeal_item.appeal.and_then(|a| a.outcome).expect("decided");
    assert_eq!(outcome.decided_by, "bob");
    bob.quit().await;
}

#[tokio::test]
async fn an_appeal_upheld_by_a_session_that_crashed_has_exactly_one_outcome() {
    let mut server = TestServer::with_reports(QUEUE).await;
    let intake = token(&server, "intake", Role::Admin);
    let bob_token = token(&server, "bob", Role::Moderator);
    let alice = ModqClient::new(&server.api, &server.token).expect("client");
    let applied = alice
        .send_decisions(&[common::decision("p-2", DecisionAction::TakeDown)])
        .await
        .expect("answered");
    assert_eq!(applied[0].outcome, DecisionOutcome::Applied);
    let appeal_id = appeal(&server, &intake, "p-2", "they are real watches").await;

    let data = tempfile::tempdir().expect("tempdir");
    let mut bob = Session::open_as(&server, &bob_token, data.path()).await;
    open_appeal(&mut bob, &appeal_id).await;
    // The API goes down; bob upholds; the process dies before anything is sent.
    server.stop().await;
    bob.press("c");
    assert_eq!(bob.app.counts.unsent, 1);
    bob.crash();

    // Back up: the next session sends it once; a replay of it changes nothing.
    server.restart().await;
    let mut again = Session::open_as(&server, &bob_token, data.path()).await;
    again.wait_delivered().await;
    let appeal_item = server.item(&appeal_id).await;
    let outcome = appeal_item.appeal.and_then(|a| a.outcome).expect("decided");
    assert_eq!(outcome.verdict, modq::model::AppealVerdict::Upheld);
    assert_eq!(server.item("p-2").await.state, ReviewState::TakenDown);
    assert_eq!(server.audit_rows(&appeal_id), 1, "one outcome");
    assert_eq!(
        server.audit_rows("p-2"),
        1,
        "the take down alone: nothing undone"
    );
    let bob_client = ModqClient::new(&server.api, &bob_token).expect("client");
    let other = bob_client
        .send_decisions(&[common::decision(&appeal_id, DecisionAction::Overturn)])
        .await
        .expect("answered");
    assert_eq!(other[0].outcome, DecisionOutcome::Conflict, "decided once");
    assert_eq!(server.audit_rows(&appeal_id), 1);
    again.quit().await;
}
