//! The default storage: one SQLite file in WAL mode, one connection behind a mutex.
//! Each trait method is one transaction; the rules come from [`super::rules`].
//!
//! This file opens the database and holds the writer and the readers; the trait's methods
//! live by concern: `schema` (migrations), `items`, `reports`, `tally`, `queue` (the walk,
//! paging and cursors, with SQLite's dialect of [`super::filter_sql`]), `decisions` (and
//! notes), `claims` (leases, their caps, and selections), `tokens`, `audit` and `stats`;
//! `convert` says how values are stored.

mod accounts;
mod appeals;
mod audit;
mod claims;
mod convert;
mod decisions;
mod items;
mod media;
mod messages;
mod queue;
mod reports;
mod schema;
mod stats;
mod tally;
mod tokens;

use anyhow::{Context, anyhow};
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use rusqlite::config::DbConfig;
use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use crate::model::{AppealLodged, NewAppeal};
use crate::model::{
    ClaimedPage, Decision, DecisionResult, HistoryEntry, Item, LeaseGrant, LeaseRenewal, NewReport,
    QueueCounts, QueuePage, ReportAccepted, Role,
};
use crate::policy::PolicyCatalog;
use crate::wal_sync::WalSync;

use crate::server::read_pool::ReadPool;
use crate::server::storage::{AppealRecord, AppealRefusal};
use crate::server::storage::{
    AuditEntry, AuditQuery, ClaimLimits, DecisionFact, QueueQuery, Selected, Storage, StorageError,
    TakeDownRecord, TokenInfo, TokenRecord,
};
use schema::migrate;

/// How long a write waits for the disk to confirm it before the request fails; a failed
/// fsync fails it at once.
const DURABLE_WITHIN: Duration = Duration::from_secs(30);

pub struct SqliteStorage {
    /// The one connection that writes: SQLite lets one writer in at a time anyway.
    writer: Mutex<Connection>,
    readers: ReadPool,
    /// fsyncs the writer's commits, and checkpoints, off the write lock.
    durable: WalSync,
}

impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        StorageError::Backend(anyhow::Error::new(e))
    }
}

impl SqliteStorage {
    /// Opens (creating if needed) the database at `path`. A new file is made readable by its
    /// owner only: it holds reported content and the audit trail.
    pub fn open(path: &Path) -> anyhow::Result<SqliteStorage> {
        create_private(path)
            .with_context(|| format!("cannot create database file {}", path.display()))?;
        let conn = Connection::open(path)
            .with_context(|| format!("cannot open database {}", path.display()))?;
        configure_writer(&conn).with_context(|| format!("cannot configure {}", path.display()))?;
        migrate(&conn).with_context(|| format!("cannot set up schema in {}", path.display()))?;
        Ok(SqliteStorage {
            writer: Mutex::new(conn),
            readers: ReadPool::new(path, configure_reader),
            durable: WalSync::new(path),
        })
    }

