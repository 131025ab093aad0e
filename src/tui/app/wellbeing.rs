//! The moderator's own wellbeing: how long this session has spent on items of graphic
//! categories (which ones: `assets/wellbeing.toml`, or the config's `[wellbeing]`), shown in
//! `s`, and a break proposed after a while in them. The proposal never stops the work: it
//! sits in the status row until `esc` dismisses it. Nothing of it leaves this machine.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};

use super::App;
use crate::model::Item;

pub const DEFAULT_WELLBEING: &str = include_str!("../../../assets/wellbeing.toml");

/// Past this long without a key, the moderator is not looking at the screen: the time stops
/// counting as exposure.
const AWAY_AFTER: TimeDelta = TimeDelta::minutes(5);
/// This long without a key is a break: the time towards the next proposal starts again.
const BREAK_TAKEN_AFTER: TimeDelta = TimeDelta::minutes(10);

/// Which categories are graphic, and after how long in them a break is proposed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WellbeingSettings {
    /// Report categories, lowercase.
    pub graphic: Vec<String>,
    /// `None`: never propose a break (exposure is still counted and shown).
    pub break_after: Option<TimeDelta>,
}

#[derive(serde::Deserialize)]
struct DefaultFile {
    graphic: Vec<String>,
    break_after_minutes: u32,
}

impl Default for WellbeingSettings {
    fn default() -> WellbeingSettings {
        // The shipped file is checked by a unit test, so it always parses.
        let file: Option<DefaultFile> = toml::from_str(DEFAULT_WELLBEING).ok();
        let (graphic, minutes) =
            file.map_or((Vec::new(), 20), |f| (f.graphic, f.break_after_minutes));
        WellbeingSettings {
            graphic,
            break_after: break_after(minutes),
        }
    }
}

/// `break_after_minutes` as the config writes it: 0 means never.
pub fn break_after(minutes: u32) -> Option<TimeDelta> {
    (minutes > 0).then(|| TimeDelta::minutes(i64::from(minutes)))
}

impl WellbeingSettings {
    /// The graphic category an item is in, if any: the leading report's when graphic, else
    /// the first graphic one among its reports.
    pub fn graphic_category<'a>(&self, item: &'a Item) -> Option<&'a str> {
        let graphic = |c: &str| self.graphic.iter().any(|g| g.eq_ignore_ascii_case(c));
        item.leading_category()
            .filter(|c| graphic(c))
            // The tally too: a read lists only an item's newest reports.
            .or_else(|| item.reported_categories().find(|c| graphic(c)))
    }
}

/// Time on one graphic category this session.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CategoryExposure {
    pub seconds: i64,
    pub items: usize,
}

/// The session's exposure to graphic categories.
#[derive(Debug, Clone)]
pub struct Wellbeing {
    pub settings: WellbeingSettings,
    /// Per category, for `s`.
    pub by_category: HashMap<String, CategoryExposure>,
    /// Items of each category already counted.
    seen: HashSet<(String, String)>,
    /// Exposure since the last break (or dismissed proposal).
    since_break: TimeDelta,
    /// The last tick's time, from which the next one counts.
    last_tick: Option<DateTime<Utc>>,
    /// The moderator's last key.
    last_input: Option<DateTime<Utc>>,
    /// A break is proposed (the status row says so until `esc`).
    pub proposed: bool,
}

impl Wellbeing {
    pub fn new(settings: WellbeingSettings) -> Wellbeing {
        Wellbeing {
            settings,
            by_category: HashMap::new(),
            seen: HashSet::new(),
            since_break: TimeDelta::zero(),
            last_tick: None,
            last_input: None,
            proposed: false,
        }
    }

    /// Seconds on graphic items this session.
    pub fn total_seconds(&self) -> i64 {
        self.by_category.values().map(|c| c.seconds).sum()
    }

    /// Items of graphic categories seen this session.
    pub fn total_items(&self) -> usize {
        self.seen.len()
    }

    /// Categories by time spent on them, most first.
    pub fn ranked(&self) -> Vec<(&str, &CategoryExposure)> {
        let mut out: Vec<(&str, &CategoryExposure)> = self
            .by_category
            .iter()
            .map(|(c, e)| (c.as_str(), e))
            .collect();
        out.sort_by(|a, b| b.1.seconds.cmp(&a.1.seconds).then(a.0.cmp(b.0)));
        out
    }

