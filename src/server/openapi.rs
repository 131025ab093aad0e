//! The OpenAPI 3.1 document, generated from the handlers' attributes and the model types,
//! so that it cannot drift from the code. `docs/openapi.json` is a checked-in copy that a
//! test keeps equal.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::model::{
    ApiError, Author, AuthorRecord, ClaimCap, ClaimRequest, ClaimedPage, DailyStats, Decision,
    DecisionAction, DecisionBatch, DecisionOutcome, DecisionResult, DecisionResults,
    EscalationTier, HistoryEntry, HistoryEvent, Item, ItemKind, Lane, LaneCount, LeaseClaim,
    LeaseGrant, LeaseRefusal, LeaseRelease, LeaseRenewal, LeaseRequest, Me, Media, NewNote,
    NewReport, QueueCounts, QueuePage, RefusalReason, Report, ReportAccepted, ReporterType,
    ReviewState, Role, Scope, SelectRequest, Selection, StatementOfReasons, Statements, Subject,
    Tally, TierCount,
};
use crate::policy::{Ground, Policy, PolicyCatalog};
use crate::query::Sort;

use super::handlers;

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
        handlers::openapi,
        handlers::me,
        handlers::queue,
        handlers::claim,
        handlers::select,
        handlers::renew_leases,
        handlers::release_leases,
        handlers::claim_items,
        handlers::item,
        handlers::add_note,
        handlers::decisions,
        handlers::reports,
        handlers::policies,
        handlers::queue_counts,
        handlers::daily_stats,
        handlers::statements,
        super::audit::audit,
    ),
    components(schemas(
        ApiError, Author, ClaimRequest, ClaimedPage, Decision, DecisionAction, DecisionBatch,
        DecisionOutcome, DecisionResult, DecisionResults, EscalationTier, handlers::Health,
        HistoryEntry, HistoryEvent, Item, ItemKind, Lane, LeaseRelease, LeaseRenewal,
        LeaseRequest, LeaseClaim, LeaseGrant, LeaseRefusal, RefusalReason, ClaimCap, Me, Media, NewReport, QueuePage, Report, ReportAccepted, ReporterType,
        ReviewState, Role, Scope, SelectRequest, Selection, Sort, Subject, AuthorRecord, NewNote,
        LaneCount, TierCount, QueueCounts, Tally, DailyStats, StatementOfReasons, Statements,
        Ground, Policy, PolicyCatalog, super::audit::AuditEntry, super::audit::AuditPage,
    )),
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    tags(
        (name = "meta", description = "Health and this document"),
        (name = "auth", description = "Who a token belongs to"),
        (name = "queue", description = "Reading the review queue"),
        (name = "leases", description = "Claiming queue items to review, so that no two moderators review one item at once"),
        (name = "decisions", description = "Moderator decisions"),
        (name = "reports", description = "Filing reports"),
        (name = "policies", description = "The reason codes a take down may cite"),
        (name = "transparency", description = "Daily transparency report and statements of reasons (EU DSA)"),
        (name = "audit", description = "Reading the audit log (admin tokens only)"),
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

/// The document as pretty JSON, exactly as served at `/v1/openapi.json`.
pub fn openapi_json() -> String {
    // The document is plain structs with string keys; serializing it to a string cannot
    // fail, and the fallback only keeps this function free of panics.
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"internal\", \"message\": \"{e}\"}}"))
}
