//! A hostile or broken API: answers of the wrong type, with missing fields, unknown enum
//! values, deep nesting, invalid UTF-8, huge arrays, 100 MB bodies, or no answer at all. Each
//! gets a clear message, nothing panics, the limits (`--max-response-mb`, `--timeout`) hold,
//! and a decision made meanwhile stays in the outbox until a good answer arrives.
//!
//! The API here is a raw TCP server on 127.0.0.1 writing crafted bytes.

mod common;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use common::Session;
use modq::backend::BackendError;
use modq::backend::modq::{Limits, ModqClient};
use modq::config::Config;
use modq::model::ClaimRequest;
use modq::profile::Dirs;
use modq::session;
use modq::store::Store;
use modq::tui::app::Link;
use modq::tui::theme::Theme;

fn mono() -> Config {
    Config {
        theme: Theme::monochrome(),
        ..Config::default()
    }
}

const MODQ: &str = env!("CARGO_BIN_EXE_modq");
/// A hang guard only.
const HANG_GUARD: Duration = Duration::from_secs(60);
const NOW: &str = "2026-11-23T12:00:00Z";

// --- the hostile API ----------------------------------------------------------------------

/// What the API answers to one request: raw bytes, or silence.
#[derive(Clone)]
enum Answer {
    Bytes(Vec<u8>),
    /// Read the request, then never write a byte.
    Silence,
    /// A 200 whose body streams `n` bytes of a JSON string, with or without announcing it.
    Stream {
        bytes: usize,
        announced: bool,
    },
}

type Script = Arc<dyn Fn(&str, &[u8]) -> Answer + Send + Sync>;

struct HostileApi {
    base: String,
    /// Every request body sent to `POST /v1/decisions`.
    decisions: Arc<Mutex<Vec<Value>>>,
    task: JoinHandle<()>,
}

impl Drop for HostileApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn hostile_api(script: impl Fn(&str, &[u8]) -> Answer + Send + Sync + 'static) -> HostileApi {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let script: Script = Arc::new(script);
    let decisions = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&decisions);
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let script = Arc::clone(&script);
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let mut stream = stream;
                let Some((target, body)) = read_request(&mut stream).await else {
                    return;
                };
                if target.contains("/v1/decisions")
                    && let Ok(v) = serde_json::from_slice(&body)
                {
                    seen.lock().expect("lock").push(v);
                }
                answer(&mut stream, script(&target, &body)).await;
            });
        }
    });
    HostileApi {
        base,
        decisions,
        task,
    }
}

/// Reads one request: `METHOD /path` and its body (by Content-Length).
async fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || data.len() > 1 << 20 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let mut words = head.split_whitespace();
    let target = format!("{} {}", words.next()?, words.next()?);
    Some((target, data[head_end..head_end + length].to_vec()))
}

async fn answer(stream: &mut TcpStream, answer: Answer) {
    match answer {
        Answer::Bytes(bytes) => {
            let _ = stream.write_all(&bytes).await;
        }
        Answer::Silence => {
            // Keep the connection open until the client gives up.
            let mut sink = [0u8; 1024];
            while let Ok(n) = stream.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        }
        Answer::Stream { bytes, announced } => {
            let length = if announced {
                format!("Content-Length: {}\r\n", bytes + 2)
            } else {
                String::new()
            };
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{length}Connection: close\r\n\r\n\""
            );
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 0;
            while sent < bytes {
                // The client hangs up at its limit: that ends the stream.
                if stream.write_all(&chunk).await.is_err() {
                    return;
                }
                sent += chunk.len();
            }
            let _ = stream.write_all(b"\"").await;
        }
    }
    let _ = stream.shutdown().await;
}

fn http(status: &str, body: &[u8]) -> Answer {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    Answer::Bytes(out)
}

fn ok(body: &Value) -> Answer {
    http("200 OK", body.to_string().as_bytes())
}

fn item(n: usize) -> Value {
    json!({
        "id": format!("post-{n}"), "kind": "post", "text": format!("hostile server item {n}"),
        "reports": [{"id": n, "reporter_type": "user", "category": "spam", "lane": "standard",
                     "received_at": NOW}],
        "priority": 10, "lane": "standard", "state": "open", "created_at": NOW
    })
}

