//! What the screen shows, region by region, in scripted sessions against the reference
//! server: the list's order after the filter changes, the item pane scrolling, the lane tabs
//! at every width, the overlays' scrolling, the hint line following the context.

mod common;
#[path = "common/emulator.rs"]
mod emulator;

use common::{Session, TestServer};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use modq::tui::action::Action;
use modq::tui::app::QueueEnd;

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.

async fn session() -> (TestServer, tempfile::TempDir, Session) {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let session = Session::open(&server, data.path()).await;
    (server, data, session)
}

/// The open queue's ids as the server orders them in `sort` (over HTTP, as a client sees it).
async fn server_order(server: &TestServer, sort: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor = String::new();
    loop {
        let url = reqwest::Url::parse_with_params(
            &format!("{}/v1/queue", server.api),
            &[
                ("limit", "500"),
                ("sort", sort),
                ("cursor", cursor.as_str()),
            ],
        )
        .expect("queue url");
        let page: modq::model::QueuePage = reqwest::Client::new()
            .get(url)
            .bearer_auth(&server.token)
            .send()
            .await
            .expect("GET queue")
            .json()
            .await
            .expect("queue JSON");
        ids.extend(page.items.into_iter().map(|i| i.id));
        match page.next_cursor {
            Some(next) => cursor = next,
            None => return ids,
        }
    }
}

/// `keys` one press at a time, as `Session::press` names them (`<enter>` is one).
fn keys(keys: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = keys;
    while let Some(c) = rest.chars().next() {
        let len = match rest.find('>') {
            Some(end) if c == '<' => end + 1,
            _ => c.len_utf8(),
        };
        out.push(rest[..len].to_string());
        rest = &rest[len..];
    }
    out
}

async fn settle(s: &mut Session, what: &str) {
    s.wait_until(what, |app| app.queue_end != QueueEnd::Loading)
        .await;
}

/// The window's ids that the server still lists, in the window's order, and whether that is
/// the server's order.
fn in_server_order(s: &Session, server: &[String]) -> Result<(), String> {
    let rank: std::collections::HashMap<&str, usize> = server
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let shown: Vec<(usize, &str)> = s
        .app
        .visible
        .iter()
        .filter_map(|&i| s.app.entries.get(i))
        .filter_map(|e| rank.get(e.id.as_str()).map(|&r| (r, e.id.as_str())))
        .collect();
    match shown.windows(2).find(|w| w[0].0 > w[1].0) {
        Some(w) => Err(format!(
            "{} is shown above {}, which the server puts first",
            w[0].1, w[1].1
        )),
        None => Ok(()),
    }
}

#[tokio::test]
async fn narrowing_then_widening_the_filter_merges_pages_in_the_order_shown() {
    // Each way of widening again, in each sort order: the list is the server's order, the
    // items kept from the narrow filter (one of them decided here) merged in where they go.
    for (sort_presses, sort) in [("", "priority"), ("o", "age"), ("ooo", "deadline")] {
        for widen in [
            "/<bs><bs><bs><bs><bs><bs><bs><bs><bs><bs>cat:spam<enter>",
            ":filter<enter>",
        ] {
            let (server, _data, mut s) = session().await;
            s.press(sort_presses);
            settle(&mut s, "the sorted queue arrives").await;
            s.press("/quickcash<enter>");
            settle(&mut s, "the filtered queue arrives").await;
            assert!(s.app.visible.len() >= 3, "{}", s.screen(120, 40));
            // A decision of this session stays in the window whatever the filter.
            s.press("ja");
            s.press(widen);
            settle(&mut s, "the widened queue arrives").await;
            let screen = s.screen(120, 40);
            assert!(
                s.app.visible.len() > 20,
                "{sort} {widen}: the page arrived\n{screen}"
            );
            let order = server_order(&server, sort).await;
            if let Err(why) = in_server_order(&s, &order) {
                panic!("{sort}, then {widen}: {why}\n{screen}");
            }
            // What is on top is what the server has on top, and what the title says.
            let first = s.app.visible.first().and_then(|&i| s.app.entries.get(i));
            let top = order
                .iter()
                .find(|id| s.app.visible.iter().any(|&i| s.app.entries[i].id == **id));
            assert_eq!(first.map(|e| &e.id), top, "{sort} {widen}\n{screen}");
            if sort != "priority" {
                assert!(screen.contains(&format!("· by {sort} ")), "{screen}");
            }
            s.quit().await;
        }
    }
}

