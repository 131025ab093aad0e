//! What the benchmark binaries share: a reference server with a queue of any size, the
//! statistics they print, and a byte counter standing in for a terminal.
#![allow(dead_code)]

use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};

use modq::model::{NewReport, Role};
use modq::server::{self, SqliteStorage, Storage};

pub mod key_time;
pub mod session;

/// Whether this is a measurement: `cargo bench` runs a bench binary with `--bench`. `cargo
/// test` runs it without (Cargo.toml: `test = true`), unoptimised, only to prove that it still
/// works from a clean clone and that its checks hold: it then runs small and once, and its
/// figures mean nothing. (Run a built bench binary by hand with `--bench` to measure.)
pub fn measuring() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// `full` when measuring, else `smoke`.
pub fn size<T>(full: T, smoke: T) -> T {
    if measuring() { full } else { smoke }
}

/// Counts what the backend writes, and throws it away.
#[derive(Default, Clone)]
pub struct Counter(pub Arc<AtomicUsize>);

impl Counter {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.fetch_add(buf.len(), Ordering::Relaxed);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

pub fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// p50 and p99 of `times` in µs.
pub fn p50_p99(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    (
        micros(percentile(&times, 0.50)),
        micros(percentile(&times, 0.99)),
    )
}

/// The sample queue's reports, used as templates for queues of any size.
pub fn sample_reports() -> Vec<NewReport> {
    modq::demo::SAMPLE_QUEUE
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("sample report"))
        .collect()
}

/// Reports per `add_reports` call (one transaction each) while filling a queue.
const FILL_CHUNK: usize = 20_000;

/// Fills `storage` with `items` open items, one report each, through the server's own
/// `add_reports` (the path `modq serve import` takes). The reports cycle through the sample
/// queue's (text, reporter, category, countries), each on its own subject, received a second
/// apart ending `now`, so priorities and lanes mix as in the sample. Returns the time taken.
pub fn fill_queue(storage: &dyn Storage, items: usize) -> Duration {
    let templates = sample_reports();
    let started = Instant::now();
    let now = Utc::now();
    let first: DateTime<Utc> = now - TimeDelta::seconds(items as i64);
    let mut chunk = Vec::with_capacity(FILL_CHUNK.min(items));
    for i in 0..items {
        let mut report = templates[i % templates.len()].clone();
        report.subject.id = format!("{}-{i:07}", report.subject.id);
        report.received_at = Some(first + TimeDelta::seconds(i as i64));
        report.deadline = None;
        chunk.push(report);
        if chunk.len() == FILL_CHUNK || i + 1 == items {
            storage.add_reports(&chunk, now).expect("add reports");
            chunk.clear();
        }
    }
    started.elapsed()
}

/// A server database at `path` holding `items` open items and a moderator token. Returns the
/// token.
pub fn queue_db(path: &Path, items: usize) -> (SqliteStorage, String) {
    let storage = SqliteStorage::open(path).expect("db");
    let took = fill_queue(&storage, items);
    eprintln!(
        "  ({items} items queued in {:.1} s, {:.0} items/s)",
        took.as_secs_f64(),
        items as f64 / took.as_secs_f64()
    );
    let token = server::add_token(&storage, "bench", Role::Moderator).expect("token");
    (storage, token)
}

/// Serves `storage` on 127.0.0.1 from the current tokio runtime; returns the base URL.
pub async fn serve(storage: SqliteStorage) -> String {
    serve_router(server::router(Arc::new(storage))).await
}

/// Serves any router (e.g. the API behind a delay) on 127.0.0.1; returns the base URL.
pub async fn serve_router(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let api = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    api
}

/// The real `modq` binary in a pseudo-terminal (util-linux `script` makes it), with every
/// byte it writes to the terminal collected as it arrives.
pub struct Pty {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    out: Arc<std::sync::Mutex<Vec<u8>>>,
    /// When each read from the terminal arrived: (bytes collected by then, at).
    arrivals: Arc<std::sync::Mutex<Vec<(usize, Instant)>>>,
}

/// Printed by the shell in the terminal just before it execs modq: the moment modq starts.
pub const STARTING: &str = "modq-bench-exec";

impl Pty {
    /// Runs `modq ARGS` at `cols`x`rows` with `env` set. The shell sets the terminal size,
    /// prints [`STARTING`] and execs modq, so timings can start from that marker.
    pub fn spawn(args: &[&str], env: &[(&str, &str)], cols: u16, rows: u16) -> Pty {
        use std::io::Read;
        use std::process::{Command, Stdio};
        let modq = env!("CARGO_BIN_EXE_modq");
        let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
        let shell = format!(
            "stty rows {rows} cols {cols} && printf '{STARTING}\\n' && exec '{modq}' {}",
            quoted.join(" ")
        );
        let mut child = Command::new("script")
            .args(["-q", "-f", "-e", "-c", &shell, "/dev/null"])
            .envs(env.iter().copied())
            .env("TERM", "xterm-256color")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("script");
        let stdin = child.stdin.take().expect("stdin");
        let mut stdout = child.stdout.take().expect("stdout");
        let out = Arc::new(std::sync::Mutex::new(Vec::new()));
        let arrivals = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (o, a) = (out.clone(), arrivals.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 65536];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let at = Instant::now();
                let mut out = o.lock().expect("out");
                out.extend_from_slice(&buf[..n]);
                a.lock().expect("arrivals").push((out.len(), at));
            }
        });
        Pty {
            child,
            stdin,
            out,
            arrivals,
        }
    }

    /// Waits until `needle` has been written at or after byte `from`, and answers when the
    /// read that completed it arrived; `None` after `patience`.
    pub fn wait_for(&self, needle: &str, from: usize, patience: Duration) -> Option<Instant> {
        let deadline = Instant::now() + patience;
        loop {
            {
                let out = self.out.lock().expect("out");
                let from = from.min(out.len());
                if let Some(at) = find(&out[from..], needle.as_bytes()) {
                    let end = from + at + needle.len();
                    let arrivals = self.arrivals.lock().expect("arrivals");
                    return arrivals
                        .iter()
                        .find(|(len, _)| *len >= end)
                        .map(|(_, t)| *t);
                }
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    pub fn bytes(&self) -> usize {
        self.out.lock().expect("out").len()
    }

    pub fn send(&mut self, keys: &str) {
        self.stdin.write_all(keys.as_bytes()).expect("send keys");
        self.stdin.flush().expect("flush keys");
    }

    /// The modq process (the shell exec'd it, so it is `script`'s child).
    pub fn modq_pid(&self) -> u32 {
        let path = format!("/proc/{0}/task/{0}/children", self.child.id());
        let children = std::fs::read_to_string(path).unwrap_or_default();
        children
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .expect("modq runs under script")
    }

    /// Peak resident memory of the modq process, in KiB (`VmHWM`).
    pub fn peak_rss_kib(&self) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.modq_pid())).expect("status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM")
    }

    /// Sends `q` and waits for modq to end.
    pub fn quit(mut self) {
        self.send("q");
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
