//! Connections to PostgreSQL: the pool, each connection's prepared statements, one
//! transaction's calls, the retry of a transaction that lost a race, and the migrations.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ::postgres::error::SqlState;
use ::postgres::types::ToSql;
use ::postgres::{Client, Config, NoTls, Row, Statement, Transaction};
use anyhow::{Context, anyhow};

use crate::server::storage::StorageError;

/// Step `i` takes the schema from version `i` to `i + 1`; a new database runs them all.
const MIGRATIONS: [&str; 13] = [
    include_str!("schema_1.sql"),
    include_str!("schema_2_appeals.sql"),
    include_str!("schema_3_thread.sql"),
    include_str!("schema_4_account.sql"),
    include_str!("schema_5_contention.sql"),
    include_str!("schema_6_media.sql"),
    include_str!("schema_7_item_collation.sql"),
    include_str!("schema_8_report_tally.sql"),
    include_str!("schema_9_report_figures.sql"),
    include_str!("schema_10_listing_rank.sql"),
    include_str!("schema_11_history_counts.sql"),
    include_str!("schema_12_support_once.sql"),
    include_str!("schema_13_notes_by_tier.sql"),
];
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Transaction-level advisory lock keys (any two distinct numbers of our own).
pub const MIGRATION_LOCK: i64 = 0x6d6f_6471_0001;
/// Taken before a transaction appends to the audit log and held until it commits, so that
/// audit ids become visible in the order they were given: a reader paging by `after_id`
/// never passes an id that a slower transaction commits later.
pub const AUDIT_LOCK: i64 = 0x6d6f_6471_0002;

/// How often a transaction that lost a race (a serialization failure, a deadlock, or a
/// unique key another transaction took first) or its connection is run again before the
/// request fails.
const ATTEMPTS: usize = 8;

impl From<::postgres::Error> for StorageError {
    fn from(e: ::postgres::Error) -> Self {
        StorageError::Backend(anyhow::Error::new(e))
    }
}

/// One pooled connection and the statements it has prepared, by their SQL.
pub struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
    sent: Arc<AtomicU64>,
}

pub struct Manager {
    config: Config,
    /// Statements this pool's connections have run, BEGIN and COMMIT included (a
    /// statement's first PREPARE on a connection is not counted): each is a round trip,
    /// and tests bound how many a request makes.
    sent: Arc<AtomicU64>,
}

impl Conn {
    fn sent(&self, n: u64) {
        self.sent.fetch_add(n, Ordering::Relaxed);
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = ::postgres::Error;

    fn connect(&self) -> Result<Conn, ::postgres::Error> {
        Ok(Conn {
            client: self.config.connect(NoTls)?,
            statements: HashMap::new(),
            sent: Arc::clone(&self.sent),
        })
    }

    fn is_valid(&self, conn: &mut Conn) -> Result<(), ::postgres::Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.is_closed()
    }
}

pub type Pool = r2d2::Pool<Manager>;

/// Connects to `url` and brings its schema up to date; `sent` counts the statements the
/// pool's connections run from then on.
pub fn open(url: &str, max_connections: u32, sent: Arc<AtomicU64>) -> anyhow::Result<Pool> {
    let config: Config = url
        .parse()
        .with_context(|| "the PostgreSQL URL is not one the client understands")?;
    let pool = r2d2::Pool::builder()
        .max_size(max_connections)
        // Opened as the load asks, not all at start: several servers (and test suites) share
        // the database's connection limit.
        .min_idle(Some(max_connections.min(2)))
        // No test query before each use (a round trip on every request): a connection found
        // dead is dropped and the transaction run again on another (see `transaction`).
        .test_on_check_out(false)
        .connection_timeout(Duration::from_secs(30))
        .build(Manager { config, sent })
        .context("cannot connect to PostgreSQL")?;
    let mut conn = pool.get().context("cannot connect to PostgreSQL")?;
    migrate(&mut conn.client)?;
    Ok(pool)
}

