//! The HTTP face of API v1: parse and check the request, call storage off the async
//! runtime, answer JSON. The `#[utoipa::path]` attributes are the OpenAPI document.

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::{Method, StatusCode, Uri};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use chrono::{DateTime, NaiveDate};

use crate::model::{
    ApiError, ClaimRequest, ClaimedPage, DailyStats, DecisionBatch, DecisionResults,
    EscalationTier, HistoryEntry, Item, Lane, LeaseGrant, LeaseRelease, LeaseRenewal, LeaseRequest,
    Me, NewNote, NewReport, QueueCounts, QueuePage, ReportAccepted, ReviewState, SelectRequest,
    Selection, Statements,
};
use crate::policy::PolicyCatalog;
use crate::query::{Query as Filter, Sort};

use super::coalesce::Coalesced;
use super::error::{Answer, Failure, Json, Path, Query, blocking};
use super::limits::{PageBytes, rows_limit};
use crate::server::claims::{Activity, LeasePolicy};
use crate::server::clock::Clock;
use crate::server::media_rules;
use crate::server::rules::{self, ItemStatus, MAX_DECISIONS_PER_BATCH, MAX_LEASE_IDS};
use crate::server::storage::{
    ClaimLimits, Cursor, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, MAX_SELECTION, QueueQuery, Storage,
    StorageError, TokenInfo,
};
use crate::server::{account_rules, statements, stats};

/// The policy catalog the server was started with, shared by every request.
pub type Policies = Arc<PolicyCatalog>;

/// Sets what `actor` may do on each item, so clients can show it before a key is pressed,
/// and takes out the notes its role may not read.
fn with_allowed_actions(actor: &TokenInfo, items: &mut [Item]) {
    // The account standing's proposal and strike window are set beside it, from the
    // catalog, by [`with_account_standing`].
    for item in items {
        let status = rules::status_of(item);
        item.allowed_actions = Some(match &item.appeal {
            Some(appeal) => crate::server::appeals::allowed_actions(actor, appeal),
            None => rules::allowed_actions(actor, &status, &item.history),
        });
        rules::redact_history(actor.role, item);
    }
}

/// Weighs each author's measures with the catalog: strikes in its window, what still
/// limits the account, and the measure proposed with a take down now.
fn with_account_standing(policies: &PolicyCatalog, now: DateTime<Utc>, items: &mut [Item]) {
    account_rules::assess_items(items, &policies.account, now);
}

/// Makes items as read from storage into items as `actor` is shown them, wherever items
/// are served (the queue, a claim, one item): each appeal item's appeal, what `actor` may
/// do on each and the notes it may read, and each author's standing weighed at `now`.
/// Reads storage: called inside [`blocking`].
fn for_token(
    s: &dyn Storage,
    actor: &TokenInfo,
    policies: &PolicyCatalog,
    now: DateTime<Utc>,
    items: &mut [Item],
) -> Result<(), StorageError> {
    super::appeals::attach(s, policies, items)?;
    with_allowed_actions(actor, items);
    with_account_standing(policies, now, items);
    Ok(())
}

/// Refuses (403) an item held by a tier `actor` may not read.
fn check_readable(actor: &TokenInfo, status: &ItemStatus, id: &str) -> Answer<()> {
    let held = status.held_by();
    if rules::may_read(actor.role, held) {
        return Ok(());
    }
    let tier = held.unwrap_or(EscalationTier::Senior);
    Err(Failure::forbidden(format!(
        "item {id:?} is with the {} tier: only the {} role and admins read it and its notes \
         (this token's role is {})",
        tier.label(),
        tier.as_str(),
        actor.role.as_str()
    )))
}

/// Refuses (403) a filter whose `similar:` term names an item `actor` may not read: the
/// items like it would tell what it is (its author, its links).
async fn check_similar_anchors(
    storage: &Arc<dyn Storage>,
    actor: &TokenInfo,
    query: &QueueQuery,
) -> Answer<()> {
    // Negated ones too: what is left out says as much as what is kept.
    let anchors: Vec<String> = query.filter.similar_ids().map(str::to_owned).collect();
    for id in anchors {
        let wanted = id.clone();
        if let Some(item) = blocking(storage, move |s| s.item(&wanted)).await? {
            check_readable(actor, &rules::status_of(&item), &id)?;
        }
    }
    Ok(())
}

/// `GET /v1/health` answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the server answers at all.
    pub status: String,
}

/// Liveness probe; needs no token.
#[utoipa::path(
    get,
    path = "/v1/health",
    tag = "meta",
    security(()),
    responses((status = 200, description = "The server is up", body = Health))
)]
pub async fn health() -> axum::Json<Health> {
    axum::Json(Health {
        status: "ok".into(),
    })
}

/// Who the token belongs to.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "auth",
    responses(
        (status = 200, description = "The token's holder", body = Me),
        (status = 401, description = "Missing or unknown token", body = ApiError),
    )
)]
pub async fn me(Extension(actor): Extension<TokenInfo>) -> axum::Json<Me> {
    axum::Json(Me {
        name: actor.name,
        role: actor.role,
    })
}

