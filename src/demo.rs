//! The built-in demo: the reference server in-process on an ephemeral loopback port, with the
//! sample queue in a temporary database, reached over real HTTP like any other server.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::model::{NewReport, Role};
use crate::server::{self, SqliteStorage, Storage};

/// The sample queue (`scripts/gen_sample_queue.py` writes it).
pub const SAMPLE_QUEUE: &str = include_str!("../assets/sample-queue.jsonl");

/// A few reports with small generated images (tests/sample_media.rs writes them).
pub const SAMPLE_MEDIA: &str = include_str!("../assets/sample-media.jsonl");

/// The moment the sample's timestamps are written around; the demo shifts them so that this
/// moment is "now", and deadlines stay as near as they were meant to be.
pub const SAMPLE_ANCHOR: &str = "2026-11-23T12:00:00Z";

pub struct Demo {
    pub api: String,
    pub token: String,
    /// Holds the database and the demo's session cache; removed on drop.
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Demo {
    pub async fn start() -> anyhow::Result<Demo> {
        let dir = tempfile::Builder::new().prefix("modq-demo-").tempdir()?;
        let storage = SqliteStorage::open(&dir.path().join("demo.sqlite"))?;
        let shifted = shift_sample(SAMPLE_QUEUE, Utc::now())?;
        server::import_jsonl(&storage, shifted.as_bytes())?;
        let with_media = shift_sample(SAMPLE_MEDIA, Utc::now())?;
        server::import_jsonl(&storage, with_media.as_bytes())?;
        let token = server::add_token(&storage, "demo-moderator", Role::Moderator)?;
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let api = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        let storage: Arc<dyn Storage> = Arc::new(storage);
        let server = tokio::spawn(server::serve(listener, storage, async {
            let _ = stopped.await;
        }));
        Ok(Demo {
            api,
            token,
            dir,
            stop: Some(stop),
            server,
        })
    }

    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.server).await;
    }
}

/// Move every timestamp of the sample by the same amount, so the anchor becomes `now`.
pub fn shift_sample(sample: &str, now: DateTime<Utc>) -> anyhow::Result<String> {
    let anchor: DateTime<Utc> = SAMPLE_ANCHOR.parse()?;
    let delta: Duration = now - anchor;
    let mut out = String::with_capacity(sample.len());
    for (n, line) in sample.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let mut report: NewReport = serde_json::from_str(line)
            .map_err(|e| anyhow::anyhow!("sample queue line {}: {e}", n + 1))?;
        report.received_at = report.received_at.map(|t| t + delta);
        report.deadline = report.deadline.map(|t| t + delta);
        if let Some(author) = report.subject.author.as_mut() {
            author.created_at = author.created_at.map(|t| t + delta);
        }
        out.push_str(&serde_json::to_string(&report)?);
        out.push('\n');
    }
    Ok(out)
}
