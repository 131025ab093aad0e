//! The storage boundary of the server: a small synchronous trait, so that handlers stay the
//! same whether the data lives in SQLite or (later) PostgreSQL. Handlers call it through
//! `tokio::task::spawn_blocking`.
//!
//! What a decision may do is not decided here but in [`super::rules`], so a second
//! implementation only loads facts and writes outcomes.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::model::{
    ClaimedPage, Decision, DecisionAction, DecisionResult, EscalationTier, HistoryEntry, Item,
    Lane, LeaseRenewal, NewReport, QueueCounts, QueuePage, ReportAccepted, ReviewState, Role,
    Scope,
};
use crate::policy::PolicyCatalog;

/// Whom a bearer token belongs to. The actor of every decision is this name, never a name
/// the client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub name: String,
    pub role: Role,
}

/// One page request of the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueQuery {
    /// Only this lane; every lane when absent.
    pub lane: Option<Lane>,
    pub state: ReviewState,
    /// Only items escalated to this tier; every tier when absent.
    pub tier: Option<EscalationTier>,
    /// The instant that decides which items are overdue: the first page's, carried in the
    /// cursor, so that one walk through the queue keeps one order.
    pub as_of: DateTime<Utc>,
    /// Start after this position; the first page when absent.
    pub after: Option<Cursor>,
    /// Already clamped to `1..=MAX_PAGE_LIMIT` by the caller.
    pub limit: usize,
}

pub const DEFAULT_PAGE_LIMIT: usize = 50;
pub const MAX_PAGE_LIMIT: usize = 500;

/// A position in queue order: urgent-lane and overdue items first, then priority DESC,
/// created_at ASC, id ASC.
///
/// Keyset rather than offset, so that reports arriving while a moderator pages through the
/// queue neither repeat nor skip the items they have not seen yet. Overdue depends on the
/// clock, so the cursor carries the instant (`as_of`) its walk began with: every page of
/// one walk judges "overdue" at that instant, and an item falling overdue mid-walk does not
/// jump back to a page already read. A new walk (no cursor) takes the current time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub as_of: DateTime<Utc>,
    /// Whether the position is in the first group (urgent lane or overdue at `as_of`).
    pub first: bool,
    pub priority: i64,
    pub created_at: DateTime<Utc>,
    pub id: String,
}

/// Whether an item sorts into the first group at `as_of`. The queue SQL says the same.
pub fn sorts_first(item: &Item, as_of: DateTime<Utc>) -> bool {
    item.lane == Lane::Urgent || item.deadline.is_some_and(|d| d <= as_of)
}

impl Cursor {
    pub fn after_item(item: &Item, as_of: DateTime<Utc>) -> Cursor {
        Cursor {
            as_of,
            first: sorts_first(item, as_of),
            priority: item.priority,
            created_at: item.created_at,
            id: item.id.clone(),
        }
    }

    /// Hex of "as_of|first|priority|created_at|id": opaque to clients, who must only pass
    /// it back. The first four fields never contain `|`, so the id may.
    pub fn encode(&self) -> String {
        let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
        hex::encode(format!(
            "{}|{}|{}|{}|{}",
            stamp(self.as_of),
            u8::from(self.first),
            self.priority,
            stamp(self.created_at),
            self.id
        ))
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let plain = String::from_utf8(hex::decode(text).ok()?).ok()?;
        let mut fields = plain.splitn(5, '|');
        let stamp = |s: &str| {
            DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        };
        let as_of = stamp(fields.next()?)?;
        let first = match fields.next()? {
            "0" => false,
            "1" => true,
            _ => return None,
        };
        let priority = fields.next()?.parse().ok()?;
        let created_at = stamp(fields.next()?)?;
        let id = fields.next()?.to_owned();
        Some(Cursor {
            as_of,
            first,
            priority,
            created_at,
            id,
        })
    }
}

/// One take down still in force, with the item as it is now: what a statement of reasons
/// is written from.
#[derive(Debug, Clone, PartialEq)]
pub struct TakeDownRecord {
    /// The audit row's number; never reused, so it makes the statement's `puid`.
    pub audit_id: i64,
    pub applied_at: DateTime<Utc>,
    pub reason_code: Option<String>,
    /// This decision's own scope (a widening take down names only what it added).
    pub scope: Scope,
    pub item: Item,
}

/// One applied decision and the facts about its item the daily report counts by.
#[derive(Debug, Clone, PartialEq)]
pub struct DecisionFact {
    pub action: DecisionAction,
    pub applied_at: DateTime<Utc>,
    pub reason_code: Option<String>,
    pub lane: Lane,
    pub countries: Vec<String>,
    /// The item's first report.
    pub reported_at: DateTime<Utc>,
    pub deadline: Option<DateTime<Utc>>,
    /// See [`rules::leading_category`](super::rules::leading_category).
    pub report_category: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The request breaks a rule the storage enforces (e.g. an empty token name).
    #[error("{0}")]
    Invalid(String),
    /// The backend failed; the request may be retried.
    #[error("storage failed: {0:#}")]
    Backend(#[from] anyhow::Error),
}

/// Everything the API needs from its data. Each method is one transaction.
pub trait Storage: Send + Sync {
    /// Records reports, merging each into the item for its subject, and answers one receipt
    /// per report. All or none are stored: a report failing
    /// [`check_report`](super::rules::check_report) refuses the lot with
    /// [`StorageError::Invalid`]. `now` stands in for a missing `received_at`.
    fn add_reports(
        &self,
        reports: &[NewReport],
        now: DateTime<Utc>,
    ) -> Result<Vec<ReportAccepted>, StorageError>;

