//! Expensive reads that any token may ask for (the day's transparency figures read a whole
//! day of the audit log) run one at a time, and requests that arrive while one runs share
//! the next run instead of each starting its own. A token asking hundreds of times a second
//! then costs one computation after another, never hundreds side by side, and no answer is
//! older than its request: an answer is always from a run that began after the request
//! arrived.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many keys' last answers are kept for requests still waiting on them.
const KEPT: usize = 16;

pub struct Coalesced<K, V> {
    /// Runs begun so far: a run's number is this count when it began.
    begun: AtomicU64,
    /// Held through a run, so that runs never overlap; the last answer for each key, by the
    /// number of the run that gave it.
    last: Arc<tokio::sync::Mutex<HashMap<K, (u64, V)>>>,
}

impl<K, V> Coalesced<K, V>
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Clone + Send + 'static,
{
    pub fn new() -> Coalesced<K, V> {
        Coalesced {
            begun: AtomicU64::new(0),
            last: Arc::new(tokio::sync::Mutex::new(HashMap::new())),
        }
    }

    /// The answer for `key` from a run of `run` that began after this call: one already
    /// made for a request that waited alongside, or a new run.
    pub async fn get<E, F, Fut>(&self, key: K, run: F) -> Result<V, E>
    where
        E: Send + 'static,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, E>> + Send + 'static,
    {
        let arrived = self.begun.load(Ordering::SeqCst);
        let mut last = Arc::clone(&self.last).lock_owned().await;
        if let Some((number, answer)) = last.get(&key)
            && *number > arrived
        {
            return Ok(answer.clone());
        }
        let number = self.begun.fetch_add(1, Ordering::SeqCst) + 1;
        // The run is a task of its own that holds the lock to its end: a client that hangs
        // up mid-run drops this request, and the next run must still wait for this one (the
        // work on a blocking thread goes on either way), or a token that asks and hangs up
        // in a loop has runs side by side after all.
        let task = tokio::spawn(async move {
            let answer = run().await?;
            if last.len() >= KEPT && !last.contains_key(&key) {
                let oldest = last
                    .iter()
                    .min_by_key(|(_, (n, _))| *n)
                    .map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    last.remove(&oldest);
                }
            }
            last.insert(key, (number, answer.clone()));
            Ok(answer)
        });
        match task.await {
            Ok(answer) => answer,
            Err(failed) if failed.is_panic() => std::panic::resume_unwind(failed.into_panic()),
            // Cancelled: only when the runtime shuts down, when no one is left to answer.
            Err(_) => std::future::pending().await,
        }
    }
}

impl<K, V> Default for Coalesced<K, V>
where
    K: Eq + Hash + Clone + Send + 'static,
    V: Clone + Send + 'static,
{
    fn default() -> Coalesced<K, V> {
        Coalesced::new()
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use tokio::sync::Semaphore;

    /// A computation that counts its runs, answers its run's number, and finishes only
    /// when the test lets it.
    struct Slow {
        runs: AtomicUsize,
        gate: Semaphore,
    }

    type Memo = Arc<Coalesced<&'static str, usize>>;

    /// A request for today's answer, as a task of its own (a client that may hang up).
    fn ask(memo: &Memo, slow: &Arc<Slow>) -> tokio::task::JoinHandle<Result<usize, ()>> {
        let (memo, slow) = (Arc::clone(memo), Arc::clone(slow));
        tokio::spawn(async move {
            memo.get("today", move || async move { slow.run().await })
                .await
        })
    }

    impl Slow {
        fn new() -> Arc<Slow> {
            Arc::new(Slow {
                runs: AtomicUsize::new(0),
                gate: Semaphore::new(0),
            })
        }

        async fn run(&self) -> Result<usize, ()> {
            let n = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
            self.gate.acquire().await.unwrap().forget();
            Ok(n)
        }
    }

    #[tokio::test]
    async fn requests_during_a_run_share_the_next_run_and_later_ones_run_again() {
        let (memo, slow) = (Arc::new(Coalesced::new()), Slow::new());
        let first = ask(&memo, &slow);
        while slow.runs.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        // A hundred requests arrive while the first run is under way.
        let waiting: Vec<_> = (0..100).map(|_| ask(&memo, &slow)).collect();
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert_eq!(slow.runs.load(Ordering::SeqCst), 1, "runs never overlap");
        slow.gate.add_permits(1);
        assert_eq!(first.await.unwrap(), Ok(1));
        slow.gate.add_permits(1);
        for w in waiting {
            assert_eq!(w.await.unwrap(), Ok(2), "one run, begun after they arrived");
        }
        assert_eq!(slow.runs.load(Ordering::SeqCst), 2);

        // Asked again once all is done: a new run, never the answer from before.
        slow.gate.add_permits(1);
        assert_eq!(ask(&memo, &slow).await.unwrap(), Ok(3));
    }

    /// A client that asks and hangs up mid-run (its request dropped) does not free the next
    /// run to start beside it: the run goes on to its end, and only then does the next begin.
    #[tokio::test]
    async fn a_request_dropped_mid_run_does_not_let_the_next_run_overlap_it() {
        let (memo, slow) = (Arc::new(Coalesced::new()), Slow::new());
        for _ in 0..10 {
            let hung_up = ask(&memo, &slow);
            while slow.runs.load(Ordering::SeqCst) == 0 {
                tokio::task::yield_now().await;
            }
            hung_up.abort();
            assert!(hung_up.await.unwrap_err().is_cancelled());
        }
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert_eq!(slow.runs.load(Ordering::SeqCst), 1, "runs never overlap");
        let next = ask(&memo, &slow);
        slow.gate.add_permits(2);
        assert_eq!(next.await.unwrap(), Ok(2), "begun after the first ended");
    }

    #[tokio::test]
    async fn a_failed_run_is_not_kept_and_keys_are_bounded() {
        let memo = Coalesced::<u32, u32>::new();
        assert_eq!(
            memo.get(1, || async { Err::<u32, &str>("down") }).await,
            Err("down")
        );
        assert_eq!(memo.get(1, || async { Ok::<u32, &str>(7) }).await, Ok(7));
        for key in 0..100 {
            memo.get(key, move || async move { Ok::<u32, ()>(key) })
                .await
                .unwrap();
        }
        assert!(memo.last.lock().await.len() <= KEPT);
    }
}
