//! The storage boundary of the server: a small synchronous trait, so that handlers stay the
//! same whether the data lives in SQLite or (later) PostgreSQL. Handlers call it through
//! `tokio::task::spawn_blocking`.
//!
//! What a decision may do is not decided here but in [`super::rules`], so a second
//! implementation only loads facts and writes outcomes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::{
    AppealLodged, AppealOutcome, ClaimedPage, Decision, DecisionAction, DecisionMethod,
    DecisionResult, EscalationTier, HistoryEntry, Item, Lane, LeaseGrant, LeaseRenewal, NewAppeal,
    NewReport, QueueCounts, QueuePage, ReportAccepted, ReviewState, Role, Scope,
};
use crate::policy::PolicyCatalog;
use crate::query::{Query, Sort};

/// Whom a bearer token belongs to. The actor of every decision is this token (its id, and
/// its name for people), never a name the client sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// Stable and never reused; what the audit log, notes and reports record.
    pub id: i64,
    /// Unique among the server's tokens (case-insensitive), revoked ones included.
    pub name: String,
    pub role: Role,
}

/// A token as `modq serve token list` shows it (never the token itself: only its hash is
/// stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// How many of `items`, from the first, fit in `budget` bytes of JSON: at least one, so that
/// no item is ever beyond reach of a page.
pub fn within_budget(items: &[Item], budget: usize) -> usize {
    let mut used: usize = 0;
    for (n, item) in items.iter().enumerate() {
        let size = serde_json::to_vec(item).map_or(usize::MAX, |v| v.len());
        used = used.saturating_add(size).saturating_add(1);
        if used > budget && n > 0 {
            return n;
        }
    }
    items.len()
}

/// One page request of the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueQuery {
    /// Only this lane; every lane when absent.
    pub lane: Option<Lane>,
    pub state: ReviewState,
    /// Only items escalated to this tier; every tier when absent.
    pub tier: Option<EscalationTier>,
    /// Only items matching this filter (see [`crate::query`]).
    pub filter: Query,
    pub sort: Sort,
    /// Leave out items held by these tiers: the ones the reader's role may not read
    /// ([`rules::unreadable_tiers`](super::rules::unreadable_tiers)).
    pub hidden_tiers: Vec<EscalationTier>,
    /// The instant that decides which items are overdue in the priority order: the first
    /// page's, carried in the cursor, so that one walk through the queue keeps one order.
    pub as_of: DateTime<Utc>,
    /// Start after this position; the first page when absent. Its order is `sort`'s.
    pub after: Option<Cursor>,
    /// Already clamped to `1..=MAX_PAGE_LIMIT` by the caller.
    pub limit: usize,
    /// A page ends early once its items' JSON reaches this many bytes (at least one item is
    /// always given); no budget when `usize::MAX`.
    pub max_bytes: usize,
}

impl Default for QueueQuery {
    fn default() -> QueueQuery {
        QueueQuery {
            lane: None,
            state: ReviewState::Open,
            tier: None,
            filter: Query::default(),
            sort: Sort::Priority,
            hidden_tiers: Vec::new(),
            as_of: Utc::now(),
            after: None,
            limit: DEFAULT_PAGE_LIMIT,
            max_bytes: usize::MAX,
        }
    }
}

pub const DEFAULT_PAGE_LIMIT: usize = 50;
pub const MAX_PAGE_LIMIT: usize = 500;
/// Most ids one selection answers (`*` on a filter): a flood, not the whole platform.
pub const MAX_SELECTION: usize = 200_000;

/// The newest reports an item read lists, at most (the rest are counted in its
/// `totals`). A viral post or a token filing reports on purpose can give an item 100,000
/// reports; listed whole, every read of it, by each of thirty moderators and in every page
/// that carries it, would be megabytes. A hundred shows the moderator what people say now;
/// the tally by category and reporter type shows the shape of the rest.
pub const REPORTS_LISTED: usize = 100;
/// The newest decisions (audit rows) an item's history carries, at most; the newest notes
/// likewise [`NOTES_LISTED`]. Each kind is capped apart, so a flood of reports can push
/// neither the latest decision (which the item's tier and allowed actions are read from) nor
/// a colleague's note out of the history. Decisions and notes are moderators' work: a
/// hundred is more than any item gathers in a normal life.
pub const DECISIONS_LISTED: usize = 100;
/// The newest notes an item's history carries, at most (see [`DECISIONS_LISTED`]).
pub const NOTES_LISTED: usize = 100;
/// The categories an item's tally lists, at most. A category is free text: one row per
/// distinct text would let a flood of reports make the read large again. Categories whose
/// media are never shown are listed first, then those always greyscale, whatever their
/// count, so no flood of other categories (nor of greyscale ones) hides them.
pub const CATEGORIES_LISTED: usize = 50;

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
///
/// The priority order puts urgent-lane and overdue items first ([`sorts_first`]). Overdue
/// depends on the clock, so that order's cursor also carries the instant its walk began
/// with (`group`): every page of one walk judges "overdue" at that instant, and an item
/// falling overdue mid-walk does not jump back to a page already read. A new walk (no
/// cursor) takes the current time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub sort: Sort,
    pub keys: [SortValue; 2],
    pub id: String,
    /// Priority order only.
    pub group: Option<Group>,
}

