//! A moderator filtering the queue (`/`): the live preview says what it knows (the items in
//! memory) and no more, names values nobody has, and Enter hands the filter to the server,
//! which claims exactly what it means. Against the reference server over HTTP; the screen and
//! the server's leases are both checked.

mod common;

use std::collections::BTreeSet;

use common::{Session, TestServer};
use modq::query::{Likeness, Query};
use modq::tui::app::{Layer, QueueEnd};

async fn session() -> (TestServer, tempfile::TempDir, Session) {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let session = Session::open(&server, data.path()).await;
    (server, data, session)
}

/// The line under the filter prompt.
fn prompt_note(s: &Session) -> String {
    match s.app.layers.last() {
        Some(Layer::Prompt(p)) => p.note.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

/// What the server holds for mod-alice now: the ids of her live leases.
fn leased_to_alice(server: &TestServer) -> BTreeSet<String> {
    let conn = rusqlite::Connection::open(&server.db).expect("open db");
    let mut stmt = conn
        .prepare("SELECT item_id FROM leases WHERE holder = 'mod-alice'")
        .expect("prepare");
    stmt.query_map([], |r| r.get::<_, String>(0))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect()
}

/// Let the session run until the server's leases for mod-alice satisfy `done`.
async fn until_leases(
    s: &mut Session,
    server: &TestServer,
    what: &str,
    done: impl Fn(&BTreeSet<String>) -> bool,
) {
    for _ in 0..450 {
        if done(&leased_to_alice(server)) {
            return;
        }
        s.pump_wait(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "timed out waiting until {what}: {:?}",
        leased_to_alice(server)
    );
}

/// The open items the filter means, as the TUI's own matcher reads every item on the server.
async fn everything_matching(server: &TestServer, filter: &str) -> BTreeSet<String> {
    let all = server.all_items().await;
    let query = Query::parse(filter).expect("filter parses");
    let likeness = |id: &str| all.iter().find(|i| i.id == id).map(Likeness::of);
    all.iter()
        .filter(|i| query.matches(i, &likeness))
        .map(|i| i.id.clone())
        .collect()
}

#[tokio::test]
async fn the_preview_counts_what_is_in_memory_and_enter_asks_the_server() {
    let (server, _data, mut s) = session().await;
    // Low priorities: the first window holds the top of the queue.
    let filter = "lang:ru prio:<50";
    let on_server = everything_matching(&server, filter).await;
    assert!(
        !on_server.is_empty(),
        "the sample has Russian items above 50"
    );
    let in_memory = s.app.entries.len();
    let shown_before = s
        .app
        .entries
        .iter()
        .filter(|e| on_server.contains(&e.id))
        .count();
    assert_eq!(shown_before, 0, "none of them is in the first window");

    s.press("/");
    s.press(filter);
    // The preview does not claim the queue has none: it has not seen the queue.
    let note = prompt_note(&s);
    assert_eq!(
        note,
        format!("0 of the {in_memory} in memory; enter asks the server")
    );
    let screen = s.screen(100, 30);
    assert!(
        screen.contains(&format!(
            "None of the {in_memory} items in memory match; enter asks"
        )),
        "{screen}"
    );
    assert!(!screen.contains("Nothing matches"), "{screen}");

    s.press("<enter>");
    s.wait_until("the server's matches arrive", |app| {
        app.queue_end == QueueEnd::Exhausted || !app.visible.is_empty()
    })
    .await;
    s.wait_until("every match is claimed", |app| {
        app.entries.len() >= on_server.len() || app.queue_end == QueueEnd::Exhausted
    })
    .await;
    let window: BTreeSet<String> = s.app.entries.iter().map(|e| e.id.clone()).collect();
    assert_eq!(window, on_server, "the window holds what the filter means");
    // What the server received: a claim with the filter, so Alice holds those items and no
    // others (the first window's leases were handed back).
    until_leases(&mut s, &server, "Alice holds the matches only", |l| {
        *l == on_server
    })
    .await;
    let screen = s.screen(100, 30);
    assert!(
        screen.contains("Filter: lang:ru prio:<50"),
        "as typed:\n{screen}"
    );
    assert!(!screen.contains("prio:49"), "{screen}");
    s.quit().await;
}

#[tokio::test]
async fn a_value_no_item_has_is_named_with_the_one_meant() {
    let (server, _data, mut s) = session().await;
    let in_memory = s.app.entries.len();
    s.press("/cat:spma");
    assert_eq!(
        prompt_note(&s),
        format!(
            "no item has category spma (did you mean spam?) · 0 of the {in_memory} in memory; \
             enter asks the server"
        )
    );
    s.press("<esc>/lang:russian");
    assert!(
        prompt_note(&s).starts_with(
            "no item has language russian: languages are codes such as en (did you mean ru?)"
        ),
        "{}",
        prompt_note(&s)
    );
    // A category the catalog knows though no item in memory has it is not called unknown.
    s.press("<esc>/cat:spam,scam");
    let note = prompt_note(&s);
    assert!(!note.contains("no item has"), "{note}");
    let matching = s
        .app
        .entries
        .iter()
        .filter(|e| {
            e.shown
                .reports
                .iter()
                .any(|r| r.category == "spam" || r.category == "scam")
        })
        .count();
    assert_eq!(
        note,
        format!("{matching} of the {in_memory} in memory; enter asks the server")
    );

    // Enter still asks the server (it knows more than memory), and says why nothing came.
    s.press("<esc>/cat:spma<enter>");
    s.wait_until("the server answers", |app| {
        app.queue_end == QueueEnd::Exhausted
    })
    .await;
    assert!(s.app.visible.is_empty());
    let screen = s.screen(120, 30);
    assert!(
        screen.contains("Filter: cat:spma — no item has category spma (did you mean spam?)"),
        "{screen}"
    );
    assert!(screen.contains("Nothing matches the filter"), "{screen}");
    // The first window's leases are handed back in the background: wait for it.
    until_leases(
        &mut s,
        &server,
        "the server claimed nothing and the first window went back",
        |l| l.is_empty(),
    )
    .await;
    s.quit().await;
}

#[tokio::test]
async fn negation_and_alternatives_reach_the_server_as_typed() {
    let (server, _data, mut s) = session().await;
    let filter = "cat:spam,scam -lang:en,fr";
    let on_server = everything_matching(&server, filter).await;
    s.press(&format!("/{filter}<enter>"));
    s.wait_until("the matches are claimed", |app| {
        app.queue_end == QueueEnd::Exhausted
            || app.entries.iter().all(|e| on_server.contains(&e.id)) && !app.entries.is_empty()
    })
    .await;
    for e in &s.app.entries {
        assert!(on_server.contains(&e.id), "{} does not match", e.id);
        let lang = e.shown.language.as_deref().unwrap_or_default();
        assert!(lang != "en" && lang != "fr");
    }
    until_leases(&mut s, &server, "Alice holds matches only", |l| {
        !l.is_empty() && l.is_subset(&on_server)
    })
    .await;
    // `/` opens on the filter in force, in its canonical form.
    s.press("/");
    match s.app.layers.last() {
        Some(Layer::Prompt(p)) => assert_eq!(p.text, format!("{filter} ")),
        other => panic!("the filter prompt, not {other:?}"),
    }
    s.quit().await;
}
