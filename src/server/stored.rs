//! How values are stored, on both engines: timestamps as RFC 3339 text with microseconds,
//! enums by their serde names, lists as JSON; and the error for a stored value that cannot
//! be read back. One form for both, so each reads the other's cursors and exports.

use anyhow::anyhow;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::model::{
    CategoryCount, EscalationTier, ItemTotals, Lane, ReporterType, ReporterTypeCount, ReviewState,
};
use crate::server::storage::StorageError;

pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn corrupt(what: &str, detail: impl std::fmt::Display) -> StorageError {
    StorageError::Backend(anyhow!("stored {what} is unreadable: {detail}"))
}

pub fn parse_ts(s: &str) -> Result<DateTime<Utc>, StorageError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt("timestamp", e))
}

pub fn parse_opt_ts(s: Option<&str>) -> Result<Option<DateTime<Utc>>, StorageError> {
    s.map(parse_ts).transpose()
}

/// The serde name of a unit enum value (e.g. `trusted_flagger`), as stored.
pub fn name_of<T: Serialize + std::fmt::Debug>(v: T) -> Result<String, StorageError> {
    match serde_json::to_value(&v) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(StorageError::Backend(anyhow!(
            "{v:?} has no plain name to store"
        ))),
    }
}

pub fn from_name<T: DeserializeOwned>(what: &str, s: &str) -> Result<T, StorageError> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|e| corrupt(what, e))
}

pub fn to_json<T: Serialize>(v: &T) -> Result<String, StorageError> {
    serde_json::to_string(v).map_err(|e| StorageError::Backend(anyhow::Error::new(e)))
}

pub fn from_json<T: DeserializeOwned>(what: &str, s: &str) -> Result<T, StorageError> {
    serde_json::from_str(s).map_err(|e| corrupt(what, e))
}

pub fn opt_json<T: DeserializeOwned>(
    what: &str,
    s: Option<&str>,
) -> Result<Option<T>, StorageError> {
    s.map(|s| from_json(what, s)).transpose()
}

pub fn opt_tier(s: Option<&str>) -> Result<Option<EscalationTier>, StorageError> {
    s.map(|s| from_name("escalation target", s)).transpose()
}

pub fn parse_lane(s: &str) -> Result<Lane, StorageError> {
    Lane::parse(s).ok_or_else(|| corrupt("lane", s))
}

pub fn parse_state(s: &str) -> Result<ReviewState, StorageError> {
    ReviewState::parse(s).ok_or_else(|| corrupt("review state", s))
}

/// An SQL expression (the same on both engines) for the category
/// [`rules::leading_category`](super::rules::leading_category) picks from the reports of the
/// item whose id is the SQL expression `item_id`: its most trusted source's, the earliest on
/// a tie. One index walk of the item's reports, inside the statement that needs it, instead
/// of a statement per item.
pub fn leading_category_sql(item_id: &str) -> Result<String, StorageError> {
    let mut weights = String::new();
    for reporter in ReporterType::ALL {
        weights.push_str(&format!(
            " WHEN '{}' THEN {}",
            name_of(reporter)?,
            reporter.weight()
        ));
    }
    Ok(format!(
        "(SELECT r.category FROM reports r WHERE r.item_id = {item_id} \
          ORDER BY CASE r.reporter_type{weights} ELSE 0 END DESC, r.id LIMIT 1)"
    ))
}

/// The statement (the same on both engines) reading the decisions applied in `[?1, ?2)` for
/// the transparency figures, oldest first: action, time, reason, the item's lane, countries,
/// first report and deadline, its leading report category, and whether it was reversed since.
pub fn decisions_between_sql() -> Result<String, StorageError> {
    Ok(format!(
        "SELECT a.action, a.at, a.reason_code, i.lane, i.countries, i.created_at, i.deadline,
                {},
                EXISTS (SELECT 1 FROM audit r WHERE r.reverses_id = a.id)
         FROM audit a JOIN items i ON i.id = a.item_id
         WHERE a.at >= ?1 AND a.at < ?2
         ORDER BY a.id",
        leading_category_sql("i.id")?
    ))
}

/// The statement (the same on both engines) reading the take downs in force, or overturned on
/// appeal, applied at or after `?1`, oldest first: at most `?3` from the first whose audit row
/// is numbered above `?2`. `columns` are the ones the take down's record is read from.
pub fn take_downs_sql(columns: &str) -> String {
    format!(
        "SELECT {columns}
         FROM audit a
         WHERE a.action = 'take_down' AND a.at >= ?1 AND a.id > ?2
           AND (NOT EXISTS (SELECT 1 FROM audit r WHERE r.reverses_id = a.id)
                OR EXISTS (SELECT 1 FROM appeals p
                           WHERE p.decision_id = a.id AND p.outcome = 'overturned'))
         ORDER BY a.id
         LIMIT ?3"
    )
}

/// The report tally's dimensions (its `dimension` column, on both engines).
pub const TALLY_REPORTER_TYPE: &str = "reporter_type";
pub const TALLY_CATEGORY: &str = "category";

/// What an item read counted of an item's whole record, as both engines read it.
pub struct CountedRecord {
    /// Every reporter type's row of the report tally: (name, reports).
    pub reporter_types: Vec<(String, i64)>,
    /// The category rows the read listed (at most `CATEGORIES_LISTED`): (name, reports).
    pub categories: Vec<(String, i64)>,
    /// Every audit row on the item.
    pub decisions: i64,
    /// Every note on the item, by the tier it was written at.
    pub notes_by_tier: Vec<(Option<EscalationTier>, i64)>,
}

/// An item's totals from what its read counted. Every report is in the reporter type tally
/// once, so the reports total is its sum; what the categories listed leave out is the rest.
pub fn item_totals(counted: CountedRecord) -> Result<ItemTotals, StorageError> {
    let count = |n: i64| u64::try_from(n).unwrap_or_default();
    let mut totals = ItemTotals::default();
    for (name, reports) in counted.reporter_types {
        let reporter_type = from_name::<ReporterType>("report tally's reporter type", &name)?;
        totals.reports = totals.reports.saturating_add(count(reports));
        totals.by_reporter_type.push(ReporterTypeCount {
            reporter_type,
            reports: count(reports),
        });
    }
    // Most reported first, then by name: one order on both engines, whatever they returned.
    totals.by_reporter_type.sort_by(|a, b| {
        b.reports
            .cmp(&a.reports)
            .then(a.reporter_type.label().cmp(b.reporter_type.label()))
    });
    let mut listed: u64 = 0;
    for (category, reports) in counted.categories {
        listed = listed.saturating_add(count(reports));
        totals.by_category.push(CategoryCount {
            category,
            reports: count(reports),
        });
    }
    totals.other_categories = totals.reports.saturating_sub(listed);
    let mut notes: u64 = 0;
    for (tier, n) in counted.notes_by_tier {
        notes = notes.saturating_add(count(n));
        if let Some(tier) = crate::server::rules::note_visible_to(tier, None) {
            totals.restricted_notes.push((tier, count(n)));
        }
    }
    totals.history = totals
        .reports
        .saturating_add(count(counted.decisions))
        .saturating_add(notes);
    Ok(totals)
}
