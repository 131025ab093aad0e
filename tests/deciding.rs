//! Deciding right (issue 16, items 5–8), as a moderator's sessions against the reference
//! server over HTTP: each asserts on what the screen shows and on what the server received.
//!
//! A take down scoped by a court order that lands in the wrong country is a legal error; a
//! decision typed with a bad reason or country must not reach the outbox; and after a refusal,
//! undo and the status counts must say what is true.

mod common;
#[path = "common/fault_proxy.rs"]
mod fault_proxy;
#[path = "common/received.rs"]
mod received;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use serde_json::json;

use common::{Session, TestServer};
use fault_proxy::{Fault, FaultProxy};
use modq::model::{DecisionAction, DecisionOutcome, ReviewState, Scope};
use modq::tui::app::Layer;
use modq::tui::picker::{Picker, countries};
use received::{applied, decide_as};

/// A small queue: a hash-matched abuse image reported in Japan, an item under a German court
/// order, and plain reports to decide around them.
const QUEUE: &str = r#"{"subject": {"id": "csam-jp", "kind": "media", "text": "(image)", "author": {"id": "u-1"}, "language": "ja", "countries": ["JP"], "media": [{"kind": "image", "description": "[image withheld]", "hash_match": "photodna:known"}]}, "reporter_type": "automated", "category": "csam", "comment": "hash match", "received_at": "2026-11-23T09:00:00Z"}
{"subject": {"id": "csam-jp-2", "kind": "media", "text": "(image)", "author": {"id": "u-2"}, "language": "ja", "countries": ["JP"], "media": [{"kind": "image", "description": "[image withheld]", "hash_match": "photodna:known"}]}, "reporter_type": "automated", "category": "csam", "comment": "hash match", "received_at": "2026-11-23T09:01:00Z"}
{"subject": {"id": "order-de", "kind": "post", "text": "Volksverhetzung, per court order", "author": {"id": "u-3"}, "language": "de", "countries": ["DE"]}, "reporter_type": "user", "category": "hate", "comment": "court order LG Berlin 4711", "received_at": "2026-11-23T09:02:00Z"}
{"subject": {"id": "p-1", "kind": "post", "text": "buy followers", "author": {"id": "u-4"}, "countries": ["FR"]}, "reporter_type": "user", "category": "spam", "received_at": "2026-11-23T09:03:00Z"}
{"subject": {"id": "p-2", "kind": "post", "text": "buy likes", "author": {"id": "u-5"}, "countries": ["AT"]}, "reporter_type": "user", "category": "spam", "received_at": "2026-11-23T09:04:00Z"}
{"subject": {"id": "p-3", "kind": "post", "text": "cheap watches", "author": {"id": "u-6"}, "countries": ["NL"]}, "reporter_type": "user", "category": "spam", "received_at": "2026-11-23T09:05:00Z"}
{"subject": {"id": "p-4", "kind": "post", "text": "cheap bags", "author": {"id": "u-7"}, "countries": ["US"]}, "reporter_type": "user", "category": "spam", "received_at": "2026-11-23T09:06:00Z"}
{"subject": {"id": "p-5", "kind": "post", "text": "cheap shoes", "author": {"id": "u-8"}, "countries": ["BE"]}, "reporter_type": "user", "category": "spam", "received_at": "2026-11-23T09:07:00Z"}
"#;

/// Alice's desk, straight to the server; the catalog has arrived.
async fn desk(server: &TestServer) -> (tempfile::TempDir, Session) {
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = Session::open(server, data.path()).await;
    s.wait_until("the catalog arrives", |app| app.policies.is_some())
        .await;
    (data, s)
}

/// Alice's desk through a proxy that sees every request (the server's own address stays in
/// the returned string, for another moderator).
async fn desk_through_proxy() -> (TestServer, String, FaultProxy, tempfile::TempDir, Session) {
    let mut server = TestServer::with_reports(QUEUE).await;
    let direct = server.api.clone();
    let proxy = FaultProxy::start(server.addr).await;
    server.api = proxy.url();
    let (data, s) = desk(&server).await;
    (server, direct, proxy, data, s)
}

