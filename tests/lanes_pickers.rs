//! Lane tabs, the take-down and escalation pickers, and an author's items, as a moderator
//! uses them against the reference server over HTTP.

mod common;

use common::{Session, TestServer};
use modq::model::{EscalationTier, HistoryEvent, Lane, ReviewState, Scope};

async fn session() -> (TestServer, tempfile::TempDir, Session) {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut session = Session::open(&server, data.path()).await;
    session
        .wait_until("the catalog and the lane counts arrive", |app| {
            app.policies.is_some() && app.lane_counts.is_some()
        })
        .await;
    (server, data, session)
}

#[tokio::test]
async fn lanes_are_tabs_with_counts_and_number_keys_switch_them() {
    let (server, _data, mut s) = session().await;
    let all = server.all_items().await;
    let urgent = all.iter().filter(|i| i.lane == Lane::Urgent).count();
    let screen = s.screen(160, 40);
    assert!(
        screen.contains(&format!("All {}", all.len())),
        "the All tab counts every open item:\n{screen}"
    );
    assert!(screen.contains(&format!("1 Urgent {urgent}")), "{screen}");

    // A digit may start a count (`3j`): alone, enter (or a moment) switches the lane.
    s.press("3<enter>");
    s.wait_until("the lane's pages arrive", |app| {
        app.queue_end == modq::tui::app::QueueEnd::Exhausted
    })
    .await;
    assert_eq!(s.app.lane(), Some(Lane::TrustedFlagger));
    assert!(
        s.app
            .visible
            .iter()
            .all(|&i| s.app.entries[i].shown.lane == Lane::TrustedFlagger)
    );
    assert!(s.screen(160, 40).contains("▸3 Trusted flagger"));
    // Tab goes on to the next lane, and round to all of them.
    s.press("<tab>");
    assert_eq!(s.app.lane(), Some(Lane::Standard));
    s.press("<tab><tab>");
    assert_eq!(s.app.lane(), None);
}

#[tokio::test]
async fn t_picks_a_reason_and_countries_found_by_name_and_a_note() {
    let (server, _data, mut s) = session().await;
    let id = s.selected_id();
    let countries = server.item(&id).await.countries;
    s.press("T");
    let screen = s.screen(120, 40);
    assert!(screen.contains("Take down"), "{screen}");
    // It starts on what `t` does: global. The item's own countries are offered, not chosen.
    assert!(screen.contains("scope  global — everywhere"), "{screen}");
    // The first reason in the catalog whose code or title says "hate".
    let hate = s
        .app
        .policies
        .as_ref()
        .and_then(|c| {
            c.policies.iter().find(|p| {
                format!("{} — {}", p.code, p.title)
                    .to_lowercase()
                    .contains("hate")
            })
        })
        .map(|p| p.code.clone())
        .expect("the catalog has a hate-speech reason");
    s.press("hate<enter>");
    for c in &countries {
        s.press(&format!("{c}<space>"));
    }
    s.press("austri<enter>");
    // The account step: Tab keeps what the catalog proposes for the author.
    s.press("<tab>court order 4711<enter>");
    assert_ne!(s.selected_id(), id, "decided: the next item is up");
    s.wait_delivered().await;

    let item = server.item(&id).await;
    let mut expected: Vec<String> = countries.clone();
    expected.push("AT".into());
    expected.sort();
    expected.dedup();
    assert_eq!(item.state, ReviewState::TakenDown);
    assert_eq!(item.restricted_in, Some(Scope::Countries(expected)));
    let take_down = item
        .history
        .iter()
        .find(|h| h.event == HistoryEvent::TakeDown)
        .expect("in the history");
    assert_eq!(take_down.reason_code.as_deref(), Some(hate.as_str()));
    assert_eq!(take_down.note.as_deref(), Some("court order 4711"));
}

#[tokio::test]
async fn e_escalates_to_a_tier_only_with_a_note() {
    let (server, _data, mut s) = session().await;
    let id = s.selected_id();
    s.press("E");
    s.press("legal<enter>");
    s.press("<enter>");
    assert!(
        s.screen(120, 40).contains("an escalation needs a note"),
        "{}",
        s.screen(120, 40)
    );
    assert_eq!(s.app.decided, 0);
    s.press("ministry order, needs counsel<enter>");
    s.wait_delivered().await;
    let item = server.item(&id).await;
    assert_eq!(item.state, ReviewState::Escalated);
    assert_eq!(item.escalation_target, Some(EscalationTier::Legal));
    let escalation = item
        .history
        .iter()
        .find(|h| h.event == HistoryEvent::Escalate)
        .expect("in the history");
    assert_eq!(
        escalation.note.as_deref(),
        Some("ministry order, needs counsel")
    );

    // Esc leaves a picker without deciding.
    let next = s.selected_id();
    s.press("E<esc>");
    assert_eq!(s.selected_id(), next);
    assert!(s.app.layers.is_empty());
}