/// Texts terminals and ratatui may measure differently: marks that combine or stand alone,
/// wide letters, emoji joined, tinted, flagged or keycapped, scripts that shape.
const TRICKY_TEXTS: [&str; 12] = [
    "अब और नहीं सह सकता। क्षमा करें, कृपया मदद करें",
    "e\u{301}te\u{301} cafe\u{301} a\u{308}\u{304}hnlich Zu\u{308}rich",
    "未成年者への接触を繰り返すアカウント、全角スペース　もある",
    "👨\u{200d}👩\u{200d}👧\u{200d}👦 family 👍\u{1f3fd} tint 🇩🇪🇵🇱 flags 1\u{fe0f}\u{20e3} keycap",
    "ภาษาไทย ที่มี สระ และ วรรณยุกต์ น้ำ ผู้ใหญ่",
    "[الجماعة] حشرات ويجب طردهم جميعاً من البلاد",
    "한국어 텍스트 ᄒᆞᆫ글 옛한글 자모 조합",
    "❤\u{fe0f} heart ☺\u{fe0f} smile ✈\u{fe0f} plane ⚠\u{fe0f} warning",
    "Z\u{335}\u{31b}\u{31e}a\u{336}\u{321}l\u{334}\u{322}g\u{337}o\u{338} text",
    "🏳\u{fe0f}\u{200d}🌈 flag 🧑\u{200d}💻 coder 👩\u{1f3ff}\u{200d}🚀 astronaut",
    "ཀྵ་བོད་ཡིག་ tibetan ꦗꦮ javanese ᬩᬮᬶ balinese",
    "x\u{20dd} enclosed A\u{20e4} triangle ・ half ｶﾀｶﾅ ﾞﾟ wide ＡＢＣ",
];

/// A queue of items whose text, handles and report comments are `TRICKY_TEXTS`, in every lane.
fn tricky_queue() -> String {
    let lanes = ["user", "trusted_flagger", "authority", "automated"];
    let mut out = String::new();
    for (i, text) in TRICKY_TEXTS.iter().enumerate() {
        for copy in 0..3 {
            let line = serde_json::json!({
                "subject": {
                    "id": format!("post-{i}-{copy}"),
                    "kind": "post",
                    "text": format!("{text}\n{text} {text}"),
                    "author": {"id": format!("u-{i}"), "handle": format!("@{}", text.chars().take(12).collect::<String>())},
                    "language": "xx",
                    "countries": ["PL"]
                },
                "reporter_type": lanes[(i + copy) % lanes.len()],
                "category": if copy == 0 { "hate" } else { "spam" },
                "comment": *text,
                "received_at": "2026-11-20T00:04:53Z"
            });
            out.push_str(&line.to_string());
            out.push('\n');
        }
    }
    out
}

/// Every size from the smallest to a large one, in steps that put wide characters on every
/// column parity against each pane's edge.
fn sweep_sizes() -> Vec<(u16, u16)> {
    let mut sizes: Vec<(u16, u16)> = (30..=124)
        .step_by(13)
        .map(|width| (width, 8 + width % 5 * 7))
        .collect();
    sizes.extend([(120, 40), (80, 24), (40, 12), (81, 25)]);
    sizes
}

#[tokio::test]
async fn wide_and_combining_text_never_leaves_residue_at_any_size() {
    let server = TestServer::with_reports(&tricky_queue()).await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = Session::open(&server, data.path()).await;
    let mut screens: Vec<(u16, u16, emulator::Emulated)> = sweep_sizes()
        .into_iter()
        .map(|(w, h)| (w, h, emulator::Emulated::new(w, h)))
        .collect();
    let mut check = |s: &Session, what: &str| {
        for (w, h, screen) in &mut screens {
            if let Err(why) = screen.draw(&s.app) {
                panic!("at {w}x{h}, after {what}: {why}");
            }
        }
    };
    check(&s, "the first frame");
    // Down the list and back, a filter typed and cleared, overlays opened and closed: every
    // row of every pane changes from one script to another.
    let script = "jjjjjjjjjjjjkkkkG?jj<esc>/cat:hate<enter>jj:filter<enter>gh<esc>jj";
    for key in keys(script) {
        s.press(&key);
        s.pump();
        check(&s, &key);
    }
}

