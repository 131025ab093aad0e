//! A post reported far past what one read lists: the moderator opening it sees the newest
//! reports, how many there are in all, and the shape of the rest, with the reporters'
//! hostile category text made visible, never obeyed.

mod common;

use common::{Session, TestServer};
use modq::server::REPORTS_LISTED;

/// One report line of the intake's JSONL: `n` seconds into the morning.
fn report(n: usize, reporter: &str, category: &str) -> String {
    serde_json::json!({
        "subject": {"id": "viral", "kind": "post", "text": "Everyone is sharing this."},
        "reporter_type": reporter,
        "category": category,
        "comment": format!("report {n}"),
        "received_at": format!("2026-11-23T08:{:02}:{:02}Z", n / 60, n % 60),
    })
    .to_string()
}

/// 150 reports: a trusted flagger's (harassment) first, then users': 98 hate, 49 spam, and
/// two whose category carries a terminal escape and a right-to-left override.
fn mass_report() -> String {
    let mut lines = vec![report(0, "trusted_flagger", "harassment")];
    for n in 1..150 {
        let category = match n {
            1 | 2 => "spam\u{1b}[2J\u{202e}",
            n if n % 3 == 0 => "spam",
            _ => "hate",
        };
        lines.push(report(n, "user", category));
    }
    lines.join("\n")
}

#[tokio::test]
async fn a_mass_reported_post_shows_its_newest_reports_the_total_and_the_tally() {
    let server = TestServer::with_reports(&mass_report()).await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = Session::open(&server, data.path()).await;
    s.wait_until("the post is shown", |app| app.selected_entry().is_some())
        .await;
    let item = &s.app.selected_entry().expect("selected").shown;
    assert_eq!(item.reports.len(), REPORTS_LISTED);
    assert_eq!(item.report_total(), 150);
    // The trusted flagger's report is no longer listed, yet it still files the post: the
    // queue's category column, the default reason and the day's figures go by it.
    assert!(item.reports.iter().all(|r| r.category != "harassment"));
    assert_eq!(item.leading_category(), Some("harassment"));
    let screen = s.screen(120, 40);
    assert!(
        screen.contains("Reports: showing the newest 100 of 150"),
        "{screen}"
    );
    assert!(
        screen.contains("by reporter: 149 user · 1 trusted flagger"),
        "{screen}"
    );
    // The escape and the override are shown as symbols, not sent to the terminal.
    assert!(
        !screen.contains('\u{1b}') && !screen.contains('\u{202e}'),
        "{screen}"
    );
    insta::assert_snapshot!("mass_report_120x40", screen);

    // The history view says it holds the newest entries, and of how many.
    s.press("h");
    let screen = s.screen(120, 40);
    assert!(
        screen.contains("showing the newest 100 of 150 entries"),
        "{screen}"
    );
}