fn claimed(items: Vec<Value>) -> Value {
    json!({"items": items, "next_cursor": null, "lease_expires_at": "2999-01-01T00:00:00Z",
           "lease_seconds": 300})
}

/// A well-behaved answer to everything but the routes the test scripts.
fn well_behaved(target: &str, body: &[u8]) -> Answer {
    if target.ends_with("/v1/me") {
        ok(&json!({"name": "alice", "role": "moderator"}))
    } else if target.contains("/v1/queue/claim") {
        ok(&claimed((0..8).map(item).collect()))
    } else if target.contains("/v1/queue?") {
        ok(&json!({"items": (0..8).map(item).collect::<Vec<_>>(), "next_cursor": null}))
    } else if target.contains("/v1/leases/claim") {
        let asked: Value = serde_json::from_slice(body).unwrap_or_default();
        ok(&json!({"leased": asked["item_ids"], "refused": [],
                   "lease_expires_at": "2999-01-01T00:00:00Z", "lease_seconds": 300,
                   "held": 8, "max_leases": 25}))
    } else if target.contains("/v1/leases/renew") {
        ok(&json!({"renewed": [], "lost": [], "lease_expires_at": "2999-01-01T00:00:00Z"}))
    } else if target.contains("/v1/leases/release") {
        ok(&json!({"released": 0}))
    } else if target.contains("/v1/decisions") {
        let batch: Value = serde_json::from_slice(body).unwrap_or_default();
        let results: Vec<Value> = batch["decisions"]
            .as_array()
            .map(|ds| {
                ds.iter()
                    .map(|d| json!({"idempotency_key": d["idempotency_key"], "outcome": "applied"}))
                    .collect()
            })
            .unwrap_or_default();
        ok(&json!({ "results": results }))
    } else {
        http(
            "404 Not Found",
            br#"{"error":"not_found","message":"no such endpoint"}"#,
        )
    }
}

/// `well_behaved`, except that the claim and the read of the queue answer `page`.
fn claim_answers(page: Answer) -> impl Fn(&str, &[u8]) -> Answer + Send + Sync + 'static {
    move |target, body| {
        if target.contains("/v1/queue/claim") || target.contains("/v1/queue?") {
            page.clone()
        } else {
            well_behaved(target, body)
        }
    }
}

fn quick_limits() -> Limits {
    Limits {
        request_timeout: Duration::from_secs(1),
        connect_timeout: Duration::from_secs(1),
        ..Limits::default()
    }
}

async fn claim(api: &HostileApi, limits: Limits) -> Result<usize, BackendError> {
    let client = ModqClient::with_limits(&api.base, "t", limits).expect("client");
    let request = ClaimRequest {
        limit: Some(100),
        ..ClaimRequest::default()
    };
    tokio::time::timeout(HANG_GUARD, client.claim_page(&request))
        .await
        .expect("the client hung")
        .map(|page| page.items.len())
}

fn malformed(result: Result<usize, BackendError>) -> String {
    match result {
        Err(e @ BackendError::Malformed(_)) => {
            let text = e.to_string();
            assert!(!text.chars().any(char::is_control), "{text:?}");
            text
        }
        other => panic!("expected an answer modq cannot read, got {other:?}"),
    }
}

// --- each kind of bad answer, at the client -------------------------------------------------

