//! Key to next item drawn, and bytes to the terminal per decision.
//!
//! `cargo bench --bench decide` prints, for 120x40 and 80x24, the application time from a key
//! event to the finished frame of the next item (App::update, including the outbox journal's
//! commit, plus rendering into the terminal backend; the fsync behind it runs on its own
//! thread), as p50 and p99 over several runs, and the bytes the real crossterm backend writes
//! per decision (what an SSH link carries). Beside the walk without deciding it prints what
//! modq's drawing alone costs (`view::draw` into a cleared buffer, without ratatui's diff and
//! the backend), and the key-to-frame figure again with every item's text as long as modq
//! shows (16,384 characters).

use std::sync::Arc;
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::{CrosstermBackend, TestBackend};

use modq::backend::modq::ModqClient;
use modq::backend::{Backend, QueueQuery};
use modq::model::{QueuePage, Role};
use modq::server::{self, SqliteStorage, Storage};
use modq::store::Store;
use modq::tui::app::{App, AppInit};
use modq::tui::gap_fill::GapFill;
use modq::tui::keymap::KeyMap;
use modq::tui::theme::Theme;

mod support;

use support::{Counter, median, percentile};

/// The sample queue, read once from the reference server over HTTP.
fn sample_page() -> QueuePage {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = SqliteStorage::open(&dir.path().join("s.sqlite")).expect("db");
        server::import_jsonl(&storage, modq::demo::SAMPLE_QUEUE.as_bytes()).expect("import");
        let token = server::add_token(&storage, "bench", Role::Moderator).expect("token");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let api = format!("http://{}", listener.local_addr().expect("addr"));
        let storage: Arc<dyn Storage> = Arc::new(storage);
        tokio::spawn(server::serve(listener, storage, std::future::pending()));
        let client = ModqClient::new(&api, &token).expect("client");
        // Read, as modq's list is: a claim would get one moderator's share (25), not the
        // whole sample.
        let page = client
            .queue_page(&QueueQuery {
                limit: Some(500),
                ..QueueQuery::default()
            })
            .await
            .expect("read the queue");
        QueuePage {
            items: page.items,
            next_cursor: None,
        }
    })
}

fn new_app(page: &QueuePage, dir: &tempfile::TempDir) -> App {
    let store = Store::open(&dir.path().join("bench.sqlite")).expect("store");
    App::new(AppInit {
        profile: "bench@127.0.0.1".into(),
        api: "http://127.0.0.1".into(),
        capabilities: modq::backend::modq::capabilities(),
        store,
        first_page: page.clone(),
        keymap: KeyMap::default_keymap(),
        theme: Theme::default_theme(),
        now: chrono::Utc::now(),
    })
    .expect("app")
}

