//! Bulk: from `;` + take down on 100,000 tagged items until the reference server has
//! acknowledged all of them (SQLite), beside the raw rate of batched inserts into the same
//! SQLite file in the same run, which is the limit. A second limit, the storage floor, does
//! in raw SQL only the writes that make a take down (the item's state, an audit row with the
//! audit table's indexes, its lease released), batched the same way: what any server on this
//! schema pays. A third, the audit rows alone, is what any design that keeps an audit row per
//! decision in this database pays before it can acknowledge, whatever it defers.
//!
//! `cargo bench --bench bulk` prints the figures. `MODQ_BENCH_BULK=N` tags N items instead,
//! `MODQ_BENCH_RUNS=R` makes R runs instead of 3.

mod support;

use std::time::Instant;

use rusqlite::{Connection, params};
use tokio::runtime::Runtime;

use support::session::{Session, start_server};

/// Inserts `rows` rows shaped like outbox decisions into a scratch table of the database at
/// `path`, `batch` per transaction, durable as the server's own (WAL, synchronous=FULL);
/// answers rows per second.
fn raw_insert_rate(path: &std::path::Path, rows: usize, batch: usize) -> f64 {
    let conn = Connection::open(path).expect("open");
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("sync");
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .expect("busy");
    conn.execute_batch(
        "DROP TABLE IF EXISTS bench_raw;
         CREATE TABLE bench_raw (key TEXT PRIMARY KEY, item_id TEXT NOT NULL, body TEXT NOT NULL)",
    )
    .expect("table");
    let started = Instant::now();
    let mut n = 0;
    while n < rows {
        let tx = conn.unchecked_transaction().expect("tx");
        {
            let mut insert = tx
                .prepare_cached("INSERT INTO bench_raw (key, item_id, body) VALUES (?1, ?2, ?3)")
                .expect("prepare");
            for _ in 0..batch.min(rows - n) {
                insert
                    .execute(params![
                        modq::store::new_key(),
                        format!("post-{n:07}"),
                        r#"{"action":"take_down","scope":"global"}"#
                    ])
                    .expect("insert");
                n += 1;
            }
        }
        tx.commit().expect("commit");
    }
    let rate = rows as f64 / started.elapsed().as_secs_f64();
    conn.execute_batch("DROP TABLE bench_raw").expect("drop");
    rate
}

/// The writes of one take down, in raw SQL, each binding whichever of `:id` (the item), `:at`
/// (the batch's time) and `:key` (a fresh idempotency key) it names.
const TAKE_ITEM_DOWN: &str =
    "UPDATE items SET state = 'taken_down', restricted_in = '\"global\"' WHERE id = :id";
const APPEND_AUDIT_ROW: &str =
    "INSERT INTO bench_audit (at, actor, role, action, item_id, scope, idempotency_key,
                              decided_at, from_state, to_state)
     VALUES (:at, 'bench', 'moderator', 'take_down', :id, '\"global\"', :key, :at,
             'open', 'taken_down')";
const RELEASE_LEASE: &str = "DELETE FROM leases WHERE item_id = :id";

/// Runs `writes` for every item of `ids`, in order, `batch` items per transaction; answers
/// items per second.
fn timed_writes(conn: &Connection, ids: &[String], batch: usize, writes: &[&str]) -> f64 {
    let started = Instant::now();
    for chunk in ids.chunks(batch) {
        let tx = conn.unchecked_transaction().expect("tx");
        {
            let mut statements: Vec<_> = writes
                .iter()
                .map(|sql| tx.prepare_cached(sql).expect("prepare"))
                .collect();
            let at = chrono::Utc::now().to_rfc3339();
            for id in chunk {
                let key = modq::store::new_key();
                for statement in &mut statements {
                    for (name, value) in [(":id", id), (":at", &at), (":key", &key)] {
                        if let Some(i) = statement.parameter_index(name).expect("name") {
                            statement.raw_bind_parameter(i, value).expect("bind");
                        }
                    }
                    statement.raw_execute().expect("write");
                }
            }
        }
        tx.commit().expect("commit");
    }
    ids.len() as f64 / started.elapsed().as_secs_f64()
}

