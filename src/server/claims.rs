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

use crate::model::{ClaimCap, EscalationTier, Lane, ReviewState};

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

/// What a holder may still take in one claim: room under the cap on live leases, and what
/// is left of its fair share of each shared lane of the open queue. Every engine counts the
/// figures in its own transaction and this decides, so the rule is written once.
#[derive(Debug)]
pub struct Allowance {
    room: usize,
    /// Per shared lane (by its stored name): the holder's share, and how many it holds.
    lanes: Vec<(String, u64, u64)>,
    /// The caps that trimmed this claim, each once, in the order met.
    pub limited_by: Vec<ClaimCap>,
}

/// One shared lane as an engine counted it: its stored name, its open items, and how many of
/// them the holder already leases.
pub struct LaneHeld {
    pub lane: String,
    pub open: u64,
    pub mine: u64,
}

impl Allowance {
    /// `held`: the holder's live leases; `active`: the moderators at work, the holder included.
    pub fn new(max_leases: usize, held: usize, lanes: Vec<LaneHeld>, active: usize) -> Allowance {
        Allowance {
            room: max_leases.saturating_sub(held),
            lanes: lanes
                .into_iter()
                .map(|l| (l.lane, fair_share(l.open, active), l.mine))
                .collect(),
            limited_by: Vec::new(),
        }
    }

    /// Take an item of `lane` in `state`: always, when the holder's own lease is live (it is
    /// only extended); else when a cap allows it, which is then counted.
    pub fn take(&mut self, state: &str, lane: &str, own: bool) -> Result<(), ClaimCap> {
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
    fn an_allowance_stops_at_the_cap_and_at_the_fair_share_but_always_extends_ones_own() {
        // Two moderators at work, 4 open urgent items (a share of 2), 1 already held; 3 live
        // leases under a cap of 5.
        let lanes = vec![LaneHeld {
            lane: "urgent".into(),
            open: 4,
            mine: 1,
        }];
        let mut a = Allowance::new(5, 3, lanes, 2);
        assert_eq!(a.take("open", "urgent", false), Ok(()));
        assert_eq!(a.take("open", "urgent", false), Err(ClaimCap::FairShare));
        assert_eq!(
            a.take("escalated", "urgent", false),
            Ok(()),
            "shares are of open work"
        );
        assert_eq!(
            a.take("open", "standard", true),
            Ok(()),
            "one's own lease is extended"
        );
        assert_eq!(a.take("open", "standard", false), Err(ClaimCap::MaxLeases));
        assert_eq!(a.take("open", "urgent", false), Err(ClaimCap::MaxLeases));
        assert_eq!(a.limited_by, vec![ClaimCap::FairShare, ClaimCap::MaxLeases]);
    }

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
