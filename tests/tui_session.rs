//! Scripted moderator sessions against the reference server over real HTTP, asserting on what
//! the screen shows (ratatui's TestBackend) and on what the server received.

mod common;

use common::{Session, TestServer, render};
use modq::backend::Backend;
use modq::backend::modq::ModqClient;
use modq::model::{DecisionAction, DecisionOutcome, EscalationTier, ReviewState, Scope};
use modq::sync::SyncEvent;
use modq::tui::action::Action;
use modq::tui::app::{Delivery, Link};
use modq::tui::theme::Theme;

async fn session() -> (TestServer, tempfile::TempDir, Session) {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let session = Session::open(&server, data.path()).await;
    (server, data, session)
}

#[tokio::test]
async fn the_first_screen_shows_the_most_urgent_item_in_full() {
    let (_server, _data, s) = session().await;
    insta::assert_snapshot!("first_screen_80x24", s.screen(80, 24));
    insta::assert_snapshot!("first_screen_160x48", s.screen(160, 48));
    let screen = s.screen(160, 48);
    for part in [
        "Reports (",
        "History",
        "lane urgent",
        "priority",
        "author",
        "language",
        "countries",
        "decided 0",
        "unsent 0",
        "● online",
        "mod-alice@127.0.0.1:PORT",
        "http://127.0.0.1:PORT",
    ] {
        assert!(screen.contains(part), "{part:?} missing from:\n{screen}");
    }
}

#[tokio::test]
async fn a_take_down_moves_on_at_once_and_reaches_the_server_once() {
    let (server, _data, mut s) = session().await;
    let first = s.selected_id();
    s.press("t");
    // The next item is on screen before the network has answered anything.
    assert_ne!(s.selected_id(), first);
    assert_eq!(s.app.decided, 1);
    assert!(s.screen(80, 24).contains("decided 1 │ unsent 1"));
    s.wait_delivered().await;
    assert!(s.screen(80, 24).contains("decided 1 │ unsent 0"));

    let item = server.item(&first).await;
    assert_eq!(item.state, ReviewState::TakenDown);
    assert_eq!(item.restricted_in, Some(Scope::Global));
    assert_eq!(server.audit_rows(&first), 1);
}

#[tokio::test]
async fn keep_and_escalate_use_ozones_letters() {
    let (server, _data, mut s) = session().await;
    let kept = s.selected_id();
    s.press("a");
    let escalated = s.selected_id();
    s.press("e");
    s.wait_delivered().await;
    assert_eq!(server.item(&kept).await.state, ReviewState::Kept);
    let item = server.item(&escalated).await;
    assert_eq!(item.state, ReviewState::Escalated);
    assert_eq!(item.escalation_target, Some(EscalationTier::Senior));
    let list = s.screen(120, 30);
    assert!(list.contains("✓"), "kept mark missing:\n{list}");
    assert!(list.contains("↑"), "escalated mark missing:\n{list}");
}

#[tokio::test]
async fn moving_around_the_queue() {
    let (_server, _data, mut s) = session().await;
    let ids: Vec<String> = s.app.entries.iter().map(|e| e.id.clone()).collect();
    s.press("jj");
    assert_eq!(s.selected_id(), ids[2]);
    s.press("k");
    assert_eq!(s.selected_id(), ids[1]);
    s.press("<down><down><up>");
    assert_eq!(s.selected_id(), ids[2]);
    s.press("G");
    assert_eq!(s.selected_id(), *ids.last().expect("items"));
    s.press("g");
    assert_eq!(s.selected_id(), ids[0]);
    s.press("k");
    assert_eq!(s.selected_id(), ids[0], "k at the top stays at the top");
    assert!(s.screen(80, 24).contains(&format!(" 1/{}+ ", ids.len())));
}