/// Move the cursor to an item, as a click on its row does.
fn go_to(s: &mut Session, id: &str) {
    let i = s
        .app
        .entries
        .iter()
        .position(|e| e.id == id)
        .unwrap_or_else(|| panic!("{id} in the window"));
    s.select(i);
    assert_eq!(s.selected_id(), id);
}

fn ctrl(s: &mut Session, c: char) {
    s.send([crossterm::event::Event::Key(KeyEvent::new(
        KeyCode::Char(c),
        KeyModifiers::CONTROL,
    ))]);
}

fn picker(s: &Session) -> &Picker {
    match s.app.layers.last() {
        Some(Layer::Picker { picker: p, .. }) => p,
        other => panic!("the picker is open, not {other:?}"),
    }
}

/// What the take-down picker shows for a field (`reason`, `scope`), its border left off.
fn field(screen: &str, name: &str) -> String {
    let label = format!("{name:<7}");
    let line = screen
        .lines()
        .find(|l| l.contains(&format!("▸ {label}")) || l.contains(&format!("  {label}")))
        .unwrap_or_else(|| panic!("no {name} field:\n{screen}"));
    let after = line.split_once(&label).map_or("", |(_, a)| a);
    // Up to the popup's border: what the screen shows beside it is not the field's.
    after.split('│').next().unwrap_or("").trim_end().to_string()
}

/// Decisions alice's desk sent through the proxy so far.
fn posts(proxy: &FaultProxy) -> usize {
    proxy
        .log()
        .iter()
        .filter(|s| s.request.starts_with("POST /v1/decisions"))
        .count()
}

fn countries_json(codes: &[&str]) -> serde_json::Value {
    json!(codes)
}

// --- 5. the country picker picks the country typed ----------------------------------------

#[tokio::test]
async fn typing_any_countrys_code_in_t_chooses_exactly_that_country() {
    let server = TestServer::with_reports(QUEUE).await;
    let (_data, mut s) = desk(&server).await;
    go_to(&mut s, "order-de");
    for (code, name) in countries() {
        for typed in [code.to_lowercase(), code.to_string()] {
            s.press(&format!("T<enter>{typed}<space>"));
            assert_eq!(picker(&s).countries, vec![code], "{typed} is {name}");
            let screen = s.screen(200, 40);
            assert_eq!(field(&screen, "scope"), format!("{code} {name}"), "{typed}");
            s.press("<esc>");
        }
    }
    assert_eq!(s.app.decided, 0, "looking decides nothing");

    // The issue's cases, decided: `de` is Germany, and the server holds exactly that.
    s.press("T<enter>de<space>");
    assert_eq!(field(&s.screen(120, 40), "scope"), "DE Germany");
    // Enter goes on to the account step, Tab keeps its proposal (a strike), then the note.
    s.press("<enter><tab>court order LG Berlin 4711<enter>");
    s.wait_delivered().await;
    let rows = applied(&server.db, "order-de");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].action, "take_down");
    assert_eq!(rows[0].scope, Some(countries_json(&["DE"])));
    assert_eq!(rows[0].note.as_deref(), Some("court order LG Berlin 4711"));
    for (id, typed, code) in [
        ("p-1", "fr", "FR"),
        ("p-2", "at", "AT"),
        ("p-3", "nl", "NL"),
    ] {
        go_to(&mut s, id);
        s.press(&format!("T<enter>{typed}<enter><tab><enter>"));
        s.wait_delivered().await;
        let rows = applied(&server.db, id);
        assert_eq!(rows[0].scope, Some(countries_json(&[code])), "{typed}");
    }
}

