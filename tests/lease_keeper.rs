//! The lease keeper, in a binary of its own because it sets an environment variable
//! (`MODQ_LEASE_SECONDS`), which no other thread may read at the same time.

mod common;

use common::{Session, TestServer};
use modq::backend::Backend;
use modq::backend::modq::ModqClient;
use modq::model::DecisionAction;

/// The lease keeper renews what is in the window and reports what was lost. With leases of
/// 10 s (the server's minimum) it renews every 3 s, so this test waits a few seconds.
#[tokio::test]
async fn the_lease_keeper_notices_an_item_decided_by_someone_else() {
    // SAFETY: this is the only test in this binary, so no other thread reads the environment
    // while it is changed.
    unsafe { std::env::set_var("MODQ_LEASE_SECONDS", "10") };
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = Session::open(&server, data.path()).await;
    unsafe { std::env::remove_var("MODQ_LEASE_SECONDS") };
    let theirs = s.app.entries[3].id.clone();
    let bob = ModqClient::new(&server.api, &server.add_moderator("mod-bob")).expect("client");
    let keep = common::decision(&theirs, DecisionAction::Keep);
    bob.send_decisions(&[keep]).await.expect("bob decides");
    s.wait_until("the keeper reports the lost lease", |app| {
        app.entries[3].gone.is_some()
    })
    .await;
    // The others are still ours: renewed, not lost.
    assert!(s.app.entries[0].is_open());
}
