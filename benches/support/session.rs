//! A moderator session as `modq` opens one (`session::prepare`), driven key by key without a
//! terminal: the figure the benchmarks share, key to next item drawn.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use tokio::runtime::Runtime;

use modq::profile::Dirs;
use modq::sync::{SyncEvent, SyncHandle};
use modq::tui::action::Message;
use modq::tui::app::{App, Effect};

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
/// terminal: keys go to the App, its effects to the real `tui::effects::perform`, and
/// background events back to the App, as the event loop does.
pub struct Session {
    pub app: App,
    sync: SyncHandle,
    events: tokio::sync::mpsc::UnboundedReceiver<SyncEvent>,
    pages: Pages,
    _data: tempfile::TempDir,
}

impl Session {
    pub fn open(rt: &Runtime, server: &Server) -> Session {
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
        let (answers, _) = tokio::sync::mpsc::unbounded_channel();
        Session {
            app: prepared.app,
            sync: prepared.sync,
            events: prepared.events,
            pages: Pages {
                asked: None,
                ms: Vec::new(),
                answers,
            },
            _data: data,
        }
    }

    pub fn key(&mut self, rt: &Runtime, c: char) {
        let _runtime = rt.enter();
        let effects = self
            .app
            .handle_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        self.pages.hand_over(&self.sync, effects);
    }

    /// Applies what the background tasks reported, without waiting.
    pub fn pump(&mut self, rt: &Runtime) {
        let _runtime = rt.enter();
        while let Ok(event) = self.events.try_recv() {
            self.pages.apply(&mut self.app, &self.sync, event);
        }
    }

    /// Applies background events, waiting for them, until `done` holds.
    pub fn pump_until(&mut self, rt: &Runtime, done: impl Fn(&App) -> bool) {
        let _runtime = rt.enter();
        loop {
            self.pump(rt);
            if done(&self.app) {
                return;
            }
            let event = rt.block_on(self.events.recv()).expect("sync events");
            self.pages.apply(&mut self.app, &self.sync, event);
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
/// the next item's frame is rendered at `w`x`h`. Background events are applied between keys,
/// untimed, as the event loop does. Ends with every decision delivered.
pub fn decide(rt: &Runtime, server: &Server, decisions: usize, w: u16, h: u16) -> Figures {
    let mut session = Session::open(rt, server);
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("terminal");
    terminal
        .draw(|f| modq::tui::view::draw(f, &session.app))
        .expect("draw");
    let mut times = Vec::with_capacity(decisions);
    for i in 0..decisions {
        // A moderator would find the next item waiting; the bench is faster than any
        // moderator, so it waits for the page instead of deciding into an empty window.
        session.pump_until(rt, |app| open_items(app) >= 2);
        let started = Instant::now();
        session.key(rt, ['t', 'a', 'e'][i % 3]);
        terminal
            .draw(|f| modq::tui::view::draw(f, &session.app))
            .expect("draw");
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

/// Hands effects to the real `tui::effects::perform` as the event loop does, timing each page
/// from the ask to its arrival in the App.
struct Pages {
    asked: Option<Instant>,
    ms: Vec<f64>,
    /// Where answers to effects would go (only piped commands answer; none are run here).
    answers: tokio::sync::mpsc::UnboundedSender<Message>,
}

impl Pages {
    fn hand_over(&mut self, sync: &SyncHandle, effects: Vec<Effect>) {
        for effect in effects {
            if matches!(effect, Effect::Fetch(_)) {
                self.asked.get_or_insert_with(Instant::now);
            }
            modq::tui::effects::perform(effect, sync, &self.answers, &mut std::io::sink());
        }
    }

    fn apply(&mut self, app: &mut App, sync: &SyncHandle, event: SyncEvent) {
        let page = matches!(event, SyncEvent::Page { .. });
        let effects = app.update(Message::Sync(event));
        if page && let Some(asked) = self.asked.take() {
            self.ms.push(asked.elapsed().as_secs_f64() * 1e3);
        }
        self.hand_over(sync, effects);
    }
}

fn open_items(app: &App) -> usize {
    app.entries.iter().filter(|e| e.is_open()).count()
}
