//! Measures on an author's account (issue 19, "The account"): a strike, a restriction of
//! reach, a suspension for a period, a ban. A measure rides on a take down (the content
//! that broke a policy is why the account is acted on), so it is journaled, deduplicated,
//! audited, reversed and stated like the take down it comes with.
//!
//! Plain serde types shared by the API, the server and the client; the rules that weigh
//! them (the catalog's proposal, what counts in the window) are the server's
//! (`server::account_rules`).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The shortest period a restriction or suspension may last, in days.
pub const MIN_DAYS: u32 = 1;
/// The longest: a year. Longer than that is a ban, and says so.
pub const MAX_DAYS: u32 = 365;

/// What happens to the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountAction {
    /// A recorded violation and nothing more: the account works as before, but strikes
    /// within the catalog's window lead to the measures it proposes.
    Strike,
    /// Reach limited for `days`: the account may post, but its posts are left out of
    /// recommendations, search and other people's feeds beyond its followers.
    Restrict,
    /// The account may not post or log in for `days`.
    Suspend,
    /// The account is terminated.
    Ban,
}

impl AccountAction {
    pub const ALL: [AccountAction; 4] = [
        AccountAction::Strike,
        AccountAction::Restrict,
        AccountAction::Suspend,
        AccountAction::Ban,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountAction::Strike => "strike",
            AccountAction::Restrict => "restrict",
            AccountAction::Suspend => "suspend",
            AccountAction::Ban => "ban",
        }
    }

    pub fn parse(s: &str) -> Option<AccountAction> {
        AccountAction::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// Whether the measure lasts a period (and so needs `days`).
    pub fn has_period(self) -> bool {
        matches!(self, AccountAction::Restrict | AccountAction::Suspend)
    }
}

/// One measure as a decision asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountMeasure {
    pub action: AccountAction,
    /// For `restrict` and `suspend` only: how long, 1 to 365 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 365)]
    pub days: Option<u32>,
}

impl AccountMeasure {
    pub fn strike() -> AccountMeasure {
        AccountMeasure {
            action: AccountAction::Strike,
            days: None,
        }
    }

    /// Why this measure cannot be applied as sent.
    pub fn check(&self) -> Result<(), String> {
        match (self.action.has_period(), self.days) {
            (true, None) => Err(format!(
                "an account {} needs `days` ({MIN_DAYS} to {MAX_DAYS})",
                self.action.as_str()
            )),
            (true, Some(d)) if !(MIN_DAYS..=MAX_DAYS).contains(&d) => Err(format!(
                "an account {} lasts {MIN_DAYS} to {MAX_DAYS} days, not {d}",
                self.action.as_str()
            )),
            (false, Some(_)) => Err(format!(
                "an account {} has no period; leave `days` out",
                self.action.as_str()
            )),
            _ => Ok(()),
        }
    }

    /// When a measure applied at `at` ends; `None`: it does not end by itself.
    pub fn until(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let days = self.days.filter(|_| self.action.has_period())?;
        at.checked_add_signed(Duration::days(i64::from(days)))
    }

    /// "suspend 7 d", "ban", for pickers, messages and the audit.
    pub fn label(&self) -> String {
        match self.days.filter(|_| self.action.has_period()) {
            Some(d) => format!("{} {d} d", self.action.as_str()),
            None => self.action.as_str().to_string(),
        }
    }
}

/// One measure the account had, as the server recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountMeasureRecord {
    pub measure: AccountMeasure,
    /// When the take down carrying it was applied.
    pub at: DateTime<Utc>,
    /// When a restriction or suspension ends.
    #[serde(default)]
    pub until: Option<DateTime<Utc>>,
    /// The policy the take down cited.
    #[serde(default)]
    pub reason_code: Option<String>,
}

impl AccountMeasureRecord {
    /// Whether it still limits the account at `now` (a strike never does).
    pub fn in_force(&self, now: DateTime<Utc>) -> bool {
        match self.measure.action {
            AccountAction::Strike => false,
            AccountAction::Ban => true,
            AccountAction::Restrict | AccountAction::Suspend => self.until.is_some_and(|u| u > now),
        }
    }
}

/// How the author's account stands, carried on an item so the moderator reads it without a
/// round trip: its age, its strikes within the catalog's window, what limits it now, and
/// what the catalog proposes for a take down of this item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountStanding {
    pub account_id: String,
    /// When the account was made, as the platform's intake said; absent when unknown.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    /// The catalog's strike window.
    pub window_days: u32,
    /// Measures applied within the window and not reversed (every measure is a strike).
    pub strikes_in_window: u32,
    /// The latest of those, newest first, at most five.
    #[serde(default)]
    pub recent: Vec<AccountMeasureRecord>,
    /// A ban, or the restriction or suspension that ends last, still in force.
    #[serde(default)]
    pub in_force: Option<AccountMeasureRecord>,
    /// What the catalog proposes with a take down now (the next strike counted).
    #[serde(default)]
    pub proposal: Option<AccountMeasure>,
    /// What a platform without a strike window counts for the account instead (Bluesky
    /// Ozone's `accountStats`); `window_days` is then 0 and no strike is counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<AccountCounts>,
}

/// A platform's own counts for an account, each absent where the platform gave none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountCounts {
    /// Reports on the account itself.
    #[serde(default)]
    pub reports: Option<u64>,
    /// Take downs of the account.
    #[serde(default)]
    pub takedowns: Option<u64>,
    /// Suspensions (take downs for a period) of the account.
    #[serde(default)]
    pub suspensions: Option<u64>,
    /// Appeals its author lodged.
    #[serde(default)]
    pub appeals: Option<u64>,
    #[serde(default)]
    pub escalations: Option<u64>,
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_bounded_and_only_where_they_mean_something() {
        let m = |action, days| AccountMeasure { action, days };
        assert!(m(AccountAction::Suspend, Some(7)).check().is_ok());
        assert!(m(AccountAction::Suspend, Some(365)).check().is_ok());
        assert!(m(AccountAction::Suspend, None).check().is_err());
        assert!(m(AccountAction::Suspend, Some(0)).check().is_err());
        assert!(m(AccountAction::Restrict, Some(366)).check().is_err());
        assert!(m(AccountAction::Ban, Some(3)).check().is_err());
        assert!(m(AccountAction::Strike, None).check().is_ok());
        assert_eq!(m(AccountAction::Suspend, Some(7)).label(), "suspend 7 d");
        assert!(
            serde_json::from_str::<AccountMeasure>(r#"{"action":"obliterate"}"#).is_err(),
            "unknown actions do not parse"
        );
    }
}
