//! Proof at the byte level that hostile text never reaches the moderator's terminal.
//!
//! Items full of known attacks (tests/attack_strings.txt) and arbitrary strings are parsed from
//! API JSON, go through the real App (sanitizer included) on modq's own event loop, whose
//! frames are drawn by the real crossterm backend into a byte buffer. The stream is then parsed: the only escape sequences allowed are
//! the ones modq draws with (CSI cursor moves, SGR colours, clears, cursor show/hide); no OSC,
//! DCS, APC, PM, SOS, no other ESC sequence, no raw C0 or C1 control, no bidi or invisible
//! character may appear in it.

mod common;

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use ratatui::backend::CrosstermBackend;
use std::cell::RefCell;

use modq::tui::gap_fill::GapFill;
use ratatui::Terminal;
use ratatui::layout::Rect;
use serde_json::{Value, json};

use common::{Captured, Session, TestServer, sample_now};
use modq::model::{Item, QueuePage};
use modq::store::Store;
use modq::sync::SyncEvent;
use modq::tui::app::{App, AppInit};
use modq::tui::event_loop::{Input, Screen as LoopScreen};
use modq::tui::keymap::KeyMap;
use modq::tui::theme::Theme;

// --- the corpus ---------------------------------------------------------------------------

/// The known attacks, unescaped.
fn attacks() -> Vec<String> {
    include_str!("attack_strings.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(unescape)
        .collect()
}

/// `\e`, `\a`, `\b`, `\n`, `\r`, `\t`, `\\`, `\xHH` and `\u{H…}` as in the corpus file.
fn unescape(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('e') => out.push('\u{1b}'),
            Some('a') => out.push('\u{7}'),
            Some('b') => out.push('\u{8}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('\\') => out.push('\\'),
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                let code = u32::from_str_radix(&hex, 16).expect("\\xHH in the corpus");
                out.push(char::from_u32(code).expect("a character"));
            }
            Some('u') => {
                assert_eq!(chars.next(), Some('{'), "\\u{{…}} in the corpus: {line}");
                let hex: String = chars.by_ref().take_while(|&c| c != '}').collect();
                let code = u32::from_str_radix(&hex, 16).expect("\\u{HEX} in the corpus");
                out.push(char::from_u32(code).expect("a character"));
            }
            other => panic!("unknown escape \\{other:?} in the corpus line {line}"),
        }
    }
    out
}

// --- the byte stream ----------------------------------------------------------------------

/// Characters that may never reach the terminal raw, besides controls: bidi overrides and
/// isolates, marks, zero-width and invisible format characters, tags.
fn hidden(c: char) -> bool {
    matches!(c as u32,
        0x061c | 0x00ad | 0x180e | 0x200b | 0x200c | 0x200e | 0x200f | 0x202a..=0x202e
        | 0x2060..=0x206f | 0xfeff | 0xfff9..=0xfffb | 0xe0000..=0xe007f)
}

/// Parses what the backend wrote. Returns the text drawn (escape sequences removed), or what
/// in the stream is not something modq draws with.
fn check_stream(bytes: &[u8]) -> Result<String, String> {
    let mut text = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != 0x1b {
            text.push(bytes[i]);
            i += 1;
            continue;
        }
        let context = || String::from_utf8_lossy(&bytes[i..(i + 24).min(bytes.len())]).into_owned();
        if bytes.get(i + 1) != Some(&b'[') {
            return Err(format!(
                "an escape sequence that is not CSI: {:?}",
                context()
            ));
        }
        let params_start = i + 2;
        let mut end = params_start;
        while bytes.get(end).is_some_and(|b| (0x30..=0x3f).contains(b)) {
            end += 1;
        }
        let params = &bytes[params_start..end];
        let Some(&last) = bytes.get(end) else {
            return Err(format!("an unfinished CSI sequence: {:?}", context()));
        };
        let digits = params
            .iter()
            .all(|b| b.is_ascii_digit() || *b == b';' || *b == b':');
        let drawing = match last {
            // Cursor position, colours and attributes, clearing.
            b'H' | b'm' | b'J' | b'K' => digits,
            // Cursor show/hide and synchronized output only.
            b'h' | b'l' => params == b"?25" || params == b"?2026",
            _ => false,
        };
        if !drawing {
            return Err(format!(
                "a CSI sequence modq does not draw with: {:?}",
                context()
            ));
        }
        i = end + 1;
    }
    let text = String::from_utf8(text).map_err(|e| format!("invalid UTF-8 drawn: {e}"))?;
    if let Some(c) = text.chars().find(|&c| c.is_control() || hidden(c)) {
        // Forty characters before it and twenty after (never a byte index: the text is UTF-8).
        let at = text.chars().position(|x| x == c).unwrap_or(0);
        let around: String = text.chars().skip(at.saturating_sub(40)).take(60).collect();
        return Err(format!("raw U+{:04X} drawn, near {around:?}", c as u32));
    }
    Ok(text)
}

