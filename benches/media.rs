//! Key to next item drawn with an image on every item (issue 19, point 1).
//!
//! `cargo bench --bench media` serves a queue whose every item carries its own small image
//! (a distinct PNG each, so nothing is shared between items) from the reference server on
//! 127.0.0.1, opens a session as `modq` does, and walks the queue with `j` as a moderator
//! does, timing each key as one turn of modq's own event loop: the key to the App, every
//! effect carried out (the image's fetch handed to the fetcher, which decodes on its own
//! threads), the frame drawn into ratatui's in-memory backend.
//!
//! Two walks per protocol: cold (each key lands on an item whose image is not fetched yet:
//! the frame shows the placeholder; the image is then awaited and its frame drawn, untimed,
//! at a moderator's pace) and warm (back up the same items with `k`: each frame draws the
//! decoded picture, blurred). Printed as p50 and p99 in µs, medians over the runs, at
//! 120x40 and 80x24 over half-blocks, and at 120x40 with kitty and sixel.

use std::sync::Arc;
use std::time::Instant;

use base64::Engine;
use tokio::runtime::Runtime;

use modq::media::cache::Slot;
use modq::model::Role;
use modq::server::{self, SqliteStorage};
use modq::tui::app::App;

mod support;

use support::session::{Server, Session};
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

/// The reference server holding `items` items with an image each.
fn serve(rt: &Runtime, items: usize) -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("server.sqlite");
    let storage = SqliteStorage::open(&db).expect("db");
    let lines: String = (0..items).map(report).collect();
    server::import_jsonl(&storage, lines.as_bytes()).expect("import");
    let token = server::add_token(&storage, "bench", Role::Moderator).expect("token");
    let router = server::router(Arc::new(storage));
    let api = rt.block_on(support::serve_router(router));
    Server {
        api,
        token,
        db,
        _dir: dir,
    }
}

/// Whether the selected item's image is in (decoded, or refused).
fn image_in(app: &App) -> bool {
    let Some(entry) = app.selected_entry() else {
        return true;
    };
    let Some(id) = entry.shown.media.first().and_then(|m| m.id.as_deref()) else {
        return true;
    };
    matches!(
        app.media.cache.get(id),
        Some(Slot::Ready(_) | Slot::Failed(_) | Slot::Retry(_))
    )
}

/// One cold walk down and one warm walk back up: (p50, p99) of each, in µs.
fn walk(
    rt: &Runtime,
    server: &Server,
    items: usize,
    protocol: &str,
    w: u16,
    h: u16,
) -> [(f64, f64); 2] {
    let mut session = Session::open_sized(rt, server, w, h);
    session.app.media.picker = modq::media::protocol::choose(protocol, |_| None).expect("protocol");
    assert_eq!(
        session.app.entries.len(),
        items,
        "the whole queue in one page"
    );
    // Back to the first item, its image asked for with this protocol.
    session.key(rt, 'g');
    session.pump_until(rt, image_in);
    let steps = items - 1;
    let mut walks = [Vec::with_capacity(steps), Vec::with_capacity(steps)];
    for (times, key) in walks.iter_mut().zip(['j', 'k']) {
        for _ in 0..steps {
            let started = Instant::now();
            session.key(rt, key);
            times.push(started.elapsed());
            // A moderator's pace: the image arrives, its frame is drawn.
            session.pump_until(rt, image_in);
        }
    }
    session.close(rt);
    walks.map(p50_p99)
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
    let server = serve(&rt, items);
    println!(
        "modq media benchmark: {items} items, each with its own image, {runs} runs, keys j then k"
    );
    for (protocol, w, h) in [
        ("halfblocks", 120u16, 40u16),
        ("halfblocks", 80, 24),
        ("kitty", 120, 40),
        ("sixel", 120, 40),
    ] {
        let mut figures: [Vec<f64>; 4] = Default::default();
        for _ in 0..runs {
            let [(cold50, cold99), (warm50, warm99)] = walk(&rt, &server, items, protocol, w, h);
            for (slot, value) in figures.iter_mut().zip([cold50, cold99, warm50, warm99]) {
                slot.push(value);
            }
        }
        let [cold50, cold99, warm50, warm99] = figures.map(median);
        println!(
            "{protocol} {w}x{h}: key to next item drawn, image not yet fetched (placeholder) \
             p50 {cold50:.0} µs, p99 {cold99:.0} µs; image decoded (blurred picture drawn) \
             p50 {warm50:.0} µs, p99 {warm99:.0} µs (medians of {runs} runs)"
        );
    }
}
