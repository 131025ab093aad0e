//! A moderator's session for tests: the reference server on 127.0.0.1 with the sample queue,
//! and the real App, store and background sync connected to it over HTTP. Keys go in as
//! key events; what the moderator sees comes out of ratatui's TestBackend.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::backend::{CrosstermBackend, TestBackend};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use modq::config::Config;
use modq::model::{Item, Role};
use modq::profile::Dirs;
use modq::server::{self, SqliteStorage, Storage};
use modq::session::{self, Prepared};
use modq::sync::{SyncEvent, SyncHandle};
use modq::tui::action::Message;
use modq::tui::app::{App, QueueEnd};
use modq::tui::event_loop::{EventLoop, Flow, Input, Outlets, PausedClock, Screen};
use modq::tui::gap_fill::GapFill;

/// The moment the sample queue is written around: snapshots are drawn at this time.
pub const SAMPLE_NOW: &str = "2026-11-23T12:00:00Z";

pub fn sample_now() -> DateTime<Utc> {
    SAMPLE_NOW.parse().expect("valid time")
}

/// The reference server, on a fixed port for its whole life so it can be stopped and
/// started again at the same address (the profile is tied to the API URL).
pub struct TestServer {
    pub addr: SocketAddr,
    pub api: String,
    pub token: String,
    /// An admin's token, for reading what the server holds: items escalated to the
    /// child-safety or law-enforcement tier are readable by no moderator.
    observer: String,
    pub db: PathBuf,
    /// The server's time: the sample's moment when the server started, running on from
    /// there, so that the sample's deadlines read the same on any date.
    clock: server::Clock,
    running: Option<(
        oneshot::Sender<()>,
        tokio::task::JoinHandle<std::io::Result<()>>,
    )>,
    _dir: Arc<tempfile::TempDir>,
}

impl TestServer {
    /// A server holding the sample queue, with one moderator token.
    pub async fn with_sample() -> TestServer {
        TestServer::with_reports(modq::demo::SAMPLE_QUEUE).await
    }

    pub async fn with_reports(jsonl: &str) -> TestServer {
        let dir = Arc::new(tempfile::tempdir().expect("tempdir"));
        let db = dir.path().join("server.sqlite");
        let storage = SqliteStorage::open(&db).expect("open server db");
        server::import_jsonl(&storage, jsonl.as_bytes()).expect("import");
        let token = server::add_token(&storage, "mod-alice", Role::Moderator).expect("token");
        let observer = server::add_token(&storage, "observer", Role::Admin).expect("token");
        drop(storage);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut s = TestServer {
            addr,
            api: format!("http://{addr}"),
            token,
            observer,
            db,
            clock: server::Clock::starting_at(sample_now()),
            running: None,
            _dir: dir,
        };
        s.run_on(listener);
        s
    }

    fn run_on(&mut self, listener: TcpListener) {
        let storage: Arc<dyn Storage> =
            Arc::new(SqliteStorage::open(&self.db).expect("open server db"));
        let (stop, stopped) = oneshot::channel::<()>();
        let options = server::ServerOptions {
            clock: self.clock,
            ..server::ServerOptions::default()
        };
        let handle = tokio::spawn(server::serve_with(listener, storage, options, async {
            let _ = stopped.await;
        }));
        self.running = Some((stop, handle));
    }

    /// Another moderator's token for the same server.
    pub fn add_moderator(&self, name: &str) -> String {
        let storage = SqliteStorage::open(&self.db).expect("open server db");
        server::add_token(&storage, name, Role::Moderator).expect("token")
    }

    /// The API goes down: connections are refused from now on.
    pub async fn stop(&mut self) {
        if let Some((stop, handle)) = self.running.take() {
            let _ = stop.send(());
            let _ = handle.await;
        }
    }