#[tokio::test]
async fn deciding_twice_on_one_item_is_refused_with_a_hint() {
    let (server, _data, mut s) = session().await;
    let first = s.selected_id();
    s.press("tk");
    assert_eq!(s.selected_id(), first);
    s.press("a");
    assert_eq!(
        s.selected_id(),
        first,
        "a refused decision does not move on"
    );
    assert!(s.screen(80, 24).contains("Already decided (take down)"));
    s.wait_delivered().await;
    assert_eq!(server.item(&first).await.state, ReviewState::TakenDown);
    assert_eq!(server.audit_rows(&first), 1);
}

#[tokio::test]
async fn undo_withdraws_what_was_not_sent_and_reverses_what_was() {
    let (mut server, _data, mut s) = session().await;
    let first = s.selected_id();
    s.press("t");
    s.wait_delivered().await;
    assert_eq!(server.item(&first).await.state, ReviewState::TakenDown);

    // Sent already: undo sends a reversal and brings the item back to the cursor.
    s.press("u");
    assert_eq!(s.selected_id(), first);
    assert_eq!(s.app.decided, 0);
    assert!(s.screen(100, 24).contains("a reversal is on its way"));
    s.wait_delivered().await;
    assert_eq!(server.item(&first).await.state, ReviewState::Open);

    // Not sent yet (the API is down): undo simply withdraws it.
    server.stop().await;
    s.press("a");
    assert_eq!(s.app.counts.unsent, 1, "{}", s.screen(100, 24));
    s.press("u");
    assert_eq!(s.app.counts.unsent, 0);
    assert_eq!(s.selected_id(), first);
    assert!(s.screen(100, 24).contains("it had not been sent"));

    // Nothing more to undo in this session.
    s.press("u");
    s.press("u");
    assert!(s.screen(100, 24).contains("Nothing to undo"));
    server.restart().await;
    assert_eq!(server.item(&first).await.state, ReviewState::Open);
    assert_eq!(
        server.audit_rows(&first),
        2,
        "the take down and its reversal"
    );
}

#[tokio::test]
async fn repeated_undo_walks_back_through_the_session() {
    let (mut server, _data, mut s) = session().await;
    server.stop().await;
    let ids = s.first_ids(3);
    s.press("tae");
    assert_eq!(s.app.decided, 3);
    s.press("uu");
    assert_eq!(s.app.decided, 1);
    assert_eq!(s.selected_id(), ids[1]);
    server.restart().await;
    // The outbox retries on its own; wait for it rather than for the quit's short grace.
    s.wait_delivered().await;
    s.quit().await;
    // Only the first decision survives.
    assert_eq!(server.item(&ids[0]).await.state, ReviewState::TakenDown);
    assert_eq!(server.audit_rows(&ids[0]), 1);
    for id in &ids[1..] {
        assert_eq!(server.item(id).await.state, ReviewState::Open);
        // Withdrawn before it ever left, or (had the outbox already tried to send it while
        // the server was down) sent and then reversed: never a decision left standing.
        let rows = server.audit_rows(id);
        assert!(rows == 0 || rows == 2, "{id}: {rows} audit rows");
    }
}

#[tokio::test]
async fn the_help_overlay_lists_every_key_and_closes() {
    let (_server, _data, mut s) = session().await;
    s.press("?");
    insta::assert_snapshot!("help_80x24", s.screen(80, 24));
    // On a tall screen everything is in view: every key, the commands, the filter syntax.
    let help = s.screen(100, 80);
    for action in Action::BINDABLE {
        assert!(
            help.contains(action.description()),
            "{action:?} missing from help"
        );
    }
    for part in [":takedown [reason=CODE]", "cat:", "prio:", "similar:"] {
        assert!(help.contains(part), "{part:?} missing from help:\n{help}");
    }
    // A short screen scrolls to the rest.
    s.press(&"j".repeat(60));
    assert!(s.screen(80, 24).contains("Filter (/)"));
    // Keys under the overlay do nothing…
    let before = s.selected_id();
    s.press("jt");
    assert_eq!(s.selected_id(), before);
    assert_eq!(s.app.decided, 0);
    // …and esc closes it.
    s.press("<esc>");
    assert!(!s.screen(80, 24).contains("Keys —"));
}

