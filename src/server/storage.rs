//! The storage boundary of the server: a small synchronous trait, so that handlers stay the
//! same whether the data lives in SQLite or (later) PostgreSQL. Handlers call it through
//! `tokio::task::spawn_blocking`.
//!
//! What a decision may do is not decided here but in [`super::rules`], so a second
//! implementation only loads facts and writes outcomes.

use chrono::{DateTime, Utc};

use crate::model::{
    ClaimedPage, Decision, DecisionResult, Item, Lane, LeaseRenewal, NewReport, QueuePage,
    ReportAccepted, ReviewState, Role,
};
use crate::query::{Query, Sort};

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
    /// Only items matching this filter (see [`crate::query`]).
    pub filter: Query,
    pub sort: Sort,
    /// Start after this position; the first page when absent. Its order is `sort`'s.
    pub after: Option<Cursor>,
    /// Already clamped to `1..=MAX_PAGE_LIMIT` by the caller.
    pub limit: usize,
}

impl Default for QueueQuery {
    fn default() -> QueueQuery {
        QueueQuery {
            lane: None,
            state: ReviewState::Open,
            filter: Query::default(),
            sort: Sort::Priority,
            after: None,
            limit: DEFAULT_PAGE_LIMIT,
        }
    }
}

pub const DEFAULT_PAGE_LIMIT: usize = 50;
pub const MAX_PAGE_LIMIT: usize = 500;
/// Most ids one selection answers (`*` on a filter): a flood, not the whole platform.
pub const MAX_SELECTION: usize = 200_000;

/// One value of a sort key, as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum SortValue {
    Int(i64),
    Text(String),
}

/// A position in one queue order: the two sort keys of the last item seen, and its id.
///
/// Keyset rather than offset, so that reports arriving while a moderator pages through the
/// queue neither repeat nor skip the items they have not seen yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub sort: Sort,
    pub keys: [SortValue; 2],
    pub id: String,
}

impl Cursor {
    /// Hex of a JSON array `[sort, key1, key2, id]`: opaque to clients, who must only pass
    /// it back.
    pub fn encode(&self) -> String {
        let [a, b] = &self.keys;
        let wire = (self.sort.as_str(), a, b, &self.id);
        hex::encode(serde_json::to_string(&wire).unwrap_or_default())
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let plain = String::from_utf8(hex::decode(text).ok()?).ok()?;
        let (sort, a, b, id): (String, SortValue, SortValue, String) =
            serde_json::from_str(&plain).ok()?;
        Some(Cursor {
            sort: Sort::parse(&sort)?,
            keys: [a, b],
            id,
        })
    }
}

/// `POST /v1/queue/select` answer, as storage gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// Matching items nobody else holds a live lease on, in queue order.
    pub ids: Vec<String>,
    /// Matching items passed over because another moderator is reviewing them.
    pub leased_elsewhere: usize,
    /// More matched than [`MAX_SELECTION`].
    pub truncated: bool,
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

    /// The ids of up to `limit` items matching `query` (its cursor and page limit are
    /// ignored), skipping items whose live lease is someone other than `holder`'s. Leases
    /// nothing: deciding them is what the caller does next.
    fn select(
        &self,
        holder: &str,
        query: &QueueQuery,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Selected, StorageError>;

    /// Applies a batch in one transaction and answers one result per decision, in order.
    /// An idempotency key is applied at most once, ever. Applying a decision deletes the
    /// item's lease, whoever held it, in the same transaction.
    fn apply_decisions(
        &self,
        actor: &TokenInfo,
        decisions: &[Decision],
        now: DateTime<Utc>,
    ) -> Result<Vec<DecisionResult>, StorageError>;

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
            sort: Sort::Deadline,
            keys: [
                SortValue::Text("2026-01-01T00:00:00.000000Z".into()),
                SortValue::Int(-170),
            ],
            id: "post|1 with \"quotes\"".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        assert_eq!(Cursor::decode("zz"), None);
        assert_eq!(Cursor::decode(&hex::encode("[1,2]")), None);
        assert_eq!(
            Cursor::decode(&hex::encode(r#"["size",1,2,"a"]"#)),
            None,
            "unknown sort"
        );
    }
}
