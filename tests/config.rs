//! A moderator's own config: keys remapped (sequences too), themes, NO_COLOR, the mouse, and
//! mistakes in the file that never stop modq. Each session runs the real App against the
//! reference server over HTTP, as `tests/tui_session.rs` does.

mod common;

use crossterm::event::{MouseButton, MouseEventKind};

use common::{Captured, Session, TestServer, render};
use modq::config::Config;
use modq::model::ReviewState;
use modq::profile::Dirs;
use modq::session;

async fn session_with(config: &str) -> (TestServer, tempfile::TempDir, Session) {
    let server = TestServer::with_sample().await;
    let data = tempfile::tempdir().expect("tempdir");
    let dirs = Dirs::resolve(Some(data.path())).expect("dirs");
    let path = modq::config::path(&dirs);
    std::fs::create_dir_all(&dirs.config).expect("config folder");
    std::fs::write(&path, config).expect("write config");
    // As `modq` does at start: read the file once, then open the session with it.
    let config = session::load_config(&dirs);
    let s = Session::open_with(&server, &server.token, data.path(), config).await;
    (server, data, s)
}

fn last_line(screen: &str) -> &str {
    screen.lines().last().unwrap_or("")
}

#[tokio::test]
async fn a_bad_config_never_stops_modq() {
    let (server, _data, mut s) = session_with(
        "theme = \"16\"\n\
         [keys]\n\
         \"z z\" = \"take_down\"\n\
         t = \"explode\"\n\
         x = keep\n\
         [colours]\n\
         accent = \"chartreuse\"\n",
    )
    .await;
    // How many mistakes, and the first with its line and key, are on the message line at start.
    let screen = s.screen(160, 48);
    let message = last_line(&screen);
    assert!(
        message.starts_with(
            "config.toml: 3 problems (in the log; `modq config check` lists them), \
             first line 4, key \"t\": unknown action \"explode\""
        ),
        "{screen}"
    );

    // What was bad keeps its default (t takes down); what was good applies (z z takes down).
    let first = s.selected_id();
    s.press("t");
    let second = s.selected_id();
    s.press("zz");
    assert_eq!(s.app.decided, 2);
    s.wait_delivered().await;
    for id in [first, second] {
        assert_eq!(server.item(&id).await.state, ReviewState::TakenDown, "{id}");
    }
    s.quit().await;
}

#[tokio::test]
async fn a_key_sequence_waits_for_its_second_key_and_the_hint_line_shows_it() {
    let (_server, _data, mut s) =
        session_with("[keys]\n\"g g\" = \"first\"\n\"d d\" = \"take_down\"\n").await;
    s.press("jjj");
    assert_eq!(s.app.selected, 3);

    s.press("g");
    assert_eq!(s.app.selected, 3, "half a sequence does nothing yet");
    let hint = render(&s.app, 80, 24);
    let hint = last_line(&hint);
    assert!(hint.starts_with("g …"), "{hint}");
    assert!(
        hint.contains("g first item") && hint.contains("esc cancels"),
        "{hint}"
    );
    s.press("g");
    assert_eq!(s.app.selected, 0);

    // Esc drops what was typed; the hint line is back to the usual keys.
    s.press("jg<esc>");
    assert_eq!(s.app.selected, 1);
    let screen = render(&s.app, 80, 24);
    assert!(last_line(&screen).starts_with("t take down"), "{screen}");

    // A key that continues nothing drops the sequence and does not act on its own.
    s.press("dj");
    assert_eq!((s.app.selected, s.app.decided), (1, 0));
    s.press("dd");
    assert_eq!(s.app.decided, 1);
    s.quit().await;
}

