//! What a take down's statement of reasons is written from, frozen when the take down is
//! made: reports and hash matches that arrive later do not rewrite what the decision was
//! based on. Its reports are frozen as a tally, a few rows however many there are: a take
//! down on an item reported 100,000 times writes an audit row of a few hundred bytes, not
//! megabytes under the audit log's lock.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{DecisionMethod, Item, ItemKind, ItemTotals, ReporterType, leading_category};

/// The facts about an item a take down's statement states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionBasis {
    pub kind: ItemKind,
    pub has_text: bool,
    /// The kinds of the attached media (image, video…).
    pub media_kinds: Vec<String>,
    /// Whether attached media matched a list of known hashes.
    pub hash_matched: bool,
    pub language: Option<String>,
    /// The item's first report: the statement's `content_date`.
    pub first_reported: DateTime<Utc>,
    /// Each report's source and category, in the order received: how take downs froze their
    /// reports before the tally (one entry per report). Read from those, never written now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reports: Vec<(ReporterType, String)>,
    /// The reports in numbers, as take downs freeze them now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report_tally: Option<ReportTally>,
    /// How the moderator took the decision.
    pub method: DecisionMethod,
}

/// An item's reports as a statement states them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportTally {
    /// Every report.
    pub total: u64,
    /// Every report by its source.
    pub by_source: Vec<(ReporterType, u64)>,
    /// The categories reported, sorted: every one, or from an item's tally the 50 it lists
    /// (`storage::CATEGORIES_LISTED`; a category is free text).
    pub categories: Vec<String>,
    /// Reports in categories `categories` leaves out.
    #[serde(default)]
    pub other_categories: u64,
    /// See [`leading_category`].
    pub leading_category: Option<String>,
}

impl DecisionBasis {
    /// The basis of a decision taken by `method` on `item` as it is now (its totals count
    /// every report; without them, the reports listed are all there is).
    pub fn of(item: &Item, method: DecisionMethod) -> DecisionBasis {
        DecisionBasis {
            kind: item.kind,
            has_text: item.text.as_deref().is_some_and(|t| !t.trim().is_empty()),
            media_kinds: item.media.iter().map(|m| m.kind.clone()).collect(),
            hash_matched: item.media.iter().any(|m| m.hash_match.is_some()),
            language: item.language.clone(),
            first_reported: item.created_at,
            reports: Vec::new(),
            report_tally: Some(match &item.totals {
                Some(totals) => ReportTally::of_totals(totals),
                None => ReportTally::of_reports(
                    item.reports
                        .iter()
                        .map(|r| (r.reporter_type, r.category.as_str())),
                ),
            }),
            method,
        }
    }

    /// The reports stated: the frozen tally, or the one a frozen list makes.
    pub fn tally(&self) -> ReportTally {
        match &self.report_tally {
            Some(tally) => tally.clone(),
            None => ReportTally::of_reports(self.reports.iter().map(|(r, c)| (*r, c.as_str()))),
        }
    }
}

impl ReportTally {
    /// From every report, in the order received: sources in the order first seen, every
    /// category.
    pub fn of_reports<'a>(
        reports: impl IntoIterator<Item = (ReporterType, &'a str)> + Clone,
    ) -> Self {
        let mut tally = ReportTally {
            leading_category: leading_category(reports.clone()).map(str::to_owned),
            ..ReportTally::default()
        };
        for (reporter, category) in reports {
            tally.total = tally.total.saturating_add(1);
            match tally.by_source.iter_mut().find(|(t, _)| *t == reporter) {
                Some((_, n)) => *n = n.saturating_add(1),
                None => tally.by_source.push((reporter, 1)),
            }
            tally.categories.push(category.to_owned());
        }
        tally.categories.sort_unstable();
        tally.categories.dedup();
        tally
    }

    /// From an item's totals, which count every report.
    pub fn of_totals(totals: &ItemTotals) -> Self {
        let mut categories: Vec<String> = totals
            .by_category
            .iter()
            .map(|c| c.category.clone())
            .collect();
        categories.sort_unstable();
        categories.dedup();
        ReportTally {
            total: totals.reports,
            by_source: totals
                .by_reporter_type
                .iter()
                .map(|c| (c.reporter_type, c.reports))
                .collect(),
            categories,
            other_categories: totals.other_categories,
            leading_category: totals.leading_category.clone(),
        }
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    /// A take down frozen before the tally, as its audit row holds it.
    const LISTED: &str = r#"{"kind":"post","has_text":true,"media_kinds":[],
        "hash_matched":false,"language":"en","first_reported":"2026-11-20T08:00:00Z",
        "reports":[["user","spam"],["trusted_flagger","hate"],["user","spam"],
                   ["automated","scam"]],
        "method":"single"}"#;

    #[test]
    fn a_basis_frozen_as_a_list_states_what_it_stated() {
        let basis: DecisionBasis = serde_json::from_str(LISTED).unwrap();
        assert_eq!(
            basis.tally(),
            ReportTally {
                total: 4,
                // In the order first reported, as the statement named them.
                by_source: vec![
                    (ReporterType::User, 2),
                    (ReporterType::TrustedFlagger, 1),
                    (ReporterType::Automated, 1)
                ],
                categories: vec!["hate".into(), "scam".into(), "spam".into()],
                other_categories: 0,
                leading_category: Some("hate".into()),
            }
        );
    }

    #[test]
    fn a_basis_is_frozen_as_a_tally_and_read_back_the_same() {
        let mut basis: DecisionBasis = serde_json::from_str(LISTED).unwrap();
        basis.report_tally = Some(basis.tally());
        basis.reports.clear();
        let frozen = serde_json::to_string(&basis).unwrap();
        assert!(!frozen.contains("\"reports\""), "{frozen}");
        let read: DecisionBasis = serde_json::from_str(&frozen).unwrap();
        assert_eq!(read, basis);
        assert_eq!(read.tally().total, 4);
    }
}