#[tokio::test]
async fn names_prefixes_groups_and_ctrl_u_find_the_country_meant() {
    let server = TestServer::with_reports(QUEUE).await;
    let (_data, mut s) = desk(&server).await;
    go_to(&mut s, "p-4");
    // A prefix lists its countries, the code first, and never a name with it mid-word.
    s.press("T<enter>us");
    let screen = s.screen(120, 40);
    assert!(screen.contains("▶  US — United States"), "{screen}");
    assert!(!screen.contains("AU — Australia"), "{screen}");
    // ctrl-u clears the search: the whole list is back, nothing highlighted.
    ctrl(&mut s, 'u');
    assert_eq!(picker(&s).search, "");
    assert_eq!(picker(&s).highlighted(), None);
    // A full name, spaces and all, chooses exactly it, not a shorter name on the way.
    s.press("united states minor outlying islands<enter>");
    assert_eq!(picker(&s).countries, vec!["UM"]);
    // Accents need not be typed; a space inside a name is part of it.
    s.press("<esc>T<enter>united kingdom<space>aland islands<enter>");
    assert_eq!(picker(&s).countries, vec!["AX", "GB"]);
    s.press("<esc>");

    // The EU and the EEA, plus Switzerland, as one court order might read.
    s.press("T<enter>eea<space>ch<space>");
    assert_eq!(
        field(&s.screen(120, 40), "scope"),
        "EEA (30) + CH Switzerland"
    );
    s.press("<enter><tab>");
    assert!(
        s.screen(120, 40)
            .contains("only in EEA (30) + CH Switzerland — t would take it down everywhere")
    );
    s.press("order C-123/26<enter>");
    s.wait_delivered().await;
    let rows = applied(&server.db, "p-4");
    let mut want: Vec<&str> = modq::tui::picker::countries::Group::Eea.members();
    want.push("CH");
    want.sort();
    assert_eq!(rows[0].scope, Some(countries_json(&want)));
}

// --- 6. T starts on what t would do --------------------------------------------------------

#[tokio::test]
async fn t_tab_tab_enter_on_a_hash_match_takes_it_down_as_t_would_everywhere() {
    let server = TestServer::with_reports(QUEUE).await;
    let (_data, mut s) = desk(&server).await;
    // `t` on one hash match: what the server makes of it.
    go_to(&mut s, "csam-jp-2");
    s.press("t");
    // `T Tab Tab Enter` on the other (one more Tab keeps the account step's proposal): the same.
    go_to(&mut s, "csam-jp");
    s.press("T");
    let screen = s.screen(120, 40);
    assert_eq!(field(&screen, "reason"), "child_sexual_abuse");
    assert_eq!(field(&screen, "scope"), "global — everywhere");
    // The item's own country is offered right after global, not chosen.
    s.press("<tab>");
    let screen = s.screen(120, 40);
    assert!(
        screen.contains("JP — Japan · the item's country"),
        "{screen}"
    );
    assert!(!screen.contains("✓ JP"), "{screen}");
    s.press("<tab><tab><enter>");
    s.wait_delivered().await;
    let by_t = applied(&server.db, "csam-jp-2");
    let by_picker = applied(&server.db, "csam-jp");
    assert_eq!(by_picker[0].scope, Some(json!("global")));
    assert_eq!(by_picker[0].scope, by_t[0].scope);
    assert_eq!(
        by_picker[0].reason_code.as_deref(),
        Some("child_sexual_abuse")
    );
    assert_eq!(by_picker[0].reason_code, by_t[0].reason_code);
    assert_eq!(
        server.item("csam-jp").await.restricted_in,
        Some(Scope::Global)
    );

    // Narrower is a choice the moderator makes, and the note step says so.
    go_to(&mut s, "order-de");
    s.press("T<enter><down><down><space><enter><tab>");
    assert!(
        s.screen(120, 40)
            .contains("only in DE Germany — t would take it down everywhere")
    );
    s.press("<enter>");
    s.wait_delivered().await;
    assert_eq!(
        applied(&server.db, "order-de")[0].scope,
        Some(countries_json(&["DE"]))
    );
}

