//! The daily transparency report: one UTC day of the audit table, counted. Pure, over the
//! facts the storage loads, so the API and `modq report daily` cannot count differently.
//!
//! Definitions (docs/api.md repeats them):
//! - the figures are net: a decision applied that day counts if it stands; one reversed
//!   since counts only in `reversed`, and a reversal is no decision of its own (a take down
//!   undone is neither a take down nor a reversal in the totals);
//! - reason codes (the platform's policy a take down cites) and report categories (what
//!   reporters said, the item's leading report) are two breakdowns, never one list;
//! - time to decision runs from the item's first report to the server applying the decision:
//!   what a reporter waits, whoever held the item meanwhile;
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
    let mut by_reason_code = Counter::default();
    let mut by_report_category = Counter::default();
    let mut by_lane = Counter::default();
    let mut by_country = Counter::default();
    let mut by_hour = vec![0u64; 24];
    let mut waits = Vec::new();
    let (mut decisions, mut reversed) = (0u64, 0u64);
    let (mut met, mut missed) = (0, 0);
    for f in facts {
        if f.action == DecisionAction::Reverse {
            continue;
        }
        if f.reversed {
            reversed += 1;
            continue;
        }
        // A support message is counted by its action only: it decides nothing, so it is no
        // decision, wait or deadline of the item's.
        if !f.action.decides() {
            by_action.add(f.action.as_str());
            continue;
        }
        decisions += 1;
        by_action.add(f.action.as_str());
        if f.action == DecisionAction::TakeDown {
            by_reason_code.add(f.reason_code.as_deref().unwrap_or("unknown"));
        }
        by_report_category.add(f.report_category.as_deref().unwrap_or("unknown"));
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
        decisions,
        reversed,
        by_action: by_action.tallies(),
        by_reason_code: by_reason_code.tallies(),
        by_report_category: by_report_category.tallies(),
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
    row("total", "reversed", stats.reversed.to_string());
    for (section, tallies) in [
        ("action", &stats.by_action),
        ("reason_code", &stats.by_reason_code),
        ("report_category", &stats.by_report_category),
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
    row(
        "time",
        "median_to_decision",
        stats.median_to_decision().unwrap_or_default(),
    );
    row("deadline", "met", stats.deadlines_met.to_string());
    row("deadline", "missed", stats.deadlines_missed.to_string());
    out
}

/// The report as a person reads it: totals, the median in minutes and seconds, then each
/// breakdown. Keys come from reporters and the catalog: the caller sanitizes before a terminal.
pub fn to_text(stats: &DailyStats) -> String {
    let mut out = format!(
        "Decisions on {} (UTC): {} standing, {} reversed since (counted in no other figure)\n",
        stats.date, stats.decisions, stats.reversed
    );
    out.push_str(&format!(
        "Median time from report to decision: {}\n",
        stats.median_to_decision().unwrap_or_else(|| "none".into())
    ));
    out.push_str(&format!(
        "Deadlines: {} met, {} missed\n",
        stats.deadlines_met, stats.deadlines_missed
    ));
    for (title, tallies) in [
        ("By action", &stats.by_action),
        ("Take downs by reason code", &stats.by_reason_code),
        ("By report category", &stats.by_report_category),
        ("By lane", &stats.by_lane),
        ("By country", &stats.by_country),
    ] {
        out.push_str(&format!("\n{title}:\n"));
        if tallies.is_empty() {
            out.push_str("  none\n");
        }
        for t in tallies {
            out.push_str(&format!("  {:>6}  {}\n", t.count, t.key));
        }
    }
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
            reversed: false,
        }
    }

    #[test]
    fn a_support_message_is_counted_by_its_action_and_in_no_other_figure() {
        let date = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let stats = daily(
            date,
            &[
                fact(DecisionAction::SendSupport, 5, Some(1)),
                fact(DecisionAction::Keep, 10, None),
            ],
        );
        assert_eq!(stats.decisions, 1);
        assert_eq!(stats.deadlines_missed, 0);
        assert_eq!(stats.by_lane.iter().map(|t| t.count).sum::<u64>(), 1);
        let mut actions: Vec<(String, u64)> = stats
            .by_action
            .iter()
            .map(|t| (t.key.clone(), t.count))
            .collect();
        actions.sort();
        assert_eq!(
            actions,
            vec![("keep".to_string(), 1), ("send_support".to_string(), 1)]
        );
    }

    #[test]
    fn a_day_is_counted_net_by_action_reason_category_lane_country_and_deadline() {
        let mut undone = fact(DecisionAction::TakeDown, 5, Some(60));
        undone.reversed = true;
        let facts = [
            fact(DecisionAction::TakeDown, 10, Some(60)),
            fact(DecisionAction::Keep, 30, Some(20)),
            fact(DecisionAction::TakeDown, 50, None),
            undone,
            fact(DecisionAction::Reverse, 70, Some(60)),
        ];
        let day = NaiveDate::from_ymd_opt(2026, 9, 21).unwrap();
        let stats = daily(day, &facts);
        // The undone take down is neither a take down nor a reversal: it is "reversed".
        assert_eq!((stats.decisions, stats.reversed), (3, 1));
        let tally = |list: &[Tally]| {
            list.iter()
                .map(|t| (t.key.clone(), t.count))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            tally(&stats.by_action),
            vec![("take_down".into(), 2), ("keep".into(), 1)]
        );
        // Reason codes of take downs only; report categories of every decision.
        assert_eq!(tally(&stats.by_reason_code), vec![("spam".into(), 2)]);
        assert_eq!(tally(&stats.by_report_category), vec![("scam".into(), 3)]);
        assert!(stats.by_country.iter().all(|t| t.count == 3));
        // 10, 30 and 50 minutes: neither the reversal nor what it undid has a wait.
        assert_eq!(stats.median_seconds_to_decision, Some(30 * 60));
        assert_eq!(stats.median_to_decision().as_deref(), Some("30 min 0 s"));
        assert_eq!((stats.deadlines_met, stats.deadlines_missed), (1, 1));
        assert_eq!(stats.by_hour.iter().sum::<u64>(), 3);
        let text = to_text(&stats);
        assert!(text.contains("3 standing, 1 reversed since"), "{text}");
        assert!(
            text.contains("Median time from report to decision: 30 min 0 s"),
            "{text}"
        );
    }

    #[test]
    fn csv_fields_cannot_become_formulas_or_break_rows() {
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