/// Runs the missing migrations in one transaction, under a lock: servers starting together
/// on one database migrate it once. A database newer than this binary is refused.
fn migrate(client: &mut Client) -> anyhow::Result<()> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    let known: Option<String> = tx
        .query_one("SELECT to_regclass('modq_schema')::TEXT", &[])?
        .try_get(0)?;
    if known.is_none() {
        tx.batch_execute(
            "CREATE TABLE modq_schema (
                 version BIGINT NOT NULL,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )?;
    }
    let version: i64 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM modq_schema", &[])?
        .try_get(0)?;
    let done = match usize::try_from(version) {
        Ok(done) if done <= MIGRATIONS.len() => done,
        _ => {
            return Err(anyhow!(
                "database schema version {version} is not one this modq understands \
                 (0 to {SCHEMA_VERSION}): a newer modq made it"
            ));
        }
    };
    for (n, step) in MIGRATIONS.iter().enumerate().skip(done) {
        tx.batch_execute(step)
            .with_context(|| format!("schema step {}", n + 1))?;
        let reached = i64::try_from(n + 1).unwrap_or(i64::MAX);
        tx.execute("INSERT INTO modq_schema (version) VALUES ($1)", &[&reached])?;
    }
    tx.commit()?;
    Ok(())
}

/// `?N` and `?` placeholders (SQLite's, which the queries share with sqlite.rs) as
/// PostgreSQL's `$N`. No query here has a `?` inside a string literal.
pub fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut chars = sql.chars().peekable();
    let mut bare = 0;
    while let Some(c) = chars.next() {
        if c != '?' {
            out.push(c);
            continue;
        }
        out.push('$');
        if chars.peek().is_some_and(char::is_ascii_digit) {
            while let Some(d) = chars.next_if(char::is_ascii_digit) {
                out.push(d);
            }
        } else {
            bare += 1;
            out.push_str(&bare.to_string());
        }
    }
    out
}

pub type Param<'a> = &'a (dyn ToSql + Sync);

/// One transaction, with its connection's statement cache.
pub struct Tx<'c> {
    tx: Transaction<'c>,
    statements: &'c mut HashMap<String, Statement>,
    sent: &'c AtomicU64,
}

