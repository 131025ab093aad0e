//! The reference moderation API (`modq serve`): a review queue with leases, idempotent
//! decisions and an append-only audit log over HTTP, on a [`Storage`] (SQLite by default).
//!
//! Layers, imported one way only (`tests/module_graph.rs` holds them to it): HTTP
//! (`http/`: handlers, audit, auth, limits, error, openapi, request_schema, connections;
//! and `import`) over the engines (`sqlite/`, `postgres/`, with `filter_sql`, `read_pool`,
//! `decision_steps` and `stored`)
//! over the pure rules (`rules`, `account_rules`, `claims`, `statements`, `stats`, `clock`) over `storage`,
//! the trait and the types it speaks. Handlers see only `dyn Storage`; this root is the one
//! place that names an engine.

mod account_rules;
mod appeals;
mod basis;
mod claims;
mod clock;
mod decision_steps;
mod filter_sql;
mod http;
mod import;
mod media_rules;
mod postgres;
mod read_pool;
mod report_figures;
mod rules;
mod sqlite;
pub mod statements;
pub mod stats;
mod storage;
mod stored;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};

pub use self::postgres::{
    DEFAULT_CONNECTIONS as DEFAULT_PG_CONNECTIONS, PostgresStorage, is_postgres_url,
};
pub use audit::{AuditPage, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT};
pub use auth::{
    DEFAULT_AUTH_FAILURES_PER_MINUTE, add_token, check_token_name, create_token, hash_token,
};
pub use claims::{ACTIVE_FOR_SECONDS, DEFAULT_MAX_LEASE_SECONDS, DEFAULT_MAX_LEASES, LeasePolicy};
pub use clock::Clock;
pub use connections::{
    ConnectionLimits, DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
};
pub use handlers::Health;
pub use import::{ImportSummary, import_jsonl};
pub use limits::{
    DEFAULT_PAGE_BYTES, DEFAULT_RATE_PER_SECOND, MAX_HEADER_BYTES, MAX_URI_BYTES, RateLimiter,
};
pub use media_rules::{MAX_MEDIA_BYTES, MediaRefusal, may_serve};
pub use openapi::openapi_json;
pub use rules::{
    DEFAULT_LEASE_SECONDS, MAX_DECISIONS_PER_BATCH, MAX_LEASE_IDS, MAX_LEASE_SECONDS,
    MIN_LEASE_SECONDS, check_report, leading_category, redact_history,
};
pub use sqlite::SqliteStorage;
pub use storage::{AppealRecord, AppealRefusal};
pub use storage::{
    AuditEntry, AuditQuery, CATEGORIES_LISTED, ClaimLimits, Cursor, DECISIONS_LISTED,
    DEFAULT_PAGE_LIMIT, DecisionBasis, DecisionFact, Group, MAX_PAGE_LIMIT, MAX_SELECTION,
    MediaBlob, NOTES_LISTED, QueueQuery, REPORTS_LISTED, Selected, SortValue, Storage,
    StorageError, TakeDownRecord, TokenInfo, TokenRecord, sorts_first,
};

use crate::policy::PolicyCatalog;
use http::{audit, auth, connections, error, handlers, limits, messages, openapi};

/// Largest request body accepted; larger ones get 413.
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;

/// How the server protects itself; `Default` is what `modq serve` runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerOptions {
    /// Requests per second per token (`modq serve --rate`).
    pub rate_per_second: u32,
    /// Failed authentications per client address per minute (`modq serve --auth-failures`).
    pub auth_failures_per_minute: u32,
    /// What "now" is; the wall clock for `modq serve`.
    pub clock: Clock,
    /// Connection cap and timeouts (`--max-connections`, `--header-timeout`, …).
    pub connections: ConnectionLimits,
    /// Largest queue or claim page, in bytes of JSON (`--page-bytes`): past it a page ends
    /// early and says there is more.
    pub page_bytes: usize,
    /// How many live leases one holder may have, and for how long (`modq serve
    /// --max-leases`, `--max-lease-seconds`).
    pub leases: LeasePolicy,
}

