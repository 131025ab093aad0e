//! The default storage: one SQLite file in WAL mode, one connection behind a mutex.
//! Each trait method is one transaction; the rules come from [`super::rules`].

use std::path::Path;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, anyhow};
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

use rusqlite::config::DbConfig;
use rusqlite::types::Value;

use crate::model::{
    Author, AuthorRecord, ClaimCap, ClaimedPage, Decision, DecisionAction, DecisionMethod,
    DecisionOutcome, DecisionResult, EscalationTier, HistoryEntry, HistoryEvent, Item, ItemKind,
    Lane, LaneCount, LeaseGrant, LeaseRefusal, LeaseRenewal, NewReport, QueueCounts, QueuePage,
    RefusalReason, Report, ReportAccepted, ReporterType, ReviewState, Role, Scope, TierCount,
};
use crate::policy::PolicyCatalog;
use crate::query::{self, Clause, Likeness, Sort, Term};
use crate::wal_sync::WalSync;

use super::audit::{AuditEntry, AuditQuery};
use super::claims::{self, ClaimLimits};
use super::read_pool::ReadPool;
use super::rules::{self, AppliedDecision, Facts, ItemStatus, Lease, Verdict};
use super::statements::DecisionBasis;
use super::storage::{
    Cursor, DecisionFact, Group, MAX_SELECTION, QueueQuery, Selected, SortValue, Storage,
    StorageError, TakeDownRecord, TokenInfo, TokenRecord, within_budget,
};

/// Step `i` takes the schema from version `i` to `i + 1`; a new database runs them all.
const MIGRATIONS: [&str; 8] = [
    include_str!("schema.sql"),
    include_str!("schema_2_leases.sql"),
    include_str!("schema_3_search.sql"),
    include_str!("schema_4_trust_safety.sql"),
    include_str!("schema_5_author_state.sql"),
    include_str!("schema_6_open_queues.sql"),
    include_str!("schema_7_tallies.sql"),
    include_str!("schema_8_roles.sql"),
];
/// The version whose script adds the columns [`search_columns`] fills.
const SEARCH_VERSION: usize = 3;
/// The version whose script rebuilds the audit table, which [`backfill_schema_8`] completes.
const ROLES_VERSION: usize = 8;

/// The audit log's guard: rows are appended, never changed or removed. Created after the
/// table's schema 8 rebuild and backfill (see schema_8_roles.sql).
const AUDIT_TRIGGERS: &str = "
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only');
END;";
const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

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

fn migrate(conn: &Connection) -> anyhow::Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let done = match usize::try_from(version) {
        Ok(done) if done <= MIGRATIONS.len() => done,
        _ => {
            return Err(anyhow!(
                "database schema version {version} is not one this modq understands \
                 (0 to {SCHEMA_VERSION})"
            ));
        }
    };
    if done == MIGRATIONS.len() {
        return Ok(());
    }
    // All missing steps in one transaction: a failed upgrade leaves the file as it was.
    let tx = conn.unchecked_transaction()?;
    for step in MIGRATIONS.iter().skip(done) {
        tx.execute_batch(step)?;
    }
    if done < SEARCH_VERSION {
        backfill_search_columns(&tx)?;
    }
    if done < ROLES_VERSION {
        backfill_schema_8(&tx)?;
        tx.execute_batch(AUDIT_TRIGGERS)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

// --- conversions --------------------------------------------------------------------------

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn corrupt(what: &str, detail: impl std::fmt::Display) -> StorageError {
    StorageError::Backend(anyhow!("stored {what} is unreadable: {detail}"))
}

fn parse_ts(s: &str) -> Result<DateTime<Utc>, StorageError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt("timestamp", e))
}

fn parse_opt_ts(s: Option<&str>) -> Result<Option<DateTime<Utc>>, StorageError> {
    s.map(parse_ts).transpose()
}

/// The serde name of a unit enum value (e.g. `trusted_flagger`), as stored.
fn name_of<T: Serialize + std::fmt::Debug>(v: T) -> Result<String, StorageError> {
    match serde_json::to_value(&v) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(StorageError::Backend(anyhow!(
            "{v:?} has no plain name to store"
        ))),
    }
}

fn from_name<T: DeserializeOwned>(what: &str, s: &str) -> Result<T, StorageError> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|e| corrupt(what, e))
}

fn to_json<T: Serialize>(v: &T) -> Result<String, StorageError> {
    serde_json::to_string(v).map_err(|e| StorageError::Backend(anyhow::Error::new(e)))
}

fn from_json<T: DeserializeOwned>(what: &str, s: &str) -> Result<T, StorageError> {
    serde_json::from_str(s).map_err(|e| corrupt(what, e))
}

fn opt_json<T: DeserializeOwned>(what: &str, s: Option<&str>) -> Result<Option<T>, StorageError> {
    s.map(|s| from_json(what, s)).transpose()
}

fn opt_tier(s: Option<&str>) -> Result<Option<EscalationTier>, StorageError> {
    s.map(|s| from_name("escalation target", s)).transpose()
}

fn parse_lane(s: &str) -> Result<Lane, StorageError> {
    Lane::parse(s).ok_or_else(|| corrupt("lane", s))
}

fn parse_state(s: &str) -> Result<ReviewState, StorageError> {
    ReviewState::parse(s).ok_or_else(|| corrupt("review state", s))
}

// --- items ----------------------------------------------------------------------------------

const ITEM_COLUMNS: &str = "id, kind, text, author, language, countries, media, priority, lane, \
                            deadline, state, restricted_in, escalation_target, created_at, \
                            report_count";

/// An items row as stored, converted after the statement is done with it.
struct ItemRow {
    id: String,
    kind: String,
    text: Option<String>,
    author: Option<String>,
    language: Option<String>,
    countries: String,
    media: String,
    priority: i64,
    lane: String,
    deadline: Option<String>,
    state: String,
    restricted_in: Option<String>,
    escalation_target: Option<String>,
    created_at: String,
    report_count: i64,
}

fn item_row(r: &Row<'_>) -> rusqlite::Result<ItemRow> {
    Ok(ItemRow {
        id: r.get(0)?,
        kind: r.get(1)?,
        text: r.get(2)?,
        author: r.get(3)?,
        language: r.get(4)?,
        countries: r.get(5)?,
        media: r.get(6)?,
        priority: r.get(7)?,
        lane: r.get(8)?,
        deadline: r.get(9)?,
        state: r.get(10)?,
        restricted_in: r.get(11)?,
        escalation_target: r.get(12)?,
        created_at: r.get(13)?,
        report_count: r.get(14)?,
    })
}

impl ItemRow {
    /// The item without reports and history; [`fill_item`] adds them.
    fn into_item(self) -> Result<Item, StorageError> {
        Ok(Item {
            kind: from_name::<ItemKind>("item kind", &self.kind)?,
            text: self.text,
            author: opt_json("author", self.author.as_deref())?,
            language: self.language,
            countries: from_json("countries", &self.countries)?,
            media: from_json("media", &self.media)?,
            reports: Vec::new(),
            priority: self.priority,
            lane: parse_lane(&self.lane)?,
            deadline: parse_opt_ts(self.deadline.as_deref())?,
            state: parse_state(&self.state)?,
            restricted_in: opt_json("scope", self.restricted_in.as_deref())?,
            escalation_target: opt_tier(self.escalation_target.as_deref())?,
            created_at: parse_ts(&self.created_at)?,
            history: Vec::new(),
            author_record: None,
            allowed_actions: None,
            leased_by: None,
            id: self.id,
        })
    }
}

impl ItemRow {
    /// The position just after this row in `sort`'s order, in a walk begun at `as_of`.
    fn cursor(&self, sort: Sort, as_of: DateTime<Utc>) -> Result<Cursor, StorageError> {
        let text = |s: &str| SortValue::Text(s.to_owned());
        let int = SortValue::Int;
        let deadline = self.deadline.as_deref().unwrap_or(NO_DEADLINE);
        let keys = match sort {
            Sort::Priority => [int(self.priority), text(&self.created_at)],
            Sort::Age => [text(&self.created_at), int(self.priority)],
            Sort::Reports => [int(self.report_count), int(self.priority)],
            Sort::Deadline => [text(deadline), int(self.priority)],
        };
        let group = match sort {
            Sort::Priority => Some(Group {
                as_of,
                first: super::storage::sorts_first(
                    parse_lane(&self.lane)?,
                    parse_opt_ts(self.deadline.as_deref())?,
                    as_of,
                ),
            }),
            _ => None,
        };
        Ok(Cursor {
            sort,
            keys,
            id: self.id.clone(),
            group,
        })
    }
}

/// Items without a deadline sort after every real one.
const NO_DEADLINE: &str = "9999-12-31T23:59:59.999999Z";

