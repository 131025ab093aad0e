//! Themes as the terminal receives them: the bytes modq writes through its own backend
//! (`modq::tui::ansi16::screen_backend`, as `modq` draws), not the cells of a test buffer.
//! The 16-colour theme must send only the SGR codes a 16-colour terminal knows, and without a
//! `theme =` line the terminal (COLORTERM, TERM, NO_COLOR) decides.

mod common;

use common::{Captured, Session, TestServer};
use modq::config::Config;
use modq::model::ReviewState;
use modq::profile::Dirs;
use modq::session;
use modq::tui::theme::{Palette, Theme, ThemeName};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};

async fn session_with(config: &str) -> (TestServer, tempfile::TempDir, Session) {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let dirs = Dirs::resolve(Some(data.path())).expect("dirs");
    std::fs::create_dir_all(&dirs.config).expect("config folder");
    std::fs::write(modq::config::path(&dirs), config).expect("write config");
    // As `modq` does at start.
    let config = session::load_config(&dirs);
    let s = Session::open_with(&server, &server.token, data.path(), config).await;
    (server, data, s)
}

/// One frame at 100x30, as the bytes modq's backend writes to the terminal.
fn terminal_bytes(s: &Session) -> String {
    let captured = Captured::default();
    let mut terminal = Terminal::with_options(
        modq::tui::ansi16::screen_backend(captured.clone()),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, 100, 30)),
        },
    )
    .expect("terminal");
    terminal
        .draw(|frame| modq::tui::view::draw(frame, &s.app))
        .expect("draw");
    String::from_utf8_lossy(&captured.take()).into_owned()
}

/// The parameter lists of every SGR sequence (`ESC [ … m`) in `bytes`.
fn sgr_params(bytes: &str) -> Vec<Vec<u16>> {
    bytes
        .split("\x1b[")
        .skip(1)
        .filter_map(|rest| {
            let end = rest.find(|c: char| !(c.is_ascii_digit() || c == ';'))?;
            (rest[end..].starts_with('m')).then(|| {
                rest[..end]
                    .split(';')
                    .map(|p| p.parse().unwrap_or(0))
                    .collect()
            })
        })
        .collect()
}

fn is_16_colour(code: u16) -> bool {
    matches!(code, 30..=37 | 39 | 40..=47 | 49 | 90..=97 | 100..=107)
}

/// Codes that set no colour: reset, bold, dim, italic, underline, blink, reverse, hidden,
/// crossed out, and their undoing.
fn is_attribute(code: u16) -> bool {
    matches!(code, 0..=9 | 21..=29)
}

#[tokio::test]
async fn the_16_colour_theme_sends_only_16_colour_codes() {
    let (server, _data, mut s) = session_with("theme = \"16\"\n").await;
    assert_eq!(s.app.theme, Palette::named(ThemeName::Ansi16).theme());
    let first = s.selected_id();
    s.press("t");
    s.wait_delivered().await;
    assert_eq!(server.item(&first).await.state, ReviewState::TakenDown);
    s.press("k");
    assert_eq!(s.selected_id(), first, "the taken-down item, in its colour");

    let bytes = terminal_bytes(&s);
    assert!(
        !bytes.contains("38;5;") && !bytes.contains("48;5;"),
        "no 256-colour codes"
    );
    assert!(
        !bytes.contains("38;2;") && !bytes.contains("48;2;"),
        "no true colour"
    );
    let sgr = sgr_params(&bytes);
    let colours: Vec<u16> = sgr
        .iter()
        .flatten()
        .copied()
        .filter(|c| !is_attribute(*c))
        .collect();
    for code in &colours {
        assert!(is_16_colour(*code), "SGR {code} is not a 16-colour code");
    }
    // The theme's colours did reach the terminal: red for the take down (31), the selection's
    // blue background (44), cyan headings (36).
    for wanted in [31, 44, 36] {
        assert!(colours.contains(&wanted), "SGR {wanted} in {colours:?}");
    }
    s.quit().await;
}

#[tokio::test]
async fn the_default_theme_keeps_its_256_colours() {
    let (_server, _data, s) = session_with("theme = \"default\"\n").await;
    let bytes = terminal_bytes(&s);
    assert!(
        bytes.contains("38;5;"),
        "the default theme's fixed 256-colour shades"
    );
    s.quit().await;
}

#[test]
fn without_a_theme_line_the_terminal_decides_and_a_theme_line_wins() {
    let theme = |name| Palette::named(name).theme();
    let on = |text: &str, no_color, colorterm, term| {
        Config::parse_for(
            text,
            no_color,
            ThemeName::for_terminal(no_color, colorterm, term),
        )
        .theme
    };
    assert_eq!(on("", false, None, Some("xterm")), theme(ThemeName::Ansi16));
    assert_eq!(on("", false, None, Some("linux")), theme(ThemeName::Ansi16));
    assert_eq!(
        on("", false, None, Some("xterm-256color")),
        Theme::default_theme()
    );
    assert_eq!(
        on("", false, Some("truecolor"), Some("xterm")),
        Theme::default_theme()
    );
    assert_eq!(on("", false, None, Some("dumb")), Theme::monochrome());
    assert_eq!(
        on("", true, Some("truecolor"), Some("xterm-256color")),
        Theme::monochrome()
    );
    // An explicit theme wins over the terminal's guess; NO_COLOR still wins over both.
    assert_eq!(
        on("theme = \"default\"\n", false, None, Some("xterm")),
        Theme::default_theme()
    );
    assert_eq!(
        on(
            "theme = \"16\"\n",
            false,
            Some("truecolor"),
            Some("xterm-256color")
        ),
        theme(ThemeName::Ansi16)
    );
    assert_eq!(
        on("theme = \"16\"\n", true, None, Some("xterm")),
        Theme::monochrome()
    );
    // The default config modq writes names no theme, so the terminal still decides.
    assert_eq!(
        on(&modq::config::default_text(), false, None, Some("xterm")),
        theme(ThemeName::Ansi16)
    );
}