#[tokio::test]
async fn each_malformed_answer_is_named_for_what_is_wrong_with_it() {
    let wrong_type = {
        let mut i = item(1);
        i["priority"] = json!("very high");
        claimed(vec![i])
    };
    let missing_field = {
        let mut i = item(1);
        i.as_object_mut().expect("object").remove("kind");
        claimed(vec![i])
    };
    let unknown_enum = {
        let mut i = item(1);
        i["lane"] = json!("ultraviolet");
        claimed(vec![i])
    };
    // Where modq expects a scope ("global" or country codes), which may be either shape.
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let nested = {
        let mut i = item(1);
        i["restricted_in"] = json!("DEEP");
        claimed(vec![i]).to_string().replace("\"DEEP\"", &deep)
    };
    let mut invalid_utf8 = claimed(vec![item(1)]).to_string().into_bytes();
    let at = invalid_utf8
        .windows(7)
        .position(|w| w == b"hostile")
        .expect("text");
    invalid_utf8[at] = 0xff;
    let cases: Vec<(&str, Answer, &str)> = vec![
        (
            "a number that is a string",
            ok(&wrong_type),
            "invalid type: string \"very high\", expected i64",
        ),
        (
            "a missing field",
            ok(&missing_field),
            "missing field `kind`",
        ),
        (
            "an unknown enum value",
            ok(&unknown_enum),
            "unknown variant `ultraviolet`",
        ),
        (
            "JSON nested 100,000 deep",
            http("200 OK", nested.as_bytes()),
            "recursion limit exceeded",
        ),
        (
            "invalid UTF-8",
            http("200 OK", &invalid_utf8),
            "invalid unicode code point",
        ),
        (
            "not JSON at all",
            http("200 OK", b"<html>hello</html>"),
            "expected value",
        ),
        ("an empty body", http("200 OK", b""), "EOF while parsing"),
    ];
    for (what, page, phrase) in cases {
        let api = hostile_api(claim_answers(page)).await;
        let message = malformed(claim(&api, quick_limits()).await);
        assert!(message.contains(phrase), "{what}: {message}");
        assert!(message.chars().count() < 500, "{what}: short: {message}");
    }
}

/// Deep nesting in a field modq does not know is walked through without recursion, and
/// the page is read.
#[tokio::test]
async fn deep_nesting_in_an_unknown_field_is_skipped() {
    let deep = format!("{}1{}", "{\"a\":[".repeat(50_000), "]}".repeat(50_000));
    let page = claimed(vec![item(1)])
        .to_string()
        .replacen('{', &format!("{{\"extra\":{deep},"), 1);
    let api = hostile_api(claim_answers(http("200 OK", page.as_bytes()))).await;
    assert_eq!(claim(&api, quick_limits()).await, Ok(1));
}

#[tokio::test]
async fn a_huge_array_within_the_limit_is_read_and_one_past_it_is_refused() {
    let items: Vec<Value> = (0..20_000).map(item).collect();
    let body = claimed(items).to_string();
    assert!(body.len() < 16 * 1024 * 1024 && body.len() > 4 * 1024 * 1024);
    let api = hostile_api(claim_answers(http("200 OK", body.as_bytes()))).await;
    assert_eq!(claim(&api, quick_limits()).await, Ok(20_000));
    let small = Limits {
        max_response_bytes: 1024 * 1024,
        ..quick_limits()
    };
    let message = malformed(claim(&api, small).await);
    assert!(message.contains("larger than the 1 MiB limit"), "{message}");
}

#[tokio::test]
async fn a_100_mb_answer_is_refused_at_the_limit_announced_or_not() {
    for announced in [true, false] {
        let api = hostile_api(claim_answers(Answer::Stream {
            bytes: 100 * 1024 * 1024,
            announced,
        }))
        .await;
        let message = malformed(claim(&api, quick_limits()).await);
        assert!(
            message.contains("larger than the 16 MiB limit"),
            "{message}"
        );
    }
}

#[tokio::test]
async fn an_api_that_never_answers_times_out_at_the_configured_limit() {
    let api = hostile_api(claim_answers(Answer::Silence)).await;
    let err = claim(&api, quick_limits()).await.expect_err("no answer");
    assert_eq!(err, BackendError::Timeout(1));
    assert!(err.is_retryable());
}

// --- at the command line: the flags and variables --------------------------------------------