// --- 7. a typed decision is checked before it is journaled --------------------------------

#[tokio::test]
async fn a_typed_decision_with_a_bad_reason_or_country_never_leaves_the_prompt() {
    let (server, _direct, proxy, _data, mut s) = desk_through_proxy().await;
    let id = s.selected_id();
    for (line, why) in [
        (
            "takedown reason=bogus scope=XX",
            "\"XX\" is not an ISO 3166-1 country code",
        ),
        (
            "takedown reason=bogus scope=DE",
            "reason=bogus is not in the policy catalog",
        ),
        ("takedown scope=Germany", "did you mean DE, Germany?"),
        (
            "takedown reson=spam scope=DE",
            "takedown takes reason= and scope=, not reson=",
        ),
        ("escalate legal", "needs a note"),
    ] {
        s.press(&format!(":{line}<enter>"));
        let screen = s.screen(120, 30);
        assert!(screen.contains(why), "{line}:\n{screen}");
        assert!(
            matches!(s.app.layers.last(), Some(Layer::Prompt(p)) if p.text == line),
            "the line stays open to fix"
        );
        s.press("<esc>");
    }
    assert_eq!(s.selected_id(), id, "nothing decided, nothing moved on");
    assert_eq!((s.app.decided, s.app.counts.unsent), (0, 0));
    assert_eq!(posts(&proxy), 0, "the server received nothing");

    // Tab completes the catalog's reasons and the countries, by code or name.
    s.press(":takedown reason=<tab>");
    let listed = s.screen(160, 30);
    assert!(
        listed.contains("child_sexual_abuse") && listed.contains("spam"),
        "{listed}"
    );
    s.press("child<tab>scope=germ<tab>");
    s.press("<bs>,austria<tab>court order 4711<enter>");
    assert_ne!(s.selected_id(), id, "decided");
    s.wait_delivered().await;
    let rows = applied(&server.db, &id);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].reason_code.as_deref(), Some("child_sexual_abuse"));
    assert_eq!(rows[0].scope, Some(countries_json(&["AT", "DE"])));
    assert_eq!(rows[0].note.as_deref(), Some("court order 4711"));
    assert_eq!(posts(&proxy), 1);
}

// --- 8. refusals, undo and the counts ------------------------------------------------------

/// Alice decides `ids` while her decisions cannot get through; Bob keeps them first; then
/// hers arrive and are refused.
async fn refused(
    s: &mut Session,
    proxy: &FaultProxy,
    direct: &str,
    bob: &str,
    keys: &str,
    ids: &[String],
) -> Vec<String> {
    proxy.set_for("POST /v1/decisions", Fault::Http500);
    s.press(keys);
    let mut bobs = Vec::new();
    for id in ids {
        let keep = common::decision(id, DecisionAction::Keep);
        assert_eq!(
            decide_as(direct, bob, &keep).await,
            DecisionOutcome::Applied
        );
        bobs.push(keep.idempotency_key);
    }
    proxy.set(Fault::Pass);
    bobs
}

