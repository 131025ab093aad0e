//! Issue 19, points 6, 4 and 7, as a moderator's session through modq's own event loop:
//! saved views and the view stack, count prefixes, the bulk confirmation's breakdown, a
//! translation command (a real one, `tr` doing rot13; a slow one), and the exposure to
//! graphic categories with its break proposal, on a clock the test moves.

mod common;

use std::time::Duration;

use common::{Session, TestServer};
use modq::config::Config;
use modq::tui::app::Translation;

fn rot13(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='z' => (((c as u8 - b'a') + 13) % 26 + b'a') as char,
            'A'..='Z' => (((c as u8 - b'A') + 13) % 26 + b'A') as char,
            _ => c,
        })
        .collect()
}

fn position(s: &Session) -> usize {
    s.app
        .visible
        .iter()
        .position(|&i| i == s.app.selected)
        .expect("selection shows")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_stack_counts_move_and_never_decide_and_the_bulk_is_broken_down() {
    let server = TestServer::with_sample().await;
    let dir = tempfile::tempdir().unwrap();
    let config = Config::parse("[view.spam]\nfilter = \"cat:spam\"\nkey = \"v\"\n", false);
    assert_eq!(config.problems, vec![]);
    let mut s = Session::open_with(&server, &server.token, dir.path(), config).await;

    // 3j moves three items; 3t decides nothing and says why.
    let start = position(&s);
    s.press("3j");
    assert_eq!(position(&s), start + 3);
    s.press("3t");
    assert_eq!(s.app.decided, 0);
    assert!(
        s.frame().contains("a count never repeats a decision"),
        "{}",
        s.frame()
    );
    // 1 then j is a count of one, not the urgent lane.
    s.press("1j");
    assert_eq!(position(&s), start + 4);
    assert!(s.app.lane().is_none());

    // A saved view by its command, then a jump to the author: the status row says where.
    s.press(":view spam<enter>");
    assert_eq!(s.app.filter.to_string(), "cat:spam");
    assert!(s.frame().contains("queue › spam"), "{}", s.frame());
    let before_author = s.selected_id();
    s.press("A");
    assert!(s.frame().contains("queue › spam › author"), "{}", s.frame());
    assert!(s.app.filter.to_string().starts_with("author:"));
    // esc goes back one view, to the item it left; backspace one more, to the queue.
    s.press("<esc>");
    assert_eq!(s.app.filter.to_string(), "cat:spam");
    assert_eq!(s.selected_id(), before_author);
    s.press("<bs>");
    assert!(s.app.filter.is_empty());
    assert!(s.app.view_path().is_empty());
    // The view's own key.
    s.press("v");
    assert_eq!(s.app.filter.to_string(), "cat:spam");
    s.press("<esc>");
    s.wait_until("the queue is back in memory", |app| app.visible.len() > 10)
        .await;

    // 2 space tags two; ;t asks, breaking the count down by lane and category.
    s.press("g2 ;t");
    let frame = s.frame();
    assert!(frame.contains("Take down 2 tagged items"), "{frame}");
    assert!(frame.contains("by lane:"), "{frame}");
    assert!(frame.contains("by category:"), "{frame}");
    s.press("n");
    assert_eq!(s.app.decided, 0);
    s.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_translation_shows_under_the_original_and_a_slow_command_never_stops_the_work() {
    let server = TestServer::with_sample().await;
    let dir = tempfile::tempdir().unwrap();
    let config = Config::parse(
        "[translate]\ncommand = [\"tr\", \"a-zA-Z\", \"n-za-mN-ZA-M\"]\n",
        false,
    );
    assert_eq!(config.problems, vec![]);
    let mut s = Session::open_with(&server, &server.token, dir.path(), config).await;
    let id = s.selected_id();
    let text = s.app.selected_entry().unwrap().shown.text.clone().unwrap();
    s.press("L");
    s.wait_until("the translation arrives", |app| {
        matches!(app.translations.shown(&id), Some(Translation::Done(_)))
    })
    .await;
    let want = modq::sanitize::clean_text(&rot13(&text));
    assert_eq!(
        s.app.translations.shown(&id),
        Some(&Translation::Done(want.clone()))
    );
    let frame = s.frame();
    assert!(frame.contains("Translation (tr)"), "{frame}");
    let first_word = text.split_whitespace().next().unwrap();
    assert!(frame.contains(first_word), "the original stays: {frame}");
    // L again: the original only; the translation is kept in memory for the next L.
    s.press("L");
    assert!(!s.frame().contains("Translation (tr)"));
    s.press("L");
    assert!(s.frame().contains("Translation (tr)"));
    s.quit().await;
    // Memory only: no file under the data folder holds the translation.
    let needle = want.lines().next().unwrap().as_bytes().to_vec();
    let mut dirs = vec![dir.path().to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                assert!(
                    !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
                    "{} holds the translation",
                    p.display()
                );
            }
        }
    }

    // A command that never finishes: the moderator keeps working, then reads why.
    let dir = tempfile::tempdir().unwrap();
    let config = Config::parse(
        "[translate]\ncommand = [\"sleep\", \"30\"]\ntimeout_secs = 1\n",
        false,
    );
    let mut s = Session::open_with(&server, &server.token, dir.path(), config).await;
    let first = s.selected_id();
    s.press("L");
    s.press("j");
    assert_ne!(s.selected_id(), first, "the key path is free while it runs");
    s.press("k");
    s.wait_until("the slow command is stopped", |app| {
        matches!(app.translations.shown(&first), Some(Translation::Failed(_)))
    })
    .await;
    let frame = s.frame();
    assert!(frame.contains("stopped after 1 s"), "{frame}");
    assert!(frame.contains("The original is shown"), "{frame}");
    s.press("a");
    assert_eq!(s.app.decided, 1, "still deciding");
    s.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_on_graphic_items_is_counted_a_break_is_proposed_and_dismissed() {
    let server = TestServer::with_sample().await;
    let dir = tempfile::tempdir().unwrap();
    // Which categories are graphic is the config's: here, the first item's.
    let probe = Session::open(&server, tempfile::tempdir().unwrap().path()).await;
    let category = probe.app.selected_entry().unwrap().shown.reports[0]
        .category
        .clone();
    probe.quit().await;
    let config = Config::parse(
        &format!("[wellbeing]\ngraphic = [\"{category}\"]\nbreak_after_minutes = 2\n"),
        false,
    );
    assert_eq!(config.problems, vec![]);
    let mut s = Session::open_with(&server, &server.token, dir.path(), config).await;
    assert!(
        s.app
            .wellbeing
            .settings
            .graphic_category(&s.app.selected_entry().unwrap().shown)
            .is_some()
    );
    s.advance(Duration::from_secs(60));
    s.press("J");
    assert!(!s.app.wellbeing.proposed);
    s.advance(Duration::from_secs(70));
    assert!(s.app.wellbeing.proposed);
    assert!(
        s.frame().contains("on graphic items: a break?"),
        "{}",
        s.frame()
    );
    // The work goes on under it.
    s.press("a");
    assert_eq!(s.app.decided, 1);
    s.press("<esc>");
    assert!(!s.app.wellbeing.proposed);
    assert!(!s.frame().contains("a break?"));
    s.press("s");
    let frame = s.frame();
    assert!(
        frame.contains("graphic exposure 2 min over 1 items"),
        "{frame}"
    );
    assert!(frame.contains(&category), "{frame}");
    s.quit().await;
}

/// The new parts of the screen (a translation under the item, a view's breadcrumb, a count
/// waiting in the hint line) on terminals down to one cell: every frame draws, no row is
/// wider than the terminal, and the moderator's place is kept when the window grows again.
#[tokio::test]
async fn a_translation_a_view_and_a_count_fit_any_terminal_down_to_one_cell() {
    let server = TestServer::with_sample().await;
    let dir = tempfile::tempdir().unwrap();
    let config = Config::parse(
        "[translate]\ncommand = [\"tr\", \"a-zA-Z\", \"n-za-mN-ZA-M\"]\n\
         [view.spam]\nfilter = \"cat:spam\"\n",
        false,
    );
    assert_eq!(config.problems, vec![]);
    let mut s = Session::open_with(&server, &server.token, dir.path(), config).await;
    s.press(":view spam<enter>");
    let id = s.selected_id();
    s.press("L");
    s.wait_until("the translation arrives", |app| {
        matches!(app.translations.shown(&id), Some(Translation::Done(_)))
    })
    .await;
    s.press("1");
    for (width, height) in [(1, 1), (2, 2), (10, 3), (20, 5), (40, 8), (80, 24)] {
        s.resize(width, height);
        let screen = s.frame();
        for row in screen.lines() {
            assert!(
                row.chars().count() <= usize::from(width),
                "{width}x{height}: {row:?}"
            );
        }
    }
    s.resize(120, 40);
    assert_eq!(s.selected_id(), id, "the place is kept");
    assert!(s.frame().contains("Translation (tr)"), "{}", s.frame());
    s.quit().await;
}
