//! Issue 19, point 1, as a moderator's session through modq's own event loop against the
//! reference server on 127.0.0.1 (through a proxy that logs every request): an item's image
//! arrives after the item is drawn (a placeholder first), blurred and greyscale; `v`
//! reveals it for that item only; the next item starts blurred again; a graphic category
//! stays greyscale revealed; media matched against a CSAM list is never asked for. After
//! the session no byte of any image is on disk: not in the data folder, the cache database,
//! its journal, or the temporary folder.

mod common;
#[path = "common/fault_proxy.rs"]
mod fault_proxy;

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use ratatui::buffer::Buffer;
use ratatui::style::Color;

use common::{Session, TestServer, sample_now};
use fault_proxy::FaultProxy;
use modq::config::Config;
use modq::media::cache::Slot;
use modq::profile::Dirs;
use modq::session;

/// The tests of this file run one at a time: one searches the temporary folder for image
/// bytes, where another's server would keep its own.
static ALONE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const SPAM: &str = "post-media-901";
const VIOLENCE: &str = "post-media-902";
const SCAM: &str = "post-media-903";
const CSAM: &str = "post-media-904";

/// The PNG bytes the sample ships, each item's.
fn sample_images() -> Vec<(String, Vec<u8>)> {
    modq::demo::SAMPLE_MEDIA
        .lines()
        .filter_map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let data = v["subject"]["media"][0]["data"].as_str()?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(data)
                .unwrap();
            Some((v["subject"]["id"].as_str().unwrap().to_string(), bytes))
        })
        .collect()
}

/// Move the cursor with `j`/`k` to `id`, as a moderator would.
fn go(s: &mut Session, id: &str) {
    s.press("g");
    for _ in 0..s.app.visible.len() {
        if s.selected_id() == id {
            return;
        }
        s.press("j");
    }
    assert_eq!(s.selected_id(), id, "{id} is not in the list");
}

fn slot_of(app: &modq::tui::app::App, item: &str) -> Option<Slot> {
    let entry = app.entries.iter().find(|e| e.id == item)?;
    let id = entry.shown.media.first()?.id.clone()?;
    app.media.cache.get(&id).cloned()
}

fn ready(app: &modq::tui::app::App, item: &str) -> bool {
    matches!(slot_of(app, item), Some(Slot::Ready(_)))
}

/// The colours of the picture's cells: every cell below the caption row whose colours are
/// RGB (the theme's are not), as (r, g, b).
fn picture_colours(buffer: &Buffer) -> Vec<(u8, u8, u8)> {
    let area = buffer.area;
    let caption = (area.top()..area.bottom()).find(|&y| {
        let row: String = (area.left()..area.right())
            .map(|x| buffer[(x, y)].symbol().to_string())
            .collect();
        row.contains("image 1 of 1")
    });
    let Some(caption) = caption else {
        return Vec::new();
    };
    let mut colours = Vec::new();
    for y in caption + 1..area.bottom() {
        for x in area.left()..area.right() {
            let cell = &buffer[(x, y)];
            for c in [cell.fg, cell.bg] {
                if let Color::Rgb(r, g, b) = c {
                    colours.push((r, g, b));
                }
            }
        }
    }
    colours
}

fn grey(colours: &[(u8, u8, u8)]) -> bool {
    !colours.is_empty() && colours.iter().all(|&(r, g, b)| r == g && g == b)
}

