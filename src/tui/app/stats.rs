//! The stats view (`s`): what this session decided, kept as a small log, and today's figures
//! for the whole platform, read from the server when the view opens.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;

use super::{App, Effect, Entry, Freshness, Layer};
use crate::model::{DailyStats, Decision, DecisionAction, Tally};
use crate::policy::PolicyCatalog;
use crate::sanitize::clean_line;
use crate::tui::action::Action;
use crate::tui::layer_keys::ViewKey;

/// Minutes of the session the sparkline covers at most.
const SPARK_MINUTES: i64 = 240;

/// One decision this session made (and has not undone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// The decision's idempotency key: undo and failed bulk actions take it back by it.
    key: String,
    at: DateTime<Utc>,
    action: DecisionAction,
    /// As the server's daily report counts them, apart: a take down's reason code (the
    /// catalog's default for the item when none was given) and the item's leading report
    /// category; unknown for items a bulk action decided without having them in memory.
    reason_code: Option<String>,
    report_category: Option<String>,
    lane: Option<String>,
    countries: Vec<String>,
    /// Whether it was made by the item's deadline, when it has one.
    deadline_met: Option<bool>,
    /// Part of a bulk action: counted, but no moderator's time per decision.
    bulk: bool,
}

impl Logged {
    pub fn of(entry: &Entry, decision: &Decision, catalog: Option<&PolicyCatalog>) -> Logged {
        let item = &entry.shown;
        let leading = item.leading_category();
        let reason_code = match (decision.action, &decision.reason_code, catalog) {
            (DecisionAction::TakeDown, Some(code), _) => Some(clean_line(code)),
            (DecisionAction::TakeDown, None, Some(catalog)) => Some(
                catalog
                    .default_code(leading.unwrap_or_default())
                    .to_string(),
            ),
            _ => None,
        };
        Logged {
            key: decision.idempotency_key.clone(),
            at: decision.decided_at,
            action: decision.action,
            reason_code,
            report_category: leading.map(str::to_string),
            lane: Some(item.lane.as_str().to_string()),
            countries: item.countries.clone(),
            deadline_met: item.deadline.map(|d| decision.decided_at <= d),
            bulk: false,
        }
    }

    fn unknown_item(decision: &Decision) -> Logged {
        Logged {
            key: decision.idempotency_key.clone(),
            at: decision.decided_at,
            action: decision.action,
            reason_code: None,
            report_category: None,
            lane: None,
            countries: Vec::new(),
            deadline_met: None,
            bulk: true,
        }
    }
}

/// The session's log and the day's figures.
#[derive(Debug, Clone)]
pub struct Stats {
    started: DateTime<Utc>,
    log: Vec<Logged>,
    /// Decisions the server had applied that this session undid by a reversal.
    reversed: u64,
    /// The server's figures for today, once asked for.
    pub day: Option<DailyStats>,
    pub day_fresh: Freshness,
}

impl Stats {
    pub fn new(started: DateTime<Utc>) -> Stats {
        Stats {
            started,
            log: Vec::new(),
            reversed: 0,
            day: None,
            day_fresh: Freshness::Loading,
        }
    }

    pub(super) fn record(&mut self, logged: Logged) {
        self.log.push(logged);
    }

