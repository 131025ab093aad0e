//! The local session cache of one profile: the outbox journal of decisions and the session's
//! position. A decision is committed the moment `journal` returns: it is in the WAL, safe from
//! modq being killed or the link dropping. The fsync that also makes it safe from a power cut
//! follows a few milliseconds later on a background thread (`wal_sync`), off the key path.
//!
//! Outbox rows move `pending → sending → sent | failed`. `sending` marks a batch that is on
//! the wire, so that undo never silently drops a decision the server may already hold; a
//! crash leaves such rows `sending`, and `open` puts them back to `pending` (the idempotency
//! key makes the resend harmless).

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::model::{Decision, DecisionAction, DecisionOutcome, DecisionResult};
use crate::wal_sync::WalSync;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("local cache: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("local cache holds a decision modq cannot read: {0}")]
    Corrupt(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxStatus {
    Pending,
    Sending,
    Sent,
    Failed,
}

impl OutboxStatus {
    fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sending => "sending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<OutboxStatus> {
        match s {
            "pending" => Some(OutboxStatus::Pending),
            "sending" => Some(OutboxStatus::Sending),
            "sent" => Some(OutboxStatus::Sent),
            "failed" => Some(OutboxStatus::Failed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub seq: i64,
    pub decision: Decision,
    pub status: OutboxStatus,
    /// The server's word on a failed decision.
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    /// Not yet acknowledged by the server (pending or on the wire).
    pub unsent: usize,
    pub failed: usize,
    pub sent: usize,
}

/// What the next undo would take back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextUndo {
    pub item_id: String,
    pub action: DecisionAction,
    pub bulk: bool,
}

/// What `undo` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undone {
    /// The decision had not left the machine: it is gone.
    Withdrawn(Decision),
    /// The server refused the decision, so it never took effect: the refusal is set aside
    /// (kept in the journal, no longer counted as failed) and nothing is sent.
    Dismissed(Decision),
    /// The server may hold it: a reversal is journaled to follow it.
    Reversed {
        original: Decision,
        reversal: Decision,
    },
    /// A bulk action, undone as a whole: what never left the machine is gone, what may have
    /// reached the server is followed by a reversal each.
    Bulk {
        withdrawn: Vec<Decision>,
        reversed: Vec<(Decision, Decision)>,
        /// Those the server had refused.
        dismissed: Vec<Decision>,
    },
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL UNIQUE,
    session TEXT NOT NULL,
    item_id TEXT NOT NULL,
    action TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT,
    undone INTEGER NOT NULL DEFAULT 0,
    -- How often the row went on the wire: after one, the server may hold it even though no
    -- answer came back, so undo must send a reversal instead of just deleting it.
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    settled_at TEXT,
    -- Decisions made by one bulk action share this id, so one undo takes them all back.
    bulk TEXT
);
CREATE INDEX IF NOT EXISTS outbox_status ON outbox(status, seq);
CREATE INDEX IF NOT EXISTS outbox_item ON outbox(item_id);
CREATE TABLE IF NOT EXISTS session_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

const SET_STATE: &str = "INSERT INTO session_state (key, value) VALUES (?1, ?2)
     ON CONFLICT(key) DO UPDATE SET value = excluded.value";

/// The `session_state` key of the item the moderator was on.
pub const POSITION_KEY: &str = "position";

pub struct Store {
    conn: Connection,
    /// fsyncs what `journal` and its kin commit.
    durable: WalSync,
    /// Every decision this cache still had to send when it was opened, and every one made
    /// since, has a `seq` at least this.
    session_floor: i64,
}

impl Store {
    /// Opens (creating if needed) a profile's cache. The caller makes the file private
    /// (see `profile::create_private_file`) before the first open.
    pub fn open(path: &Path) -> Result<Store> {
        let mut conn = Connection::open(path)?;
        // WAL lets the UI and the sync task use their own connections. NORMAL writes each
        // commit into the WAL without an fsync, and `WalSync` fsyncs it in the background: a
        // commit never waits on the disk, nor on another connection's fsync. For the same
        // reason this connection never checkpoints; `WalSync` does.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        // Plans that do not change with bound values: otherwise SQLite 3.54 prepares a
        // statement again each time a new value binds to e.g. a LIMIT (see server::sqlite).
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        conn.busy_handler(Some(wait_for_the_other_connection))?;
        conn.execute_batch(SCHEMA)?;
        add_bulk_column(&conn)?;
        let session_floor = conn.query_row(
            "SELECT COALESCE((SELECT MIN(seq) FROM outbox WHERE status IN ('pending', 'sending')),
                             (SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox))",
            [],
            |r| r.get(0),
        )?;
        Ok(Store {
            conn,
            durable: WalSync::new(path),
            session_floor,
        })
    }

    /// A write transaction that takes the write lock up front. A deferred one would read first
    /// and then fail outright (SQLITE_BUSY, no waiting) if the other connection — the UI and
    /// the sync task each have one — wrote in between.
    fn write(&mut self) -> Result<rusqlite::Transaction<'_>> {
        Ok(self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?)
    }

    /// Rows left `sending` by a process that died mid-flight go back in line.
    pub fn requeue_in_flight(&self) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE outbox SET status = 'pending' WHERE status = 'sending'",
            [],
        )?)
    }

    /// Journal a decision, and with it the item the moderator moves on to (so a restart
    /// resumes there). Returns once both are committed (see the module's note on fsync).
    pub fn journal(
        &mut self,
        session: &str,
        decision: &Decision,
        position: Option<&str>,
    ) -> Result<()> {
        let body = serde_json::to_string(decision)
            .map_err(|e| StoreError::Corrupt(format!("cannot encode decision: {e}")))?;
        let tx = self.write()?;
        tx.prepare_cached(
            "INSERT INTO outbox (idempotency_key, session, item_id, action, body, status, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6)",
        )?
        .execute(params![
                decision.idempotency_key,
                session,
                decision.item_id,
                decision.action.as_str(),
                body,
                Utc::now().to_rfc3339(),
            ],
        )?;
        // A support message decides nothing: a refusal on the item still stands.
        if decision.action.decides() {
            supersede_refusals(&tx, std::iter::once(decision.item_id.as_str()))?;
        }
        if let Some(id) = position {
            tx.prepare_cached(SET_STATE)?
                .execute(params![POSITION_KEY, id])?;
        }
        tx.commit()?;
        self.durable.request();
        Ok(())
    }

    /// Journal every decision of one bulk action in one transaction: all are committed when
    /// this returns, or none is. `bulk` names the group for undo.
    pub fn journal_bulk(
        &mut self,
        session: &str,
        bulk: &str,
        decisions: &[Decision],
    ) -> Result<()> {
        let now = Utc::now().to_rfc3339();
        let tx = self.write()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO outbox (idempotency_key, session, item_id, action, body, status,
                                     created_at, bulk)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6, ?7)",
            )?;
            for d in decisions {
                let body = serde_json::to_string(d)
                    .map_err(|e| StoreError::Corrupt(format!("cannot encode decision: {e}")))?;
                insert.execute(params![
                    d.idempotency_key,
                    session,
                    d.item_id,
                    d.action.as_str(),
                    body,
                    now,
                    bulk
                ])?;
            }
        }
        supersede_refusals(&tx, decisions.iter().map(|d| d.item_id.as_str()))?;
        tx.commit()?;
        self.durable.request();
        Ok(())
    }

    /// Take pending decisions, oldest first, and mark them `sending`: at most `limit`, and no
    /// more than `max_bytes` of encoded decisions (always at least one), so that a batch with
    /// long notes still fits in one request.
    pub fn claim_batch(&mut self, limit: usize, max_bytes: usize) -> Result<Claim> {
        let tx = self.write()?;
        let waiting: Vec<(i64, usize)> = {
            let mut stmt = tx.prepare_cached(
                "SELECT seq, length(CAST(body AS BLOB)) FROM outbox WHERE status = 'pending'
                 ORDER BY seq LIMIT ?1",
            )?;
            let rows = stmt.query_map([i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1], |r| {
                Ok((
                    r.get(0)?,
                    r.get::<_, i64>(1)?.try_into().unwrap_or(usize::MAX),
                ))
            })?;
            rows.collect::<std::result::Result<_, _>>()?
        };
        let taken = batch_prefix(&waiting, limit, max_bytes);
        let Some(&(last, _)) = taken.checked_sub(1).and_then(|i| waiting.get(i)) else {
            return Ok(Claim::default());
        };
        // One statement for the batch: a bulk action's rows are one index walk, not a look-up
        // each. The pending rows up to `last` are exactly the prefix chosen above.
        let mut raws = {
            let mut stmt = tx.prepare_cached(
                "UPDATE outbox SET status = 'sending', attempts = attempts + 1
                 WHERE status = 'pending' AND seq <= ?1
                 RETURNING seq, body, status, message",
            )?;
            let rows = stmt.query_map([last], row_to_raw)?;
            rows.collect::<std::result::Result<Vec<_>, _>>()?
        };
        // RETURNING promises no order; the outbox's order is the order decisions were made.
        raws.sort_by_key(|raw| raw.0);
        // A row that cannot be read fails the claim before the commit, so nothing is left
        // marked `sending` for it.
        let entries = raws
            .into_iter()
            .map(raw_to_entry)
            .collect::<Result<Vec<_>>>()?;
        tx.commit()?;
        Ok(Claim {
            entries,
            more_waiting: taken < waiting.len(),
        })
    }

    /// Put a batch that could not be delivered back in line (one transaction).
    pub fn release(&mut self, keys: &[String]) -> Result<()> {
        let tx = self.write()?;
        {
            let mut update = tx.prepare_cached(
                "UPDATE outbox SET status = 'pending' WHERE idempotency_key = ?1 AND status = 'sending'",
            )?;
            for key in keys {
                update.execute([key])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Put a batch that never left the machine (no connection could be made) back in line,
    /// as if it had not been tried: undo can then still withdraw its decisions instead of
    /// sending a reversal after them.
    pub fn release_never_sent(&mut self, keys: &[String]) -> Result<()> {
        let tx = self.write()?;
        {
            let mut update = tx.prepare_cached(
                "UPDATE outbox SET status = 'pending', attempts = MAX(attempts - 1, 0)
                 WHERE idempotency_key = ?1 AND status = 'sending'",
            )?;
            for key in keys {
                update.execute([key])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Record the server's answer for each decision of a batch.
    pub fn settle(&mut self, results: &[DecisionResult]) -> Result<()> {
        let tx = self.write()?;
        let now = Utc::now().to_rfc3339();
        let mut update = tx.prepare_cached(
            "UPDATE outbox SET status = ?1, message = ?2, settled_at = ?3 WHERE idempotency_key = ?4",
        )?;
        for r in results {
            let status = if r.outcome.is_settled_ok() {
                OutboxStatus::Sent
            } else {
                OutboxStatus::Failed
            };
            let message = match (&r.message, r.outcome) {
                (_, DecisionOutcome::Applied | DecisionOutcome::Duplicate) => None,
                (Some(m), o) => Some(format!("{}: {m}", o.as_str())),
                (None, o) => Some(o.as_str().to_string()),
            };
            update.execute(params![status.as_str(), message, now, r.idempotency_key])?;
        }
        drop(update);
        let refused = results
            .iter()
            .filter(|r| !r.outcome.is_settled_ok())
            .map(|r| r.idempotency_key.as_str());
        restore_what_refused_reversals_meant_to_undo(&tx, refused)?;
        tx.commit()?;
        Ok(())
    }

    /// Mark a whole batch failed with one message (the server refused the request itself);
    /// one transaction.
    pub fn fail(&mut self, keys: &[String], message: &str) -> Result<()> {
        let tx = self.write()?;
        {
            let mut update = tx.prepare_cached(
                "UPDATE outbox SET status = 'failed', message = ?1 WHERE idempotency_key = ?2",
            )?;
            for key in keys {
                update.execute(params![message, key])?;
            }
        }
        restore_what_refused_reversals_meant_to_undo(&tx, keys.iter().map(String::as_str))?;
        tx.commit()?;
        Ok(())
    }

    /// fsyncs of this connection's commits that failed so far (see [`WalSync::failures`]):
    /// a decision journaled before one survives the process dying, but perhaps not a power
    /// cut, until the server has it.
    pub fn sync_failures(&self) -> u64 {
        self.durable.failures()
    }

    pub fn counts(&self) -> Result<OutboxCounts> {
        let mut counts = OutboxCounts::default();
        let mut stmt = self.conn.prepare(
            // A refusal set aside (undone, or decided again since) is dealt with.
            "SELECT status, COUNT(*) FROM outbox
                 WHERE NOT (status = 'failed' AND undone = 1) GROUP BY status",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (status, n) = row?;
            let n = n as usize;
            match OutboxStatus::parse(&status) {
                Some(OutboxStatus::Pending | OutboxStatus::Sending) => counts.unsent += n,
                Some(OutboxStatus::Failed) => counts.failed += n,
                Some(OutboxStatus::Sent) => counts.sent += n,
                None => {}
            }
        }
        Ok(counts)
    }

    /// Items with a decision the server has not confirmed yet: the queue must not offer
    /// them again, even though the server still lists them as open.
    pub fn undelivered_items(&self) -> Result<HashSet<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT item_id FROM outbox WHERE status IN ('pending', 'sending') AND undone = 0 AND action NOT IN ('reverse', 'send_support')",
        )?;
        let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Of `items`, those the queue must not offer: each has a decision here, not undone,
    /// that the server has not confirmed yet, or has taken since this cache was opened. The
    /// server lists such an item as open until it applies the decision, and a page it put
    /// together just before may arrive just after. A decision from an earlier session that
    /// the server took then no longer counts: if the item is open again, someone reopened it.
    pub fn decided_here(&self, items: &[&str]) -> Result<HashSet<String>> {
        let mut decided = self.conn.prepare_cached(
            "SELECT 1 FROM outbox WHERE item_id = ?1 AND undone = 0 AND action NOT IN ('reverse', 'send_support')
             AND (status IN ('pending', 'sending') OR (status = 'sent' AND seq >= ?2))
             LIMIT 1",
        )?;
        let mut found = HashSet::new();
        for &item in items {
            if decided.exists(params![item, self.session_floor])? {
                found.insert(item.to_owned());
            }
        }
        Ok(found)
    }

    /// Decisions this session made and has not undone, newest last.
    pub fn session_decisions(&self, session: &str) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, body, status, message FROM outbox
             WHERE session = ?1 AND undone = 0 AND action NOT IN ('reverse', 'send_support') ORDER BY seq",
        )?;
        let rows = stmt.query_map([session], row_to_raw)?;
        rows.collect::<std::result::Result<Vec<_>, _>>()?
            .into_iter()
            .map(raw_to_entry)
            .collect()
    }

    /// Undo the newest decision of this session that is not undone yet. A decision still
    /// waiting in the outbox is withdrawn; one that may have reached the server is followed by
    /// a reversal (made with `reversal_key`), journaled in the same transaction.
    pub fn undo_last(
        &mut self,
        session: &str,
        reversal_key: String,
        now: DateTime<Utc>,
    ) -> Result<Option<Undone>> {
        let tx = self.write()?;
        let last = tx
            .query_row(
                "SELECT seq, body, status, message FROM outbox
                 WHERE session = ?1 AND undone = 0 AND action NOT IN ('reverse', 'send_support')
                 ORDER BY seq DESC LIMIT 1",
                [session],
                row_to_raw,
            )
            .optional()?;
        let Some(raw) = last else {
            return Ok(None);
        };
        let entry = raw_to_entry(raw)?;
        let bulk: Option<String> =
            tx.query_row("SELECT bulk FROM outbox WHERE seq = ?1", [entry.seq], |r| {
                r.get(0)
            })?;
        if let Some(bulk) = bulk {
            let undone = undo_bulk(&tx, session, &bulk, now)?;
            tx.commit()?;
            self.durable.request();
            return Ok(Some(undone));
        }
        let attempts: i64 = tx.query_row(
            "SELECT attempts FROM outbox WHERE seq = ?1",
            [entry.seq],
            |r| r.get(0),
        )?;
        // A refused decision never took effect: its refusal is set aside. One that never left
        // the machine can simply go; anything that may have reached the server needs a
        // reversal behind it.
        let withdraw = entry.status == OutboxStatus::Pending && attempts == 0;
        let undone = if entry.status == OutboxStatus::Failed {
            tx.execute("UPDATE outbox SET undone = 1 WHERE seq = ?1", [entry.seq])?;
            Undone::Dismissed(entry.decision)
        } else if withdraw {
            tx.execute(
                "DELETE FROM outbox WHERE seq = ?1 AND status = 'pending'",
                [entry.seq],
            )?;
            Undone::Withdrawn(entry.decision)
        } else {
            let reversal = reversal_of(&entry.decision, reversal_key, now);
            let body =
                serde_json::to_string(&reversal).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            tx.execute("UPDATE outbox SET undone = 1 WHERE seq = ?1", [entry.seq])?;
            tx.execute(
                    "INSERT INTO outbox (idempotency_key, session, item_id, action, body, status, created_at)
                     VALUES (?1, ?2, ?3, 'reverse', ?4, 'pending', ?5)",
                    params![
                        reversal.idempotency_key,
                        session,
                        reversal.item_id,
                        body,
                        now.to_rfc3339()
                    ],
                )?;
            Undone::Reversed {
                original: entry.decision,
                reversal,
            }
        };
        tx.commit()?;
        self.durable.request();
        Ok(Some(undone))
    }

    /// Whether the server holds this decision and it is not undone: after a refused reversal,
    /// whether the decision it meant to undo still stands.
    pub fn stands(&self, key: &str) -> Result<bool> {
        Ok(self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM outbox
                            WHERE idempotency_key = ?1 AND status = 'sent' AND undone = 0)",
            [key],
            |r| r.get(0),
        )?)
    }

    /// The decision the next undo takes back: its item, its action, and whether it is part
    /// of a bulk action (which the undo takes back whole).
    pub fn next_undo(&self, session: &str) -> Result<Option<NextUndo>> {
        let row: Option<(String, String, Option<String>)> = self
            .conn
            .query_row(
                "SELECT item_id, action, bulk FROM outbox
                 WHERE session = ?1 AND undone = 0 AND action NOT IN ('reverse', 'send_support')
                 ORDER BY seq DESC LIMIT 1",
                [session],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        Ok(row.and_then(|(item_id, action, bulk)| {
            let action = serde_json::from_value(serde_json::Value::String(action)).ok()?;
            Some(NextUndo {
                item_id,
                action,
                bulk: bulk.is_some(),
            })
        }))
    }

    /// Refused decisions not yet dealt with, so the moderator can see what the server refused.
    pub fn failed(&self) -> Result<Vec<OutboxEntry>> {
        let mut stmt = self.conn.prepare(
            "SELECT seq, body, status, message FROM outbox WHERE status = 'failed' AND undone = 0
             ORDER BY seq",
        )?;
        let rows = stmt.query_map([], row_to_raw)?;
        rows.collect::<std::result::Result<Vec<_>, _>>()?
            .into_iter()
            .map(raw_to_entry)
            .collect()
    }

    pub fn get_state(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT value FROM session_state WHERE key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn set_state(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(SET_STATE, params![key, value])?;
        Ok(())
    }
}

/// Caches made before bulk actions existed gain the column.
fn add_bulk_column(conn: &Connection) -> Result<()> {
    let has: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('outbox') WHERE name = 'bulk'",
        [],
        |r| r.get(0),
    )?;
    if !has {
        conn.execute_batch("ALTER TABLE outbox ADD COLUMN bulk TEXT")?;
    }
    conn.execute_batch("CREATE INDEX IF NOT EXISTS outbox_bulk ON outbox(bulk)")?;
    Ok(())
}

/// A decision that undoes `original`, journaled behind it.
fn reversal_of(original: &Decision, key: String, now: DateTime<Utc>) -> Decision {
    Decision {
        idempotency_key: key,
        item_id: original.item_id.clone(),
        action: DecisionAction::Reverse,
        reason_code: None,
        note: None,
        scope: None,
        escalation_target: None,
        reverses: Some(original.idempotency_key.clone()),
        decided_at: now,
        // Undoing a bulk action is taken the way the action was.
        method: original.method,
        account: None,
    }
}

/// Undo every decision of one bulk action, as `undo_last` does for one.
fn undo_bulk(
    tx: &rusqlite::Transaction<'_>,
    session: &str,
    bulk: &str,
    now: DateTime<Utc>,
) -> Result<Undone> {
    let rows: Vec<(RawRow, i64)> = tx
        .prepare(
            "SELECT seq, body, status, message, attempts FROM outbox
             WHERE session = ?1 AND bulk = ?2 AND undone = 0 AND action NOT IN ('reverse', 'send_support')
             ORDER BY seq",
        )?
        .query_map(params![session, bulk], |r| {
            Ok((row_to_raw(r)?, r.get::<_, i64>(4)?))
        })?
        .collect::<std::result::Result<_, _>>()?;
    let mut withdrawn = Vec::new();
    let mut reversed = Vec::new();
    let mut dismissed = Vec::new();
    let reversal_bulk = format!("undo-{bulk}");
    let created = now.to_rfc3339();
    let mut delete = tx.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?;
    let mut mark = tx.prepare_cached("UPDATE outbox SET undone = 1 WHERE seq = ?1")?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO outbox (idempotency_key, session, item_id, action, body, status,
                             created_at, bulk)
         VALUES (?1, ?2, ?3, 'reverse', ?4, 'pending', ?5, ?6)",
    )?;
    for (raw, attempts) in rows {
        let entry = raw_to_entry(raw)?;
        let never_left = entry.status == OutboxStatus::Pending && attempts == 0;
        if entry.status == OutboxStatus::Failed {
            mark.execute([entry.seq])?;
            dismissed.push(entry.decision);
        } else if never_left {
            delete.execute([entry.seq])?;
            withdrawn.push(entry.decision);
        } else {
            let reversal = reversal_of(&entry.decision, new_key(), now);
            let body =
                serde_json::to_string(&reversal).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            mark.execute([entry.seq])?;
            insert.execute(params![
                reversal.idempotency_key,
                session,
                reversal.item_id,
                body,
                created,
                reversal_bulk
            ])?;
            reversed.push((entry.decision, reversal));
        }
    }
    Ok(Undone::Bulk {
        withdrawn,
        reversed,
        dismissed,
    })
}

