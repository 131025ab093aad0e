//! `GET /v1/messages`: the outbox of messages to users (support resources), for the
//! platform's delivery job. Admin tokens only: a message names a user and what they reported.

use std::sync::Arc;

use axum::extract::{Extension, State};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::model::ApiError;
use crate::support::UserMessages;

use super::auth::require_admin;
use super::error::{Failure, Query, blocking};
use super::limits::rows_limit;
use crate::server::storage::{Storage, TokenInfo};

const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 1000;

/// Query string of `GET /v1/messages`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageParams {
    /// Only messages after the one with this id (the last one read); from the first when
    /// absent.
    pub since: Option<i64>,
    /// Messages per page, 1 to 1000; 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
}

/// Messages to users, oldest first; admin tokens only.
#[utoipa::path(
    get,
    path = "/v1/messages",
    tag = "messages",
    params(MessageParams),
    responses(
        (status = 200, description = "Messages after `since`", body = UserMessages),
        (status = 400, description = "A limit outside 1 to 1000", body = ApiError),
        (status = 401, description = "Missing or unknown token", body = ApiError),
        (status = 403, description = "The token is not an admin's", body = ApiError),
    )
)]
pub async fn messages(
    State(storage): State<Arc<dyn Storage>>,
    Extension(actor): Extension<TokenInfo>,
    Query(params): Query<MessageParams>,
) -> Result<axum::Json<UserMessages>, Failure> {
    require_admin(&actor, "read messages to users")?;
    let limit = rows_limit(params.limit, DEFAULT_LIMIT, MAX_LIMIT)?;
    let after = params.since.unwrap_or(0);
    let messages = blocking(&storage, move |s| s.messages(after, limit)).await?;
    Ok(axum::Json(UserMessages { messages }))
}
