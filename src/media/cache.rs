//! The images fetched this session, in memory only and bounded: a moderator's laptop must
//! not become a store of abuse material, so nothing here is ever written anywhere.

use std::collections::VecDeque;
use std::sync::Arc;

use super::decode::Prepared;

/// Images kept at most; the oldest shown is dropped first.
pub const CAPACITY: usize = 32;

/// What became of one medium's fetch.
#[derive(Debug, Clone)]
pub enum Slot {
    /// Asked for; the placeholder shows.
    Pending,
    Ready(Arc<Prepared>),
    /// Why there is no image, for good (refused, not an image it can decode).
    Failed(String),
    /// Why there is no image for now (offline, a server error, the decoder busy): asked
    /// again when the item is shown again.
    Retry(String),
}

/// Media by id, the most recently used last.
#[derive(Debug, Default)]
pub struct MediaCache {
    slots: VecDeque<(String, Slot)>,
}

impl MediaCache {
    pub fn get(&self, id: &str) -> Option<&Slot> {
        self.slots.iter().find(|(k, _)| k == id).map(|(_, s)| s)
    }

    /// Keep `slot` for `id`, dropping the least recently set past [`CAPACITY`].
    pub fn set(&mut self, id: &str, slot: Slot) {
        self.slots.retain(|(k, _)| k != id);
        self.slots.push_back((id.to_string(), slot));
        while self.slots.len() > CAPACITY {
            self.slots.pop_front();
        }
    }

    /// Forget `id` (a refused decode is asked again next time).
    pub fn forget(&mut self, id: &str) {
        self.slots.retain(|(k, _)| k != id);
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_keeps_the_latest_within_its_capacity() {
        let mut cache = MediaCache::default();
        for n in 0..CAPACITY + 5 {
            cache.set(&format!("m{n}"), Slot::Pending);
        }
        assert_eq!(cache.len(), CAPACITY);
        assert!(cache.get("m0").is_none());
        assert!(cache.get(&format!("m{}", CAPACITY + 4)).is_some());
        cache.forget("m10");
        assert!(cache.get("m10").is_none());
    }
}
