//! Bad input at the start of a session: a moderator points modq at the wrong address, uses a
//! stale token, or the server is broken or hostile. Each must end before the TUI starts with
//! one plain sentence on stderr (`modq: ...`) and exit code 2, never a panic.
//!
//! The second half drives the HTTP client (`ModqClient`) directly, to pin down how each
//! kind of bad answer is classified (retry, give up, or cannot read).

use std::future::Future;
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use modq::backend::modq::{MAX_RESPONSE_BYTES, ModqClient};
use modq::backend::{Backend, BackendError, QueueQuery};
use modq::model::Role;
use modq::server::{self, SqliteStorage, Storage};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const MODQ: &str = env!("CARGO_BIN_EXE_modq");

/// A hang guard only: every case here fails in well under a second.
const HANG_GUARD: Duration = Duration::from_secs(60);

const ME: &str = r#"{"name":"alice","role":"moderator"}"#;

// --- the harness --------------------------------------------------------------------------

/// What one run of `modq` left behind.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs `modq --api <api>` with `token` in MODQ_TOKEN (or none), no TTY, a fresh data dir and
/// none of the caller's modq settings.
async fn modq_at(api: &str, token: Option<&str>) -> Run {
    modq_with(&["--api", api], token).await
}

async fn modq_with(args: &[&str], token: Option<&str>) -> Run {
    let data = TempDir::new().expect("temp dir");
    let mut command = tokio::process::Command::new(MODQ);
    command
        .args(args)
        .arg("--data-dir")
        .arg(data.path())
        .env_remove("MODQ_API")
        .env_remove("MODQ_TOKEN")
        .env_remove("MODQ_TOKEN_COMMAND")
        .env_remove("MODQ_DATA_DIR")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if let Some(token) = token {
        command.env("MODQ_TOKEN", token);
    }
    let output: Output = tokio::time::timeout(HANG_GUARD, command.output())
        .await
        .unwrap_or_else(|_| panic!("modq {args:?} hung for {HANG_GUARD:?}"))
        .expect("run modq");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The contract for every start-up failure: exit 2, `modq: ` and a plain sentence that says
/// `phrase`, no panic, and the TUI never opened.
fn assert_refused_plainly(run: &Run, phrase: &str) {
    let stderr = &run.stderr;
    assert_eq!(run.code, Some(2), "exit code; stderr: {stderr}");
    assert!(
        stderr.starts_with("modq: "),
        "stderr should start with `modq: `: {stderr:?}"
    );
    assert!(
        stderr.contains(phrase),
        "stderr should say {phrase:?}: {stderr}"
    );
    for bad in ["panicked", "RUST_BACKTRACE"] {
        assert!(!stderr.contains(bad), "stderr shows a panic: {stderr}");
    }
    assert!(
        !run.stdout.contains("\u{1b}[?1049h") && !run.stdout.contains("decisions this session"),
        "the TUI must not start: {:?}",
        run.stdout
    );
}

/// A fake API on 127.0.0.1: for each request it writes whatever `answer` returns for the
/// request's path (query string included) as raw bytes, then closes the connection.
struct FakeApi {
    base: String,
    task: JoinHandle<()>,
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn fake_api(answer: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> FakeApi {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let answer = Arc::new(answer);
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let answer = Arc::clone(&answer);
            tokio::spawn(async move {
                let mut stream = stream;
                if let Some(path) = read_request_path(&mut stream).await {
                    // The client may hang up early (e.g. at the size limit): that is fine.
                    let _ = stream.write_all(&answer(&path)).await;
                    let _ = stream.shutdown().await;
                }
            });
        }
    });
    FakeApi { base, task }
}

/// Reads a request head (these requests have no body) and returns its target.
async fn read_request_path(stream: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await.ok()?;
        if n == 0 || head.len() > 64 * 1024 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    head.split_whitespace().nth(1).map(str::to_string)
}

