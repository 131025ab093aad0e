//! A team on PostgreSQL: 64 simulated moderators over three `modq serve` processes on one
//! database, claiming, reading, deciding and sometimes undoing, flat out and at a human
//! pace; decisions per second and the p50/p99 of a decision's round trip. Beside them, in
//! the same run: `pgbench` driving the same SQL writes a decision makes straight into the
//! database (the limit the servers work under), and the same moderators on one SQLite
//! `modq serve`.
//!
//! `cargo bench --bench load_postgres` prints the figures; it needs
//! `MODQ_TEST_POSTGRES_URL` (`scripts/postgres.sh up target/pg` prints it) and says NOT RUN
//! without it. Every decision answered `applied` must be one audit row: the bench checks it.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use modq::model::Role;
use modq::server::{self, PostgresStorage, SqliteStorage, Storage};
use support::p50_p99;

const MODERATORS: usize = 64;
const SERVERS: usize = 3;
/// Items a moderator claims at a time.
const CLAIM: usize = 5;
/// One decision in this many is undone right after it is applied.
const UNDO_EVERY: usize = 10;
/// `server::postgres::db::AUDIT_LOCK`, which the pgbench script takes as a decision does.
const AUDIT_LOCK: i64 = 0x6d6f_6471_0002;

fn items() -> usize {
    support::size(150_000, 6_000)
}

/// How long each run lasts: `MODQ_BENCH_LOAD_SECS`, else 20 s measuring and 1 s otherwise.
fn spell() -> Duration {
    match std::env::var("MODQ_BENCH_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        Some(secs) => Duration::from_secs(secs),
        None => support::size(Duration::from_secs(20), Duration::from_secs(1)),
    }
}

/// A human reads an item for a few seconds; the bench's humans read for 1 to 3.
fn think() -> Duration {
    Duration::from_millis(1000 + rand::random::<u64>() % 2000)
}

/// One `modq serve` process, killed when dropped.
struct Serve {
    child: Child,
    api: String,
}