/// Query string of `GET /v1/queue`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QueueParams {
    /// Only items whose most urgent lane is this one; every lane when absent.
    #[param(value_type = Option<Lane>)]
    pub lane: Option<String>,
    /// Only items in this review state; `open` when absent.
    #[param(value_type = Option<ReviewState>)]
    pub state: Option<String>,
    /// With `state=escalated`: only items escalated to this tier.
    #[param(value_type = Option<EscalationTier>)]
    pub tier: Option<String>,
    /// `next_cursor` of the previous page, unchanged; the first page when absent.
    #[param(format = "modq-cursor")]
    pub cursor: Option<String>,
    /// Items per page, 1 to 500; 50 when absent. A page also ends early once it holds the
    /// server's byte budget (`modq serve --page-bytes`), with a `next_cursor`.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    /// Only items matching this filter, e.g. `cat:spam lang:ru prio:>50` (docs/api.md).
    #[param(format = "modq-filter", max_length = 1024)]
    pub q: Option<String>,
    /// `priority` (default), `age`, `reports` or `deadline`.
    #[param(value_type = Option<Sort>)]
    pub sort: Option<String>,
    /// The most bytes of JSON the caller takes in one answer; the page ends early within it
    /// (and within the server's own budget), at least one item. No more than the server's
    /// budget when absent.
    #[param(minimum = 1024, maximum = 4294967296_u64)]
    pub max_bytes: Option<u64>,
}

/// The byte budget of one page: the server's, or the caller's if smaller.
fn page_budget(server: PageBytes, caller: Option<u64>) -> Result<usize, Failure> {
    match caller {
        None => Ok(server.0),
        Some(n) if (1024..=1 << 32).contains(&n) => {
            Ok(usize::try_from(n).map_or(server.0, |n| n.min(server.0)))
        }
        Some(n) => Err(Failure::bad_request(format!(
            "max_bytes: {n} is outside 1024 to 4294967296"
        ))),
    }
}

impl QueueParams {
    fn into_query(
        self,
        now: DateTime<Utc>,
        actor: &TokenInfo,
        budget: PageBytes,
    ) -> Result<QueueQuery, Failure> {
        // An empty value is a value, and none of these allows it: `lane=` is refused as the
        // schema refuses it.
        let nonempty = |v: Option<String>| v;
        let lane = match nonempty(self.lane) {
            None => None,
            Some(s) => Some(Lane::parse(&s).ok_or_else(|| {
                let known: Vec<&str> = Lane::ALL.iter().map(|l| l.as_str()).collect();
                Failure::bad_request(format!(
                    "unknown lane {s:?}; expected one of {}",
                    known.join(", ")
                ))
            })?),
        };
        let state = match nonempty(self.state) {
            None => ReviewState::Open,
            Some(s) => ReviewState::parse(&s).ok_or_else(|| {
                Failure::bad_request(format!(
                    "unknown state {s:?}; expected one of open, escalated, taken_down, kept"
                ))
            })?,
        };
        let tier = match nonempty(self.tier) {
            None => None,
            Some(s) => Some(EscalationTier::parse(&s).ok_or_else(|| {
                Failure::bad_request(format!(
                    "unknown tier {s:?}; expected one of senior, legal, law_enforcement, \
                     child_safety"
                ))
            })?),
        };
        let sort = match nonempty(self.sort) {
            None => Sort::Priority,
            Some(s) => Sort::parse(&s).ok_or_else(|| {
                Failure::bad_request(format!(
                    "unknown sort {s:?}; expected one of priority, age, reports, deadline"
                ))
            })?,
        };
        if let Some(tier) = tier
            && !rules::may_read(actor.role, Some(tier))
        {
            return Err(Failure::forbidden(format!(
                "items with the {} tier are read only by the {} role and admins \
                 (this token's role is {})",
                tier.label(),
                tier.as_str(),
                actor.role.as_str()
            )));
        }
        let after = decode_cursor(self.cursor)?;
        Ok(QueueQuery {
            lane,
            state,
            tier,
            filter: parse_filter(self.q.as_deref())?,
            sort,
            hidden_tiers: rules::unreadable_tiers(actor.role),
            as_of: walk_start(after.as_ref(), now),
            after,
            limit: page_limit(self.limit)?,
            max_bytes: page_budget(budget, self.max_bytes)?,
        })
    }
}

/// A `q` parameter as a filter; everything when absent.
fn parse_filter(q: Option<&str>) -> Result<Filter, Failure> {
    Filter::parse(q.unwrap_or("")).map_err(|e| Failure::bad_request(format!("q: {e}")))
}

/// The position a `cursor` parameter names; the start when absent or empty (`cursor=` is
/// how many clients ask for the first page).
fn decode_cursor(cursor: Option<String>) -> Result<Option<Cursor>, Failure> {
    match cursor.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => Cursor::decode(&s).map(Some).ok_or_else(|| {
            Failure::bad_request(
                "this cursor is not one the server made; pass back next_cursor unchanged, \
                 or omit it to start from the first page",
            )
        }),
    }
}