#[tokio::test]
async fn ctrl_l_draws_every_cell_again_over_whatever_else_wrote_on_the_terminal() {
    let (_server, _data, mut s) = session().await;
    for (width, height) in [(120, 40), (80, 24), (40, 12)] {
        let mut screen = emulator::Emulated::new(width, height);
        screen.draw(&s.app).unwrap();
        // Another program (a wall message, a background job) writes over the screen.
        screen
            .parser
            .process("\x1b[5;10Hwall: system going down\x1b[20;1H\x1b[2K".as_bytes());
        screen.draw(&s.app).unwrap_err();
        for layers in ["", "?"] {
            s.press(layers);
            let wipes = s.wipes();
            let ctrl_l = KeyEvent::new(KeyCode::Char('l'), KeyModifiers::CONTROL);
            s.send([Event::Key(ctrl_l)]);
            // The loop wiped its screen before the frame, and took the request.
            assert_eq!(s.wipes(), wipes + 1, "ctrl-l under {layers:?}");
            assert!(!s.app.redraw, "ctrl-l under {layers:?}");
            // As the loop's wipe does on a real terminal.
            screen.clear();
            screen.draw(&s.app).unwrap();
            s.press("<esc>");
        }
    }
}

#[tokio::test]
async fn every_lane_tab_shows_or_is_signed_at_every_width() {
    let (_server, _data, mut s) = session().await;
    s.wait_until("the lane counts arrive", |app| app.lane_counts.is_some())
        .await;
    let lanes = [
        None,
        Some(Action::LaneUrgent),
        Some(Action::LaneAuthority),
        Some(Action::LaneTrustedFlagger),
        Some(Action::LaneStandard),
        Some(Action::LaneAppeals),
    ];
    for (n, lane) in lanes.iter().enumerate() {
        if let Some(action) = lane {
            s.message(action.clone());
        }
        for width in 30..=220u16 {
            let screen = s.screen(width, 12);
            let row = screen.lines().next().unwrap_or_default();
            let at = format!("at {width} columns, lane tab {n}: {row:?}");
            let active = row.split('│').find(|tab| tab.contains('▸'));
            let active = active.unwrap_or_else(|| panic!("no active tab {at}"));
            let sign = if n == 0 { "A" } else { &n.to_string() };
            assert!(
                active.trim_start_matches(['‹', ' ', '▸']).starts_with(sign),
                "{at}"
            );
            let shown = row.matches('│').count() + 1;
            if shown < 6 {
                assert!(
                    row.contains('‹') || row.contains('›'),
                    "a tab cut silently {at}"
                );
            }
            // A tab is whole: it ends with the space after its label (the row's end is
            // trimmed, so the last one is left out).
            let tabs: Vec<&str> = row.split('│').collect();
            for tab in tabs.iter().take(tabs.len() - 1) {
                assert!(tab.ends_with(' '), "a tab cut short {at}");
            }
            assert!(row.chars().count() <= usize::from(width), "{at}");
            if width >= 80 {
                assert_eq!(shown, 6, "{at}");
            }
            if width >= 120 {
                assert!(row.contains("5 Appeals"), "{at}");
            }
        }
    }
}

/// The screen at `width`x`height`, with the scroll limits the event loop hands the App after
/// drawing it.
/// The terminal at this size, as the loop draws it: scrolling stops where this frame's text
/// ends.
fn frame(s: &mut Session, width: u16, height: u16) -> String {
    s.resize(width, height);
    s.frame()
}

/// The rows of the overlay's box between its top and bottom borders.
fn box_rows(screen: &str) -> Vec<String> {
    let rows: Vec<&str> = screen.lines().collect();
    let top = rows
        .iter()
        .position(|r| r.contains("┌ ") && r.contains(" — "));
    let Some(top) = top else { return Vec::new() };
    // The box's corner is the last one before its title.
    let title_at = rows[top].find(" — ").unwrap_or(0);
    let head: Vec<char> = rows[top][..title_at].chars().collect();
    let left = head.iter().rposition(|&c| c == '┌').unwrap_or(0);
    rows.iter()
        .skip(top + 1)
        .take_while(|r| r.chars().nth(left) == Some('│'))
        .map(|r| r.chars().skip(left + 1).collect::<String>())
        .collect()
}