#[tokio::test]
async fn an_api_outage_loses_nothing_and_says_so() {
    let (mut server, _data, mut s) = session().await;
    server.stop().await;
    let first = s.selected_id();
    s.press("t");
    assert_ne!(s.selected_id(), first, "work goes on while the API is down");
    s.wait_until("the outage shows", |app| {
        matches!(app.link, Link::Offline(_))
    })
    .await;
    let screen = s.screen(120, 30);
    assert!(screen.contains("offline"), "{screen}");
    assert!(screen.contains("unsent 1"), "{screen}");

    server.restart().await;
    // The flusher retries on its own (backoff); a new decision also nudges it.
    s.press("a");
    s.wait_delivered().await;
    assert_eq!(s.app.link, Link::Online);
    assert_eq!(server.item(&first).await.state, ReviewState::TakenDown);
    assert_eq!(server.audit_rows(&first), 1);
}

#[tokio::test]
async fn a_refused_decision_stays_visible_with_the_servers_reason() {
    let (server, _data, mut s) = session().await;
    let first = s.selected_id();
    // Another moderator decides the item first (straight through the API).
    let bob = ModqClient::new(&server.api, &server.add_moderator("mod-bob")).expect("client");
    let keep = common::decision(&first, DecisionAction::Keep);
    let results = bob.send_decisions(&[keep]).await.expect("bob decides");
    assert_eq!(results[0].outcome, DecisionOutcome::Applied);

    s.press("t");
    s.wait_until("the server refuses", |app| app.counts.failed == 1)
        .await;
    assert!(matches!(
        s.app.entries[0].local.as_ref().map(|l| &l.delivery),
        Some(Delivery::Failed(_))
    ));
    s.press("k");
    assert_eq!(s.selected_id(), first);
    let screen = s.screen(120, 30);
    assert!(
        screen.contains("REFUSED by the server: conflict"),
        "{screen}"
    );
    assert!(screen.contains("failed 1"), "{screen}");
}

#[tokio::test]
async fn a_revoked_token_ends_the_session_with_plain_words() {
    let (_server, _data, mut s) = session().await;
    s.sync_event(SyncEvent::AuthLost("invalid token".into()));
    let message = s
        .app
        .quit
        .clone()
        .flatten()
        .expect("session ends with a message");
    assert!(message.contains("refused the token"), "{message}");
    assert!(message.contains("kept in the outbox"), "{message}");
}

#[tokio::test]
async fn hostile_text_is_shown_never_executed() {
    let (_server, _data, mut s) = session().await;
    s.load_whole_queue().await;
    // Walk the whole queue; every screen must be free of raw control characters.
    s.press("g");
    let total = s.app.entries.len();
    let mut seen_escape_picture = false;
    for _ in 0..total {
        let screen = s.screen(120, 40);
        assert!(
            !screen.chars().any(|c| c.is_control() && c != '\n'),
            "raw control character on screen:\n{screen:?}"
        );
        for bidi in ['\u{202e}', '\u{2066}', '\u{200b}'] {
            assert!(!screen.contains(bidi), "raw {bidi:?} on screen");
        }
        seen_escape_picture |= screen.contains('␛');
        s.press("j");
    }
    assert!(
        seen_escape_picture,
        "the sample's escape-sequence post shows ␛"
    );
}

#[tokio::test]
async fn any_terminal_size_draws_without_panic() {
    let (_server, _data, mut s) = session().await;
    s.press("t?");
    s.draw_at_every_size();
    assert!(s.screen(20, 4).contains("window too"));
}

#[tokio::test]
async fn without_colour_the_selection_still_shows() {
    let (_server, _data, mut s) = session().await;
    s.app.theme = Theme::monochrome();
    let screen = render(&s.app, 80, 24);
    assert!(
        screen.lines().any(|l| l.starts_with("│▶")),
        "no ▶ marker:\n{screen}"
    );
}