/// The two limits a server on this schema cannot beat, in decisions per second, measured on
/// a connection set up as the server's writer, in the bulk's order, `batch` per transaction:
/// - the storage floor: the writes a take down makes. The item leaves its queue (its state
///   changes, so it leaves every queue index), one row goes into a copy of the audit table
///   with its indexes, its lease is released. The items are put back open and leased first,
///   untimed, so the floor moves them exactly as the bulk did.
/// - the audit floor: the audit rows alone, which any design that keeps an audit row per
///   decision in this database writes before it can acknowledge.
fn storage_floors(path: &std::path::Path, batch: usize) -> (f64, f64) {
    let conn = Connection::open(path).expect("open");
    conn.pragma_update(None, "synchronous", "FULL")
        .expect("sync");
    conn.pragma_update(None, "cache_size", -262_144)
        .expect("cache");
    conn.pragma_update(None, "wal_autocheckpoint", 10_000)
        .expect("checkpoint");
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .expect("busy");
    let schema: Vec<String> = conn
        .prepare(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'audit' AND sql IS NOT NULL
             AND type IN ('table', 'index')",
        )
        .expect("schema")
        .query_map([], |r| r.get(0))
        .expect("schema")
        .collect::<Result<_, _>>()
        .expect("schema");
    let copy_audit_table = || {
        for sql in &schema {
            let copy = sql
                .replace("CREATE TABLE audit", "CREATE TABLE bench_audit")
                .replace(" ON audit ", " ON bench_audit ")
                .replace("INDEX audit_", "INDEX bench_audit_");
            conn.execute_batch(&copy).expect("copy of the audit table");
        }
    };
    let ids: Vec<String> = conn
        .prepare("SELECT item_id FROM audit WHERE action = 'take_down' ORDER BY id")
        .expect("ids")
        .query_map([], |r| r.get(0))
        .expect("ids")
        .collect::<Result<_, _>>()
        .expect("ids");
    // An empty list would time nothing and print a floor of 0 (it once did, when the query
    // looked for another actor's rows).
    assert!(
        !ids.is_empty(),
        "the bulk's take downs are in the audit log"
    );
    conn.execute_batch(
        "BEGIN;
         UPDATE items SET state = 'open', restricted_in = NULL WHERE state = 'taken_down';
         INSERT OR REPLACE INTO leases (item_id, holder, expires_at)
             SELECT item_id, 'bench', '2999-01-01T00:00:00.000000Z' FROM audit
             WHERE action = 'take_down';
         COMMIT;
         PRAGMA wal_checkpoint(TRUNCATE);",
    )
    .expect("put the items back");
    copy_audit_table();
    let storage = timed_writes(
        &conn,
        &ids,
        batch,
        &[TAKE_ITEM_DOWN, APPEND_AUDIT_ROW, RELEASE_LEASE],
    );
    conn.execute_batch("DROP TABLE bench_audit; PRAGMA wal_checkpoint(TRUNCATE);")
        .expect("drop");
    copy_audit_table();
    let audit = timed_writes(&conn, &ids, batch, &[APPEND_AUDIT_ROW]);
    conn.execute_batch("DROP TABLE bench_audit").expect("drop");
    (storage, audit)
}

fn main() {
    let items: usize = std::env::var("MODQ_BENCH_BULK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(support::size(100_000, 300));
    let runs: usize = std::env::var("MODQ_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(support::size(3, 1));
    let rt = Runtime::new().expect("runtime");
    println!(
        "modq bulk benchmark: `*` tags {items} items, `;` `t` `y` takes them down; {runs} runs"
    );
    let mut lines = Vec::new();
    for run in 0..runs {
        let server = start_server(&rt, items, |api| api);
        let mut session = Session::open(&rt, &server);
        // Tag every open item: those in memory at once, the rest when the server answers.
        session.key(&rt, '*');
        session.pump_until(&rt, |app| app.tagged.len() >= items);
        let started = Instant::now();
        for k in [';', 't', 'y'] {
            session.key(&rt, k);
        }
        assert!(session.app.bulk.is_some(), "the bulk action started");
        // First every decision is in the outbox; the flusher sends from then on.
        session.pump_until(&rt, |app| app.bulk.as_ref().is_none_or(|b| b.saved));
        let journaled = started.elapsed().as_secs_f64();
        // The App lets go of a bulk action once the server has acknowledged all of it.
        session.pump_until(&rt, |app| app.bulk.is_none());
        let took = started.elapsed().as_secs_f64();
        let said = session
            .app
            .flash
            .clone()
            .map(|f| f.text)
            .unwrap_or_default();
        assert!(said.contains("acknowledged"), "{said}");
        assert!(!said.contains("refused"), "{said}");
        session.close(&rt);
        let raw = raw_insert_rate(&server.db, items, modq::server::MAX_DECISIONS_PER_BATCH);
        let (floor, audit) = storage_floors(&server.db, modq::server::MAX_DECISIONS_PER_BATCH);
        let rate = items as f64 / took;
        eprintln!(
            "  run {}: {items} in the outbox after {journaled:.2} s, acknowledged after \
             {took:.2} s, {rate:.0} decisions/s; raw batched inserts {raw:.0} rows/s; storage \
             floor {floor:.0} decisions/s; audit rows alone {audit:.0}/s",
            run + 1
        );
        lines.push((took, rate, raw, floor, audit, journaled));
    }
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (took, rate, raw, floor, audit, journaled) = lines[lines.len() / 2];
    println!(
        "median run: {items} take downs in the outbox {journaled:.2} s and acknowledged {took:.2} s \
         after `;`: {rate:.0} decisions/s; \
         raw batched inserts ({} per transaction) into the same SQLite file: {raw:.0} rows/s, \
         ratio {:.2}; storage floor (item state + audit row + lease, raw SQL): {floor:.0} decisions/s, \
         ratio {:.2}; audit rows alone (raw SQL): {audit:.0}/s, {:.2} of the raw rate",
        modq::server::MAX_DECISIONS_PER_BATCH,
        rate / raw,
        rate / floor,
        audit / raw
    );
}
