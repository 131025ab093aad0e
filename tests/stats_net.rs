//! The stats view (`s`) after a take down is undone: the session's and the server's figures
//! are net (the undone take down is neither a take down nor a reversal; it shows as
//! reversed), reason codes and report categories are two breakdowns, and medians read in
//! minutes and seconds. Against the reference server over HTTP: the screen and what the
//! server holds are both checked.

mod common;

use common::{Session, TestServer};
use modq::model::{ReviewState, Tally};
use modq::tui::app::Freshness;

fn keys(list: &[Tally]) -> Vec<(String, u64)> {
    list.iter().map(|t| (t.key.clone(), t.count)).collect()
}

fn total(list: &[Tally]) -> u64 {
    list.iter().map(|t| t.count).sum()
}

/// `2 min 10 s`, `45 s`, `3 h 20 min`, `2 d 4 h`: numbers each followed by a unit.
fn is_human_duration(text: &str) -> bool {
    let words: Vec<&str> = text.split(' ').collect();
    !words.is_empty()
        && words.len().is_multiple_of(2)
        && words
            .chunks(2)
            .all(|pair| pair[0].parse::<u64>().is_ok() && ["s", "min", "h", "d"].contains(&pair[1]))
}

#[tokio::test]
async fn an_undone_take_down_counts_as_reversed_and_nowhere_else() {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = Session::open(&server, data.path()).await;
    s.wait_until("the policy catalog is in", |app| app.policies.is_some())
        .await;
    // Take down, keep, take down; the last one reaches the server, then is undone.
    s.press("ta");
    let undone = s.selected_id();
    s.press("t");
    s.wait_delivered().await;
    assert_eq!(server.item(&undone).await.state, ReviewState::TakenDown);
    s.press("u");
    s.wait_delivered().await;
    // What the server received: the take down and its reversal, and the item is open again.
    assert_eq!(server.audit_rows(&undone), 2);
    assert_eq!(server.item(&undone).await.state, ReviewState::Open);

    s.press("s");
    s.wait_until("today's figures arrive", |app| {
        app.stats.day_fresh == Freshness::Fresh
    })
    .await;
    let day = s.app.stats.day.clone().expect("today's figures");
    assert_eq!(
        (day.decisions, day.reversed),
        (2, 1),
        "net, and the reversed apart"
    );
    assert_eq!(
        keys(&day.by_action),
        vec![("keep".to_string(), 1), ("take_down".to_string(), 1)]
    );
    assert!(day.by_action.iter().all(|t| t.key != "reverse"));
    assert_eq!(total(&day.by_reason_code), 1, "the take down that stands");
    assert_eq!(
        total(&day.by_report_category),
        2,
        "every decision that stands"
    );
    assert!(
        day.by_reason_code
            .iter()
            .all(|c| !day.by_report_category.iter().any(|r| r.key == c.key)),
        "two lists: {:?} / {:?}",
        day.by_reason_code,
        day.by_report_category
    );
    assert_eq!(total(&day.by_lane), 2);
    assert_eq!(day.by_hour.iter().sum::<u64>(), 2);

    // The session counts alike.
    let session = s.app.stats.session();
    assert_eq!((session.decisions, session.reversed), (2, 1));
    assert_eq!(session.by_reason_code, day.by_reason_code);
    assert_eq!(session.by_report_category, day.by_report_category);

    let screen = s.screen(140, 44);
    assert!(
        screen.matches("decisions 2 · reversed 1").count() == 2,
        "both panels, net:\n{screen}"
    );
    for what in ["take downs by reason code", "by report category"] {
        assert!(screen.contains(what), "{what} missing:\n{screen}");
    }
    for label in [
        "median time per decision ",
        "median wait from report to decision ",
    ] {
        let line = screen
            .lines()
            .find_map(|l| l.split_once(label).map(|(_, rest)| rest.to_string()))
            .unwrap_or_else(|| panic!("{label} missing:\n{screen}"));
        // The panel's text ends at its border or the other panel's start.
        let median: String = line
            .split("  ")
            .next()
            .unwrap_or_default()
            .trim_end_matches(['│', ' '])
            .to_string();
        assert!(is_human_duration(&median), "{label}{median:?}");
    }
    s.quit().await;
}