#[tokio::test]
async fn a_refused_item_is_decided_again_and_undo_takes_back_what_is_on_screen() {
    let (server, direct, proxy, _data, mut s) = desk_through_proxy().await;
    let bob = server.add_moderator("bob");
    let ids = s.first_ids(3);
    let (a, b, c) = (ids[0].clone(), ids[1].clone(), ids[2].clone());
    // Alice takes down a and b, keeps c; Bob kept a and b first.
    let bobs = refused(&mut s, &proxy, &direct, &bob, "tta", &ids[..2]).await;
    s.wait_until("both refusals arrive", |app| {
        app.counts.unsent == 0 && app.counts.failed == 2
    })
    .await;
    let screen = s.screen(120, 30);
    assert!(
        screen.contains("decided 1 │ unsent 0 │ failed 2"),
        "{screen}"
    );
    assert_eq!(applied(&server.db, &c)[0].action, "keep");

    // Bob reverses his keep of a; alice, back on a, takes it down again. No "Already
    // decided … u undoes": the refused decision never took effect.
    let reverse = modq::model::Decision {
        reverses: Some(bobs[0].clone()),
        ..common::decision(&a, DecisionAction::Reverse)
    };
    assert_eq!(
        decide_as(&direct, &bob, &reverse).await,
        DecisionOutcome::Applied
    );
    go_to(&mut s, &a);
    assert!(s.screen(120, 30).contains("REFUSED by the server"));
    s.press("t");
    let screen = s.screen(120, 30);
    assert!(!screen.contains("Already decided"), "{screen}");
    assert!(
        screen.contains("failed 1"),
        "a's refusal is dealt with:\n{screen}"
    );
    s.wait_delivered().await;
    let on_a: Vec<(String, String)> = applied(&server.db, &a)
        .into_iter()
        .map(|r| (r.actor, r.action))
        .collect();
    assert_eq!(
        on_a,
        [
            ("bob".to_string(), "keep".to_string()),
            ("bob".into(), "reverse".into()),
            ("mod-alice".into(), "take_down".into())
        ]
    );

    // u takes back that take down of a, the newest decision: not c's keep.
    s.press("u");
    assert_eq!(s.selected_id(), a);
    assert!(
        s.screen(160, 30)
            .contains(&format!("Undone: take down of {a}")),
        "{}",
        s.screen(160, 30)
    );
    s.wait_delivered().await;
    let last_on_a = applied(&server.db, &a).pop().expect("rows");
    assert_eq!(last_on_a.action, "reverse");
    assert_eq!(server.item(&a).await.state, ReviewState::Open);
    assert_eq!(
        applied(&server.db, &c).len(),
        1,
        "c's keep untouched by that u"
    );
    assert_eq!(server.item(&b).await.state, ReviewState::Kept);
}

#[tokio::test]
async fn u_u_sets_two_refusals_aside_sends_nothing_and_clears_the_failed_count() {
    let (server, direct, proxy, _data, mut s) = desk_through_proxy().await;
    let bob = server.add_moderator("bob");
    let ids = s.first_ids(2);
    refused(&mut s, &proxy, &direct, &bob, "tt", &ids).await;
    s.wait_until("both refusals arrive", |app| {
        app.counts.unsent == 0 && app.counts.failed == 2
    })
    .await;
    assert!(
        s.screen(120, 30)
            .contains("decided 0 │ unsent 0 │ failed 2")
    );
    let sent = posts(&proxy);
    s.press("u");
    assert!(
        s.screen(160, 30).contains(&format!(
            "Set aside: the server's refusal of the take down of {}",
            ids[1]
        )),
        "{}",
        s.screen(160, 30)
    );
    assert!(s.screen(120, 30).contains("failed 1"));
    s.press("u");
    let screen = s.screen(120, 30);
    assert!(!screen.contains("failed"), "{screen}");
    assert!(screen.contains("decided 0 │ unsent 0"), "{screen}");
    s.press("u");
    assert!(s.screen(120, 30).contains("Nothing to undo"));
    // Nothing went to the server for any of it; it holds Bob's keeps only.
    assert_eq!(s.app.counts.unsent, 0);
    assert_eq!(posts(&proxy), sent);
    for id in &ids {
        let rows = applied(&server.db, id);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].actor, "bob");
    }
    // The items are open to decide again.
    assert!(s.app.entries.iter().take(2).all(|e| e.is_open()));
}

