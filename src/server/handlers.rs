//! The HTTP face of API v1: parse and check the request, call storage off the async
//! runtime, answer JSON. The `#[utoipa::path]` attributes are the OpenAPI document.

use std::sync::{Arc, LazyLock};

use axum::extract::{Extension, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::IntoResponse;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::model::{
    ApiError, ClaimRequest, ClaimedPage, DecisionBatch, DecisionResults, Item, Lane, LeaseRelease,
    LeaseRenewal, LeaseRequest, Me, NewReport, QueuePage, ReportAccepted, ReviewState,
    SelectRequest, Selection,
};
use crate::query::{Query as Filter, Sort};

use super::error::{Failure, Json, Path, Query};
use super::rules::{self, MAX_DECISIONS_PER_BATCH, MAX_LEASE_IDS};
use super::storage::{
    Cursor, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, MAX_SELECTION, QueueQuery, Storage, StorageError,
    TokenInfo,
};

type Answer<T> = Result<T, Failure>;

/// Runs a storage call on the blocking pool: storage is synchronous and may wait on disk.
async fn blocking<T, F>(storage: &Arc<dyn Storage>, call: F) -> Answer<T>
where
    T: Send + 'static,
    F: FnOnce(&dyn Storage) -> Result<T, StorageError> + Send + 'static,
{
    let storage = Arc::clone(storage);
    match tokio::task::spawn_blocking(move || call(storage.as_ref())).await {
        Ok(result) => result.map_err(Failure::from),
        Err(join) => Err(Failure::internal(&join)),
    }
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

static OPENAPI: LazyLock<String> = LazyLock::new(super::openapi::openapi_json);

/// This API's OpenAPI 3.1 document; needs no token.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "meta",
    security(()),
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json"))
)]
pub async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        OPENAPI.as_str(),
    )
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
    /// `next_cursor` of the previous page; the first page when absent.
    pub cursor: Option<String>,
    /// Items per page, 1 to 500 (larger values are clamped); 50 when absent.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    /// Only items matching this filter, e.g. `cat:spam lang:ru prio:>50` (docs/api.md).
    pub q: Option<String>,
    /// `priority` (default), `age`, `reports` or `deadline`.
    #[param(value_type = Option<Sort>)]
    pub sort: Option<String>,
}

impl QueueParams {
    fn into_query(self) -> Result<QueueQuery, Failure> {
        let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
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
        let sort = match nonempty(self.sort) {
            None => Sort::Priority,
            Some(s) => Sort::parse(&s).ok_or_else(|| {
                Failure::bad_request(format!(
                    "unknown sort {s:?}; expected one of priority, age, reports, deadline"
                ))
            })?,
        };
        Ok(QueueQuery {
            lane,
            state,
            filter: parse_filter(self.q.as_deref())?,
            sort,
            after: decode_cursor(self.cursor)?,
            limit: page_limit(self.limit),
        })
    }
}

/// A `q` parameter as a filter; everything when absent.
fn parse_filter(q: Option<&str>) -> Result<Filter, Failure> {
    Filter::parse(q.unwrap_or("")).map_err(|e| Failure::bad_request(format!("q: {e}")))
}

/// The position a `cursor` parameter names; the start when absent or empty.
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

/// A requested page size: the default when absent, else clamped to `1..=MAX_PAGE_LIMIT`.
fn page_limit(limit: Option<u64>) -> usize {
    limit.map_or(DEFAULT_PAGE_LIMIT, |n| {
        usize::try_from(n).map_or(MAX_PAGE_LIMIT, |n| n.clamp(1, MAX_PAGE_LIMIT))
    })
}

/// One page of the queue, most urgent first: priority descending, then oldest first.
#[utoipa::path(
    get,
    path = "/v1/queue",
    tag = "queue",
    params(QueueParams),
    responses(
        (status = 200, description = "One page of items with their reports and history", body = QueuePage),
        (status = 400, description = "Unknown lane or state, or a cursor the server did not make", body = ApiError),
        (status = 401, description = "Missing or unknown token", body = ApiError),
    )
)]
pub async fn queue(
    State(storage): State<Arc<dyn Storage>>,
    Query(params): Query<QueueParams>,
) -> Answer<axum::Json<QueuePage>> {
    let query = params.into_query()?;
    let page = blocking(&storage, move |s| s.queue_page(&query)).await?;
    Ok(axum::Json(page))
}

