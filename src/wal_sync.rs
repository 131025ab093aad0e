//! Making commits survive a power cut without holding anyone up for the disk.
//!
//! The outbox and the reference server commit with `synchronous = NORMAL`: a commit is written
//! into the WAL file, so it is in the kernel and survives the process being killed or the SSH
//! link dropping, but it is not fsynced. An fsync is the slowest and least predictable step of
//! a write (0.3 ms on a quiet disk, tens of ms on a busy one), so it happens here instead: one
//! background thread fsyncs the WAL file whenever asked, and requests that arrive while it is
//! busy are served by one fsync together (group commit).
//!
//! - The outbox asks and goes on: a decision is on the disk itself a few milliseconds after its
//!   key, and the moderator never waits for it.
//! - The server asks once it has let go of its write lock, and waits before it answers: an
//!   acknowledged decision has reached the disk, yet the next batch is being applied while
//!   this one's fsync runs, and concurrent clients share fsyncs.
//!
//! The same thread copies the WAL back into the database (a checkpoint) at most once a second,
//! so that no writer ever pays for one: the writers' connections do not checkpoint.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often, at most, the thread checkpoints: often enough that the WAL stays small, rarely
/// enough that a burst of decisions costs one checkpoint rather than one each.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// The fsync thread of one database file. It starts with the first request; dropping this
/// serves every request made, then stops the thread.
pub struct WalSync {
    db: PathBuf,
    progress: Arc<Progress>,
    running: Mutex<Option<Running>>,
}

struct Running {
    wake: Sender<()>,
    thread: JoinHandle<()>,
}

#[derive(Default)]
struct Progress {
    counts: Mutex<Counts>,
    changed: Condvar,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    /// Requests made so far; each is numbered by this count when it is made.
    requested: u64,
    /// Every request up to this number was made before an fsync that succeeded.
    synced: u64,
    /// The last fsync that failed served every request up to this number; the next request's
    /// fsync tries again for all of them.
    failed: u64,
    /// fsyncs that failed so far.
    failures: u64,
    checkpoints: u64,
}