/// The two sort keys of an order, each an SQL expression and whether it descends; the item
/// id, ascending, always follows. They match the indexes of schema_3_search.sql and
/// schema_6_open_queues.sql.
fn order_keys(sort: Sort) -> [(&'static str, bool); 2] {
    match sort {
        Sort::Priority => [("priority", true), ("created_at", false)],
        Sort::Age => [("created_at", false), ("priority", true)],
        Sort::Reports => [("report_count", true), ("priority", true)],
        // deadline_key: COALESCE(deadline, NO_DEADLINE), a virtual column (schema 6).
        Sort::Deadline => [("deadline_key", false), ("priority", true)],
    }
}

/// Open and overdue items per lane, from the tally (schema 7) and from the overdue items
/// alone: never a walk over the queue, whatever its size.
const LANE_COUNTS: &str =
    "SELECT lane, SUM(items), 0 FROM queue_tally WHERE state = 'open' GROUP BY lane
     UNION ALL
     SELECT lane, 0, COUNT(*) FROM items
     WHERE state = 'open' AND deadline IS NOT NULL AND deadline <= ?1 GROUP BY lane";

/// The priority order's first group: urgent-lane items and those overdue at the walk's
/// `as_of` (the one placeholder). Mirrors [`super::storage::sorts_first`].
const FIRST_GROUP: &str = "(lane = 'urgent' OR (deadline IS NOT NULL AND deadline <= ?))";

fn sql_value(v: &SortValue) -> Value {
    match v {
        SortValue::Int(i) => Value::Integer(*i),
        SortValue::Text(t) => Value::Text(t.clone()),
    }
}

/// An SQL condition and the values of its `?` placeholders, in order.
#[derive(Default)]
struct Where {
    sql: Vec<String>,
    values: Vec<Value>,
}

impl Where {
    fn push(&mut self, sql: impl Into<String>, values: impl IntoIterator<Item = Value>) {
        self.sql.push(sql.into());
        self.values.extend(values);
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// The condition for one filter clause, mirroring `query::Clause::matches` on the client.
fn clause_condition(conn: &Connection, clause: &Clause, w: &mut Where) -> Result<(), StorageError> {
    let (sql, values) = match same_field_in_list(&clause.any_of)? {
        Some(in_list) => in_list,
        None => {
            let mut any = Where::default();
            for term in &clause.any_of {
                term_condition(conn, term, &mut any)?;
            }
            (format!("({})", any.sql.join(" OR ")), any.values)
        }
    };
    if clause.negated {
        // An item without the field (no language, no text) fails the term on the client, so
        // its negation holds: SQL's NULL must become false before NOT, or such items vanish.
        w.push(format!("NOT COALESCE({sql}, FALSE)"), values);
    } else {
        w.push(sql, values);
    }
    Ok(())
}

/// Alternatives on one field as one `IN` list (`cat:spam,scam`), which an index on the field
/// still serves; `None` for a single term or fields an `IN` cannot express.
fn same_field_in_list(terms: &[Term]) -> Result<Option<(String, Vec<Value>)>, StorageError> {
    const REPORT: &str = "EXISTS (SELECT 1 FROM reports r WHERE r.item_id = items.id AND";
    if terms.len() < 2 {
        return Ok(None);
    }
    let mut template = None;
    let mut values = Vec::new();
    for term in terms {
        let (field, value) = match term {
            Term::Category(c) => ("category", text(c)),
            Term::Author(a) => ("author", text(a)),
            Term::Reporter(r) => ("reporter", text(&name_of(*r)?)),
            Term::Lane(l) => ("lane", text(l.as_str())),
            Term::Country(c) => ("country", text(c)),
            Term::Language(l) => ("language", text(l)),
            _ => return Ok(None),
        };
        if template.is_some_and(|t| t != field) {
            return Ok(None);
        }
        template = Some(field);
        values.push(value);
    }
    let marks = vec!["?"; values.len()].join(", ");
    let sql = match template {
        Some("category") => format!("{REPORT} lower(r.category) IN ({marks}))"),
        Some("author") => format!("author_id IN ({marks})"),
        Some("reporter") => format!("{REPORT} r.reporter_type IN ({marks}))"),
        Some("lane") => format!("lane IN ({marks})"),
        Some("country") => format!(
            "EXISTS (SELECT 1 FROM json_each(items.countries) WHERE upper(value) IN ({marks}))"
        ),
        Some("language") => format!("lower(language) IN ({marks})"),
        _ => return Ok(None),
    };
    Ok(Some((sql, values)))
}

/// The condition for one filter term, mirroring `query::Term` matching on the client.
fn term_condition(conn: &Connection, term: &Term, w: &mut Where) -> Result<(), StorageError> {
    const REPORT: &str = "EXISTS (SELECT 1 FROM reports r WHERE r.item_id = items.id AND";
    match term {
        Term::Text(t) => w.push("instr(text_lc, ?) > 0", [text(t)]),
        Term::Category(c) => w.push(format!("{REPORT} lower(r.category) = ?)"), [text(c)]),
        Term::From(who) => w.push(
            "(author_id = ? OR author_handle = ?)",
            [text(who), text(who)],
        ),
        Term::Author(id) => w.push("author_id = ?", [text(id)]),
        Term::Reporter(t) => w.push(
            format!("{REPORT} r.reporter_type = ?)"),
            [text(&name_of(*t)?)],
        ),
        Term::Lane(l) => w.push("lane = ?", [text(l.as_str())]),
        Term::Country(c) => w.push(
            "EXISTS (SELECT 1 FROM json_each(items.countries) WHERE upper(value) = ?)",
            [text(c)],
        ),
        Term::Language(l) => w.push("lower(language) = ?", [text(l)]),
        Term::Priority(op, p) => {
            w.push(format!("priority {} ?", op.symbol()), [Value::Integer(*p)])
        }
        Term::Link(part) => w.push(
            "EXISTS (SELECT 1 FROM json_each(items.links) WHERE instr(value, ?) > 0)",
            [text(part)],
        ),
        Term::Similar(id) => {
            let mut any = vec!["id = ?".to_owned()];
            let mut values = vec![text(id)];
            if let Some(like) = likeness_of(conn, id)? {
                if let Some(author) = &like.author_id {
                    any.push("author_id = ?".into());
                    values.push(text(author));
                }
                if let Some(hash) = &like.text_hash {
                    any.push("text_hash = ?".into());
                    values.push(text(hash));
                }
                // At most MAX_LINKS_PER_ITEM variables, even for an item stored before the
                // cap: SQLite refuses a statement with too many.
                let links: Vec<&String> =
                    like.links.iter().take(query::MAX_LINKS_PER_ITEM).collect();
                if !links.is_empty() {
                    let marks = vec!["?"; links.len()].join(", ");
                    any.push(format!(
                        "EXISTS (SELECT 1 FROM json_each(items.links) WHERE value IN ({marks}))"
                    ));
                    values.extend(links.into_iter().map(|l| text(l)));
                }
            }
            w.push(format!("({})", any.join(" OR ")), values);
        }
    }
    Ok(())
}

/// What the item `id` looks like, for `similar:` (`None`: no such item).
fn likeness_of(conn: &Connection, id: &str) -> Result<Option<Likeness>, StorageError> {
    let row = conn
        .prepare_cached("SELECT author_id, text_hash, links FROM items WHERE id = ?1")?
        .query_row([id], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .optional()?;
    row.map(|(author_id, text_hash, links)| {
        Ok(Likeness {
            author_id,
            text_hash,
            links: from_json("links", &links)?,
        })
    })
    .transpose()
}

/// The queue walk that listing, claiming and selecting share, so their order and filters
/// cannot drift: the query's state, lane, filter and cursor, in its sort order, at most
/// `row_limit` rows (-1: no limit).
fn queue_sql(
    conn: &Connection,
    query: &QueueQuery,
    row_limit: i64,
    group: Option<bool>,
) -> Result<(String, Vec<Value>), StorageError> {
    let mut w = Where::default();
    // A literal, not a placeholder: only then can SQLite tell that the partial queue indexes
    // of schema 6 (open and escalated items) hold every row the walk wants.
    w.push(format!("state = '{}'", query.state.as_str()), []);
    if let Some(lane) = query.lane {
        w.push("lane = ?", [text(lane.as_str())]);
    }
    if let Some(tier) = query.tier {
        w.push(
            "COALESCE(escalation_target, 'senior') = ?",
            [text(tier.as_str())],
        );
    }
    for clause in &query.filter.clauses {
        clause_condition(conn, clause, &mut w)?;
    }
    // Open items are held by no tier: only decided and escalated ones can be hidden.
    if !query.hidden_tiers.is_empty() && query.state != ReviewState::Open {
        let marks = vec!["?"; query.hidden_tiers.len()].join(", ");
        w.push(
            format!("(hold_tier IS NULL OR hold_tier NOT IN ({marks}))"),
            query.hidden_tiers.iter().map(|t| text(t.as_str())),
        );
    }
    let [(k1, d1), (k2, d2)] = order_keys(query.sort);
    if let Some(first) = group {
        // One of the priority order's two groups (see `walk_queue`).
        let condition = if first {
            FIRST_GROUP.to_string()
        } else {
            format!("NOT {FIRST_GROUP}")
        };
        w.push(condition, [text(&ts(query.as_of))]);
    }
    let dir = |desc: bool| if desc { "DESC" } else { "ASC" };
    let order_by =
        |c1: &str, c2: &str| format!("{c1} {}, {c2} {}, id ASC LIMIT ?", dir(d1), dir(d2));
    let Some(after) = &query.after else {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM items WHERE {} ORDER BY {}",
            w.sql.join(" AND "),
            order_by(k1, k2)
        );
        w.values.push(Value::Integer(row_limit));
        return Ok((sql, w.values));
    };
    if after.sort != query.sort {
        return Err(StorageError::Invalid(format!(
            "this cursor belongs to the {} order, not {}; start again without it",
            after.sort.as_str(),
            query.sort.as_str()
        )));
    }
    // Past the cursor in three index ranges, merged in order: the rest of its (k1, k2)
    // group, the rest of its k1 group, then everything further along k1. SQLite seeks to
    // each (the sort's index has state, k1, k2, id); one OR'ed condition would be read as a
    // filter instead, walking every item before the cursor on every page.
    let further = |desc: bool| if desc { "<" } else { ">" };
    let [a, b] = &after.keys;
    let arms = [
        (
            format!("{k1} = ? AND {k2} = ? AND id > ?"),
            vec![sql_value(a), sql_value(b), text(&after.id)],
        ),
        (
            format!("{k1} = ? AND {k2} {} ?", further(d2)),
            vec![sql_value(a), sql_value(b)],
        ),
        (format!("{k1} {} ?", further(d1)), vec![sql_value(a)]),
    ];
    let mut sql = Vec::new();
    let mut values = Vec::new();
    for (cursor, cursor_values) in arms {
        sql.push(format!(
            "SELECT {ITEM_COLUMNS}, {k1} AS sort_1, {k2} AS sort_2 FROM items WHERE {} AND {cursor}",
            w.sql.join(" AND ")
        ));
        values.extend(w.values.iter().cloned());
        values.extend(cursor_values);
    }
    let sql = format!(
        "{} ORDER BY {}",
        sql.join(" UNION ALL "),
        order_by("sort_1", "sort_2")
    );
    values.push(Value::Integer(row_limit));
    Ok((sql, values))
}

/// Runs [`queue_sql`] for `query`, handing each row to `visit` until it answers false.
///
/// The priority order puts urgent and overdue items first, a group that depends on the
/// walk's `as_of`, so no index can order it: the walk reads the first group, then the rest,
/// each in index order from where the cursor stands, so a page costs the same at any depth.
fn walk_queue(
    conn: &Connection,
    query: &QueueQuery,
    row_limit: i64,
    mut visit: impl FnMut(ItemRow) -> Result<bool, StorageError>,
) -> Result<(), StorageError> {
    if query.sort != Sort::Priority {
        walk_part(conn, query, row_limit, None, &mut visit)?;
        return Ok(());
    }
    let cursor_in_first = query
        .after
        .as_ref()
        .map(|c| c.group.is_some_and(|g| g.first));
    let mut left = row_limit;
    if cursor_in_first != Some(false) {
        let (seen, go_on) = walk_part(conn, query, left, Some(true), &mut visit)?;
        if !go_on {
            return Ok(());
        }
        if left >= 0 {
            left -= seen;
            if left <= 0 {
                return Ok(());
            }
        }
    }
    let rest = QueueQuery {
        after: query
            .after
            .clone()
            .filter(|_| cursor_in_first == Some(false)),
        ..query.clone()
    };
    walk_part(conn, &rest, left, Some(false), &mut visit)?;
    Ok(())
}

/// One run of [`queue_sql`]: how many rows it handed over, and whether `visit` wants more.
fn walk_part(
    conn: &Connection,
    query: &QueueQuery,
    row_limit: i64,
    group: Option<bool>,
    visit: &mut impl FnMut(ItemRow) -> Result<bool, StorageError>,
) -> Result<(i64, bool), StorageError> {
    let (sql, values) = queue_sql(conn, query, row_limit, group)?;
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(values))?;
    let mut seen = 0;
    while let Some(row) = rows.next()? {
        seen += 1;
        if !visit(item_row(row)?)? {
            return Ok((seen, false));
        }
    }
    Ok((seen, true))
}

/// The derived columns filters read, from an item's content: author id and handle,
/// lowercased text, text hash and links.
struct SearchColumns {
    author_id: Option<String>,
    author_handle: Option<String>,
    text_lc: Option<String>,
    text_hash: Option<String>,
    links: String,
}

fn search_columns(
    text: Option<&str>,
    author: Option<&Author>,
) -> Result<SearchColumns, StorageError> {
    let body = text.unwrap_or("");
    Ok(SearchColumns {
        author_id: author.map(|a| a.id.clone()),
        author_handle: author
            .and_then(|a| a.handle.as_deref())
            .map(|h| h.trim_start_matches('@').to_lowercase()),
        text_lc: text.map(str::to_lowercase),
        text_hash: query::text_hash(body),
        links: to_json(&query::links(body))?,
    })
}

fn write_search_columns(
    conn: &Connection,
    id: &str,
    text: Option<&str>,
    author: Option<&Author>,
) -> Result<(), StorageError> {
    write_columns(conn, id, &search_columns(text, author)?)
}

/// Stores columns already derived, so that the deriving (a pass over up to 64 KiB of text)
/// happens before the write lock is taken, not while every other writer waits.
fn write_columns(conn: &Connection, id: &str, c: &SearchColumns) -> Result<(), StorageError> {
    conn.prepare_cached(
        "UPDATE items SET author_id = ?2, author_handle = ?3, text_lc = ?4, text_hash = ?5,
                          links = ?6
         WHERE id = ?1",
    )?
    .execute(params![
        id,
        c.author_id,
        c.author_handle,
        c.text_lc,
        c.text_hash,
        c.links
    ])?;
    Ok(())
}

/// Fills the search columns of every item, for a database that predates them.
fn backfill_search_columns(conn: &Connection) -> anyhow::Result<()> {
    let rows: Vec<(String, Option<String>, Option<String>)> = conn
        .prepare("SELECT id, text, author FROM items")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, text, author) in rows {
        let author: Option<Author> = opt_json("author", author.as_deref())?;
        write_search_columns(conn, &id, text.as_deref(), author.as_ref())?;
    }
    Ok(())
}

/// Completes the schema 8 rebuild of the audit log by replaying it in order: the tier each
/// decision was made under and left the item with, the row each reversal undid, and the
/// tier each item is held by now. A `decided_at` that cannot be read back (a year like
/// -0001, which earlier versions stored) becomes the row's server time, so that the log can
/// be read again. Runs before the append-only triggers are put back.
fn backfill_schema_8(conn: &Connection) -> anyhow::Result<()> {
    type Replayed = (i64, String, String, String, Option<String>, String);
    type Row = (Replayed, Option<String>, Option<String>, String, String);
    let rows: Vec<Row> = conn
        .prepare(
            "SELECT id, item_id, action, idempotency_key, reverses, from_state,
                    from_escalation_target, escalation_target, at, decided_at
             FROM audit ORDER BY id",
        )?
        .query_map([], |r| {
            Ok((
                (
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ),
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let senior = || EscalationTier::Senior.as_str().to_owned();
    let mut held: std::collections::HashMap<String, Option<String>> = Default::default();
    let mut by_key: std::collections::HashMap<(String, String), i64> = Default::default();
    let mut from_tiers: std::collections::HashMap<i64, Option<String>> = Default::default();
    let mut update = conn.prepare(
        "UPDATE audit SET from_tier = ?2, to_tier = ?3, reverses_id = ?4, decided_at = ?5
         WHERE id = ?1",
    )?;
    for ((id, item, action, key, reverses, from_state), from_target, target, at, decided) in rows {
        let from_tier = if from_state == ReviewState::Escalated.as_str() {
            Some(from_target.unwrap_or_else(senior))
        } else {
            held.get(&item).cloned().flatten()
        };
        let (to_tier, reverses_id) = match action.as_str() {
            "escalate" => (Some(target.unwrap_or_else(senior)), None),
            "reverse" => {
                let undone = reverses.and_then(|k| by_key.get(&(item.clone(), k)).copied());
                let restored = undone.and_then(|u| from_tiers.get(&u).cloned().flatten());
                (restored, undone)
            }
            _ => (from_tier.clone(), None),
        };
        let decided = if parse_ts(&decided).is_ok() {
            decided
        } else {
            at
        };
        update.execute(params![id, from_tier, to_tier, reverses_id, decided])?;
        held.insert(item.clone(), to_tier);
        by_key.insert((item, key), id);
        from_tiers.insert(id, from_tier);
    }
    let mut hold = conn.prepare("UPDATE items SET hold_tier = ?2 WHERE id = ?1")?;
    for (item, tier) in held {
        if tier.is_some() {
            hold.execute(params![item, tier])?;
        }
    }
    Ok(())
}

fn load_item(conn: &Connection, id: &str) -> Result<Option<Item>, StorageError> {
    let sql = format!("SELECT {ITEM_COLUMNS} FROM items WHERE id = ?1");
    let Some(row) = conn.query_row(&sql, [id], item_row).optional()? else {
        return Ok(None);
    };
    let mut item = row.into_item()?;
    fill_item(conn, &mut item)?;
    Ok(Some(item))
}

/// Adds an item's reports and its history (reports and audit rows, oldest first).
fn fill_item(conn: &Connection, item: &mut Item) -> Result<(), StorageError> {
    item.reports = load_reports(conn, &item.id)?;
    let mut history: Vec<HistoryEntry> = item
        .reports
        .iter()
        .map(|r| HistoryEntry {
            at: r.received_at,
            actor: r.reporter_type.label().to_string(),
            event: HistoryEvent::Reported,
            reason_code: Some(r.category.clone()),
            scope: None,
            note: r.comment.clone(),
            escalation_target: None,
            tier: None,
            visible_to: None,
        })
        .collect();
    history.extend(load_decision_history(conn, &item.id)?);
    history.extend(load_notes(conn, &item.id)?);
    // Stable: at equal times a report stays before the decision that followed it.
    history.sort_by_key(|h| h.at);
    item.history = history;
    item.author_record = match &item.author {
        Some(author) => Some(author_record(conn, &author.id, item.state)?),
        None => None,
    };
    Ok(())
}

fn load_notes(conn: &Connection, item_id: &str) -> Result<Vec<HistoryEntry>, StorageError> {
    let mut stmt = conn
        .prepare_cached("SELECT at, actor, note, tier FROM notes WHERE item_id = ?1 ORDER BY id")?;
    let rows = stmt.query_map([item_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
        ))
    })?;
    let mut notes = Vec::new();
    for row in rows {
        let (at, actor, note, tier) = row?;
        let tier = opt_tier(tier.as_deref())?;
        notes.push(HistoryEntry {
            at: parse_ts(&at)?,
            actor,
            event: HistoryEvent::Note,
            reason_code: None,
            scope: None,
            note: Some(note),
            escalation_target: None,
            tier,
            visible_to: rules::note_visible_to(tier, None),
        });
    }
    Ok(notes)
}

/// The author's other items by state (through the `items_author` index).
fn author_record(
    conn: &Connection,
    author_id: &str,
    own_state: ReviewState,
) -> Result<AuthorRecord, StorageError> {
    // From the tally (schema 7): a few rows, however many items the author has. The item
    // itself is taken off after.
    let mut stmt =
        conn.prepare_cached("SELECT state, items FROM author_tally WHERE author_id = ?1")?;
    let rows = stmt.query_map([author_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    let mut record = AuthorRecord {
        author_id: author_id.to_owned(),
        other_items: 0,
        taken_down: 0,
        kept: 0,
        escalated: 0,
        open: 0,
    };
    for row in rows {
        let (state, count) = row?;
        let state = parse_state(&state)?;
        let count = u64::try_from(count)
            .unwrap_or_default()
            .saturating_sub(u64::from(state == own_state));
        record.other_items += count;
        match state {
            ReviewState::Open => record.open += count,
            ReviewState::Escalated => record.escalated += count,
            ReviewState::TakenDown => record.taken_down += count,
            ReviewState::Kept => record.kept += count,
        }
    }
    Ok(record)
}

fn load_reports(conn: &Connection, item_id: &str) -> Result<Vec<Report>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, reporter_type, category, comment, lane, deadline, received_at
         FROM reports WHERE item_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([item_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, String>(6)?,
        ))
    })?;
    let mut reports = Vec::new();
    for row in rows {
        let (id, reporter, category, comment, lane, deadline, received) = row?;
        reports.push(Report {
            id,
            reporter_type: from_name::<ReporterType>("reporter type", &reporter)?,
            category,
            comment,
            lane: parse_lane(&lane)?,
            deadline: parse_opt_ts(deadline.as_deref())?,
            received_at: parse_ts(&received)?,
        });
    }
    Ok(reports)
}

fn load_decision_history(
    conn: &Connection,
    item_id: &str,
) -> Result<Vec<HistoryEntry>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT at, actor, action, reason_code, scope, note, escalation_target, from_tier,
                to_tier
         FROM audit WHERE item_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([item_id], |r| {
        Ok((
            (
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ),
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, Option<String>>(6)?,
            (
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<String>>(8)?,
            ),
        ))
    })?;
    let mut entries = Vec::new();
    for row in rows {
        let ((at, actor, action), reason_code, scope, note, target, (from_tier, to_tier)) = row?;
        let to_tier = opt_tier(to_tier.as_deref())?;
        let visible_to = match &note {
            Some(_) => rules::note_visible_to(opt_tier(from_tier.as_deref())?, to_tier),
            None => None,
        };
        let event = match from_name::<DecisionAction>("action", &action)? {
            DecisionAction::TakeDown => HistoryEvent::TakeDown,
            DecisionAction::Keep => HistoryEvent::Keep,
            DecisionAction::Escalate => HistoryEvent::Escalate,
            DecisionAction::Reverse => HistoryEvent::Reversal,
        };
        entries.push(HistoryEntry {
            at: parse_ts(&at)?,
            actor,
            event,
            reason_code,
            scope: opt_json("scope", scope.as_deref())?,
            note,
            escalation_target: opt_tier(target.as_deref())?,
            tier: to_tier,
            visible_to,
        });
    }
    Ok(entries)
}

// --- reports ------------------------------------------------------------------------------

/// Whether reports by `filer` describe content: an admin's intake and the operator's
/// import do; an ordinary token's report quotes what its holder saw.
fn is_intake(filer: Option<&TokenInfo>) -> bool {
    filer.is_none_or(|t| t.role == Role::Admin)
}

/// Where a report's subject describes content the server keeps.
const FROM_INTAKE: &str = "intake";
const FROM_REPORTER: &str = "reporter";

fn add_report(
    tx: &Transaction<'_>,
    tally: &mut TallyChanges,
    filer: Option<&TokenInfo>,
    (report, columns): (&NewReport, &SearchColumns),
    now: DateTime<Utc>,
) -> Result<ReportAccepted, StorageError> {
    let subject = &report.subject;
    let received_at = rules::received_time(report, now);
    let lane = rules::report_lane(report);
    let intake = is_intake(filer);

    let existing: Option<(String, String, Tallied)> = tx
        .prepare_cached(
            "SELECT countries, content_source, state, lane, escalation_target, author_id
             FROM items WHERE id = ?1",
        )?
        .query_row([&subject.id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                Tallied {
                    state: r.get(2)?,
                    lane: r.get(3)?,
                    tier: r.get(4)?,
                    author: r.get(5)?,
                },
            ))
        })
        .optional()?;
    let merged = existing.is_some();
    // Only an intake says where content is shown, who wrote it and what its media matched:
    // an ordinary token's report can neither forge an author's record nor a hash match.
    let described_countries: Vec<String> = if intake {
        subject
            .countries
            .iter()
            .map(|c| c.to_ascii_uppercase())
            .collect()
    } else {
        Vec::new()
    };
    let author = subject.author.as_ref().filter(|_| intake);
    let media: Vec<crate::model::Media> = subject
        .media
        .iter()
        .map(|m| crate::model::Media {
            hash_match: m.hash_match.clone().filter(|_| intake),
            ..m.clone()
        })
        .collect();
    let mut countries: Vec<String> = match &existing {
        Some((stored, _, _)) => from_json("countries", stored)?,
        None => Vec::new(),
    };
    for c in &described_countries {
        if !countries.contains(c) {
            countries.push(c.clone());
        }
    }
    let mut new_author = None;
    match &existing {
        Some((_, source, _)) if intake && source == FROM_REPORTER => {
            // The intake's description replaces the one a reporter gave first.
            tx.prepare_cached(
                "UPDATE items SET kind = ?2, text = ?3, author = ?4, language = ?5,
                                  countries = ?6, media = ?7, content_source = ?8
                 WHERE id = ?1",
            )?
            .execute(params![
                subject.id,
                name_of(subject.kind)?,
                subject.text,
                author.map(to_json).transpose()?,
                subject.language,
                to_json(&countries)?,
                to_json(&media)?,
                FROM_INTAKE,
            ])?;
            write_columns(tx, &subject.id, columns)?;
            new_author = Some(author.map(|a| a.id.clone()));
        }
        // Content fields come from the first description; later intake reports add
        // countries only, and ordinary ones nothing.
        Some(_) if intake => {
            tx.prepare_cached("UPDATE items SET countries = ?2 WHERE id = ?1")?
                .execute(params![subject.id, to_json(&countries)?])?;
        }
        Some(_) => {}
        None => {
            // Priority, lane, deadline and created_at are set from the reports just below.
            tx.prepare_cached(
                "INSERT INTO items (id, kind, text, author, language, countries, media, priority,
                                    lane, deadline, state, created_at, content_source)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8, NULL, ?9, ?10, ?11)",
            )?
            .execute(params![
                subject.id,
                name_of(subject.kind)?,
                subject.text,
                author.map(to_json).transpose()?,
                subject.language,
                to_json(&countries)?,
                to_json(&media)?,
                lane.as_str(),
                ReviewState::Open.as_str(),
                ts(received_at),
                if intake { FROM_INTAKE } else { FROM_REPORTER },
            ])?;
            write_columns(tx, &subject.id, columns)?;
        }
    }

    tx.prepare_cached(
        "INSERT INTO reports (item_id, reporter_type, category, comment, lane, deadline,
                              received_at, filed_by, filer_role)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        subject.id,
        name_of(report.reporter_type)?,
        report.category,
        report.comment,
        lane.as_str(),
        rules::deadline_time(report).map(ts),
        ts(received_at),
        filer.map(|t| t.id),
        filer.map(|t| t.role.as_str()),
    ])?;
    let report_id = tx.last_insert_rowid();
    let (priority, lane) = refresh_aggregates(tx, &subject.id)?;
    let before = existing.map(|(_, _, tallied)| tallied);
    let mut after = Tallied {
        lane: lane.as_str().to_owned(),
        ..before.clone().unwrap_or_else(|| Tallied {
            state: ReviewState::Open.as_str().to_owned(),
            lane: String::new(),
            tier: None,
            author: author.map(|a| a.id.clone()),
        })
    };
    if let Some(author) = new_author {
        after.author = author;
    }
    tally.moved(before, after);
    Ok(ReportAccepted {
        item_id: subject.id.clone(),
        report_id,
        merged,
        priority,
    })
}