impl Serve {
    fn start(db: &str, extra: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_modq"))
            .args(["serve", "--db", db, "--listen", "127.0.0.1:0"])
            .args(["--rate", "1000000", "--max-leases", "100"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("modq serve");
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let api = loop {
            let line = lines.next().expect("modq serve listens").expect("a line");
            if let Some(addr) = line.split("listening on ").nth(1) {
                break addr.trim().to_owned();
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        Serve { child, api }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the moderators did.
#[derive(Default)]
struct Tally {
    applied: usize,
    refused: usize,
    undone: usize,
    latency: Vec<Duration>,
}

async fn post(http: &reqwest::Client, url: String, token: &str, body: &Value) -> Value {
    let response = http
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("request");
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.expect("json")
}

/// One moderator until `until`: claim a few, read each, decide it, now and then undo.
async fn moderator(
    http: reqwest::Client,
    api: String,
    token: String,
    n: usize,
    until: Instant,
    human: bool,
) -> Tally {
    let mut tally = Tally::default();
    let mut count = 0usize;
    while Instant::now() < until {
        let page = post(
            &http,
            format!("{api}/v1/queue/claim"),
            &token,
            &json!({"limit": CLAIM, "lease_seconds": 600}),
        )
        .await;
        let ids: Vec<String> = page["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|i| i["id"].as_str().map(str::to_owned))
            .collect();
        if ids.is_empty() {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        for id in ids {
            if Instant::now() >= until {
                break;
            }
            let read = http
                .get(format!("{api}/v1/items/{id}"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("read");
            assert!(read.status().is_success());
            if human {
                tokio::time::sleep(think()).await;
            }
            count += 1;
            let key = format!("{}-m{n}-{count}", if human { "human" } else { "flat" });
            let decision = if count.is_multiple_of(2) {
                json!({"idempotency_key": key, "item_id": id, "action": "keep",
                       "decided_at": chrono::Utc::now()})
            } else {
                json!({"idempotency_key": key, "item_id": id, "action": "take_down",
                       "reason_code": "spam", "decided_at": chrono::Utc::now()})
            };
            let mut batch = vec![decision];
            if count.is_multiple_of(UNDO_EVERY) {
                batch.push(
                    json!({"idempotency_key": format!("{key}-undo"), "item_id": id,
                                  "action": "reverse", "reverses": key,
                                  "decided_at": chrono::Utc::now()}),
                );
            }
            for d in batch {
                let started = Instant::now();
                let answer = post(
                    &http,
                    format!("{api}/v1/decisions"),
                    &token,
                    &json!({"decisions": [d.clone()]}),
                )
                .await;
                tally.latency.push(started.elapsed());
                match answer["results"][0]["outcome"].as_str() {
                    Some("applied") if d["action"] == "reverse" => {
                        tally.applied += 1;
                        tally.undone += 1;
                    }
                    Some("applied") => tally.applied += 1,
                    _ => tally.refused += 1,
                }
            }
        }
    }
    tally
}

/// Runs the moderators against `apis` (moderator `n` on server `n % apis.len()`) for the
/// spell; answers what they did and how long it took.
fn run_team(apis: &[String], tokens: &[String], human: bool) -> (Tally, Duration) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(MODERATORS)
            .build()
            .expect("client");
        let started = Instant::now();
        let until = started + spell();
        let tasks: Vec<_> = tokens
            .iter()
            .enumerate()
            .map(|(n, token)| {
                let api = apis.get(n % apis.len()).expect("api").clone();
                tokio::spawn(moderator(http.clone(), api, token.clone(), n, until, human))
            })
            .collect();
        let mut all = Tally::default();
        for task in tasks {
            let t = task.await.expect("moderator");
            all.applied += t.applied;
            all.refused += t.refused;
            all.undone += t.undone;
            all.latency.extend(t.latency);
        }
        (all, started.elapsed())
    })
}

fn report(what: &str, tally: &Tally, took: Duration) {
    if tally.latency.is_empty() {
        // Every item was already leased or decided by an earlier run: a figure over nothing
        // would be a made-up one.
        println!(
            "{what:<44} no decision made: the queue had nothing left to claim ({} refused)",
            tally.refused
        );
        return;
    }
    let (p50, p99) = p50_p99(tally.latency.clone());
    println!(
        "{what:<44} {:>8.0} decisions/s  p50 {:>7.2} ms  p99 {:>7.2} ms  ({} applied, {} of them undos, {} refused)",
        tally.applied as f64 / took.as_secs_f64(),
        p50 / 1000.0,
        p99 / 1000.0,
        tally.applied,
        tally.undone,
        tally.refused
    );
}

/// Tokens for the team, made through `storage`.
fn team(storage: &dyn Storage) -> Vec<String> {
    (0..MODERATORS)
        .map(|n| {
            server::create_token(storage, &format!("mod-{n}"), Role::Moderator)
                .expect("token")
                .1
        })
        .collect()
}

fn pgbench_bin() -> Option<std::path::PathBuf> {
    let mut bins: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin/pgbench")))
        .filter(|p| p.exists())
        .collect();
    bins.sort();
    bins.pop()
}

/// The writes of one `keep` on an open item, in PostgresStorage's order: the item's row
/// locked and updated, the lease deleted, two queue and two author tally stripes, then in one
/// statement the audit lock taken and the row numbered and inserted.
fn pgbench_script() -> String {
    let at = "2026-11-23T12:00:00.000000Z";
    let tally = |state: &str, change: i32| {
        format!(
            "INSERT INTO queue_tally (state, lane, tier, stripe, items) VALUES ('{state}', 'standard', '', (pg_backend_pid() % 64)::SMALLINT, {change}) ON CONFLICT (state, lane, tier, stripe) DO UPDATE SET items = queue_tally.items + excluded.items;"
        )
    };
    // The author tally as modq writes it: 8 stripes, over the ~50 authors the queue cycles.
    let author = |state: &str, change: i32| {
        format!(
            "INSERT INTO author_tally (author_id, state, stripe, items) VALUES ('bench-' || (:n % 50), '{state}', (pg_backend_pid() % 8)::SMALLINT, {change}) ON CONFLICT (author_id, state, stripe) DO UPDATE SET items = author_tally.items + excluded.items;"
        )
    };
    format!(
        "\\set n random(1, :items)
SELECT id AS item FROM bench_ids WHERE n = :n \\gset
\\set k random(1, 1000000000000)
BEGIN;
SELECT id FROM items WHERE id = :item FOR UPDATE;
UPDATE items SET state = 'kept', restricted_in = NULL, escalation_target = NULL, hold_tier = NULL WHERE id = :item;
DELETE FROM leases WHERE item_id = :item;
{}
{}
{}
{}
WITH audit_lock AS MATERIALIZED (SELECT pg_advisory_xact_lock({AUDIT_LOCK})) INSERT INTO audit (at, actor, actor_token_id, role, action, item_id, idempotency_key, body_hash, method, decided_at, from_state, to_state) SELECT '{at}', 'pgbench', -1 - :client_id, 'moderator', 'keep', :item, 'pgb-' || :client_id || '-' || :k, 'h', 'single', '{at}', 'open', 'kept' FROM audit_lock;
END;
",
        tally("open", -1),
        tally("kept", 1),
        author("open", -1),
        author("kept", 1)
    )
}

/// pgbench with 64 clients running [`pgbench_script`] for the spell: transactions per
/// second, and the p50/p99 of its latencies when it logs them.
fn pgbench(url: &str, client: &mut postgres::Client, dir: &std::path::Path) {
    let Some(bin) = pgbench_bin() else {
        println!("pgbench: not installed (Debian: postgresql-contrib or postgresql)");
        return;
    };
    client
        .batch_execute(
            "CREATE TABLE bench_ids AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM items;
             CREATE UNIQUE INDEX ON bench_ids (n);",
        )
        .expect("bench ids");
    let script = dir.join("decision.sql");
    std::fs::write(&script, pgbench_script()).expect("script");
    let seconds = spell().as_secs().max(1).to_string();
    let out = Command::new(bin)
        .args([
            "-n",
            "-M",
            "prepared",
            "-c",
            &MODERATORS.to_string(),
            "-j",
            "2",
        ])
        .args(["-T", &seconds, "-D", &format!("items={}", items())])
        .args(["-r", "-f"])
        .arg(&script)
        .arg(url)
        .output()
        .expect("pgbench");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pgbench failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tps = text
        .lines()
        .find(|l| l.starts_with("tps ="))
        .unwrap_or("tps = ?");
    let latency = text
        .lines()
        .find(|l| l.starts_with("latency average"))
        .unwrap_or("latency average = ?");
    println!(
        "{:<44} {tps}; {latency} (64 clients, the same SQL writes, no HTTP)",
        "pgbench, one decision's writes"
    );
}

fn main() {
    let Ok(admin_url) = std::env::var("MODQ_TEST_POSTGRES_URL") else {
        println!(
            "NOT RUN: load_postgres needs MODQ_TEST_POSTGRES_URL; run it with\n  \
             export \"$(scripts/postgres.sh up target/pg)\" && cargo bench --bench load_postgres"
        );
        return;
    };
    let name = format!("modq_bench_{}", std::process::id());
    let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls).expect("PostgreSQL");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create database");
    let (base, _) = admin_url.rsplit_once('/').expect("URL/DATABASE");
    let url = format!("{base}/{name}");
    let dir = tempfile::tempdir().expect("dir");

    println!(
        "{MODERATORS} moderators, {} items, {} s a run, claim {CLAIM}, read, decide (keep or take down), undo one in {UNDO_EVERY}",
        items(),
        spell().as_secs_f64()
    );
    // PostgreSQL, three servers.
    let tokens = {
        let storage = PostgresStorage::open(&url).expect("open");
        support::fill_queue(&storage, items());
        team(&storage)
    };
    let connections = (72 / SERVERS).to_string();
    let servers: Vec<Serve> = (0..SERVERS)
        .map(|_| Serve::start(&url, &["--db-connections", &connections]))
        .collect();
    let apis: Vec<String> = servers.iter().map(|s| s.api.clone()).collect();
    let mut sql = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
    let mut applied_total = 0;
    for (label, human) in [("flat out", false), ("human pace (1-3 s a read)", true)] {
        let (tally, took) = run_team(&apis, &tokens, human);
        report(&format!("PostgreSQL, 3 servers, {label}"), &tally, took);
        applied_total += tally.applied;
        let rows: i64 = sql
            .query_one("SELECT COUNT(*) FROM audit", &[])
            .expect("count")
            .get(0);
        assert_eq!(
            usize::try_from(rows).expect("rows"),
            applied_total,
            "every applied decision is one audit row, none twice"
        );
    }
    drop(servers);
    pgbench(&url, &mut sql, dir.path());
    drop(sql);

    // SQLite, one server (one file, one writer).
    let db = dir.path().join("load.sqlite");
    let tokens = {
        let storage = SqliteStorage::open(&db).expect("open");
        support::fill_queue(&storage, items());
        team(&storage)
    };
    let serve = Serve::start(db.to_str().expect("path"), &[]);
    let (tally, took) = run_team(std::slice::from_ref(&serve.api), &tokens, false);
    report("SQLite, 1 server, flat out", &tally, took);
    drop(serve);
    let rows: i64 = rusqlite::Connection::open(&db)
        .expect("open")
        .query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))
        .expect("count");
    assert_eq!(usize::try_from(rows).expect("rows"), tally.applied);

    let _ = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
}