/// A new decision on an item deals with the refusals of earlier ones: they no longer count
/// as failed, and undo passes them by.
fn supersede_refusals<'a>(
    tx: &rusqlite::Transaction<'_>,
    items: impl Iterator<Item = &'a str>,
) -> Result<()> {
    // Nearly always none: one look at the status index spares a bulk action a look-up each.
    let any: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE status = 'failed' AND undone = 0)",
        )?
        .query_row([], |r| r.get(0))?;
    if !any {
        return Ok(());
    }
    let mut supersede = tx.prepare_cached(
        "UPDATE outbox SET undone = 1 WHERE item_id = ?1 AND status = 'failed' AND undone = 0",
    )?;
    for item in items {
        supersede.execute([item])?;
    }
    Ok(())
}

/// A reversal the server refused undid nothing: the decision it meant to undo, if the server
/// applied it, stands and is back on the undo stack. The refused reversal itself is set
/// aside: what the moderator must know is that the decision stands.
fn restore_what_refused_reversals_meant_to_undo<'a>(
    tx: &rusqlite::Transaction<'_>,
    refused: impl Iterator<Item = &'a str>,
) -> Result<()> {
    let mut find = tx.prepare_cached(
        "SELECT seq, body, status, message FROM outbox
         WHERE idempotency_key = ?1 AND action = 'reverse'",
    )?;
    let mut dismiss = tx.prepare_cached("UPDATE outbox SET undone = 1 WHERE seq = ?1")?;
    let mut restore = tx.prepare_cached(
        "UPDATE outbox SET undone = 0 WHERE idempotency_key = ?1 AND status = 'sent'",
    )?;
    for key in refused {
        let Some(raw) = find.query_row([key], row_to_raw).optional()? else {
            continue;
        };
        let reversal = raw_to_entry(raw)?;
        dismiss.execute([reversal.seq])?;
        if let Some(original) = &reversal.decision.reverses {
            restore.execute([original])?;
        }
    }
    Ok(())
}

