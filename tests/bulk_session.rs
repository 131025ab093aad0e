//! A moderator clearing floods: tags, ranges, `*` on a filter, the `;` prefix with its
//! confirmation, one undo for a whole bulk action, filtering as they type, sorting, the
//! command line, piping an item and copying its id. Against the reference server over HTTP;
//! what the screen shows and what the server received are both checked.

mod common;

use std::collections::HashSet;

use base64::Engine;
use common::{Session, TestServer};
use modq::model::{EscalationTier, ReviewState, Scope};
use modq::query::{Query, Sort};
use modq::tui::app::Layer;

async fn session() -> (TestServer, tempfile::TempDir, Session) {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let session = Session::open(&server, data.path()).await;
    (server, data, session)
}

/// The server's state of an item, by id.
async fn states(server: &TestServer, ids: &[String]) -> Vec<ReviewState> {
    let mut out = Vec::new();
    for id in ids {
        out.push(server.item(id).await.state);
    }
    out
}

#[tokio::test]
async fn space_tags_and_one_prefixed_key_takes_them_all_down_after_a_yes() {
    let (server, _data, mut s) = session().await;
    let ids = s.first_ids(4);
    // Tag the first, third and fourth item; space moves on by itself.
    s.press("<space>j<space><space>");
    assert_eq!(s.app.tagged.len(), 3);
    assert!(s.screen(120, 30).contains("tagged 3"));

    s.press(";t");
    let screen = s.screen(120, 30);
    assert!(
        screen.contains("Take down 3 tagged items?"),
        "the confirmation names the count:\n{screen}"
    );
    // Nothing is decided before the yes.
    assert_eq!(s.app.decided, 0);
    s.press("y");
    assert_eq!(s.app.decided, 3);
    assert!(s.app.tagged.is_empty(), "the tags are used up");
    s.wait_until("the bulk is acknowledged", |app| app.bulk.is_none())
        .await;
    s.wait_delivered().await;
    let tagged = [ids[0].clone(), ids[2].clone(), ids[3].clone()];
    assert_eq!(
        states(&server, &tagged).await,
        vec![ReviewState::TakenDown; 3]
    );
    assert_eq!(server.item(&ids[1]).await.state, ReviewState::Open);
    assert!(s.screen(120, 30).contains("3 acknowledged by the server"));
}

#[tokio::test]
async fn one_undo_takes_back_a_whole_bulk_action() {
    let (server, _data, mut s) = session().await;
    let single = s.selected_id();
    s.press("a");
    let ids: Vec<String> = s
        .app
        .entries
        .iter()
        .skip(1)
        .take(5)
        .map(|e| e.id.clone())
        .collect();
    s.press("Vjjjj");
    assert!(s.screen(120, 30).contains("tagged 5 (range)"));
    s.press(";t");
    s.press("y");
    s.wait_until("the bulk is acknowledged", |app| app.bulk.is_none())
        .await;
    assert_eq!(states(&server, &ids).await, vec![ReviewState::TakenDown; 5]);

    // One u: the whole bulk, not just its last item, comes back.
    s.press("u");
    assert!(
        s.screen(160, 30)
            .contains("Undone: bulk take down of 5 items"),
        "{}",
        s.screen(160, 30)
    );
    assert_eq!(s.app.decided, 1);
    s.wait_delivered().await;
    assert_eq!(states(&server, &ids).await, vec![ReviewState::Open; 5]);
    for id in &ids {
        assert_eq!(server.audit_rows(id), 2, "the take down and its reversal");
    }
    // The single keep before it is the next undo, and still stands until then.
    assert_eq!(server.item(&single).await.state, ReviewState::Kept);
}