/// Recomputes what an item derives from all its reports: priority, most urgent lane,
/// earliest deadline, and first-reported time. Returns the priority and the lane.
fn refresh_aggregates(tx: &Transaction<'_>, item_id: &str) -> Result<(i64, Lane), StorageError> {
    let mut stmt = tx.prepare_cached(
        "SELECT lane, reporter_type, deadline, received_at, filed_by, filer_role
         FROM reports WHERE item_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([item_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<i64>>(4)?,
            r.get::<_, Option<String>>(5)?,
        ))
    })?;
    let mut weighed = Vec::new();
    let mut most_urgent: Option<Lane> = None;
    let mut ordinary_filers = std::collections::HashSet::new();
    let mut deadline: Option<DateTime<Utc>> = None;
    let mut created_at: Option<DateTime<Utc>> = None;
    for row in rows {
        let (lane, reporter, report_deadline, received, filed_by, filer_role) = row?;
        let lane = parse_lane(&lane)?;
        most_urgent = Some(most_urgent.map_or(lane, |l| l.min(lane)));
        // An intake relays many people's reports; an ordinary token is one person, who
        // counts once however often they report.
        let ordinary = filer_role.is_some_and(|r| r != Role::Admin.as_str());
        let counted = match filed_by {
            Some(id) if ordinary => ordinary_filers.insert(id),
            _ => true,
        };
        if counted {
            weighed.push((lane, from_name::<ReporterType>("reporter type", &reporter)?));
        }
        if let Some(d) = parse_opt_ts(report_deadline.as_deref())? {
            deadline = Some(deadline.map_or(d, |e| e.min(d)));
        }
        let received = parse_ts(&received)?;
        created_at = Some(created_at.map_or(received, |c| c.min(received)));
    }
    let lane = most_urgent
        .ok_or_else(|| StorageError::Backend(anyhow!("item {item_id:?} has no reports")))?;
    let report_count = i64::try_from(weighed.len()).unwrap_or(i64::MAX);
    let priority = rules::priority(weighed);
    tx.prepare_cached(
        "UPDATE items SET priority = ?2, lane = ?3, deadline = ?4,
                          created_at = COALESCE(?5, created_at), report_count = ?6
         WHERE id = ?1",
    )?
    .execute(params![
        item_id,
        priority,
        lane.as_str(),
        deadline.map(ts),
        created_at.map(ts),
        report_count,
    ])?;
    Ok((priority, lane))
}