/// Every file under `dir` changed since `since` that holds one of `needles` (by its name),
/// and how many files were read. `skip` (the server's own folder) is passed over.
fn files_holding(
    dir: &Path,
    needles: &[(String, Vec<u8>)],
    since: std::time::SystemTime,
    skip: &Path,
) -> (Vec<String>, usize) {
    let mut found = Vec::new();
    let mut read = 0;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        // A reference server's own folder (any test's) keeps images: that is the server's job.
        if dir.join("server.sqlite").exists() {
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.starts_with(skip) {
                continue;
            }
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            let changed = meta.modified().is_ok_and(|m| m >= since);
            if !(meta.is_file() && changed && meta.len() < 64 << 20) {
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            read += 1;
            for (name, needle) in needles {
                if bytes.windows(needle.len()).any(|w| w == needle.as_slice()) {
                    found.push(format!("{name} in {}", path.display()));
                }
            }
        }
    }
    (found, read)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_arrive_blurred_one_key_reveals_this_item_only_and_csam_is_never_fetched() {
    let _alone = ALONE.lock().await;
    let started = std::time::SystemTime::now();
    let server = TestServer::with_reports(modq::demo::SAMPLE_MEDIA).await;
    let proxy = FaultProxy::start(server.addr).await;
    let data = tempfile::tempdir().unwrap();
    let dirs = Dirs::resolve(Some(data.path())).unwrap();
    let prepared = session::prepare(&proxy.url(), &server.token, &dirs, Config::default())
        .await
        .expect("session opens");
    let mut s = Session::from_prepared(prepared, sample_now());
    // Half-blocks, as over any SSH link (the environment of the test says nothing).
    s.app.media.picker = modq::media::protocol::choose("halfblocks", |_| None).unwrap();
    assert_eq!(s.app.visible.len(), 4);

    // A burst of keys in one turn, from the first item to the third: only the image of the
    // item the frame shows is asked for, none of those passed over.
    s.press("gjj");
    assert_eq!(s.selected_id(), SPAM);
    // The item is drawn at once, the image's place saying it is on its way.
    assert!(
        s.frame().contains("image 1 of 1 · loading…"),
        "{}",
        s.frame()
    );
    s.wait_until("the spam image", |app| ready(app, SPAM)).await;
    let asked_for = |proxy: &FaultProxy, item: &str| {
        proxy
            .log()
            .iter()
            .filter(|seen| seen.request.contains(&format!("{item}/media/")))
            .count()
    };
    assert_eq!(asked_for(&proxy, VIOLENCE), 0, "{:?}", proxy.log());
    s.press("K");

    // The spam item's image, arrived: blurred and greyscale.
    go(&mut s, SPAM);
    let frame = s.frame();
    assert!(frame.contains("blurred, greyscale · v reveals"), "{frame}");
    let hidden = picture_colours(s.buffer());
    assert!(grey(&hidden), "hidden colours: {hidden:?}");

    // v reveals it, in colour.
    s.press("v");
    assert!(s.frame().contains("revealed · v blurs"), "{}", s.frame());
    let shown = picture_colours(s.buffer());
    assert!(!grey(&shown), "revealed but grey");

    // The next item starts blurred; back on the first, it is blurred again.
    go(&mut s, SCAM);
    assert_eq!(s.app.media.revealed, None);
    s.wait_until("the scam image", |app| ready(app, SCAM)).await;
    s.press("K");
    assert!(s.frame().contains("blurred, greyscale"), "{}", s.frame());
    go(&mut s, SPAM);
    assert!(
        s.frame().contains("blurred, greyscale · v reveals"),
        "{}",
        s.frame()
    );
    assert!(grey(&picture_colours(s.buffer())));

    // Violence is graphic: revealed, it is sharp but stays greyscale.
    go(&mut s, VIOLENCE);
    s.wait_until("the violence image", |app| ready(app, VIOLENCE))
        .await;
    s.press("v");
    let frame = s.frame();
    assert!(frame.contains("revealed, greyscale (graphic)"), "{frame}");
    assert!(grey(&picture_colours(s.buffer())));

    // The CSAM hash match: only the match is shown, no image strip, v reveals nothing.
    go(&mut s, CSAM);
    let frame = s.frame();
    assert!(frame.contains("[never shown · hash"), "{frame}");
    assert!(frame.contains("match: csam-hashlist]"), "{frame}");
    assert!(!frame.contains("image 1 of 1"), "{frame}");
    s.press("v");
    assert!(s.frame().contains("never shown"), "{}", s.frame());
    assert_eq!(s.app.media.revealed, None);
    // Give anything that might still be asked time to be: the clock moves, the loop turns.
    for _ in 0..5 {
        s.advance(Duration::from_secs(1));
        s.pump_wait(Duration::from_millis(100)).await;
    }

    // What the server was asked: each viewable image once (the cache holds it), the CSAM
    // one never.
    let media_requests: Vec<String> = proxy
        .log()
        .into_iter()
        .map(|seen| seen.request)
        .filter(|r| r.contains("/media/"))
        .collect();
    for item in [SPAM, SCAM, VIOLENCE] {
        let n = media_requests.iter().filter(|r| r.contains(item)).count();
        assert_eq!(n, 1, "{item}: {media_requests:?}");
    }
    assert!(
        !media_requests.iter().any(|r| r.contains(CSAM)),
        "the CSAM media was asked for: {media_requests:?}"
    );
    let item_db = s.prepared_db.clone();
    s.quit().await;

    // Memory only: no image's bytes anywhere in the data folder (cache database, its WAL,
    // logs) nor in what the temporary folder gained during the session, the server's own
    // database excepted.
    assert!(item_db.starts_with(data.path()));
    let server_dir = server.db.parent().unwrap().to_path_buf();
    let images = sample_images();
    assert_eq!(images.len(), 4);
    let (found, read) = files_holding(data.path(), &images, started, &server_dir);
    assert!(read > 0, "the data folder holds files to search");
    assert!(found.is_empty(), "images on disk: {found:?}");
    let (found, _) = files_holding(&std::env::temp_dir(), &images, started, &server_dir);
    assert!(found.is_empty(), "images in the temp folder: {found:?}");
    // The search finds them where they are: the server keeps them.
    let mut server_db = std::fs::read(&server.db).unwrap();
    let wal = server.db.with_file_name("server.sqlite-wal");
    server_db.extend(std::fs::read(wal).unwrap_or_default());
    assert!(
        images
            .iter()
            .any(|(_, b)| server_db.windows(b.len()).any(|w| w == b.as_slice())),
        "the search would find an image on disk"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_that_failed_for_now_is_asked_again_when_its_item_is_shown_again() {
    let _alone = ALONE.lock().await;
    let server = TestServer::with_reports(modq::demo::SAMPLE_MEDIA).await;
    let proxy = FaultProxy::start(server.addr).await;
    // The API fails the violence item's image (a 500) until told otherwise.
    proxy.set_for(
        "GET /v1/items/post-media-902/media",
        fault_proxy::Fault::Http500,
    );
    let data = tempfile::tempdir().unwrap();
    let dirs = Dirs::resolve(Some(data.path())).unwrap();
    let prepared = session::prepare(&proxy.url(), &server.token, &dirs, Config::default())
        .await
        .expect("session opens");
    let mut s = Session::from_prepared(prepared, sample_now());
    s.app.media.picker = modq::media::protocol::choose("halfblocks", |_| None).unwrap();
    go(&mut s, VIOLENCE);
    s.wait_until("the failure", |app| {
        matches!(slot_of(app, VIOLENCE), Some(Slot::Retry(_)))
    })
    .await;
    s.press("K");
    assert!(
        s.frame().contains("not shown: the API failed (HTTP 500)"),
        "{}",
        s.frame()
    );
    // Staying on the item asks nothing more; coming back asks again, and it arrives.
    let asked = |proxy: &FaultProxy| {
        proxy
            .log()
            .iter()
            .filter(|seen| seen.request.contains("post-media-902/media"))
            .count()
    };
    s.advance(Duration::from_secs(2));
    s.pump_wait(Duration::from_millis(200)).await;
    assert_eq!(asked(&proxy), 1);
    proxy.set_for(
        "GET /v1/items/post-media-902/media",
        fault_proxy::Fault::Pass,
    );
    go(&mut s, SPAM);
    go(&mut s, VIOLENCE);
    s.wait_until("the violence image, asked again", |app| {
        ready(app, VIOLENCE)
    })
    .await;
    assert_eq!(asked(&proxy), 2);
    // What is refused for good (never served) is not asked again: there is nothing to ask.
    s.quit().await;
}