/// The instant a queue walk judges "overdue" by: the cursor's, or now for a first page.
fn walk_start(after: Option<&Cursor>, now: DateTime<Utc>) -> DateTime<Utc> {
    after.and_then(|c| c.group).map_or(now, |g| g.as_of)
}

/// A requested page size: the default when absent; refused outside `1..=MAX_PAGE_LIMIT`,
/// as the schema says, rather than quietly changed.
fn page_limit(limit: Option<u64>) -> Result<usize, Failure> {
    let Some(n) = limit else {
        return Ok(DEFAULT_PAGE_LIMIT);
    };
    match usize::try_from(n) {
        Ok(n) if (1..=MAX_PAGE_LIMIT).contains(&n) => Ok(n),
        _ => Err(Failure::bad_request(format!(
            "limit: {n} is outside 1 to {MAX_PAGE_LIMIT}"
        ))),
    }
}

/// One page of the queue, most urgent first: urgent-lane and overdue items, then priority
/// descending, then oldest first.
#[utoipa::path(
    get,
    path = "/v1/queue",
    tag = "queue",
    params(QueueParams),
    responses(
        (status = 200, description = "One page of items with their reports and history", body = QueuePage),
        (status = 400, description = "Unknown lane, state or tier, or a cursor the server did not make", body = ApiError),
        (status = 401, description = "Missing or unknown token", body = ApiError),
    )
)]
pub async fn queue(
    State(storage): State<Arc<dyn Storage>>,
    Extension(actor): Extension<TokenInfo>,
    Extension(clock): Extension<Clock>,
    Extension(budget): Extension<PageBytes>,
    Extension(activity): Extension<Activity>,
    Extension(policies): Extension<Policies>,
    Query(params): Query<QueueParams>,
) -> Answer<axum::Json<QueuePage>> {
    let now = clock.now();
    // Reading the queue is how a moderator starts, and how one waiting for work looks
    // again: either way they are there, and due a share of the urgent lanes.
    activity.seen(&actor.name, now);
    let query = params.into_query(now, &actor, budget)?;
    check_similar_anchors(&storage, &actor, &query).await?;
    let page = blocking(&storage, move |s| {
        let mut page = s.queue_page(&query)?;
        let ids: Vec<String> = page.items.iter().map(|i| i.id.clone()).collect();
        let mut holders = s.live_holders(&ids, now)?;
        for item in &mut page.items {
            item.leased_by = holders.remove(&item.id).filter(|h| *h != actor.name);
        }
        for_token(s, &actor, &policies, now, &mut page.items)?;
        Ok(page)
    })
    .await?;
    Ok(axum::Json(page))
}

/// Leases the next page of the queue to the caller.
///
/// Walks the queue as `GET /v1/queue` does (same order, filters and cursor), skipping items
/// leased to someone else until their lease runs out, and leases each item it returns to
/// the token's holder. Items the caller already holds are returned again, their lease
/// extended. Only `open` (the default) items can be claimed, and `escalated` ones only in a
/// tier the caller's role decides (`tier`, else the role's own; admins: every tier).
///
/// A claim is trimmed, never refused, by the server's caps: a holder has at most
/// `max_leases` live leases (the page stops at the first item past the cap, and
/// `next_cursor` resumes there), and holds at most its fair share of the open urgent and
/// authority lanes (the lane's open items over the moderators active now: holding a live
/// lease, or having read or claimed in the last two minutes; items past the share are left
/// for the others). `lease_seconds` is cut to the server's longest lease. `held`,
/// `max_leases`, `lease_seconds` and `limited_by` say what was done.
#[utoipa::path(
    post,
    path = "/v1/queue/claim",
    tag = "leases",
    request_body = ClaimRequest,
    responses(
        (status = 200, description = "Up to `limit` items, each now leased to the caller", body = ClaimedPage),
        (status = 400, description = "Malformed body, a state or tier the caller cannot claim, or a cursor the server did not make", body = ApiError),
        (status = 401, description = "Missing or unknown token", body = ApiError),
        (status = 413, description = "Body larger than 2 MiB", body = ApiError),
    )
)]
#[expect(
    clippy::too_many_arguments,
    reason = "axum extractors, one per concern of a claim"
)]
pub async fn claim(
    State(storage): State<Arc<dyn Storage>>,
    Extension(actor): Extension<TokenInfo>,
    Extension(clock): Extension<Clock>,
    Extension(budget): Extension<PageBytes>,
    Extension(policy): Extension<LeasePolicy>,
    Extension(activity): Extension<Activity>,
    Extension(policies): Extension<Policies>,
    Json(request): Json<ClaimRequest>,
) -> Answer<axum::Json<ClaimedPage>> {
    let now = clock.now();
    activity.seen(&actor.name, now);
    let limits = claim_limits(&policy, &activity, &actor, now);
    let after = decode_cursor(request.cursor)?;
    let query = QueueQuery {
        as_of: walk_start(after.as_ref(), now),
        after,
        limit: page_limit(request.limit.map(u64::from))?,
        max_bytes: page_budget(budget, request.max_bytes)?,
        ..claimable(
            &actor,
            request.lane,
            (request.state, request.tier),
            request.q.as_deref(),
            request.sort,
            now,
        )?
    };
    check_similar_anchors(&storage, &actor, &query).await?;
    let lease_seconds = policy.lease_seconds(request.lease_seconds);
    let page = blocking(&storage, move |s| {
        let mut page = s.claim_within(&actor.name, &query, lease_seconds, &limits, now)?;
        for_token(s, &actor, &policies, now, &mut page.items)?;
        Ok(page)
    })
    .await?;
    Ok(axum::Json(page))
}