#[tokio::test]
async fn a_shows_every_item_by_the_author() {
    let (server, _data, mut s) = session().await;
    let all = server.all_items().await;
    // An author with several items in the queue.
    let author = all
        .iter()
        .filter_map(|i| i.author.as_ref().map(|a| a.id.clone()))
        .find(|a| {
            all.iter()
                .filter(|i| i.author.as_ref().map(|x| &x.id) == Some(a))
                .count()
                >= 3
        })
        .expect("a prolific author");
    s.press(&format!(":filter author:{author}<enter>"));
    s.wait_until("the author's items arrive", |app| {
        app.queue_end == modq::tui::app::QueueEnd::Exhausted
    })
    .await;
    s.press(":filter<enter>");
    // From any of their items, A shows all of them.
    let one = all
        .iter()
        .find(|i| i.author.as_ref().map(|a| &a.id) == Some(&author))
        .map(|i| i.id.clone())
        .expect("item");
    s.wait_until("the window is back", |app| {
        app.queue_end == modq::tui::app::QueueEnd::Exhausted
            || app.entries.iter().any(|e| e.id == one)
    })
    .await;
    while s.selected_id() != one {
        let before = s.selected_id();
        s.press("j");
        if s.selected_id() == before {
            s.wait_until("more items", |app| app.entries.iter().any(|e| e.id == one))
                .await;
        }
    }
    s.press("A");
    s.wait_until("the author's items arrive", |app| {
        app.queue_end == modq::tui::app::QueueEnd::Exhausted
    })
    .await;
    let expected = all
        .iter()
        .filter(|i| i.author.as_ref().map(|a| &a.id) == Some(&author))
        .count();
    assert_eq!(s.app.visible.len(), expected);
    assert!(s.screen(160, 40).contains(&format!("author:{author}")));
}

#[tokio::test]
async fn a_legal_specialist_works_the_items_escalated_to_legal() {
    let server = TestServer::with_sample().await;
    // Alice escalates two items to legal with a note.
    let alice_data = tempfile::tempdir().expect("tempdir");
    let mut alice = Session::open(&server, alice_data.path()).await;
    let escalated = alice.first_ids(2);
    for _ in 0..2 {
        alice.press("Elegal<enter>court order<enter>");
    }
    alice.wait_delivered().await;

    // Lee, legal, opens modq: the escalated queue of the legal tier, nothing else.
    let lee_token = {
        let storage = modq::server::SqliteStorage::open(&server.db).expect("db");
        modq::server::add_token(&storage, "lee", modq::model::Role::Legal).expect("token")
    };
    let lee_data = tempfile::tempdir().expect("tempdir");
    let mut lee = Session::open_as(&server, &lee_token, lee_data.path()).await;
    assert_eq!(lee.app.queue, ReviewState::Escalated);
    let mut ids: Vec<String> = lee.app.entries.iter().map(|e| e.id.clone()).collect();
    ids.sort();
    let mut want = escalated.clone();
    want.sort();
    assert_eq!(ids, want);
    assert!(lee.screen(120, 30).contains("Escalated 2"));
    // Lee decides one; it is taken down by lee.
    let first = lee.selected_id();
    lee.press("t");
    lee.wait_delivered().await;
    assert_eq!(server.item(&first).await.state, ReviewState::TakenDown);

    // :queue open switches to the open queue.
    lee.press(":queue open<enter>");
    lee.wait_until("open items arrive", |app| {
        app.entries.iter().any(|e| e.is_open())
    })
    .await;
    assert_eq!(lee.app.queue, ReviewState::Open);
    assert!(
        lee.app
            .entries
            .iter()
            .filter(|e| e.is_open())
            .all(|e| e.shown.state == ReviewState::Open)
    );
}

#[tokio::test]
async fn the_pickers_draw_at_any_size_without_panicking() {
    let (_server, _data, mut s) = session().await;
    for keys in [
        "T",
        "hate<enter>",
        "austri<space><enter>",
        "<esc>E",
        "legal<enter>",
    ] {
        s.press(keys);
        s.draw_at_every_size();
    }
    assert!(matches!(
        s.app.layers.last(),
        Some(modq::tui::app::Layer::Picker { .. })
    ));
}
