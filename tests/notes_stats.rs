//! A moderator writing notes (`n`), reading an item's history (`h`) and looking at the
//! session's and today's figures (`s`). Against the reference server over HTTP; what the
//! screen shows and what the server holds are both checked.

mod common;

use common::{Session, TestServer};
use modq::model::HistoryEvent;
use modq::tui::app::{Freshness, Layer};
use modq::tui::prompt::PromptKind;

async fn session() -> (TestServer, tempfile::TempDir, Session) {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let session = Session::open(&server, data.path()).await;
    (server, data, session)
}

/// The notes on an item as the server holds them: (who, text).
async fn server_notes(server: &TestServer, id: &str) -> Vec<(String, String)> {
    server
        .item(id)
        .await
        .history
        .into_iter()
        .filter(|h| h.event == HistoryEvent::Note)
        .map(|h| (h.actor, h.note.unwrap_or_default()))
        .collect()
}

fn notes_in_memory(s: &Session, id: &str) -> usize {
    s.app.entry_by_id(id).map_or(0, |e| {
        e.shown
            .history
            .iter()
            .filter(|h| h.event == HistoryEvent::Note)
            .count()
    })
}

fn open_prompt_text(s: &Session) -> Option<String> {
    match s.app.layers.last() {
        Some(Layer::Prompt(p)) if p.kind == PromptKind::Note => Some(p.text.clone()),
        _ => None,
    }
}

#[tokio::test]
async fn a_note_reaches_the_server_with_the_moderators_name_and_shows_in_the_history() {
    let (server, _data, mut s) = session().await;
    let id = s.selected_id();
    s.press("n");
    let screen = s.screen(100, 30);
    assert!(
        screen.contains("enter saves it"),
        "the prompt says what it is for:\n{screen}"
    );
    s.press("posts every 5 minutes<enter>");
    assert!(s.app.layers.is_empty(), "Enter closes the prompt");
    s.wait_until("the server has the note", |app| {
        app.flash
            .as_ref()
            .is_some_and(|f| f.text.contains("Note saved"))
    })
    .await;
    assert_eq!(
        notes_in_memory(&s, &id),
        1,
        "the history in memory gains it"
    );
    assert_eq!(
        server_notes(&server, &id).await,
        vec![("mod-alice".to_string(), "posts every 5 minutes".to_string())]
    );
    // Notes decide nothing: the item is still there to decide.
    assert_eq!(s.app.decided, 0);
    assert_eq!(s.selected_id(), id);

    s.press("h");
    wait_for_fresh_history(&mut s).await;
    let screen = s.screen(120, 40);
    assert!(screen.contains("History of"), "{screen}");
    assert!(screen.contains("As the server has it now"), "{screen}");
    assert!(screen.contains("note by mod-alice"), "{screen}");
    assert!(screen.contains("posts every 5 minutes"), "{screen}");
    assert!(screen.contains("reported by"), "{screen}");
    s.press("h");
    assert!(s.app.layers.is_empty(), "h closes the history again");
}

#[tokio::test]
async fn a_note_the_server_cannot_take_is_kept_in_the_prompt_and_sent_on_retry() {
    let (mut server, _data, mut s) = session().await;
    let id = s.selected_id();
    server.stop().await;
    s.press("n");
    s.press("same text as 40 other accounts<enter>");
    s.wait_until("the note fails", |app| {
        app.flash
            .as_ref()
            .is_some_and(|f| f.text.contains("NOT saved"))
    })
    .await;
    assert_eq!(
        open_prompt_text(&s).as_deref(),
        Some("same text as 40 other accounts"),
        "the text is back in the prompt"
    );
    let screen = s.screen(100, 30);
    assert!(
        screen.contains("not saved:") && screen.contains("enter retries"),
        "the reason shows:\n{screen}"
    );
    // Put aside with esc, it comes back with n.
    s.press("<esc>");
    assert!(s.app.layers.is_empty());
    assert!(s.screen(100, 30).contains("brings it back"));
    s.press("n");
    assert_eq!(
        open_prompt_text(&s).as_deref(),
        Some("same text as 40 other accounts")
    );

    server.restart().await;
    s.press("<enter>");
    s.wait_until("the retry is saved", |app| {
        app.flash
            .as_ref()
            .is_some_and(|f| f.text.contains("Note saved"))
    })
    .await;
    assert_eq!(
        server_notes(&server, &id).await,
        vec![(
            "mod-alice".to_string(),
            "same text as 40 other accounts".to_string()
        )],
        "exactly one note, with the text as typed"
    );
    // Saved: the draft is gone, a new note starts empty.
    s.press("n");
    assert_eq!(open_prompt_text(&s).as_deref(), Some(""));
    s.press("<enter>");
    assert!(
        s.screen(100, 30).contains("type the note"),
        "an empty note is refused at once"
    );
}

