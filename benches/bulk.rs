//! Bulk: from `;` + take down on 100,000 tagged items until the reference server has
//! acknowledged all of them (SQLite), beside the raw rate of batched inserts into the same
//! SQLite file in the same run, which is the limit.
//!
//! `cargo bench --bench bulk` prints the figures. `MODQ_BENCH_BULK=N` tags N items instead.

mod support;

use std::time::Instant;

use rusqlite::{Connection, params};
use tokio::runtime::Runtime;

use support::session::{Session, start_server};

const RUNS: usize = 3;

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

fn main() {
    let items: usize = std::env::var("MODQ_BENCH_BULK")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = Runtime::new().expect("runtime");
    println!(
        "modq bulk benchmark: `*` tags {items} items, `;` `t` `y` takes them down; {RUNS} runs"
    );
    let mut lines = Vec::new();
    for run in 0..RUNS {
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
        let raw = raw_insert_rate(&server.db, items, modq::sync::BATCH_SIZE);
        let rate = items as f64 / took;
        eprintln!(
            "  run {}: {items} acknowledged in {took:.2} s, {rate:.0} decisions/s; raw batched \
             inserts {raw:.0} rows/s",
            run + 1
        );
        lines.push((took, rate, raw));
    }
    lines.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (took, rate, raw) = lines[lines.len() / 2];
    println!(
        "median run: {items} take downs acknowledged {took:.2} s after `;`: {rate:.0} decisions/s; \
         raw batched inserts ({} per transaction) into the same SQLite file: {raw:.0} rows/s; \
         ratio {:.2}",
        modq::sync::BATCH_SIZE,
        rate / raw
    );
}