/// What a claim by `actor` may take now: the server's cap, and who else is at work.
fn claim_limits(
    policy: &LeasePolicy,
    activity: &Activity,
    actor: &TokenInfo,
    now: DateTime<Utc>,
) -> ClaimLimits {
    ClaimLimits {
        max_leases: usize::try_from(policy.max_leases).unwrap_or(usize::MAX),
        active_elsewhere: activity.others(&actor.name, now),
    }
}

/// Leases the items named: those a moderator has on screen and is about to reach.
///
/// Each item is leased to the caller unless another moderator holds a live lease on it
/// (`leased_elsewhere`, naming them), it is not one the caller may claim (`not_claimable`:
/// decided, unknown, or escalated to a tier the caller's role does not decide), the caller
/// already holds `max_leases` live leases (`max_leases`), or it is an open urgent or
/// authority item and the caller holds its fair share of that lane while others are active
/// (`fair_share`; see `POST /v1/queue/claim`). The caller's own leases are extended. At most
/// 1000 ids.
#[utoipa::path(
    post,
    path = "/v1/leases/claim",
    tag = "leases",
    request_body = LeaseRequest,
    responses(
        (status = 200, description = "Which items are now the caller's, and why the others are not", body = LeaseGrant),
        (status = 400, description = "Malformed body, or more than 1000 item ids", body = ApiError),
        (status = 401, description = "Missing or unknown token", body = ApiError),
        (status = 413, description = "Body larger than 2 MiB", body = ApiError),
    )
)]
pub async fn claim_items(
    State(storage): State<Arc<dyn Storage>>,
    Extension(actor): Extension<TokenInfo>,
    Extension(clock): Extension<Clock>,
    Extension(policy): Extension<LeasePolicy>,
    Extension(activity): Extension<Activity>,
    Json(request): Json<LeaseRequest>,
) -> Answer<axum::Json<LeaseGrant>> {
    let count = request.item_ids.len();
    if count > MAX_LEASE_IDS {
        return Err(Failure::bad_request(format!(
            "a lease request names at most {MAX_LEASE_IDS} items; this one names {count}"
        )));
    }
    let now = clock.now();
    activity.seen(&actor.name, now);
    let limits = claim_limits(&policy, &activity, &actor, now);
    let lease_seconds = policy.lease_seconds(request.lease_seconds);
    let grant = blocking(&storage, move |s| {
        s.claim_items(&actor, &request.item_ids, lease_seconds, &limits, now)
    })
    .await?;
    Ok(axum::Json(grant))
}

/// The ids of every item matching a filter, for acting on them in bulk.
///
/// Walks the queue as `GET /v1/queue` does (same filter, order and state), without paging,
/// and leaves out items another moderator holds a live lease on. Leases nothing: the caller
/// decides the items next, in batches of `POST /v1/decisions`.
#[utoipa::path(
    post,
    path = "/v1/queue/select",
    tag = "queue",
    request_body = SelectRequest,
    responses(
        (status = 200, description = "Matching item ids in queue order", body = Selection),
        (status = 400, description = "Malformed body, bad filter, or a state the caller cannot claim", body = ApiError),
        (status = 401, description = "Missing or unknown token", body = ApiError),
    )
)]
pub async fn select(
    State(storage): State<Arc<dyn Storage>>,
    Extension(actor): Extension<TokenInfo>,
    Extension(clock): Extension<Clock>,
    Json(request): Json<SelectRequest>,
) -> Answer<axum::Json<Selection>> {
    let now = clock.now();
    let query = claimable(
        &actor,
        request.lane,
        (request.state, None),
        request.q.as_deref(),
        request.sort,
        now,
    )?;
    check_similar_anchors(&storage, &actor, &query).await?;
    let limit = rows_limit(request.limit.map(u64::from), MAX_SELECTION, MAX_SELECTION)?;
    let selected = blocking(&storage, move |s| s.select(&actor.name, &query, limit, now)).await?;
    Ok(axum::Json(Selection {
        ids: selected.ids,
        leased_elsewhere: selected.leased_elsewhere,
        truncated: selected.truncated,
    }))
}