/// The real crossterm backend, writing into memory instead of a TTY, through `GapFill` as the
/// TUI writes.
struct Screen {
    terminal: Terminal<GapFill<CrosstermBackend<Captured>>>,
    written: Captured,
    /// What the terminal received for the last frame.
    last: Vec<u8>,
}

impl Screen {
    fn new(width: u16, height: u16) -> Screen {
        let written = Captured::default();
        let terminal = common::modq_screen(&written, width, height);
        Screen {
            terminal,
            written,
            last: Vec::new(),
        }
    }

    /// The text of the last frame, checked; panics naming what leaked.
    fn drawn_text(&self) -> String {
        check_stream(&self.last).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// Where modq's loop draws in these tests: every frame whole, into memory.
impl LoopScreen for Screen {
    fn show(&mut self, app: &App) -> std::io::Result<Rect> {
        // A new terminal draws every cell, not only the ones that changed since the last frame.
        let area = self.terminal.get_frame().area();
        let fresh = Screen::new(area.width, area.height);
        self.terminal = fresh.terminal;
        self.written = fresh.written;
        let area = self.terminal.show(app)?;
        self.last = self.written.take();
        Ok(area)
    }

    fn wipe(&mut self) -> std::io::Result<()> {
        self.terminal.wipe()
    }
}

/// Several screens, each drawn every frame of the loop.
struct Screens(Vec<Screen>);

impl Screens {
    /// The text of each one's last frame, checked.
    fn drawn_text(&self) -> String {
        self.0.iter().map(Screen::drawn_text).collect()
    }
}

impl LoopScreen for Screens {
    fn show(&mut self, app: &App) -> std::io::Result<Rect> {
        let mut area = Rect::ZERO;
        for (n, screen) in self.0.iter_mut().enumerate() {
            let drawn = screen.show(app)?;
            if n == 0 {
                area = drawn;
            }
        }
        Ok(area)
    }

    fn wipe(&mut self) -> std::io::Result<()> {
        self.0.iter_mut().try_for_each(Screen::wipe)
    }
}

/// One key, as a turn of the loop.
fn press(c: char) -> Input {
    Input::Terminal(Event::Key(key(c)))
}

// --- hostile items ------------------------------------------------------------------------

const NOW: &str = "2026-11-23T12:00:00Z";

/// An item as the API would send it, with `text` in every field a server fills with text.
fn hostile_item(n: usize, text: &str) -> Value {
    json!({
        "id": format!("item-{n}-{text}"),
        "kind": "post",
        "text": format!("{text}\n{text} {text}"),
        "author": {"id": text, "handle": format!("@{text}")},
        "language": text,
        "countries": [text, "DE"],
        "media": [{"kind": text, "description": text, "hash_match": text}],
        "reports": [{
            "id": n, "reporter_type": "trusted_flagger", "category": text, "comment": text,
            "lane": "urgent", "deadline": "2026-11-23T14:00:00Z", "received_at": NOW
        }],
        "priority": 100,
        "lane": "urgent",
        "deadline": "2026-11-23T14:00:00Z",
        "state": "open",
        "created_at": NOW,
        "history": [{
            "at": NOW, "actor": text, "event": "escalate", "reason_code": text, "note": text,
            "escalation_target": "senior"
        }]
    })
}

fn page_of(items: Vec<Value>) -> QueuePage {
    serde_json::from_value(json!({ "items": items, "next_cursor": null }))
        .expect("a well-formed page")
}

/// The App around `page`, on modq's loop without a server (see `Session::without_server`).
fn session_of(page: QueuePage, dir: &tempfile::TempDir) -> Session {
    let db = dir.path().join("cache.sqlite");
    let store = Store::open(&db).expect("store");
    let app = App::new(AppInit {
        profile: "alice\u{1b}]0;x\u{7}@127.0.0.1".into(),
        api: "http://127.0.0.1".into(),
        capabilities: modq::backend::modq::capabilities(),
        store,
        first_page: page,
        keymap: KeyMap::default_keymap(),
        theme: Theme::default_theme(),
        now: sample_now(),
    })
    .expect("app");
    Session::without_server(app, db, sample_now())
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

#[tokio::test]
async fn hostile_items_reach_the_terminal_only_as_placeholders() {
    let attacks = attacks();
    assert!(attacks.len() > 60, "the corpus loaded: {}", attacks.len());
    let items = attacks
        .iter()
        .enumerate()
        .map(|(n, a)| hostile_item(n, a))
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = session_of(page_of(items), &dir);
    let mut screens = Screens(vec![
        Screen::new(120, 40),
        Screen::new(80, 24),
        Screen::new(40, 10),
    ]);
    let mut seen = String::new();
    for attack in &attacks {
        // Server trouble quoting the attack, on the status line and the message line, as
        // the sync would report it.
        let trouble = [
            Input::Sync(SyncEvent::Offline {
                error: attack.clone(),
                retry_in: std::time::Duration::from_secs(3),
            }),
            Input::Sync(SyncEvent::PageFailed(attack.clone())),
        ];
        s.turn_on(trouble, &mut screens);
        seen.push_str(&screens.drawn_text());
        s.turn_on([press('j')], &mut screens);
        seen.push_str(&screens.drawn_text());
    }
    s.turn_on([press('?')], &mut screens);
    seen.push_str(&screens.drawn_text());
    // The attacks were drawn, visibly: the moderator sees that they were there.
    for shown in [
        "␛]52;c;",
        "␛[2J",
        "⟪RLO⟫",
        "⟪ZWSP⟫",
        "⟪U+009B⟫",
        "⟪TAG E0068⟫",
        "␈",
    ] {
        assert!(seen.contains(shown), "{shown:?} should be on screen");
    }
}

#[tokio::test]
async fn enormous_text_is_cut_and_still_drawn() {
    let one_line = "A".repeat(4 * 1024 * 1024);
    let many_lines = "x\n".repeat(500_000);
    let wide = "漢\u{0301}".repeat(300_000);
    let items = [one_line, many_lines, wide]
        .iter()
        .enumerate()
        .map(|(n, t)| {
            let mut item = hostile_item(n, "big");
            item["text"] = Value::String(t.clone());
            item
        })
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut s = session_of(page_of(items), &dir);
    let mut screen = Screen::new(120, 40);
    for entry in &s.app.entries {
        let text = entry.shown.text.as_deref().unwrap_or_default();
        assert!(
            text.ends_with("more characters⟫") && text.chars().count() < 20_000,
            "cut with a marker: {} chars",
            text.chars().count()
        );
    }
    s.turn_on([], &mut screen);
    for _ in 0..3 {
        screen.drawn_text();
        s.turn_on([press('j')], &mut screen);
    }
    screen.drawn_text();
}

/// The same attacks filed as reports on the reference server, fetched over HTTP by a real
/// session: what reaches the terminal is the same.
#[tokio::test]
async fn hostile_reports_from_a_real_server_are_drawn_safely() {
    let attacks = attacks();
    let jsonl: String = attacks
        .iter()
        .enumerate()
        .map(|(n, a)| {
            let report = json!({
                "subject": {
                    "id": format!("post-{n}-{a}"), "kind": "post", "text": a,
                    // The server refuses countries that are not ISO 3166 codes; hostile ones
                    // still reach the App in the tests above, which build items directly.
                    "author": {"id": a, "handle": a}, "language": a, "countries": ["DE"],
                    "media": [{"kind": a, "description": a}]
                },
                "reporter_type": "user", "category": a, "comment": a,
                "received_at": "2026-11-23T11:00:00Z"
            });
            format!("{report}\n")
        })
        .collect();
    let server = TestServer::with_reports(&jsonl).await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = Session::open(&server, data.path()).await;
    s.load_whole_queue().await;
    assert_eq!(
        s.app.entries.len(),
        attacks.len(),
        "every report became an item"
    );
    let mut screen = Screen::new(120, 40);
    s.press_on("g", &mut screen);
    let mut seen = String::new();
    for _ in 0..attacks.len() {
        seen.push_str(&screen.drawn_text());
        s.press_on("j", &mut screen);
    }
    seen.push_str(&screen.drawn_text());
    assert!(seen.contains("␛]0;pwned␇"), "the title attack is shown");
    s.quit().await;
}

// --- properties ---------------------------------------------------------------------------

/// Arbitrary text, biased towards what attacks are made of.
fn hostile_string() -> impl Strategy<Value = String> {
    let corpus = attacks();
    let piece = prop_oneof![
        3 => any::<char>().prop_map(String::from),
        2 => (0u32..0x100).prop_map(|c| char::from_u32(c).map(String::from).unwrap_or_default()),
        1 => (0x2000u32..0x2070).prop_map(|c| char::from_u32(c).map(String::from).unwrap_or_default()),
        1 => proptest::sample::select(corpus),
        1 => Just("\n".to_string()),
    ];
    proptest::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

/// A JSON value of any shape, for fields a hostile server fills with the wrong thing.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        hostile_string().prop_map(Value::String),
        proptest::sample::select(vec![
            "open",
            "urgent",
            "post",
            "user",
            "take_down",
            "senior",
            "global",
            "",
            "2026-11-23T12:00:00Z",
            "not-a-time",
            "OPEN",
            "escalated"
        ])
        .prop_map(|s| Value::String(s.to_string())),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An item whose every field may be replaced by anything at all.
fn any_item_json() -> impl Strategy<Value = Value> {
    let fields = [
        "id",
        "kind",
        "text",
        "author",
        "language",
        "countries",
        "media",
        "reports",
        "priority",
        "lane",
        "deadline",
        "state",
        "created_at",
        "history",
        "restricted_in",
        "escalation_target",
    ];
    (
        hostile_string(),
        proptest::collection::btree_map(
            proptest::sample::select(fields.to_vec()),
            any_json(),
            0..4,
        ),
        proptest::collection::vec(proptest::sample::select(fields.to_vec()), 0..2),
    )
        .prop_map(|(text, replaced, removed)| {
            let mut item = hostile_item(0, &text);
            for (field, value) in replaced {
                item[field] = value;
            }
            for field in removed {
                if let Some(object) = item.as_object_mut() {
                    object.remove(field);
                }
            }
            item
        })
}

/// One session shared by every case (a store per case would make the run slow): each case's
/// items are handed to its loop as the next page, and the last one is drawn.
struct Harness {
    s: Session,
    screen: Screen,
    _dir: tempfile::TempDir,
    next_id: usize,
}

impl Harness {
    fn new() -> RefCell<Harness> {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = session_of(page_of(Vec::new()), &dir);
        RefCell::new(Harness {
            s,
            screen: Screen::new(100, 30),
            _dir: dir,
            next_id: 0,
        })
    }

    /// Adds `item` (its id made unique), selects it, draws it at `width` x `height`.
    fn show(&mut self, mut item: Item, width: u16, height: u16) -> Result<(), TestCaseError> {
        self.next_id += 1;
        item.id = format!("{}#{}", item.id, self.next_id);
        // The page and the key to its end, in one turn of the loop: one frame, checked.
        let page = Input::Sync(SyncEvent::Page {
            items: vec![item],
            next_cursor: Some("more".into()),
        });
        let end = Input::Terminal(Event::Key(KeyEvent::new(KeyCode::End, KeyModifiers::NONE)));
        self.screen = Screen::new(width, height);
        self.s.turn_on([page, end], &mut self.screen);
        check_stream(&self.screen.last).map_err(TestCaseError::fail)?;
        Ok(())
    }
}

fn runner() -> TestRunner {
    TestRunner::new(Config {
        cases: 128,
        failure_persistence: None,
        ..Config::default()
    })
}

#[tokio::test]
async fn arbitrary_text_in_every_field_never_reaches_the_terminal_raw() {
    let harness = Harness::new();
    runner()
        .run(&(hostile_string(), 1u16..200, 1u16..60), |(text, w, h)| {
            let item: Item = serde_json::from_value(hostile_item(0, &text))
                .map_err(|e| TestCaseError::fail(format!("a valid item: {e}")))?;
            harness.borrow_mut().show(item, w, h)
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn arbitrary_api_json_is_parsed_or_refused_and_never_drawn_raw() {
    let harness = Harness::new();
    runner()
        .run(&(any_item_json(), 20u16..160, 5u16..50), |(value, w, h)| {
            let page = json!({ "items": [value], "next_cursor": null });
            let bytes =
                serde_json::to_vec(&page).map_err(|e| TestCaseError::fail(e.to_string()))?;
            // What the client does with an answer: parse it, or refuse it with a message.
            match serde_json::from_slice::<QueuePage>(&bytes) {
                Ok(page) => {
                    for item in page.items {
                        harness.borrow_mut().show(item, w, h)?;
                    }
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Bytes spliced into a valid answer (invalid UTF-8, broken escapes, truncation): parsed or
/// refused, and whatever parses is drawn safely.
#[tokio::test]
async fn arbitrary_bytes_in_an_answer_are_parsed_or_refused() {
    let harness = Harness::new();
    let valid = serde_json::to_vec(&json!({ "items": [hostile_item(0, "x")] })).expect("json");
    let splice = (
        0..valid.len(),
        0usize..8,
        proptest::collection::vec(any::<u8>(), 0..64),
    );
    runner()
        .run(&splice, |(at, cut, bytes)| {
            let mut answer = valid[..at].to_vec();
            answer.extend_from_slice(&bytes);
            answer.extend_from_slice(&valid[(at + cut).min(valid.len())..]);
            if let Ok(page) = serde_json::from_slice::<QueuePage>(&answer) {
                for item in page.items {
                    harness.borrow_mut().show(item, 80, 24)?;
                }
            }
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

/// The checker itself: what modq draws with passes, anything else is caught.
#[test]
fn the_stream_check_tells_drawing_from_attacks() {
    assert_eq!(
        check_stream(b"\x1b[1;1H\x1b[38;5;12mok\x1b[0m\x1b[?25l").as_deref(),
        Ok("ok")
    );
    for leak in [
        &b"\x1b]0;title\x07"[..],
        b"\x1b]52;c;AAAA\x1b\\",
        b"\x1bP+q544e\x1b\\",
        b"\x1b_Ga=T\x1b\\",
        b"\x1bc",
        b"\x1b[6n",
        b"\x1b[?1049l",
        b"\x9b2J",
        "\u{9b}2J".as_bytes(),
        "a\u{202e}b".as_bytes(),
        "a\u{200b}b".as_bytes(),
        b"a\rb",
        b"a\x07",
    ] {
        assert!(check_stream(leak).is_err(), "{leak:?} must be caught");
    }
}
