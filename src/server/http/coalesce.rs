//! Expensive reads that any token may ask for (the day's transparency figures read a whole
//! day of the audit log) run one at a time, and requests that arrive while one runs share
//! the next run instead of each starting its own. A token asking hundreds of times a second
//! then costs one computation after another, never hundreds side by side, and no answer is
//! older than its request: an answer is always from a run that began after the request
//! arrived.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};

/// How many keys' last answers are kept for requests still waiting on them.
const KEPT: usize = 16;

pub struct Coalesced<K, V> {
    /// Runs begun so far: a run's number is this count when it began.
    begun: AtomicU64,
    /// Held through a run, so that runs never overlap; the last answer for each key, by the
    /// number of the run that gave it.
    last: tokio::sync::Mutex<HashMap<K, (u64, V)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> Coalesced<K, V> {
    pub fn new() -> Coalesced<K, V> {
        Coalesced {
            begun: AtomicU64::new(0),
            last: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// The answer for `key` from a run of `run` that began after this call: one already
    /// made for a request that waited alongside, or a new run.
    pub async fn get<E, F, Fut>(&self, key: K, run: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let arrived = self.begun.load(Ordering::SeqCst);
        let mut last = self.last.lock().await;
        if let Some((number, answer)) = last.get(&key)
            && *number > arrived
        {
            return Ok(answer.clone());
        }
        let number = self.begun.fetch_add(1, Ordering::SeqCst) + 1;
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
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Default for Coalesced<K, V> {
    fn default() -> Coalesced<K, V> {
        Coalesced::new()
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use tokio::sync::Semaphore;

    /// A computation that counts its runs, answers its run's number, and finishes only
    /// when the test lets it.
    struct Slow {
        runs: AtomicUsize,
        gate: Semaphore,
    }

    impl Slow {
        async fn run(&self) -> Result<usize, ()> {
            let n = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
            self.gate.acquire().await.unwrap().forget();
            Ok(n)
        }
    }

    #[tokio::test]
    async fn requests_during_a_run_share_the_next_run_and_later_ones_run_again() {
        let memo = Arc::new(Coalesced::<&str, usize>::new());
        let slow = Arc::new(Slow {
            runs: AtomicUsize::new(0),
            gate: Semaphore::new(0),
        });
        let ask = |memo: &Arc<Coalesced<&'static str, usize>>, slow: &Arc<Slow>| {
            let (memo, slow) = (Arc::clone(memo), Arc::clone(slow));
            tokio::spawn(async move { memo.get("today", || slow.run()).await })
        };
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

    #[tokio::test]
    async fn a_failed_run_is_not_kept_and_keys_are_bounded() {
        let memo = Coalesced::<u32, u32>::new();
        assert_eq!(
            memo.get(1, || async { Err::<u32, &str>("down") }).await,
            Err("down")
        );
        assert_eq!(memo.get(1, || async { Ok::<u32, &str>(7) }).await, Ok(7));
        for key in 0..100 {
            memo.get(key, || async move { Ok::<u32, ()>(key) })
                .await
                .unwrap();
        }
        assert!(memo.last.lock().await.len() <= KEPT);
    }
}
