//! Bulk import of reports from JSON Lines (one `NewReport` per line), for seeding a server
//! or replaying a platform's export.

use std::collections::HashSet;
use std::io::BufRead;

use anyhow::{Context, anyhow};
use chrono::Utc;

use crate::model::NewReport;

use super::http::openapi;
use super::media_rules;
use super::rules;
use super::storage::Storage;

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportSummary {
    /// Reports recorded.
    pub reports: usize,
    /// Distinct items those reports landed on (new or merged into).
    pub items: usize,
}

/// Reads every line first and stores nothing unless all are valid, so a typo on line 900
/// does not leave half a file imported. Blank lines are skipped. Errors name the 1-based
/// line.
pub fn import_jsonl(storage: &dyn Storage, reader: impl BufRead) -> anyhow::Result<ImportSummary> {
    let mut reports = Vec::new();
    let mut blobs = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let number = index + 1;
        let line = line.with_context(|| format!("line {number}: cannot read"))?;
        if line.trim().is_empty() {
            continue;
        }
        let mut report: NewReport = serde_json::from_str(&line)
            .map_err(|e| anyhow!("line {number}: {}", without_position(&e)))?;
        // The caps of POST /v1/reports hold for imported reports too.
        let value = serde_json::to_value(&report).map_err(|e| anyhow!("line {number}: {e}"))?;
        openapi::request_schemas()
            .check("NewReport", &value)
            .map_err(|why| match why {
                Ok(message) | Err(message) => anyhow!("line {number}: {message}"),
            })?;
        rules::check_report(&report).map_err(|why| anyhow!("line {number}: {why}"))?;
        let taken = media_rules::take_media(&mut report, media_rules::may_attach(None))
            .map_err(|why| anyhow!("line {number}: {why}"))?;
        blobs.extend(taken);
        reports.push(report);
    }
    // The bytes first: an item never lists media whose bytes are missing.
    storage
        .put_media(&blobs, Utc::now())
        .context("cannot store the media")?;
    let accepted = storage
        .add_reports(&reports, Utc::now())
        .context("cannot store the reports")?;
    let items: HashSet<&str> = accepted.iter().map(|a| a.item_id.as_str()).collect();
    Ok(ImportSummary {
        reports: accepted.len(),
        items: items.len(),
    })
}

/// serde's message with its position as a column only: "line 1" would mislead, since
/// each line is parsed on its own.
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    match text.strip_suffix(&suffix) {
        Some(message) => format!("{message} (column {})", e.column()),
        None => text,
    }
}
