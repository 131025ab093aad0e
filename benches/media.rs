//! Key to next item drawn with an image on every item (issue 19, point 1).
//!
//! `cargo bench --bench media` serves a queue whose every item carries its own small image
//! (a distinct PNG each, so nothing is shared between items) from the reference server on
//! 127.0.0.1, and walks it with `j` as a moderator does, timing each key until the next
//! item's frame is drawn (App::update plus drawing through GapFill into ratatui's in-memory
//! backend). The image is fetched and decoded off the key path, on modq's own media fetcher
//! and decoder: the timed frame shows what the moderator sees at that moment.
//!
//! Two walks per protocol: cold (each key lands on an item whose image is not fetched yet:
//! the frame shows the placeholder; the image is then awaited and its frame drawn, untimed,
//! at a moderator's pace) and warm (back up the same items with `k`: each frame draws the
//! decoded picture, blurred). Printed as p50 and p99 in µs, medians over the runs, at
//! 120x40 and 80x24 over half-blocks, and at 120x40 with kitty and sixel.

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use modq::backend::modq::ModqClient;
use modq::backend::{Backend, QueueQuery};
use modq::media::cache::Slot;
use modq::model::{QueuePage, Role};
use modq::server::{self, SqliteStorage, Storage};
use modq::store::Store;
use modq::tui::action::Message;
use modq::tui::app::{App, AppInit, Effect};
use modq::tui::gap_fill::GapFill;
use modq::tui::keymap::KeyMap;
use modq::tui::theme::Theme;

mod support;

use support::{median, p50_p99};

/// A distinct picture for item `n`: stripes whose angle and colours follow `n`.
fn png(n: usize) -> Vec<u8> {
    let image = image::RgbImage::from_fn(160, 120, |x, y| {
        let band = ((x as usize * (n % 5 + 1) + y as usize * (n % 7 + 1)) / 12) % 3;
        let shade = (n * 37 % 200) as u8;
        match band {
            0 => image::Rgb([shade, 40, 200 - shade / 2]),
            1 => image::Rgb([250, shade, 60]),
            _ => image::Rgb([30, 30 + shade / 3, 30]),
        }
    });
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .expect("png");
    bytes
}

fn report(n: usize) -> String {
    let data = base64::engine::general_purpose::STANDARD.encode(png(n));
    let line = serde_json::json!({
        "subject": {"id": format!("img-{n:04}"), "kind": "post",
            "text": format!("item {n} with a picture: flash sale, click the banner"),
            "author": {"id": format!("u-{n}"), "handle": format!("@seller{n}")},
            "media": [{"kind": "image", "description": "banner", "data": data}]},
        "reporter_type": "automated", "category": if n.is_multiple_of(4) { "violence" } else { "spam" },
        "received_at": "2026-11-23T11:00:00Z"
    });
    format!("{line}\n")
}

struct Served {
    page: QueuePage,
    backend: Arc<dyn Backend>,
    _dir: tempfile::TempDir,
}

/// The reference server holding `items` items with an image each; its whole queue read.
fn serve(rt: &tokio::runtime::Runtime, items: usize) -> Served {
    rt.block_on(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = SqliteStorage::open(&dir.path().join("s.sqlite")).expect("db");
        let lines: String = (0..items).map(report).collect();
        server::import_jsonl(&storage, lines.as_bytes()).expect("import");
        let token = server::add_token(&storage, "bench", Role::Moderator).expect("token");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let api = format!("http://{}", listener.local_addr().expect("addr"));
        let storage: Arc<dyn Storage> = Arc::new(storage);
        tokio::spawn(server::serve(listener, storage, std::future::pending()));
        let client = ModqClient::new(&api, &token).expect("client");
        let page = client
            .queue_page(&QueueQuery {
                limit: Some(500),
                ..QueueQuery::default()
            })
            .await
            .expect("read the queue");
        Served {
            page: QueuePage {
                items: page.items,
                next_cursor: None,
            },
            backend: Arc::new(client),
            _dir: dir,
        }
    })
}

fn new_app(page: &QueuePage, dir: &tempfile::TempDir, protocol: &str) -> App {
    let store = Store::open(&dir.path().join("bench.sqlite")).expect("store");
    let mut app = App::new(AppInit {
        profile: "bench@127.0.0.1".into(),
        api: "http://127.0.0.1".into(),
        capabilities: modq::backend::modq::capabilities(),
        store,
        first_page: page.clone(),
        keymap: KeyMap::default_keymap(),
        theme: Theme::default_theme(),
        now: chrono::Utc::now(),
    })
    .expect("app");
    app.media.picker = modq::media::protocol::choose(protocol, |_| None).expect("protocol");
    app
}