type RawRow = (i64, String, String, Option<String>);

fn row_to_raw(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

fn raw_to_entry((seq, body, status, message): RawRow) -> Result<OutboxEntry> {
    let decision: Decision = serde_json::from_str(&body)
        .map_err(|e| StoreError::Corrupt(format!("outbox row {seq}: {e}")))?;
    let status = OutboxStatus::parse(&status)
        .ok_or_else(|| StoreError::Corrupt(format!("outbox row {seq}: status {status:?}")))?;
    Ok(OutboxEntry {
        seq,
        decision,
        status,
        message,
    })
}

/// How a connection waits while the other one (UI or flusher) holds the write lock: the
/// other's transactions take well under a millisecond, but SQLite's own busy handler sleeps
/// 1 ms at least before it looks again, which put a millisecond on the key whenever the
/// flusher was settling a batch. Here the first 10 ms are looked at every 50 µs, then every
/// millisecond; after about 5 s the write fails and the screen says so.
fn wait_for_the_other_connection(attempts: i32) -> bool {
    const QUICK: i32 = 200;
    let pause = if attempts < QUICK {
        std::time::Duration::from_micros(50)
    } else {
        std::time::Duration::from_millis(1)
    };
    std::thread::sleep(pause);
    attempts < QUICK + 5_000
}

/// What one claim took from the outbox.
#[derive(Debug, Default)]
pub struct Claim {
    pub entries: Vec<OutboxEntry>,
    /// A limit cut the batch short: more decisions are waiting behind it (a backlog, a bulk
    /// action), so the next batch may be claimed while this one is on the wire.
    pub more_waiting: bool,
}

/// How many of `waiting` (sequence number, encoded size), oldest first, one batch takes: at
/// most `limit` and `max_bytes`, but at least one, since a batch that takes nothing would
/// leave a decision waiting forever.
fn batch_prefix(waiting: &[(i64, usize)], limit: usize, max_bytes: usize) -> usize {
    if waiting.is_empty() || limit == 0 {
        return 0;
    }
    let mut bytes = 0usize;
    let fits = waiting.iter().take(limit).take_while(|(_, size)| {
        bytes = bytes.saturating_add(*size);
        bytes <= max_bytes
    });
    fits.count().max(1)
}

/// A fresh idempotency key, 32 hex digits: the time in milliseconds (48 bits), then 80
/// random bits, so two clients never collide. Keys made one after another sort together, so
/// the unique indexes on them (outbox and server audit) take a bulk action's keys on a few
/// neighbouring pages instead of one random page each.
pub fn new_key() -> String {
    let millis = Utc::now().timestamp_millis().clamp(0, (1 << 48) - 1) as u64;
    let random: [u8; 10] = rand::random();
    format!("{millis:012x}{}", hex::encode(random))
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Scope;

    fn decision(item: &str, action: DecisionAction) -> Decision {
        Decision {
            idempotency_key: new_key(),
            item_id: item.into(),
            action,
            reason_code: None,
            note: None,
            scope: Some(Scope::Global),
            escalation_target: None,
            reverses: None,
            decided_at: Utc::now(),
            method: crate::model::DecisionMethod::Single,
            account: None,
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.sqlite")).unwrap();
        (dir, store)
    }

    fn answered(d: &Decision, outcome: DecisionOutcome) -> DecisionResult {
        DecisionResult {
            idempotency_key: d.idempotency_key.clone(),
            outcome,
            message: None,
        }
    }

    #[test]
    fn an_item_decided_here_is_not_offered_again_until_a_later_session() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        let mut first = Store::open(&path).unwrap();
        let (sent, refused, waiting) = (
            decision("sent", DecisionAction::TakeDown),
            decision("refused", DecisionAction::Keep),
            decision("waiting", DecisionAction::Keep),
        );
        for d in [&sent, &refused, &waiting] {
            first.journal("s1", d, None).unwrap();
        }
        first.claim_batch(2, usize::MAX).unwrap();
        first
            .settle(&[
                answered(&sent, DecisionOutcome::Applied),
                answered(&refused, DecisionOutcome::Conflict),
            ])
            .unwrap();
        let items = ["sent", "refused", "waiting", "never decided"];
        let not_offered = |s: &Store| {
            let mut found: Vec<String> = s.decided_here(&items).unwrap().into_iter().collect();
            found.sort();
            found
        };
        // The server took "sent" in this session: a page put together before it did may
        // still list it. A refused decision leaves the item to review again.
        assert_eq!(not_offered(&first), ["sent", "waiting"]);
        drop(first);

        // The next session: the server's own pages are right about "sent" now; "waiting" is
        // still to send, and stays out once the server takes it in this session.
        let mut second = Store::open(&path).unwrap();
        assert_eq!(not_offered(&second), ["waiting"]);
        second.claim_batch(10, usize::MAX).unwrap();
        second
            .settle(&[answered(&waiting, DecisionOutcome::Duplicate)])
            .unwrap();
        assert_eq!(not_offered(&second), ["waiting"]);
        // An undone decision no longer keeps its item away.
        let undone = decision("undone", DecisionAction::Keep);
        second.journal("s2", &undone, None).unwrap();
        assert!(second.decided_here(&["undone"]).unwrap().contains("undone"));
        second.undo_last("s2", new_key(), Utc::now()).unwrap();
        assert!(second.decided_here(&["undone"]).unwrap().is_empty());
    }

    #[test]
    fn undo_withdraws_an_unsent_decision() {
        let (_d, mut s) = store();
        let d = decision("a", DecisionAction::TakeDown);
        s.journal("s1", &d, None).unwrap();
        assert_eq!(s.counts().unwrap().unsent, 1);
        let undone = s.undo_last("s1", new_key(), Utc::now()).unwrap();
        assert_eq!(undone, Some(Undone::Withdrawn(d)));
        assert_eq!(s.counts().unwrap().unsent, 0);
        assert!(s.undo_last("s1", new_key(), Utc::now()).unwrap().is_none());
    }

    #[test]
    fn undo_of_a_decision_on_the_wire_sends_a_reversal_after_it() {
        let (_d, mut s) = store();
        let d = decision("a", DecisionAction::Keep);
        s.journal("s1", &d, None).unwrap();
        let claimed = s.claim_batch(10, usize::MAX).unwrap().entries;
        assert_eq!(claimed.len(), 1);
        match s.undo_last("s1", new_key(), Utc::now()).unwrap() {
            Some(Undone::Reversed { original, reversal }) => {
                assert_eq!(original, d);
                assert_eq!(
                    reversal.reverses.as_deref(),
                    Some(d.idempotency_key.as_str())
                );
            }
            other => panic!("expected a reversal, got {other:?}"),
        }
        // The reversal waits behind the original, which is still on the wire.
        let next = s.claim_batch(10, usize::MAX).unwrap().entries;
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].decision.action, DecisionAction::Reverse);
        // And the undone decision no longer counts for this session.
        assert!(s.session_decisions("s1").unwrap().is_empty());
    }

    #[test]
    fn undo_after_an_unanswered_send_reverses_rather_than_forgets() {
        let (_d, mut s) = store();
        let d = decision("a", DecisionAction::TakeDown);
        s.journal("s1", &d, None).unwrap();
        // On the wire, no answer (timeout, truncated reply): back in line, maybe applied.
        s.claim_batch(10, usize::MAX).unwrap();
        s.release(std::slice::from_ref(&d.idempotency_key)).unwrap();
        match s.undo_last("s1", new_key(), Utc::now()).unwrap() {
            Some(Undone::Reversed { original, .. }) => assert_eq!(original, d),
            other => panic!("expected a reversal, got {other:?}"),
        }
        // The original still goes first, then its reversal.
        let batch = s.claim_batch(10, usize::MAX).unwrap().entries;
        assert_eq!(batch.len(), 2);
        assert_eq!(batch[1].decision.action, DecisionAction::Reverse);
    }

    #[test]
    fn one_undo_takes_back_a_whole_bulk_action() {
        let (_d, mut s) = store();
        let single = decision("x", DecisionAction::Keep);
        s.journal("s1", &single, None).unwrap();
        let bulk: Vec<Decision> = (0..5)
            .map(|i| decision(&format!("spam-{i}"), DecisionAction::TakeDown))
            .collect();
        s.journal_bulk("s1", "b1", &bulk).unwrap();
        assert_eq!(s.counts().unwrap().unsent, 6);
        // Two of the five went on the wire (the single keep went first, so three rows).
        assert_eq!(s.claim_batch(3, usize::MAX).unwrap().entries.len(), 3);
        match s.undo_last("s1", new_key(), Utc::now()).unwrap() {
            Some(Undone::Bulk {
                withdrawn,
                reversed,
                dismissed,
            }) => {
                assert!(dismissed.is_empty());
                assert_eq!(withdrawn, bulk[2..].to_vec());
                let originals: Vec<Decision> = reversed.iter().map(|(o, _)| o.clone()).collect();
                assert_eq!(originals, bulk[..2].to_vec());
            }
            other => panic!("expected the bulk back, got {other:?}"),
        }
        // The single keep is next in line for undo, and the reversals wait to be sent.
        let rest = s.session_decisions("s1").unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].decision, single);
        assert_eq!(
            s.claim_batch(10, usize::MAX).unwrap().entries.len(),
            2,
            "two reversals"
        );
    }

    fn refuse(s: &mut Store, d: &Decision, outcome: DecisionOutcome) {
        s.settle(&[DecisionResult {
            idempotency_key: d.idempotency_key.clone(),
            outcome,
            message: Some("no".into()),
        }])
        .unwrap();
    }

    #[test]
    fn a_refusal_counts_as_failed_until_undo_sets_it_aside_or_the_item_is_decided_again() {
        let (_d, mut s) = store();
        let (a, b, c) = (
            decision("a", DecisionAction::TakeDown),
            decision("b", DecisionAction::Keep),
            decision("c", DecisionAction::Keep),
        );
        for d in [&a, &b, &c] {
            s.journal("s1", d, None).unwrap();
        }
        s.claim_batch(10, usize::MAX).unwrap();
        refuse(&mut s, &a, DecisionOutcome::Invalid);
        refuse(&mut s, &b, DecisionOutcome::Conflict);
        s.settle(&[answered(&c, DecisionOutcome::Applied)]).unwrap();
        let counts = |s: &Store| {
            let c = s.counts().unwrap();
            (c.unsent, c.failed, c.sent)
        };
        assert_eq!(counts(&s), (0, 2, 1));
        // Undo walks back newest first: c is reversed, b's refusal set aside.
        assert!(matches!(
            s.undo_last("s1", new_key(), Utc::now()).unwrap(),
            Some(Undone::Reversed { .. })
        ));
        assert_eq!(counts(&s), (1, 2, 1), "the reversal waits");
        assert_eq!(
            s.undo_last("s1", new_key(), Utc::now()).unwrap(),
            Some(Undone::Dismissed(b.clone()))
        );
        assert_eq!(counts(&s), (1, 1, 1));
        // a is decided again: its refusal is dealt with, and undo takes the new decision.
        let again = decision("a", DecisionAction::TakeDown);
        s.journal("s1", &again, None).unwrap();
        assert_eq!(counts(&s), (2, 0, 1));
        assert!(s.failed().unwrap().is_empty());
        assert_eq!(
            s.undo_last("s1", new_key(), Utc::now()).unwrap(),
            Some(Undone::Withdrawn(again))
        );
        assert!(
            s.undo_last("s1", new_key(), Utc::now()).unwrap().is_none(),
            "a's old refusal was dealt with; nothing is left to undo"
        );
    }

    #[test]
    fn undoing_a_bulk_action_sets_its_refusals_aside_and_reverses_the_rest() {
        let (_d, mut s) = store();
        let bulk: Vec<Decision> = (0..3)
            .map(|i| decision(&format!("wave-{i}"), DecisionAction::TakeDown))
            .collect();
        s.journal_bulk("s1", "b1", &bulk).unwrap();
        s.claim_batch(10, usize::MAX).unwrap();
        s.settle(&[
            answered(&bulk[0], DecisionOutcome::Applied),
            answered(&bulk[1], DecisionOutcome::Conflict),
            answered(&bulk[2], DecisionOutcome::Applied),
        ])
        .unwrap();
        assert_eq!(s.counts().unwrap().failed, 1);
        match s.undo_last("s1", new_key(), Utc::now()).unwrap() {
            Some(Undone::Bulk {
                withdrawn,
                reversed,
                dismissed,
            }) => {
                assert!(withdrawn.is_empty());
                assert_eq!(dismissed, vec![bulk[1].clone()]);
                let originals: Vec<&Decision> = reversed.iter().map(|(o, _)| o).collect();
                assert_eq!(originals, [&bulk[0], &bulk[2]]);
            }
            other => panic!("the bulk back, got {other:?}"),
        }
        let c = s.counts().unwrap();
        assert_eq!(
            (c.unsent, c.failed),
            (2, 0),
            "two reversals, no refusal left"
        );
        assert!(s.undo_last("s1", new_key(), Utc::now()).unwrap().is_none());
    }

    #[test]
    fn a_refused_reversal_leaves_the_decision_standing_and_undoable() {
        let (_d, mut s) = store();
        let d = decision("a", DecisionAction::TakeDown);
        s.journal("s1", &d, None).unwrap();
        s.claim_batch(10, usize::MAX).unwrap();
        s.settle(&[answered(&d, DecisionOutcome::Applied)]).unwrap();
        let Some(Undone::Reversed { reversal, .. }) =
            s.undo_last("s1", new_key(), Utc::now()).unwrap()
        else {
            panic!("a reversal")
        };
        assert!(!s.stands(&d.idempotency_key).unwrap());
        s.claim_batch(10, usize::MAX).unwrap();
        refuse(&mut s, &reversal, DecisionOutcome::Conflict);
        assert!(s.stands(&d.idempotency_key).unwrap());
        let c = s.counts().unwrap();
        assert_eq!(
            (c.unsent, c.failed),
            (0, 0),
            "nothing waits, nothing to deal with"
        );
        assert_eq!(
            s.next_undo("s1").unwrap(),
            Some(NextUndo {
                item_id: "a".into(),
                action: DecisionAction::TakeDown,
                bulk: false
            })
        );
        assert!(s.decided_here(&["a"]).unwrap().contains("a"));
    }

    #[test]
    fn a_crash_mid_flight_puts_the_batch_back_in_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        {
            let mut s = Store::open(&path).unwrap();
            s.journal("s1", &decision("a", DecisionAction::Keep), None)
                .unwrap();
            assert_eq!(s.claim_batch(10, usize::MAX).unwrap().entries.len(), 1);
        }
        let mut s = Store::open(&path).unwrap();
        assert_eq!(s.requeue_in_flight().unwrap(), 1);
        assert_eq!(s.claim_batch(10, usize::MAX).unwrap().entries.len(), 1);
    }

    #[test]
    fn settle_keeps_refused_decisions_with_the_reason() {
        let (_d, mut s) = store();
        let ok = decision("a", DecisionAction::Keep);
        let bad = decision("b", DecisionAction::Keep);
        s.journal("s1", &ok, None).unwrap();
        s.journal("s1", &bad, None).unwrap();
        s.claim_batch(10, usize::MAX).unwrap();
        s.settle(&[
            DecisionResult {
                idempotency_key: ok.idempotency_key.clone(),
                outcome: DecisionOutcome::Applied,
                message: None,
            },
            DecisionResult {
                idempotency_key: bad.idempotency_key.clone(),
                outcome: DecisionOutcome::Conflict,
                message: Some("already taken down by bob".into()),
            },
        ])
        .unwrap();
        let c = s.counts().unwrap();
        assert_eq!((c.unsent, c.sent, c.failed), (0, 1, 1));
        let failed = s.failed().unwrap();
        assert_eq!(
            failed[0].message.as_deref(),
            Some("conflict: already taken down by bob")
        );
    }

    #[test]
    fn keys_are_unique_and_later_keys_sort_after_earlier_ones() {
        let first = new_key();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let keys: Vec<String> = (0..1000).map(|_| new_key()).collect();
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len());
        for key in &keys {
            assert_eq!(key.len(), 32);
            assert!(key.chars().all(|c| c.is_ascii_hexdigit()), "{key}");
            assert!(*key > first, "{key} made after {first}");
        }
    }

    #[test]
    fn a_claimed_batch_is_the_oldest_pending_in_order_and_is_not_claimed_twice() {
        let (_d, mut s) = store();
        let made: Vec<Decision> = (0..5)
            .map(|i| decision(&format!("item-{i}"), DecisionAction::Keep))
            .collect();
        for d in &made {
            s.journal("s1", d, None).unwrap();
        }
        let keys = |batch: &[OutboxEntry]| -> Vec<String> {
            batch
                .iter()
                .map(|e| e.decision.idempotency_key.clone())
                .collect()
        };
        let first = s.claim_batch(3, usize::MAX).unwrap().entries;
        assert_eq!(keys(&first), keys_of(&made[..3]));
        assert!(first.iter().all(|e| e.status == OutboxStatus::Sending));
        let second = s.claim_batch(3, usize::MAX).unwrap().entries;
        assert_eq!(keys(&second), keys_of(&made[3..]));
        // Put back, the first batch is first in line again.
        s.release(&keys(&first)).unwrap();
        assert_eq!(
            keys(&s.claim_batch(10, usize::MAX).unwrap().entries),
            keys_of(&made[..3])
        );
    }

    #[test]
    fn a_journal_waits_out_the_other_connections_write_then_commits() {
        let (dir, mut s) = store();
        let other = Connection::open(dir.path().join("s.sqlite")).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let flusher = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(30));
            other.execute_batch("COMMIT").unwrap();
        });
        s.journal("s1", &decision("item-1", DecisionAction::Keep), None)
            .unwrap();
        flusher.join().unwrap();
        assert_eq!(s.counts().unwrap().unsent, 1);
        // It does give up, after about five seconds of looking.
        assert!(wait_for_the_other_connection(0));
        assert!(!wait_for_the_other_connection(5_200));
    }

    #[test]
    fn a_journaled_decision_is_fsynced_in_the_background_soon_after() {
        let (_d, mut s) = store();
        s.journal("s1", &decision("item-1", DecisionAction::Keep), None)
            .unwrap();
        // The first request the store made; `journal` returned without waiting for it.
        assert!(s.durable.wait(1, std::time::Duration::from_secs(10)));
    }

    #[test]
    fn a_batch_stops_at_its_byte_budget_and_says_more_are_waiting() {
        let (_d, mut s) = store();
        let mut long = decision("item-long", DecisionAction::Keep);
        long.note = Some("n".repeat(1500));
        let made = [
            decision("item-0", DecisionAction::Keep),
            long,
            decision("item-2", DecisionAction::Keep),
        ];
        for d in &made {
            s.journal("s1", d, None).unwrap();
        }
        let size = |d: &Decision| serde_json::to_string(d).unwrap().len();
        // Room for the first decision and not the long note: the batch stops before it.
        let first = s.claim_batch(10, size(&made[0]) + 100).unwrap();
        assert_eq!(first.entries.len(), 1);
        assert!(first.more_waiting, "cut short by bytes");
        // A decision bigger than the whole budget still goes, alone.
        let second = s.claim_batch(10, 100).unwrap();
        assert_eq!(second.entries[0].decision.item_id, "item-long");
        assert!(second.more_waiting);
        // The last one fits; nothing is left behind it.
        let third = s.claim_batch(10, usize::MAX).unwrap();
        assert_eq!(third.entries.len(), 1);
        assert!(!third.more_waiting);
        assert!(s.claim_batch(10, usize::MAX).unwrap().entries.is_empty());
    }

    #[test]
    fn a_batch_cut_by_its_count_says_more_are_waiting_and_an_exact_fit_does_not() {
        let (_d, mut s) = store();
        for i in 0..4 {
            s.journal(
                "s1",
                &decision(&format!("item-{i}"), DecisionAction::Keep),
                None,
            )
            .unwrap();
        }
        assert!(s.claim_batch(2, usize::MAX).unwrap().more_waiting);
        let rest = s.claim_batch(2, usize::MAX).unwrap();
        assert_eq!(rest.entries.len(), 2);
        assert!(!rest.more_waiting, "the last two were all that waited");
    }

    fn keys_of(decisions: &[Decision]) -> Vec<String> {
        decisions
            .iter()
            .map(|d| d.idempotency_key.clone())
            .collect()
    }
}
