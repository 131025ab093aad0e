//! Flat with queue size: key to next item drawn with 1,000 and with 1,000,000 items queued on
//! the reference server (SQLite), paged in as modq reads it (pages read, a window leased); and the peak memory
//! of the real `modq` process reviewing the 1,000,000-item queue.
//!
//! `cargo bench --bench queue` prints the figures. `MODQ_BENCH_BIG=N` queues N items instead
//! of a million (for a quick look).

mod support;

use std::time::Duration;

use tokio::runtime::Runtime;

use support::Pty;
use support::session::{Server, compare, decide, start_server};

const SMALL: usize = 1_000;
const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;

/// Peak RSS of the real `modq` binary reviewing `server`'s queue in a pseudo-terminal after
/// deciding `decisions` items, in MiB.
fn peak_rss_mib(server: &Server, decisions: usize) -> f64 {
    let data = tempfile::tempdir().expect("tempdir");
    let data_dir = data.path().to_str().expect("utf-8 path");
    let mut pty = Pty::spawn(
        &["--api", &server.api, "--data-dir", data_dir],
        &[("MODQ_TOKEN", &server.token)],
        WIDTH,
        HEIGHT,
    );
    pty.wait_for(" Queue ", 0, Duration::from_secs(60))
        .expect("modq drew the queue");
    for i in 0..decisions {
        pty.send(["t", "a", "e"][i % 3]);
        // About as fast as the outbox journals them; pages arrive meanwhile.
        std::thread::sleep(Duration::from_millis(3));
    }
    std::thread::sleep(Duration::from_millis(500));
    let kib = pty.peak_rss_kib();
    pty.quit();
    kib as f64 / 1024.0
}

fn main() {
    let big: usize = std::env::var("MODQ_BENCH_BIG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(support::size(1_000_000, 3_000));
    // Runs per queue size, alternating sizes so both meet the same background load.
    let runs = support::size(5, 1);
    // Decisions per run: pages beyond the first, so paging in is part of every run.
    let decisions = support::size(500, 150);
    let decided_for_rss = support::size(1000, 150);
    let rt = Runtime::new().expect("runtime");
    println!(
        "modq queue-size benchmark: {SMALL} vs {big} items queued, {runs} runs of \
         {decisions} decisions each, {WIDTH}x{HEIGHT}"
    );
    eprintln!("queueing {big} items…");
    let big_server = start_server(&rt, big, |r| r);

    let labels = [
        format!("{SMALL} items queued"),
        format!("{big} items queued"),
    ];
    compare([&labels[0], &labels[1]], runs, || {
        // A fresh small queue each run: a run decides half of it.
        let small_server = start_server(&rt, SMALL, |r| r);
        (
            decide(&rt, &small_server, decisions, WIDTH, HEIGHT),
            decide(&rt, &big_server, decisions, WIDTH, HEIGHT),
        )
    });
    let rss = peak_rss_mib(&big_server, decided_for_rss);
    println!(
        "peak RSS of the modq process, {big} items queued, {decided_for_rss} decided: {rss:.1} MiB"
    );
}