// --- the lane tabs' tally ------------------------------------------------------------------

/// Where an item counts in the tallies (schema 7): in `queue_tally` by its state, lane and
/// escalation target, in `author_tally` by its author and state.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Tallied {
    state: String,
    lane: String,
    tier: Option<String>,
    author: Option<String>,
}

/// A transaction's changes to the tallies, written once before it commits: a batch of 5,000
/// take downs updates a few `queue_tally` rows and one `author_tally` row per author, not a
/// row per decision each. (Triggers kept the tally first, but a statement that fires one
/// needs a statement journal, which copied every page the statement touched: queue fills ran
/// 40% slower and bulk take downs 12%.) Every write that creates an item or changes its
/// state, lane or escalation target goes through here;
/// `the_tally_agrees_with_counting_the_items_after_every_kind_of_change` holds them to it.
#[derive(Default)]
struct TallyChanges {
    queue: std::collections::HashMap<(String, String, String), i64>,
    authors: std::collections::HashMap<(String, String), i64>,
}

impl TallyChanges {
    /// An item moved from `before` (`None`: it is new) to `after`.
    fn moved(&mut self, before: Option<Tallied>, after: Tallied) {
        if before.as_ref() == Some(&after) {
            return;
        }
        if let Some(before) = before {
            self.count(before, -1);
        }
        self.count(after, 1);
    }

    fn count(&mut self, at: Tallied, change: i64) {
        if let Some(author) = at.author {
            *self.authors.entry((author, at.state.clone())).or_default() += change;
        }
        let tier = at.tier.unwrap_or_default();
        *self.queue.entry((at.state, at.lane, tier)).or_default() += change;
    }

    fn write(self, tx: &Transaction<'_>) -> Result<(), StorageError> {
        let mut queue = tx.prepare_cached(
            "INSERT INTO queue_tally (state, lane, tier, items) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (state, lane, tier) DO UPDATE SET items = items + excluded.items",
        )?;
        for ((state, lane, tier), change) in self.queue {
            if change != 0 {
                queue.execute(params![state, lane, tier, change])?;
            }
        }
        let mut authors = tx.prepare_cached(
            "INSERT INTO author_tally (author_id, state, items) VALUES (?1, ?2, ?3)
             ON CONFLICT (author_id, state) DO UPDATE SET items = items + excluded.items",
        )?;
        for ((author, state), change) in self.authors {
            if change != 0 {
                authors.execute(params![author, state, change])?;
            }
        }
        Ok(())
    }
}

// --- decisions ----------------------------------------------------------------------------

const APPLIED_COLUMNS: &str = "id, idempotency_key, item_id, action, actor, actor_token_id, at, \
                               body_hash, from_state, from_restricted_in, \
                               from_escalation_target, from_tier";

/// An audit row as far as judging later decisions needs it.
struct AppliedRow {
    id: i64,
    key: String,
    item_id: String,
    action: String,
    actor: String,
    actor_token_id: Option<i64>,
    at: String,
    body_hash: Option<String>,
    from_state: String,
    from_scope: Option<String>,
    from_target: Option<String>,
    from_tier: Option<String>,
}

fn applied_row(r: &Row<'_>) -> rusqlite::Result<AppliedRow> {
    Ok(AppliedRow {
        id: r.get(0)?,
        key: r.get(1)?,
        item_id: r.get(2)?,
        action: r.get(3)?,
        actor: r.get(4)?,
        actor_token_id: r.get(5)?,
        at: r.get(6)?,
        body_hash: r.get(7)?,
        from_state: r.get(8)?,
        from_scope: r.get(9)?,
        from_target: r.get(10)?,
        from_tier: r.get(11)?,
    })
}

impl AppliedRow {
    fn into_applied(self) -> Result<AppliedDecision, StorageError> {
        Ok(AppliedDecision {
            audit_id: self.id,
            idempotency_key: self.key,
            item_id: self.item_id,
            action: from_name("action", &self.action)?,
            actor: self.actor,
            actor_token_id: self.actor_token_id,
            at: parse_ts(&self.at)?,
            body_hash: self.body_hash,
            before: ItemStatus {
                state: parse_state(&self.from_state)?,
                restricted_in: opt_json::<Scope>("scope", self.from_scope.as_deref())?,
                escalation_target: opt_tier(self.from_target.as_deref())?,
                tier: opt_tier(self.from_tier.as_deref())?,
            },
        })
    }
}

/// The decision `token` sent with idempotency key `key`: keys are the sender's own.
fn applied_by_key(
    tx: &Transaction<'_>,
    token: i64,
    key: &str,
) -> Result<Option<AppliedDecision>, StorageError> {
    let sql = format!(
        "SELECT {APPLIED_COLUMNS} FROM audit WHERE actor_token_id = ?1 AND idempotency_key = ?2"
    );
    tx.prepare_cached(&sql)?
        .query_row(params![token, key], applied_row)
        .optional()?
        .map(AppliedRow::into_applied)
        .transpose()
}

/// The latest decision on `item_id` with idempotency key `key`, whoever sent it: what a
/// reversal names (a reversal undoes only an item's latest decision). Read through
/// `audit_item`: an item has a handful of decisions, not worth an index of their keys.
fn applied_on_item(
    tx: &Transaction<'_>,
    item_id: &str,
    key: &str,
) -> Result<Option<AppliedDecision>, StorageError> {
    let sql = format!(
        "SELECT {APPLIED_COLUMNS} FROM audit WHERE item_id = ?1 AND idempotency_key = ?2
         ORDER BY id DESC LIMIT 1"
    );
    tx.prepare_cached(&sql)?
        .query_row([item_id, key], applied_row)
        .optional()?
        .map(AppliedRow::into_applied)
        .transpose()
}

fn latest_applied(
    tx: &Transaction<'_>,
    item_id: &str,
) -> Result<Option<AppliedDecision>, StorageError> {
    let sql =
        format!("SELECT {APPLIED_COLUMNS} FROM audit WHERE item_id = ?1 ORDER BY id DESC LIMIT 1");
    tx.prepare_cached(&sql)?
        .query_row([item_id], applied_row)
        .optional()?
        .map(AppliedRow::into_applied)
        .transpose()
}

/// An item's status, and where it is counted in the tallies.
fn item_status(
    tx: &Transaction<'_>,
    item_id: &str,
) -> Result<Option<(ItemStatus, Tallied)>, StorageError> {
    let row = tx
        .prepare_cached(
            "SELECT state, restricted_in, escalation_target, lane, author_id, hold_tier
             FROM items WHERE id = ?1",
        )?
        .query_row([item_id], |r| {
            Ok((
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(5)?,
                Tallied {
                    state: r.get(0)?,
                    lane: r.get(3)?,
                    tier: r.get(2)?,
                    author: r.get(4)?,
                },
            ))
        })
        .optional()?;
    let Some((scope, hold, tallied)) = row else {
        return Ok(None);
    };
    let status = ItemStatus {
        state: parse_state(&tallied.state)?,
        restricted_in: opt_json("scope", scope.as_deref())?,
        escalation_target: opt_tier(tallied.tier.as_deref())?,
        tier: opt_tier(hold.as_deref())?,
    };
    Ok(Some((status, tallied)))
}

/// What a take down's statement of reasons will state, as the item is now.
fn decision_basis(
    tx: &Transaction<'_>,
    item_id: &str,
    method: crate::model::DecisionMethod,
) -> Result<Option<DecisionBasis>, StorageError> {
    let sql = format!("SELECT {ITEM_COLUMNS} FROM items WHERE id = ?1");
    let Some(row) = tx
        .prepare_cached(&sql)?
        .query_row([item_id], item_row)
        .optional()?
    else {
        return Ok(None);
    };
    let mut item = row.into_item()?;
    item.reports = load_reports(tx, item_id)?;
    Ok(Some(DecisionBasis::of(&item, method)))
}

fn result(d: &Decision, outcome: DecisionOutcome, message: Option<String>) -> DecisionResult {
    DecisionResult {
        idempotency_key: d.idempotency_key.clone(),
        outcome,
        message,
    }
}

