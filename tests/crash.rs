//! Crash safety, proved: a scripted moderator makes decisions as fast as the outbox takes
//! them while the client process is killed with SIGKILL at random moments (and, in the second
//! variant, the `modq serve` process too). After every kill the client starts again on the same
//! profile. At the end, every decision the moderator saw accepted must be on the server exactly
//! once.
//!
//! The client is this test binary itself, started again with `MODQ_CRASH_CHILD` set: it runs
//! the real App, outbox and background sync on modq's own event loop, and prints
//! `ACCEPTED <item>` once the turn of a key press has journaled it and drawn the next frame —
//! the moment the moderator sees it accepted.
//!
//! The suite runs a small trial. The large run, whose figures are in BENCHMARKS.md:
//! `MODQ_CRASH_ITEMS=3000 MODQ_CRASH_KILLS=60 cargo test --release --test crash -- --nocapture`

mod common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::Rng;

const MODQ: &str = env!("CARGO_BIN_EXE_modq");

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `modq serve` as its own process, on a port that stays the same across restarts.
struct ServerProcess {
    db: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl ServerProcess {
    fn start(db: &Path, port: u16) -> ServerProcess {
        let mut s = ServerProcess {
            db: db.to_path_buf(),
            port,
            child: None,
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        let mut child = Command::new(MODQ)
            .args(["serve", "--db"])
            .arg(&self.db)
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .env("MODQ_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start modq serve");
        // It says where it listens once it is ready (retry while the old socket lingers).
        let stderr = child.stderr.take().expect("stderr");
        let mut line = String::new();
        BufReader::new(stderr)
            .read_line(&mut line)
            .expect("read serve output");
        if !line.contains("listening on") {
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(100));
            return self.spawn();
        }
        self.child = Some(child);
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn run_modq(args: &[&str]) -> String {
    let out = Command::new(MODQ).args(args).output().expect("run modq");
    assert!(
        out.status.success(),
        "modq {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A queue of `n` distinct fictional reports.
fn write_queue(path: &Path, n: usize) {
    let mut f = std::fs::File::create(path).expect("queue file");
    for i in 0..n {
        writeln!(
            f,
            r#"{{"subject":{{"id":"post-{i:06}","kind":"post","text":"Spam wave item {i}: win a prize at prize.example"}},"category":"spam","received_at":"2026-11-23T10:00:00Z"}}"#
        )
        .expect("write");
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

struct Figures {
    accepted: usize,
    client_kills: usize,
    server_kills: usize,
    applied: usize,
    elapsed: Duration,
}

/// Run the scripted moderator until the queue is empty, killing it (and maybe the server)
/// `kills` times at random moments.
fn crash_session(items: usize, kills: usize, kill_server: bool) -> Figures {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("server.sqlite");
    let queue = dir.path().join("queue.jsonl");
    write_queue(&queue, items);
    let db_arg = db.to_str().expect("utf-8 path");
    run_modq(&[
        "serve",
        "--db",
        db_arg,
        "import",
        queue.to_str().expect("path"),
    ]);
    let token_out = run_modq(&[
        "serve",
        "--db",
        db_arg,
        "token",
        "add",
        "--role",
        "moderator",
        "--name",
        "crash-mod",
    ]);
    let token = token_out.lines().last().expect("token line").to_string();
    let port = free_port();
    let mut server = ServerProcess::start(&db, port);
    let api = format!("http://127.0.0.1:{port}");
    let data = dir.path().join("client");

    let mut rng = rand::rng();
    let mut accepted: Vec<String> = Vec::new();
    let (mut client_kills, mut server_kills) = (0, 0);
    loop {
        let last_run = client_kills >= kills;
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "child_role",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("MODQ_CRASH_CHILD", "1")
            .env("MODQ_CRASH_API", &api)
            .env("MODQ_TOKEN", &token)
            .env("MODQ_DATA_DIR", &data)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the client");
        let stdout = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut done = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                // libtest writes its own words on the same lines: look for ours anywhere.
                if let Some((_, id)) = line.split_once("ACCEPTED ") {
                    seen.push(id.trim().to_string());
                } else if line.contains("DONE") {
                    done = true;
                }
            }
            (seen, done)
        });
        if !last_run {
            std::thread::sleep(Duration::from_millis(rng.random_range(20..250)));
            if kill_server && rng.random_bool(0.5) {
                server.kill();
                server_kills += 1;
                std::thread::sleep(Duration::from_millis(rng.random_range(20..300)));
                server.spawn();
            }
            // SIGKILL: no destructor, no flush, no goodbye.
            let _ = child.kill();
            client_kills += 1;
        }
        let status = child.wait().expect("client exit");
        let (seen, done) = reader.join().expect("reader");
        if std::env::var_os("MODQ_CRASH_VERBOSE").is_some() {
            println!("run: {} accepted, finished: {done}", seen.len());
        }
        accepted.extend(seen);
        if last_run {
            assert!(
                status.success() && done,
                "the last run must finish the queue"
            );
            break;
        }
    }
    server.kill();

    // The moderator saw each item accepted once; the server holds each of them exactly once.
    let conn = rusqlite::Connection::open(&db).expect("db");
    let mut once = HashSet::new();
    let twice: Vec<&String> = accepted.iter().filter(|id| !once.insert(*id)).collect();
    assert!(
        twice.is_empty(),
        "offered and accepted twice: {twice:?}; their audit rows: {:?}; in the outbox: {:?}",
        twice
            .iter()
            .map(|id| audit_of(&conn, id))
            .collect::<Vec<_>>(),
        twice
            .iter()
            .map(|id| outbox_rows(&data, id))
            .collect::<Vec<_>>()
    );
    let mut per_item: HashMap<String, i64> = HashMap::new();
    let mut stmt = conn
        .prepare("SELECT item_id, COUNT(*) FROM audit GROUP BY item_id")
        .expect("query");
    for row in stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .expect("rows")
    {
        let (id, n) = row.expect("row");
        per_item.insert(id, n);
    }
    for id in &accepted {
        assert_eq!(
            per_item.get(id),
            Some(&1),
            "{id} accepted but applied {:?} times",
            per_item.get(id)
        );
    }
    assert!(
        per_item.values().all(|&n| n == 1),
        "an item was decided twice"
    );
    // Every item got a decision; the only ones not seen accepted are those journaled in the
    // instant before a kill, at most one per kill.
    assert_eq!(per_item.len(), items, "every item decided");
    assert!(
        items - accepted.len() <= client_kills,
        "{} unseen",
        items - accepted.len()
    );
    Figures {
        accepted: accepted.len(),
        client_kills,
        server_kills,
        applied: per_item.len(),
        elapsed: started.elapsed(),
    }
}

/// An item's audit rows, as `(at, actor, action, idempotency key)`, to tell what happened.
fn audit_of(conn: &rusqlite::Connection, item_id: &str) -> Vec<(String, String, String, String)> {
    conn.prepare("SELECT at, actor, action, idempotency_key FROM audit WHERE item_id = ?1")
        .expect("query")
        .query_map([item_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .expect("rows")
        .collect::<Result<_, _>>()
        .expect("rows")
}

/// An item's rows in every outbox under `data`, as `(status, message, idempotency key)`.
fn outbox_rows(data: &Path, item_id: &str) -> Vec<(String, Option<String>, String)> {
    let mut rows = Vec::new();
    let mut folders = vec![data.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "sqlite") {
                let conn = rusqlite::Connection::open(&path).expect("outbox");
                let Ok(mut stmt) = conn.prepare(
                    "SELECT status, message, idempotency_key FROM outbox WHERE item_id = ?1",
                ) else {
                    continue;
                };
                rows.extend(
                    stmt.query_map([item_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                        .expect("rows")
                        .map_while(Result::ok),
                );
            }
        }
    }
    rows
}

fn report(name: &str, f: &Figures) {
    println!(
        "{name}: {} decisions accepted, {} applied, {} client kills, {} server kills, \
         0 lost, 0 doubled, {:.1} s",
        f.accepted,
        f.applied,
        f.client_kills,
        f.server_kills,
        f.elapsed.as_secs_f64()
    );
}

#[test]
fn a_client_killed_at_random_loses_and_doubles_nothing() {
    let items = env_number("MODQ_CRASH_ITEMS", 1000);
    let kills = env_number("MODQ_CRASH_KILLS", 8);
    let f = crash_session(items, kills, false);
    report("client kills", &f);
}

#[test]
fn a_client_and_server_killed_at_random_lose_and_double_nothing() {
    let items = env_number("MODQ_CRASH_ITEMS", 1000);
    let kills = env_number("MODQ_CRASH_KILLS", 8);
    let f = crash_session(items, kills, true);
    report("client and server kills", &f);
}

/// The client side: the real session, scripted. Does nothing unless started by the harness.
#[test]
fn child_role() {
    if std::env::var_os("MODQ_CRASH_CHILD").is_none() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(child_session());
}

async fn child_session() {
    use modq::tui::app::{Entry, QueueEnd};

    let api = std::env::var("MODQ_CRASH_API").expect("api");
    let token = std::env::var("MODQ_TOKEN").expect("token");
    let data = std::env::var("MODQ_DATA_DIR").expect("data");
    let dirs = modq::profile::Dirs::resolve(Some(Path::new(&data))).expect("dirs");
    // The server may be down at this moment (the other variant kills it): wait for it.
    let prepared = loop {
        let config = modq::config::Config {
            theme: modq::tui::theme::Theme::monochrome(),
            ..Default::default()
        };
        match modq::session::prepare(&api, &token, &dirs, config).await {
            Ok(p) => break p,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    // The real session on modq's own event loop: every key, report and tick is a turn of it,
    // and every effect is carried out.
    let mut s = common::Session::from_prepared(prepared, chrono::Utc::now());
    let mut rng = rand::rng();
    let mut out = std::io::stdout();
    loop {
        s.pump();
        if let Some(entry) = s.app.selected_entry().filter(|e| e.is_open()) {
            let id = entry.id.clone();
            let key = ['t', 'a', 'e'][rng.random_range(0..3)];
            let before = s.app.decided;
            s.press(&key.to_string());
            if s.app.decided == before + 1 {
                writeln!(out, "ACCEPTED {id}").expect("stdout");
                out.flush().expect("stdout");
            }
            // Now and then a pause, so kills also land while batches are on the wire.
            if rng.random_bool(0.1) {
                tokio::time::sleep(Duration::from_millis(rng.random_range(0..3))).await;
            } else {
                tokio::task::yield_now().await;
            }
            continue;
        }
        if let Some(open) = s.app.entries.iter().position(Entry::is_open) {
            // The moderator clicks the next open item.
            s.select(open);
            if s.app.selected == open {
                continue;
            }
        }
        if s.app.queue_end == QueueEnd::Exhausted && s.app.counts.unsent == 0 {
            break;
        }
        // Waiting on the network: let time pass (retries, refills) and take what comes.
        s.advance(Duration::from_secs(31));
        s.pump_wait(Duration::from_millis(50)).await;
    }
    s.close(Duration::from_secs(5)).await;
    writeln!(out, "DONE").expect("stdout");
}