/// In the overlay on top: `G` shows its last line in the last row, `j` goes no further, every
/// `k` moves it until the first line shows, and `g` goes straight there.
fn scrolls_within_its_text(s: &mut Session, width: u16, height: u16, first: &str, last: &str) {
    let at = format!("{width}x{height}");
    frame(s, width, height);
    s.press("G");
    let end = frame(s, width, height);
    let rows = box_rows(&end);
    assert!(
        rows.last().is_some_and(|r| r.contains(last)),
        "{at}: G shows the end in the last row\n{end}"
    );
    s.press(&"j".repeat(100));
    assert_eq!(
        frame(s, width, height),
        end,
        "{at}: j scrolled past the end"
    );
    let mut before = end;
    let mut moves = 0;
    while !box_rows(&before).first().is_some_and(|r| r.contains(first)) {
        s.press("k");
        let now = frame(s, width, height);
        assert_ne!(
            now, before,
            "{at}: a k that did nothing, {moves} from the end"
        );
        before = now;
        moves += 1;
        assert!(moves < 400, "{at}: never reached the top");
    }
    s.press("G");
    frame(s, width, height);
    s.press("g");
    let top = frame(s, width, height);
    assert!(
        box_rows(&top).first().is_some_and(|r| r.contains(first)),
        "{at}: g\n{top}"
    );
}

#[tokio::test]
async fn every_scrollable_overlay_stops_at_its_end_and_g_and_big_g_work() {
    let (_server, _data, mut s) = session().await;
    for (width, height) in [(80, 24), (40, 12), (120, 40), (60, 16)] {
        frame(&mut s, width, height);
        s.press("?");
        let first = s.app.keymap.keys_by_action()[0].0.description();
        scrolls_within_its_text(&mut s, width, height, first, "from:@handle");
        s.press("<esc>");

        s.press("h");
        s.wait_until("the history arrives", |app| {
            matches!(
                app.layers.last(),
                Some(modq::tui::app::Layer::History {
                    fresh: modq::tui::app::Freshness::Fresh,
                    ..
                })
            )
        })
        .await;
        scrolls_within_its_text(&mut s, width, height, "As the server has it now", "");
        s.press("<esc>");

        s.press("|seq 1 150<enter>");
        s.wait_until("the command's output shows", |app| {
            matches!(
                app.layers.last(),
                Some(modq::tui::app::Layer::Output { .. })
            )
        })
        .await;
        scrolls_within_its_text(&mut s, width, height, "1", "150");
        s.press("<esc>");
        assert!(s.app.layers.is_empty());
    }
}

#[tokio::test]
async fn the_item_pane_scrolls_to_every_report_and_says_there_is_more() {
    let (_server, _data, mut s) = session().await;
    // The item with the most reports.
    let (at, most) = s
        .app
        .entries
        .iter()
        .enumerate()
        .max_by_key(|(_, e)| e.shown.reports.len())
        .map(|(i, e)| (i, e.shown.clone()))
        .unwrap();
    assert!(most.reports.len() >= 5, "{}", most.reports.len());
    s.select(at);
    for (width, height, zoom) in [
        (80, 24, false),
        (120, 40, false),
        (40, 12, true),
        (60, 16, false),
    ] {
        let size = format!("{width}x{height}");
        if zoom {
            s.press("z");
        }
        s.press(&"K".repeat(50));
        let mut screen = frame(&mut s, width, height);
        if zoom {
            // The item has the body to itself.
            assert!(!screen.contains("Queue "), "{size}\n{screen}");
        }
        let mut seen = screen.clone();
        let mut presses = 0;
        while screen.contains("↓ J more") {
            s.press("J");
            let next = frame(&mut s, width, height);
            assert_ne!(next, screen, "{size}: J did nothing");
            assert!(next.contains("↑ K more"), "{size}\n{next}");
            screen = next;
            seen.push_str(&screen);
            presses += 1;
            assert!(presses < 200, "{size}: never reached the end");
        }
        // Past the end J does nothing, and everything was on screen on the way.
        s.press("J");
        assert_eq!(frame(&mut s, width, height), screen, "{size}");
        for r in &most.reports {
            let when = r.received_at.format("%Y-%m-%d %H:%M UTC").to_string();
            assert!(seen.contains(&when), "{size}: report of {when} never shown");
        }
        assert!(seen.contains("History"), "{size}");
        if height <= 24 {
            assert!(presses > 0, "{size}: the item fits; pick a longer one");
        }
        // Another item starts at its top.
        s.press("j");
        let other = frame(&mut s, width, height);
        assert!(!other.contains("↑ K more"), "{size}\n{other}");
        s.press("k");
        if zoom {
            s.press("z");
        }
    }
}

/// The bottom row of the screen.
fn hint_row(screen: &str) -> String {
    screen.lines().last().unwrap_or_default().to_string()
}