fn apply_one(
    tx: &Transaction<'_>,
    tally: &mut TallyChanges,
    actor: &TokenInfo,
    d: &Decision,
    policies: &PolicyCatalog,
    now: DateTime<Utc>,
) -> Result<DecisionResult, StorageError> {
    if let Err(message) = rules::check_decision_shape(d) {
        return Ok(result(d, DecisionOutcome::Invalid, Some(message)));
    }
    let body_hash = rules::body_hash(d);
    if let Some(earlier) = applied_by_key(tx, actor.id, &d.idempotency_key)? {
        // A key stands for one decision: the same key with another body is a client's
        // mistake, and answering "duplicate" would tell it a decision it never made is done.
        if earlier.body_hash.as_ref().is_some_and(|h| *h != body_hash) {
            let message = format!(
                "idempotency key {:?} was already used by this token for another decision \
                 ({} on item {:?}); a new decision needs a new key",
                d.idempotency_key,
                earlier.describe(),
                earlier.item_id
            );
            return Ok(result(d, DecisionOutcome::Invalid, Some(message)));
        }
        let elsewhere = if earlier.item_id == d.item_id {
            String::new()
        } else {
            format!(" on item {:?}", earlier.item_id)
        };
        let message = format!("already applied: {}{elsewhere}", earlier.describe());
        return Ok(result(d, DecisionOutcome::Duplicate, Some(message)));
    }
    let Some((current, counted)) = item_status(tx, &d.item_id)? else {
        let message = format!("no item has id {:?}", d.item_id);
        return Ok(result(d, DecisionOutcome::NotFound, Some(message)));
    };
    let latest = latest_applied(tx, &d.item_id)?;
    let reversed = match &d.reverses {
        Some(key) => applied_on_item(tx, &d.item_id, key)?,
        None => None,
    };
    let report_category = leading_category(tx, &d.item_id)?;
    let facts = Facts {
        current: &current,
        latest: latest.as_ref(),
        reversed: reversed.as_ref(),
        report_category: report_category.as_deref(),
        policies,
    };
    let (after, reason_code) = match rules::judge(actor, d, &facts) {
        Verdict::Apply { after, reason_code } => (after, reason_code),
        Verdict::Refuse { outcome, message } => return Ok(result(d, outcome, Some(message))),
    };

    tx.prepare_cached(
        "UPDATE items SET state = ?2, restricted_in = ?3, escalation_target = ?4,
                          hold_tier = ?5
         WHERE id = ?1",
    )?
    .execute(params![
        d.item_id,
        after.state.as_str(),
        after.restricted_in.as_ref().map(to_json).transpose()?,
        after.escalation_target.map(name_of).transpose()?,
        after.tier.map(name_of).transpose()?,
    ])?;
    let now_counted = Tallied {
        state: after.state.as_str().to_owned(),
        tier: after.escalation_target.map(name_of).transpose()?,
        ..counted.clone()
    };
    tally.moved(Some(counted), now_counted);
    // A take down records its own scope: what it restricts, which for one widening an
    // earlier restriction is more than the item's scope before it.
    let scope = match d.action {
        DecisionAction::TakeDown => Some(to_json(&d.scope.clone().unwrap_or_default())?),
        _ => None,
    };
    let note = d.note.as_deref().filter(|n| !n.trim().is_empty());
    let target = match d.action {
        DecisionAction::Escalate => after.escalation_target.map(name_of).transpose()?,
        _ => None,
    };
    // A take down's statement is written from the item as the moderator decided it.
    let basis = match d.action {
        DecisionAction::TakeDown => decision_basis(tx, &d.item_id, d.method)?
            .as_ref()
            .map(to_json)
            .transpose()?,
        _ => None,
    };
    tx.prepare_cached(
        "INSERT INTO audit (at, actor, actor_token_id, role, action, item_id, reason_code,
                            scope, note, escalation_target, reverses, reverses_id,
                            idempotency_key, body_hash, method, decided_at, from_state,
                            from_restricted_in, from_escalation_target, from_tier, to_state,
                            to_tier, basis)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18, ?19, ?20, ?21, ?22, ?23)",
    )?
    .execute(params![
        ts(now),
        actor.name,
        actor.id,
        actor.role.as_str(),
        d.action.as_str(),
        d.item_id,
        reason_code,
        scope,
        note,
        target,
        d.reverses,
        reversed.as_ref().map(|r| r.audit_id),
        d.idempotency_key,
        body_hash,
        d.method.as_str(),
        ts(rules::clamp_decided_at(d.decided_at, now)),
        current.state.as_str(),
        current.restricted_in.as_ref().map(to_json).transpose()?,
        current.escalation_target.map(name_of).transpose()?,
        current.tier.map(name_of).transpose()?,
        after.state.as_str(),
        after.tier.map(name_of).transpose()?,
        basis,
    ])?;
    // Decided: there is nothing left to review undisturbed, whoever was reviewing it.
    tx.prepare_cached("DELETE FROM leases WHERE item_id = ?1")?
        .execute([&d.item_id])?;
    Ok(result(d, DecisionOutcome::Applied, None))
}

/// The report category of the item's most trusted source; see [`rules::leading_category`].
fn leading_category(conn: &Connection, item_id: &str) -> Result<Option<String>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT reporter_type, category FROM reports WHERE item_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([item_id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut reports = Vec::new();
    for row in rows {
        let (reporter, category) = row?;
        reports.push((
            from_name::<ReporterType>("reporter type", &reporter)?,
            category,
        ));
    }
    Ok(rules::leading_category(reports.iter().map(|(r, c)| (*r, c.as_str()))).map(str::to_owned))
}

// --- leases -------------------------------------------------------------------------------

fn lease_of(conn: &Connection, item_id: &str) -> Result<Option<Lease>, StorageError> {
    let row = conn
        .prepare_cached("SELECT holder, expires_at FROM leases WHERE item_id = ?1")?
        .query_row([item_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .optional()?;
    row.map(|(holder, expires_at)| {
        Ok(Lease {
            holder,
            expires_at: parse_ts(&expires_at)?,
        })
    })
    .transpose()
}

/// Gives `holder` the lease on an item, replacing whatever lease was there.
fn put_lease(
    tx: &Transaction<'_>,
    item_id: &str,
    holder: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), StorageError> {
    tx.prepare_cached(
        "INSERT INTO leases (item_id, holder, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (item_id) DO UPDATE SET holder = excluded.holder,
                                             expires_at = excluded.expires_at",
    )?
    .execute(params![item_id, holder, ts(expires_at)])?;
    Ok(())
}

/// Each id once, in the order first given.
fn distinct(ids: &[String]) -> Vec<&str> {
    let mut seen = std::collections::HashSet::new();
    ids.iter()
        .map(String::as_str)
        .filter(|id| seen.insert(*id))
        .collect()
}

// --- tokens ---------------------------------------------------------------------------------

type TokenRow = (i64, String, String, String, Option<String>);

fn token_row(r: &Row<'_>) -> rusqlite::Result<TokenRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn into_token_record(
    (id, name, role, created_at, revoked_at): TokenRow,
) -> Result<TokenRecord, StorageError> {
    Ok(TokenRecord {
        id,
        name,
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        created_at: parse_ts(&created_at)?,
        revoked_at: parse_opt_ts(revoked_at.as_deref())?,
    })
}

/// What a holder may still take in one claim: room under the cap on live leases, and what
/// is left of its fair share of each shared lane of the open queue.
struct Allowance {
    room: usize,
    /// Per shared lane (by its stored name): the holder's share, and how many it holds.
    lanes: Vec<(String, u64, u64)>,
    limited_by: Vec<ClaimCap>,
}

impl Allowance {
    fn of(
        tx: &Transaction<'_>,
        holder: &str,
        limits: &ClaimLimits,
        now: DateTime<Utc>,
    ) -> Result<Allowance, StorageError> {
        let now = ts(now);
        let held = live_leases_of(tx, holder, &now)?;
        let mut active: std::collections::HashSet<String> = limits
            .active_elsewhere
            .iter()
            .filter(|name| name.as_str() != holder)
            .cloned()
            .collect();
        let mut stmt = tx.prepare_cached(
            "SELECT DISTINCT holder FROM leases WHERE expires_at > ?1 AND holder <> ?2",
        )?;
        for name in stmt.query_map(params![now, holder], |r| r.get::<_, String>(0))? {
            active.insert(name?);
        }
        let active = active.len().saturating_add(1);
        let mut lanes = Vec::new();
        for lane in claims::SHARED_LANES {
            let lane = name_of(lane)?;
            let open: i64 = tx
                .prepare_cached(
                    "SELECT COALESCE(SUM(items), 0) FROM queue_tally
                     WHERE state = 'open' AND lane = ?1",
                )?
                .query_row([&lane], |r| r.get(0))?;
            let mine: i64 = tx
                .prepare_cached(
                    "SELECT COUNT(*) FROM leases JOIN items ON items.id = leases.item_id
                     WHERE leases.holder = ?1 AND leases.expires_at > ?2
                       AND items.state = 'open' AND items.lane = ?3",
                )?
                .query_row(params![holder, now, lane], |r| r.get(0))?;
            let share = claims::fair_share(u64::try_from(open).unwrap_or_default(), active);
            lanes.push((lane, share, u64::try_from(mine).unwrap_or_default()));
        }
        Ok(Allowance {
            room: limits.max_leases.saturating_sub(held),
            lanes,
            limited_by: Vec::new(),
        })
    }

    /// Take an item of `lane` in `state`: always, when the holder's own lease is live (it is
    /// only extended); else when a cap allows it, which is then counted.
    fn take(&mut self, state: &str, lane: &str, own: bool) -> Result<(), ClaimCap> {
        if own {
            return Ok(());
        }
        let refuse = |this: &mut Allowance, cap| {
            if !this.limited_by.contains(&cap) {
                this.limited_by.push(cap);
            }
            Err(cap)
        };
        if self.room == 0 {
            return refuse(self, ClaimCap::MaxLeases);
        }
        let shared = self.lanes.iter_mut().find(|(name, _, _)| name == lane);
        if let Some((_, share, mine)) = shared.filter(|_| state == "open") {
            if *mine >= *share {
                return refuse(self, ClaimCap::FairShare);
            }
            *mine += 1;
        }
        self.room -= 1;
        Ok(())
    }
}

/// Live leases `holder` has at `now` (a stored timestamp).
fn live_leases_of(conn: &Connection, holder: &str, now: &str) -> Result<usize, StorageError> {
    let n: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM leases WHERE holder = ?1 AND expires_at > ?2")?
        .query_row(params![holder, now], |r| r.get(0))?;
    Ok(usize::try_from(n).unwrap_or_default())
}

// --- the audit log ------------------------------------------------------------------------

fn read_audit(conn: &Connection, query: &AuditQuery) -> Result<Vec<AuditEntry>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, actor, role, action, item_id, reason_code, scope, note,
                escalation_target, reverses, idempotency_key, decided_at, from_state, to_state,
                actor_token_id, method, from_tier
         FROM audit WHERE id > ?1 AND (?2 IS NULL OR item_id = ?2) ORDER BY id LIMIT ?3",
    )?;
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![query.after_id, query.item, limit], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            [
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ],
            [
                r.get::<_, Option<String>>(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
            ],
            [r.get::<_, String>(11)?, r.get(12)?, r.get(13)?, r.get(14)?],
            (
                r.get::<_, Option<i64>>(15)?,
                r.get::<_, Option<String>>(16)?,
                r.get::<_, Option<String>>(17)?,
            ),
        ))
    })?;
    let mut entries = Vec::new();
    for row in rows {
        let (id, [at, actor, role, action, item_id], optional, rest, (token, method, tier)) = row?;
        let [reason_code, scope, note, target, reverses] = optional;
        let [idempotency_key, decided_at, from_state, to_state] = rest;
        entries.push(AuditEntry {
            id,
            at: parse_ts(&at)?,
            actor,
            role,
            action: from_name("action", &action)?,
            item_id,
            reason_code,
            scope: opt_json("scope", scope.as_deref())?,
            note,
            escalation_target: opt_tier(target.as_deref())?,
            reverses,
            idempotency_key,
            decided_at: parse_ts(&decided_at)?,
            from_state: parse_state(&from_state)?,
            to_state: parse_state(&to_state)?,
            actor_token_id: token,
            method: method
                .map(|m| DecisionMethod::parse(&m).ok_or_else(|| corrupt("method", m)))
                .transpose()?,
            tier: opt_tier(tier.as_deref())?,
        });
    }
    Ok(entries)
}

// --- the trait ----------------------------------------------------------------------------

impl Storage for SqliteStorage {
    fn file_reports(
        &self,
        filer: Option<&TokenInfo>,
        reports: &[NewReport],
        now: DateTime<Utc>,
    ) -> Result<Vec<ReportAccepted>, StorageError> {
        for report in reports {
            rules::check_report(report).map_err(StorageError::Invalid)?;
        }
        // Derived before the write lock: other writers do not wait on text processing. Only
        // an intake's author counts (see `add_report`).
        let intake = is_intake(filer);
        let columns = reports
            .iter()
            .map(|r| {
                let author = r.subject.author.as_ref().filter(|_| intake);
                search_columns(r.subject.text.as_deref(), author)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut tally = TallyChanges::default();
            let mut accepted = Vec::with_capacity(reports.len());
            for (report, columns) in reports.iter().zip(&columns) {
                accepted.push(add_report(&tx, &mut tally, filer, (report, columns), now)?);
            }
            tally.write(&tx)?;
            tx.commit()?;
            Ok(accepted)
        })
    }