    /// The API comes back at the same address, with the same database.
    pub async fn restart(&mut self) {
        self.stop().await;
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot rebind {}: {e}", self.addr),
            }
        };
        self.run_on(listener);
    }

    /// What the server now holds about an item (over HTTP, read as an admin, who may read
    /// every tier).
    pub async fn item(&self, id: &str) -> Item {
        let url = reqwest::Url::parse(&format!("{}/v1/items/", self.api))
            .and_then(|u| u.join(id))
            .expect("item url");
        reqwest::Client::new()
            .get(url)
            .bearer_auth(&self.observer)
            .send()
            .await
            .expect("GET item")
            .json()
            .await
            .expect("item JSON")
    }

    /// Every open item, as the server lists them (over HTTP, in queue order).
    pub async fn all_items(&self) -> Vec<Item> {
        let mut items = Vec::new();
        let mut cursor = String::new();
        loop {
            let url = reqwest::Url::parse_with_params(
                &format!("{}/v1/queue", self.api),
                &[("limit", "500"), ("cursor", cursor.as_str())],
            )
            .expect("queue url");
            let page: modq::model::QueuePage = reqwest::Client::new()
                .get(url)
                .bearer_auth(&self.token)
                .send()
                .await
                .expect("GET queue")
                .json()
                .await
                .expect("queue JSON");
            items.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = next,
                None => return items,
            }
        }
    }

    /// Audit rows for an item, read straight from the server's database.
    pub fn audit_rows(&self, item_id: &str) -> usize {
        let conn = rusqlite::Connection::open(&self.db).expect("open db");
        conn.query_row(
            "SELECT COUNT(*) FROM audit WHERE item_id = ?1",
            [item_id],
            |r| r.get::<_, i64>(0),
        )
        .expect("count audit") as usize
    }
}

/// A decision as another client (a second moderator, a crashed session) would send it.
pub fn decision(item_id: &str, action: modq::model::DecisionAction) -> modq::model::Decision {
    modq::model::Decision::bare(&modq::store::new_key(), item_id, action, sample_now())
}

/// One moderator at the keyboard, driving modq's own event loop: keys, the sync's reports
/// and the clock's ticks go in as the binary's loop takes them, effects are carried out by
/// it, and every turn draws a frame on a `TestBackend`.
pub struct Session {
    pub app: App,
    pub prepared_db: PathBuf,
    /// What modq wrote to the terminal outside of frames (OSC 52 clipboard sequences).
    pub terminal: Vec<u8>,
    /// The loop's clock: it stands still until the test moves it.
    pub clock: PausedClock,
    sync: Option<SyncHandle>,
    event_loop: EventLoop,
    /// Where the loop draws its frames.
    frame: TestScreen,
    /// Every report of the sync the loop was handed, oldest first, once asked for
    /// ([`Session::log_sync_events`]).
    sync_log: Option<Vec<SyncEvent>>,
}

/// The session's own screen: ratatui's `TestBackend`, counting how often the loop wiped it.
pub struct TestScreen {
    terminal: Terminal<TestBackend>,
    wipes: usize,
}

impl Screen for TestScreen {
    fn show(&mut self, app: &App) -> std::io::Result<Rect> {
        self.terminal.show(app)
    }

    fn wipe(&mut self) -> std::io::Result<()> {
        self.wipes += 1;
        self.terminal.wipe()
    }
}

/// The size of the frames the session's loop draws (`Session::resize` changes it).
pub const FRAME: (u16, u16) = (120, 32);

/// Terminal sizes that break layouts: one cell, thin and tall, wide and flat, both sides of
/// modq's smallest full layout, common ones and huge ones.
pub const AWKWARD_SIZES: [(u16, u16); 15] = [
    (1, 1),
    (2, 1),
    (1, 5),
    (2, 3),
    (10, 3),
    (29, 5),
    (30, 6),
    (31, 7),
    (40, 10),
    (45, 9),
    (80, 24),
    (200, 60),
    (250, 70),
    (500, 3),
    (3, 200),
];

impl Session {
    /// What the status line's message says now; empty when there is none.
    pub fn flash_text(&self) -> String {
        self.app
            .flash
            .as_ref()
            .map(|f| f.text.clone())
            .unwrap_or_default()
    }

    /// Open a session as the TUI would, with the cache under `data`, at the sample's time,
    /// with monochrome or default colours (snapshots are text, colours do not show).
    pub async fn open(server: &TestServer, data: &Path) -> Session {
        Session::open_as(server, &server.token, data).await
    }

    /// Open a session with another moderator's token.
    pub async fn open_as(server: &TestServer, token: &str, data: &Path) -> Session {
        Session::open_with(server, token, data, Config::default()).await
    }

    /// Open a session with a config, as read from a config file.
    pub async fn open_with(
        server: &TestServer,
        token: &str,
        data: &Path,
        config: Config,
    ) -> Session {
        let dirs = Dirs::resolve(Some(data)).expect("dirs");
        let Prepared {
            mut app,
            sync,
            events,
            db,
            ..
        } = session::prepare(&server.api, token, &dirs, config)
            .await
            .expect("session opens");
        // The port changes from run to run; the screen must not.
        app.profile = "mod-alice@127.0.0.1:PORT".into();
        app.api = "http://127.0.0.1:PORT".into();
        Session::start(app, sync, events, db, sample_now())
    }