    /// Minutes towards the next proposal, for the status row.
    pub fn minutes_since_break(&self) -> i64 {
        self.since_break.num_minutes()
    }

    pub(super) fn input(&mut self, now: DateTime<Utc>) {
        self.last_input = Some(now);
    }

    /// `esc` on a proposal: it goes, and the time towards the next one starts again.
    pub(super) fn dismiss(&mut self) -> bool {
        let was = std::mem::take(&mut self.proposed);
        if was {
            self.since_break = TimeDelta::zero();
        }
        was
    }

    /// The item on screen now (its graphic category, if any) was there since the last tick:
    /// that time counts, up to a few minutes after the last key.
    fn tick(&mut self, now: DateTime<Utc>, on_screen: Option<(&str, &str)>) {
        let last = self.last_tick.replace(now);
        let last_input = *self.last_input.get_or_insert(now);
        if now - last_input >= BREAK_TAKEN_AFTER {
            // Away long enough to count as a break.
            self.since_break = TimeDelta::zero();
            self.proposed = false;
        }
        let (Some(last), Some((item_id, category))) = (last, on_screen) else {
            return;
        };
        let until = now.min(last_input + AWAY_AFTER);
        let spent = (until - last).max(TimeDelta::zero());
        let entry = self.by_category.entry(category.to_lowercase()).or_default();
        entry.seconds += spent.num_seconds();
        if self
            .seen
            .insert((category.to_lowercase(), item_id.to_string()))
        {
            entry.items += 1;
        }
        self.since_break += spent;
        if let Some(after) = self.settings.break_after
            && self.since_break >= after
        {
            self.proposed = true;
        }
    }
}

impl App {
    /// Time passed: the selected item's graphic category, if any, counts it.
    pub(super) fn wellbeing_tick(&mut self, now: DateTime<Utc>) {
        let on_screen = self
            .selected_entry()
            .filter(|_| !self.visible.is_empty())
            .and_then(|e| {
                self.wellbeing
                    .settings
                    .graphic_category(&e.shown)
                    .map(|c| (e.id.clone(), c.to_string()))
            });
        self.wellbeing.tick(
            now,
            on_screen.as_ref().map(|(i, c)| (i.as_str(), c.as_str())),
        );
    }
}

/// `12 min`, `1 h 05 min`, `40 s`: exposure read at a glance.
pub fn duration_words(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_settings_parse() {
        let file: DefaultFile = toml::from_str(DEFAULT_WELLBEING).expect("assets/wellbeing.toml");
        assert!(file.graphic.iter().any(|c| c == "violence"));
        let settings = WellbeingSettings::default();
        assert_eq!(settings.graphic, file.graphic);
        assert_eq!(settings.break_after, Some(TimeDelta::minutes(20)));
    }

    #[test]
    fn time_counts_while_the_moderator_is_there_and_a_break_is_proposed_once() {
        let t0: DateTime<Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
        let mut w = Wellbeing::new(WellbeingSettings {
            graphic: vec!["violence".into()],
            break_after: Some(TimeDelta::minutes(6)),
        });
        w.input(t0);
        w.tick(t0, Some(("i1", "violence")));
        w.tick(t0 + TimeDelta::minutes(4), Some(("i1", "violence")));
        assert_eq!(w.total_seconds(), 240);
        assert!(!w.proposed);
        // Without a key for 5 minutes nobody is looking: 4 + 1 minutes count, not 4 + 4.
        w.tick(t0 + TimeDelta::minutes(8), Some(("i2", "violence")));
        assert_eq!(w.total_seconds(), 300);
        assert_eq!(w.total_items(), 2);
        w.input(t0 + TimeDelta::minutes(8));
        w.tick(t0 + TimeDelta::minutes(9), Some(("i2", "violence")));
        assert!(w.proposed);
        assert!(w.dismiss());
        assert!(!w.proposed && w.minutes_since_break() == 0);
        assert_eq!(duration_words(3900), "1 h 05 min");
        assert_eq!(duration_words(59), "59 s");
    }
}