/// Two and a half requests' worth: while a full batch is on the wire the next is already
/// claimed, so an API that drops out has to hand both back. Nothing may be lost (a batch
/// left marked as on its way) or doubled.
#[tokio::test]
async fn a_bulk_bigger_than_a_request_arrives_whole_and_once_through_an_outage() {
    // More than two requests, the last one short.
    const ITEMS: usize = 2 * modq::server::MAX_DECISIONS_PER_BATCH + 500;
    let jsonl: String = (0..ITEMS)
        .map(|i| {
            format!(
                r#"{{"subject":{{"id":"wave-{i:05}","kind":"post","text":"Spam wave {i}: win a prize at prize.example"}},"category":"spam","received_at":"2026-11-23T10:00:00Z"}}"#
            ) + "\n"
        })
        .collect();
    let mut server = TestServer::with_reports(&jsonl).await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = Session::open(&server, data.path()).await;
    s.press("*");
    s.wait_until("every open item is tagged", |app| app.tagged.len() == ITEMS)
        .await;

    server.stop().await;
    s.press(";ty");
    s.wait_until("the first request failed", |app| {
        matches!(app.link, modq::tui::app::Link::Offline(_))
    })
    .await;
    server.restart().await;
    s.wait_until("the bulk is acknowledged", |app| app.bulk.is_none())
        .await;
    s.wait_delivered().await;
    assert_eq!(s.app.counts.failed, 0);

    let db = rusqlite::Connection::open(&server.db).expect("open db");
    let (rows, items): (i64, i64) = db
        .query_row(
            "SELECT COUNT(*), COUNT(DISTINCT item_id) FROM audit WHERE action = 'take_down'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("count audit");
    assert_eq!((rows, items), (ITEMS as i64, ITEMS as i64));
    let open: i64 = db
        .query_row("SELECT COUNT(*) FROM items WHERE state = 'open'", [], |r| {
            r.get(0)
        })
        .expect("count open");
    assert_eq!(open, 0);
}

#[tokio::test]
async fn star_tags_every_match_also_beyond_the_window_and_n_cancels() {
    let (server, _data, mut s) = session().await;
    // The whole queue's spam, as the server knows it.
    let all = server.all_items().await;
    let spam: HashSet<String> = all
        .iter()
        .filter(|i| i.reports.iter().any(|r| r.category == "spam"))
        .map(|i| i.id.clone())
        .collect();
    let in_window: HashSet<String> = s.app.entries.iter().map(|e| e.id.clone()).collect();
    assert!(
        spam.iter().any(|id| !in_window.contains(id)),
        "some spam is not in memory yet"
    );

    s.press("/cat:spam<enter>");
    s.press("*");
    s.wait_until("the server answers the selection", |app| {
        app.tagged.len() == spam.len()
    })
    .await;
    assert_eq!(s.app.tagged, spam);
    assert!(
        s.screen(120, 30)
            .contains(&format!("tagged {}", spam.len()))
    );

    // n: nothing happens, the tags stay.
    s.press(";an");
    assert_eq!(s.app.decided, 0);
    assert_eq!(s.app.tagged.len(), spam.len());

    s.press(";ay");
    s.wait_until("the bulk is acknowledged", |app| app.bulk.is_none())
        .await;
    for id in &spam {
        assert_eq!(server.item(id).await.state, ReviewState::Kept, "{id}");
    }
}

#[tokio::test]
async fn the_gauge_shows_a_bulk_action_while_the_moderator_keeps_working() {
    let (mut server, _data, mut s) = session().await;
    server.stop().await;
    s.press("<space><space><space>;e");
    s.press("y");
    // The bulk is saved off the UI thread; the gauge shows where it stands.
    s.wait_until("the bulk is saved", |app| {
        app.bulk.as_ref().is_some_and(|b| b.saved)
    })
    .await;
    let screen = s.screen(120, 30);
    assert!(
        screen.contains("bulk escalate · sent") && screen.contains("acknowledged 0 of 3"),
        "{screen}"
    );
    // Meanwhile, work goes on: another item is decided alone.
    let next = s.selected_id();
    s.press("a");
    assert_ne!(s.selected_id(), next);
    server.restart().await;
    // A new decision nudges the outbox at once, rather than at the next backoff.
    s.press("a");
    s.wait_until("the bulk is acknowledged", |app| app.bulk.is_none())
        .await;
    let escalated: Vec<String> = s.app.entries.iter().take(3).map(|e| e.id.clone()).collect();
    for id in &escalated {
        let item = server.item(id).await;
        assert_eq!(item.state, ReviewState::Escalated);
        assert_eq!(item.escalation_target, Some(EscalationTier::Senior));
    }
}

#[tokio::test]
async fn the_filter_narrows_the_list_as_you_type_and_enter_asks_the_server() {
    let (_server, _data, mut s) = session().await;
    let before = s.app.visible.len();
    s.press("/lang:de");
    // Before enter: the items in memory are already narrowed, the prompt is on screen.
    let german = s.app.visible.len();
    assert!(german > 0 && german < before);
    assert!(
        s.app
            .visible
            .iter()
            .all(|&i| s.app.entries[i].shown.language.as_deref() == Some("de"))
    );
    assert!(s.screen(100, 24).contains("/lang:de"));
    // esc: back to everything.
    s.press("<esc>");
    assert_eq!(s.app.visible.len(), before);

    s.press("/lang:de<enter>");
    s.wait_until("the filtered pages arrive", |app| {
        app.queue_end == modq::tui::app::QueueEnd::Exhausted
    })
    .await;
    assert!(
        s.app
            .entries
            .iter()
            .all(|e| e.shown.language.as_deref() == Some("de"))
    );
    let screen = s.screen(120, 30);
    assert!(screen.contains("· lang:de"), "{screen}");

    // A mistake keeps the prompt open and names it.
    s.press("/colour:red<enter>");
    assert!(matches!(s.app.layers.last(), Some(Layer::Prompt(_))));
    assert!(s.screen(100, 24).contains("unknown filter colour:"));
}

#[tokio::test]
async fn sort_orders_the_window_and_the_pages_to_come() {
    let (_server, _data, mut s) = session().await;
    s.press(":sort deadline<enter>");
    assert_eq!(s.app.sort, Sort::Deadline);
    let deadlines: Vec<_> = s
        .app
        .visible
        .iter()
        .map(|&i| s.app.entries[i].shown.deadline)
        .take_while(Option::is_some)
        .collect();
    assert!(deadlines.len() > 2);
    assert!(deadlines.windows(2).all(|w| w[0] <= w[1]), "{deadlines:?}");
    assert!(s.screen(120, 30).contains("by deadline"));
    s.press("o");
    assert_eq!(s.app.sort, Sort::Priority, "o cycles on");
}

#[tokio::test]
async fn s_tags_a_spam_wave_by_author_link_or_text() {
    let (server, _data, mut s) = session().await;
    let all = server.all_items().await;
    // A wave: an item whose link or text others share.
    let wave_item = all
        .iter()
        .find(|i| {
            let like = modq::query::Likeness::of(i);
            all.iter()
                .filter(|o| o.id != i.id && like.matches(&modq::query::Likeness::of(o)))
                .count()
                >= 3
                && s.app.entries.iter().any(|e| e.id == i.id)
        })
        .expect("the sample has a wave in the first page");
    let query = Query::parse(&format!("similar:{}", wave_item.id)).expect("query");
    let like = |id: &str| {
        all.iter()
            .find(|i| i.id == id)
            .map(modq::query::Likeness::of)
    };
    let expected: HashSet<String> = all
        .iter()
        .filter(|i| query.matches(i, &like))
        .map(|i| i.id.clone())
        .collect();
    let at = s
        .app
        .visible
        .iter()
        .position(|&i| s.app.entries[i].id == wave_item.id)
        .expect("visible");
    for _ in 0..at {
        s.press("j");
    }
    s.press("S");
    s.wait_until("the server finds the wave", |app| {
        app.tagged.len() == expected.len()
    })
    .await;
    assert_eq!(s.app.tagged, expected);
}

#[tokio::test]
async fn the_command_line_decides_with_reason_scope_tier_and_note() {
    let (server, _data, mut s) = session().await;
    // A typed reason is checked against the catalog before it is journaled.
    s.wait_until("the catalog arrives", |app| app.policies.is_some())
        .await;
    let first = s.selected_id();
    s.press(":takedown reason=spam scope=DE,AT \"court order 12\"<enter>");
    let second = s.selected_id();
    assert_ne!(second, first);
    s.press(":escalate legal \"needs counsel\"<enter>");
    s.wait_delivered().await;
    let taken = server.item(&first).await;
    assert_eq!(
        taken.restricted_in,
        Some(Scope::Countries(vec!["AT".into(), "DE".into()]))
    );
    let decision = taken.history.last().expect("history");
    assert_eq!(decision.reason_code.as_deref(), Some("spam"));
    assert_eq!(decision.note.as_deref(), Some("court order 12"));
    let escalated = server.item(&second).await;
    assert_eq!(escalated.escalation_target, Some(EscalationTier::Legal));

    // Tab completes; a wrong command keeps the line open with the reason.
    s.press(":so<tab>");
    assert!(
        matches!(s.app.layers.last(), Some(Layer::Prompt(p)) if p.text == "sort "),
        "{:?}",
        s.app.layers.last()
    );
    s.press("<esc>:frobnicate<enter>");
    assert!(s.screen(100, 24).contains("no command \"frobnicate\""));
    s.press("<esc>");
    // Every bound action is a command too.
    let before = s.selected_id();
    s.press(":move_down<enter>");
    assert_ne!(s.selected_id(), before);
}

#[tokio::test]
async fn pipe_shows_what_a_command_prints_about_the_item_safely() {
    let (_server, _data, mut s) = session().await;
    let id = s.selected_id();
    s.press("|tr a-z A-Z<enter>");
    s.wait_until("the command's output comes back", |app| {
        matches!(app.layers.last(), Some(Layer::Output { .. }))
    })
    .await;
    let screen = s.screen(120, 40);
    assert!(
        screen.contains(&format!("\"ID\": \"{}\"", id.to_uppercase())),
        "{screen}"
    );
    s.press("<esc>");
    // What a command prints is untrusted too: escapes come out as placeholders.
    s.press("|printf 'a\\033]0;pwned\\007b'<enter>");
    s.wait_until("the output comes back", |app| {
        matches!(app.layers.last(), Some(Layer::Output { .. }))
    })
    .await;
    let Some(Layer::Output { text, .. }) = s.app.layers.last() else {
        unreachable!()
    };
    assert!(text.contains("a␛]0;pwned␇b"), "{text:?}");
}

#[tokio::test]
async fn y_copies_the_id_with_osc_52() {
    let (_server, _data, mut s) = session().await;
    let id = s.selected_id();
    s.press("y");
    let written = String::from_utf8(s.terminal.clone()).expect("utf-8");
    let encoded = base64::engine::general_purpose::STANDARD.encode(id.as_bytes());
    assert_eq!(written, format!("\u{1b}]52;c;{encoded}\u{7}"));
    assert!(s.screen(120, 30).contains(&format!("Copied the id {id}")));
}

#[tokio::test]
async fn every_layer_draws_at_any_size_without_panicking() {
    let (_server, _data, mut s) = session().await;
    s.press("<space><space>");
    s.draw_at_every_size();
    s.press(";t");
    s.draw_at_every_size();
    s.press("n/cat:spam");
    s.draw_at_every_size();
    s.press("<esc>?");
    s.draw_at_every_size();
    s.press("<esc>V");
    s.draw_at_every_size();
}