/// The walk a claim or a selection makes for `actor`: `open` items unless another state is
/// asked for (and allowed; escalated ones in a tier the actor decides), filtered and ordered
/// as asked, from the top.
fn claimable(
    actor: &TokenInfo,
    lane: Option<Lane>,
    (state, tier): (Option<ReviewState>, Option<EscalationTier>),
    q: Option<&str>,
    sort: Option<Sort>,
    now: DateTime<Utc>,
) -> Result<QueueQuery, Failure> {
    let state = state.unwrap_or(ReviewState::Open);
    let tier = rules::claim_tier(actor, state, tier).map_err(Failure::bad_request)?;
    Ok(QueueQuery {
        lane,
        state,
        tier,
        filter: parse_filter(q)?,
        sort: sort.unwrap_or_default(),
        hidden_tiers: rules::unreadable_tiers(actor.role),
        as_of: now,
        ..QueueQuery::default()
    })
}

/// Refuses a lease request naming more items than one request may.
fn check_lease_ids(request: &LeaseRequest) -> Result<(), Failure> {
    let count = request.item_ids.len();
    if count > MAX_LEASE_IDS {
        return Err(Failure::bad_request(format!(
            "a lease request names at most {MAX_LEASE_IDS} items; this one names {count}"
        )));
    }
    Ok(())
}

/// Extends the caller's leases.
///
/// An item is `renewed` while the caller still holds its lease (even one just expired, as
/// long as nobody claimed the item meanwhile) and it is undecided; otherwise it is `lost`:
/// decided, claimed by someone else, released, never leased to the caller, or unknown.
#[utoipa::path(
    post,
    path = "/v1/leases/renew",
    tag = "leases",
    request_body = LeaseRequest,
    responses(
        (status = 200, description = "Which leases were renewed and which are lost", body = LeaseRenewal),
        (status = 400, description = "Malformed body, or more than 1000 item ids", body = ApiError),
        (status = 401, description = "Missing or unknown token", body = ApiError),
        (status = 413, description = "Body larger than 2 MiB", body = ApiError),
    )
)]
pub async fn renew_leases(
    State(storage): State<Arc<dyn Storage>>,
    Extension(actor): Extension<TokenInfo>,
    Extension(clock): Extension<Clock>,
    Extension(policy): Extension<LeasePolicy>,
    Extension(activity): Extension<Activity>,
    Json(request): Json<LeaseRequest>,
) -> Answer<axum::Json<LeaseRenewal>> {
    check_lease_ids(&request)?;
    let lease_seconds = policy.lease_seconds(request.lease_seconds);
    let now = clock.now();
    activity.seen(&actor.name, now);
    let renewal = blocking(&storage, move |s| {
        s.renew_leases(&actor.name, &request.item_ids, lease_seconds, now)
    })
    .await?;
    Ok(axum::Json(renewal))
}

/// Gives up the caller's leases, so others can claim the items at once. Leases held by
/// anyone else are left alone. `lease_seconds` is ignored.
#[utoipa::path(
    post,
    path = "/v1/leases/release",
    tag = "leases",
    request_body = LeaseRequest,
    responses(
        (status = 200, description = "How many of the caller's leases were deleted", body = LeaseRelease),
        (status = 400, description = "Malformed body, or more than 1000 item ids", body = ApiError),
        (status = 401, description = "Missing or unknown token", body = ApiError),
        (status = 413, description = "Body larger than 2 MiB", body = ApiError),
    )
)]
pub async fn release_leases(
    State(storage): State<Arc<dyn Storage>>,
    Extension(actor): Extension<TokenInfo>,
    Json(request): Json<LeaseRequest>,
) -> Answer<axum::Json<LeaseRelease>> {
    check_lease_ids(&request)?;
    let released = blocking(&storage, move |s| {
        s.release_leases(&actor.name, &request.item_ids)
    })
    .await?;
    Ok(axum::Json(LeaseRelease { released }))
}

/// One item with its reports, full history (reports, decisions, escalations, reversals and
/// notes, with who and when), `restricted_in` once taken down, the author's record, and the
/// actions this token may take on it.
#[utoipa::path(
    get,
    path = "/v1/items/{id}",
    tag = "queue",
    params(("id" = String, Path, description = "The item id (the reported subject's id), percent-encoded")),
    responses(
        (status = 200, description = "The item", body = Item),
        (status = 403, description = "The item is with a tier (child_safety, law_enforcement) this token's role may not read", body = ApiError),
        (status = 404, description = "No item has this id", body = ApiError),
        (status = 401, description = "Missing or unknown token", body = ApiError),
    )
)]
pub async fn item(
    State(storage): State<Arc<dyn Storage>>,
    Extension(actor): Extension<TokenInfo>,
    Extension(clock): Extension<Clock>,
    Extension(policies): Extension<Policies>,
    Path(id): Path<String>,
) -> Answer<axum::Json<Item>> {
    let wanted = id.clone();
    let reader = actor.clone();
    let now = clock.now();
    let found = blocking(&storage, move |s| {
        let mut item = s.item(&wanted)?;
        for_token(s, &reader, &policies, now, item.as_mut_slice())?;
        Ok(item)
    })
    .await?;
    match found {
        // What a decoration sets never changes the status read here.
        Some(item) => {
            check_readable(&actor, &rules::status_of(&item), &id)?;
            Ok(axum::Json(item))
        }
        None => Err(Failure::not_found(format!("no item has id {id:?}"))),
    }
}