    /// Drive a session a test opened its own way (through a fault proxy, against a hostile
    /// API, in a child process) on modq's event loop, its clock standing at `now`.
    pub fn from_prepared(prepared: Prepared, now: DateTime<Utc>) -> Session {
        let Prepared {
            app,
            sync,
            events,
            db,
            ..
        } = prepared;
        Session::start(app, sync, events, db, now)
    }

    /// An App a test built by hand (items no server would send), on modq's loop with a
    /// background sync of its own whose API, a closed port on 127.0.0.1, never answers: every
    /// effect is carried out and goes nowhere. On a one-thread runtime the sync's tasks do not
    /// even run until the test awaits.
    pub fn without_server(app: App, db: PathBuf, now: DateTime<Utc>) -> Session {
        let backend =
            modq::backend::modq::ModqClient::new("http://127.0.0.1:9", "unused").expect("a client");
        let window = modq::sync::Window {
            query: modq::backend::QueueQuery::default(),
            lease_seconds_asked: None,
            held: app.held_ids(),
            lease_seconds: 300,
        };
        let (events_to, events) = tokio::sync::mpsc::unbounded_channel();
        let sync = modq::sync::spawn(Arc::new(backend), &db, window, events_to).expect("sync");
        Session::start(app, sync, events, db, now)
    }

    fn start(
        app: App,
        sync: SyncHandle,
        events: tokio::sync::mpsc::UnboundedReceiver<SyncEvent>,
        db: PathBuf,
        now: DateTime<Utc>,
    ) -> Session {
        let event_loop = EventLoop::new(events);
        let clock = PausedClock::at(now, event_loop.sender());
        let frame = TestScreen {
            terminal: Terminal::new(TestBackend::new(FRAME.0, FRAME.1)).expect("terminal"),
            wipes: 0,
        };
        let mut s = Session {
            app,
            prepared_db: db,
            terminal: Vec::new(),
            clock,
            sync: Some(sync),
            event_loop,
            frame,
            sync_log: None,
        };
        // The loop learns the time from its clock's first tick, and draws the first frame.
        s.clock.tick();
        s.pump();
        s
    }

    /// One turn of the loop over `inputs`, its frame drawn on the session's own screen.
    pub fn turn(&mut self, inputs: impl IntoIterator<Item = Input>) -> Flow {
        let Session {
            app,
            terminal,
            sync,
            event_loop,
            frame,
            sync_log,
            ..
        } = self;
        turn(
            event_loop,
            app,
            sync.as_ref(),
            terminal,
            sync_log,
            inputs,
            frame,
        )
    }

    /// One turn of the loop over `inputs`, its frame drawn on `screen` (a byte-level test's
    /// terminal) instead of the session's own.
    pub fn turn_on(
        &mut self,
        inputs: impl IntoIterator<Item = Input>,
        screen: &mut impl Screen,
    ) -> Flow {
        let Session {
            app,
            terminal,
            sync,
            event_loop,
            sync_log,
            ..
        } = self;
        turn(
            event_loop,
            app,
            sync.as_ref(),
            terminal,
            sync_log,
            inputs,
            screen,
        )
    }

    /// Keep every report of the sync handed to the loop from now on ([`Session::sync_log`]).
    pub fn log_sync_events(&mut self) {
        self.sync_log.get_or_insert_with(Vec::new);
    }

    /// The sync's reports handed to the loop since [`Session::log_sync_events`].
    pub fn sync_log(&self) -> &[SyncEvent] {
        self.sync_log.as_deref().unwrap_or_default()
    }

    /// Keys as [`Session::press`] types them, the frame drawn on `screen`.
    pub fn press_on(&mut self, keys: &str, screen: &mut impl Screen) {
        let keys = parse_keys(keys);
        self.turn_on(
            keys.into_iter().map(|k| Input::Terminal(Event::Key(k))),
            screen,
        );
    }

    /// What no key asks for (a click's selection, a lane picked by the mouse, an effect's
    /// answer), handed to the loop as an effect's answer is: one turn.
    pub fn message(&mut self, message: impl Into<Message>) {
        self.turn([Input::Answer(message.into())]);
    }

    /// Move the cursor to the `i`th entry, as a click on its row does.
    pub fn select(&mut self, i: usize) {
        self.message(Message::Select(i));
    }

    /// How often the loop wiped the screen (`ctrl-l`) to draw every cell again.
    pub fn wipes(&self) -> usize {
        self.frame.wipes
    }

