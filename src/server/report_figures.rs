//! What an item derives from its reports — its priority, most urgent lane, earliest
//! deadline, first report, leading category and the number of reports that count — kept up
//! to date one report at a time. Filing the 100,001st report on an item costs what filing the first did: no
//! engine rereads the item's earlier reports (on SQLite it would do so holding the only
//! writer).

use chrono::{DateTime, Utc};

use crate::model::{Lane, NewReport, ReporterType};
use crate::server::rules;

/// One report as the item's figures see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FiledReport {
    pub lane: Lane,
    pub reporter_type: ReporterType,
    pub category: String,
    pub deadline: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    /// Whether the report moves the item's priority. An ordinary token is one person, who
    /// counts once on an item however often they report; an intake relays many people's
    /// reports, each counted (see [`counts`]).
    pub counted: bool,
}

impl FiledReport {
    /// `report` as filed at `received_at`, in the lane and with the deadline the rules give it.
    pub fn of(report: &NewReport, received_at: DateTime<Utc>, counted: bool) -> Self {
        FiledReport {
            lane: rules::report_lane(report),
            reporter_type: report.reporter_type,
            category: report.category.clone(),
            deadline: rules::deadline_time(report),
            received_at,
            counted,
        }
    }
}

/// Whether a report counts towards its item's priority, given whether its filer is an
/// ordinary (non-admin) token and whether that token already filed an ordinary report on the
/// item. A report from no token (the operator's import) always counts.
pub fn counts(ordinary_filer: bool, filed_before: bool) -> bool {
    !(ordinary_filer && filed_before)
}

/// An item's figures after some reports. The priority is the most urgent counted lane's base
/// plus every counted report's weight, so that more reports and more trusted sources both
/// move an item up; the lane is the most urgent any report named, counted or not (a repeat
/// report may still say the content is urgent, and the lane decides who sees it first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFigures {
    pub lane: Lane,
    /// The highest base priority of a counted report's lane.
    pub base: i64,
    /// The sum of the counted reports' weights (`items.report_weight`).
    pub weight: i64,
    /// How many reports count (`items.report_count`).
    pub counted: i64,
    pub deadline: Option<DateTime<Utc>>,
    pub first_reported: DateTime<Utc>,
    /// The most trusted report's source and category, the earliest on a tie (see
    /// [`rules::leading_category`]): where a default reason and the transparency figures
    /// file the item, whatever flood of other reports came after it.
    pub leading: Option<(ReporterType, String)>,
}

impl ReportFigures {
    /// The figures as an item row stores them: the base is not stored, since the priority
    /// is the base plus the weight.
    pub fn stored(
        lane: Lane,
        priority: i64,
        weight: i64,
        counted: i64,
        deadline: Option<DateTime<Utc>>,
        first_reported: DateTime<Utc>,
        leading: Option<(ReporterType, String)>,
    ) -> Self {
        ReportFigures {
            lane,
            base: priority.saturating_sub(weight),
            weight,
            counted,
            deadline,
            first_reported,
            leading,
        }
    }

    /// The figures of an item after `report`, given those before it (`None`: its first).
    pub fn after(before: Option<&ReportFigures>, report: &FiledReport) -> ReportFigures {
        let earliest = |a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let (lane, base, weight, counted, deadline, first_reported, leading) = match before {
            Some(b) => (
                b.lane.min(report.lane),
                b.base,
                b.weight,
                b.counted,
                b.deadline,
                b.first_reported.min(report.received_at),
                match &b.leading {
                    Some(l) if l.0.weight() >= report.reporter_type.weight() => Some(l.clone()),
                    _ => Some((report.reporter_type, report.category.clone())),
                },
            ),
            None => (
                report.lane,
                0,
                0,
                0,
                None,
                report.received_at,
                Some((report.reporter_type, report.category.clone())),
            ),
        };
        let (base, weight, counted) = if report.counted {
            (
                base.max(report.lane.base_priority()),
                weight.saturating_add(report.reporter_type.weight()),
                counted.saturating_add(1),
            )
        } else {
            (base, weight, counted)
        };
        ReportFigures {
            lane,
            base,
            weight,
            counted,
            deadline: earliest(deadline, report.deadline),
            first_reported,
            leading,
        }
    }

    pub fn priority(&self) -> i64 {
        self.base.saturating_add(self.weight)
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    /// A report as filed: by which token (if any), and whether that token is ordinary.
    #[derive(Debug, Clone)]
    struct Report {
        filer: Option<(u8, bool)>,
        lane: Lane,
        reporter_type: ReporterType,
        category: &'static str,
        deadline: Option<i64>,
        received: i64,
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + seconds, 0).unwrap()
    }

