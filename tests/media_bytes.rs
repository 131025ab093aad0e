//! What modq writes to the terminal for an image, byte by byte, at 80x24: over half-blocks
//! (colours only), and with the kitty and sixel protocols (their escape sequences well
//! formed, and only the ones modq's encoder made). The item around the image is hostile: its
//! text and its media description carry a kitty command (APC), a sixel image (DCS), a
//! clipboard write (OSC 52) and a cursor move; none of it reaches the terminal as a sequence.
//! Frames are written by the real crossterm backend, through GapFill, as the binary writes
//! them, from modq's own event loop; and a terminal too small for the image gets a note, not
//! a panic.

mod common;

use std::io;

use base64::Engine;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use serde_json::json;

use common::{Captured, Session, TestServer};
use modq::media::cache::Slot;
use modq::tui::app::App;
use modq::tui::event_loop::Screen as LoopScreen;
use modq::tui::gap_fill::GapFill;

/// What an item says, meant for the terminal.
const KITTY_ATTACK: &str = "\u{1b}_Gi=31,a=T,f=100;cHduZWQ=\u{1b}\\";
const SIXEL_ATTACK: &str = "\u{1b}Pq#9;2;99;0;0#9!40~\u{1b}\\";
const CLIPBOARD_ATTACK: &str = "\u{1b}]52;c;cHduZWQ=\u{7}";
const MOVE_ATTACK: &str = "\u{1b}[2J\u{1b}[1;1H";

fn hostile_report() -> String {
    let png = {
        let image = image::RgbImage::from_fn(40, 30, |x, y| {
            image::Rgb([(x * 6) as u8, (y * 8) as u8, 160])
        });
        let mut bytes = Vec::new();
        image
            .write_to(
                &mut std::io::Cursor::new(&mut bytes),
                image::ImageFormat::Png,
            )
            .unwrap();
        bytes
    };
    let data = base64::engine::general_purpose::STANDARD.encode(png);
    let text =
        format!("look {KITTY_ATTACK} and {SIXEL_ATTACK} then {CLIPBOARD_ATTACK}{MOVE_ATTACK}");
    let line = json!({
        "subject": {"id": "post-hostile", "kind": "post", "text": text,
            "media": [{"kind": "image", "description": format!("pic {KITTY_ATTACK}{SIXEL_ATTACK}"), "data": data}]},
        "reporter_type": "automated", "category": "spam",
        "received_at": "2026-11-23T11:00:00Z"
    });
    // A second item, lower in the queue, without an image.
    let plain = json!({
        "subject": {"id": "post-plain", "kind": "post", "text": "nothing to see"},
        "reporter_type": "user", "category": "spam",
        "received_at": "2026-11-23T11:30:00Z"
    });
    format!("{line}\n{plain}\n")
}

/// The real crossterm backend writing into memory, a new terminal each frame so each frame
/// is written whole.
struct ByteScreen {
    width: u16,
    height: u16,
    /// How often the loop cleared the screen.
    wipes: usize,
    terminal: Terminal<GapFill<CrosstermBackend<Captured>>>,
    written: Captured,
    last: Vec<u8>,
}

impl ByteScreen {
    fn new(width: u16, height: u16) -> ByteScreen {
        let written = Captured::default();
        ByteScreen {
            width,
            height,
            wipes: 0,
            terminal: common::modq_screen(&written, width, height),
            written,
            last: Vec::new(),
        }
    }
}

impl LoopScreen for ByteScreen {
    fn show(&mut self, app: &App) -> io::Result<Rect> {
        let fresh = ByteScreen::new(self.width, self.height);
        self.terminal = fresh.terminal;
        self.written = fresh.written;
        let area = self.terminal.show(app)?;
        self.last = self.written.take();
        Ok(area)
    }