    /// The next input for the loop (the sync's report, an effect's answer, a tick), not
    /// applied yet; `None` if nothing came within `within`.
    pub async fn next_input(&mut self, within: Duration) -> Option<Input> {
        tokio::time::timeout(within, self.event_loop.next())
            .await
            .ok()
    }

    /// Type keys: each character is one key press; `<down>`, `<up>`, `<esc>` name others.
    /// They arrive together, as a fast typist's do: one turn of the loop, one frame.
    pub fn press(&mut self, keys: &str) {
        let keys = parse_keys(keys);
        self.turn(keys.into_iter().map(|k| Input::Terminal(Event::Key(k))));
    }

    /// Any terminal events (mouse, paste, resize), in one turn of the loop.
    pub fn send(&mut self, events: impl IntoIterator<Item = Event>) {
        self.turn(events.into_iter().map(Input::Terminal));
    }

    /// A report from the background sync, as if it had sent it: one turn of the loop.
    pub fn sync_event(&mut self, event: modq::sync::SyncEvent) {
        self.turn([Input::Sync(event)]);
    }

    /// The mouse: `kind` at column `x`, row `y` of the frame on screen.
    pub fn mouse(&mut self, kind: MouseEventKind, x: u16, y: u16) {
        self.send([Event::Mouse(MouseEvent {
            kind,
            column: x,
            row: y,
            modifiers: KeyModifiers::NONE,
        })]);
    }

    /// Text pasted into the terminal (bracketed paste).
    pub fn paste(&mut self, text: &str) {
        self.send([Event::Paste(text.to_string())]);
    }

    /// The terminal changes size: the next frame is drawn at `width`x`height`.
    pub fn resize(&mut self, width: u16, height: u16) {
        self.frame.terminal.backend_mut().resize(width, height);
        self.send([Event::Resize(width, height)]);
    }

    /// The last frame the loop drew, cells and colours.
    pub fn buffer(&self) -> &ratatui::buffer::Buffer {
        self.frame.terminal.backend().buffer()
    }

    /// The last frame the loop drew, as text.
    pub fn frame(&self) -> String {
        buffer_text(self.frame.terminal.backend().buffer())
    }

    /// Turn the loop until `done` holds, waiting for whatever comes next (the background
    /// sync, a piped command, the clock), as the binary's loop waits.
    pub async fn wait_until(&mut self, what: &str, done: impl Fn(&App) -> bool) {
        self.wait_within(what, Duration::from_secs(45), done).await;
    }

    /// [`Session::wait_until`], failing after `within`.
    pub async fn wait_within(&mut self, what: &str, within: Duration, done: impl Fn(&App) -> bool) {
        let deadline = tokio::time::Instant::now() + within;
        while !done(&self.app) {
            let first = tokio::time::timeout_at(deadline, self.event_loop.next())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "waited {within:?} in vain until {what}; the screen:\n{}",
                        self.screen(200, 30)
                    )
                });
            let mut batch = vec![first];
            batch.extend(self.event_loop.ready());
            self.turn(batch);
        }
    }

    /// Page through to the end of the queue, as a moderator holding `G` would.
    pub async fn load_whole_queue(&mut self) {
        loop {
            self.press("G");
            if self.app.queue_end == QueueEnd::Exhausted {
                return;
            }
            let before = self.app.entries.len();
            self.wait_until("the next page arrives", |app| {
                app.entries.len() > before || app.queue_end == QueueEnd::Exhausted
            })
            .await;
        }
    }

    /// One turn over whatever is waiting (the sync's reports so far), without waiting.
    pub fn pump(&mut self) {
        let ready = self.event_loop.ready();
        if !ready.is_empty() {
            self.turn(ready);
        }
    }

    /// Wait for the next input (or `max`), then one turn over it and whatever else waits.
    pub async fn pump_wait(&mut self, max: Duration) {
        if let Ok(first) = tokio::time::timeout(max, self.event_loop.next()).await {
            let mut batch = vec![first];
            batch.extend(self.event_loop.ready());
            self.turn(batch);
        }
        self.pump();
    }

    /// Set the loop's clock to `now` (deadlines, retries, refills) and turn once.
    pub fn tick(&mut self, now: DateTime<Utc>) {
        self.clock.set(now);
        self.pump();
    }

    /// Move the loop's clock on by `by` and turn once.
    pub fn advance(&mut self, by: Duration) {
        self.clock.advance(by);
        self.pump();
    }

    /// Every decision has reached the server.
    pub async fn wait_delivered(&mut self) {
        self.wait_until("the outbox is empty", |app| app.counts.unsent == 0)
            .await;
    }

    /// Draws what is on screen now at every size in [`AWKWARD_SIZES`]; a panic fails the test.
    pub fn draw_at_every_size(&self) {
        for (width, height) in AWKWARD_SIZES {
            let _ = self.screen(width, height);
        }
    }

    /// The ids of the first `n` items in the window, in order.
    pub fn first_ids(&self, n: usize) -> Vec<String> {
        self.app
            .entries
            .iter()
            .take(n)
            .map(|e| e.id.clone())
            .collect()
    }

    /// The screen as text, one line per row.
    pub fn screen(&self, width: u16, height: u16) -> String {
        render(&self.app, width, height)
    }

    /// Quit as the moderator does: background tasks stop, what is left stays in the outbox.
    pub async fn quit(mut self) {
        self.press("q");
        if let Some(sync) = self.sync.take() {
            let _ = sync.shutdown(Duration::from_secs(2)).await;
        }
    }

    /// Stop the background sync as quitting does, without a key: what is left in the outbox.
    pub async fn close(mut self, grace: Duration) -> Option<modq::store::OutboxCounts> {
        let sync = self.sync.take()?;
        sync.shutdown(grace).await.ok()
    }

    /// The process dies: nothing runs after this point.
    pub fn crash(mut self) {
        if let Some(sync) = self.sync.take() {
            drop(sync);
        }
    }

    pub fn selected_id(&self) -> String {
        self.app
            .selected_entry()
            .map(|e| e.id.clone())
            .unwrap_or_default()
    }
}