fn key(c: char) -> KeyEvent {
    KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
}

/// Carries out the image fetches among `effects` as the event loop does: on the runtime,
/// answering on `answers`. Other effects are dropped (no sync runs here).
fn perform(
    effects: Vec<Effect>,
    rt: &tokio::runtime::Runtime,
    backend: &Arc<dyn Backend>,
    answers: &std::sync::mpsc::Sender<Message>,
) {
    for effect in effects {
        if let Effect::FetchMedia(job) = effect {
            let backend = backend.clone();
            let answers = answers.clone();
            rt.spawn(async move {
                let answer = modq::tui::media_fetch::fetch(backend, &job).await;
                let _ = answers.send(Message::MediaReady {
                    media_id: job.media_id,
                    answer,
                });
            });
        }
    }
}

fn image_ready(app: &App) -> bool {
    let Some(entry) = app.selected_entry() else {
        return true;
    };
    let Some(id) = entry.shown.media.first().and_then(|m| m.id.as_deref()) else {
        return true;
    };
    matches!(
        app.media.cache.get(id),
        Some(Slot::Ready(_) | Slot::Failed(_))
    )
}

/// One cold walk down and one warm walk back up; the sorted key-to-frame times of each.
fn walk(
    served: &Served,
    rt: &tokio::runtime::Runtime,
    protocol: &str,
    w: u16,
    h: u16,
) -> (Vec<Duration>, Vec<Duration>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = new_app(&served.page, &dir, protocol);
    let mut terminal = Terminal::new(GapFill::new(TestBackend::new(w, h))).expect("terminal");
    let (answers, answered) = std::sync::mpsc::channel::<Message>();
    let draw = |terminal: &mut Terminal<GapFill<TestBackend>>, app: &App| {
        terminal
            .draw(|f| modq::tui::view::draw(f, app))
            .expect("draw");
    };
    // The first item's image, as at start.
    let effects = app.update(Message::Tick(chrono::Utc::now()));
    perform(effects, rt, &served.backend, &answers);
    let settle = |app: &mut App, terminal: &mut Terminal<GapFill<TestBackend>>| {
        // A moderator's pace: the image arrives, its frame is drawn.
        while !image_ready(app) {
            let message = answered
                .recv_timeout(Duration::from_secs(30))
                .expect("an image within 30 s");
            let effects = app.update(message);
            perform(effects, rt, &served.backend, &answers);
        }
        draw(terminal, app);
    };
    settle(&mut app, &mut terminal);
    let steps = served.page.items.len() - 1;
    let mut cold = Vec::with_capacity(steps);
    for _ in 0..steps {
        let started = Instant::now();
        let effects = app.handle_key(key('j'));
        draw(&mut terminal, &app);
        cold.push(started.elapsed());
        perform(effects, rt, &served.backend, &answers);
        settle(&mut app, &mut terminal);
    }
    let mut warm = Vec::with_capacity(steps);
    for _ in 0..steps {
        let started = Instant::now();
        let effects = app.handle_key(key('k'));
        draw(&mut terminal, &app);
        warm.push(started.elapsed());
        perform(effects, rt, &served.backend, &answers);
        settle(&mut app, &mut terminal);
    }
    cold.sort();
    warm.sort();
    (cold, warm)
}

fn main() {
    let runs = support::size(5, 1);
    // Within the media cache (32): the warm walk finds every picture still decoded.
    let items = support::size(30, 6);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let served = serve(&rt, items);
    assert_eq!(served.page.items.len(), items);
    println!("modq media benchmark: {items} items, each with its own image, {runs} runs, key j/k");
    for (protocol, w, h) in [
        ("halfblocks", 120u16, 40u16),
        ("halfblocks", 80, 24),
        ("kitty", 120, 40),
        ("sixel", 120, 40),
    ] {
        let (mut cold_p50, mut cold_p99, mut warm_p50, mut warm_p99) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let (cold, warm) = walk(&served, &rt, protocol, w, h);
            let (p50, p99) = p50_p99(cold);
            cold_p50.push(p50);
            cold_p99.push(p99);
            let (p50, p99) = p50_p99(warm);
            warm_p50.push(p50);
            warm_p99.push(p99);
        }
        println!(
            "{protocol} {w}x{h}: key to next item drawn, image not yet fetched (placeholder) \
             p50 {:.0} µs, p99 {:.0} µs; image decoded (blurred picture drawn) p50 {:.0} µs, \
             p99 {:.0} µs (medians of {runs} runs)",
            median(cold_p50),
            median(cold_p99),
            median(warm_p50),
            median(warm_p99)
        );
    }
}