/// Where a priority-order cursor stands in the urgent-or-overdue grouping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group {
    pub as_of: DateTime<Utc>,
    /// Whether the position is in the first group (urgent lane or overdue at `as_of`).
    pub first: bool,
}

/// Whether an item sorts into the priority order's first group at `as_of`. The queue SQL
/// (sqlite/queue.rs `FIRST_GROUP`) says the same.
pub fn sorts_first(lane: Lane, deadline: Option<DateTime<Utc>>, as_of: DateTime<Utc>) -> bool {
    lane == Lane::Urgent || deadline.is_some_and(|d| d <= as_of)
}

impl Cursor {
    /// Hex of a JSON array `[sort, key1, key2, id]`, with `as_of` and the group flag after
    /// them in the priority order: opaque to clients, who must only pass it back.
    pub fn encode(&self) -> String {
        let [a, b] = &self.keys;
        let plain = match &self.group {
            None => serde_json::to_string(&(self.sort.as_str(), a, b, &self.id)),
            Some(g) => serde_json::to_string(&(
                self.sort.as_str(),
                a,
                b,
                &self.id,
                g.as_of.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                g.first,
            )),
        };
        hex::encode(plain.unwrap_or_default())
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let plain = String::from_utf8(hex::decode(text).ok()?).ok()?;
        type Grouped = (String, SortValue, SortValue, String, String, bool);
        let (sort, a, b, id, group) = match serde_json::from_str::<Grouped>(&plain) {
            Ok((sort, a, b, id, as_of, first)) => {
                let as_of = DateTime::parse_from_rfc3339(&as_of)
                    .ok()?
                    .with_timezone(&Utc);
                (sort, a, b, id, Some(Group { as_of, first }))
            }
            Err(_) => {
                let (sort, a, b, id): (String, SortValue, SortValue, String) =
                    serde_json::from_str(&plain).ok()?;
                (sort, a, b, id, None)
            }
        };
        let sort = Sort::parse(&sort)?;
        // The priority order needs its group, and only it has one.
        if (sort == Sort::Priority) != group.is_some() {
            return None;
        }
        Some(Cursor {
            sort,
            keys: [a, b],
            id,
            group,
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
    /// What the statement states, as it was when the take down was made; for take downs
    /// recorded before schema 8, which froze none, `item` as it is now with every report
    /// (`None` only from a store that does not say).
    pub basis: Option<DecisionBasis>,
    pub item: Item,
    /// How an appeal against it was decided, when one was (an overturned take down is
    /// still stated, with the day its restriction ended).
    pub appeal: Option<AppealOutcome>,
    /// The measure on the author's account the take down carried.
    pub account: Option<crate::account::AccountMeasure>,
}

/// One appeal as stored, with the take down it is against.
#[derive(Debug, Clone, PartialEq)]
pub struct AppealRecord {
    pub id: i64,
    /// The queue item that carries it.
    pub appeal_item_id: String,
    /// The appellant's statement.
    pub statement: String,
    pub lodged_by: String,
    pub lodged_at: DateTime<Utc>,
    /// The name of the token that made the decision appealed.
    pub decided_by: String,
    /// The decision appealed (its `appeal` is this appeal's outcome).
    pub original: TakeDownRecord,
}

/// Why an appeal was not lodged; each message says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppealRefusal {
    /// No applied decision has that number.
    UnknownDecision(String),
    /// A decision that restricts nothing, or no longer does.
    NotAppealable(String),
    /// That decision has an appeal already.
    AlreadyAppealed(String),
    /// Lodged after the time limit.
    TooLate(String),
    /// The statement is blank or too long, or the decision is not named right.
    Invalid(String),
}

impl AppealRefusal {
    pub fn message(&self) -> &str {
        match self {
            AppealRefusal::UnknownDecision(m)
            | AppealRefusal::NotAppealable(m)
            | AppealRefusal::AlreadyAppealed(m)
            | AppealRefusal::TooLate(m)
            | AppealRefusal::Invalid(m) => m,
        }
    }
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
    /// A reversal has undone this decision since (never true of a reversal).
    pub reversed: bool,
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

/// What a claim may take, as storage needs it: the cap, and who else is active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimLimits {
    /// Live leases the holder may have once the claim is done.
    pub max_leases: usize,
    /// Other tokens seen recently; those holding a live lease count too.
    pub active_elsewhere: Vec<String>,
}

impl ClaimLimits {
    /// No cap and nobody else: the storage-level walk, for tests of its order.
    pub fn unlimited() -> ClaimLimits {
        ClaimLimits {
            max_leases: usize::MAX,
            active_elsewhere: Vec::new(),
        }
    }
}

pub use super::basis::{DecisionBasis, ReportTally};

/// One applied decision, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    /// Position in the log: entries are numbered in the order they were applied.
    pub id: i64,
    /// When the server applied it.
    pub at: DateTime<Utc>,
    /// The token's name when it decided: never a name the client sent.
    pub actor: String,
    /// The token's role when it decided.
    pub role: String,
    pub action: DecisionAction,
    pub item_id: String,
    #[serde(default)]
    pub reason_code: Option<String>,
    /// Take downs only.
    #[serde(default)]
    pub scope: Option<Scope>,
    #[serde(default)]
    pub note: Option<String>,
    /// Escalations only.
    #[serde(default)]
    pub escalation_target: Option<EscalationTier>,
    /// Reversals only: the idempotency key undone.
    #[serde(default)]
    pub reverses: Option<String>,
    pub idempotency_key: String,
    /// When the moderator decided, by their clock.
    pub decided_at: DateTime<Utc>,
    pub from_state: ReviewState,
    pub to_state: ReviewState,
    /// The id of the token that decided (`modq serve token list`); absent only for entries
    /// from before token ids whose name matched no token.
    #[serde(default)]
    pub actor_token_id: Option<i64>,
    /// How the decision was taken; absent for entries from before the client said.
    #[serde(default)]
    pub method: Option<DecisionMethod>,
    /// The escalation tier whose role the decision needed; absent: any moderator's.
    #[serde(default)]
    pub tier: Option<EscalationTier>,
    /// Take downs: the measure on the author's account that came with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<crate::account::AccountMeasure>,
}

/// What the storage is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    pub after_id: i64,
    pub item: Option<String>,
    /// Already clamped to `1..=MAX_AUDIT_LIMIT`.
    pub limit: usize,
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

/// An image's bytes as the server keeps them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaBlob {
    /// SHA-256 of `bytes`, lowercase hex.
    pub id: String,
    /// Sniffed from the bytes (one of [`crate::media::sniff::ACCEPTED`]).
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Everything the API needs from its data. Each method is one transaction.
pub trait Storage: Send + Sync {
    /// Records reports filed by `filer` (`None`: the operator's `modq serve import`),
    /// merging each into the item for its subject, and answers one receipt per report. All
    /// or none are stored: a report failing [`check_report`](super::rules::check_report)
    /// refuses the lot with [`StorageError::Invalid`]. Times are brought within what can be
    /// stored ([`received_time`](super::rules::received_time),
    /// [`deadline_time`](super::rules::deadline_time)); `now` stands in for a missing
    /// `received_at`.
    ///
    /// An intake (an admin token, or an import) describes the content: it creates the item,
    /// adds countries, and replaces content that an ordinary token described first. An
    /// ordinary token's report never changes an existing item's content, author, media or
    /// countries; on a new item it is taken for its text only (no author, hash matches or
    /// countries). Its further reports on one item add no priority.
    fn file_reports(
        &self,
        filer: Option<&TokenInfo>,
        reports: &[NewReport],
        now: DateTime<Utc>,
    ) -> Result<Vec<ReportAccepted>, StorageError>;

