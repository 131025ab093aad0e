//! What happens on a timer, through modq's own event loop on a paused clock: the lane tabs
//! count again, a finished queue looks for new reports, a senior's escalated queue shows new
//! escalations. The clock moves only when the test moves it; what the loop does then is
//! waited for with generous limits, never timed.

mod common;

use std::time::Duration;

use common::{Session, TestServer};
use modq::model::{ReviewState, Role};
use serde_json::json;

/// Thirty seconds and one: every look on the clock is due by then.
const A_LOOK: Duration = Duration::from_secs(31);

/// A user's report on a new post, filed over HTTP as any reporting tool would.
async fn report_new_post(server: &TestServer, id: &str) {
    let report = json!({
        "subject": {"id": id, "kind": "post", "text": format!("brand new post {id}"),
                    "author": {"id": "u-new", "handle": "@newcomer"}, "countries": ["DE"]},
        "reporter_type": "user",
        "category": "spam",
    });
    let response = reqwest::Client::new()
        .post(format!("{}/v1/reports", server.api))
        .bearer_auth(&server.token)
        .json(&report)
        .send()
        .await
        .expect("POST /v1/reports");
    assert_eq!(response.status(), 201, "{:?}", response.text().await);
}

fn token(server: &TestServer, name: &str, role: Role) -> String {
    let storage = modq::server::SqliteStorage::open(&server.db).expect("db");
    modq::server::add_token(&storage, name, role).expect("token")
}

/// The number after a tab's name in the frame (`4 Standard 12` → 12).
fn tab_count(frame: &str, tab: &str) -> Option<u64> {
    let line = frame.lines().find(|l| l.contains(tab))?;
    let after = line.split(tab).nth(1)?;
    after.split_whitespace().next()?.parse().ok()
}

#[tokio::test]
async fn the_lane_tabs_count_again_as_others_report_and_the_clock_runs() {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = Session::open(&server, data.path()).await;
    s.resize(200, 40);
    s.wait_until("the lane counts arrive", |app| app.lane_counts.is_some())
        .await;
    let before = tab_count(&s.frame(), "4 Standard").expect("the standard tab counts");

    // Three new posts are reported meanwhile; the tab does not know yet.
    for n in 0..3 {
        report_new_post(&server, &format!("fresh-{n}")).await;
    }
    s.pump();
    assert_eq!(tab_count(&s.frame(), "4 Standard"), Some(before));

    // Half a minute on, the loop asks again and the tab shows them.
    s.advance(A_LOOK);
    s.wait_until("the tab counts the new reports", |app| {
        app.lane_counts.as_ref().is_some_and(|c| {
            c.lanes
                .iter()
                .any(|l| l.lane == modq::model::Lane::Standard && l.open == before + 3)
        })
    })
    .await;
    assert_eq!(
        tab_count(&s.frame(), "4 Standard"),
        Some(before + 3),
        "{}",
        s.frame()
    );
    s.quit().await;
}

#[tokio::test]
async fn a_finished_queue_shows_a_new_report_half_a_minute_later() {
    let two: String = modq::demo::SAMPLE_QUEUE
        .lines()
        .take(2)
        .map(|l| format!("{l}\n"))
        .collect();
    let server = TestServer::with_reports(&two).await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = Session::open(&server, data.path()).await;
    let done = s.first_ids(2);
    s.press("aa");
    s.wait_delivered().await;
    assert!(
        s.frame().contains("New reports are checked every 30 s"),
        "{}",
        s.frame()
    );

    report_new_post(&server, "late-arrival").await;
    s.advance(A_LOOK);
    s.wait_until("the new report is in the window", |app| {
        app.entry_by_id("late-arrival").is_some()
    })
    .await;
    assert!(
        s.frame().contains("brand new post late-arrival"),
        "{}",
        s.frame()
    );
    // And it is decided like any other: the server has it kept.
    s.press("Ga");
    s.wait_delivered().await;
    assert_eq!(server.item("late-arrival").await.state, ReviewState::Kept);
    for id in done {
        assert_eq!(server.item(&id).await.state, ReviewState::Kept);
    }
    s.quit().await;
}

#[tokio::test]
async fn a_seniors_escalated_queue_shows_a_new_escalation_on_the_clock() {
    let server = TestServer::with_sample().await;
    let alice_data = tempfile::tempdir().expect("tempdir");
    let mut alice = Session::open(&server, alice_data.path()).await;

    // Sam, senior, works the escalated queue: empty for now.
    let sam_token = token(&server, "sam", Role::Senior);
    let sam_data = tempfile::tempdir().expect("tempdir");
    let mut sam = Session::open_as(&server, &sam_token, sam_data.path()).await;
    sam.press(":queue escalated<enter>");
    sam.wait_until("the escalated queue is read", |app| {
        app.queue == ReviewState::Escalated && app.queue_end == modq::tui::app::QueueEnd::Exhausted
    })
    .await;
    assert!(sam.app.entries.iter().all(|e| !e.is_open()));

    // Alice escalates an item to senior.
    let escalated = alice.selected_id();
    alice.press("e");
    alice.wait_delivered().await;
    assert_eq!(server.item(&escalated).await.state, ReviewState::Escalated);

    // Half a minute on Sam's clock, it is on his screen.
    sam.advance(A_LOOK);
    sam.wait_until("the escalation reaches the senior", |app| {
        app.entry_by_id(&escalated).is_some_and(|e| e.is_open())
    })
    .await;
    assert!(sam.frame().contains(&escalated), "{}", sam.frame());
    alice.quit().await;
    sam.quit().await;
}