async fn modq(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let data = TempDir::new().expect("temp dir");
    let mut command = tokio::process::Command::new(MODQ);
    command
        .args(args)
        .arg("--data-dir")
        .arg(data.path())
        .env_remove("MODQ_API")
        .env_remove("MODQ_TOKEN_COMMAND")
        .env_remove("MODQ_TIMEOUT_SECS")
        .env_remove("MODQ_MAX_RESPONSE_MB")
        .env("MODQ_TOKEN", "t")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (name, value) in env {
        command.env(name, value);
    }
    let output = tokio::time::timeout(HANG_GUARD, command.output())
        .await
        .expect("modq hung")
        .expect("run modq");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_timeout_is_set_by_flag_or_variable_and_named_when_it_strikes() {
    let api = hostile_api(claim_answers(Answer::Silence)).await;
    let (code, stderr) = modq(&["--api", &api.base, "--timeout", "1"], &[]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("did not answer within 1 seconds"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--timeout"),
        "says how to change it: {stderr}"
    );
    let (code, stderr) = modq(&["--api", &api.base], &[("MODQ_TIMEOUT_SECS", "2")]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("within 2 seconds"), "{stderr}");
}

#[tokio::test]
async fn the_answer_size_limit_is_set_by_flag_or_variable() {
    let body = claimed((0..8000).map(item).collect()).to_string();
    assert!(body.len() > 1024 * 1024);
    let api = hostile_api(claim_answers(http("200 OK", body.as_bytes()))).await;
    let (code, stderr) = modq(&["--api", &api.base, "--max-response-mb", "1"], &[]).await;
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("larger than the 1 MiB limit"), "{stderr}");
    let (_, stderr) = modq(&["--api", &api.base], &[("MODQ_MAX_RESPONSE_MB", "1")]).await;
    assert!(stderr.contains("larger than the 1 MiB limit"), "{stderr}");
    let (code, stderr) = modq(&["--api", &api.base, "--max-response-mb", "0"], &[]).await;
    assert_eq!(
        code,
        Some(2),
        "zero is refused by the flag parser: {stderr}"
    );
}

// --- mid-session: the outbox keeps the decision ----------------------------------------------

/// What the API answers to `POST /v1/decisions` now.
type DecisionsAnswer = Arc<Mutex<Option<Answer>>>;

#[tokio::test]
async fn hostile_answers_to_decisions_never_lose_one() {
    let now: DecisionsAnswer = Arc::new(Mutex::new(None));
    let script = {
        let now = Arc::clone(&now);
        move |target: &str, body: &[u8]| match now.lock().expect("lock").clone() {
            Some(answer) if target.contains("/v1/decisions") => answer,
            _ => well_behaved(target, body),
        }
    };
    let api = hostile_api(script).await;
    let data = TempDir::new().expect("temp dir");
    let dirs = Dirs::resolve(Some(data.path())).expect("dirs");
    let prepared = session::prepare_with_limits(&api.base, "t", &dirs, mono(), quick_limits())
        .await
        .expect("the session opens");
    // The moderator's desk, on modq's own event loop.
    let mut desk = Session::from_prepared(prepared, chrono::Utc::now());
    let unknown_outcome = json!({"results": [{"idempotency_key": "x", "outcome": "vaporized"}]});
    let attacks: Vec<(&str, Answer, &str)> = vec![
        (
            "garbage",
            http("200 OK", b"\x1b]0;owned\x07{{{"),
            "cannot read",
        ),
        (
            "an unknown outcome",
            ok(&unknown_outcome),
            "unknown variant `vaporized`",
        ),
        (
            "a wrong count",
            ok(&json!({"results": []})),
            "got 0 results",
        ),
        (
            "100 MB",
            Answer::Stream {
                bytes: 100 << 20,
                announced: false,
            },
            "16 MiB limit",
        ),
        ("silence", Answer::Silence, "did not answer within 1 s"),
    ];
    for (n, (what, answer, phrase)) in attacks.into_iter().enumerate() {
        *now.lock().expect("lock") = Some(answer);
        // Each new decision sends at once, with everything still waiting.
        desk.press("t");
        desk.wait_within(
            what,
            HANG_GUARD,
            |app| matches!(&app.link, Link::Offline(why) if why.contains(phrase)),
        )
        .await;
        assert_eq!(desk.app.counts.unsent, n + 1, "{what}: nothing lost");
        let Link::Offline(why) = &desk.app.link else {
            unreachable!()
        };
        assert!(!why.chars().any(char::is_control), "{what}: {why:?}");
    }
    *now.lock().expect("lock") = None;
    desk.press("t");
    desk.wait_within("all are delivered", HANG_GUARD, |app| {
        app.counts.unsent == 0
    })
    .await;
    assert_eq!(desk.app.counts.failed, 0);
    // Every decision reached the API under its one key; resending was harmless.
    let keys: std::collections::HashSet<String> = api
        .decisions
        .lock()
        .expect("lock")
        .iter()
        .flat_map(|b| b["decisions"].as_array().cloned().unwrap_or_default())
        .filter_map(|d| d["idempotency_key"].as_str().map(str::to_string))
        .collect();
    assert_eq!(keys.len(), 6, "six decisions, each under one key");
    let store = Store::open(&desk.prepared_db).expect("store");
    assert_eq!(store.counts().expect("counts").unsent, 0);
    desk.close(Duration::from_secs(2)).await;
}

// --- the statements of reasons export ---------------------------------------------------------

fn statement(n: usize) -> Value {
    json!({
        "puid": format!("modq-{n}"),
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_REMOVED"],
        "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "incompatible_content_ground": "spam",
        "decision_facts": "facts",
        "content_type": ["CONTENT_TYPE_TEXT"],
        "category": "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
        "territorial_scope": ["DE"],
        "content_date": "2026-11-23",
        "application_date": "2026-11-23",
        "source_type": "SOURCE_ARTICLE_16",
        "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
    })
}

/// `modq report sor` against `api`, its standard output read as it comes.
fn report_sor(api: &HostileApi) -> tokio::process::Child {
    let data = TempDir::new().expect("temp dir").keep();
    tokio::process::Command::new(MODQ)
        .args(["report", "sor", "--api", &api.base, "--timeout", "60"])
        .arg("--data-dir")
        .arg(data)
        .env_remove("MODQ_TOKEN_COMMAND")
        .env("MODQ_TOKEN", "t")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run modq report sor")
}

/// The statements pages: the first holds `modq-1` and `modq-2` and points after 2; what
/// comes after 2 is `then`.
fn statement_pages(then: Answer) -> impl Fn(&str, &[u8]) -> Answer + Send + Sync + 'static {
    move |target, body| {
        if target.contains("/v1/statements?after=2") {
            then.clone()
        } else if target.contains("/v1/statements") {
            ok(&json!({"statements": [statement(1), statement(2)], "next_after": 2}))
        } else {
            well_behaved(target, body)
        }
    }
}