    fn wipe(&mut self) -> io::Result<()> {
        self.wipes += 1;
        self.terminal.wipe()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    Halfblocks,
    Kitty,
    Sixel,
}

/// What one frame held: its text (sequences taken out), and the kitty commands (APC) and
/// sixel images (DCS) it carried.
#[derive(Debug, Default)]
struct Parsed {
    text: String,
    apcs: Vec<String>,
    dcss: Vec<String>,
}

/// Parses a frame's bytes; an error names what is not something modq draws with `protocol`.
fn parse(bytes: &[u8], protocol: Protocol) -> Result<Parsed, String> {
    let mut parsed = Parsed::default();
    let mut text = Vec::new();
    let mut i = 0;
    let at = |i: usize| String::from_utf8_lossy(&bytes[i..(i + 32).min(bytes.len())]).into_owned();
    // The string of an APC or DCS from `start` to its ST (`ESC \`).
    let string_at = |start: usize| -> Result<(String, usize), String> {
        let end = bytes[start..]
            .windows(2)
            .position(|w| w == b"\x1b\\")
            .ok_or_else(|| format!("an unterminated string: {:?}", at(start)))?;
        let body = &bytes[start..start + end];
        if body.contains(&0x1b) {
            return Err(format!("an escape inside a string: {:?}", at(start)));
        }
        Ok((String::from_utf8_lossy(body).into_owned(), start + end + 2))
    };
    while i < bytes.len() {
        if bytes[i] != 0x1b {
            text.push(bytes[i]);
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'[') => {
                let start = i + 2;
                let mut end = start;
                while bytes.get(end).is_some_and(|b| (0x30..=0x3f).contains(b)) {
                    end += 1;
                }
                let params = &bytes[start..end];
                let last = *bytes.get(end).ok_or("an unfinished CSI")?;
                let digits = params
                    .iter()
                    .all(|b| b.is_ascii_digit() || b";:".contains(b));
                let ok = match last {
                    b'H' | b'm' | b'J' | b'K' => digits,
                    b'h' | b'l' => params == b"?25" || params == b"?2026",
                    // Sixel's own clearing of its cells before the image: erase, down, up.
                    b'X' | b'A' | b'B' => digits && protocol == Protocol::Sixel,
                    _ => false,
                };
                if !ok {
                    return Err(format!("a CSI modq does not draw with: {:?}", at(i)));
                }
                i = end + 1;
            }
            Some(b'_') if protocol == Protocol::Kitty => {
                let (body, next) = string_at(i + 2)?;
                parsed.apcs.push(body);
                i = next;
            }
            Some(b'P') if protocol == Protocol::Sixel => {
                let (body, next) = string_at(i + 2)?;
                parsed.dcss.push(body);
                i = next;
            }
            _ => {
                return Err(format!(
                    "an escape sequence modq does not send: {:?}",
                    at(i)
                ));
            }
        }
    }
    parsed.text = String::from_utf8(text).map_err(|e| format!("invalid UTF-8: {e}"))?;
    if let Some(c) = parsed.text.chars().find(|c| c.is_control()) {
        return Err(format!("raw U+{:04X} drawn", c as u32));
    }
    Ok(parsed)
}

/// A kitty graphics command as ratatui-image's encoder writes it: `G`, keys, `;`, base64.
fn well_formed_kitty(apc: &str) -> bool {
    let Some(rest) = apc.strip_prefix('G') else {
        return false;
    };
    let (keys, payload) = rest.split_once(';').unwrap_or((rest, ""));
    keys.split(',').all(|kv| {
        kv.split_once('=').is_some_and(|(k, v)| {
            k.len() == 1 && !v.is_empty() && v.bytes().all(|b| b.is_ascii_alphanumeric())
        })
    }) && payload
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
}

/// A sixel image: numeric parameters, `q`, then sixel data only.
fn well_formed_sixel(dcs: &str) -> bool {
    let Some((params, data)) = dcs.split_once('q') else {
        return false;
    };
    params.bytes().all(|b| b.is_ascii_digit() || b == b';')
        && data
            .bytes()
            .all(|b| (0x3f..=0x7e).contains(&b) || b.is_ascii_digit() || b"#;!$-\"".contains(&b))
}

async fn session_on_hostile_item(protocol: &str) -> (TestServer, tempfile::TempDir, Session) {
    let server = TestServer::with_reports(&hostile_report()).await;
    let data = tempfile::tempdir().unwrap();
    let mut s = Session::open(&server, data.path()).await;
    // The session's own screen is too small for a picture: the first frame with one is the
    // byte screen's (a kitty image is transmitted once, in the first frame that draws it).
    s.resize(20, 6);
    s.app.media.picker = modq::media::protocol::choose(protocol, |_| None).unwrap();
    let wanted = s.app.media.picker.as_ref().unwrap().protocol_type();
    let entry = s
        .app
        .entries
        .iter()
        .find(|e| e.id == "post-hostile")
        .unwrap();
    let id = entry.shown.media[0].id.clone().unwrap();
    // The session asked for the image with its first picker when it opened: until an answer
    // made with this one is in, ask again.
    let made_for = |app: &App| match app.media.cache.get(&id) {
        Some(Slot::Ready(p)) => Some(protocol_of(&p.hidden)),
        _ => None,
    };
    for _ in 0..5 {
        s.app.media.cache.forget(&id);
        s.press("K");
        s.wait_until("the image", |app| made_for(app).is_some())
            .await;
        if made_for(&s.app) == Some(wanted) {
            return (server, data, s);
        }
    }
    panic!("no image made for {protocol}");
}

fn protocol_of(p: &ratatui_image::protocol::Protocol) -> ratatui_image::picker::ProtocolType {
    use ratatui_image::picker::ProtocolType;
    use ratatui_image::protocol::Protocol;
    match p {
        Protocol::Halfblocks(_) => ProtocolType::Halfblocks,
        Protocol::Sixel(_) => ProtocolType::Sixel,
        Protocol::Kitty(_) => ProtocolType::Kitty,
        Protocol::ITerm2(_) => ProtocolType::Iterm2,
    }
}

/// One frame at 80x24 with the item on the whole screen (`z`): its bytes parsed.
fn frame_bytes(s: &mut Session, keys: &str, protocol: Protocol) -> Parsed {
    let mut screen = ByteScreen::new(80, 24);
    s.press_on(keys, &mut screen);
    parse(&screen.last, protocol).unwrap_or_else(|e| panic!("{protocol:?}: {e}"))
}