/// The bytes of one image an item lists (`media[].id`), as the server keeps them: its type
/// read from the bytes, never stored by caches. Media the item was reported for in a category
/// where viewing harms (child sexual abuse material), or matched against such a hash list,
/// are never served, whoever asks.
#[utoipa::path(
    get,
    path = "/v1/items/{id}/media/{media_id}",
    tag = "queue",
    params(
        ("id" = String, Path, description = "The item id, percent-encoded"),
        ("media_id" = String, Path, description = "The media's `id` in the item"),
    ),
    responses(
        (status = 200, description = "The image's bytes, with the type the server read from them", content(
            ([u8] = "image/png"),
            ([u8] = "image/jpeg"),
            ([u8] = "image/gif"),
            ([u8] = "image/webp"),
        )),
        (status = 401, description = "Missing or unknown token", body = ApiError),
        (status = 403, description = "`media_not_viewable`: viewing this media harms (child sexual abuse material), its bytes are never served; or the item is with a tier this token's role may not read", body = ApiError),
        (status = 404, description = "No item has this id, or it lists no media with this id", body = ApiError),
    )
)]
pub async fn media(
    State(storage): State<Arc<dyn Storage>>,
    Extension(actor): Extension<TokenInfo>,
    Path((id, media_id)): Path<(String, String)>,
) -> Answer<axum::response::Response> {
    use axum::response::IntoResponse;
    let wanted = id.clone();
    let Some(item) = blocking(&storage, move |s| s.item(&wanted)).await? else {
        return Err(Failure::not_found(format!("no item has id {id:?}")));
    };
    check_readable(&actor, &rules::status_of(&item), &id)?;
    media_rules::may_serve(&item, &media_id).map_err(media_failure)?;
    let wanted = media_id.clone();
    let Some(blob) = blocking(&storage, move |s| s.media(&wanted)).await? else {
        return Err(media_failure(media_rules::MediaRefusal::NotListed(
            format!("the server keeps no bytes for media {media_id:?}"),
        )));
    };
    let headers = [
        (axum::http::header::CONTENT_TYPE, blob.content_type),
        (axum::http::header::CACHE_CONTROL, "no-store".to_string()),
        (
            axum::http::header::X_CONTENT_TYPE_OPTIONS,
            "nosniff".to_string(),
        ),
    ];
    Ok((headers, blob.bytes).into_response())
}

/// The answer for refused media.
fn media_failure(why: media_rules::MediaRefusal) -> Failure {
    use media_rules::MediaRefusal as R;
    let message = why.to_string();
    match why {
        R::Invalid(_) => Failure::bad_request(message),
        R::NotIntake(_) => Failure::forbidden(message),
        R::TooLarge(_) => Failure::new(StatusCode::PAYLOAD_TOO_LARGE, "media_too_large", message),
        R::WrongType(_) => Failure::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            message,
        ),
        R::NotListed(_) => Failure::not_found(message),
        R::NeverShown(_) => Failure::new(StatusCode::FORBIDDEN, "media_not_viewable", message),
    }
}

/// Adds a note to an item's history, recorded with the token's name and the server's clock.
#[utoipa::path(
    post,
    path = "/v1/items/{id}/notes",
    tag = "decisions",
    params(("id" = String, Path, description = "The item id, percent-encoded")),
    request_body = NewNote,
    responses(
        (status = 201, description = "The note as the history now shows it", body = HistoryEntry),
        (status = 400, description = "Malformed body, an empty note, or one over 2000 characters", body = ApiError),
        (status = 401, description = "Missing or unknown token", body = ApiError),
        (status = 403, description = "The item is with a tier this token's role may not read", body = ApiError),
        (status = 404, description = "No item has this id", body = ApiError),
    )
)]
pub async fn add_note(
    State(storage): State<Arc<dyn Storage>>,
    Extension(actor): Extension<TokenInfo>,
    Extension(clock): Extension<Clock>,
    Path(id): Path<String>,
    Json(body): Json<NewNote>,
) -> Answer<(StatusCode, axum::Json<HistoryEntry>)> {
    // Measured as sent, as the schema measures it; stored without surrounding space.
    rules::check_note(&body.note).map_err(Failure::bad_request)?;
    let note = body.note.trim().to_string();
    if note.is_empty() {
        return Err(Failure::bad_request("a note needs some text"));
    }
    let wanted = id.clone();
    if let Some(item) = blocking(&storage, move |s| s.item(&wanted)).await? {
        check_readable(&actor, &rules::status_of(&item), &id)?;
    }
    let wanted = id.clone();
    let now = clock.now();
    match blocking(&storage, move |s| s.add_note(&actor, &wanted, &note, now)).await? {
        Some(entry) => Ok((StatusCode::CREATED, axum::Json(entry))),
        None => Err(Failure::not_found(format!("no item has id {id:?}"))),
    }
}