impl Default for ServerOptions {
    fn default() -> ServerOptions {
        ServerOptions {
            rate_per_second: DEFAULT_RATE_PER_SECOND,
            auth_failures_per_minute: DEFAULT_AUTH_FAILURES_PER_MINUTE,
            clock: Clock::wall(),
            connections: ConnectionLimits::default(),
            page_bytes: DEFAULT_PAGE_BYTES,
            leases: LeasePolicy::default(),
        }
    }
}

/// All of API v1, with the default options.
pub fn router(storage: Arc<dyn Storage>) -> Router {
    router_with(storage, ServerOptions::default())
}

/// All of API v1, with the built-in policy catalog.
pub fn router_with(storage: Arc<dyn Storage>, options: ServerOptions) -> Router {
    router_with_policies(storage, options, PolicyCatalog::builtin())
}

/// All of API v1, citing reasons from `policies`.
pub fn router_with_policies(
    storage: Arc<dyn Storage>,
    options: ServerOptions,
    policies: PolicyCatalog,
) -> Router {
    let with_token = Router::new()
        .route("/v1/me", get(handlers::me))
        .route("/v1/queue", get(handlers::queue))
        .route("/v1/queue/counts", get(handlers::queue_counts))
        .route("/v1/queue/claim", post(handlers::claim))
        .route("/v1/queue/select", post(handlers::select))
        .route("/v1/policies", get(handlers::policies))
        .route("/v1/items/{id}/notes", post(handlers::add_note))
        .route("/v1/stats", get(handlers::daily_stats))
        .route("/v1/statements", get(handlers::statements))
        .route("/v1/leases/renew", post(handlers::renew_leases))
        .route("/v1/leases/release", post(handlers::release_leases))
        .route("/v1/leases/claim", post(handlers::claim_items))
        .route("/v1/items/{id}", get(handlers::item))
        .route("/v1/items/{id}/media/{media_id}", get(handlers::media))
        .route("/v1/decisions", post(handlers::decisions))
        .route("/v1/reports", post(handlers::reports))
        .route("/v1/appeals", post(http::appeals::lodge))
        .route("/v1/audit", get(audit::audit))
        .route("/v1/messages", get(messages::messages))
        // The last layer added runs first: the token is known before its rate is counted.
        .route_layer(middleware::from_fn_with_state(
            RateLimiter::new(options.rate_per_second),
            limits::per_token,
        ))
        .route_layer(middleware::from_fn_with_state(
            auth::Gate {
                storage: Arc::clone(&storage),
                failures: auth::FailedAuth::new(options.auth_failures_per_minute),
            },
            auth::require_token,
        ));
    Router::new()
        .route("/v1/health", get(handlers::health))
        .route("/v1/openapi.json", get(openapi::document))
        .merge(with_token)
        .fallback(handlers::no_route)
        .method_not_allowed_fallback(handlers::wrong_method)
        .layer(Extension(Arc::new(policies)))
        .layer(Extension(options.clock))
        .layer(Extension(limits::PageBytes(options.page_bytes)))
        .layer(Extension(openapi::request_schemas()))
        .layer(Extension(error::BodyTimeout(
            options.connections.body_timeout,
        )))
        .layer(Extension(options.leases))
        .layer(Extension(claims::Activity::default()))
        .layer(Extension(handlers::DayFigures::default()))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(limits::request_head))
        .layer(middleware::from_fn(log_request))
        .with_state(storage)
}

/// Serves API v1 on `listener` until `shutdown` completes, then finishes open requests.
pub async fn serve(
    listener: tokio::net::TcpListener,
    storage: Arc<dyn Storage>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, storage, ServerOptions::default(), shutdown).await
}

/// [`serve`] with other options.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    storage: Arc<dyn Storage>,
    options: ServerOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_policies(
        listener,
        storage,
        options,
        PolicyCatalog::builtin(),
        shutdown,
    )
    .await
}

/// [`serve_with`] and another policy catalog (`modq serve --policies FILE`).
pub async fn serve_with_policies(
    listener: tokio::net::TcpListener,
    storage: Arc<dyn Storage>,
    options: ServerOptions,
    policies: PolicyCatalog,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router_with_policies(storage, options, policies);
    connections::serve(listener, router, options.connections, shutdown).await
}

/// One line per request. The path only: query strings and bodies may carry content.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        path = %path.escape_debug(),
        status = response.status().as_u16(),
        ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        "request"
    );
    response
}
