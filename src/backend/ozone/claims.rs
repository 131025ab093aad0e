//! Claims through Ozone's own report assignments (`tools.ozone.report.assignModerator`,
//! `unassignModerator`): claiming an item assigns its open reports to the moderator for
//! Ozone's assignment time (5 minutes unless the Ozone is set otherwise), and assigning
//! again renews it. A report another moderator holds is refused `AlreadyAssigned`, so two
//! moderators on one Ozone do not review the same subject; Ozone's own web UI sees the
//! same assignments.

use chrono::Utc;
use futures::StreamExt;
use serde::Deserialize;

use super::OzoneBackend;
use super::xrpc::Failure;
use crate::backend::BackendError;
use crate::model::{LeaseGrant, LeaseRefusal, LeaseRelease, LeaseRenewal, RefusalReason};

/// Ozone's default report assignment (`OZONE_ASSIGNMENT_REPORT_DURATION_MS`, 5 minutes):
/// the API does not say the length it grants, so modq renews well within it.
pub const ASSIGNMENT_SECONDS: u32 = 300;
/// Subjects claimed side by side.
const CLAIMS_AT_ONCE: usize = 4;
/// The report states a subject waiting for review has its reports in.
const WAITING: [&str; 3] = ["open", "queued", "assigned"];

#[derive(Debug, Deserialize)]
struct ReportPage {
    #[serde(default)]
    reports: Vec<ReportRow>,
}

#[derive(Debug, Deserialize)]
struct ReportRow {
    id: i64,
}

#[derive(Debug, Deserialize)]
struct AssignmentPage {
    #[serde(default)]
    assignments: Vec<Assignment>,
}

/// `tools.ozone.report.defs#assignmentView` (queryReports does not show a running
/// assignment that is not permanent: getAssignments does).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Assignment {
    did: String,
    report_id: i64,
    #[serde(default)]
    moderator: Option<Member>,
}

#[derive(Debug, Deserialize)]
struct Member {
    #[serde(default)]
    profile: Option<Profile>,
}

#[derive(Debug, Deserialize)]
struct Profile {
    #[serde(default)]
    handle: Option<String>,
}

/// How one item's claim went.
enum Claimed {
    Held,
    Elsewhere(Option<String>),
    NothingToClaim,
}

/// The ids of the waiting reports on a subject (one query per report state, side by side).
async fn reports(backend: &OzoneBackend, id: &str) -> Result<Vec<i64>, BackendError> {
    let by_state = WAITING.map(|status| async move {
        let mut params = vec![("status", status.to_string()), ("limit", "100".to_string())];
        if id.starts_with("did:") {
            params.push(("did", id.to_string()));
            params.push(("subjectType", "account".into()));
        } else {
            params.push(("subject", id.to_string()));
        }
        backend
            .query::<ReportPage>("tools.ozone.report.queryReports", &params)
            .await
            .map_err(Failure::into_backend)
    });
    let pages = futures::future::try_join_all(by_state).await?;
    Ok(pages
        .into_iter()
        .flat_map(|page| page.reports.into_iter().map(|r| r.id))
        .collect())
}

/// The running assignments of these reports.
async fn assignments(
    backend: &OzoneBackend,
    report_ids: &[i64],
) -> Result<Vec<Assignment>, BackendError> {
    let mut found = Vec::new();
    for chunk in report_ids.chunks(50) {
        let mut params = vec![("onlyActive", "true".to_string()), ("limit", "100".into())];
        params.extend(chunk.iter().map(|id| ("reportIds", id.to_string())));
        let page: AssignmentPage = backend
            .query("tools.ozone.report.getAssignments", &params)
            .await
            .map_err(Failure::into_backend)?;
        found.extend(page.assignments);
    }
    Ok(found)
}

