//! How values are stored, on both engines: timestamps as RFC 3339 text with microseconds,
//! enums by their serde names, lists as JSON; and the error for a stored value that cannot
//! be read back. One form for both, so each reads the other's cursors and exports.

use anyhow::anyhow;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::model::{
    CategoryCount, DecisionAction, EscalationTier, HistoryEntry, HistoryEvent, ItemTotals, Lane,
    Report, ReporterType, ReporterTypeCount, ReviewState,
};
use crate::server::report_figures::{FiledReport, ReportFigures};
use crate::server::rules;
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

/// The statement (the same on both engines) reading the decisions applied in `[?1, ?2)` for
/// the transparency figures, oldest first: action, time, reason, the item's lane, countries,
/// first report and deadline, its leading report category (`items.leading_category`), and whether it was reversed since.
pub const DECISIONS_BETWEEN: &str =
    "SELECT a.action, a.at, a.reason_code, i.lane, i.countries, i.created_at, i.deadline,
            i.leading_category, EXISTS (SELECT 1 FROM audit r WHERE r.reverses_id = a.id)
     FROM audit a JOIN items i ON i.id = a.item_id
     WHERE a.at >= ?1 AND a.at < ?2
     ORDER BY a.id";

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
    /// `items.leading_category`.
    pub leading_category: Option<String>,
}

/// An item's totals from what its read counted. Every report is in the reporter type tally
/// once, so the reports total is its sum; what the categories listed leave out is the rest.
pub fn item_totals(counted: CountedRecord) -> Result<ItemTotals, StorageError> {
    let count = |n: i64| u64::try_from(n).unwrap_or_default();
    let mut totals = ItemTotals {
        leading_category: counted.leading_category,
        ..ItemTotals::default()
    };
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

/// An item row's report figures as stored.
pub struct StoredFigures {
    pub lane: String,
    pub priority: i64,
    pub report_weight: i64,
    pub report_count: i64,
    pub deadline: Option<String>,
    pub created_at: String,
    /// NULL only on a row no report was ever counted into.
    pub leading_reporter_type: Option<String>,
    pub leading_category: Option<String>,
}

/// An item's report figures after `filed`, from those its row stored before (`None`: the
/// item is new).
pub fn figures_after(
    before: Option<&StoredFigures>,
    filed: &FiledReport,
) -> Result<ReportFigures, StorageError> {
    let before = match before {
        Some(b) => Some(ReportFigures::stored(
            parse_lane(&b.lane)?,
            b.priority,
            b.report_weight,
            b.report_count,
            parse_opt_ts(b.deadline.as_deref())?,
            parse_ts(&b.created_at)?,
            match (&b.leading_reporter_type, &b.leading_category) {
                (Some(reporter), Some(category)) => Some((
                    from_name("leading reporter type", reporter)?,
                    category.clone(),
                )),
                _ => None,
            },
        )),
        None => None,
    };
    Ok(ReportFigures::after(before.as_ref(), filed))
}

/// Whether token `?2` already filed an ordinary (non-admin, `?3`) report on item `?1`:
/// through the index of reports by item and filer, never the item's other reports.
pub const FILED_BEFORE: &str = "SELECT EXISTS (SELECT 1 FROM reports
                                  WHERE item_id = ?1 AND filed_by = ?2 AND filer_role <> ?3)";

/// Writes an item's report figures (`?1` the item, then as [`ReportFigures`] lists them,
/// the priority first).
pub const WRITE_REPORT_FIGURES: &str =
    "UPDATE items SET priority = ?2, lane = ?3, deadline = ?4, created_at = ?5,
                      report_count = ?6, report_weight = ?7, leading_reporter_type = ?8,
                      leading_category = ?9
     WHERE id = ?1";

// --- an item's history, from its rows (the same columns on both engines) -----------------

/// A report's columns: id, reporter type, category, comment, lane, deadline, received.
pub type ReportColumns = (
    i64,
    String,
    String,
    Option<String>,
    String,
    Option<String>,
    String,
);

pub fn report_of(r: ReportColumns) -> Result<Report, StorageError> {
    let (id, reporter, category, comment, lane, deadline, received) = r;
    Ok(Report {
        id,
        reporter_type: from_name::<ReporterType>("reporter type", &reporter)?,
        category,
        comment,
        lane: parse_lane(&lane)?,
        deadline: parse_opt_ts(deadline.as_deref())?,
        received_at: parse_ts(&received)?,
    })
}

/// A report as its item's history tells it.
pub fn reported(r: &Report) -> HistoryEntry {
    HistoryEntry {
        at: r.received_at,
        actor: r.reporter_type.label().to_string(),
        event: HistoryEvent::Reported,
        reason_code: Some(r.category.clone()),
        scope: None,
        note: r.comment.clone(),
        escalation_target: None,
        tier: None,
        visible_to: None,
    }
}

/// A note's columns: at, actor, note, tier.
pub type NoteColumns = (String, String, String, Option<String>);

pub fn note_entry((at, actor, note, tier): NoteColumns) -> Result<HistoryEntry, StorageError> {
    let tier = opt_tier(tier.as_deref())?;
    Ok(HistoryEntry {
        at: parse_ts(&at)?,
        actor,
        event: HistoryEvent::Note,
        reason_code: None,
        scope: None,
        note: Some(note),
        escalation_target: None,
        tier,
        visible_to: rules::note_visible_to(tier, None),
    })
}

/// An audit row's columns as history: at, actor, action, reason code, scope, note,
/// escalation target, from tier, to tier.
pub type AuditColumns = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

pub fn audit_entry(a: AuditColumns) -> Result<HistoryEntry, StorageError> {
    let (at, actor, action, reason_code, scope, note, target, from_tier, to_tier) = a;
    let to_tier = opt_tier(to_tier.as_deref())?;
    let visible_to = match &note {
        Some(_) => rules::note_visible_to(opt_tier(from_tier.as_deref())?, to_tier),
        None => None,
    };
    let event = match from_name::<DecisionAction>("action", &action)? {
        DecisionAction::TakeDown => HistoryEvent::TakeDown,
        DecisionAction::Keep => HistoryEvent::Keep,
        DecisionAction::Escalate => HistoryEvent::Escalate,
        DecisionAction::Reverse => HistoryEvent::Reversal,
        DecisionAction::Uphold => HistoryEvent::Upheld,
        DecisionAction::Overturn => HistoryEvent::Overturned,
        DecisionAction::SendSupport => HistoryEvent::SupportSent,
    };
    Ok(HistoryEntry {
        at: parse_ts(&at)?,
        actor,
        event,
        reason_code,
        scope: opt_json("scope", scope.as_deref())?,
        note,
        escalation_target: opt_tier(target.as_deref())?,
        tier: to_tier,
        visible_to,
    })
}