#[tokio::test]
async fn already_decided_says_what_u_would_take_back() {
    let server = TestServer::with_reports(QUEUE).await;
    let (_data, mut s) = desk(&server).await;
    let ids = s.first_ids(2);
    s.press("tt");
    go_to(&mut s, &ids[0]);
    s.press("t");
    let screen = s.screen(160, 30);
    assert!(
        screen.contains(&format!(
            "Already decided (take down) in this session; u undoes your newest decision first \
             (take down of {})",
            ids[1]
        )),
        "{screen}"
    );
    go_to(&mut s, &ids[1]);
    s.press("t");
    assert!(
        s.screen(160, 30)
            .contains("Already decided (take down) in this session; u undoes it")
    );
    s.wait_delivered().await;
    assert_eq!(applied(&server.db, &ids[0]).len(), 1, "decided once");
}

#[tokio::test]
async fn an_undo_the_server_refuses_leaves_the_decision_standing_on_screen() {
    let (server, direct, _proxy, _data, mut s) = desk_through_proxy().await;
    let bob = server.add_moderator("bob");
    let id = s.selected_id();
    s.press("T<enter>de<enter><tab><enter>");
    s.wait_delivered().await;
    // Bob widens it to France (a second court order): alice's is no longer the latest.
    let widen = modq::model::Decision {
        scope: Some(Scope::Countries(vec!["FR".into()])),
        ..common::decision(&id, DecisionAction::TakeDown)
    };
    assert_eq!(
        decide_as(&direct, &bob, &widen).await,
        DecisionOutcome::Applied
    );
    s.press("u");
    assert_eq!(s.app.decided, 0);
    s.wait_until("the reversal is answered", |app| {
        app.counts.unsent == 0 && app.decided == 1
    })
    .await;
    let screen = s.screen(160, 30);
    assert!(
        screen.contains(&format!(
            "UNDO REFUSED by the server: the take down of {id} stands"
        )),
        "{screen}"
    );
    assert!(screen.contains("decided 1 │ unsent 0"), "{screen}");
    assert!(!screen.contains("failed"), "{screen}");
    assert!(!s.app.entries.iter().any(|e| e.id == id && e.is_open()));
    // The server holds both take downs and no reversal.
    let actions: Vec<String> = applied(&server.db, &id)
        .into_iter()
        .map(|r| r.action)
        .collect();
    assert_eq!(actions, ["take_down", "take_down"]);
    assert_eq!(
        server.item(&id).await.restricted_in,
        Some(Scope::Countries(vec!["DE".into(), "FR".into()]))
    );
}

/// A batch the server refuses as a whole (a 4xx for the request): the sync marks each of its
/// decisions failed with the server's reason and reports no results. The screen must treat
/// each like any refusal, not leave it waiting (`…`) and counted as decided forever.
#[tokio::test]
async fn a_batch_refused_as_a_whole_shows_each_decision_refused() {
    let (server, _direct, proxy, _data, mut s) = desk_through_proxy().await;
    let ids = s.first_ids(2);
    proxy.set_for("POST /v1/decisions", Fault::Blackhole);
    s.press("tt");
    assert_eq!(s.app.decided, 2);
    // What the flusher does with a 400 for the request: every decision of it failed, with
    // the server's reason, then `Delivered` with no results.
    let keys: Vec<String> = s
        .app
        .entries
        .iter()
        .filter_map(|e| e.local.as_ref().map(|l| l.key.clone()))
        .collect();
    modq::store::Store::open(&s.prepared_db)
        .expect("the outbox")
        .fail(&keys, "the server refused the request (400): unknown field")
        .expect("marked failed");
    s.sync_event(modq::sync::SyncEvent::Delivered {
        results: Vec::new(),
    });
    let screen = s.screen(120, 30);
    assert!(screen.contains("decided 0"), "{screen}");
    assert!(screen.contains("failed 2"), "{screen}");
    go_to(&mut s, &ids[0]);
    assert!(s.screen(120, 30).contains("REFUSED by the server"));
    assert!(s.app.entries.iter().take(2).all(|e| e.is_open()));
    for id in &ids {
        assert!(applied(&server.db, id).is_empty());
    }
}
