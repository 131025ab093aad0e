//! The daily transparency report: one UTC day of the audit table, counted. Pure, over the
//! facts the storage loads, so the API and `modq report daily` cannot count differently.
//!
//! Definitions (docs/api.md repeats them):
//! - a decision is any audit row applied that day, reversals included (`by_action`);
//! - its category is the take down's reason code, else the item's leading report category;
//! - time to decision runs from the item's first report to the server applying the decision
//!   (reversals excluded): what a reporter waits, whoever held the item meanwhile;
//! - a deadline is met when the decision was applied at or before the item's deadline.

use chrono::{DateTime, NaiveDate, TimeDelta, Timelike, Utc};

use crate::model::{DailyStats, DecisionAction, Tally};

use super::storage::DecisionFact;

/// The instants `[start, end)` of a UTC day.
pub fn day_bounds(date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = date.and_time(chrono::NaiveTime::MIN).and_utc();
    (start, start + TimeDelta::days(1))
}

pub fn daily(date: NaiveDate, facts: &[DecisionFact]) -> DailyStats {
    let mut by_action = Counter::default();
    let mut by_category = Counter::default();
    let mut by_lane = Counter::default();
    let mut by_country = Counter::default();
    let mut by_hour = vec![0u64; 24];
    let mut waits = Vec::new();
    let (mut met, mut missed) = (0, 0);
    for f in facts {
        by_action.add(f.action.as_str());
        let category = match f.action {
            DecisionAction::TakeDown => f.reason_code.as_deref(),
            _ => f.report_category.as_deref(),
        };
        by_category.add(category.unwrap_or("unknown"));
        by_lane.add(f.lane.as_str());
        for c in &f.countries {
            by_country.add(c);
        }
        if let Some(slot) = usize::try_from(f.applied_at.hour())
            .ok()
            .and_then(|h| by_hour.get_mut(h))
        {
            *slot += 1;
        }
        if f.action == DecisionAction::Reverse {
            continue;
        }
        waits.push((f.applied_at - f.reported_at).num_seconds().max(0));
        if let Some(deadline) = f.deadline {
            if f.applied_at <= deadline {
                met += 1;
            } else {
                missed += 1;
            }
        }
    }
    DailyStats {
        date: date.format("%Y-%m-%d").to_string(),
        decisions: u64::try_from(facts.len()).unwrap_or(u64::MAX),
        by_action: by_action.tallies(),
        by_category: by_category.tallies(),
        by_lane: by_lane.tallies(),
        by_country: by_country.tallies(),
        median_seconds_to_decision: median(&mut waits),
        deadlines_met: met,
        deadlines_missed: missed,
        by_hour,
    }
}

/// The lower median (an actual observed wait, never an average of two).
fn median(values: &mut [i64]) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    values.get((values.len() - 1) / 2).copied()
}

#[derive(Default)]
struct Counter(Vec<Tally>);

impl Counter {
    fn add(&mut self, key: &str) {
        match self.0.iter_mut().find(|t| t.key == key) {
            Some(t) => t.count += 1,
            None => self.0.push(Tally {
                key: key.to_string(),
                count: 1,
            }),
        }
    }

    /// Largest first, then by key, so reports diff cleanly day to day.
    fn tallies(mut self) -> Vec<Tally> {
        self.0
            .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
        self.0
    }
}

/// The report as CSV: `section,key,count` rows, one section per breakdown, then the totals.
pub fn to_csv(stats: &DailyStats) -> String {
    let mut out = String::from("section,key,count\n");
    let mut row = |section: &str, key: &str, count: String| {
        out.push_str(&format!("{section},{},{count}\n", csv_field(key)));
    };
    row("total", "decisions", stats.decisions.to_string());
    for (section, tallies) in [
        ("action", &stats.by_action),
        ("category", &stats.by_category),
        ("lane", &stats.by_lane),
        ("country", &stats.by_country),
    ] {
        for t in tallies {
            row(section, &t.key, t.count.to_string());
        }
    }
    for (hour, n) in stats.by_hour.iter().enumerate() {
        row("hour", &format!("{hour:02}"), n.to_string());
    }
    row(
        "time",
        "median_seconds_to_decision",
        stats
            .median_seconds_to_decision
            .map_or_else(String::new, |s| s.to_string()),
    );
    row("deadline", "met", stats.deadlines_met.to_string());
    row("deadline", "missed", stats.deadlines_missed.to_string());
    out
}

/// Quotes a field that holds a comma, quote or line break; neutralises a leading `=`, `+`,
/// `-` or `@`, which spreadsheets would run as a formula (category keys come from reporters).
fn csv_field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Lane;

    fn fact(action: DecisionAction, minutes_after: i64, deadline_in: Option<i64>) -> DecisionFact {
        let reported_at = DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
        DecisionFact {
            action,
            applied_at: reported_at + TimeDelta::minutes(minutes_after),
            reason_code: Some("spam".into()),
            lane: Lane::Standard,
            countries: vec!["DE".into(), "AT".into()],
            reported_at,
            deadline: deadline_in.map(|m| reported_at + TimeDelta::minutes(m)),
            report_category: Some("scam".into()),
        }
    }

    #[test]
    fn a_day_is_counted_by_action_category_lane_country_and_deadline() {
        let facts = [
            fact(DecisionAction::TakeDown, 10, Some(60)),
            fact(DecisionAction::Keep, 30, Some(20)),
            fact(DecisionAction::TakeDown, 50, None),
            fact(DecisionAction::Reverse, 70, Some(60)),
        ];
        let day = NaiveDate::from_ymd_opt(2026, 9, 21).unwrap();
        let stats = daily(day, &facts);
        assert_eq!(stats.decisions, 4);
        assert_eq!(stats.by_action[0].key, "take_down");
        assert_eq!(stats.by_action[0].count, 2);
        assert!(
            stats
                .by_category
                .iter()
                .any(|t| t.key == "scam" && t.count == 2)
        );
        assert!(stats.by_country.iter().all(|t| t.count == 4));
        // 10, 30 and 50 minutes: the reversal does not count as a decision's wait.
        assert_eq!(stats.median_seconds_to_decision, Some(30 * 60));
        assert_eq!((stats.deadlines_met, stats.deadlines_missed), (1, 1));
        assert_eq!(stats.by_hour.iter().sum::<u64>(), 4);
    }

    #[test]
    fn csv_fields_cannot_become_formulas_or_break_rows() {
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
