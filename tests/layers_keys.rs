//! Scripted sessions through modq's own event loop: every input goes through the layer stack,
//! a picker or a note stays with the item it was opened on, and `e` climbs the tiers.

mod common;

use common::{Session, TestServer};
use crossterm::event::{MouseButton, MouseEventKind};
use modq::model::{EscalationTier, ReviewState, Role};
use modq::tui::app::Layer;

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

async fn mouse_session(server: &TestServer, data: &std::path::Path) -> Session {
    let config = modq::config::Config::parse("mouse = true\n", false);
    let mut s = Session::open_with(server, &server.token, data, config).await;
    s.wait_until("the policy catalog arrives", |app| app.policies.is_some())
        .await;
    s
}

#[tokio::test]
async fn a_wheel_or_a_click_over_the_picker_never_moves_the_item_it_decides() {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = mouse_session(&server, data.path()).await;
    let target = s.selected_id();
    let selected = s.app.selected;
    s.press("T");
    assert!(s.frame().contains("reason"), "{}", s.frame());

    // The wheel over the list and a click on a row: the picker takes them, the queue does
    // not move under it.
    for _ in 0..3 {
        s.mouse(MouseEventKind::ScrollDown, 10, 6);
    }
    s.mouse(MouseEventKind::Down(MouseButton::Left), 10, 8);
    assert_eq!(
        s.app.selected, selected,
        "the selection moved under the picker"
    );
    assert_eq!(s.app.layers.len(), 1, "the picker is still open");
    // The wheel moved the picker's own highlight instead.
    let highlighted = match s.app.layers.last() {
        Some(Layer::Picker { picker, .. }) => picker.choices()[picker.cursor].value.clone(),
        other => panic!("{other:?}"),
    };

    // Whatever moves the selection meanwhile (here the test itself), the picker decides the
    // item it was opened on.
    let elsewhere = s.app.visible[5];
    let other = s.app.entries[elsewhere].id.clone();
    s.app.selected = elsewhere;
    // Reason, scope, the account step's proposal, the note.
    s.press("<enter><enter><enter><enter>");
    s.wait_delivered().await;
    let item = server.item(&target).await;
    assert_eq!(item.state, ReviewState::TakenDown);
    assert_eq!(
        item.history.last().and_then(|h| h.reason_code.clone()),
        Some(highlighted)
    );
    assert_eq!(server.item(&other).await.state, ReviewState::Open);
    s.quit().await;
}

#[tokio::test]
async fn the_command_line_acts_on_the_item_it_was_opened_on() {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = Session::open(&server, data.path()).await;
    let target = s.selected_id();
    s.press(":");
    let elsewhere = s.app.visible[3];
    let other = s.app.entries[elsewhere].id.clone();
    s.app.selected = elsewhere;
    s.press("keep<enter>");
    s.wait_delivered().await;
    assert_eq!(server.item(&target).await.state, ReviewState::Kept);
    assert_eq!(server.item(&other).await.state, ReviewState::Open);
    s.quit().await;
}

#[tokio::test]
async fn a_paste_is_text_where_text_is_typed_and_never_keys() {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = Session::open(&server, data.path()).await;
    // On the queue a paste is nothing: `tat` pasted takes nothing down, keeps nothing.
    s.paste("tat");
    assert_eq!((s.app.decided, s.app.counts.unsent), (0, 0));

    // In the filter it is typed text, on one line, hostile bytes made visible.
    s.press("/");
    s.paste("cat:spam\nlane:urgent");
    s.paste(" \u{1b}[31m");
    let text = match s.app.layers.last() {
        Some(Layer::Prompt(p)) => p.text.clone(),
        other => panic!("{other:?}"),
    };
    assert!(text.starts_with("cat:spam lane:urgent"), "{text:?}");
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(s.frame().contains("cat:spam lane:urgent"), "{}", s.frame());
    s.press("<esc>");

    // In the picker's note, too.
    s.press("E<enter>");
    s.paste("court\norder");
    match s.app.layers.last() {
        Some(Layer::Picker { picker, .. }) => assert_eq!(picker.note, "court order"),
        other => panic!("{other:?}"),
    }
    s.quit().await;
}

/// A config that moves keys in every layer, and binds commands with arguments.
const REBOUND: &str = r#"
[keys]
u = "none"
z = "undo"
ctrl-l = "lane urgent"
K = "keep moved on by a colleague"

[keys.confirm]
y = "none"
c = "confirm"

[keys.view]
q = "none"
esc = "none"
x = "close"

[keys.prompt]
ctrl-j = "submit"
"#;

#[tokio::test]
async fn keys_rebound_in_every_layer_work_and_the_texts_name_them() {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let config = modq::config::Config::parse(REBOUND, false);
    assert_eq!(config.problems, vec![]);
    let mut s = Session::open_with(&server, &server.token, data.path(), config).await;

    // The bulk confirmation names the keys in force, and only they confirm.
    let tagged = s.first_ids(2);
    s.press("<space><space>;t");
    let frame = s.frame();
    assert!(frame.contains("c confirms, n cancels"), "{frame}");
    assert!(frame.contains("one z undoes them all"), "{frame}");
    s.press("y");
    assert!(
        matches!(s.app.layers.last(), Some(Layer::Confirm(_))),
        "y no longer confirms"
    );
    s.press("c");
    s.wait_delivered().await;
    for id in &tagged {
        assert_eq!(server.item(id).await.state, ReviewState::TakenDown);
    }

    // The help says how it closes now; q and esc no longer close it, x does.
    s.press("?");
    assert!(s.frame().contains("? or x closes"), "{}", s.frame());
    // Further down, the keys bound to commands, with their command lines.
    s.press(&"j".repeat(30));
    assert!(s.frame().contains(":lane urgent"), "{}", s.frame());
    s.press("q<esc>");
    assert!(matches!(s.app.layers.last(), Some(Layer::Help { .. })));
    s.press("x");
    assert!(s.app.layers.is_empty());

    // The prompt submits with ctrl-j, and its hint says so.
    s.press(":");
    assert!(s.frame().contains("ctrl-j applies"), "{}", s.frame());
    s.press("sort age");
    s.send([crossterm::event::Event::Key(
        crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char('j'),
            crossterm::event::KeyModifiers::CONTROL,
        ),
    )]);
    assert!(s.app.layers.is_empty(), "ctrl-j submitted the line");
    assert_eq!(s.app.sort.as_str(), "age");

    // A key bound to a command with its arguments: ctrl-l is `:lane urgent`.
    s.send([crossterm::event::Event::Key(
        crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char('l'),
            crossterm::event::KeyModifiers::CONTROL,
        ),
    )]);
    assert_eq!(s.app.lane(), Some(modq::model::Lane::Urgent));
    s.wait_until("urgent items arrive", |app| {
        app.entries.iter().any(|e| e.is_open())
    })
    .await;

    // K keeps with a note: the server has the note.
    let id = s.selected_id();
    s.press("K");
    s.wait_delivered().await;
    let item = server.item(&id).await;
    assert_eq!(item.state, ReviewState::Kept);
    assert_eq!(
        item.history.last().and_then(|h| h.note.clone()).as_deref(),
        Some("moved on by a colleague")
    );
    // z undoes it now.
    s.press("z");
    assert!(s.frame().contains("Undone"), "{}", s.frame());
    s.quit().await;
}