    /// Runs `write` on the write connection, then waits until what it committed is on the
    /// disk: whatever the server answers afterwards survives a power cut. The wait comes after
    /// the write lock is let go, so the next writer is already at work while this one's fsync
    /// runs, and writers that finish together share one fsync.
    fn write<T>(
        &self,
        write: impl FnOnce(&mut Connection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        let answer = {
            // A panic while the lock was held left at most an uncommitted transaction, which
            // rusqlite rolled back when it was dropped, so the connection is still sound.
            let mut conn = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
            write(&mut conn)?
        };
        let request = self.durable.request();
        if self.durable.wait(request, DURABLE_WITHIN) {
            Ok(answer)
        } else {
            Err(StorageError::Backend(anyhow!(
                "the disk did not confirm a committed write (its fsync failed, or took over {} \
                 s); the write is committed, and a retry finds it",
                DURABLE_WITHIN.as_secs()
            )))
        }
    }

    fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        self.readers.read(read)
    }
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn create_private(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

fn configure_writer(conn: &Connection) -> anyhow::Result<()> {
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(anyhow!(
            "the database refused WAL mode (it is in {mode} mode)"
        ));
    }
    // NORMAL: a commit reaches the WAL without an fsync. Once the server answers "applied"
    // the client forgets the decision, so the commit must survive a power cut too: `write`
    // waits for `WalSync` to fsync it, outside the write lock.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // Up to 256 MiB of pages (the default is 2 MiB): a batch of 5,000 decisions dirties
    // about 50 MB of table and queue-index pages, and a cache too small for them spills and
    // reads them back. A database of 100,000 items (130 MB) then stays in memory.
    conn.pragma_update(None, "cache_size", -262_144)?;
    // The writer checkpoints itself, every 40 MiB of WAL rather than 4 MiB: each batch
    // rewrites the same hot index pages, which a checkpoint then copies once instead of after
    // every commit. `WalSync`'s checkpoints on their own thread cannot stand in for these:
    // under a steady stream of batches the next one has begun before a checkpoint beside it
    // ends, so the WAL is never reset; it grew without end and every commit paid for
    // extending the file.
    conn.pragma_update(None, "wal_autocheckpoint", 10_000)?;
    configure_any(conn)?;
    Ok(())
}

fn configure_reader(conn: &Connection) -> rusqlite::Result<()> {
    // Each reader keeps its own cache; pages it misses come from the kernel's.
    conn.pragma_update(None, "cache_size", -32_768)?;
    configure_any(conn)
}

fn configure_any(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // SQLite 3.54 otherwise re-plans a statement whenever a bound value might change its
    // plan, which for `WHERE item_id = ?1 ORDER BY id` was every call: the decision path
    // spent a quarter of its time preparing statements again. Our plans come from indexes,
    // never from the values.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(())
}

impl Storage for SqliteStorage {
    fn file_reports(
        &self,
        filer: Option<&TokenInfo>,
        reports: &[NewReport],
        now: DateTime<Utc>,
    ) -> Result<Vec<ReportAccepted>, StorageError> {
        reports::file_reports(self, filer, reports, now)
    }

    fn queue_page(&self, query: &QueueQuery) -> Result<QueuePage, StorageError> {
        queue::queue_page(self, query)
    }

    fn item(&self, id: &str) -> Result<Option<Item>, StorageError> {
        items::item(self, id)
    }

    fn claim_within(
        &self,
        holder: &str,
        query: &QueueQuery,
        lease_seconds: u32,
        limits: &ClaimLimits,
        now: DateTime<Utc>,
    ) -> Result<ClaimedPage, StorageError> {
        claims::claim_within(self, holder, query, lease_seconds, limits, now)
    }

    fn claim_items(
        &self,
        actor: &TokenInfo,
        item_ids: &[String],
        lease_seconds: u32,
        limits: &ClaimLimits,
        now: DateTime<Utc>,
    ) -> Result<LeaseGrant, StorageError> {
        claims::claim_items(self, actor, item_ids, lease_seconds, limits, now)
    }