#[tokio::test]
async fn a_click_selects_the_row_under_it_and_the_wheel_moves_the_selection() {
    let (_server, _data, mut s) = session_with("mouse = true\n").await;
    s.resize(80, 24);
    // Far enough down that the list has scrolled.
    s.press(&"j".repeat(30));
    let before = s.frame();
    let row_text = |screen: &str, row: usize| -> String {
        // The list pane, without its border and the selection marker column.
        let line: String = screen.lines().nth(row).unwrap_or("").chars().collect();
        line.chars().skip(2).take(28).collect()
    };
    let clicked_row = 4u16;
    let wanted = row_text(&before, usize::from(clicked_row));
    assert!(!wanted.trim().is_empty(), "{before}");

    // The click goes through the event loop, mapped through the frame on screen.
    s.mouse(MouseEventKind::Down(MouseButton::Left), 10, clicked_row);
    let after = s.frame();
    let marked = after
        .lines()
        .position(|l| l.starts_with("│▶"))
        .expect("a row is selected");
    assert_eq!(
        row_text(&after, marked),
        wanted,
        "before:\n{before}\nafter:\n{after}"
    );

    // Clicks on the border, the detail pane and the status line do nothing.
    let selected = s.app.selected;
    for (column, row) in [(0, 5), (10, 0), (50, 5), (10, 22), (10, 23)] {
        s.mouse(MouseEventKind::Down(MouseButton::Left), column, row);
        assert_eq!(s.app.selected, selected, "({column}, {row})");
    }
    // The wheel moves the selection, over any pane.
    s.mouse(MouseEventKind::ScrollDown, 50, 5);
    assert_eq!(s.app.selected, selected + 1);
    s.mouse(MouseEventKind::ScrollUp, 5, 5);
    assert_eq!(s.app.selected, selected);
    s.quit().await;
}

/// What the TUI writes to the terminal for one frame at 80x24.
fn terminal_bytes(s: &Session) -> String {
    let captured = Captured::default();
    let mut terminal = common::modq_screen(&captured, 80, 24);
    terminal
        .draw(|frame| modq::tui::view::draw(frame, &s.app))
        .expect("draw");
    String::from_utf8_lossy(&captured.take()).into_owned()
}

/// The bytes of the cells: ratatui ends every frame by resetting colours and attributes
/// (under NO_COLOR, bare resets too) and showing or hiding the cursor.
fn frame_body(bytes: &str) -> &str {
    let end = bytes.rfind("\x1b[0m").expect("a frame ends with a reset");
    bytes[..end].trim_end_matches("\x1b[m")
}

/// SGR sequences with no parameters (`ESC[m`, `ESC[;m`): each resets every attribute.
fn bare_resets(body: &str) -> usize {
    body.split("\x1b[")
        .skip(1)
        .filter(|rest| {
            let params = rest.split('m').next().unwrap_or("x");
            rest.contains('m') && params.chars().all(|c| c == ';')
        })
        .count()
}

#[tokio::test]
async fn under_no_color_the_selection_marker_reaches_the_terminal() {
    let (_server, _data, mut s) = session_with("theme = \"default\"\n").await;
    // What crossterm does when NO_COLOR is set (it reads the variable once, then this switch).
    crossterm::style::force_color_output(false);

    // The pitfall: a coloured theme under NO_COLOR sends bare resets mid-frame, which wipe
    // bold and reverse along with the colour.
    let coloured = terminal_bytes(&s);
    assert!(bare_resets(frame_body(&coloured)) > 0);

    s.app.theme = Config::parse("theme = \"default\"\n", true).theme;
    let bytes = terminal_bytes(&s);
    assert!(bytes.contains('▶'), "the selection marker is written");
    let body = frame_body(&bytes);
    assert_eq!(bare_resets(body), 0, "no bare reset mid-frame");
    assert!(!body.contains("38;") && !body.contains("48;"), "no colour");
    assert!(!body.contains("\x1b[7m"), "no reverse video");
    // The selected row is underlined (and bold), which nothing resets mid-frame.
    assert!(body.contains("\x1b[4m"), "the selection is underlined");
    s.quit().await;
}