/// Who holds one of the reports now, when it is someone else.
fn holder(assignments: &[Assignment], me: &str) -> Option<String> {
    let a = assignments.iter().find(|a| a.did != me)?;
    Some(
        a.moderator
            .as_ref()
            .and_then(|m| m.profile.as_ref())
            .and_then(|p| p.handle.clone())
            .unwrap_or_else(|| a.did.clone()),
    )
}

async fn claim_one(backend: &OzoneBackend, id: &str, me: &str) -> Result<Claimed, BackendError> {
    let ids = reports(backend, id).await?;
    if ids.is_empty() {
        return Ok(Claimed::NothingToClaim);
    }
    if let Some(other) = holder(&assignments(backend, &ids).await?, me) {
        return Ok(Claimed::Elsewhere(Some(other)));
    }
    for report_id in &ids {
        let body = serde_json::json!({ "reportId": report_id });
        match backend
            .procedure::<serde_json::Value, _>("tools.ozone.report.assignModerator", &body)
            .await
        {
            Ok(_) => {}
            Err(Failure::Refused(r)) if r.error == "AlreadyAssigned" => {
                return Ok(Claimed::Elsewhere(None));
            }
            Err(e) => return Err(e.into_backend()),
        }
    }
    Ok(Claimed::Held)
}

pub async fn claim(backend: &OzoneBackend, ids: &[String]) -> Result<LeaseGrant, BackendError> {
    let me = backend.did().await?;
    let me = me.as_str();
    let mut leased = Vec::new();
    let mut refused = Vec::new();
    // A few subjects at a time: each is several calls, and a claim stands before the screen.
    let answers: Vec<Result<Claimed, BackendError>> = futures::stream::iter(ids.to_vec())
        .map(|id| async move { claim_one(backend, &id, me).await })
        .buffered(CLAIMS_AT_ONCE)
        .collect()
        .await;
    for (id, answer) in ids.iter().zip(answers) {
        match answer? {
            Claimed::Held => leased.push(id.clone()),
            Claimed::Elsewhere(by) => refused.push(LeaseRefusal {
                item_id: id.clone(),
                reason: RefusalReason::LeasedElsewhere,
                leased_by: by,
            }),
            // A subject whose reports Ozone's report queue has not taken in yet (its router
            // polls once a minute) has nothing to assign and nobody holding it: the moderator
            // may review it, and the claim holds nothing on Ozone.
            Claimed::NothingToClaim => leased.push(id.clone()),
        }
    }
    let held = u32::try_from(leased.len()).unwrap_or(u32::MAX);
    Ok(LeaseGrant {
        leased,
        refused,
        lease_expires_at: Utc::now() + chrono::Duration::seconds(i64::from(ASSIGNMENT_SECONDS)),
        lease_seconds: ASSIGNMENT_SECONDS,
        held,
        max_leases: u32::MAX,
    })
}

/// Assigning again renews an assignment the moderator holds.
pub async fn renew(backend: &OzoneBackend, ids: &[String]) -> Result<LeaseRenewal, BackendError> {
    let grant = claim(backend, ids).await?;
    Ok(LeaseRenewal {
        renewed: grant.leased,
        lost: grant.refused.into_iter().map(|r| r.item_id).collect(),
        lease_expires_at: grant.lease_expires_at,
    })
}

pub async fn release(backend: &OzoneBackend, ids: &[String]) -> Result<LeaseRelease, BackendError> {
    let me = backend.did().await?;
    let mut released = 0;
    for id in ids {
        let ids = reports(backend, id).await?;
        let held = assignments(backend, &ids).await?;
        for a in held.iter().filter(|a| a.did == me) {
            let body = serde_json::json!({ "reportId": a.report_id });
            match backend
                .procedure::<serde_json::Value, _>("tools.ozone.report.unassignModerator", &body)
                .await
            {
                Ok(_) => released += 1,
                // Expired or released already: nothing held.
                Err(Failure::Refused(r)) if r.error == "InvalidAssignment" => {}
                Err(e) => return Err(e.into_backend()),
            }
        }
    }
    Ok(LeaseRelease { released })
}
