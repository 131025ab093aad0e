//! A moderator on platforms that honour less than modq's own API: the keys a platform cannot
//! honour are not offered, pressing one says why in the platform's words and journals
//! nothing, lanes and tiers are the platform's, and the background sync never calls what the
//! platform lacks. Each session is the real App, store and sync on modq's event loop, against
//! the in-memory backend of `common/fake.rs` (no HTTP).

mod common;
#[path = "common/fake.rs"]
mod fake;

use std::sync::Arc;

use chrono::{DateTime, Utc};

use common::{Session, render, sample_now};
use fake::{FakeBackend, post};
use modq::backend::{BackendKind, BackendOptions, Capabilities, Limits, Support};
use modq::config::Config;
use modq::model::{DecisionAction, EscalationTier, Lane, ReviewState};
use modq::profile::Dirs;
use modq::session::{self, Target};

/// Calls a platform without claims, counts, policies, statistics or selection must never see.
const OPTIONAL: [&str; 7] = [
    "claim_items",
    "renew_leases",
    "release_leases",
    "queue_counts",
    "policies",
    "daily_stats",
    "select",
];

fn at(minutes: i64) -> DateTime<Utc> {
    sample_now() - chrono::Duration::minutes(minutes)
}

/// Three posts in the standard lane, oldest first.
fn three_posts() -> Vec<modq::model::Item> {
    vec![
        post("p1", Lane::Standard, "spam", "buy followers now", at(30)),
        post("p2", Lane::Standard, "harassment", "you again", at(20)),
        post("p3", Lane::Standard, "spam", "cheap watches", at(10)),
    ]
}

/// A session on `backend`, its cache in `data` under a profile of its own.
async fn open(backend: Arc<FakeBackend>, data: &tempfile::TempDir) -> Session {
    let dirs = Dirs::resolve(Some(data.path())).unwrap();
    let target = Target {
        backend: BackendKind::Modq,
        name: Some("fake".into()),
        url: "http://127.0.0.1:9".into(),
        secret: String::new(),
        options: BackendOptions::new(),
        limits: Limits::default(),
    };
    let prepared = session::prepare_backend(backend, &target, &dirs, Config::default())
        .await
        .expect("the session opens on the fake backend");
    Session::from_prepared(prepared, sample_now())
}

fn hint_line(s: &Session) -> String {
    render(&s.app, 160, 40)
        .lines()
        .last()
        .unwrap_or_default()
        .to_string()
}

