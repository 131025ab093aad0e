//! Scripted sessions through modq's own event loop: every input goes through the layer stack,
//! a picker or a note stays with the item it was opened on, and `e` climbs the tiers.

mod common;

use common::{Session, TestServer};
use modq::model::{EscalationTier, ReviewState, Role};

fn token(server: &TestServer, name: &str, role: Role) -> String {
    let storage = modq::server::SqliteStorage::open(&server.db).expect("db");
    modq::server::add_token(&storage, name, role).expect("token")
}

/// A session of `name` with `role` that works the items escalated to its tier, `id` among them.
async fn escalated_desk(
    server: &TestServer,
    name: &str,
    role: Role,
    data: &std::path::Path,
    id: &str,
) -> Session {
    let token = token(server, name, role);
    let mut s = Session::open_as(server, &token, data).await;
    if s.app.queue != ReviewState::Escalated {
        s.press(":queue escalated<enter>");
    }
    s.wait_until("the escalated item is in the window", |app| {
        app.entry_by_id(id).is_some_and(|e| e.is_open())
    })
    .await;
    while s.selected_id() != id {
        s.press("j");
    }
    s
}

#[tokio::test]
async fn e_sends_an_escalated_item_one_tier_up_until_the_last() {
    let server = TestServer::with_sample().await;
    let alice_data = tempfile::tempdir().expect("tempdir");
    let mut alice = Session::open(&server, alice_data.path()).await;
    let id = alice.selected_id();
    alice.press("e");
    alice.wait_delivered().await;
    let item = server.item(&id).await;
    assert_eq!(
        (item.state, item.escalation_target),
        (ReviewState::Escalated, Some(EscalationTier::Senior))
    );

    // Sam, senior, presses e on it: legal works from a note, so the picker asks for one,
    // with legal already chosen.
    let sam_data = tempfile::tempdir().expect("tempdir");
    let mut sam = escalated_desk(&server, "sam", Role::Senior, sam_data.path(), &id).await;
    sam.press("e");
    let frame = sam.frame();
    assert!(frame.contains("tier   legal"), "{frame}");
    assert!(frame.contains("a note is required"), "{frame}");
    sam.press("court order from AT<enter>");
    sam.wait_delivered().await;
    let item = server.item(&id).await;
    assert_eq!(item.escalation_target, Some(EscalationTier::Legal));
    assert!(
        sam.app.entries.iter().all(|e| e
            .local
            .as_ref()
            .is_none_or(|l| { l.delivery == modq::tui::app::Delivery::Sent })),
        "the server took it"
    );

    // Lee, legal, sends it on to the law-enforcement liaison.
    let lee_data = tempfile::tempdir().expect("tempdir");
    let mut lee = escalated_desk(&server, "lee", Role::Legal, lee_data.path(), &id).await;
    lee.press("e");
    assert!(lee.frame().contains("law enforcement"), "{}", lee.frame());
    lee.press("threat to life<enter>");
    lee.wait_delivered().await;
    assert_eq!(
        server.item(&id).await.escalation_target,
        Some(EscalationTier::LawEnforcement)
    );

    // The liaison is the last tier: e says so and sends nothing.
    let liz_data = tempfile::tempdir().expect("tempdir");
    let mut liz = escalated_desk(&server, "liz", Role::LawEnforcement, liz_data.path(), &id).await;
    liz.press("e");
    assert!(liz.frame().contains("the last tier"), "{}", liz.frame());
    assert_eq!(liz.app.counts.unsent, 0);
    assert_eq!(liz.app.decided, 0);
    for s in [alice, sam, lee, liz] {
        s.quit().await;
    }
}