    /// The rule read off the whole list at once, as the engines applied it before figures
    /// were kept one report at a time.
    #[allow(clippy::type_complexity)]
    fn from_all(
        reports: &[Report],
    ) -> (Lane, i64, i64, Option<DateTime<Utc>>, DateTime<Utc>, &str) {
        let mut seen = HashSet::new();
        let counted: Vec<&Report> = reports
            .iter()
            .filter(|r| match r.filer {
                Some((id, true)) => seen.insert(id),
                _ => true,
            })
            .collect();
        let base = counted
            .iter()
            .map(|r| r.lane.base_priority())
            .max()
            .unwrap_or(0);
        let weights: i64 = counted.iter().map(|r| r.reporter_type.weight()).sum();
        (
            reports.iter().map(|r| r.lane).min().unwrap(),
            base + weights,
            counted.len() as i64,
            reports.iter().filter_map(|r| r.deadline).min().map(at),
            at(reports.iter().map(|r| r.received).min().unwrap()),
            rules::leading_category(reports.iter().map(|r| (r.reporter_type, r.category))).unwrap(),
        )
    }

    /// Folds the reports in as the engines do, each through its stored row.
    fn one_at_a_time(reports: &[Report]) -> ReportFigures {
        let mut ordinary_filers = HashSet::new();
        let mut figures: Option<ReportFigures> = None;
        for r in reports {
            let counted = match r.filer {
                Some((id, ordinary)) => counts(ordinary, ordinary && !ordinary_filers.insert(id)),
                None => counts(false, false),
            };
            let filed = FiledReport {
                lane: r.lane,
                reporter_type: r.reporter_type,
                category: r.category.into(),
                deadline: r.deadline.map(at),
                received_at: at(r.received),
                counted,
            };
            let after = ReportFigures::after(figures.as_ref(), &filed);
            // Through the columns an item row keeps.
            figures = Some(ReportFigures::stored(
                after.lane,
                after.priority(),
                after.weight,
                after.counted,
                after.deadline,
                after.first_reported,
                after.leading.clone(),
            ));
        }
        figures.unwrap()
    }

    fn report() -> impl Strategy<Value = Report> {
        (
            proptest::option::of((0u8..4, any::<bool>())),
            proptest::sample::select(Lane::ALL.to_vec()),
            proptest::sample::select(ReporterType::ALL.to_vec()),
            proptest::sample::select(vec!["spam", "csam", "hate"]),
            proptest::option::of(0i64..1000),
            0i64..1000,
        )
            .prop_map(
                |(filer, lane, reporter_type, category, deadline, received)| Report {
                    filer,
                    lane,
                    reporter_type,
                    category,
                    deadline,
                    received,
                },
            )
    }

    proptest! {
        #[test]
        fn one_report_at_a_time_gives_what_the_whole_list_gives(
            reports in proptest::collection::vec(report(), 1..40)
        ) {
            let figures = one_at_a_time(&reports);
            let (lane, priority, counted, deadline, first, leading) = from_all(&reports);
            prop_assert_eq!(figures.lane, lane);
            prop_assert_eq!(figures.priority(), priority);
            prop_assert_eq!(figures.counted, counted);
            prop_assert_eq!(figures.deadline, deadline);
            prop_assert_eq!(figures.first_reported, first);
            prop_assert_eq!(figures.leading.map(|l| l.1), Some(leading.to_string()));
        }
    }

    #[test]
    fn a_repeat_report_names_the_lane_but_does_not_move_the_priority() {
        let standard = |counted| FiledReport {
            lane: Lane::Standard,
            reporter_type: ReporterType::User,
            category: "spam".into(),
            deadline: None,
            received_at: at(0),
            counted,
        };
        let first = ReportFigures::after(None, &standard(true));
        assert_eq!((first.lane, first.priority()), (Lane::Standard, 10));
        let repeat = FiledReport {
            lane: Lane::Urgent,
            ..standard(counts(true, true))
        };
        let after = ReportFigures::after(Some(&first), &repeat);
        assert_eq!(
            (after.lane, after.priority(), after.counted),
            (Lane::Urgent, 10, 1)
        );
        let authority = FiledReport {
            lane: Lane::Authority,
            reporter_type: ReporterType::Authority,
            category: "terrorism".into(),
            ..standard(counts(false, false))
        };
        let after = ReportFigures::after(Some(&after), &authority);
        assert_eq!(
            (after.lane, after.priority(), after.counted),
            (Lane::Urgent, 200 + 10 + 50, 2)
        );
        // The flood that follows does not move the item out of the authority's category.
        let flood = ReportFigures::after(Some(&after), &standard(true));
        assert_eq!(
            flood.leading,
            Some((ReporterType::Authority, "terrorism".to_string()))
        );
    }
}
