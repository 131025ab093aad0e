//! Appeals over HTTP: lodging one (`POST /v1/appeals`, the affected user's side through an
//! authenticated intake), and the appeal every appeal item carries when it is read.

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::StatusCode;

use crate::model::{ApiError, AppealLodged, Item, Lane, NewAppeal};
use crate::policy::PolicyCatalog;

use super::error::{Answer, Failure, Json, blocking};
use crate::server::appeals;
use crate::server::clock::Clock;
use crate::server::storage::{AppealRefusal, Storage, StorageError, TokenInfo};

/// Sets `appeal` on each appeal item of `items`: the decision appealed, with its statement
/// of reasons as exported now, and the appellant's statement.
pub fn attach(
    storage: &dyn Storage,
    policies: &PolicyCatalog,
    items: &mut [Item],
) -> Result<(), StorageError> {
    let ids: Vec<String> = items
        .iter()
        .filter(|i| i.lane == Lane::Appeals)
        .map(|i| i.id.clone())
        .collect();
    if ids.is_empty() {
        return Ok(());
    }
    let records = storage.appeals_of(&ids)?;
    for item in items {
        if let Some(r) = records.iter().find(|r| r.appeal_item_id == item.id) {
            item.appeal = Some(appeals::view(r, policies));
        }
    }
    Ok(())
}

/// Lodges an appeal against a take down (EU DSA Article 20), on the affected user's behalf.
///
/// The decision is named by its statement of reasons' `puid` (`modq-N`). Only a take down
/// still in force is appealed, within six months of it, once. The appeal enters the queue
/// as an item of its own (`appeal-N`, lane `appeals`) carrying the content as decided, the
/// decision and the appellant's statement; a moderator other than the one who decided
/// upholds or overturns it (`POST /v1/decisions`, actions `uphold` and `overturn`).
#[utoipa::path(
    post,
    path = "/v1/appeals",
    tag = "appeals",
    request_body = NewAppeal,
    responses(
        (status = 201, description = "Lodged: the appeal and its queue item", body = AppealLodged),
        (status = 400, description = "Malformed body, or a blank statement or one over 4000 characters", body = ApiError),
        (status = 401, description = "Missing or unknown token", body = ApiError),
        (status = 404, description = "No applied decision is named so", body = ApiError),
        (status = 409, description = "Not appealable: not a take down, reversed since, appealed already, or past the six months", body = ApiError),
        (status = 413, description = "Body larger than 2 MiB", body = ApiError),
    )
)]
pub async fn lodge(
    State(storage): State<Arc<dyn Storage>>,
    Extension(actor): Extension<TokenInfo>,
    Extension(clock): Extension<Clock>,
    Json(appeal): Json<NewAppeal>,
) -> Answer<(StatusCode, axum::Json<AppealLodged>)> {
    appeals::check_statement(&appeal.statement).map_err(Failure::bad_request)?;
    let now = clock.now();
    let lodged = blocking(&storage, move |s| s.lodge_appeal(&actor, &appeal, now)).await?;
    match lodged {
        Ok(lodged) => Ok((StatusCode::CREATED, axum::Json(lodged))),
        Err(AppealRefusal::Invalid(m)) => Err(Failure::bad_request(m)),
        Err(AppealRefusal::UnknownDecision(m)) => Err(Failure::not_found(m)),
        Err(
            AppealRefusal::NotAppealable(m)
            | AppealRefusal::AlreadyAppealed(m)
            | AppealRefusal::TooLate(m),
        ) => Err(Failure::new(StatusCode::CONFLICT, "conflict", m)),
    }
}