    /// Take back decisions that were undone or never saved.
    pub(super) fn forget<'a>(&mut self, keys: impl IntoIterator<Item = &'a String>) {
        let keys: HashSet<&String> = keys.into_iter().collect();
        self.log.retain(|l| !keys.contains(&l.key));
    }

    /// Take back decisions the server had applied and a reversal undid: out of every figure,
    /// counted as reversed (an undo before sending is as if never made).
    pub(super) fn reverse<'a>(&mut self, keys: impl IntoIterator<Item = &'a String>) {
        let before = self.log.len();
        self.forget(keys);
        let gone = before.saturating_sub(self.log.len());
        self.reversed += u64::try_from(gone).unwrap_or_default();
    }

    pub(super) fn day_arrived(&mut self, day: DailyStats) -> Vec<Effect> {
        self.day = Some(sanitize_stats(day));
        self.day_fresh = Freshness::Fresh;
        Vec::new()
    }

    pub(super) fn day_failed(&mut self, error: &str) -> Vec<Effect> {
        self.day_fresh = Freshness::Failed(clean_line(error));
        Vec::new()
    }

    /// The session's figures in the shape of the server's daily report, so both draw alike.
    /// The median is of the time between one decision and the one before it (the session's
    /// start for the first), bulk actions left out: how long a decision took the moderator.
    pub fn session(&self) -> DailyStats {
        let mut action = HashMap::new();
        let mut reason_code = HashMap::new();
        let mut report_category = HashMap::new();
        let mut lane = HashMap::new();
        let mut country = HashMap::new();
        let (mut met, mut missed) = (0, 0);
        for l in &self.log {
            *action.entry(l.action.label().to_string()).or_insert(0) += 1;
            let unknown = || "(not in memory)".to_string();
            if l.action == DecisionAction::TakeDown {
                *reason_code
                    .entry(l.reason_code.clone().unwrap_or_else(unknown))
                    .or_insert(0) += 1;
            }
            *report_category
                .entry(l.report_category.clone().unwrap_or_else(unknown))
                .or_insert(0) += 1;
            *lane
                .entry(l.lane.clone().unwrap_or_else(unknown))
                .or_insert(0) += 1;
            for c in &l.countries {
                *country.entry(c.clone()).or_insert(0) += 1;
            }
            match l.deadline_met {
                Some(true) => met += 1,
                Some(false) => missed += 1,
                None => {}
            }
        }
        DailyStats {
            date: "this session".into(),
            decisions: self.log.len() as u64,
            reversed: self.reversed,
            by_action: tallies(action),
            by_reason_code: tallies(reason_code),
            by_report_category: tallies(report_category),
            by_lane: tallies(lane),
            by_country: tallies(country),
            median_seconds_to_decision: self.median_seconds_per_decision(),
            deadlines_met: met,
            deadlines_missed: missed,
            by_hour: Vec::new(),
        }
    }

    fn median_seconds_per_decision(&self) -> Option<i64> {
        let mut before = self.started;
        let mut gaps = Vec::new();
        for l in &self.log {
            if !l.bulk {
                gaps.push((l.at - before).num_seconds().max(0));
            }
            before = before.max(l.at);
        }
        gaps.sort_unstable();
        // The lower median, an observed value, as the server's report has it.
        gaps.get(gaps.len().saturating_sub(1) / 2).copied()
    }

    /// Decisions in each minute of the session up to `now` (at most the last few hours).
    pub fn per_minute(&self, now: DateTime<Utc>) -> Vec<u64> {
        let first = self.log.iter().map(|l| l.at).min().unwrap_or(now);
        let start = self.started.min(first);
        let minutes = (now.max(start) - start)
            .num_minutes()
            .clamp(0, SPARK_MINUTES - 1);
        let from = now - chrono::Duration::minutes(minutes);
        let mut buckets = vec![0u64; usize::try_from(minutes + 1).unwrap_or(1)];
        for l in &self.log {
            let at = (l.at - from).num_minutes();
            if let Some(b) = usize::try_from(at).ok().and_then(|i| buckets.get_mut(i)) {
                *b += 1;
            }
        }
        buckets
    }
}

fn tallies(counts: HashMap<String, u64>) -> Vec<Tally> {
    let mut list: Vec<Tally> = counts
        .into_iter()
        .map(|(key, count)| Tally { key, count })
        .collect();
    list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    list
}

/// The server's keys are untrusted text like any other.
fn sanitize_stats(day: DailyStats) -> DailyStats {
    let clean = |list: Vec<Tally>| {
        list.into_iter()
            .map(|t| Tally {
                key: clean_line(&t.key),
                count: t.count,
            })
            .collect()
    };
    DailyStats {
        date: clean_line(&day.date),
        by_action: clean(day.by_action),
        by_reason_code: clean(day.by_reason_code),
        by_report_category: clean(day.by_report_category),
        by_lane: clean(day.by_lane),
        by_country: clean(day.by_country),
        ..day
    }
}

