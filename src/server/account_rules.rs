//! The account rules, pure and decided once for every engine: which measures a take down may
//! carry, what counts as a strike within the catalog's window, and what the catalog proposes.
//! Engines load the author's measures; the HTTP layer weighs them with [`assess`].

use chrono::{DateTime, Duration, Utc};

use crate::account::{AccountAction, AccountMeasure, AccountMeasureRecord, AccountStanding};
use crate::model::{Decision, DecisionAction, Item};
use crate::policy::AccountPolicy;

use super::storage::TokenInfo;

/// How many recent measures an item carries for the moderator to read.
pub const RECENT_SHOWN: usize = 5;
/// How many of an author's measures an engine loads, newest first: more than any window
/// needs to count up to the catalog's last step, and a bound on what one item weighs.
pub const MEASURES_LOADED: usize = 50;

/// Why a decision's measure is malformed, before anything is looked up.
pub fn check_shape(d: &Decision) -> Result<(), String> {
    let Some(measure) = &d.account else {
        return Ok(());
    };
    if d.action != DecisionAction::TakeDown {
        return Err(format!(
            "an account measure comes with a take down, not with {}",
            d.action.label()
        ));
    }
    measure.check()
}

/// Why `actor` may not apply `measure` to the author of an item (`author`: its account id).
pub fn refuse_measure(
    actor: &TokenInfo,
    measure: &AccountMeasure,
    author: Option<&str>,
) -> Option<String> {
    if author.is_none_or(|a| a.trim().is_empty()) {
        return Some(format!(
            "the item has no author account to {}",
            measure.action.as_str()
        ));
    }
    // A ban ends an account: a second pair of eyes, as for reversing others' decisions.
    if measure.action == AccountAction::Ban && !actor.role.is_lead() {
        return Some(format!(
            "a ban needs a senior, specialist or admin role (this token's role is {})",
            actor.role.as_str()
        ));
    }
    None
}

/// The record a measure applied at `at` leaves.
pub fn record(
    measure: AccountMeasure,
    at: DateTime<Utc>,
    reason_code: Option<String>,
) -> AccountMeasureRecord {
    AccountMeasureRecord {
        measure,
        at,
        until: measure.until(at),
        reason_code,
    }
}

/// The measure the catalog proposes for an author with `strikes` in the window: the last
/// step the next strike reaches.
pub fn proposal(policy: &AccountPolicy, strikes: u32) -> Option<AccountMeasure> {
    let next = strikes.saturating_add(1);
    policy
        .steps
        .iter()
        .rev()
        .find(|s| s.strikes <= next)
        .map(|s| s.measure())
}

/// Fills in the standing from the measures an engine loaded (`standing.recent`: every
/// measure not lifted, newest first): what counts in the window at `now`, what still limits
/// the account, and the catalog's proposal. A banned account gets no proposal.
pub fn assess(standing: &mut AccountStanding, policy: &AccountPolicy, now: DateTime<Utc>) {
    let since = now
        .checked_sub_signed(Duration::days(i64::from(policy.strike_window_days)))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let mut all = std::mem::take(&mut standing.recent);
    all.sort_by_key(|m| std::cmp::Reverse(m.at));
    standing.in_force = all
        .iter()
        .filter(|m| m.in_force(now))
        .max_by_key(|m| (m.measure.action == AccountAction::Ban, m.until))
        .cloned();
    let within: Vec<AccountMeasureRecord> = all.into_iter().filter(|m| m.at >= since).collect();
    standing.window_days = policy.strike_window_days;
    standing.strikes_in_window = u32::try_from(within.len()).unwrap_or(u32::MAX);
    let banned = standing
        .in_force
        .as_ref()
        .is_some_and(|m| m.measure.action == AccountAction::Ban);
    standing.proposal = if banned {
        None
    } else {
        proposal(policy, standing.strikes_in_window)
    };
    standing.recent = within.into_iter().take(RECENT_SHOWN).collect();
}

/// [`assess`] for every item that carries its author's standing.
pub fn assess_items(items: &mut [Item], policy: &AccountPolicy, now: DateTime<Utc>) {
    for item in items {
        if let Some(standing) = item.account.as_mut() {
            assess(standing, policy, now);
        }
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::PolicyCatalog;

    fn at(days_ago: i64, now: DateTime<Utc>) -> AccountMeasureRecord {
        record(
            AccountMeasure::strike(),
            now - Duration::days(days_ago),
            None,
        )
    }

    #[test]
    fn the_third_strike_within_ninety_days_proposes_a_week_of_suspension() {
        let policy = PolicyCatalog::builtin().account;
        let now = Utc::now();
        let mut standing = AccountStanding {
            account_id: "u".into(),
            created_at: None,
            window_days: 0,
            strikes_in_window: 0,
            recent: vec![at(10, now), at(100, now), at(30, now)],
            in_force: None,
            proposal: None,
            counts: None,
        };
        assess(&mut standing, &policy, now);
        assert_eq!(standing.strikes_in_window, 2, "the one 100 days ago is out");
        assert_eq!(
            standing.proposal,
            Some(AccountMeasure {
                action: AccountAction::Suspend,
                days: Some(7)
            })
        );
        assert_eq!(proposal(&policy, 0), Some(AccountMeasure::strike()));
        assert_eq!(proposal(&policy, 1), Some(AccountMeasure::strike()));
        assert_eq!(
            proposal(&policy, 3).map(|m| m.action),
            Some(AccountAction::Suspend)
        );
        assert_eq!(
            proposal(&policy, 4).map(|m| m.action),
            Some(AccountAction::Ban)
        );
        assert_eq!(proposal(&AccountPolicy::default(), 9), None);
    }

    #[test]
    fn a_suspension_is_in_force_until_it_ends_and_a_ban_is_never_proposed_again() {
        let policy = PolicyCatalog::builtin().account;
        let now = Utc::now();
        let suspension = AccountMeasure {
            action: AccountAction::Suspend,
            days: Some(7),
        };
        let mut standing = AccountStanding {
            account_id: "u".into(),
            created_at: None,
            window_days: 0,
            strikes_in_window: 0,
            recent: vec![record(suspension, now - Duration::days(2), None)],
            in_force: None,
            proposal: None,
            counts: None,
        };
        assess(&mut standing, &policy, now);
        assert_eq!(
            standing.in_force.as_ref().map(|m| m.measure),
            Some(suspension)
        );
        assess(&mut standing, &policy, now + Duration::days(6));
        assert!(standing.in_force.is_none(), "ended after its 7 days");
        standing.recent.push(record(
            AccountMeasure {
                action: AccountAction::Ban,
                days: None,
            },
            now,
            None,
        ));
        assess(&mut standing, &policy, now);
        assert_eq!(standing.proposal, None);
    }
}