/// An export is written a page at a time: the first page is on standard output while the
/// second is still awaited, so a million take downs never sit whole in memory.
#[tokio::test]
async fn the_statements_export_is_written_as_its_pages_arrive() {
    let api = hostile_api(statement_pages(Answer::Silence)).await;
    let mut export = report_sor(&api);
    let mut stdout = export.stdout.take().expect("stdout");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&seen).contains("modq-2") {
        let n = tokio::time::timeout(HANG_GUARD, stdout.read(&mut buf))
            .await
            .expect("the first page is written before the second arrives")
            .expect("read stdout");
        assert!(n > 0, "stdout ended: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    let printed = String::from_utf8_lossy(&seen);
    assert!(printed.starts_with("{\"statements\": [\n"), "{printed}");
    assert!(printed.contains("modq-1"), "{printed}");
    assert!(
        export.try_wait().expect("modq's status").is_none(),
        "still waiting for the second page (60 s timeout)"
    );
}

/// A server whose cursor does not move on is named, not followed for ever; the export is
/// left unfinished JSON and the exit status says it failed.
#[tokio::test]
async fn a_statements_cursor_that_stands_still_stops_the_export_unfinished() {
    let standing = ok(&json!({"statements": [statement(3)], "next_after": 2}));
    let api = hostile_api(statement_pages(standing)).await;
    let output = tokio::time::timeout(HANG_GUARD, report_sor(&api).wait_with_output())
        .await
        .expect("modq hung")
        .expect("modq ran");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("next page starts at 2, not after 2"),
        "{stderr}"
    );
    let printed = String::from_utf8_lossy(&output.stdout);
    // The pages before it are written; the page that stood still is refused whole.
    assert!(printed.contains("modq-2"), "{printed}");
    assert!(!printed.contains("modq-3"), "{printed}");
    assert!(
        serde_json::from_str::<Value>(&printed).is_err(),
        "an export cut short is never whole JSON: {printed}"
    );
}
