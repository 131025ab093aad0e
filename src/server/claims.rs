//! Fair claims for a team: how much one moderator may hold, for how long, and how much of
//! the urgent and authority lanes. Pure rules; storage counts, handlers enforce.
//!
//! A lease says "I am reviewing this": whoever holds more than they can review before it
//! runs out keeps work from the moderators who could. So a holder has at most
//! [`LeasePolicy::max_leases`] live leases, no lease is longer than
//! [`LeasePolicy::max_lease_seconds`], and the lanes whose deadlines matter most are shared
//! out: nobody holds more than their fair share of them while others are active.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};

use crate::model::{EscalationTier, Lane, ReviewState};

use super::storage::TokenInfo;

/// Live leases one holder may have at once, unless `modq serve --max-leases` says otherwise:
/// a screenful and a short prefetch.
pub const DEFAULT_MAX_LEASES: u32 = 25;
/// The longest lease granted, unless `modq serve --max-lease-seconds` says otherwise.
pub const DEFAULT_MAX_LEASE_SECONDS: u32 = 900;
/// A token that claimed, renewed or read the queue this recently counts as active, so that
/// it gets its share of the urgent lanes before it has leased anything.
pub const ACTIVE_FOR_SECONDS: i64 = 120;

/// The lanes whose items are shared out among the active moderators.
pub const SHARED_LANES: [Lane; 2] = [Lane::Urgent, Lane::Authority];

/// The server's limits on leases (`modq serve --max-leases`, `--max-lease-seconds`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeasePolicy {
    pub max_leases: u32,
    pub max_lease_seconds: u32,
}

impl Default for LeasePolicy {
    fn default() -> LeasePolicy {
        LeasePolicy {
            max_leases: DEFAULT_MAX_LEASES,
            max_lease_seconds: DEFAULT_MAX_LEASE_SECONDS,
        }
    }
}

impl LeasePolicy {
    /// The lease length granted: what the general rule allows, and no more than this server's
    /// cap.
    pub fn lease_seconds(&self, requested: Option<u32>) -> u32 {
        super::rules::lease_seconds(requested)
            .min(self.max_lease_seconds.max(super::rules::MIN_LEASE_SECONDS))
    }
}

/// A holder's fair share of a lane with `open` items (leased or not) among `active`
/// moderators, the holder included: rounded up, so that the shares cover the lane.
pub fn fair_share(open: u64, active: usize) -> u64 {
    let active = u64::try_from(active.max(1)).unwrap_or(u64::MAX);
    open.div_ceil(active)
}

/// Whether `actor` may lease an item in `state` (escalated to `tier`): the same rule as a
/// claim of that state and tier ([`rules::claim_tier`](super::rules::claim_tier)).
pub fn may_claim(actor: &TokenInfo, state: ReviewState, tier: Option<EscalationTier>) -> bool {
    super::rules::claim_tier(actor, state, tier).is_ok()
}

/// Who asked the server for work lately, by token name. Kept in memory: a restart forgets
/// it, and within [`ACTIVE_FOR_SECONDS`] everyone who is working has asked again.
#[derive(Debug, Clone, Default)]
pub struct Activity(Arc<Mutex<HashMap<String, DateTime<Utc>>>>);

impl Activity {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, DateTime<Utc>>> {
        // Each entry is valid on its own, so a poisoned map is still usable.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `who` asked for work at `now`. Entries gone stale are dropped on the way, so the map
    /// holds at most the tokens active in the last [`ACTIVE_FOR_SECONDS`].
    pub fn seen(&self, who: &str, now: DateTime<Utc>) {
        let mut map = self.lock();
        let since = now - TimeDelta::seconds(ACTIVE_FOR_SECONDS);
        map.retain(|_, at| *at > since);
        map.insert(who.to_owned(), now);
    }

    /// The other tokens active at `now`.
    pub fn others(&self, who: &str, now: DateTime<Utc>) -> Vec<String> {
        let since = now - TimeDelta::seconds(ACTIVE_FOR_SECONDS);
        self.lock()
            .iter()
            .filter(|(name, at)| name.as_str() != who && **at > since)
            .map(|(name, _)| name.clone())
            .collect()
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn the_shares_of_a_lane_cover_it_and_differ_by_at_most_one() {
        for open in 0..70u64 {
            for active in 1..40usize {
                let share = fair_share(open, active);
                assert!(share * active as u64 >= open, "{open} over {active}");
                assert!(share.saturating_sub(1) * (active as u64) < open.max(1));
            }
        }
        assert_eq!(fair_share(30, 32), 1);
        assert_eq!(fair_share(30, 2), 15);
        assert_eq!(fair_share(5, 0), 5, "a lone claimer may take the lane");
    }

    #[test]
    fn a_lease_is_never_longer_than_the_servers_cap() {
        let policy = LeasePolicy::default();
        assert_eq!(policy.lease_seconds(Some(3600)), DEFAULT_MAX_LEASE_SECONDS);
        assert_eq!(policy.lease_seconds(None), 300);
        assert_eq!(
            policy.lease_seconds(Some(1)),
            super::super::rules::MIN_LEASE_SECONDS
        );
        let tight = LeasePolicy {
            max_leases: 5,
            max_lease_seconds: 60,
        };
        assert_eq!(tight.lease_seconds(None), 60);
    }

    #[test]
    fn activity_forgets_who_has_not_asked_lately() {
        let activity = Activity::default();
        let t0: DateTime<Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
        activity.seen("alice", t0);
        activity.seen("bob", t0 + TimeDelta::seconds(60));
        assert_eq!(
            activity.others("carol", t0 + TimeDelta::seconds(61)).len(),
            2
        );
        let later = t0 + TimeDelta::seconds(ACTIVE_FOR_SECONDS + 1);
        assert_eq!(activity.others("carol", later), vec!["bob".to_string()]);
        assert!(activity.others("bob", later).is_empty());
    }
}
