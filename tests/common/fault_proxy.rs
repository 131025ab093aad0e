//! A TCP proxy that stands between modq and the reference server and misbehaves on demand:
//! the network trouble a moderator's laptop meets (an API that is down, slow, failing,
//! resetting, cutting answers short, or swallowing requests), made repeatable.
//!
//! Connections are kept alive, so a fault cannot be chosen per connection. The proxy speaks
//! just enough HTTP/1.1 to see where one request ends (its head, then `Content-Length` bytes,
//! or a chunked body up to its last chunk) and chooses the fault for each request once it has
//! arrived in full, before any of it goes upstream. Clients do not pipeline, so the proxy then
//! reads the upstream's whole answer (same framing) and decides what the client gets of it.
#![allow(dead_code)]

use std::io;
use std::mem::discriminant;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

/// What happens to the next request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Forward the request, return the answer.
    Pass,
    /// Wait this long, then behave as `Pass`.
    Delay(Duration),
    /// Answer `500` with a JSON `ApiError` and `Connection: close` without asking upstream,
    /// then close.
    Http500,
    /// Close the client's connection abruptly (SO_LINGER 0: the client gets a TCP RST).
    Reset,
    /// Forward the request (so the server applies it), then give the client the answer's
    /// head and only the first half of its body, and close: the client sees the connection
    /// end in the middle of the JSON.
    TruncateResponse,
    /// Like `TruncateResponse`, but the head's `Content-Length` is rewritten to the cut
    /// length: the client gets a complete, well-framed `200` whose JSON stops half way.
    TruncateJson,
    /// Forward the request (so the server applies it), then close without a byte of answer.
    DropResponse,
    /// Read the request and never answer; the connection stays open until the client gives up.
    Blackhole,
}

/// One request the proxy saw, and what it did to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Method and target, e.g. `POST /v1/decisions`.
    pub request: String,
    pub fault: Fault,
}

struct Rule {
    /// Only requests whose `METHOD /path` starts with this get the fault; others pass.
    only: Option<String>,
    fault: Fault,
}

struct Shared {
    upstream: SocketAddr,
    rule: Mutex<Rule>,
    seen: Mutex<Vec<Seen>>,
    connections: Mutex<Vec<AbortHandle>>,
}

impl Shared {
    fn decide(&self, request: &Message) -> Fault {
        let line = request.request_line();
        let fault = {
            let rule = lock(&self.rule);
            match &rule.only {
                Some(prefix) if !line.starts_with(prefix.as_str()) => Fault::Pass,
                _ => rule.fault.clone(),
            }
        };
        lock(&self.seen).push(Seen {
            request: line,
            fault: fault.clone(),
        });
        fault
    }
}

pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// A proxy on 127.0.0.1 (ephemeral port) in front of `upstream`, passing everything.
    pub async fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fault proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            upstream,
            rule: Mutex::new(Rule {
                only: None,
                fault: Fault::Pass,
            }),
            seen: Mutex::new(Vec::new()),
            connections: Mutex::new(Vec::new()),
        });
        let acceptor = Some(tokio::spawn(accept_loop(listener, shared.clone())));
        FaultProxy {
            addr,
            shared,
            acceptor,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The proxy as an API address for modq.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request from now on meets `fault`.
    pub fn set(&self, fault: Fault) {
        *lock(&self.shared.rule) = Rule { only: None, fault };
    }

    /// Requests whose `METHOD /path` starts with `prefix` (e.g. `"POST /v1/decisions"`) meet
    /// `fault`; all others pass.
    pub fn set_for(&self, prefix: &str, fault: Fault) {
        *lock(&self.shared.rule) = Rule {
            only: Some(prefix.to_string()),
            fault,
        };
    }

    /// How many requests met a fault of this kind (any duration, for `Delay`).
    pub fn seen(&self, fault: &Fault) -> usize {
        lock(&self.shared.seen)
            .iter()
            .filter(|s| discriminant(&s.fault) == discriminant(fault))
            .count()
    }

    /// Every request seen so far, oldest first.
    pub fn log(&self) -> Vec<Seen> {
        lock(&self.shared.seen).clone()
    }

    /// The API goes down: the port is closed (connections are refused) and every open
    /// connection is dropped.
    pub async fn stop(&mut self) {
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.abort();
            let _ = acceptor.await;
        }
        for connection in lock(&self.shared.connections).drain(..) {
            connection.abort();
        }
    }

    /// The API comes back at the same address (the profile is tied to it).
    pub async fn restart(&mut self) {
        self.stop().await;
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot rebind the fault proxy on {}: {e}", self.addr),
            }
        };
        self.acceptor = Some(tokio::spawn(accept_loop(listener, self.shared.clone())));
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(acceptor) = self.acceptor.take() {
            acceptor.abort();
        }
        for connection in lock(&self.shared.connections).drain(..) {
            connection.abort();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let client = match listener.accept().await {
            Ok((client, _)) => client,
            Err(_) => {
                // Out of file descriptors or the like: try again shortly rather than spin.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let task = tokio::spawn(serve_connection(client, shared.clone()));
        let mut connections = lock(&shared.connections);
        connections.retain(|c| !c.is_finished());
        connections.push(task.abort_handle());
    }
}

async fn serve_connection(mut client: TcpStream, shared: Arc<Shared>) {
    let mut pending = Vec::new();
    let mut upstream: Option<TcpStream> = None;
    loop {
        let request = match read_request(&mut client, &mut pending).await {
            Ok(Some(request)) => request,
            Ok(None) | Err(_) => return,
        };
        let fault = shared.decide(&request);
        match &fault {
            Fault::Delay(d) => tokio::time::sleep(*d).await,
            Fault::Http500 => {
                let _ = client.write_all(&http_500()).await;
                let _ = client.shutdown().await;
                return;
            }
            Fault::Reset => {
                reset(client);
                return;
            }
            Fault::Blackhole => {
                swallow(client).await;
                return;
            }
            Fault::Pass | Fault::TruncateResponse | Fault::TruncateJson | Fault::DropResponse => {}
        }
        let answer = match exchange(&mut upstream, shared.upstream, &request).await {
            Ok(answer) => answer,
            Err(_) => {
                // The upstream is down or broke the connection: so does the proxy.
                reset(client);
                return;
            }
        };
        match fault {
            Fault::TruncateResponse => {
                let cut = answer.body.len() / 2;
                let _ = client.write_all(&answer.head).await;
                let _ = client.write_all(&answer.body[..cut]).await;
                let _ = client.shutdown().await;
                return;
            }
            Fault::TruncateJson => {
                let cut = answer.body.len() / 2;
                let _ = client.write_all(&answer.head_with_length(cut)).await;
                let _ = client.write_all(&answer.body[..cut]).await;
                let _ = client.shutdown().await;
                return;
            }
            Fault::DropResponse => {
                let _ = client.shutdown().await;
                return;
            }
            _ => {
                if client.write_all(&answer.head).await.is_err()
                    || client.write_all(&answer.body).await.is_err()
                {
                    return;
                }
                if answer.closes() {
                    let _ = client.shutdown().await;
                    return;
                }
            }
        }
    }
}

/// Send `request` upstream (connecting if needed) and read the whole answer.
async fn exchange(
    upstream: &mut Option<TcpStream>,
    addr: SocketAddr,
    request: &Message,
) -> io::Result<Message> {
    let stream = match upstream {
        Some(stream) => stream,
        None => upstream.insert(TcpStream::connect(addr).await?),
    };
    let answer = send_and_read(stream, request).await;
    if !answer.as_ref().is_ok_and(|a| !a.closes()) {
        *upstream = None;
    }
    answer
}

async fn send_and_read(stream: &mut TcpStream, request: &Message) -> io::Result<Message> {
    stream.write_all(&request.head).await?;
    stream.write_all(&request.body).await?;
    let mut buffer = Vec::new();
    match read_message(stream, &mut buffer, Side::Response).await? {
        Some(answer) => Ok(answer),
        None => Err(io::ErrorKind::UnexpectedEof.into()),
    }
}

fn reset(client: TcpStream) {
    // SO_LINGER 0: closing sends RST instead of FIN.
    let _ = client.set_zero_linger();
    drop(client);
}

/// Read and discard until the client gives up.
async fn swallow(mut client: TcpStream) {
    let mut sink = [0u8; 4096];
    while let Ok(n) = client.read(&mut sink).await {
        if n == 0 {
            return;
        }
    }
}

fn http_500() -> Vec<u8> {
    let body = r#"{"error":"internal","message":"injected by the fault proxy"}"#;
    format!(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// One HTTP/1.1 request or answer, split where the head ends.
struct Message {
    /// Start line and headers, up to and including the blank line.
    head: Vec<u8>,
    body: Vec<u8>,
}

impl Message {
    fn head_text(&self) -> String {
        String::from_utf8_lossy(&self.head).into_owned()
    }

    /// `METHOD /target` of a request.
    fn request_line(&self) -> String {
        let head = self.head_text();
        let first = head.lines().next().unwrap_or_default();
        first
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn header(&self, name: &str) -> Option<String> {
        header(&self.head, name)
    }

    /// Whether the connection ends after this answer.
    fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.to_ascii_lowercase().contains("close"))
    }

    /// The head with `Content-Length: length` and `Connection: close`.
    fn head_with_length(&self, length: usize) -> Vec<u8> {
        let head = self.head_text();
        let mut out = String::new();
        for (n, line) in head.split("\r\n").enumerate() {
            if line.is_empty() {
                continue;
            }
            let name = line.split(':').next().unwrap_or_default().trim();
            if n > 0
                && (name.eq_ignore_ascii_case("content-length")
                    || name.eq_ignore_ascii_case("connection")
                    || name.eq_ignore_ascii_case("transfer-encoding"))
            {
                continue;
            }
            out.push_str(line);
            out.push_str("\r\n");
        }
        out.push_str(&format!(
            "content-length: {length}\r\nconnection: close\r\n\r\n"
        ));
        out.into_bytes()
    }
}

fn header(head: &[u8], name: &str) -> Option<String> {
    String::from_utf8_lossy(head)
        .split("\r\n")
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Request,
    Response,
}

async fn read_request(
    client: &mut TcpStream,
    pending: &mut Vec<u8>,
) -> io::Result<Option<Message>> {
    read_message(client, pending, Side::Request).await
}

/// Read one message from `stream`, starting with the bytes already in `pending`; what follows
/// it stays in `pending`. `None`: the stream ended before a message began.
async fn read_message(
    stream: &mut TcpStream,
    pending: &mut Vec<u8>,
    side: Side,
) -> io::Result<Option<Message>> {
    let mut eof = false;
    loop {
        if let Some(at) = find(pending, b"\r\n\r\n") {
            let head_len = at + 4;
            if let Some(body_len) =
                body_length(&pending[..head_len], &pending[head_len..], side, eof)
            {
                let rest = pending.split_off(head_len + body_len);
                let mut head = std::mem::replace(pending, rest);
                let body = head.split_off(head_len);
                return Ok(Some(Message { head, body }));
            }
        }
        if eof {
            return if pending.is_empty() {
                Ok(None)
            } else {
                Err(io::ErrorKind::UnexpectedEof.into())
            };
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            eof = true;
        }
        pending.extend_from_slice(&chunk[..n]);
    }
}

/// How long the body after `head` is, once `after` holds all of it; `None`: read more.
fn body_length(head: &[u8], after: &[u8], side: Side, eof: bool) -> Option<usize> {
    let status = String::from_utf8_lossy(head)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok());
    if side == Side::Response && matches!(status, Some(204 | 304)) {
        return Some(0);
    }
    if let Some(length) = header(head, "content-length").and_then(|v| v.parse::<usize>().ok()) {
        return (after.len() >= length).then_some(length);
    }
    if header(head, "transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    {
        // The last chunk, without trailers: good enough for the JSON bodies at stake here.
        if after.starts_with(b"0\r\n\r\n") {
            return Some(5);
        }
        return find(after, b"\r\n0\r\n\r\n").map(|at| at + 7);
    }
    match side {
        // A request without a length has no body.
        Side::Request => Some(0),
        // An answer without a length runs to the end of the connection.
        Side::Response => eof.then_some(after.len()),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
