//! The reference server under load: queue page fetches, and claim-then-decide rounds, per
//! second under N concurrent clients on loopback, with p50 and p99 latency per request.
//!
//! `cargo bench --bench server` prints the figures. Each client is a real `ModqClient` with
//! its own token (its own lease holder); the server runs on its own tokio runtime in this
//! process, on a SQLite file, as `modq serve` does.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::runtime::Runtime;

use modq::backend::modq::ModqClient;
use modq::backend::{Backend, QueueQuery};
use modq::model::{ClaimRequest, Decision, DecisionAction, DecisionOutcome, ReviewState, Role};
use support::p50_p99;

const CLIENTS: [usize; 3] = [1, 4, 16];
const PAGE: u32 = 50;

/// Enough that 16 clients deciding for the whole spell never empty the queue (an empty
/// queue answers claims at once and would flatter every figure after it).
fn items() -> usize {
    support::size(300_000, 10_000)
}

/// How long each workload runs at each client count.
fn spell() -> Duration {
    support::size(Duration::from_secs(5), Duration::from_millis(200))
}

/// What one workload did: requests, decisions applied, and every request's latency.
#[derive(Default)]
struct Tally {
    requests: usize,
    decisions: usize,
    page_latency: Vec<Duration>,
    decision_latency: Vec<Duration>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.requests += other.requests;
        self.decisions += other.decisions;
        self.page_latency.extend(other.page_latency);
        self.decision_latency.extend(other.decision_latency);
    }
}

/// GET /v1/queue pages, walking the queue with the cursor and starting over at its end.
async fn fetch_pages(client: Arc<ModqClient>, until: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut cursor = None;
    while Instant::now() < until {
        let started = Instant::now();
        let page = client
            .queue_page(&QueueQuery {
                lane: None,
                state: Some(ReviewState::Open),
                cursor: cursor.take(),
                limit: Some(PAGE),
                ..QueueQuery::default()
            })
            .await
            .expect("queue page");
        tally.page_latency.push(started.elapsed());
        tally.requests += 1;
        cursor = page.next_cursor;
    }
    tally
}

/// Claim a page, then keep every item on it in one POST /v1/decisions: a moderator's work,
/// minus the moderator.
async fn claim_and_decide(client: Arc<ModqClient>, until: Instant) -> Tally {
    let mut tally = Tally::default();
    let mut cursor = None;
    while Instant::now() < until {
        let started = Instant::now();
        let page = client
            .claim_page(&ClaimRequest {
                cursor: cursor.take(),
                limit: Some(PAGE),
                ..ClaimRequest::default()
            })
            .await
            .expect("claim");
        tally.page_latency.push(started.elapsed());
        assert!(!page.items.is_empty(), "the queue ran out; raise items()");
        cursor = page.next_cursor;
        let decisions: Vec<Decision> = page
            .items
            .iter()
            .map(|item| Decision {
                idempotency_key: modq::store::new_key(),
                item_id: item.id.clone(),
                action: DecisionAction::Keep,
                reason_code: None,
                note: None,
                scope: None,
                escalation_target: None,
                reverses: None,
                decided_at: chrono::Utc::now(),
                method: modq::model::DecisionMethod::Single,
                account: None,
            })
            .collect();
        let started = Instant::now();
        let results = client.send_decisions(&decisions).await.expect("decisions");
        tally.decision_latency.push(started.elapsed());
        tally.requests += 2;
        tally.decisions += results
            .iter()
            .filter(|r| r.outcome == DecisionOutcome::Applied)
            .count();
    }
    tally
}

/// Runs `work` on every client at once for [`spell`]; answers the tally and the seconds taken.
fn load<Work, Fut>(rt: &Runtime, clients: &[Arc<ModqClient>], work: Work) -> (Tally, f64)
where
    Work: Fn(Arc<ModqClient>, Instant) -> Fut,
    Fut: Future<Output = Tally> + Send + 'static,
{
    rt.block_on(async {
        let started = Instant::now();
        let until = started + spell();
        let tasks: Vec<_> = clients
            .iter()
            .map(|c| tokio::spawn(work(c.clone(), until)))
            .collect();
        let mut total = Tally::default();
        for t in tasks {
            total.merge(t.await.expect("client task"));
        }
        (total, started.elapsed().as_secs_f64())
    })
}

fn line(label: &str, latencies: Vec<Duration>, per_second: f64) -> String {
    if latencies.is_empty() {
        return format!("{label}: none");
    }
    let (p50, p99) = p50_p99(latencies);
    format!(
        "{label} {per_second:.0}/s, p50 {:.1} ms, p99 {:.1} ms",
        p50 / 1e3,
        p99 / 1e3
    )
}

fn main() {
    let server_rt = Runtime::new().expect("server runtime");
    let clients_rt = Runtime::new().expect("client runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let items = items();
    let (storage, _) = support::queue_db(&dir.path().join("server.sqlite"), items);
    let max = CLIENTS.into_iter().max().unwrap_or(1);
    let tokens: Vec<String> = (0..max)
        .map(|i| modq::server::add_token(&storage, &format!("load-{i}"), Role::Moderator))
        .collect::<Result<_, _>>()
        .expect("tokens");
    let api = server_rt.block_on(support::serve(storage));
    println!(
        "modq server benchmark: {items} items queued (SQLite), pages of {PAGE}, {:.1} s per \
         workload and client count",
        spell().as_secs_f64()
    );
    for n in CLIENTS {
        let clients: Vec<Arc<ModqClient>> = tokens[..n]
            .iter()
            .map(|t| Arc::new(ModqClient::new(&api, t).expect("client")))
            .collect();
        let (reads, secs) = load(&clients_rt, &clients, fetch_pages);
        println!(
            "{n:>2} clients: {}",
            line(
                "GET /v1/queue",
                reads.page_latency,
                reads.requests as f64 / secs
            )
        );
        let (work, secs) = load(&clients_rt, &clients, claim_and_decide);
        let claims = work.page_latency.len() as f64 / secs;
        let batches = work.decision_latency.len() as f64 / secs;
        println!(
            "{n:>2} clients: {}; {} ({:.0} decisions/s applied)",
            line("POST /v1/queue/claim", work.page_latency, claims),
            line("POST /v1/decisions", work.decision_latency, batches),
            work.decisions as f64 / secs
        );
    }
}