/// A whole HTTP/1.1 response.
fn http(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn json(status: &str, body: &str) -> Vec<u8> {
    http(status, "application/json", body.as_bytes())
}

/// An answer with no Content-Length: the body runs until the connection closes, so only
/// counting the bytes as they arrive can stop it.
fn unsized_json(body: &[u8]) -> Vec<u8> {
    let mut out =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n".to_vec();
    out.extend_from_slice(body);
    out
}

/// Valid JSON (a queue page whose one item has an enormous text) just over the client's cap.
fn oversized_queue_page() -> Vec<u8> {
    let filler = "x".repeat(MAX_RESPONSE_BYTES + 1024);
    format!(r#"{{"items":[{{"id":"huge","text":"{filler}"}}],"next_cursor":null}}"#).into_bytes()
}

/// `/v1/me` answers well; `/v1/queue` answers `queue`.
fn me_then(queue: impl Fn() -> Vec<u8> + Send + Sync + 'static) -> impl Fn(&str) -> Vec<u8> {
    move |path| {
        if path.starts_with("/v1/me") {
            json("200 OK", ME)
        } else if path.starts_with("/v1/queue") {
            queue()
        } else {
            json(
                "404 Not Found",
                r#"{"error":"not_found","message":"no such endpoint"}"#,
            )
        }
    }
}

/// The reference server in-process, on a temp database holding one token for alice.
struct RealServer {
    base: String,
    token: String,
    _dir: TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RealServer {
    async fn start() -> RealServer {
        let dir = TempDir::new().expect("temp dir");
        let storage = SqliteStorage::open(&dir.path().join("modq.db")).expect("open database");
        let token = server::add_token(&storage, "alice", Role::Moderator).expect("add token");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = oneshot::channel::<()>();
        let storage: Arc<dyn Storage> = Arc::new(storage);
        let task = tokio::spawn(server::serve(listener, storage, async {
            let _ = stopped.await;
        }));
        RealServer {
            base,
            token,
            _dir: dir,
            stop: Some(stop),
            task,
        }
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

/// An address where nothing listens: a port that was just ours, now closed.
async fn closed_address() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    format!("http://{address}")
}

async fn within_guard<T>(call: impl Future<Output = T>) -> T {
    tokio::time::timeout(HANG_GUARD, call)
        .await
        .expect("the client hung")
}

fn first_page() -> QueueQuery {
    QueueQuery {
        limit: Some(100),
        ..QueueQuery::default()
    }
}

// --- the command line: a moderator starting a session ------------------------------------

#[tokio::test]
async fn a_server_that_is_not_running_is_named_and_called_unreachable() {
    let api = closed_address().await;
    let run = modq_at(&api, Some("some-token")).await;
    assert_refused_plainly(&run, "Cannot reach the moderation API");
    assert!(run.stderr.contains(&api), "names {api}: {}", run.stderr);
}

#[tokio::test]
async fn a_token_the_server_does_not_know_is_reported_as_refused() {
    let server = RealServer::start().await;
    assert!(!server.token.is_empty());
    let run = modq_at(&server.base, Some("mq_this-is-not-alices-token")).await;
    assert_refused_plainly(&run, "refused the token");
    assert!(
        run.stderr.contains("MODQ_TOKEN") && run.stderr.contains(&server.base),
        "says which server refused and where the token came from: {}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("mq_this-is-not-alices-token"),
        "the token must never be echoed: {}",
        run.stderr
    );
    server.stop().await;
}

#[tokio::test]
async fn a_server_error_with_a_json_body_passes_on_the_servers_message() {
    let api = fake_api(|_| {
        json(
            "500 Internal Server Error",
            r#"{"error":"internal","message":"the database is being restored"}"#,
        )
    })
    .await;
    let run = modq_at(&api.base, Some("t")).await;
    assert_refused_plainly(&run, "failed (HTTP 500): the database is being restored");
    assert!(run.stderr.contains("Try again later"), "{}", run.stderr);
}

#[tokio::test]
async fn a_server_error_with_a_plain_text_body_still_reads_as_a_server_failure() {
    let api = fake_api(|_| {
        http(
            "500 Internal Server Error",
            "text/plain",
            b"upstream connect error or disconnect/reset before headers",
        )
    })
    .await;
    let run = modq_at(&api.base, Some("t")).await;
    assert_refused_plainly(&run, "failed (HTTP 500)");
    assert!(
        run.stderr.contains("without an error message"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_truncated_answer_about_the_moderator_is_called_unreadable() {
    let api = fake_api(|_| json("200 OK", r#"{"name":"alice","ro"#)).await;
    let run = modq_at(&api.base, Some("t")).await;
    assert_refused_plainly(&run, "sent an answer modq cannot read");
    assert!(
        run.stderr.contains("Is this a modq API v1 server?"),
        "{}",
        run.stderr
    );
}

#[tokio::test]
async fn a_garbled_first_queue_page_is_called_unreadable() {
    let api = fake_api(me_then(|| {
        json("200 OK", r#"{"items":[{"id":42}],"next_cu"#)
    }))
    .await;
    let run = modq_at(&api.base, Some("t")).await;
    assert_refused_plainly(&run, "sent an answer modq cannot read");
}

#[tokio::test]
async fn a_queue_page_of_the_wrong_shape_is_called_unreadable() {
    let api = fake_api(me_then(|| json("200 OK", r#"{"queue":"empty"}"#))).await;
    let run = modq_at(&api.base, Some("t")).await;
    assert_refused_plainly(&run, "sent an answer modq cannot read");
}

#[tokio::test]
async fn a_queue_page_beyond_the_size_limit_is_refused_not_buffered() {
    let api = fake_api(me_then(|| unsized_json(&oversized_queue_page()))).await;
    let run = modq_at(&api.base, Some("t")).await;
    assert_refused_plainly(&run, "larger than the 16 MiB limit");
}

#[tokio::test]
async fn an_api_address_that_is_not_a_url_says_so() {
    let run = modq_at("not a url", Some("t")).await;
    assert_refused_plainly(&run, "is not a URL");
    assert!(run.stderr.contains("\"not a url\""), "{}", run.stderr);
}

#[tokio::test]
async fn an_api_address_with_another_scheme_says_which_schemes_work() {
    let run = modq_at("ftp://127.0.0.1:21", Some("t")).await;
    assert_refused_plainly(&run, "must start with http:// or https://");
}

#[tokio::test]
async fn no_token_at_all_says_where_to_put_one() {
    // The server is real and reachable: the token is the only thing missing.
    let server = RealServer::start().await;
    let run = modq_at(&server.base, None).await;
    assert_refused_plainly(
        &run,
        "no API token: set MODQ_TOKEN or pass --token-file FILE or --token-command CMD",
    );
    server.stop().await;
}

#[tokio::test]
async fn a_missing_or_empty_token_file_is_named() {
    let dir = TempDir::new().expect("temp dir");
    let missing = dir.path().join("no-such.token");
    let empty = dir.path().join("empty.token");
    write_private(&empty, "\n");
    let server = RealServer::start().await;
    for (file, phrase) in [
        (&missing, "cannot read the token file"),
        (&empty, "is empty"),
    ] {
        let run = modq_with(
            &["--api", &server.base, "--token-file", path_str(file)],
            Some("a-valid-looking-token-in-the-environment"),
        )
        .await;
        assert_refused_plainly(&run, phrase);
        assert!(run.stderr.contains(path_str(file)), "{}", run.stderr);
    }
    server.stop().await;
}

// --- what a hostile or broken server or token file must not be able to do ----------------

#[tokio::test]
async fn a_hostile_error_message_cannot_drive_the_moderators_terminal() {
    // OSC 0 retitles the window, CSI 2J clears the screen: a server must not be able to
    // write either to the moderator's terminal (DESIGN.md, "Untrusted text").
    let api = fake_api(|_| {
        json(
            "500 Internal Server Error",
            r#"{"error":"internal","message":"down \u001b]0;owned\u0007\u001b[2J\u009b31m"}"#,
        )
    })
    .await;
    let run = modq_at(&api.base, Some("t")).await;
    assert_refused_plainly(&run, "failed (HTTP 500)");
    let controls: Vec<char> = run
        .stderr
        .trim_end_matches('\n')
        .chars()
        .filter(|c| c.is_control())
        .collect();
    assert!(
        controls.is_empty(),
        "control characters from the server reached stderr: {controls:?} in {:?}",
        run.stderr
    );
}

#[tokio::test]
async fn an_enormous_error_message_is_not_dumped_on_the_terminal() {
    let api = fake_api(|_| {
        let message = "y".repeat(1024 * 1024);
        json(
            "500 Internal Server Error",
            &format!(r#"{{"error":"internal","message":"{message}"}}"#),
        )
    })
    .await;
    let run = modq_at(&api.base, Some("t")).await;
    assert_refused_plainly(&run, "failed (HTTP 500)");
    assert!(
        run.stderr.len() < 4096,
        "one plain sentence, not {} bytes of the server's text",
        run.stderr.len()
    );
}

#[tokio::test]
async fn a_token_file_with_two_lines_is_blamed_on_the_token_not_the_network() {
    let dir = TempDir::new().expect("temp dir");
    let token_file = dir.path().join("pasted.token");
    write_private(&token_file, "first-line\nsecond-line\n");
    let server = RealServer::start().await;
    let run = modq_with(
        &["--api", &server.base, "--token-file", path_str(&token_file)],
        None,
    )
    .await;
    assert_eq!(run.code, Some(2), "{}", run.stderr);
    assert!(
        !run.stderr.contains("Cannot reach") && run.stderr.contains("token"),
        "the server is up; the token is what is wrong: {}",
        run.stderr
    );
    server.stop().await;
}

/// A token file as the README says to make one: readable by its owner only.
fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

// --- the client library: how each bad answer is classified -------------------------------

#[tokio::test]
async fn client_calls_a_500_a_server_failure_worth_retrying() {
    let api = fake_api(|_| {
        json(
            "503 Service Unavailable",
            r#"{"error":"internal","message":"maintenance"}"#,
        )
    })
    .await;
    let client = ModqClient::new(&api.base, "t").expect("client");
    let err = within_guard(client.me())
        .await
        .expect_err("a 503 is an error");
    assert_eq!(
        err,
        BackendError::Server {
            status: 503,
            message: "maintenance".into()
        }
    );
    assert!(err.is_retryable());

    let plain =
        fake_api(|_| http("500 Internal Server Error", "text/html", b"<h1>oops</h1>")).await;
    let client = ModqClient::new(&plain.base, "t").expect("client");
    let err = within_guard(client.me())
        .await
        .expect_err("a 500 is an error");
    assert!(
        matches!(&err, BackendError::Server { status: 500, message } if !message.contains("oops")),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn client_calls_truncated_json_malformed_and_does_not_retry_it() {
    let api = fake_api(me_then(|| json("200 OK", r#"{"items":[{"#))).await;
    let client = ModqClient::new(&api.base, "t").expect("client");
    let err = within_guard(client.queue_page(&first_page()))
        .await
        .expect_err("truncated JSON is an error");
    assert!(matches!(err, BackendError::Malformed(_)), "{err:?}");
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn client_refuses_an_oversized_answer_whether_or_not_it_says_its_length() {
    let body = Arc::new(oversized_queue_page());
    let announced = {
        let body = Arc::clone(&body);
        fake_api(me_then(move || json_bytes(&body))).await
    };
    let streamed = {
        let body = Arc::clone(&body);
        fake_api(me_then(move || unsized_json(&body))).await
    };
    for api in [&announced, &streamed] {
        let client = ModqClient::new(&api.base, "t").expect("client");
        let err = within_guard(client.queue_page(&first_page()))
            .await
            .expect_err("an oversized answer is an error");
        match &err {
            BackendError::Malformed(m) => assert!(m.contains("16 MiB limit"), "{m}"),
            other => panic!("expected Malformed naming the limit, got {other:?}"),
        }
        assert!(!err.is_retryable());
    }
}

fn json_bytes(body: &[u8]) -> Vec<u8> {
    http("200 OK", "application/json", body)
}

#[tokio::test]
async fn client_calls_a_401_unauthorized_with_the_servers_reason() {
    let api = fake_api(|_| {
        json(
            "401 Unauthorized",
            r#"{"error":"unauthorized","message":"token revoked"}"#,
        )
    })
    .await;
    let client = ModqClient::new(&api.base, "t").expect("client");
    let err = within_guard(client.me())
        .await
        .expect_err("401 is an error");
    assert_eq!(err, BackendError::Unauthorized("token revoked".into()));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn client_calls_a_400_rejected_with_the_servers_message() {
    let api = fake_api(me_then(|| {
        json(
            "400 Bad Request",
            r#"{"error":"bad_request","message":"this cursor is not one the server made"}"#,
        )
    }))
    .await;
    let client = ModqClient::new(&api.base, "t").expect("client");
    let err = within_guard(client.queue_page(&first_page()))
        .await
        .expect_err("400 is an error");
    assert_eq!(
        err,
        BackendError::Rejected {
            status: 400,
            message: "this cursor is not one the server made".into()
        }
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn client_survives_a_connection_cut_mid_body() {
    let api = fake_api(|_| {
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n\
          {\"name\":\""
            .to_vec()
    })
    .await;
    let client = ModqClient::new(&api.base, "t").expect("client");
    let err = within_guard(client.me())
        .await
        .expect_err("a cut body is an error");
    assert!(
        matches!(err, BackendError::Unreachable(_)),
        "a broken connection should read as network trouble: {err:?}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn client_calls_a_closed_port_no_connection() {
    let client = ModqClient::new(&closed_address().await, "t").expect("client");
    let err = within_guard(client.me())
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, BackendError::NoConnection(_)), "{err:?}");
    assert!(err.is_retryable());
}
