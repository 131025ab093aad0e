//! The OpenAPI 3.1 document, generated from the handlers' attributes and the model types,
//! so that it cannot drift from the code. `docs/openapi.json` is a checked-in copy that a
//! test keeps equal.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::model::{
    ApiError, Author, AuthorRecord, ClaimCap, ClaimRequest, ClaimedPage, DailyStats, Decision,
    DecisionAction, DecisionBatch, DecisionOutcome, DecisionResult, DecisionResults,
    EscalationTier, HistoryEntry, HistoryEvent, Item, ItemKind, Lane, LaneCount, LeaseGrant,
    LeaseRefusal, LeaseRelease, LeaseRenewal, LeaseRequest, Me, Media, NewNote, NewReport,
    QueueCounts, QueuePage, RefusalReason, Report, ReportAccepted, ReporterType, ReviewState, Role,
    Scope, SelectRequest, Selection, StatementOfReasons, Statements, Subject, Tally, TierCount,
};
use crate::policy::{Ground, Policy, PolicyCatalog};
use crate::query::Sort;

use super::handlers;
use super::request_schema::RequestSchemas;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "modq moderation API",
        version = "1.0.0",
        description = "The reference moderation API of modq: a review queue of reported \
                       content with leases, so that two moderators never review one item at \
                       once, idempotent moderator decisions, and an append-only audit log. \
                       Every /v1 route except /v1/health and /v1/openapi.json needs \
                       `Authorization: Bearer <token>`. Every error body is an ApiError."
    ),
    paths(
        handlers::health,
        document,
        handlers::me,
        handlers::queue,
        handlers::claim,
        handlers::select,
        handlers::renew_leases,
        handlers::release_leases,
        handlers::claim_items,
        handlers::item,
        handlers::media,
        handlers::add_note,
        handlers::decisions,
        handlers::reports,
        super::appeals::lodge,
        handlers::policies,
        handlers::queue_counts,
        handlers::daily_stats,
        handlers::statements,
        super::audit::audit,
        super::messages::messages,
    ),
    components(schemas(
        ApiError, Author, ClaimRequest, ClaimedPage, Decision, DecisionAction, DecisionBatch,
        DecisionOutcome, DecisionResult, DecisionResults, EscalationTier, handlers::Health,
        HistoryEntry, HistoryEvent, Item, ItemKind, Lane, LeaseRelease, LeaseRenewal,
        LeaseRequest, LeaseGrant, LeaseRefusal, RefusalReason, ClaimCap, Me, Media, NewReport, QueuePage, Report, ReportAccepted, ReporterType,
        ReviewState, Role, Scope, SelectRequest, Selection, Sort, Subject, AuthorRecord, NewNote,
        LaneCount, TierCount, QueueCounts, Tally, DailyStats, StatementOfReasons, Statements,
        Ground, Policy, PolicyCatalog, crate::model::Appeal, crate::model::AppealedDecision,
        crate::model::AppealVerdict, crate::model::AppealOutcome, crate::model::NewAppeal,
        crate::model::AppealLodged, crate::server::storage::AuditEntry, super::audit::AuditPage,
        Ground, Policy, PolicyCatalog, crate::server::storage::AuditEntry, super::audit::AuditPage,
        crate::support::UserMessages, crate::support::UserMessage, crate::support::SupportResource,
        crate::model::ReporterAccount, crate::account::AccountMeasure, crate::account::AccountAction,
        crate::account::AccountStanding, crate::account::AccountMeasureRecord,
    )),
    modifiers(&BearerAuth, &CommonAnswers),
    security(("bearer" = [])),
    tags(
        (name = "meta", description = "Health and this document"),
        (name = "auth", description = "Who a token belongs to"),
        (name = "queue", description = "Reading the review queue"),
        (name = "leases", description = "Claiming queue items to review, so that no two moderators review one item at once"),
        (name = "decisions", description = "Moderator decisions"),
        (name = "reports", description = "Filing reports"),
        (name = "appeals", description = "Appeals against decisions (EU DSA Article 20)"),
        (name = "policies", description = "The reason codes a take down may cite"),
        (name = "transparency", description = "Daily transparency report and statements of reasons (EU DSA)"),
        (name = "audit", description = "Reading the audit log (admin tokens only)"),
        (name = "messages", description = "Messages to users, e.g. support resources (admin tokens only)"),
    )
)]
struct ApiDoc;

/// Declares the bearer scheme that the document-wide `security` refers to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        // utoipa copies Cargo.toml's license, which is unset: an empty name is not valid.
        doc.info.license = None;
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The answers any route may give besides its own: 500 everywhere, 414 and 431 for a
/// request head over the limits, 429 past a token's rate, and for a JSON body 400, 408 (too
/// slow), 413 (too large) and 415 (not JSON). Each is an `ApiError`.
struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::Operation;
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let answer = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ApiError")))
                            .build(),
                    )
                    .build(),
            )
        };
        let add = |op: &mut Operation, status: &str, description: &str| {
            op.responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| answer(description));
        };
        for item in doc.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
            ];
            for op in ops.into_iter().flatten() {
                let open = op
                    .security
                    .as_ref()
                    .is_some_and(|s| s.iter().all(|r| r == &Default::default()));
                add(op, "400", "A malformed request");
                add(op, "414", "A request target over 32 KiB");
                add(op, "431", "Request headers over 32 KiB");
                add(
                    op,
                    "500",
                    "The server failed; the cause is logged, not sent",
                );
                if !open {
                    add(op, "401", "Missing or unknown token");
                    add(op, "429", "This token's rate is spent; see Retry-After");
                }
                if op.request_body.is_some() {
                    add(op, "408", "The body did not arrive within the body timeout");
                    add(op, "413", "Body larger than 2 MiB");
                    add(op, "415", "The body is not sent as application/json");
                }
            }
        }
    }
}

/// The document as pretty JSON, exactly as served at `/v1/openapi.json`.
pub fn openapi_json() -> String {
    // The document is plain structs with string keys; serializing it to a string cannot
    // fail, and the fallback only keeps this function free of panics.
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"internal\", \"message\": \"{e}\"}}"))
}

static OPENAPI: LazyLock<String> = LazyLock::new(openapi_json);

/// This API's OpenAPI 3.1 document; needs no token.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    operation_id = "openapi",
    tag = "meta",
    security(()),
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json"))
)]
pub async fn document() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        OPENAPI.as_str(),
    )
}

/// The schemas request bodies are checked against: this document's. Made once, on first use.
pub fn request_schemas() -> &'static RequestSchemas {
    static SCHEMAS: LazyLock<RequestSchemas> =
        LazyLock::new(|| RequestSchemas::of_document(&openapi_json()));
    &SCHEMAS
}
