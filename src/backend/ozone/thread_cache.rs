//! Threads as the AppView last gave them, kept a short while. A page read brings each post's
//! thread; the item read that follows it, the page read again after a decision, or a
//! session resumed would each ask the AppView again for the same posts. A thread is kept
//! [`KEPT_FOR`], for at most [`KEPT`] posts (a thread is at most eleven posts of 4,000
//! characters), the oldest going first.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::model::Thread;

/// How long a thread is taken from memory instead of the AppView.
pub const KEPT_FOR: Duration = Duration::from_secs(120);
/// Most posts whose threads are kept: two and a half pages.
pub const KEPT: usize = 256;

#[derive(Default)]
pub struct ThreadCache {
    /// By post URI: when the AppView answered, and what (`None`: it showed no thread).
    threads: Mutex<HashMap<String, (Instant, Option<Thread>)>>,
}

impl ThreadCache {
    /// The answer for `uri` the AppView gave less than [`KEPT_FOR`] before `now`; `None`
    /// when there is none to take.
    pub fn get(&self, uri: &str, now: Instant) -> Option<Option<Thread>> {
        let threads = self.threads.lock().unwrap_or_else(PoisonError::into_inner);
        let (at, thread) = threads.get(uri)?;
        (now.saturating_duration_since(*at) < KEPT_FOR).then(|| thread.clone())
    }

    /// Keeps the AppView's answer for `uri`, given at `now`.
    pub fn put(&self, uri: &str, thread: Option<Thread>, now: Instant) {
        let mut threads = self.threads.lock().unwrap_or_else(PoisonError::into_inner);
        if threads.len() >= KEPT && !threads.contains_key(uri) {
            threads.retain(|_, (at, _)| now.saturating_duration_since(*at) < KEPT_FOR);
            let oldest = threads
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(uri, _)| uri.clone());
            if let (true, Some(oldest)) = (threads.len() >= KEPT, oldest) {
                threads.remove(&oldest);
            }
        }
        threads.insert(uri.to_string(), (now, thread));
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    fn thread(parent: &str) -> Thread {
        Thread {
            parent: Some(crate::model::ThreadMessage {
                id: parent.into(),
                author: None,
                text: None,
                at: None,
            }),
            ..Thread::default()
        }
    }

    #[test]
    fn an_answer_is_taken_from_memory_while_fresh_a_post_without_a_thread_too() {
        let cache = ThreadCache::default();
        let at = Instant::now();
        assert_eq!(cache.get("at://p", at), None);
        cache.put("at://p", Some(thread("at://parent")), at);
        cache.put("at://gone", None, at);
        let soon = at + KEPT_FOR - Duration::from_secs(1);
        assert_eq!(cache.get("at://p", soon), Some(Some(thread("at://parent"))));
        assert_eq!(cache.get("at://gone", soon), Some(None));
        assert_eq!(
            cache.get("at://p", at + KEPT_FOR),
            None,
            "stale: asked again"
        );
    }

    #[test]
    fn at_most_kept_posts_the_oldest_going_first() {
        let cache = ThreadCache::default();
        let at = Instant::now();
        for n in 0..KEPT + 10 {
            let when = at + Duration::from_millis(n as u64);
            cache.put(&format!("at://{n}"), None, when);
        }
        let now = at + Duration::from_secs(1);
        assert_eq!(cache.threads.lock().unwrap().len(), KEPT);
        assert_eq!(cache.get("at://0", now), None, "the oldest went first");
        assert_eq!(cache.get(&format!("at://{}", KEPT + 9), now), Some(None));
    }
}