/// One turn of modq's loop, the sync's reports kept in `sync_log` if it is kept.
fn turn(
    event_loop: &mut EventLoop,
    app: &mut App,
    sync: Option<&SyncHandle>,
    terminal: &mut Vec<u8>,
    sync_log: &mut Option<Vec<SyncEvent>>,
    inputs: impl IntoIterator<Item = Input>,
    screen: &mut impl Screen,
) -> Flow {
    let Some(sync) = sync else {
        return Flow::Quit;
    };
    let mut outlets = Outlets { sync, terminal };
    let inputs = inputs.into_iter().inspect(|input| {
        if let (Some(log), Input::Sync(event)) = (sync_log.as_mut(), input) {
            log.push(event.clone());
        }
    });
    event_loop
        .turn(app, inputs, &mut outlets, screen)
        .expect("a turn of the event loop")
}

pub fn render(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("terminal");
    terminal
        .draw(|frame| modq::tui::view::draw(frame, app))
        .expect("draw");
    buffer_text(terminal.backend().buffer())
}

pub fn buffer_text(buffer: &ratatui::buffer::Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        for x in 0..area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub fn parse_keys(keys: &str) -> Vec<KeyEvent> {
    let mut out = Vec::new();
    let mut rest = keys;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest.find('>')
        {
            let code = match &rest[1..end] {
                "down" => KeyCode::Down,
                "up" => KeyCode::Up,
                "esc" => KeyCode::Esc,
                "enter" => KeyCode::Enter,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "space" => KeyCode::Char(' '),
                "tab" => KeyCode::Tab,
                "bs" => KeyCode::Backspace,
                other => panic!("unknown key <{other}>"),
            };
            out.push(KeyEvent::new(code, KeyModifiers::NONE));
            rest = &rest[end + 1..];
            continue;
        }
        let mods = if c.is_ascii_uppercase() {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        out.push(KeyEvent::new(KeyCode::Char(c), mods));
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Where a backend writes in a test: memory the test reads back.
#[derive(Clone, Default)]
pub struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// What was written since the last call.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }
}

/// A `width`x`height` screen of the real crossterm backend, writing into `captured`.
pub fn crossterm_screen(
    captured: &Captured,
    width: u16,
    height: u16,
) -> Terminal<CrosstermBackend<Captured>> {
    Terminal::with_options(
        CrosstermBackend::new(captured.clone()),
        fixed(width, height),
    )
    .expect("terminal")
}

/// The same through `GapFill`: what the TUI writes.
pub fn modq_screen(
    captured: &Captured,
    width: u16,
    height: u16,
) -> Terminal<GapFill<CrosstermBackend<Captured>>> {
    Terminal::with_options(
        GapFill::new(CrosstermBackend::new(captured.clone())),
        fixed(width, height),
    )
    .expect("terminal")
}

fn fixed(width: u16, height: u16) -> TerminalOptions {
    TerminalOptions {
        viewport: Viewport::Fixed(Rect::new(0, 0, width, height)),
    }
}