fn the_attacks_show_as_text(parsed: &Parsed) {
    // The escapes are drawn as visible symbols, in the text, never as sequences.
    assert!(parsed.text.contains("␛_Gi=31"), "{}", parsed.text);
    assert!(parsed.text.contains("␛Pq#9"), "{}", parsed.text);
    assert!(parsed.text.contains("␛]52;c;cHduZWQ="), "{}", parsed.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_blocks_are_colours_only_and_the_items_sequences_stay_text() {
    let (_server, _data, mut s) = session_on_hostile_item("halfblocks").await;
    for keys in ["z", "v", "v"] {
        let parsed = frame_bytes(&mut s, keys, Protocol::Halfblocks);
        assert!(parsed.apcs.is_empty() && parsed.dcss.is_empty());
        assert!(
            parsed.text.contains('▀') || parsed.text.contains('▄'),
            "no picture drawn: {}",
            parsed.text
        );
        assert!(parsed.text.contains("image 1 of 1"), "{}", parsed.text);
        the_attacks_show_as_text(&parsed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kitty_sequences_are_modqs_own_and_well_formed() {
    let (_server, _data, mut s) = session_on_hostile_item("kitty").await;
    // The first frame with the picture transmits it: chunks of one command, then placements.
    let parsed = frame_bytes(&mut s, "z", Protocol::Kitty);
    assert!(!parsed.apcs.is_empty(), "no image transmitted");
    for apc in &parsed.apcs {
        assert!(well_formed_kitty(apc), "{apc:.80}");
        // ratatui-image's quiet transmission, never the item's `i=31,a=T`.
        assert!(apc.starts_with("Gq=2,"), "{apc:.80}");
        assert!(!apc.contains("cHduZWQ="), "{apc:.80}");
    }
    assert!(parsed.text.contains('\u{10EEEE}'), "no placeholder cells");
    the_attacks_show_as_text(&parsed);
    // Revealed: another picture, transmitted once; the hidden one is not sent again.
    let parsed = frame_bytes(&mut s, "v", Protocol::Kitty);
    assert!(!parsed.apcs.is_empty());
    assert!(
        parsed
            .apcs
            .iter()
            .all(|a| well_formed_kitty(a) && a.starts_with("Gq=2,"))
    );
    let parsed = frame_bytes(&mut s, "K", Protocol::Kitty);
    assert!(
        parsed.apcs.is_empty(),
        "sent again: {:?}",
        parsed.apcs.len()
    );
    assert!(parsed.text.contains('\u{10EEEE}'));
    the_attacks_show_as_text(&parsed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixel_is_one_well_formed_image_and_nothing_of_the_items() {
    let (_server, _data, mut s) = session_on_hostile_item("sixel").await;
    for keys in ["z", "v"] {
        let parsed = frame_bytes(&mut s, keys, Protocol::Sixel);
        assert_eq!(
            parsed.dcss.len(),
            1,
            "one image a frame, modq's: {}",
            parsed.text
        );
        assert!(well_formed_sixel(&parsed.dcss[0]), "{:.80}", parsed.dcss[0]);
        assert!(!parsed.dcss[0].contains("#9;2;99;0;0#9!40~"));
        the_attacks_show_as_text(&parsed);
    }
    // Sixel pixels lie over the cells: leaving the item clears the screen, so the picture
    // does not stay behind the next item's blank cells. Coming back draws it again.
    let mut screen = ByteScreen::new(80, 24);
    s.press_on("j", &mut screen);
    assert_eq!(s.selected_id(), "post-plain");
    assert_eq!(screen.wipes, 1, "the sixel picture was not cleared");
    let parsed = parse(&screen.last, Protocol::Sixel).unwrap();
    assert!(parsed.dcss.is_empty());
    s.press_on("k", &mut screen);
    assert_eq!(screen.wipes, 1, "nothing to clear on arriving");
    assert_eq!(parse(&screen.last, Protocol::Sixel).unwrap().dcss.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_too_small_for_the_image_gets_a_note_and_every_size_draws() {
    let (_server, _data, mut s) = session_on_hostile_item("kitty").await;
    // A short screen: the pane has no room for the picture, a one-line note says so.
    let mut short = ByteScreen::new(100, 16);
    s.press_on("K", &mut short);
    let parsed = parse(&short.last, Protocol::Kitty).unwrap();
    assert!(
        parsed.apcs.is_empty(),
        "an image in a pane too small for it"
    );
    assert!(!parsed.text.contains('\u{10EEEE}'));
    assert!(
        parsed
            .text
            .contains("image 1 of 1 · too small here (z: whole screen)"),
        "{}",
        parsed.text
    );
    // Every size down to 1x1, with the image ready, hidden and revealed: no panic.
    s.draw_at_every_size();
    s.press("v");
    s.draw_at_every_size();
    let mut tiny = ByteScreen::new(20, 6);
    s.press_on("K", &mut tiny);
    let parsed = parse(&tiny.last, Protocol::Kitty).unwrap();
    assert!(parsed.apcs.is_empty(), "an image on a 20x6 screen");
}