impl App {
    /// Open the stats view and ask the server for today's figures.
    pub(super) fn open_stats(&mut self) -> Vec<Effect> {
        self.layers.push(Layer::Stats { today: false });
        self.stats.day_fresh = Freshness::Loading;
        vec![Effect::FetchDayStats]
    }

    /// Keys on the stats view: tab switches session and today where only one fits, r reads
    /// today's figures again.
    pub(super) fn stats_key(&mut self, today: bool, key: KeyEvent) -> Vec<Effect> {
        if self.view_scroll(0, &key, &Action::Stats).is_none() {
            return Vec::new();
        }
        let mut effects = Vec::new();
        let today = match self.keymap.layers.view.action(&key) {
            Some(ViewKey::Switch) => !today,
            Some(ViewKey::Reload) => {
                self.stats.day_fresh = Freshness::Loading;
                effects.push(Effect::FetchDayStats);
                today
            }
            _ => today,
        };
        self.layers.push(Layer::Stats { today });
        effects
    }

    /// Log the decisions of a bulk action; items in memory with what is known of them.
    pub(super) fn log_bulk(&mut self, decisions: &[Decision]) {
        for d in decisions {
            let mut logged = match self
                .index
                .get(&d.item_id)
                .and_then(|&i| self.entries.get(i))
            {
                Some(entry) => Logged::of(entry, d, self.policies.as_ref()),
                None => Logged::unknown_item(d),
            };
            logged.bulk = true;
            self.stats.record(logged);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        "2026-11-23T12:00:00Z"
            .parse::<DateTime<Utc>>()
            .map(|t| t + chrono::Duration::minutes(minute))
            .unwrap_or_default()
    }

    fn logged(key: &str, minute: i64, bulk: bool) -> Logged {
        Logged {
            key: key.into(),
            at: at(minute),
            action: DecisionAction::Keep,
            reason_code: None,
            report_category: Some("spam".into()),
            lane: Some("standard".into()),
            countries: vec!["DE".into(), "AT".into()],
            deadline_met: Some(minute < 3),
            bulk,
        }
    }

    #[test]
    fn the_session_counts_what_it_decided_and_forgets_what_was_undone() {
        let mut stats = Stats::new(at(0));
        for (i, m) in [1, 2, 4, 10].into_iter().enumerate() {
            stats.record(logged(&i.to_string(), m, false));
        }
        stats.record(logged("bulk", 10, true));
        let s = stats.session();
        assert_eq!(s.decisions, 5);
        assert_eq!((s.deadlines_met, s.deadlines_missed), (2, 3));
        assert_eq!(s.by_country[0].count, 5);
        // Gaps 1, 1, 2, 6 minutes: the lower median is one minute; the bulk row adds none.
        assert_eq!(s.median_seconds_to_decision, Some(60));
        assert_eq!(
            stats.per_minute(at(10)),
            vec![0, 1, 1, 0, 1, 0, 0, 0, 0, 0, 2]
        );
        stats.forget([&"bulk".to_string()]);
        stats.reverse([&"3".to_string(), &"gone already".to_string()]);
        let s = stats.session();
        assert_eq!(
            (s.decisions, s.reversed),
            (3, 1),
            "withdrawn: never made; reversed: counted"
        );
        assert_eq!(s.by_report_category[0].count, 3);
        assert!(s.by_reason_code.is_empty(), "keeps cite no reason code");
    }

    #[test]
    fn an_empty_session_has_no_median_and_one_empty_minute() {
        let stats = Stats::new(at(0));
        assert_eq!(stats.session().median_seconds_to_decision, None);
        assert_eq!(stats.per_minute(at(0)), vec![0]);
        // A clock that went backwards does not break the sparkline.
        assert_eq!(stats.per_minute(at(-5)), vec![0]);
    }
}