#[tokio::test]
async fn the_hint_line_follows_the_context_and_the_item_says_what_was_decided() {
    let (_server, _data, mut s) = session().await;
    s.wait_until("the policies arrive", |app| app.policies.is_some())
        .await;
    let key = |s: &Session, a: Action| s.app.keymap.first_key(&a).unwrap();
    // On the queue: the pickers' keys too; the list names its columns.
    let screen = s.screen(120, 40);
    let hints = hint_row(&screen);
    for (action, what) in [
        (Action::TakeDown, "take down"),
        (Action::TakeDownWith, "…with reason"),
        (Action::EscalateTo, "…to tier"),
        (Action::Undo, "undo"),
        (Action::Help, "help"),
    ] {
        assert!(
            hints.contains(&format!("{} {what}", key(&s, action))),
            "{hints}"
        );
    }
    assert!(screen.contains("LANE PRI CATEGORY"), "{screen}");
    // Narrow: whole hints only, and the key that lets the item take the screen.
    let narrow = hint_row(&s.screen(60, 20));
    assert!(
        narrow.ends_with("  ") || narrow.ends_with(|c: char| c.is_alphabetic()),
        "{narrow}"
    );
    assert!(!narrow.contains("…with reaso "), "{narrow}");
    // Tagged: the keys that act on all of them.
    s.press("<space><space>");
    let hints = hint_row(&s.screen(120, 40));
    assert!(
        hints.contains(&format!(
            "{} t/a/e decide the 2 tagged",
            key(&s, Action::TagPrefix)
        )),
        "{hints}"
    );
    assert!(
        hints.contains(&format!("{} tag similar", key(&s, Action::Similar))),
        "{hints}"
    );
    assert!(
        hints.contains(&format!("{} untag all", key(&s, Action::UntagAll))),
        "{hints}"
    );
    s.press(";");
    let hints = hint_row(&s.screen(120, 40));
    assert!(hints.contains("2 tagged"), "{hints}");
    assert!(
        hints.contains(&format!("{} take down", key(&s, Action::TakeDown))),
        "{hints}"
    );
    s.press("<esc>U");
    // A picker: its own keys, step by step.
    s.press("T");
    let hints = hint_row(&s.screen(120, 40));
    assert!(
        hints.contains("enter picks") && hints.contains("esc cancels"),
        "{hints}"
    );
    s.press("hate<enter>");
    let hints = hint_row(&s.screen(120, 40));
    assert!(hints.contains("space adds/removes"), "{hints}");
    s.press("austri<space><enter>");
    let hints = hint_row(&s.screen(120, 40));
    assert!(hints.contains("tab keeps the proposal"), "{hints}");
    s.press("<tab>");
    let hints = hint_row(&s.screen(120, 40));
    assert!(hints.contains("enter decides"), "{hints}");
    s.press("court order 4711<enter>");
    // The item pane says what this moderator decided and on what basis.
    s.press("k");
    let screen = s.screen(160, 48);
    let basis = screen
        .lines()
        .find(|l| l.contains("basis "))
        .unwrap_or_else(|| panic!("no basis shown:\n{screen}"));
    assert!(basis.contains("reason "), "{basis}");
    assert!(
        basis.contains("scope only in") && basis.contains("AT"),
        "{basis}"
    );
    assert!(basis.contains("note “court"), "{basis}");
    assert!(screen.contains("4711”"), "{screen}");
    // An overlay: how to scroll and close it.
    s.press("?");
    let hints = hint_row(&s.screen(120, 40));
    assert!(
        hints.contains("g/G top/end") && hints.contains("esc closes"),
        "{hints}"
    );
}

/// Scrolled to the end in a small terminal, then the terminal grows: the pane shows the
/// text's end as scrolled there in the larger one, not the same offset over blank rows.
#[tokio::test]
async fn a_pane_that_grows_while_scrolled_shows_the_texts_end() {
    let (_server, _data, mut s) = session().await;
    let at = s
        .app
        .entries
        .iter()
        .enumerate()
        .max_by_key(|(_, e)| e.shown.reports.len())
        .map(|(i, _)| i)
        .unwrap();
    s.select(at);
    let to_the_end = |s: &mut Session, width: u16, height: u16| {
        let mut screen = frame(s, width, height);
        while screen.contains("↓ J more") {
            s.press("J");
            screen = frame(s, width, height);
        }
        screen
    };
    to_the_end(&mut s, 60, 16);
    let grown = frame(&mut s, 80, 24);
    s.press(&"K".repeat(50));
    let scrolled_there = to_the_end(&mut s, 80, 24);
    assert!(scrolled_there.contains("↑ K more"), "{scrolled_there}");
    assert_eq!(grown, scrolled_there);
}
