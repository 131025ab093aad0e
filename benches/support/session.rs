//! A moderator session as `modq` opens one (`session::prepare`), driven key by key without a
//! terminal through modq's own event loop: the figure the benchmarks share, key to next item
//! drawn, is one turn of that loop.

use std::time::{Duration, Instant};

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::runtime::Runtime;

use modq::profile::Dirs;
use modq::sync::{SyncEvent, SyncHandle};
use modq::tui::app::{App, QueueEnd};
use modq::tui::event_loop::{EventLoop, Flow, Input, Outlets};

use super::{median, p50_p99};

/// A running reference server and a moderator token for it.
pub struct Server {
    pub api: String,
    pub token: String,
    /// The server's SQLite file.
    pub db: std::path::PathBuf,
    pub _dir: tempfile::TempDir,
}

/// The reference server on 127.0.0.1 with `items` open items; `wrap` may put layers around
/// its API (e.g. a delay).
pub fn start_server(
    rt: &Runtime,
    items: usize,
    wrap: impl FnOnce(axum::Router) -> axum::Router,
) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("server.sqlite");
    let (storage, token) = super::queue_db(&db, items);
    let router = wrap(modq::server::router(std::sync::Arc::new(storage)));
    let api = rt.block_on(super::serve_router(router));
    Server {
        api,
        token,
        db,
        _dir: dir,
    }
}

pub struct Figures {
    /// Key to next item drawn, µs.
    pub p50: f64,
    pub p99: f64,
    /// From asking for the next page to having it in the App, ms.
    pub page_ms: Vec<f64>,
}

/// A session opened exactly as `modq` opens one (`session::prepare`), driven without a
/// terminal on modq's own event loop: a key is one turn of it, which hands the key to the
/// App, carries out every effect and draws the frame into ratatui's in-memory backend;
/// background events are turns too, as in the binary.
pub struct Session {
    pub app: App,
    sync: SyncHandle,
    event_loop: EventLoop,
    screen: Terminal<TestBackend>,
    /// What the loop wrote outside of frames (OSC 52): nothing a bench asks for.
    terminal: Vec<u8>,
    pages: Pages,
    _data: tempfile::TempDir,
}

impl Session {
    /// A session drawing 120x40 frames.
    pub fn open(rt: &Runtime, server: &Server) -> Session {
        Session::open_sized(rt, server, 120, 40)
    }

    /// A session drawing `w`x`h` frames; the first is drawn.
    pub fn open_sized(rt: &Runtime, server: &Server, w: u16, h: u16) -> Session {
        let data = tempfile::tempdir().expect("tempdir");
        let dirs = Dirs::resolve(Some(data.path())).expect("dirs");
        let prepared = rt
            .block_on(modq::session::prepare(
                &server.api,
                &server.token,
                &dirs,
                modq::config::Config::default(),
            ))
            .expect("prepare");
        Session::with_data(rt, prepared, data, w, h)
    }

    /// A session on any backend a profile names (a Matrix homeserver, say), `w`x`h` frames.
    pub fn open_target(rt: &Runtime, target: &modq::session::Target, w: u16, h: u16) -> Session {
        let data = tempfile::tempdir().expect("tempdir");
        let dirs = Dirs::resolve(Some(data.path())).expect("dirs");
        let prepared = rt
            .block_on(modq::session::prepare_target(
                target,
                &dirs,
                modq::config::Config::default(),
            ))
            .expect("prepare");
        Session::with_data(rt, prepared, data, w, h)
    }

    fn with_data(
        rt: &Runtime,
        prepared: modq::session::Prepared,
        data: tempfile::TempDir,
        w: u16,
        h: u16,
    ) -> Session {
        let mut session = Session {
            app: prepared.app,
            sync: prepared.sync,
            event_loop: EventLoop::new(prepared.events),
            screen: Terminal::new(TestBackend::new(w, h)).expect("terminal"),
            terminal: Vec::new(),
            pages: Pages {
                asked: None,
                ms: Vec::new(),
            },
            _data: data,
        };
        session.turn(rt, Vec::new());
        session
    }

    /// A session on any backend, as `session::prepare_target` (or `prepare_backend`) made it:
    /// `w`x`h` frames; the first is drawn.
    pub fn from_prepared(
        rt: &Runtime,
        prepared: modq::session::Prepared,
        w: u16,
        h: u16,
    ) -> Session {
        let data = tempfile::tempdir().expect("tempdir");
        Session::with_data(rt, prepared, data, w, h)
    }

    /// What no key asks for (a click's selection), as one turn of the loop.
    pub fn message(&mut self, rt: &Runtime, message: modq::tui::action::Message) {
        self.turn(rt, vec![Input::Answer(message)]);
    }

