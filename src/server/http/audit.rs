//! `GET /v1/audit`: reading the append-only audit log, for admins only. The log names every
//! moderator and what they decided, so it is not for every token to read.

use std::sync::Arc;

use axum::extract::{Extension, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::model::ApiError;

use super::auth::require_admin;
use super::error::blocking;
use super::error::{Failure, Query};
use super::limits::rows_limit;
use crate::server::storage::{AuditEntry, AuditQuery, Storage, TokenInfo};

pub const DEFAULT_AUDIT_LIMIT: usize = 100;
pub const MAX_AUDIT_LIMIT: usize = 1000;

/// `GET /v1/audit` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AuditPage {
    /// Oldest first.
    pub entries: Vec<AuditEntry>,
    /// Pass back as `since` for the next page; absent when this page was not full.
    #[serde(default)]
    pub next_since: Option<i64>,
}

/// Query string of `GET /v1/audit`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only entries after the one with this id (`next_since` of the previous page); from the
    /// start of the log when absent.
    pub since: Option<i64>,
    /// Only entries about this item.
    pub item: Option<String>,
    /// Entries per page, 1 to 1000; 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u64>,
}

/// The audit log, oldest first; admin tokens only.
#[utoipa::path(
    get,
    path = "/v1/audit",
    tag = "audit",
    params(AuditParams),
    responses(
        (status = 200, description = "A page of the audit log", body = AuditPage),
        (status = 401, description = "Missing or unknown token", body = ApiError),
        (status = 403, description = "The token is not an admin's", body = ApiError),
    )
)]
pub async fn audit(
    State(storage): State<Arc<dyn Storage>>,
    Extension(actor): Extension<TokenInfo>,
    Query(params): Query<AuditParams>,
) -> Result<axum::Json<AuditPage>, Failure> {
    require_admin(&actor, "read the audit log")?;
    let limit = rows_limit(params.limit, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT)?;
    let query = AuditQuery {
        after_id: params.since.unwrap_or(0),
        item: params.item.filter(|s| !s.is_empty()),
        limit,
    };
    let entries = blocking(&storage, move |s| s.audit(&query)).await?;
    let next_since = (entries.len() == limit)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    Ok(axum::Json(AuditPage {
        entries,
        next_since,
    }))
}
