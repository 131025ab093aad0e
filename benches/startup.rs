//! Start-up: from the moment the `modq` process starts to the first item drawn in its
//! terminal, with a warm cache (the profile's cache exists, the files are in the page cache)
//! and a local reference server.
//!
//! `cargo bench --bench startup` prints the figures. The real binary runs in a
//! pseudo-terminal; the clock starts when the shell that execs modq prints a marker and
//! stops when the first item's id (the detail pane's title) arrives in the output.

mod support;

use std::time::Duration;

use tokio::runtime::Runtime;

use modq::backend::modq::ModqClient;
use modq::backend::{Backend, QueueQuery};
use modq::model::ReviewState;
use support::session::start_server;
use support::{Pty, STARTING, median};

const ITEMS: usize = 1_000;
const PATIENCE: Duration = Duration::from_secs(30);

fn main() {
    let runs = support::size(15, 2);
    let rt = Runtime::new().expect("runtime");
    let server = start_server(&rt, ITEMS, |api| api);
    let first = rt.block_on(async {
        let client = ModqClient::new(&server.api, &server.token).expect("client");
        let page = client
            .queue_page(&QueueQuery {
                lane: None,
                state: Some(ReviewState::Open),
                cursor: None,
                limit: Some(1),
                ..QueueQuery::default()
            })
            .await
            .expect("queue");
        page.items[0].id.clone()
    });
    let data = tempfile::tempdir().expect("tempdir");
    let data_dir = data.path().to_str().expect("utf-8 path");
    let args = ["--api", server.api.as_str(), "--data-dir", data_dir];
    let env = [("MODQ_TOKEN", server.token.as_str())];
    println!("modq start-up benchmark: {runs} starts, {ITEMS} items queued, 120x40");
    let mut times = Vec::new();
    // The first start makes the profile's cache; the figures are the warm starts after it.
    for run in 0..=runs {
        let pty = Pty::spawn(&args, &env, 120, 40);
        let started = pty.wait_for(STARTING, 0, PATIENCE).expect("shell ran");
        let drawn = pty.wait_for(&first, 0, PATIENCE).expect("first item drawn");
        pty.quit();
        if run > 0 {
            times.push((drawn - started).as_secs_f64() * 1e3);
        }
    }
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    println!(
        "process start to first item drawn: median {:.1} ms (min {:.1}, max {:.1}) over {runs} \
         warm starts",
        median(times),
        sorted[0],
        sorted[sorted.len() - 1]
    );
}