    fn live_holders(
        &self,
        item_ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<std::collections::HashMap<String, String>, StorageError> {
        claims::live_holders(self, item_ids, now)
    }

    fn renew_leases(
        &self,
        holder: &str,
        item_ids: &[String],
        lease_seconds: u32,
        now: DateTime<Utc>,
    ) -> Result<LeaseRenewal, StorageError> {
        claims::renew_leases(self, holder, item_ids, lease_seconds, now)
    }

    fn release_leases(&self, holder: &str, item_ids: &[String]) -> Result<usize, StorageError> {
        claims::release_leases(self, holder, item_ids)
    }

    fn select(
        &self,
        holder: &str,
        query: &QueueQuery,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Selected, StorageError> {
        claims::select(self, holder, query, limit, now)
    }

    fn apply_decisions(
        &self,
        actor: &TokenInfo,
        decisions: &[Decision],
        policies: &PolicyCatalog,
        now: DateTime<Utc>,
    ) -> Result<Vec<DecisionResult>, StorageError> {
        decisions::apply_decisions(self, actor, decisions, policies, now)
    }

    fn add_note(
        &self,
        actor: &TokenInfo,
        item_id: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<HistoryEntry>, StorageError> {
        decisions::add_note(self, actor, item_id, note, now)
    }

    fn queue_counts(&self, now: DateTime<Utc>) -> Result<QueueCounts, StorageError> {
        stats::queue_counts(self, now)
    }

    fn decisions_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<DecisionFact>, StorageError> {
        stats::decisions_between(self, from, to)
    }

    fn take_downs_since(
        &self,
        since: DateTime<Utc>,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<TakeDownRecord>, StorageError> {
        stats::take_downs_since(self, since, after_id, limit)
    }

    fn token_lookup(&self, hash: &str) -> Result<Option<TokenInfo>, StorageError> {
        tokens::token_lookup(self, hash)
    }

    fn put_media(
        &self,
        blobs: &[crate::server::storage::MediaBlob],
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        media::put_media(self, blobs, now)
    }

    fn media(&self, id: &str) -> Result<Option<crate::server::storage::MediaBlob>, StorageError> {
        media::media(self, id)
    }

    fn create_token(&self, name: &str, role: Role, hash: &str) -> Result<i64, StorageError> {
        tokens::create_token(self, name, role, hash)
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>, StorageError> {
        tokens::tokens(self)
    }

    fn revoke_token(
        &self,
        id_or_name: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<TokenRecord>, StorageError> {
        tokens::revoke_token(self, id_or_name, now)
    }

    fn messages(
        &self,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<crate::support::UserMessage>, StorageError> {
        self.read(|conn| messages::read(conn, after_id, limit))
    }

    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StorageError> {
        audit::audit(self, query)
    }

    fn lodge_appeal(
        &self,
        filer: &TokenInfo,
        appeal: &NewAppeal,
        now: DateTime<Utc>,
    ) -> Result<Result<AppealLodged, AppealRefusal>, StorageError> {
        appeals::lodge_appeal(self, filer, appeal, now)
    }

    fn appeals_of(&self, item_ids: &[String]) -> Result<Vec<AppealRecord>, StorageError> {
        appeals::appeals_of(self, item_ids)
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::TransactionBehavior;

    /// Every request checks its token, so a check must not queue behind a bulk batch holding
    /// the write connection; and a write answers only once its commit is on the disk.
    #[test]
    fn reads_go_on_beside_the_writer_and_writes_wait_for_their_fsync() {
        let dir = tempfile::tempdir().unwrap();
        let storage =
            std::sync::Arc::new(SqliteStorage::open(&dir.path().join("modq.db")).unwrap());
        storage.add_token("al", Role::Moderator, "h1").unwrap();
        assert!(
            storage.durable.wait(1, Duration::ZERO),
            "answered before its fsync"
        );

        let mut writer = storage.writer.lock().unwrap();
        let batch = writer
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        batch
            .execute(
                "INSERT INTO tokens (hash, name, role, created_at) VALUES ('h2', 'bo', 'moderator', 'x')",
                [],
            )
            .unwrap();
        let (seen, looked) = std::sync::mpsc::channel();
        let reader = storage.clone();
        std::thread::spawn(move || {
            let known = |hash| reader.token_lookup(hash).unwrap().is_some();
            seen.send((known("h1"), known("h2"))).unwrap();
        });
        // Generous: this only tells a read that waits for the writer from one that does not.
        let answer = looked.recv_timeout(Duration::from_secs(60));
        batch.commit().unwrap();
        assert_eq!(
            answer,
            Ok((true, false)),
            "the last commit, not the open batch"
        );
    }
}