/// A fresh session on `page`, its first frame drawn through `backend`; the folder holds its
/// outbox.
fn first_frame<B: ratatui::backend::Backend>(
    page: &QueuePage,
    backend: B,
) -> (tempfile::TempDir, App, Terminal<B>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = new_app(page, &dir);
    let mut terminal = Terminal::new(backend).expect("terminal");
    terminal
        .draw(|f| modq::tui::view::draw(f, &app))
        .expect("draw");
    (dir, app, terminal)
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

/// Where a decision's bytes go at `w`x`h`: each changed cell of every frame is written by the
/// real crossterm backend, counted per screen area (list, detail, status and hint lines).
fn bytes_by_area(page: &QueuePage, w: u16, h: u16) {
    use ratatui::backend::Backend as _;
    let (_dir, mut app, mut terminal) = first_frame(page, TestBackend::new(w, h));
    let panes = modq::tui::view::panes(ratatui::layout::Rect::new(0, 0, w, h), &app)
        .expect("room for the layout");
    let areas = [panes.list, panes.detail, panes.status, panes.hints];
    let area_of = |x: u16, y: u16| {
        let at = ratatui::layout::Position::new(x, y);
        areas.iter().position(|a| a.contains(at)).unwrap_or(0)
    };
    let names = ["list", "detail", "status line", "hint line"];
    let (mut bytes, mut cells, mut runs) = ([0usize; 4], [0usize; 4], [0usize; 4]);
    let decisions = page.items.len() - 1;
    for i in 0..decisions {
        let before = terminal.backend().buffer().clone();
        let _effects = app.handle_key(key(['t', 'a', 'e'][i % 3]));
        terminal
            .draw(|f| modq::tui::view::draw(f, &app))
            .expect("draw");
        let after = terminal.backend().buffer().clone();
        let diff = before.diff(&after);
        for (area, name_bytes) in bytes.iter_mut().enumerate() {
            let mine: Vec<_> = diff
                .iter()
                .filter(|(x, y, _)| area_of(*x, *y) == area)
                .copied()
                .collect();
            cells[area] += mine.len();
            runs[area] += mine
                .windows(2)
                .filter(|p| p[1].1 != p[0].1 || p[1].0 != p[0].0 + 1)
                .count()
                + usize::from(!mine.is_empty());
            let written = Counter::default();
            let mut backend = CrosstermBackend::new(written.clone());
            backend.draw(mine.into_iter()).expect("draw");
            *name_bytes += written.get();
        }
    }
    let per = |v: usize| v as f64 / decisions as f64;
    for (area, name) in names.iter().enumerate() {
        println!(
            "  {w}x{h} {name}: {:.0} bytes, {:.0} cells in {:.1} runs per decision (mean)",
            per(bytes[area]),
            per(cells[area]),
            per(runs[area])
        );
    }
}

fn main() {
    let runs = support::size(5, 1);
    let page = sample_page();
    let decisions = page.items.len() - 1;
    println!(
        "modq decide benchmark: {} items, {decisions} decisions per run, {runs} runs",
        page.items.len()
    );
    for (w, h) in [(120u16, 40u16), (80, 24)] {
        let (mut p50s, mut p99s, mut move_p50s) = (Vec::new(), Vec::new(), Vec::new());
        let mut draw_p50s = Vec::new();
        let (mut bytes, mut plain_bytes) = (Vec::new(), Vec::new());
        for run in 0..runs {
            let times = key_to_frame(&page, w, h, run);
            p50s.push(percentile(&times, 0.50).as_secs_f64() * 1e6);
            p99s.push(percentile(&times, 0.99).as_secs_f64() * 1e6);
            let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");

            // The same walk without deciding (j, then g back): what drawing alone costs, so
            // the rest of the decision figure is the journal's commit.
            let mut moves = Vec::with_capacity(decisions);
            let dir = tempfile::tempdir().expect("tempdir");
            let mut app = new_app(&page, &dir);
            for _ in 0..decisions {
                let started = Instant::now();
                let _effects = app.handle_key(key('j'));
                terminal
                    .draw(|f| modq::tui::view::draw(f, &app))
                    .expect("draw");
                moves.push(started.elapsed());
            }
            moves.sort();
            move_p50s.push(percentile(&moves, 0.50).as_secs_f64() * 1e6);

            // The same walk again, timing only modq's drawing into a cleared buffer: the rest of
            // the figure above is ratatui comparing frames and the backend taking the changes.
            let mut draws = Vec::with_capacity(decisions);
            let dir = tempfile::tempdir().expect("tempdir");
            let mut app = new_app(&page, &dir);
            for _ in 0..decisions {
                let _effects = app.handle_key(key('j'));
                let started = Instant::now();
                terminal.current_buffer_mut().reset();
                modq::tui::view::draw(&mut terminal.get_frame(), &app);
                draws.push(started.elapsed());
            }
            draws.sort();
            draw_p50s.push(percentile(&draws, 0.50).as_secs_f64() * 1e6);

            // Bytes: what modq writes (through `GapFill`) and what the crossterm backend alone
            // would.
            bytes.push(bytes_per_decision(&page, w, h, |out| {
                GapFill::new(CrosstermBackend::new(out))
            }));
            plain_bytes.push(bytes_per_decision(&page, w, h, CrosstermBackend::new));
        }
        println!(
            "{w}x{h}: key to next item drawn p50 {:.0} µs, p99 {:.0} µs (medians of {runs} runs); \
             moving without deciding p50 {:.0} µs; bytes to the terminal per decision, median {:.0} \
             ({:.0} without GapFill)",
            median(p50s),
            median(p99s),
            median(move_p50s),
            median(bytes),
            median(plain_bytes)
        );
        println!(
            "  {w}x{h} of moving: view::draw alone (into a cleared buffer) p50 {:.0} µs",
            median(draw_p50s)
        );
        bytes_by_area(&page, w, h);
    }
    // The same items, each holding as much text as modq shows (a wall of spam, a manifesto).
    let long = long_texts(&page);
    let (p50, p99) = key_to_frame_medians(&long, runs);
    println!(
        "120x40, every item {} characters long: key to next item drawn p50 {p50:.0} µs, p99 \
         {p99:.0} µs (medians of {runs} runs); bytes per decision, median {:.0} ({:.0} without \
         GapFill)",
        modq::sanitize::MAX_CHARS,
        bytes_per_decision(&long, 120, 40, |out| GapFill::new(CrosstermBackend::new(
            out
        ))),
        bytes_per_decision(&long, 120, 40, CrosstermBackend::new)
    );
    let (p50, p99) = key_to_frame_medians(&whitespace_texts(&page), runs);
    println!(
        "120x40, every item's text padded to {} characters with ideographic spaces: key to next \
         item drawn p50 {p50:.0} µs, p99 {p99:.0} µs (medians of {runs} runs)",
        modq::sanitize::MAX_CHARS,
    );
}

/// Key to next item drawn at 120x40 over `runs` runs: the medians of each run's p50 and p99,
/// in µs.
fn key_to_frame_medians(page: &QueuePage, runs: usize) -> (f64, f64) {
    let (mut p50s, mut p99s) = (Vec::new(), Vec::new());
    for run in 0..runs {
        let times = key_to_frame(page, 120, 40, run);
        p50s.push(percentile(&times, 0.50).as_secs_f64() * 1e6);
        p99s.push(percentile(&times, 0.99).as_secs_f64() * 1e6);
    }
    (median(p50s), median(p99s))
}

/// The median bytes a decision writes to the terminal at `w`x`h`, through the backend that
/// `backend` makes around a counter, over a session deciding every item but the last.
fn bytes_per_decision<B: ratatui::backend::Backend>(
    page: &QueuePage,
    w: u16,
    h: u16,
    backend: impl FnOnce(Counter) -> B,
) -> f64 {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = new_app(page, &dir);
    let written = Counter::default();
    let mut terminal = Terminal::with_options(
        backend(written.clone()),
        ratatui::TerminalOptions {
            viewport: ratatui::Viewport::Fixed(ratatui::layout::Rect::new(0, 0, w, h)),
        },
    )
    .expect("terminal");
    terminal
        .draw(|f| modq::tui::view::draw(f, &app))
        .expect("draw");
    let decisions = page.items.len() - 1;
    let mut per = Vec::with_capacity(decisions);
    for i in 0..decisions {
        let before = written.get();
        let _effects = app.handle_key(key(['t', 'a', 'e'][i % 3]));
        terminal
            .draw(|f| modq::tui::view::draw(f, &app))
            .expect("draw");
        per.push((written.get() - before) as f64);
    }
    median(per)
}

/// Decides every item but the last of a fresh session on `page` with t/a/e (starting at the
/// `run`th key), timing each key until the next item's frame is drawn into ratatui's
/// in-memory backend, so the figure is modq's own work. Answers the times, sorted.
fn key_to_frame(page: &QueuePage, w: u16, h: u16, run: usize) -> Vec<std::time::Duration> {
    // Through `GapFill`, as the TUI draws: its bookkeeping is part of the figure.
    let (_dir, mut app, mut terminal) = first_frame(page, GapFill::new(TestBackend::new(w, h)));
    let decisions = page.items.len() - 1;
    let mut times = Vec::with_capacity(decisions);
    for i in 0..decisions {
        let k = ['t', 'a', 'e'][(i + run) % 3];
        let started = Instant::now();
        let _effects = app.handle_key(key(k));
        terminal
            .draw(|f| modq::tui::view::draw(f, &app))
            .expect("draw");
        times.push(started.elapsed());
    }
    times.sort();
    times
}

/// `page` with each item's text followed by ideographic spaces (U+3000, two columns wide
/// and whitespace, so a row break drops them) up to the most modq shows of it: text that
/// wraps into few rows however long it is.
fn whitespace_texts(page: &QueuePage) -> QueuePage {
    let mut spaced = page.clone();
    for item in &mut spaced.items {
        let text = item.text.get_or_insert_with(|| "no text".into());
        let pad = modq::sanitize::MAX_CHARS.saturating_sub(text.chars().count());
        text.extend(std::iter::repeat_n('\u{3000}', pad));
    }
    spaced
}

/// `page` with each item's text repeated up to the most modq shows of it.
fn long_texts(page: &QueuePage) -> QueuePage {
    let mut long = page.clone();
    for item in &mut long.items {
        let text = item.text.get_or_insert_with(|| "no text".into());
        let words = format!("{text} ");
        *text = words
            .chars()
            .cycle()
            .take(modq::sanitize::MAX_CHARS)
            .collect();
    }
    long
}
