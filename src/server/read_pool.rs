//! The connections that only read. In WAL mode a reader sees the last committed snapshot and
//! never waits for the writer, so a page fetch, a token check or a statistics query no longer
//! queues behind a bulk batch holding the write connection, and it runs on the other core.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use rusqlite::Connection;

/// How many readers may run at once. Past this, a reader waits for a connection: reads are
/// short, and each connection keeps its own page cache.
const READERS: usize = 4;

pub struct ReadPool {
    db: PathBuf,
    configure: fn(&Connection) -> rusqlite::Result<()>,
    /// Opened on first use, so a server that only writes (an import) opens none.
    slots: [Mutex<Option<Connection>>; READERS],
    next: AtomicUsize,
}

impl ReadPool {
    /// Readers of the database at `db`, each set up by `configure` when it is opened.
    pub fn new(db: &Path, configure: fn(&Connection) -> rusqlite::Result<()>) -> ReadPool {
        ReadPool {
            db: db.to_owned(),
            configure,
            slots: Default::default(),
            next: AtomicUsize::new(0),
        }
    }

    /// Runs `read` on a free reader, or on the one next in turn once it is free.
    pub fn read<T, E: From<rusqlite::Error>>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, E>,
    ) -> Result<T, E> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        // The slots in turn from `start`, each once.
        let in_turn = || {
            self.slots
                .iter()
                .cycle()
                .skip(start % READERS)
                .take(READERS)
        };
        let free = in_turn().find_map(|slot| slot.try_lock().ok());
        let mut slot = match (free, in_turn().next()) {
            (Some(slot), _) => slot,
            // A panic mid-read leaves nothing to undo: a reader holds no transaction.
            (None, Some(next)) => next.lock().unwrap_or_else(PoisonError::into_inner),
            (None, None) => return Err(rusqlite::Error::InvalidQuery.into()),
        };
        let conn = match slot.take() {
            Some(conn) => conn,
            None => self.open()?,
        };
        // One snapshot for the whole read: a page and the reports filled into it agree.
        let answer = match conn.unchecked_transaction() {
            Ok(snapshot) => read(&snapshot),
            Err(e) => Err(e.into()),
        };
        *slot = Some(conn);
        answer
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open(&self.db)?;
        (self.configure)(&conn)?;
        conn.pragma_update(None, "query_only", true)?;
        Ok(conn)
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    fn no_setup(_: &Connection) -> rusqlite::Result<()> {
        Ok(())
    }

    fn wal_db(dir: &Path) -> (PathBuf, Connection) {
        let path = dir.join("db.sqlite");
        let writer = Connection::open(&path).unwrap();
        writer
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (v INTEGER)")
            .unwrap();
        (path, writer)
    }

    fn count(pool: &ReadPool) -> i64 {
        pool.read(|c| c.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)))
            .unwrap()
    }

    #[test]
    fn readers_see_what_the_writer_committed_and_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = wal_db(dir.path());
        let pool = ReadPool::new(&path, no_setup);
        writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
        assert_eq!(count(&pool), 1);
        let write = pool.read(|c| c.execute("INSERT INTO t VALUES (2)", []));
        assert!(write.is_err());
        assert_eq!(count(&pool), 1);
    }

    #[test]
    fn a_read_goes_on_while_the_writer_holds_a_transaction_open() {
        let dir = tempfile::tempdir().unwrap();
        let (path, mut writer) = wal_db(dir.path());
        writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let pool = ReadPool::new(&path, no_setup);
        let tx = writer
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .unwrap();
        tx.execute("INSERT INTO t VALUES (2)", []).unwrap();
        // The reader sees the last commit, not the batch still being written.
        assert_eq!(count(&pool), 1);
        tx.commit().unwrap();
        assert_eq!(count(&pool), 2);
    }

    #[test]
    fn more_readers_than_connections_take_turns() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = wal_db(dir.path());
        writer.execute("INSERT INTO t VALUES (1)", []).unwrap();
        let pool = ReadPool::new(&path, no_setup);
        let counts: Vec<i64> = std::thread::scope(|s| {
            let readers: Vec<_> = (0..3 * READERS)
                .map(|_| s.spawn(|| (0..20).map(|_| count(&pool)).sum::<i64>()))
                .collect();
            readers.into_iter().map(|r| r.join().unwrap()).collect()
        });
        assert_eq!(counts, vec![20; 3 * READERS]);
    }
}