/// The policy catalog: the reason codes a take down may cite.
#[utoipa::path(
    get,
    path = "/v1/policies",
    tag = "policies",
    responses(
        (status = 200, description = "The catalog", body = PolicyCatalog),
        (status = 401, description = "Missing or unknown token", body = ApiError),
    )
)]
pub async fn policies(Extension(policies): Extension<Policies>) -> axum::Json<PolicyCatalog> {
    axum::Json(policies.as_ref().clone())
}

/// Open items per lane (with how many are overdue) and escalated items per tier, for tabs.
#[utoipa::path(
    get,
    path = "/v1/queue/counts",
    tag = "queue",
    responses(
        (status = 200, description = "Counts now", body = QueueCounts),
        (status = 401, description = "Missing or unknown token", body = ApiError),
    )
)]
pub async fn queue_counts(
    State(storage): State<Arc<dyn Storage>>,
    Extension(clock): Extension<Clock>,
) -> Answer<axum::Json<QueueCounts>> {
    let now = clock.now();
    Ok(axum::Json(
        blocking(&storage, move |s| s.queue_counts(now)).await?,
    ))
}

/// Query string of `GET /v1/stats`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsParams {
    /// The UTC day, YYYY-MM-DD; today when absent.
    #[param(format = Date)]
    pub date: Option<String>,
}

/// Query string of `GET /v1/statements`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementsParams {
    /// Take downs applied on or after this UTC day, YYYY-MM-DD; all when absent.
    #[param(format = Date)]
    pub since: Option<String>,
    /// Only take downs after the one with this number (`next_after` of the previous page;
    /// a statement's `puid` is `modq-` and its number); from the first when absent.
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// Take downs per page, 1 to 1000; 1000 when absent. A page holds a statement for each
    /// of them in force in the EU or EEA, so it may hold fewer.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
}

/// Take downs read for one page of `GET /v1/statements`, at most: each is a statement of a
/// few kilobytes, and a page is built in memory.
pub const MAX_STATEMENTS_PAGE: usize = 1000;

/// A `format: date` parameter: exactly YYYY-MM-DD, a day that exists.
fn parse_date(name: &str, text: &str) -> Result<NaiveDate, Failure> {
    let shape = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    let parsed = if shape {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
    } else {
        None
    };
    parsed.ok_or_else(|| {
        Failure::bad_request(format!(
            "{name} must be a date like 2026-11-23, not {text:?}"
        ))
    })
}

/// The day's figures being computed, shared by the requests for them (see
/// [`Coalesced`]): any token may ask, and each computation reads a whole day of the audit.
pub type DayFigures = Arc<Coalesced<NaiveDate, Arc<DailyStats>>>;

/// The daily transparency report: one UTC day of decisions from the audit table.
#[utoipa::path(
    get,
    path = "/v1/stats",
    tag = "transparency",
    params(StatsParams),
    responses(
        (status = 200, description = "The day's counts", body = DailyStats),
        (status = 400, description = "A date that is not YYYY-MM-DD", body = ApiError),
        (status = 401, description = "Missing or unknown token", body = ApiError),
    )
)]
pub async fn daily_stats(
    State(storage): State<Arc<dyn Storage>>,
    Extension(clock): Extension<Clock>,
    Extension(figures): Extension<DayFigures>,
    Query(params): Query<StatsParams>,
) -> Answer<axum::Json<DailyStats>> {
    let date = match params.date {
        Some(d) => parse_date("date", &d)?,
        None => clock.now().date_naive(),
    };
    let day = figures
        .get(date, move || async move {
            let (from, to) = stats::day_bounds(date);
            let facts = blocking(&storage, move |s| s.decisions_between(from, to)).await?;
            Ok::<_, Failure>(Arc::new(stats::daily(date, &facts)))
        })
        .await?;
    Ok(axum::Json(DailyStats::clone(&day)))
}

/// Statements of reasons for take downs still in force, in the EU DSA Transparency
/// Database's submission format (`{"statements": [...]}`). Senior, specialist and admin
/// tokens only.
#[utoipa::path(
    get,
    path = "/v1/statements",
    tag = "transparency",
    params(StatementsParams),
    responses(
        (status = 200, description = "One statement per take down in force with an EU/EEA scope", body = Statements),
        (status = 400, description = "A date that is not YYYY-MM-DD", body = ApiError),
        (status = 401, description = "Missing or unknown token", body = ApiError),
        (status = 403, description = "A moderator token", body = ApiError),
    )
)]
pub async fn statements(
    State(storage): State<Arc<dyn Storage>>,
    Extension(actor): Extension<TokenInfo>,
    Extension(policies): Extension<Policies>,
    Query(params): Query<StatementsParams>,
) -> Answer<axum::Json<Statements>> {
    if !actor.role.is_lead() {
        return Err(Failure::forbidden(format!(
            "statements of reasons are exported by senior, specialist or admin tokens; \
             this token's role is {}",
            actor.role.as_str()
        )));
    }
    let since = match params.since {
        Some(d) => stats::day_bounds(parse_date("since", &d)?).0,
        None => DateTime::<Utc>::MIN_UTC,
    };
    let after = match params.after {
        None => 0,
        Some(n) if n >= 0 => n,
        Some(n) => {
            return Err(Failure::bad_request(format!(
                "after: a take down's number, 0 or more, not {n}"
            )));
        }
    };
    let limit = rows_limit(params.limit, MAX_STATEMENTS_PAGE, MAX_STATEMENTS_PAGE)?;
    let records = blocking(&storage, move |s| s.take_downs_since(since, after, limit)).await?;
    let next_after = (records.len() == limit)
        .then(|| records.last().map(|td| td.audit_id))
        .flatten();
    let statements = records
        .iter()
        .filter_map(|td| statements::statement(td, &policies))
        .collect();
    Ok(axum::Json(Statements {
        statements,
        next_after,
    }))
}