    /// [`Storage::file_reports`] by the operator (an import).
    fn add_reports(
        &self,
        reports: &[NewReport],
        now: DateTime<Utc>,
    ) -> Result<Vec<ReportAccepted>, StorageError> {
        self.file_reports(None, reports, now)
    }

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

    /// One item with its newest reports and history (see [`REPORTS_LISTED`]) and its
    /// totals. What decides anything reads the reports it needs itself, never this list.
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
    ///
    /// `limits` caps what the holder may take ([`ClaimLimits`]): a new lease only while the
    /// holder has fewer than `max_leases` live ones (the walk stops at the first item that
    /// would pass the cap, so the next claim starts there), and an open urgent or authority
    /// item only while the holder holds less than its fair share of that lane
    /// ([`claims::fair_share`](super::claims::fair_share) over the holders of live leases and
    /// `active_elsewhere`; such an item is passed over). `limited_by` says which cap cut the
    /// page short.
    fn claim_within(
        &self,
        holder: &str,
        query: &QueueQuery,
        lease_seconds: u32,
        limits: &ClaimLimits,
        now: DateTime<Utc>,
    ) -> Result<ClaimedPage, StorageError>;

    /// [`Storage::claim_within`] without caps: the walk alone.
    fn claim(
        &self,
        holder: &str,
        query: &QueueQuery,
        lease_seconds: u32,
        now: DateTime<Utc>,
    ) -> Result<ClaimedPage, StorageError> {
        self.claim_within(holder, query, lease_seconds, &ClaimLimits::unlimited(), now)
    }