    fn queue_page(&self, query: &QueueQuery) -> Result<QueuePage, StorageError> {
        self.read(|conn| {
            // One more row than asked tells whether a next page exists.
            let fetch = i64::try_from(query.limit.saturating_add(1)).unwrap_or(i64::MAX);
            let mut rows = Vec::new();
            walk_queue(conn, query, fetch, |row| {
                rows.push(row);
                Ok(true)
            })?;
            let mut more = rows.len() > query.limit;
            rows.truncate(query.limit);
            let mut cursors = Vec::with_capacity(rows.len());
            let mut items = Vec::with_capacity(rows.len());
            for row in rows {
                cursors.push(row.cursor(query.sort, query.as_of)?);
                let mut item = row.into_item()?;
                fill_item(conn, &mut item)?;
                items.push(item);
            }
            // Past the byte budget the page ends early; the next starts right after it.
            let fit = within_budget(&items, query.max_bytes);
            if fit < items.len() {
                items.truncate(fit);
                more = true;
            }
            let next_cursor = if more {
                cursors.get(fit.wrapping_sub(1)).map(Cursor::encode)
            } else {
                None
            };
            Ok(QueuePage { items, next_cursor })
        })
    }

    fn item(&self, id: &str) -> Result<Option<Item>, StorageError> {
        self.read(|conn| load_item(conn, id))
    }

    fn claim_within(
        &self,
        holder: &str,
        query: &QueueQuery,
        lease_seconds: u32,
        limits: &ClaimLimits,
        now: DateTime<Utc>,
    ) -> Result<ClaimedPage, StorageError> {
        let expires_at = rules::lease_expiry(now, lease_seconds);
        let (mut page, taken_cursors) = self.write(|conn| {
            // IMMEDIATE takes the database's write lock before the first read, so no other
            // claim (from this process or another) can see an item as free between this walk
            // and the leases it writes. (PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED instead.)
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut allowance = Allowance::of(&tx, holder, limits, now)?;
            let mut taken: Vec<ItemRow> = Vec::new();
            let mut taken_cursors: Vec<Cursor> = Vec::new();
            let mut last_examined: Option<Cursor> = None;
            let mut more = false;
            walk_queue(&tx, query, -1, |row| {
                let lease = lease_of(&tx, &row.id)?;
                let skip = rules::claim_skips(lease.as_ref(), holder, now);
                let own = lease
                    .as_ref()
                    .is_some_and(|l| l.holder == holder && l.is_live(now));
                if taken.len() >= query.limit {
                    if !skip {
                        // A claimable item beyond this page: the next claim starts here.
                        more = true;
                        return Ok(false);
                    }
                } else if !skip {
                    match allowance.take(&row.state, &row.lane, own) {
                        Ok(()) => {
                            last_examined = Some(row.cursor(query.sort, query.as_of)?);
                            taken_cursors.push(row.cursor(query.sort, query.as_of)?);
                            taken.push(row);
                            return Ok(true);
                        }
                        // At the cap: the next claim, once there is room, starts here.
                        Err(ClaimCap::MaxLeases) => {
                            more = true;
                            return Ok(false);
                        }
                        // Left for the others, and passed over like a leased item.
                        Err(ClaimCap::FairShare) => {}
                    }
                }
                // Skipped items are passed over for good, so they do not come back next page.
                last_examined = Some(row.cursor(query.sort, query.as_of)?);
                Ok(true)
            })?;
            let mut items = Vec::with_capacity(taken.len());
            for row in taken {
                put_lease(&tx, &row.id, holder, expires_at)?;
                items.push(row.into_item()?);
            }
            let held = live_leases_of(&tx, holder, &ts(now))?;
            tx.commit()?;
            let page = ClaimedPage {
                items,
                next_cursor: last_examined.filter(|_| more).map(|c| c.encode()),
                lease_expires_at: expires_at,
                lease_seconds,
                held: u32::try_from(held).unwrap_or(u32::MAX),
                max_leases: u32::try_from(limits.max_leases).unwrap_or(u32::MAX),
                limited_by: allowance.limited_by,
            };
            Ok((page, taken_cursors))
        })?;
        // Reports, history and the author's record are read once the leases are committed,
        // on a reader: the write lock is held for the walk and the leases only, and the
        // items are this holder's, so nothing of theirs is in question meanwhile.
        self.read(|conn| {
            for item in &mut page.items {
                fill_item(conn, item)?;
            }
            Ok(())
        })?;
        // Past the byte budget the page ends early: the leases of what it cannot carry are
        // given back at once, and the next claim starts right after the last item given.
        let fit = within_budget(&page.items, query.max_bytes);
        if fit < page.items.len() {
            let unsent: Vec<String> = page.items.drain(fit..).map(|i| i.id).collect();
            self.release_leases(holder, &unsent)?;
            let given_back = u32::try_from(unsent.len()).unwrap_or(u32::MAX);
            page.held = page.held.saturating_sub(given_back);
            page.next_cursor = taken_cursors.get(fit.wrapping_sub(1)).map(Cursor::encode);
        }
        Ok(page)
    }