impl Tx<'_> {
    fn statement(&mut self, sql: &str) -> Result<Statement, StorageError> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let prepared = self.tx.prepare(&placeholders(sql))?;
        // A connection prepares each query once; generated filter queries vary, so the cache
        // is bounded.
        if self.statements.len() >= 512 {
            self.statements.clear();
        }
        self.statements.insert(sql.to_owned(), prepared.clone());
        Ok(prepared)
    }

    pub fn all(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, StorageError> {
        let s = self.statement(sql)?;
        Ok(self.tx.query(&s, params)?)
    }

    pub fn opt(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Option<Row>, StorageError> {
        let s = self.statement(sql)?;
        Ok(self.tx.query_opt(&s, params)?)
    }

    pub fn one(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Row, StorageError> {
        let s = self.statement(sql)?;
        Ok(self.tx.query_one(&s, params)?)
    }

    pub fn exec(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, StorageError> {
        let s = self.statement(sql)?;
        Ok(self.tx.execute(&s, params)?)
    }

    /// Runs `sql` and hands its rows to `visit`, `batch` at a time, until `visit` answers
    /// false: rows past that point are never read, nor locked by a `FOR UPDATE`.
    pub fn walk(
        &mut self,
        sql: &str,
        params: &[Param<'_>],
        batch: i32,
        mut visit: impl FnMut(&mut Self, Row) -> Result<bool, StorageError>,
    ) -> Result<(), StorageError> {
        let s = self.statement(sql)?;
        let portal = self.tx.bind(&s, params)?;
        loop {
            // The bind is a round trip of its own (counted above), and each fetch another.
            self.sent.fetch_add(1, Ordering::Relaxed);
            let rows = self.tx.query_portal(&portal, batch)?;
            let fetched = rows.len();
            for row in rows {
                if !visit(self, row)? {
                    return Ok(());
                }
            }
            if fetched < usize::try_from(batch).unwrap_or(0) {
                return Ok(());
            }
        }
    }

    /// Holds `key` until this transaction ends.
    pub fn lock(&mut self, key: i64) -> Result<(), StorageError> {
        self.exec("SELECT pg_advisory_xact_lock(?1)", &[&key])?;
        Ok(())
    }
}

/// Whether a failed transaction lost a race that running it again can win: it then sees
/// what the winner committed (a decision answers `duplicate`).
fn worth_again(e: &StorageError) -> bool {
    let StorageError::Backend(e) = e else {
        return false;
    };
    let Some(e) = e
        .chain()
        .find_map(|c| c.downcast_ref::<::postgres::Error>())
    else {
        return false;
    };
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE
            || *c == SqlState::T_R_DEADLOCK_DETECTED
            || *c == SqlState::UNIQUE_VIOLATION
    })
}

/// One statement outside any transaction (one round trip instead of three), for reads that
/// are a single statement: the token lookup every request makes.
pub fn read_one(pool: &Pool, sql: &str, params: &[Param<'_>]) -> Result<Option<Row>, StorageError> {
    on_a_connection(pool, |conn| {
        conn.sent(1);
        let Conn {
            client, statements, ..
        } = conn;
        let statement = match statements.get(sql) {
            Some(s) => s.clone(),
            None => {
                let prepared = client.prepare(&placeholders(sql))?;
                statements.insert(sql.to_owned(), prepared.clone());
                prepared
            }
        };
        Ok(client.query_opt(&statement, params)?)
    })
}

/// Runs `work` in one transaction and commits it; a transaction that lost a race with
/// another (the same new item filed twice at once, one idempotency key sent to two servers)
/// is rolled back and run again, when it sees what the winner committed.
pub fn transaction<T>(
    pool: &Pool,
    mut work: impl FnMut(&mut Tx<'_>) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    on_a_connection(pool, |conn| {
        // BEGIN and COMMIT.
        conn.sent(2);
        let Conn {
            client,
            statements,
            sent,
        } = conn;
        let mut tx = Tx {
            tx: client.transaction()?,
            statements,
            sent,
        };
        let answer = work(&mut tx)?;
        tx.tx.commit()?;
        Ok(answer)
    })
}

/// Runs `work` on a pooled connection, again on another when it lost a race (after a short
/// wait) or its connection (at once: after a restart of PostgreSQL every idle connection is
/// dead, and the pool drops each as it fails, so these are tried past the pool's size).
fn on_a_connection<T>(
    pool: &Pool,
    mut work: impl FnMut(&mut Conn) -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    let mut attempt = 0;
    let mut dead_connections = 0;
    loop {
        attempt += 1;
        let mut conn = pool
            .get()
            .map_err(|e| StorageError::Backend(anyhow!("no PostgreSQL connection: {e}")))?;
        match work(&mut conn) {
            Err(e) if dead_connections <= pool.max_size() && connection_lost(&e) => {
                dead_connections += 1;
                attempt -= 1;
            }
            Err(e) if attempt < ATTEMPTS && worth_again(&e) => {
                std::thread::sleep(Duration::from_millis(2 << attempt.min(6)));
            }
            other => return other,
        }
    }
}

/// Whether the connection is gone (PostgreSQL restarted or shut down, the network cut). A
/// transaction whose COMMIT went unanswered may have committed; run again, it finds its own
/// work done (a decision answers `duplicate`, a claim gets its own leases back).
fn connection_lost(e: &StorageError) -> bool {
    let StorageError::Backend(e) = e else {
        return false;
    };
    e.chain()
        .find_map(|c| c.downcast_ref::<::postgres::Error>())
        .is_some_and(|e| {
            e.is_closed()
                // A reset or broken socket, before the client saw the connection close.
                || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
                || e.code().is_some_and(|c| {
                    *c == SqlState::ADMIN_SHUTDOWN || *c == SqlState::CRASH_SHUTDOWN
                })
        })
}

#[cfg(test)]
mod tests {
    use super::placeholders;

    #[test]
    fn sqlite_placeholders_become_postgresql_ones() {
        assert_eq!(
            placeholders("SELECT a FROM t WHERE b = ?1 AND c IN (?2, ?2)"),
            "SELECT a FROM t WHERE b = $1 AND c IN ($2, $2)"
        );
        assert_eq!(
            placeholders("x = ? AND y = ? LIMIT ?"),
            "x = $1 AND y = $2 LIMIT $3"
        );
        // The filter compiler's own `$n` pass through untouched.
        assert_eq!(placeholders("a = $1 AND b = $2"), "a = $1 AND b = $2");
        assert_eq!(placeholders("?10::TEXT[]"), "$10::TEXT[]");
    }
}
