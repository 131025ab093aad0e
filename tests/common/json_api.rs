//! The reference server in-process, and a raw JSON client for it: what the API tests share.
//! They speak JSON values rather than modq's types, so they also see what other clients see.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use modq::model::{Item, Role};
use modq::server::{self, SqliteStorage, Storage};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// What a task needs to talk to the server; cheap to clone into many tasks.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub http: reqwest::Client,
}

/// A server running on 127.0.0.1 with its database in a folder the caller owns.
pub struct Running {
    pub client: Client,
    pub storage: Arc<SqliteStorage>,
    pub stop: oneshot::Sender<()>,
    pub task: JoinHandle<std::io::Result<()>>,
}

pub async fn serve_in(dir: &Path) -> Running {
    let storage = Arc::new(SqliteStorage::open(&dir.join("modq.db")).expect("open database"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let (stop, stopped) = oneshot::channel::<()>();
    let shared: Arc<dyn Storage> = storage.clone();
    let task = tokio::spawn(server::serve(listener, shared, async {
        let _ = stopped.await;
    }));
    Running {
        client: Client {
            base,
            http: reqwest::Client::new(),
        },
        storage,
        stop,
        task,
    }
}

/// The reference server with a database folder of its own, as the API tests drive it. Each
/// test file adds the helpers only it needs in its own `impl Server` block.
pub struct Server {
    pub client: Client,
    pub storage: Arc<SqliteStorage>,
    pub dir: TempDir,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl Server {
    pub async fn start() -> Server {
        Server::start_in(tempfile::tempdir().expect("temp dir")).await
    }

    pub async fn start_in(dir: TempDir) -> Server {
        let running = serve_in(dir.path()).await;
        Server {
            client: running.client,
            storage: running.storage,
            dir,
            stop: running.stop,
            task: running.task,
        }
    }

    /// Stops the server, closes the database and starts again on the same file.
    pub async fn restart(self) -> Server {
        let Server {
            dir,
            stop,
            task,
            storage,
            ..
        } = self;
        let _ = stop.send(());
        task.await.expect("server task").expect("server ran");
        drop(storage);
        Server::start_in(dir).await
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("modq.db")
    }

    /// The database, opened directly, to check what the API does not show.
    pub fn sql(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.db()).expect("open database directly")
    }

    pub fn token(&self, name: &str, role: Role) -> String {
        server::add_token(self.storage.as_ref(), name, role).expect("add token")
    }

    /// Files reports as `modq serve import` does, one JSON value per report.
    pub fn import(&self, lines: &[Value]) -> server::ImportSummary {
        let text: Vec<String> = lines.iter().map(Value::to_string).collect();
        server::import_jsonl(self.storage.as_ref(), text.join("\n").as_bytes()).expect("import")
    }

    pub async fn item(&self, id: &str, token: &str) -> Item {
        let (status, body) = self.client.get(&format!("/v1/items/{id}"), token).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value(body).expect("an Item")
    }
}

impl std::ops::Deref for Server {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Client {
    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET");
        answer(response).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("POST");
        answer(response).await
    }
}

pub async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("HTTP {status}: body is not JSON ({e}): {text:?}"));
    (status, body)
}

/// Asserts an ApiError body with this machine-readable error.
pub fn assert_api_error(body: &Value, error: &str) {
    assert_eq!(body["error"], error, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

pub fn decision(key: &str, item: &str, action: &str) -> Value {
    json!({
        "idempotency_key": key,
        "item_id": item,
        "action": action,
        "reason_code": "spam",
        "decided_at": "2020-03-01T12:00:00Z",
    })
}