    fn claim_items(
        &self,
        actor: &TokenInfo,
        item_ids: &[String],
        lease_seconds: u32,
        limits: &ClaimLimits,
        now: DateTime<Utc>,
    ) -> Result<LeaseGrant, StorageError> {
        let expires_at = rules::lease_expiry(now, lease_seconds);
        let holder = actor.name.as_str();
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut allowance = Allowance::of(&tx, holder, limits, now)?;
            let mut leased = Vec::new();
            let mut refused = Vec::new();
            let refusal = |id: &str, reason, leased_by| LeaseRefusal {
                item_id: id.to_owned(),
                reason,
                leased_by,
            };
            for id in distinct(item_ids) {
                let found: Option<(String, Option<String>, String)> = tx
                    .prepare_cached(
                        "SELECT state, escalation_target, lane FROM items WHERE id = ?1",
                    )?
                    .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .optional()?;
                let Some((state, tier, lane)) = found else {
                    refused.push(refusal(id, RefusalReason::NotClaimable, None));
                    continue;
                };
                let tier = opt_tier(tier.as_deref())?;
                if !claims::may_claim(actor, parse_state(&state)?, tier) {
                    refused.push(refusal(id, RefusalReason::NotClaimable, None));
                    continue;
                }
                let lease = lease_of(&tx, id)?;
                if rules::claim_skips(lease.as_ref(), holder, now) {
                    let by = lease.map(|l| l.holder);
                    refused.push(refusal(id, RefusalReason::LeasedElsewhere, by));
                    continue;
                }
                let own = lease.is_some_and(|l| l.holder == holder && l.is_live(now));
                match allowance.take(&state, &lane, own) {
                    Ok(()) => {
                        put_lease(&tx, id, holder, expires_at)?;
                        leased.push(id.to_owned());
                    }
                    Err(ClaimCap::MaxLeases) => {
                        refused.push(refusal(id, RefusalReason::MaxLeases, None));
                    }
                    Err(ClaimCap::FairShare) => {
                        refused.push(refusal(id, RefusalReason::FairShare, None));
                    }
                }
            }
            let held = live_leases_of(&tx, holder, &ts(now))?;
            tx.commit()?;
            Ok(LeaseGrant {
                leased,
                refused,
                lease_expires_at: expires_at,
                lease_seconds,
                held: u32::try_from(held).unwrap_or(u32::MAX),
                max_leases: u32::try_from(limits.max_leases).unwrap_or(u32::MAX),
            })
        })
    }

    fn live_holders(
        &self,
        item_ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<std::collections::HashMap<String, String>, StorageError> {
        self.read(|conn| {
            let mut holders = std::collections::HashMap::new();
            for id in distinct(item_ids) {
                if let Some(lease) = lease_of(conn, id)?.filter(|l| l.is_live(now)) {
                    holders.insert(id.to_owned(), lease.holder);
                }
            }
            Ok(holders)
        })
    }

    fn renew_leases(
        &self,
        holder: &str,
        item_ids: &[String],
        lease_seconds: u32,
        now: DateTime<Utc>,
    ) -> Result<LeaseRenewal, StorageError> {
        let expires_at = rules::lease_expiry(now, lease_seconds);
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut renewed = Vec::new();
            let mut lost = Vec::new();
            for id in distinct(item_ids) {
                let state: Option<String> = tx
                    .prepare_cached("SELECT state FROM items WHERE id = ?1")?
                    .query_row([id], |r| r.get(0))
                    .optional()?;
                let state = state.as_deref().map(parse_state).transpose()?;
                let lease = lease_of(&tx, id)?;
                if rules::may_renew(state, lease.as_ref(), holder) {
                    put_lease(&tx, id, holder, expires_at)?;
                    renewed.push(id.to_owned());
                } else {
                    lost.push(id.to_owned());
                }
            }
            tx.commit()?;
            Ok(LeaseRenewal {
                renewed,
                lost,
                lease_expires_at: expires_at,
            })
        })
    }

    fn release_leases(&self, holder: &str, item_ids: &[String]) -> Result<usize, StorageError> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut released = 0;
            for id in distinct(item_ids) {
                released += tx
                    .prepare_cached("DELETE FROM leases WHERE item_id = ?1 AND holder = ?2")?
                    .execute([id, holder])?;
            }
            tx.commit()?;
            Ok(released)
        })
    }

    fn select(
        &self,
        holder: &str,
        query: &QueueQuery,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Selected, StorageError> {
        self.read(|conn| {
            let limit = limit.min(MAX_SELECTION);
            let query = QueueQuery {
                after: None,
                ..query.clone()
            };
            let mut selected = Selected {
                ids: Vec::new(),
                leased_elsewhere: 0,
                truncated: false,
            };
            walk_queue(conn, &query, -1, |row| {
                if rules::claim_skips(lease_of(conn, &row.id)?.as_ref(), holder, now) {
                    selected.leased_elsewhere += 1;
                } else if selected.ids.len() == limit {
                    selected.truncated = true;
                    return Ok(false);
                } else {
                    selected.ids.push(row.id);
                }
                Ok(true)
            })?;
            Ok(selected)
        })
    }

    fn apply_decisions(
        &self,
        actor: &TokenInfo,
        decisions: &[Decision],
        policies: &PolicyCatalog,
        now: DateTime<Utc>,
    ) -> Result<Vec<DecisionResult>, StorageError> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut tally = TallyChanges::default();
            let mut results = Vec::with_capacity(decisions.len());
            for d in decisions {
                results.push(apply_one(&tx, &mut tally, actor, d, policies, now)?);
            }
            tally.write(&tx)?;
            tx.commit()?;
            Ok(results)
        })
    }

    fn add_note(
        &self,
        actor: &TokenInfo,
        item_id: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<HistoryEntry>, StorageError> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let Some((status, _)) = item_status(&tx, item_id)? else {
                return Ok(None);
            };
            // A note belongs to the tier holding the item when it is written: one written
            // for child safety stays theirs after the item moves on.
            let tier = status.held_by();
            tx.execute(
                "INSERT INTO notes (item_id, at, actor, role, note, actor_token_id, tier)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    item_id,
                    ts(now),
                    actor.name,
                    actor.role.as_str(),
                    note,
                    actor.id,
                    tier.map(name_of).transpose()?
                ],
            )?;
            tx.commit()?;
            Ok(Some(HistoryEntry {
                at: now,
                actor: actor.name.clone(),
                event: HistoryEvent::Note,
                reason_code: None,
                scope: None,
                note: Some(note.to_owned()),
                escalation_target: None,
                tier,
                visible_to: rules::note_visible_to(tier, None),
            }))
        })
    }

    fn queue_counts(&self, now: DateTime<Utc>) -> Result<QueueCounts, StorageError> {
        self.read(|conn| {
            let mut lanes: Vec<LaneCount> = Lane::ALL
                .into_iter()
                .map(|lane| LaneCount {
                    lane,
                    open: 0,
                    overdue: 0,
                })
                .collect();
            let mut stmt = conn.prepare_cached(LANE_COUNTS)?;
            let rows = stmt.query_map([ts(now)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?;
            for row in rows {
                let (lane, open, overdue) = row?;
                let lane = parse_lane(&lane)?;
                if let Some(count) = lanes.iter_mut().find(|c| c.lane == lane) {
                    count.open += u64::try_from(open).unwrap_or_default();
                    count.overdue += u64::try_from(overdue).unwrap_or_default();
                }
            }
            let mut tiers: Vec<TierCount> = EscalationTier::ALL
                .into_iter()
                .map(|tier| TierCount { tier, escalated: 0 })
                .collect();
            let mut stmt = conn.prepare_cached(
                "SELECT CASE tier WHEN '' THEN 'senior' ELSE tier END, SUM(items)
                 FROM queue_tally WHERE state = 'escalated' GROUP BY 1",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (tier, n) = row?;
                let tier: EscalationTier = from_name("escalation target", &tier)?;
                if let Some(count) = tiers.iter_mut().find(|c| c.tier == tier) {
                    count.escalated += u64::try_from(n).unwrap_or_default();
                }
            }
            Ok(QueueCounts {
                lanes,
                tiers,
                as_of: now,
            })
        })
    }

    fn decisions_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<DecisionFact>, StorageError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT a.action, a.at, a.reason_code, i.lane, i.countries, i.created_at,
                        i.deadline, i.id,
                        EXISTS (SELECT 1 FROM audit r
                                WHERE r.reverses = a.idempotency_key AND r.action = 'reverse')
                 FROM audit a JOIN items i ON i.id = a.item_id
                 WHERE a.at >= ?1 AND a.at < ?2
                 ORDER BY a.id",
            )?;
            let rows = stmt.query_map([ts(from), ts(to)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, String>(7)?,
                    r.get::<_, bool>(8)?,
                ))
            })?;
            let mut facts = Vec::new();
            for row in rows {
                let (
                    action,
                    at,
                    reason_code,
                    lane,
                    countries,
                    created,
                    deadline,
                    item_id,
                    reversed,
                ) = row?;
                facts.push(DecisionFact {
                    action: from_name("action", &action)?,
                    applied_at: parse_ts(&at)?,
                    reason_code,
                    lane: parse_lane(&lane)?,
                    countries: from_json("countries", &countries)?,
                    reported_at: parse_ts(&created)?,
                    deadline: parse_opt_ts(deadline.as_deref())?,
                    report_category: leading_category(conn, &item_id)?,
                    reversed,
                });
            }
            Ok(facts)
        })
    }

    fn take_downs_since(&self, since: DateTime<Utc>) -> Result<Vec<TakeDownRecord>, StorageError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT a.id, a.at, a.reason_code, a.scope, a.item_id, a.basis
                 FROM audit a
                 WHERE a.action = 'take_down' AND a.at >= ?1
                   AND NOT EXISTS (SELECT 1 FROM audit r WHERE r.reverses_id = a.id)
                 ORDER BY a.id",
            )?;
            let rows = stmt.query_map([ts(since)], |r| {
                Ok((
                    (r.get::<_, i64>(0)?, r.get::<_, String>(1)?),
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })?;
            let mut found = Vec::new();
            for row in rows {
                found.push(row?);
            }
            drop(stmt);
            let mut records = Vec::with_capacity(found.len());
            for ((audit_id, at), reason_code, scope, item_id, basis) in found {
                let item = load_item(conn, &item_id)?
                    .ok_or_else(|| corrupt("audit row", format!("item {item_id:?} is missing")))?;
                records.push(TakeDownRecord {
                    audit_id,
                    applied_at: parse_ts(&at)?,
                    reason_code,
                    scope: opt_json::<Scope>("scope", scope.as_deref())?.unwrap_or_default(),
                    basis: opt_json("decision basis", basis.as_deref())?,
                    item,
                });
            }
            Ok(records)
        })
    }

    fn token_lookup(&self, hash: &str) -> Result<Option<TokenInfo>, StorageError> {
        self.read(|conn| {
            let row = conn
                .prepare_cached(
                    "SELECT id, name, role FROM tokens WHERE hash = ?1 AND revoked_at IS NULL",
                )?
                .query_row([hash], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })
                .optional()?;
            let Some((id, name, role)) = row else {
                return Ok(None);
            };
            let role = Role::parse(&role).ok_or_else(|| corrupt("role", &role))?;
            Ok(Some(TokenInfo { id, name, role }))
        })
    }

    fn create_token(&self, name: &str, role: Role, hash: &str) -> Result<i64, StorageError> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let taken: Option<String> = tx
                .query_row(
                    "SELECT name FROM tokens WHERE name = ?1 COLLATE NOCASE",
                    [name],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(taken) = taken {
                return Err(StorageError::Invalid(format!(
                    "a token named {taken:?} exists already (names are unique, revoked tokens' \
                     included, whatever their case): choose another name"
                )));
            }
            tx.execute(
                "INSERT INTO tokens (hash, name, role, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![hash, name, role.as_str(), ts(Utc::now())],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(id)
        })
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>, StorageError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare("SELECT id, name, role, created_at, revoked_at FROM tokens ORDER BY id")?;
            let rows = stmt.query_map([], token_row)?;
            let mut tokens = Vec::new();
            for row in rows {
                tokens.push(into_token_record(row?)?);
            }
            Ok(tokens)
        })
    }

    fn revoke_token(
        &self,
        id_or_name: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<TokenRecord>, StorageError> {
        self.write(|conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // An id first: a name that is all digits is still found by its id's number.
            let id: Option<i64> = tx
                .query_row(
                    "SELECT id FROM tokens WHERE id = ?1
                     UNION ALL SELECT id FROM tokens WHERE name = ?2 COLLATE NOCASE LIMIT 1",
                    params![id_or_name.parse::<i64>().ok(), id_or_name],
                    |r| r.get(0),
                )
                .optional()?;
            let Some(id) = id else {
                return Ok(None);
            };
            tx.execute(
                "UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
                params![id, ts(now)],
            )?;
            let row = tx.query_row(
                "SELECT id, name, role, created_at, revoked_at FROM tokens WHERE id = ?1",
                [id],
                token_row,
            )?;
            tx.commit()?;
            Ok(Some(into_token_record(row)?))
        })
    }

    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StorageError> {
        self.read(|conn| read_audit(conn, query))
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn a_version_1_database_gains_leases_and_keeps_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("modq.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO tokens (hash, name, role, created_at) VALUES ('h', 'al', 'moderator', 'x')",
                [],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO items (id, kind, text, author, countries, media, priority, lane,
                                    state, created_at)
                 VALUES ('p1', 'post', 'Free Crypto for EVERYONE at https://scam.example',
                         '{\"id\":\"u1\",\"handle\":\"@Spammer\"}', '[]', '[]', 10,
                         'standard', 'open', '2026-01-01T00:00:00.000000Z')",
                [],
            )
            .unwrap();
        }
        let storage = SqliteStorage::open(&path).unwrap();
        let conn = storage.writer.lock().unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        assert!(tables(&conn).contains(&"leases".to_string()));
        // Items stored before filters existed can be found by them.
        let (handle, links, text_lc): (String, String, String) = conn
            .query_row(
                "SELECT author_handle, links, text_lc FROM items WHERE id = 'p1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(handle, "spammer");
        assert_eq!(links, r#"["scam.example"]"#);
        assert!(text_lc.starts_with("free crypto for everyone"));
        drop(conn);
        assert!(storage.token_lookup("h").unwrap().is_some());
        drop(storage);
        // Opening again changes nothing.
        SqliteStorage::open(&path).unwrap();
    }

    /// A version 7 database as an earlier modq left it: two tokens with one name, a log with
    /// an escalation to child safety and its reversal, a legal take down, and a decision
    /// whose `decided_at` (year -1) made every audit page holding it fail.
    #[test]
    fn a_version_7_database_gains_tiers_token_ids_and_a_readable_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("modq.db");
        {
            let conn = Connection::open(&path).unwrap();
            for step in MIGRATIONS.iter().take(7) {
                conn.execute_batch(step).unwrap();
            }
            conn.pragma_update(None, "user_version", 7).unwrap();
            conn.execute_batch(
                "INSERT INTO tokens (hash, name, role, created_at) VALUES
                     ('h1', 'al', 'moderator', '2026-01-01T00:00:00.000000Z'),
                     ('h2', 'lee', 'legal', '2026-01-02T00:00:00.000000Z'),
                     ('h3', 'al', 'admin', '2026-01-03T00:00:00.000000Z');
                 INSERT INTO items (id, kind, countries, media, priority, lane, state,
                                    escalation_target, created_at)
                 VALUES ('c1', 'post', '[]', '[]', 10, 'standard', 'open', NULL,
                         '2026-01-01T00:00:00.000000Z'),
                        ('l1', 'post', '[]', '[]', 10, 'standard', 'taken_down', NULL,
                         '2026-01-01T00:00:00.000000Z');
                 INSERT INTO audit (at, actor, role, action, item_id, escalation_target,
                                    reverses, idempotency_key, decided_at, from_state,
                                    from_escalation_target, to_state)
                 VALUES
                  ('2026-01-05T00:00:00.000000Z', 'al', 'moderator', 'escalate', 'c1',
                   'child_safety', NULL, 'k1', '2026-01-05T00:00:00.000000Z', 'open', NULL,
                   'escalated'),
                  ('2026-01-05T01:00:00.000000Z', 'al', 'moderator', 'reverse', 'c1',
                   NULL, 'k1', 'k2', '-0001-01-01T00:00:00.000000Z', 'escalated',
                   'child_safety', 'open'),
                  ('2026-01-05T02:00:00.000000Z', 'al', 'moderator', 'escalate', 'l1',
                   'legal', NULL, 'k3', '2026-01-05T02:00:00.000000Z', 'open', NULL,
                   'escalated'),
                  ('2026-01-05T03:00:00.000000Z', 'lee', 'legal', 'take_down', 'l1',
                   NULL, NULL, 'k4', '2026-01-05T03:00:00.000000Z', 'escalated', 'legal',
                   'taken_down');",
            )
            .unwrap();
        }
        let storage = SqliteStorage::open(&path).unwrap();
        let query = AuditQuery {
            after_id: 0,
            item: None,
            limit: 100,
        };
        let log = storage.audit(&query).unwrap();
        assert_eq!(log.len(), 4, "the whole log reads again");
        assert_eq!(
            log[1].decided_at, log[1].at,
            "year -1 became the server's time"
        );
        let tiers: Vec<Option<EscalationTier>> = log.iter().map(|e| e.tier).collect();
        assert_eq!(
            tiers,
            [
                None,
                Some(EscalationTier::ChildSafety),
                None,
                Some(EscalationTier::Legal)
            ]
        );
        // Names are unique now; the log's "al" is the first token of that name.
        let tokens = storage.tokens().unwrap();
        let names: Vec<&str> = tokens.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["al", "lee", "al-3"]);
        assert_eq!(log[0].actor_token_id, Some(tokens[0].id));
        assert_eq!(log[3].actor_token_id, Some(tokens[1].id));
        assert!(storage.token_lookup("h3").unwrap().is_some());

        let conn = storage.writer.lock().unwrap();
        let (held, reverses_id): (Option<String>, Option<i64>) = conn
            .query_row(
                "SELECT (SELECT hold_tier FROM items WHERE id = 'l1'),
                        (SELECT reverses_id FROM audit WHERE idempotency_key = 'k2')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            held.as_deref(),
            Some("legal"),
            "legal's take down stays legal's"
        );
        assert_eq!(reverses_id, Some(log[0].id));
        let update = conn.execute("UPDATE audit SET actor = 'mallory'", []);
        assert!(format!("{update:?}").contains("append-only"), "{update:?}");
        drop(conn);

        // Keys are per token now: another token may use "k1".
        let lee = storage.token_lookup("h2").unwrap().unwrap();
        let mut keep = crate::model::Decision {
            idempotency_key: "k1".into(),
            item_id: "c1".into(),
            action: DecisionAction::Keep,
            reason_code: None,
            note: None,
            scope: None,
            escalation_target: None,
            reverses: None,
            decided_at: Utc::now(),
            method: DecisionMethod::Single,
        };
        let results = storage
            .apply_decisions(&lee, &[keep.clone()], &PolicyCatalog::builtin(), Utc::now())
            .unwrap();
        assert_eq!(results[0].outcome, DecisionOutcome::Applied, "{results:?}");
        // And the legal take down is legal's to reverse, not the first "al"'s.
        let al = storage.token_lookup("h1").unwrap().unwrap();
        keep.idempotency_key = "k5".into();
        keep.item_id = "l1".into();
        keep.action = DecisionAction::Reverse;
        keep.reverses = Some("k4".into());
        let results = storage
            .apply_decisions(&al, &[keep], &PolicyCatalog::builtin(), Utc::now())
            .unwrap();
        assert_eq!(results[0].outcome, DecisionOutcome::Conflict, "{results:?}");
        drop(storage);
        SqliteStorage::open(&path).unwrap();
    }

    #[test]
    fn a_newer_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("modq.db");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let error = SqliteStorage::open(&path).err().unwrap();
        assert!(format!("{error:#}").contains("version 99"), "{error:#}");
    }

    #[test]
    fn the_decision_path_does_not_prepare_its_statements_again_for_each_item() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("modq.db")).unwrap();
        let mut conn = storage.writer.lock().unwrap();
        let tx = conn.transaction().unwrap();
        for id in ["p1", "p2", "p3", "p4"] {
            latest_applied(&tx, id).unwrap();
            leading_category(&tx, id).unwrap();
        }
        let latest = format!(
            "SELECT {APPLIED_COLUMNS} FROM audit WHERE item_id = ?1 ORDER BY id DESC LIMIT 1"
        );
        let category = "SELECT reporter_type, category FROM reports WHERE item_id = ?1 ORDER BY id";
        for sql in [latest.as_str(), category] {
            let stmt = tx.prepare_cached(sql).unwrap();
            assert_eq!(
                stmt.get_status(rusqlite::StatementStatus::RePrepare),
                0,
                "{sql}"
            );
        }
    }

    /// The lane tabs and the author record read tallies the writes keep (schema 7). They must
    /// agree with counting the items themselves, through new reports, a later report that
    /// moves an item's lane, take downs, keeps, escalations to every tier and a reversal.
    #[test]
    fn the_tally_agrees_with_counting_the_items_after_every_kind_of_change() {
        use crate::model::{
            Decision, DecisionAction, DecisionOutcome, EscalationTier, ItemKind, NewReport,
            ReporterType, Subject,
        };
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("modq.db")).unwrap();
        let now: DateTime<Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
        let report = |i: usize, reporter: ReporterType| NewReport {
            subject: Subject {
                id: format!("p{i}"),
                kind: ItemKind::Post,
                text: Some(format!("post {i}")),
                // Five authors, and every sixth item by nobody known.
                author: (!i.is_multiple_of(6)).then(|| crate::model::Author {
                    id: format!("u{}", i % 5),
                    handle: None,
                }),
                language: None,
                countries: vec![],
                media: vec![],
            },
            reporter_type: reporter,
            category: "spam".into(),
            comment: None,
            lane: None,
            // Every third has a deadline, half of those already passed.
            deadline: i
                .is_multiple_of(3)
                .then(|| now + chrono::TimeDelta::hours(i as i64 % 2 * 48 - 24)),
            received_at: Some(now),
        };
        let reporters = [
            ReporterType::User,
            ReporterType::TrustedFlagger,
            ReporterType::Authority,
            ReporterType::Automated,
        ];
        let first: Vec<NewReport> = (0..60).map(|i| report(i, reporters[i % 4])).collect();
        storage.add_reports(&first, now).unwrap();
        // A later report from an authority moves some items to a more urgent lane.
        let later: Vec<NewReport> = (0..60)
            .step_by(7)
            .map(|i| report(i, ReporterType::Authority))
            .collect();
        storage.add_reports(&later, now).unwrap();

        let admin = TokenInfo {
            id: 1,
            name: "ad".into(),
            role: Role::Admin,
        };
        let decide =
            |i: usize, action, target: Option<EscalationTier>, reverses: Option<String>| Decision {
                idempotency_key: format!("k{i}-{action:?}"),
                item_id: format!("p{i}"),
                action,
                reason_code: None,
                note: Some("see the report".into()),
                scope: None,
                escalation_target: target,
                reverses,
                decided_at: now,
                method: crate::model::DecisionMethod::Single,
            };
        let mut decisions: Vec<Decision> = (0..8)
            .map(|i| decide(i, DecisionAction::TakeDown, None, None))
            .chain((8..16).map(|i| decide(i, DecisionAction::Keep, None, None)))
            .chain((16..32).map(|i| {
                let tier = EscalationTier::ALL[i % EscalationTier::ALL.len()];
                decide(i, DecisionAction::Escalate, Some(tier), None)
            }))
            .collect();
        let taken_down = decisions[0].idempotency_key.clone();
        decisions.push(decide(0, DecisionAction::Reverse, None, Some(taken_down)));
        let results = storage
            .apply_decisions(&admin, &decisions, &PolicyCatalog::builtin(), now)
            .unwrap();
        for r in &results {
            assert_eq!(r.outcome, DecisionOutcome::Applied, "{r:?}");
        }

        let tallied = storage.queue_counts(now).unwrap();
        let conn = storage.writer.lock().unwrap();
        for lane in &tallied.lanes {
            let (open, overdue): (i64, i64) = conn
                .query_row(
                    "SELECT COUNT(*), COALESCE(SUM(deadline <= ?2), 0) FROM items
                     WHERE state = 'open' AND lane = ?1",
                    [lane.lane.as_str(), &ts(now)],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            let counted = (
                u64::try_from(open).unwrap(),
                u64::try_from(overdue).unwrap(),
            );
            assert_eq!((lane.open, lane.overdue), counted, "{lane:?}");
        }
        for tier in &tallied.tiers {
            let escalated: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM items
                     WHERE state = 'escalated' AND COALESCE(escalation_target, 'senior') = ?1",
                    [tier.tier.as_str()],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(
                tier.escalated,
                u64::try_from(escalated).unwrap(),
                "{tier:?}"
            );
        }
        // Not a comparison of zeros: the changes left something in every column.
        assert!(tallied.lanes.iter().filter(|l| l.open > 0).count() >= 3);
        assert!(tallied.lanes.iter().any(|l| l.overdue > 0));
        assert!(tallied.tiers.iter().all(|t| t.escalated > 0));
        let by_author = |sql: &str| -> Vec<(String, String, i64)> {
            conn.prepare(sql)
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        let counted = by_author(
            "SELECT author_id, state, COUNT(*) FROM items WHERE author_id IS NOT NULL
             GROUP BY 1, 2 ORDER BY 1, 2",
        );
        let tallied = by_author(
            "SELECT author_id, state, items FROM author_tally WHERE items != 0 ORDER BY 1, 2",
        );
        assert_eq!(tallied, counted);
        assert!(counted.len() > 10, "{counted:?}");
        // And it reads no item but the overdue ones.
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {LANE_COUNTS}"))
            .unwrap()
            .query_map([ts(now)], |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|l| l.contains("COVERING INDEX items_overdue")),
            "{plan:?}"
        );
        assert!(
            !plan.iter().any(|l| l.starts_with("SCAN items")),
            "{plan:?}"
        );
    }

    /// A moderator's report on content the server did not know gives no author; the
    /// intake's description that follows replaces the content, and the author's tally counts
    /// the item from then on.
    #[test]
    fn the_intakes_description_replaces_a_reporters_and_moves_the_author_tally() {
        use crate::model::{Author, ItemKind, Media, NewReport, ReporterType, Subject};
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("modq.db")).unwrap();
        let now = Utc::now();
        let report = |text: &str, author: &str| NewReport {
            subject: Subject {
                id: "p1".into(),
                kind: ItemKind::Post,
                text: Some(text.into()),
                author: Some(Author {
                    id: author.into(),
                    handle: None,
                }),
                language: None,
                countries: vec!["de".into()],
                media: vec![Media {
                    kind: "image".into(),
                    description: None,
                    hash_match: Some("list".into()),
                }],
            },
            reporter_type: ReporterType::User,
            category: "spam".into(),
            comment: None,
            lane: None,
            deadline: None,
            received_at: None,
        };
        let alice = TokenInfo {
            id: 1,
            name: "alice".into(),
            role: Role::Moderator,
        };
        let ada = TokenInfo {
            id: 2,
            name: "ada".into(),
            role: Role::Admin,
        };
        storage
            .file_reports(Some(&alice), &[report("forged", "u-victim")], now)
            .unwrap();
        let item = storage.item("p1").unwrap().unwrap();
        assert_eq!(item.text.as_deref(), Some("forged"));
        assert!(item.author.is_none() && item.countries.is_empty());
        assert!(item.media.iter().all(|m| m.hash_match.is_none()));
        storage
            .file_reports(Some(&ada), &[report("real", "u-real")], now)
            .unwrap();
        let item = storage.item("p1").unwrap().unwrap();
        assert_eq!(item.text.as_deref(), Some("real"));
        assert_eq!(item.author.map(|a| a.id).as_deref(), Some("u-real"));
        assert_eq!(item.countries, ["DE"]);
        assert_eq!(item.media[0].hash_match.as_deref(), Some("list"));
        let conn = storage.writer.lock().unwrap();
        let tallied: Vec<(String, i64)> = conn
            .prepare("SELECT author_id, items FROM author_tally WHERE items != 0")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(tallied, [("u-real".to_string(), 1)]);
    }

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

    /// Negations and alternatives keep the walk in its index: they filter the rows the order's
    /// index yields (alternatives on one field as one `IN` list), never a scan or a sort.
    #[test]
    fn negated_and_alternative_filters_keep_the_walk_in_its_index() {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("modq.db")).unwrap();
        let conn = storage.writer.lock().unwrap();
        for filter in [
            "cat:spam,scam",
            "-cat:spam,scam",
            "lane:urgent,authority",
            "-lane:standard lang:de,fr",
            "-lang:ru prio:>50,<10 -word",
            "author:u-1,u-2 reporter:user,authority country:DE,AT",
        ] {
            let query = QueueQuery {
                filter: query::Query::parse(filter).unwrap(),
                sort: Sort::Age,
                ..QueueQuery::default()
            };
            let (sql, values) = queue_sql(&conn, &query, 50, None).unwrap();
            let plan: Vec<String> = conn
                .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
                .unwrap()
                .query_map(rusqlite::params_from_iter(values), |r| r.get(3))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            assert!(
                plan.iter().any(|l| l.contains("INDEX items_")),
                "{filter}: {plan:?}"
            );
            assert!(
                !plan.iter().any(|l| l.starts_with("SCAN items")),
                "{filter}: {plan:?}"
            );
            assert!(
                !plan.iter().any(|l| l.contains("TEMP B-TREE")),
                "{filter}: {plan:?}"
            );
            if filter.starts_with("cat:") {
                let sql = sql.to_lowercase();
                assert!(
                    sql.contains("lower(r.category) in (?, ?)"),
                    "one IN list: {sql}"
                );
            }
        }
    }

    /// Every page of every order, lane or not, open or escalated, seeks in an index: no
    /// walk over the table, no sort of it. Schema 6's queue indexes hold only open and
    /// escalated items, which SQLite uses only when it can see the state in the query.
    #[test]
    fn every_queue_walk_reads_an_index_in_its_order() {
        use crate::model::Lane;
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("modq.db")).unwrap();
        let conn = storage.writer.lock().unwrap();
        let sorts = [Sort::Priority, Sort::Age, Sort::Reports, Sort::Deadline];
        for sort in sorts {
            for state in [ReviewState::Open, ReviewState::Escalated] {
                for lane in [None, Some(Lane::Urgent)] {
                    for after in [false, true] {
                        let keys = match sort {
                            Sort::Age | Sort::Deadline => [
                                SortValue::Text("2026-01-01T00:00:00.000000Z".into()),
                                SortValue::Int(50),
                            ],
                            Sort::Priority => [
                                SortValue::Int(50),
                                SortValue::Text("2026-01-01T00:00:00.000000Z".into()),
                            ],
                            Sort::Reports => [SortValue::Int(3), SortValue::Int(50)],
                        };
                        let query = QueueQuery {
                            lane,
                            state,
                            sort,
                            after: after.then(|| Cursor {
                                sort,
                                keys,
                                id: "p1".into(),
                                group: None,
                            }),
                            ..QueueQuery::default()
                        };
                        let groups = match sort {
                            Sort::Priority => vec![Some(true), Some(false)],
                            _ => vec![None],
                        };
                        for group in groups {
                            let (sql, values) = queue_sql(&conn, &query, 50, group).unwrap();
                            let mut stmt =
                                conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
                            let plan: Vec<String> = stmt
                                .query_map(rusqlite::params_from_iter(values), |r| r.get(3))
                                .unwrap()
                                .collect::<rusqlite::Result<_>>()
                                .unwrap();
                            let case = format!(
                                "{sort:?} {state:?} {lane:?} after={after} {group:?}: {plan:?}"
                            );
                            assert!(plan.iter().any(|l| l.contains("INDEX items_")), "{case}");
                            assert!(!plan.iter().any(|l| l.starts_with("SCAN items")), "{case}");
                            assert!(!plan.iter().any(|l| l.contains("TEMP B-TREE")), "{case}");
                        }
                    }
                }
            }
        }
    }
}