/// Applies a batch of decisions in one transaction, each idempotency key at most once.
///
/// A take down's `reason_code` must be a code of `GET /v1/policies` (else `invalid`); without
/// one, the catalog's default for the item's leading report category is recorded. Escalated
/// items are decided only by their tier's role or an admin (else `conflict`); an escalation
/// to any tier but `senior` needs a `note` (else `invalid`).
#[utoipa::path(
    post,
    path = "/v1/decisions",
    tag = "decisions",
    request_body = DecisionBatch,
    responses(
        (status = 200, description = "One result per decision, in request order", body = DecisionResults),
        (status = 400, description = "Malformed body, or more than 5000 decisions", body = ApiError),
        (status = 401, description = "Missing or unknown token", body = ApiError),
        (status = 413, description = "Body larger than 2 MiB", body = ApiError),
    )
)]
pub async fn decisions(
    State(storage): State<Arc<dyn Storage>>,
    Extension(actor): Extension<TokenInfo>,
    Extension(clock): Extension<Clock>,
    Extension(policies): Extension<Policies>,
    Json(batch): Json<DecisionBatch>,
) -> Answer<axum::Json<DecisionResults>> {
    let count = batch.decisions.len();
    if count > MAX_DECISIONS_PER_BATCH {
        return Err(Failure::bad_request(format!(
            "a batch holds at most {MAX_DECISIONS_PER_BATCH} decisions; this one has {count}"
        )));
    }
    let now = clock.now();
    let results = blocking(&storage, move |s| {
        s.apply_decisions(&actor, &batch.decisions, &policies, now)
    })
    .await?;
    Ok(axum::Json(DecisionResults { results }))
}

/// Files one report; reports about the same subject id merge into one item.
///
/// The report records the token that filed it. An admin token is an intake: its subject
/// describes the content. Any other token files as a user would: its report never changes
/// an existing item's content, author, media hash matches or countries (on a new item only
/// its text is taken), and its further reports on one item add no priority.
#[utoipa::path(
    post,
    path = "/v1/reports",
    tag = "reports",
    request_body = NewReport,
    responses(
        (status = 201, description = "Recorded", body = ReportAccepted),
        (status = 400, description = "Malformed or invalid report", body = ApiError),
        (status = 401, description = "Missing or unknown token", body = ApiError),
        (status = 403, description = "Only admins file reports for others (as a trusted flagger, authority or automated source) or set their lane, deadline or receipt time", body = ApiError),
        (status = 413, description = "Body larger than 2 MiB, or an image (`media[].data`) larger than 1 MiB once decoded", body = ApiError),
        (status = 415, description = "`media[].data` is not a PNG, JPEG, GIF or WebP image by its bytes", body = ApiError),
    )
)]
pub async fn reports(
    State(storage): State<Arc<dyn Storage>>,
    Extension(actor): Extension<TokenInfo>,
    Extension(clock): Extension<Clock>,
    Json(report): Json<NewReport>,
) -> Answer<(StatusCode, axum::Json<ReportAccepted>)> {
    super::auth::check_reporter(&actor, &report)?;
    rules::check_report(&report).map_err(Failure::bad_request)?;
    let mut report = report;
    let blobs = media_rules::take_media(&mut report, media_rules::may_attach(Some(&actor)))
        .map_err(media_failure)?;
    let now = clock.now();
    let accepted = blocking(&storage, move |s| {
        // The bytes first: an item never lists media whose bytes are missing.
        s.put_media(&blobs, now)?;
        s.file_reports(Some(&actor), std::slice::from_ref(&report), now)?
            .pop()
            .ok_or_else(|| {
                StorageError::Backend(anyhow::anyhow!("a report was stored without a receipt"))
            })
    })
    .await?;
    Ok((StatusCode::CREATED, axum::Json(accepted)))
}

pub async fn no_route(method: Method, uri: Uri) -> Failure {
    Failure::not_found(format!(
        "no endpoint {method} {}; see /v1/openapi.json",
        uri.path()
    ))
}

pub async fn wrong_method(method: Method, uri: Uri) -> Failure {
    Failure::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} does not accept {method}", uri.path()),
    )
}
