//! modq against a real Bluesky Ozone (issue 17, item 10), on the network
//! `scripts/platforms/ozone.sh up DIR` stands up, with its real latency:
//! - key to next item drawn: a moderator's session opened as `modq --profile` opens one
//!   (`backend = "ozone"`), deciding posts with t/a/e; each key is one turn of modq's own
//!   event loop, the frame drawn; the decisions reach Ozone in the background;
//! - a bulk take down of 1,000 reported posts (`space` on each, `;t`, `y`) until Ozone has
//!   every one, beside a plain script (benches/support/ozone_plain_takedown.py) making the
//!   same `emitEvent` calls one after another, in the same run on the same Ozone.
//!
//! Measure: `scripts/platforms/ozone.sh up target/platforms/ozone >/dev/null &&
//! OZONE_ENV_FILE=target/platforms/ozone/ozone.env cargo bench --bench ozone`.
//! Without the network it says so and measures nothing.

#[path = "../tests/platform_ozone/net.rs"]
mod net;
mod support;

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

use tokio::runtime::Runtime;

use modq::backend::{BackendKind, Limits};
use modq::tui::action::Message;
use modq::tui::app::QueueEnd;
use support::key_time::{KeyTimes, time_key};
use support::session::Session;

const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;

fn main() {
    let Some(net) = net::Net::find("benches/ozone.rs") else {
        return;
    };
    let keys = support::size(300, 9);
    let bulk = support::size(1000, 10);
    let rt = Runtime::new().expect("runtime");
    println!(
        "modq Ozone benchmark: Ozone 0.4.2 through its PDS on 127.0.0.1, {keys} single \
         decisions, a bulk take down of {bulk} reported posts beside a plain script's {bulk}, \
         {WIDTH}x{HEIGHT}"
    );
    let seeding = Instant::now();
    let key_posts = rt.block_on(net.reported_post_refs(2 * keys, "bench key", 8));
    let modq_posts = rt.block_on(net.reported_post_refs(bulk, "bench bulk modq", 8));
    let script_posts = rt.block_on(net.reported_post_refs(bulk, "bench bulk script", 8));
    eprintln!(
        "  seeded {} posts with a report each in {:.1} s",
        2 * keys + 2 * bulk,
        seeding.elapsed().as_secs_f64()
    );

    let data = tempfile::tempdir().expect("tempdir");
    let dirs = modq::profile::Dirs::resolve(Some(data.path())).expect("dirs");
    let mut options = BTreeMap::new();
    options.insert("ozone_did".to_string(), net.var("OZONE_DID"));
    options.insert("handle".to_string(), net.var("OZONE_MODERATOR_HANDLE"));
    let target = modq::session::Target {
        backend: BackendKind::Ozone,
        name: Some("bench".into()),
        url: net.pds(),
        secret: net.var("OZONE_MODERATOR_PASSWORD"),
        options,
        limits: Limits::default(),
    };
    let opened = Instant::now();
    let prepared = rt
        .block_on(modq::session::prepare_target(
            &target,
            &dirs,
            modq::config::Config::default(),
        ))
        .expect("the Ozone session opens");
    let open_ms = opened.elapsed().as_secs_f64() * 1e3;
    let mut s = Session::from_prepared(&rt, prepared, WIDTH, HEIGHT);
    // The whole queue in the window, as a moderator holding `G` pages it in.
    loop {
        let before = s.app.entries.len();
        s.key(&rt, 'G');
        if s.app.queue_end == QueueEnd::Exhausted {
            break;
        }
        s.pump_until(&rt, |app| {
            app.entries.len() > before || app.queue_end == QueueEnd::Exhausted
        });
    }

    // Key to next item drawn, on the bench's own posts (the queue holds others' too): the
    // first half back to back (Ozone, on the same two cores, still busy with the previous
    // decision), the second paced as a moderator reads (the previous decision delivered, then
    // a moment, as when Ozone runs on its own machines).
    // As a control, `j`/`k` (which journal and send nothing): right after each back-to-back
    // key, and after the pause instead of every other paced key, which is then pressed
    // untimed. What a key costs here when modq's own work is the same in both runs.
    let mut back_to_back = KeyTimes::default();
    let mut paced = KeyTimes::default();
    let mut moves_back_to_back = KeyTimes::default();
    let mut moves_paced = KeyTimes::default();
    for (i, (uri, _)) in key_posts.iter().enumerate() {
        let pacing = i >= keys;
        if pacing {
            s.pump_until(&rt, |app| app.counts.unsent == 0);
            std::thread::sleep(std::time::Duration::from_millis(30));
            s.pump(&rt);
        }
        let control_round = pacing && (i - keys) % 2 == 1;
        if control_round {
            moves_paced.push(time_key(|| s.key(&rt, 'j')));
            moves_paced.push(time_key(|| s.key(&rt, 'k')));
        }
        let at = s
            .app
            .entries
            .iter()
            .position(|e| &e.id == uri && e.is_open())
            .expect("the bench's post is open in the list");
        s.message(&rt, Message::Select(at));
        let sample = time_key(|| s.key(&rt, ['t', 'a', 'e'][i % 3]));
        if !pacing {
            back_to_back.push(sample);
            s.pump(&rt);
            moves_back_to_back.push(time_key(|| s.key(&rt, 'j')));
            moves_back_to_back.push(time_key(|| s.key(&rt, 'k')));
        } else if !control_round {
            paced.push(sample);
        }
        s.pump(&rt);
    }
    s.pump_until(&rt, |app| app.counts.unsent == 0);

    // Bulk: the posts lie side by side at the end of the queue (reported last).
    let ours: HashSet<&str> = modq_posts.iter().map(|(u, _)| u.as_str()).collect();
    let first = s
        .app
        .entries
        .iter()
        .position(|e| ours.contains(e.id.as_str()))
        .expect("the bulk posts are in the list");
    let run: Vec<&str> = s
        .app
        .entries
        .iter()
        .skip(first)
        .take(bulk)
        .map(|e| e.id.as_str())
        .collect();
    assert!(
        run.len() == bulk && run.iter().all(|id| ours.contains(id)),
        "the bulk posts are side by side"
    );
    s.message(&rt, Message::Select(first));
    for _ in 0..bulk {
        s.key(&rt, ' ');
    }
    s.key(&rt, ';');
    s.key(&rt, 't');
    let started = Instant::now();
    s.key(&rt, 'y');
    s.pump_until(&rt, |app| app.counts.unsent == 0);
    let modq_secs = started.elapsed().as_secs_f64();
    s.close(&rt);

    // The plain script: the same emitEvent calls, one after another.
    let refs = data.path().join("script-posts.txt");
    let lines: String = script_posts
        .iter()
        .map(|(uri, cid)| format!("{uri} {cid}\n"))
        .collect();
    std::fs::write(&refs, lines).expect("refs file");
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/benches/support/ozone_plain_takedown.py"
    );
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(&refs)
        .envs(net.env.iter())
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "the plain script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let script_secs: f64 = stdout
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("SCRIPT <seconds> <sent>");

    // Both took every post down on Ozone.
    rt.block_on(async {
        let moderator = net.login("MODERATOR").await;
        for (uri, _) in modq_posts.iter().chain(&script_posts) {
            let status = net
                .wait_status(&moderator, uri, "taken down", |st| st["takendown"] == true)
                .await;
            assert_eq!(status["reviewState"], net::CLOSED);
        }
    });

    println!("session opened (login, role, first page, first claims) in {open_ms:.0} ms");
    println!("key to next item drawn on Ozone, {keys} decisions each:");
    println!("  back to back: {}", back_to_back.summary());
    println!(
        "  paced (previous decision delivered, 30 ms pause; every other one): {}",
        paced.summary()
    );
    println!(
        "  control, j/k right after a decision's key: {}",
        moves_back_to_back.summary()
    );
    println!(
        "  control, j/k after the pause (every other paced key): {}",
        moves_paced.summary()
    );
    println!(
        "bulk take down of {bulk}: modq {:.1} s from `y` to Ozone holding every one ({:.0}/s); \
         plain script, same calls one by one: {:.1} s ({:.0}/s); modq / script {:.2}",
        modq_secs,
        bulk as f64 / modq_secs,
        script_secs,
        bulk as f64 / script_secs,
        modq_secs / script_secs
    );
}