#[tokio::test]
async fn the_history_lists_escalation_reversal_and_note_with_who() {
    let (_server, _data, mut s) = session().await;
    let id = s.selected_id();
    s.press("e");
    s.wait_delivered().await;
    // The server already has the escalation: undo sends a reversal.
    s.press("u");
    assert_eq!(s.selected_id(), id);
    s.wait_delivered().await;
    s.press("n");
    s.press("checked with the senior team<enter>");
    s.wait_until("the note is saved", |app| {
        app.flash
            .as_ref()
            .is_some_and(|f| f.text.contains("Note saved"))
    })
    .await;

    s.press("h");
    // Meanwhile it shows what is in memory.
    let screen = s.screen(120, 40);
    assert!(screen.contains("Asking the server"), "{screen}");
    assert!(screen.contains("checked with the senior team"), "{screen}");
    wait_for_fresh_history(&mut s).await;
    let screen = s.screen(120, 40);
    assert!(
        screen.contains("escalated to senior moderator by mod-alice"),
        "{screen}"
    );
    assert!(
        screen.contains("decision reversed by mod-alice"),
        "{screen}"
    );
    assert!(screen.contains("note by mod-alice"), "{screen}");
    // Oldest first: the escalation, then its reversal, then the note.
    let at = |what: &str| screen.find(what).unwrap_or(usize::MAX);
    assert!(at("escalated to") < at("decision reversed"));
    assert!(at("decision reversed") < at("note by"));
    // The history scrolls as far as its text goes on this frame, and no further.
    s.press("jjj");
    let end = s.app.scroll_limits.map_or(u16::MAX, |l| l.overlay);
    assert!(
        matches!(
            s.app.layers.last(),
            Some(Layer::History { scroll, .. }) if *scroll == end.min(3)
        ),
        "{:?}, scrolls at most {end}",
        s.app.layers.last()
    );
    s.press("<esc>");
    assert!(s.app.layers.is_empty());
}

#[tokio::test]
async fn the_stats_view_counts_the_session_and_today_on_the_server() {
    let (_server, _data, mut s) = session().await;
    s.wait_until("the policy catalog is in", |app| app.policies.is_some())
        .await;
    // Two single decisions and a bulk take down of two.
    s.press("ta");
    s.press("<space><space>;ty");
    s.wait_until("the bulk is acknowledged", |app| app.bulk.is_none())
        .await;
    s.wait_delivered().await;

    s.press("s");
    s.wait_until("today's figures arrive", |app| {
        app.stats.day_fresh == Freshness::Fresh
    })
    .await;
    let day = s.app.stats.day.clone().expect("today's figures");
    assert_eq!(
        day.decisions, 4,
        "the server counted the session's decisions"
    );
    let session = s.app.stats.session();
    assert_eq!(session.decisions, 4);
    let by_action: Vec<(String, u64)> = session
        .by_action
        .iter()
        .map(|t| (t.key.clone(), t.count))
        .collect();
    assert_eq!(
        by_action,
        vec![("take down".to_string(), 3), ("keep".to_string(), 1)]
    );
    // The session counts like the server: reason codes, lanes and countries agree.
    assert_eq!(session.by_reason_code, day.by_reason_code);
    assert_eq!(session.by_report_category, day.by_report_category);
    assert_eq!(session.by_lane, day.by_lane);
    assert_eq!(session.by_country, day.by_country);

    // Wide: both side by side, with their charts.
    let screen = s.screen(140, 44);
    for what in [
        "This session",
        "Today",
        "decisions 4",
        "median time per decision",
        "median wait from report to decision",
        "deadlines met",
        "by action",
        "take downs by reason code",
        "by report category",
        "by lane",
        "by country",
        "decisions per minute",
        "decisions per hour",
        "take down",
    ] {
        assert!(screen.contains(what), "{what} missing:\n{screen}");
    }
    // Narrow: one at a time, tab switches.
    let screen = s.screen(80, 24);
    assert!(
        screen.contains("This session") && !screen.contains("all moderators"),
        "{screen}"
    );
    s.press("<tab>");
    let screen = s.screen(80, 24);
    assert!(screen.contains("all moderators"), "{screen}");
    s.press("s");
    assert!(s.app.layers.is_empty(), "s closes the view");

    // Undoing the bulk action takes it out of the session's figures.
    s.press("u");
    assert_eq!(s.app.stats.session().decisions, 2);
}

#[tokio::test]
async fn every_view_draws_at_every_size() {
    let (_server, _data, mut s) = session().await;
    s.press("t");
    s.wait_delivered().await;
    s.press("s");
    s.wait_until("today's figures arrive", |app| {
        app.stats.day_fresh == Freshness::Fresh
    })
    .await;
    // Every width and height where the layout changes, and the smallest.
    let widths = [
        1, 2, 3, 5, 10, 29, 30, 31, 45, 59, 60, 61, 79, 80, 99, 100, 101, 130,
    ];
    let heights = [1, 2, 3, 5, 6, 7, 9, 12, 15, 20, 24, 45];
    let every_size = |s: &Session| {
        for w in widths {
            for h in heights {
                s.screen(w, h);
            }
        }
    };
    for today in [false, true] {
        s.app.layers = vec![Layer::Stats { today }];
        every_size(&s);
    }
    s.press("<esc>h");
    every_size(&s);
    s.press("<esc>nsome note");
    every_size(&s);
}

#[tokio::test]
async fn a_note_can_be_written_on_the_command_line_too() {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = Session::open(&server, data.path()).await;
    let id = s.selected_id();
    s.press(":note \"same ring as yesterday\"<enter>");
    s.wait_until("the server has the note", |app| {
        app.entry_by_id(&id).is_some_and(|e| {
            e.shown
                .history
                .iter()
                .any(|h| h.note.as_deref() == Some("same ring as yesterday"))
        })
    })
    .await;
    let item = server.item(&id).await;
    let note = item
        .history
        .iter()
        .find(|h| h.note.as_deref() == Some("same ring as yesterday"))
        .expect("the note is in the server's history");
    assert_eq!(note.actor, "mod-alice");
}

/// Waits until the history layer on top shows what the server answered, not the cache.
async fn wait_for_fresh_history(s: &mut Session) {
    s.wait_until("the history is fresh from the server", |app| {
        matches!(
            app.layers.last(),
            Some(Layer::History {
                fresh: Freshness::Fresh,
                ..
            })
        )
    })
    .await;
}