    /// [`Storage::add_reports`] for one report.
    fn add_report(
        &self,
        report: &NewReport,
        now: DateTime<Utc>,
    ) -> Result<ReportAccepted, StorageError> {
        self.add_reports(std::slice::from_ref(report), now)?
            .pop()
            .ok_or_else(|| {
                StorageError::Backend(anyhow::anyhow!("a report was stored without a receipt"))
            })
    }

    fn queue_page(&self, query: &QueueQuery) -> Result<QueuePage, StorageError>;

    /// One item with its reports and full history.
    fn item(&self, id: &str) -> Result<Option<Item>, StorageError>;

    /// Leases the next page of the queue to `holder` for `lease_seconds` (already clamped by
    /// the caller, see [`rules::lease_seconds`](super::rules::lease_seconds)) from `now`.
    ///
    /// Walks the queue exactly as [`Storage::queue_page`] does (same filters, order and
    /// cursor), skipping items whose lease is someone else's and live
    /// ([`rules::claim_skips`](super::rules::claim_skips)), takes up to `query.limit` items
    /// and leases each to `holder`, overwriting expired leases and extending the holder's own.
    /// `next_cursor` points after the last item examined, taken or skipped, and is absent
    /// when no item past it could be claimed now.
    ///
    /// Must be one transaction that no concurrent claim can interleave with: two claimers
    /// must never both take one item. SQLite gets this from a write transaction begun
    /// IMMEDIATE; PostgreSQL would walk with `SELECT … FOR UPDATE SKIP LOCKED` on the items
    /// and their lease rows, so that concurrent claimers pass over each other's rows.
    fn claim(
        &self,
        holder: &str,
        query: &QueueQuery,
        lease_seconds: u32,
        now: DateTime<Utc>,
    ) -> Result<ClaimedPage, StorageError>;

    /// Extends `holder`'s leases on `item_ids` to `now + lease_seconds`, in one transaction.
    /// An id is `renewed` when [`rules::may_renew`](super::rules::may_renew) allows it, else
    /// `lost`. Each id is answered once, in the order first given.
    fn renew_leases(
        &self,
        holder: &str,
        item_ids: &[String],
        lease_seconds: u32,
        now: DateTime<Utc>,
    ) -> Result<LeaseRenewal, StorageError>;

    /// Deletes `holder`'s lease rows on `item_ids` (live or expired; never anyone else's)
    /// and answers how many there were.
    fn release_leases(&self, holder: &str, item_ids: &[String]) -> Result<usize, StorageError>;

    /// Applies a batch in one transaction and answers one result per decision, in order.
    /// An idempotency key is applied at most once, ever. Applying a decision deletes the
    /// item's lease, whoever held it, in the same transaction.
    fn apply_decisions(
        &self,
        actor: &TokenInfo,
        decisions: &[Decision],
        policies: &PolicyCatalog,
        now: DateTime<Utc>,
    ) -> Result<Vec<DecisionResult>, StorageError>;

    /// Adds a note to an item's history (`None`: no such item). Append-only, like decisions.
    fn add_note(
        &self,
        actor: &TokenInfo,
        item_id: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<HistoryEntry>, StorageError>;

    /// Open items per lane (and how many are overdue at `now`), escalated items per tier.
    fn queue_counts(&self, now: DateTime<Utc>) -> Result<QueueCounts, StorageError>;

    /// Every decision applied in `[from, to)`, oldest first.
    fn decisions_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<DecisionFact>, StorageError>;

    /// Take downs applied at or after `since` and not reversed since, oldest first.
    fn take_downs_since(&self, since: DateTime<Utc>) -> Result<Vec<TakeDownRecord>, StorageError>;

    /// `hash` is the lowercase hex SHA-256 of the token; plaintext never reaches storage.
    fn token_lookup(&self, hash: &str) -> Result<Option<TokenInfo>, StorageError>;

    fn add_token(&self, name: &str, role: Role, hash: &str) -> Result<(), StorageError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor {
            as_of: DateTime::from_timestamp(1_700_000_500, 0).unwrap_or_default(),
            first: true,
            priority: 170,
            created_at: DateTime::from_timestamp(1_700_000_000, 123_000).unwrap_or_default(),
            id: "post|1 with spaces".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("zz"), None);
        assert_eq!(Cursor::decode(&hex::encode("1|2")), None);
        assert_eq!(
            Cursor::decode(&hex::encode(
                "2026-01-01T00:00:00Z|2|1|2026-01-01T00:00:00Z|a"
            )),
            None
        );
    }
}