#[tokio::test]
async fn offline_the_moderator_works_through_what_was_prefetched_and_is_told_when_it_ends() {
    let (mut server, _data, mut s) = session().await;
    server.stop().await;
    s.press("t");
    s.wait_until("the outage shows", |app| {
        matches!(app.link, Link::Offline(_))
    })
    .await;
    let in_memory = s.app.entries.len();
    for _ in 1..in_memory {
        s.press("a");
    }
    assert_eq!(
        s.app.decided, in_memory,
        "every prefetched item decided offline"
    );
    let screen = s.screen(160, 48);
    assert!(
        screen.contains("No more items in memory: the API is unreachable"),
        "{screen}"
    );
    assert!(screen.contains(&format!("unsent {in_memory}")), "{screen}");
    // Back online, the flusher's own retry (backoff) delivers everything.
    server.restart().await;
    s.wait_delivered().await;
}

#[tokio::test]
async fn two_moderators_never_hold_the_same_item_and_a_quit_hands_items_back() {
    let server = TestServer::with_sample().await;
    let (alice_dir, bob_dir) = (
        tempfile::tempdir().expect("tmp"),
        tempfile::tempdir().expect("tmp"),
    );
    let alice = Session::open(&server, alice_dir.path()).await;
    let bob_token = server.add_moderator("mod-bob");
    let mut bob = Session::open_as(&server, &bob_token, bob_dir.path()).await;
    // Each lists the queue, but leases only the few items at the top of what is free: Bob's
    // are not Alice's, and his list says who is reviewing hers.
    let alices: std::collections::HashSet<String> = alice.app.held_ids().into_iter().collect();
    assert_eq!(alices.len(), modq::tui::app::LEASE_WINDOW);
    let bobs = bob.app.held_ids();
    assert_eq!(bobs.len(), modq::tui::app::LEASE_WINDOW);
    assert!(bobs.iter().all(|id| !alices.contains(id)));
    for e in bob.app.entries.iter().filter(|e| alices.contains(&e.id)) {
        assert_eq!(e.held_by.as_deref(), Some("mod-alice"), "{}", e.id);
    }
    assert!(
        !alices.contains(&bob.selected_id()),
        "Bob starts on a free item"
    );

    // Alice leaves without deciding: her items go back to the queue, and the next moderator
    // to open it gets them (they are the most urgent).
    alice.quit().await;
    let carol_dir = tempfile::tempdir().expect("tmp");
    let carol = Session::open_as(
        &server,
        &server.add_moderator("mod-carol"),
        carol_dir.path(),
    )
    .await;
    let carols: std::collections::HashSet<String> = carol.app.held_ids().into_iter().collect();
    assert_eq!(carols, alices, "Carol gets exactly what Alice handed back");
    bob.press("t");
    bob.wait_delivered().await;
}

#[tokio::test]
async fn an_item_another_moderator_took_is_marked_and_skipped() {
    let (_server, _data, mut s) = session().await;
    let ids = s.first_ids(2);
    s.sync_event(SyncEvent::LeasesLost(vec![ids[0].clone()]));
    let screen = s.screen(120, 30);
    assert!(screen.contains("⊘"), "{screen}");
    assert!(screen.contains("not yours any more"), "{screen}");
    s.press("t");
    assert_eq!(s.app.decided, 0, "no decision on an item that is not ours");
    assert!(s.screen(120, 30).contains("Not yours to decide any more"));
    s.press("j");
    s.press("t");
    assert_eq!(s.app.decided, 1);
}