impl Progress {
    fn counts(&self) -> MutexGuard<'_, Counts> {
        // Counters stay meaningful whatever a panicking holder was doing.
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl WalSync {
    pub fn new(db: &Path) -> WalSync {
        WalSync {
            db: db.to_owned(),
            progress: Arc::default(),
            running: Mutex::default(),
        }
    }

    /// Asks for everything committed so far to reach the disk, and returns at once with the
    /// request's number (see [`WalSync::wait`]).
    pub fn request(&self) -> u64 {
        let number = {
            let mut counts = self.progress.counts();
            counts.requested += 1;
            counts.requested
        };
        let handed_over = {
            let mut running = self.running();
            if running.is_none() {
                *running = self.start();
            }
            let sent = running
                .as_ref()
                .is_some_and(|running| running.wake.send(()).is_ok());
            if !sent {
                *running = None;
            }
            sent
        };
        if !handed_over {
            // No thread to take it (none could be started, or it died): this request pays for
            // its own fsync, so no commit is left waiting for one. The next tries a thread.
            serve_now(&self.db, &self.progress, number);
        }
        number
    }

    fn running(&self) -> MutexGuard<'_, Option<Running>> {
        // Whatever a panicking holder was doing, the slot holds a thread or none.
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn start(&self) -> Option<Running> {
        let (wake, asked) = mpsc::channel();
        let (db, progress) = (self.db.clone(), self.progress.clone());
        let started = std::thread::Builder::new()
            .name("modq-wal-sync".into())
            .spawn(move || run(&db, &asked, &progress));
        match started {
            Ok(thread) => Some(Running { wake, thread }),
            Err(e) => {
                tracing::warn!(error = %e, db = %self.db.display(), "cannot start the fsync thread");
                None
            }
        }
    }

    /// Waits up to `timeout` for request `number` to be synced; says whether it was. A failed
    /// fsync answers at once: the disk has refused, and waiting longer would not change that.
    pub fn wait(&self, number: u64, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut counts = self.progress.counts();
        while counts.synced < number {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || counts.failed >= number {
                return false;
            }
            counts = self
                .progress
                .changed
                .wait_timeout(counts, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        true
    }

    /// fsyncs that have failed so far. A later fsync that succeeds does not make up for one:
    /// after a failed fsync the kernel may have dropped the pages it could not write, so
    /// what they held is safe only once it is somewhere else too.
    pub fn failures(&self) -> u64 {
        self.progress.counts().failures
    }

    /// Checkpoints made by the thread so far.
    pub fn checkpoints(&self) -> u64 {
        self.progress.counts().checkpoints
    }
}

impl Drop for WalSync {
    fn drop(&mut self) {
        if let Some(Running { wake, thread }) = self.running().take() {
            // The thread serves what is queued, then sees the channel closed.
            drop(wake);
            if thread.join().is_err() {
                tracing::warn!(db = %self.db.display(), "the fsync thread panicked");
            }
        }
    }
}

fn run(db: &Path, asked: &Receiver<()>, progress: &Progress) {
    let mut wal: Option<File> = None;
    let mut checkpointer: Option<rusqlite::Connection> = None;
    let mut last_checkpoint: Option<Instant> = None;
    while asked.recv().is_ok() {
        // Everything asked for until now is served by this one fsync.
        while asked.try_recv().is_ok() {}
        let up_to = progress.counts().requested;
        match sync(db, &mut wal) {
            Ok(()) => {
                progress.counts().synced = up_to;
                progress.changed.notify_all();
                if last_checkpoint.is_none_or(|at| at.elapsed() >= CHECKPOINT_EVERY) {
                    last_checkpoint = Some(Instant::now());
                    match checkpoint(db, &mut checkpointer) {
                        Ok(()) => progress.counts().checkpoints += 1,
                        Err(e) => {
                            tracing::warn!(error = %e, db = %db.display(), "checkpoint failed")
                        }
                    }
                }
            }
            Err(e) => {
                // Left unsynced; the next request tries again with the file opened afresh.
                tracing::warn!(error = %e, db = %db.display(), "fsync failed");
                wal = None;
                let mut counts = progress.counts();
                counts.failed = up_to;
                counts.failures += 1;
                progress.changed.notify_all();
            }
        }
    }
}

/// One request served on the caller's thread.
fn serve_now(db: &Path, progress: &Progress, number: u64) {
    match sync(db, &mut None) {
        Ok(()) => {
            let mut counts = progress.counts();
            counts.synced = counts.synced.max(number);
            progress.changed.notify_all();
        }
        Err(e) => {
            tracing::warn!(error = %e, db = %db.display(), "fsync failed");
            let mut counts = progress.counts();
            counts.failed = counts.failed.max(number);
            counts.failures += 1;
            progress.changed.notify_all();
        }
    }
}

/// fsyncs the WAL: every connection's commits are in that one file.
fn sync(db: &Path, wal: &mut Option<File>) -> std::io::Result<()> {
    if wal.is_none() {
        let mut path = db.as_os_str().to_owned();
        path.push("-wal");
        match File::open(&path) {
            Ok(file) => *wal = Some(file),
            // No WAL: the last checkpoint put everything in the database file itself.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return File::open(db)?.sync_all();
            }
            Err(e) => return Err(e),
        }
    }
    match wal.as_ref() {
        Some(file) => file.sync_data(),
        None => Ok(()),
    }
}

fn checkpoint(db: &Path, conn: &mut Option<rusqlite::Connection>) -> rusqlite::Result<()> {
    if conn.is_none() {
        let opened = rusqlite::Connection::open(db)?;
        opened.busy_timeout(Duration::from_secs(5))?;
        *conn = Some(opened);
    }
    if let Some(conn) = conn.as_ref() {
        // PASSIVE never waits for a writer or a reader; what it cannot copy now, a later one
        // will. With `synchronous = NORMAL` it syncs the database after copying.
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
    }
    Ok(())
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    fn wal_db(dir: &Path) -> (PathBuf, rusqlite::Connection) {
        let path = dir.join("outbox.sqlite");
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        conn.execute_batch("CREATE TABLE t (v BLOB)").unwrap();
        (path, conn)
    }

    /// A database with one commit in its WAL, and the `WalSync` that has synced it (request 1).
    fn synced_once(dir: &Path) -> (rusqlite::Connection, WalSync) {
        let (path, conn) = wal_db(dir);
        let sync = WalSync::new(&path);
        conn.execute("INSERT INTO t VALUES (x'01')", []).unwrap();
        let first = sync.request();
        assert_eq!(first, 1);
        assert!(sync.wait(first, Duration::from_secs(10)));
        (conn, sync)
    }

    #[test]
    fn a_request_is_synced_and_later_requests_wait_for_their_own_fsync() {
        let dir = tempfile::tempdir().unwrap();
        let (_conn, sync) = synced_once(dir.path());
        let first = 1;
        // Nothing has asked for a second fsync yet, so none is claimed for it.
        assert!(!sync.wait(first + 1, Duration::from_millis(1)));
        let second = sync.request();
        assert!(sync.wait(second, Duration::from_secs(10)));
    }

    #[test]
    fn the_thread_checkpoints_so_the_wal_does_not_grow_without_end() {
        let dir = tempfile::tempdir().unwrap();
        let (conn, sync) = synced_once(dir.path());
        drop(conn);
        // The first round checkpoints (nothing has for a second); the count is settled once
        // the thread has served everything, which dropping waits for.
        let progress = sync.progress.clone();
        drop(sync);
        assert_eq!(progress.counts().checkpoints, 1);
    }

    #[test]
    fn a_failed_fsync_is_told_at_once_and_the_next_request_tries_again() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("later");
        // Nothing there yet: the fsync fails, and the waiter hears so without waiting out its
        // ten minutes.
        let sync = WalSync::new(&folder.join("outbox.sqlite"));
        let first = sync.request();
        assert!(!sync.wait(first, Duration::from_secs(600)));
        assert_eq!(sync.progress.counts().failed, first);
        assert_eq!(sync.failures(), 1);
        // Once the file is there, the next request's fsync succeeds for both.
        std::fs::create_dir(&folder).unwrap();
        let (_path, conn) = wal_db(&folder);
        conn.execute("INSERT INTO t VALUES (x'01')", []).unwrap();
        let second = sync.request();
        assert!(sync.wait(second, Duration::from_secs(600)));
        assert!(sync.wait(first, Duration::ZERO));
        assert_eq!(
            sync.failures(),
            1,
            "a later success does not undo a failure"
        );
    }

    #[test]
    fn without_a_thread_a_request_is_synced_on_the_spot() {
        let dir = tempfile::tempdir().unwrap();
        let (path, conn) = wal_db(dir.path());
        conn.execute("INSERT INTO t VALUES (x'01')", []).unwrap();
        let progress = Progress::default();
        serve_now(&path, &progress, 3);
        assert_eq!(progress.counts().synced, 3);
        // An older request served late never moves the mark back.
        serve_now(&path, &progress, 2);
        assert_eq!(progress.counts().synced, 3);
    }
}
