//! Network never in the way: key to next item drawn with every API request delayed by 500 ms,
//! against the same with no delay, in the same run.
//!
//! `cargo bench --bench network` prints the figures.

mod support;

use std::time::Duration;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use tokio::runtime::Runtime;

use support::session::{compare, decide, start_server};

const ITEMS: usize = 1_000;
const DELAY: Duration = Duration::from_millis(500);
const WIDTH: u16 = 120;
const HEIGHT: u16 = 40;

/// Holds every request for [`DELAY`] before the API sees it.
async fn delay(request: Request, next: Next) -> Response {
    tokio::time::sleep(DELAY).await;
    next.run(request).await
}

fn main() {
    // Runs per setting, alternating so both meet the same background load.
    let runs = support::size(5, 1);
    // Pages beyond the first: the window is paged in over the slow link too.
    let decisions = support::size(300, 150);
    let rt = Runtime::new().expect("runtime");
    println!(
        "modq network benchmark: API delayed by {} ms per request vs 0 ms, {ITEMS} items \
         queued, {runs} runs of {decisions} decisions each, {WIDTH}x{HEIGHT}",
        DELAY.as_millis()
    );
    compare(["API delay 0 ms", "API delay 500 ms"], runs, || {
        let direct = start_server(&rt, ITEMS, |api| api);
        let delayed = start_server(&rt, ITEMS, |api| api.layer(middleware::from_fn(delay)));
        (
            decide(&rt, &direct, decisions, WIDTH, HEIGHT),
            decide(&rt, &delayed, decisions, WIDTH, HEIGHT),
        )
    });
}