#[tokio::test]
async fn a_decision_the_role_cannot_make_is_marked_and_refused_before_it_is_journaled() {
    let (server, _data, mut s) = session().await;
    // Bob sends an item alice has not been handed to the legal tier.
    let held: Vec<String> = s.app.entries.iter().map(|e| e.id.clone()).collect();
    let bob = ModqClient::new(&server.api, &server.add_moderator("mod-bob")).expect("client");
    let everything = bob
        .queue_page(&modq::backend::QueueQuery {
            limit: Some(500),
            ..Default::default()
        })
        .await
        .expect("queue");
    let other = everything
        .items
        .iter()
        .map(|i| i.id.clone())
        .rfind(|id| !held.contains(id))
        .expect("an item outside alice's window");
    let mut escalate = common::decision(&other, DecisionAction::Escalate);
    escalate.escalation_target = Some(EscalationTier::Legal);
    escalate.note = Some("court order attached".into());
    let answer = bob.send_decisions(&[escalate]).await.expect("sent");
    assert_eq!(answer[0].outcome, DecisionOutcome::Applied);

    // The item reaches alice's window as the server describes it to her token.
    let alice = ModqClient::new(&server.api, &server.token).expect("client");
    let item = alice.item(&other).await.expect("item");
    assert_eq!(item.allowed_actions, Some(vec![]));
    s.sync_event(SyncEvent::Page {
        items: vec![item],
        next_cursor: None,
    });
    s.press("G");
    assert_eq!(s.selected_id(), other);
    let screen = s.screen(160, 48);
    assert!(screen.contains("✗t take down"), "{screen}");
    assert!(screen.contains("✗a keep"), "{screen}");

    s.press("t");
    assert_eq!(s.app.decided, 0, "nothing was journaled");
    assert_eq!(s.selected_id(), other, "the selection stays");
    let screen = s.screen(160, 48);
    assert!(
        screen.contains("Your role cannot take down this item: it is escalated to legal"),
        "{screen}"
    );
    assert_eq!(server.audit_rows(&other), 1, "only bob's escalation");
}

#[tokio::test]
async fn the_item_shows_its_authors_record() {
    let (_server, _data, s) = session().await;
    let item = &s.app.entries[0].shown;
    let record = item
        .author_record
        .as_ref()
        .expect("the server sends the record");
    let screen = s.screen(160, 48);
    let expected = modq::tui::context::record_line(record);
    assert!(screen.contains(&format!("record {expected}")), "{screen}");
}

#[tokio::test]
async fn deadline_countdowns_turn_to_warning_then_urgent_as_they_near() {
    let (_server, _data, s) = session().await;
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 48)).expect("terminal");
    terminal
        .draw(|frame| modq::tui::view::draw(frame, &s.app))
        .expect("draw");
    let buffer = terminal.backend().buffer();
    // The colour of each countdown in the list, by the text after the clock.
    let mut seen = Vec::new();
    for y in 0..buffer.area.height {
        // The selected row is drawn in the selection's colours.
        if (0..buffer.area.width).any(|x| buffer[(x, y)].symbol() == "▶") {
            continue;
        }
        for x in 0..buffer.area.width {
            if buffer[(x, y)].symbol() != "⏱" {
                continue;
            }
            let text: String = (x + 1..x + 8)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect();
            seen.push((text, buffer[(x, y)].fg));
        }
    }
    // Every countdown of a kind has one colour, and there is at least one of each kind.
    let colour_of = |pick: &dyn Fn(&str) -> bool| {
        let colours: std::collections::HashSet<_> = seen
            .iter()
            .filter(|(t, _)| pick(t))
            .map(|(_, c)| *c)
            .collect();
        assert_eq!(colours.len(), 1, "{seen:?}");
        colours.into_iter().next().unwrap_or_default()
    };
    let theme = Theme::default_theme();
    assert_eq!(Some(colour_of(&|t| t.starts_with('-'))), theme.urgent.fg);
    let left = |t: &str| t.split(' ').next().unwrap_or_default().to_string();
    // Within the hour ("36m"): urgent; within the day ("7h09m"): warning. (More than a
    // day left is muted; the `deadline` unit test covers it: no such item is on this page.)
    assert_eq!(
        Some(colour_of(
            &|t| !t.starts_with('-') && !left(t).contains(['h', 'd'])
        )),
        theme.urgent.fg
    );
    assert_eq!(
        Some(colour_of(&|t| !t.starts_with('-')
            && left(t).contains('h')
            && !left(t).contains('d'))),
        theme.warning.fg
    );
}