    /// One turn of the loop over `inputs`, timing the pages it brings (from the turn that
    /// asked for one to the turn that hands it to the App).
    fn turn(&mut self, rt: &Runtime, inputs: Vec<Input>) {
        let _runtime = rt.enter();
        let page = inputs
            .iter()
            .any(|i| matches!(i, Input::Sync(SyncEvent::Page { .. })));
        let loading = self.app.queue_end == QueueEnd::Loading;
        let mut outlets = Outlets {
            sync: &self.sync,
            terminal: &mut self.terminal,
        };
        let flow = self
            .event_loop
            .turn(&mut self.app, inputs, &mut outlets, &mut self.screen)
            .expect("a turn of the event loop");
        assert_eq!(flow, Flow::Continue, "the session goes on");
        if page && let Some(asked) = self.pages.asked.take() {
            self.pages.ms.push(asked.elapsed().as_secs_f64() * 1e3);
        }
        if !loading && self.app.queue_end == QueueEnd::Loading {
            // The window ran low and asked for the next page.
            self.pages.asked.get_or_insert_with(Instant::now);
        }
    }

    /// A key press: one turn of the loop, ending with the frame drawn.
    pub fn key(&mut self, rt: &Runtime, c: char) {
        let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        self.turn(rt, vec![Input::Terminal(Event::Key(key))]);
    }

    /// Turns over what the background tasks reported, without waiting.
    pub fn pump(&mut self, rt: &Runtime) {
        let ready = self.event_loop.ready();
        if !ready.is_empty() {
            self.turn(rt, ready);
        }
    }

    /// Turns over background events, waiting for them, until `done` holds.
    pub fn pump_until(&mut self, rt: &Runtime, done: impl Fn(&App) -> bool) {
        loop {
            self.pump(rt);
            if done(&self.app) {
                return;
            }
            let first = rt.block_on(self.event_loop.next());
            let mut batch = vec![first];
            batch.extend(self.event_loop.ready());
            self.turn(rt, batch);
        }
    }

    /// Ends the session as quitting does; every decision must have been delivered.
    pub fn close(self, rt: &Runtime) {
        let left = rt
            .block_on(self.sync.shutdown(Duration::from_secs(60)))
            .expect("shutdown");
        assert_eq!(left.unsent, 0, "every decision reached the server");
    }
}

/// Decide `decisions` items of a fresh session on `server` with t/a/e, timing each key until
/// the next item's frame is drawn at `w`x`h` by the loop's turn. Background events are turns
/// between keys, untimed, as in the binary's loop. Ends with every decision delivered.
pub fn decide(rt: &Runtime, server: &Server, decisions: usize, w: u16, h: u16) -> Figures {
    let mut session = Session::open_sized(rt, server, w, h);
    let mut times = Vec::with_capacity(decisions);
    for i in 0..decisions {
        // A moderator would find the next item waiting; the bench is faster than any
        // moderator, so it waits for the page instead of deciding into an empty window.
        session.pump_until(rt, |app| open_items(app) >= 2);
        let started = Instant::now();
        session.key(rt, ['t', 'a', 'e'][i % 3]);
        times.push(started.elapsed());
    }
    let page_ms = std::mem::take(&mut session.pages.ms);
    session.close(rt);
    let (p50, p99) = p50_p99(times);
    Figures { p50, p99, page_ms }
}

/// Runs `pair` `runs` times (each answering the baseline's figures, then the variant's, taken
/// back to back so both meet the same load), and prints each setting's medians and the
/// variant / baseline ratio of each run's p50 and p99, medianed.
pub fn compare(labels: [&str; 2], runs: usize, mut pair: impl FnMut() -> (Figures, Figures)) {
    let mut sums: [(Vec<f64>, Vec<f64>, Vec<f64>); 2] = Default::default();
    let (mut ratios_p50, mut ratios_p99) = (Vec::new(), Vec::new());
    for r in 0..runs {
        let (base, variant) = pair();
        eprintln!(
            "  run {}: {}: p50 {:.0} µs p99 {:.0} µs; {}: p50 {:.0} µs p99 {:.0} µs",
            r + 1,
            labels[0],
            base.p50,
            base.p99,
            labels[1],
            variant.p50,
            variant.p99
        );
        ratios_p50.push(variant.p50 / base.p50);
        ratios_p99.push(variant.p99 / base.p99);
        for (slot, f) in sums.iter_mut().zip([base, variant]) {
            slot.0.push(f.p50);
            slot.1.push(f.p99);
            slot.2.push(median(f.page_ms));
        }
    }
    for (label, (p50s, p99s, pages)) in labels.into_iter().zip(sums) {
        println!(
            "{label}: key to next item drawn p50 {:.0} µs, p99 {:.0} µs; next page in the App \
             {:.1} ms after asking (medians of {runs} runs)",
            median(p50s),
            median(p99s),
            median(pages)
        );
    }
    println!(
        "ratio {} / {} (same run, median of {runs}): p50 {:.2}, p99 {:.2}",
        labels[1],
        labels[0],
        median(ratios_p50),
        median(ratios_p99)
    );
}

/// When the App asked for the next page, and how long each took to arrive in it.
struct Pages {
    asked: Option<Instant>,
    ms: Vec<f64>,
}

pub fn open_items(app: &App) -> usize {
    app.entries.iter().filter(|e| e.is_open()).count()
}