fn tab_row(s: &Session) -> String {
    render(&s.app, 160, 40)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn help(s: &mut Session) -> String {
    s.press("?");
    let screen = render(&s.app, 160, 120);
    s.press("?");
    screen
}

#[tokio::test]
async fn without_escalation_or_claims_e_is_not_offered_says_why_and_decisions_go_out_once() {
    let mut caps = Capabilities::core("Matrix");
    caps.max_batch = 50;
    let backend = FakeBackend::new(caps, three_posts());
    let data = tempfile::tempdir().unwrap();
    let mut s = open(backend.clone(), &data).await;
    assert_eq!(s.selected_id(), "p1");

    // Neither the hint line nor the help offers escalation; the help says why.
    let hints = hint_line(&s);
    assert!(
        hints.contains("take down") && hints.contains("keep"),
        "{hints}"
    );
    assert!(!hints.contains("escalate"), "{hints}");
    let overlay = help(&mut s);
    assert!(!overlay.contains("escalate one tier up"), "{overlay}");
    assert!(!overlay.contains("escalate: pick the tier"), "{overlay}");
    assert!(overlay.contains("Not on Matrix"), "{overlay}");
    assert!(overlay.contains("Matrix has no escalation"), "{overlay}");
    assert!(
        overlay.contains("Matrix sorts its queue into one lane"),
        "{overlay}"
    );
    assert!(!overlay.contains(":escalate"), "{overlay}");
    assert!(!overlay.contains(":note"), "{overlay}");
    assert!(overlay.contains(":takedown"), "{overlay}");
    assert!(
        overlay.contains("Matrix has no undo of a decision"),
        "{overlay}"
    );

    // Pressed anyway (from habit), `e` and `E` say why and journal nothing.
    s.press("e");
    assert_eq!(s.flash_text(), "Matrix has no escalation");
    s.press("E");
    assert_eq!(s.flash_text(), "Matrix has no escalation");
    assert!(s.app.layers.is_empty(), "no picker opened");
    assert_eq!(s.app.decided, 0);
    assert_eq!(s.app.counts.unsent, 0);
    assert_eq!(s.selected_id(), "p1", "the selection did not move");

    // A take down goes out, once, and the platform holds it.
    s.press("t");
    assert_eq!(s.app.decided, 1);
    assert_eq!(s.selected_id(), "p2");
    s.press("a");
    s.wait_delivered().await;
    s.quit().await;
    let received = backend.received();
    let sent: Vec<(&str, DecisionAction)> = received
        .iter()
        .map(|d| (d.item_id.as_str(), d.action))
        .collect();
    assert_eq!(
        sent,
        [
            ("p1", DecisionAction::TakeDown),
            ("p2", DecisionAction::Keep)
        ]
    );
    assert_eq!(backend.state_of("p1"), Some(ReviewState::TakenDown));
    assert_eq!(backend.state_of("p2"), Some(ReviewState::Kept));
    assert_eq!(backend.state_of("p3"), Some(ReviewState::Open));
    // The client reviewed without leasing, and asked for nothing else the platform lacks.
    assert_eq!(backend.called_any(&OPTIONAL), Vec::<&str>::new());
}

#[tokio::test]
async fn a_platform_with_two_lanes_shows_two_tabs_and_tab_goes_round_them() {
    let mut caps = Capabilities::core("Ozone");
    caps.lanes = vec![Lane::Urgent, Lane::Standard];
    caps.counts = Support::Yes;
    let mut items = three_posts();
    items.push(post("u1", Lane::Urgent, "violence", "a threat", at(5)));
    items.push(post(
        "u2",
        Lane::Urgent,
        "violence",
        "another threat",
        at(4),
    ));
    let backend = FakeBackend::new(caps, items);
    let data = tempfile::tempdir().unwrap();
    let mut s = open(backend.clone(), &data).await;
    s.wait_until("the lane counts", |app| app.lane_counts.is_some())
        .await;

    let tabs = tab_row(&s);
    assert!(
        tabs.contains("All 5") && tabs.contains("1 Urgent 2") && tabs.contains("4 Standard 3"),
        "{tabs}"
    );
    for absent in ["Authority", "Trusted", "Appeals"] {
        assert!(!tabs.contains(absent), "{absent}: {tabs}");
    }
    let overlay = help(&mut s);
    assert!(overlay.contains("lane: urgent"), "{overlay}");
    assert!(!overlay.contains("lane: authority requests"), "{overlay}");
    assert!(overlay.contains("Ozone has no authority lane"), "{overlay}");

    // A lane key of modq's own API the platform lacks says so, and the tab stays.
    s.press("2<enter>");
    assert_eq!(s.flash_text(), "Ozone has no authority lane");
    assert_eq!(s.app.lane(), None);

    // Tab: every lane, then the platform's two, and round again.
    s.press("<tab>");
    assert_eq!(s.app.lane(), Some(Lane::Urgent));
    assert!(tab_row(&s).contains("▸1 Urgent"), "{}", tab_row(&s));
    s.press("<tab>");
    assert_eq!(s.app.lane(), Some(Lane::Standard));
    s.press("<tab>");
    assert_eq!(s.app.lane(), None);

    // The command line completes the platform's lanes only.
    s.press(":lane <tab>");
    let note = match s.app.layers.last() {
        Some(modq::tui::app::Layer::Prompt(p)) => p.note.clone().unwrap_or_default(),
        other => panic!("the command line is open: {other:?}"),
    };
    assert_eq!(note, "urgent  standard  all");
    s.press("<esc>");
    s.quit().await;
    assert!(backend.calls().contains(&"queue_counts"));
}

#[tokio::test]
async fn without_undo_u_says_what_cannot_be_undone_and_nothing_is_reversed() {
    let mut caps = Capabilities::core("Matrix");
    caps.undo = Support::no("Matrix cannot bring back a redacted event: a take down is final");
    let backend = FakeBackend::new(caps, three_posts());
    let data = tempfile::tempdir().unwrap();
    let mut s = open(backend.clone(), &data).await;
    assert!(!hint_line(&s).contains("undo"), "{}", hint_line(&s));

    s.press("t");
    s.wait_delivered().await;
    s.press("u");
    assert_eq!(
        s.flash_text(),
        "Matrix cannot bring back a redacted event: a take down is final"
    );
    assert_eq!(s.app.decided, 1, "the take down stands");
    assert_eq!(s.app.counts.unsent, 0, "no reversal was journaled");
    s.quit().await;
    assert_eq!(backend.received().len(), 1);
    assert_eq!(backend.state_of("p1"), Some(ReviewState::TakenDown));
}

#[tokio::test]
async fn a_triage_account_cannot_take_down_by_any_key_but_keeps_and_escalates() {
    let why = "a triage account cannot take down on Bluesky Ozone";
    let mut caps = Capabilities::core("Bluesky Ozone");
    caps.take_down = Support::no(why);
    caps.escalate = Support::Yes;
    caps.tiers = vec![EscalationTier::Senior];
    let backend = FakeBackend::new(caps, three_posts());
    let data = tempfile::tempdir().unwrap();
    let mut s = open(backend.clone(), &data).await;

    let hints = hint_line(&s);
    assert!(!hints.contains("take down"), "{hints}");
    assert!(
        hints.contains("keep") && hints.contains("escalate"),
        "{hints}"
    );

    // t, T, ;t on a tagged item, and the command line: each says why, none journals.
    s.press("t");
    assert_eq!(s.flash_text(), why);
    s.press("T");
    assert_eq!(s.flash_text(), why);
    assert!(s.app.layers.is_empty(), "no take-down picker");
    s.press("<space>");
    s.press(";t");
    assert_eq!(s.flash_text(), why);
    s.press(":");
    s.press("take_down<enter>");
    assert!(s.flash_text().contains(why), "{}", s.flash_text());
    s.press("U");
    assert_eq!(s.app.decided, 0);
    assert_eq!(s.app.counts.unsent, 0);

    // What the account may do still works: keep one, escalate the next to the senior tier.
    s.press("g");
    s.press("a");
    s.press("e");
    s.wait_delivered().await;
    s.quit().await;
    let sent: Vec<(String, DecisionAction)> = backend
        .received()
        .into_iter()
        .map(|d| (d.item_id, d.action))
        .collect();
    assert_eq!(
        sent,
        [
            ("p1".to_string(), DecisionAction::Keep),
            ("p2".to_string(), DecisionAction::Escalate)
        ]
    );
    assert_eq!(backend.state_of("p2"), Some(ReviewState::Escalated));
}

#[tokio::test]
async fn without_account_measures_or_support_messages_t_has_no_account_step_and_h_says_why() {
    let caps = Capabilities::core("Matrix");
    let mut items = three_posts();
    // The item says all a server could say about its author's account: still no step.
    items[0].author = Some(modq::model::Author {
        id: "@spammer:example.org".into(),
        handle: None,
        created_at: Some(at(60 * 24 * 3)),
    });
    items[0].account = Some(modq::account::AccountStanding {
        account_id: "@spammer:example.org".into(),
        created_at: Some(at(60 * 24 * 3)),
        window_days: 90,
        strikes_in_window: 2,
        recent: Vec::new(),
        in_force: None,
        proposal: Some(modq::account::AccountMeasure {
            action: modq::account::AccountAction::Suspend,
            days: Some(7),
        }),
        counts: None,
    });
    items[1].reports[0].category = "self_harm".into();
    let backend = FakeBackend::new(caps, items);
    let data = tempfile::tempdir().unwrap();
    let mut s = open(backend.clone(), &data).await;
    assert_eq!(s.selected_id(), "p1");

    s.press("T");
    match s.app.layers.last() {
        Some(modq::tui::app::Layer::Picker { picker, .. }) => {
            assert!(!picker.has_account_step(), "no account step on Matrix");
            assert_eq!(picker.account, None);
        }
        other => panic!("the take-down picker is open, not {other:?}"),
    }
    s.press("<tab><tab><enter>");
    s.wait_delivered().await;

    // H on the self-harm item: the platform's reason, nothing journaled.
    s.press("H");
    assert_eq!(
        s.flash_text(),
        "Matrix has no way to send a reporter support resources"
    );
    assert_eq!(s.app.counts.unsent, 0);
    let overlay = help(&mut s);
    assert!(
        !overlay.contains("send the reporters support resources"),
        "{overlay}"
    );
    s.quit().await;
    let sent: Vec<modq::model::Decision> = backend.received();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].action, DecisionAction::TakeDown);
    assert_eq!(
        sent[0].account, None,
        "no measure goes to a platform without them"
    );
}