/// Leases the next page of the queue to the caller.
///
/// Walks the queue as `GET /v1/queue` does (same order, filters and cursor), skipping items
/// leased to someone else until their lease runs out, and leases each item it returns to
/// the token's holder. Items the caller already holds are returned again, their lease
/// extended. Only `open` (the default) items can be claimed, and `escalated` ones by seniors
/// and admins.
#[utoipa::path(
    post,
    path = "/v1/queue/claim",
    tag = "leases",
    request_body = ClaimRequest,
    responses(
        (status = 200, description = "Up to `limit` items, each now leased to the caller", body = ClaimedPage),
        (status = 400, description = "Malformed body, a state the caller cannot claim, or a cursor the server did not make", body = ApiError),
        (status = 401, description = "Missing or unknown token", body = ApiError),
        (status = 413, description = "Body larger than 2 MiB", body = ApiError),
    )
)]
pub async fn claim(
    State(storage): State<Arc<dyn Storage>>,
    Extension(actor): Extension<TokenInfo>,
    Json(request): Json<ClaimRequest>,
) -> Answer<axum::Json<ClaimedPage>> {
    let query = QueueQuery {
        after: decode_cursor(request.cursor)?,
        limit: page_limit(request.limit.map(u64::from)),
        ..claimable(
            &actor,
            request.lane,
            request.state,
            request.q.as_deref(),
            request.sort,
        )?
    };
    let lease_seconds = rules::lease_seconds(request.lease_seconds);
    let now = Utc::now();
    let page = blocking(&storage, move |s| {
        s.claim(&actor.name, &query, lease_seconds, now)
    })
    .await?;
    Ok(axum::Json(page))
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
    Json(request): Json<SelectRequest>,
) -> Answer<axum::Json<Selection>> {
    let query = claimable(
        &actor,
        request.lane,
        request.state,
        request.q.as_deref(),
        request.sort,
    )?;
    let limit = request.limit.map_or(MAX_SELECTION, |n| {
        usize::try_from(n).unwrap_or(MAX_SELECTION)
    });
    let now = Utc::now();
    let selected = blocking(&storage, move |s| s.select(&actor.name, &query, limit, now)).await?;
    Ok(axum::Json(Selection {
        ids: selected.ids,
        leased_elsewhere: selected.leased_elsewhere,
        truncated: selected.truncated,
    }))
}

/// The walk a claim or a selection makes for `actor`: `open` items unless another state is
/// asked for (and allowed), filtered and ordered as asked, from the top.
fn claimable(
    actor: &TokenInfo,
    lane: Option<Lane>,
    state: Option<ReviewState>,
    q: Option<&str>,
    sort: Option<Sort>,
) -> Result<QueueQuery, Failure> {
    let state = state.unwrap_or(ReviewState::Open);
    rules::check_claim(actor, state).map_err(Failure::bad_request)?;
    Ok(QueueQuery {
        lane,
        state,
        filter: parse_filter(q)?,
        sort: sort.unwrap_or_default(),
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
    Json(request): Json<LeaseRequest>,
) -> Answer<axum::Json<LeaseRenewal>> {
    check_lease_ids(&request)?;
    let lease_seconds = rules::lease_seconds(request.lease_seconds);
    let now = Utc::now();
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

/// One item with its reports and full history.
#[utoipa::path(
    get,
    path = "/v1/items/{id}",
    tag = "queue",
    params(("id" = String, Path, description = "The item id (the reported subject's id), percent-encoded")),
    responses(
        (status = 200, description = "The item", body = Item),
        (status = 404, description = "No item has this id", body = ApiError),
        (status = 401, description = "Missing or unknown token", body = ApiError),
    )
)]
pub async fn item(
    State(storage): State<Arc<dyn Storage>>,
    Path(id): Path<String>,
) -> Answer<axum::Json<Item>> {
    let wanted = id.clone();
    match blocking(&storage, move |s| s.item(&wanted)).await? {
        Some(item) => Ok(axum::Json(item)),
        None => Err(Failure::not_found(format!("no item has id {id:?}"))),
    }
}

/// Applies a batch of decisions in one transaction, each idempotency key at most once.
#[utoipa::path(
    post,
    path = "/v1/decisions",
    tag = "decisions",
    request_body = DecisionBatch,
    responses(
        (status = 200, description = "One result per decision, in request order", body = DecisionResults),
        (status = 400, description = "Malformed body, or more than 1000 decisions", body = ApiError),
        (status = 401, description = "Missing or unknown token", body = ApiError),
        (status = 413, description = "Body larger than 2 MiB", body = ApiError),
    )
)]
pub async fn decisions(
    State(storage): State<Arc<dyn Storage>>,
    Extension(actor): Extension<TokenInfo>,
    Json(batch): Json<DecisionBatch>,
) -> Answer<axum::Json<DecisionResults>> {
    let count = batch.decisions.len();
    if count > MAX_DECISIONS_PER_BATCH {
        return Err(Failure::bad_request(format!(
            "a batch holds at most {MAX_DECISIONS_PER_BATCH} decisions; this one has {count}"
        )));
    }
    let now = Utc::now();
    let results = blocking(&storage, move |s| {
        s.apply_decisions(&actor, &batch.decisions, now)
    })
    .await?;
    Ok(axum::Json(DecisionResults { results }))
}

/// Files one report; reports about the same subject id merge into one item.
#[utoipa::path(
    post,
    path = "/v1/reports",
    tag = "reports",
    request_body = NewReport,
    responses(
        (status = 201, description = "Recorded", body = ReportAccepted),
        (status = 400, description = "Malformed or invalid report", body = ApiError),
        (status = 401, description = "Missing or unknown token", body = ApiError),
        (status = 413, description = "Body larger than 2 MiB", body = ApiError),
    )
)]
pub async fn reports(
    State(storage): State<Arc<dyn Storage>>,
    Json(report): Json<NewReport>,
) -> Answer<(StatusCode, axum::Json<ReportAccepted>)> {
    rules::check_report(&report).map_err(Failure::bad_request)?;
    let now = Utc::now();
    let accepted = blocking(&storage, move |s| s.add_report(&report, now)).await?;
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