    /// Leases the items named (each once, in the order first given) to `actor`, under the
    /// same caps as [`Storage::claim_within`]: an item is refused when someone else holds a
    /// live lease on it, when it is not one `actor` may claim (decided, unknown, or escalated
    /// to a tier the role does not decide), or when a cap stops it. The actor's own live
    /// leases are extended. One transaction, like a claim.
    fn claim_items(
        &self,
        actor: &TokenInfo,
        item_ids: &[String],
        lease_seconds: u32,
        limits: &ClaimLimits,
        now: DateTime<Utc>,
    ) -> Result<LeaseGrant, StorageError>;

    /// Who holds a live lease at `now` on each of `item_ids` that has one.
    fn live_holders(
        &self,
        item_ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<std::collections::HashMap<String, String>, StorageError>;

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

    /// Take downs applied at or after `since` and not reversed since (or overturned on
    /// appeal), oldest first: at most `limit` of them, from the first whose audit row is
    /// numbered above `after_id`.
    fn take_downs_since(
        &self,
        since: DateTime<Utc>,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<TakeDownRecord>, StorageError>;

    /// `hash` is the lowercase hex SHA-256 of the token; plaintext never reaches storage.
    fn token_lookup(&self, hash: &str) -> Result<Option<TokenInfo>, StorageError>;

    /// Stores a new token. A name another token has (revoked or not, whatever its case) is
    /// refused with [`StorageError::Invalid`].
    fn add_token(&self, name: &str, role: Role, hash: &str) -> Result<(), StorageError> {
        self.create_token(name, role, hash).map(|_| ())
    }

    /// [`Storage::add_token`], answering the new token's id.
    fn create_token(&self, name: &str, role: Role, hash: &str) -> Result<i64, StorageError>;

    /// Every token, oldest first.
    fn tokens(&self) -> Result<Vec<TokenRecord>, StorageError>;

    /// Revokes the token with this id or name at `now` (`None`: no such token). A revoked
    /// token is refused from then on; its name stays taken, and its decisions keep it.
    fn revoke_token(
        &self,
        id_or_name: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<TokenRecord>, StorageError>;

    /// Messages to users (support resources) after `after_id`, oldest first, at most `limit`.
    fn messages(
        &self,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<crate::support::UserMessage>, StorageError>;

    /// Audit entries after `query.after_id`, oldest first, at most `query.limit`.
    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StorageError>;

    /// Lodges an appeal filed by `filer` against the decision `appeal.decision` names, when
    /// [`appeals::may_lodge`](super::appeals::may_lodge) allows it: one transaction that
    /// records it and puts its item (the content as decided, in the `appeals` lane) in the
    /// queue. A refusal changes nothing.
    fn lodge_appeal(
        &self,
        filer: &TokenInfo,
        appeal: &NewAppeal,
        now: DateTime<Utc>,
    ) -> Result<Result<AppealLodged, AppealRefusal>, StorageError>;

    /// The appeals carried by these items (ids that carry none are passed over).
    fn appeals_of(&self, item_ids: &[String]) -> Result<Vec<AppealRecord>, StorageError>;

    /// Keeps media bytes, each under its id (the SHA-256 of its bytes), in one transaction;
    /// bytes kept already stay as they are.
    fn put_media(&self, blobs: &[MediaBlob], now: DateTime<Utc>) -> Result<(), StorageError>;

    /// The bytes kept under `id`. Reading them is for the HTTP layer, after
    /// [`media_rules`](super::media_rules) allowed it for the item that lists them.
    fn media(&self, id: &str) -> Result<Option<MediaBlob>, StorageError>;
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
            group: None,
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        let grouped = Cursor {
            sort: Sort::Priority,
            keys: [SortValue::Int(170), SortValue::Text("t".into())],
            id: "p".into(),
            group: Some(Group {
                as_of: DateTime::from_timestamp(1_790_000_000, 5_000).unwrap_or_default(),
                first: true,
            }),
        };
        assert_eq!(Cursor::decode(&grouped.encode()), Some(grouped.clone()));
        let ungrouped = Cursor {
            group: None,
            ..grouped
        };
        assert_eq!(
            Cursor::decode(&ungrouped.encode()),
            None,
            "priority needs its group"
        );
        assert_eq!(Cursor::decode("zz"), None);
        assert_eq!(Cursor::decode(&hex::encode("[1,2]")), None);
        assert_eq!(
            Cursor::decode(&hex::encode(r#"["size",1,2,"a"]"#)),
            None,
            "unknown sort"
        );
    }
}
