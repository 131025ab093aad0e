//! What the item pane says of an item's whole record where a read lists only its newest
//! reports or history: "showing the newest 100 of 100,000 reports", and the tally of all
//! of them by reporter type and by category, so a mass report keeps its shape on screen.
//! The tally's categories were sanitized with the item (see `app::sanitize_item`).

use ratatui::text::{Line, Span};

use crate::model::Item;
use crate::tui::theme::Theme;

/// The categories the tally line names at most.
const CATEGORIES_SHOWN: usize = 50;

/// The reports heading: their count, and how many are listed when that is not all.
pub fn reports_heading(item: &Item, theme: &Theme) -> Line<'static> {
    let total = item.report_total();
    let listed = listed(item.reports.len());
    let text = if listed < total {
        format!(
            "Reports: showing the newest {} of {}",
            grouped(listed),
            grouped(total)
        )
    } else {
        format!("Reports ({})", grouped(total))
    };
    Line::from(Span::styled(text, theme.accent))
}

/// The tally of every report, when the list leaves some out: one line by reporter type,
/// one by category (the rest summed up). Nothing when every report is listed.
pub fn tally_lines(item: &Item, theme: &Theme) -> Vec<Line<'static>> {
    let Some(totals) = item.totals.as_ref() else {
        return Vec::new();
    };
    if listed(item.reports.len()) >= totals.reports {
        return Vec::new();
    }
    let mut lines = Vec::new();
    if !totals.by_reporter_type.is_empty() {
        let parts: Vec<String> = totals
            .by_reporter_type
            .iter()
            .map(|c| format!("{} {}", grouped(c.reports), c.reporter_type.label()))
            .collect();
        lines.push(tally_line("by reporter", parts.join(" · "), theme));
    }
    if !totals.by_category.is_empty() || totals.other_categories > 0 {
        // A server that lists more categories than a modq server does gets the same line:
        // the rest are summed, however many it sent.
        let shown = totals.by_category.iter().take(CATEGORIES_SHOWN);
        let mut parts: Vec<String> = shown
            .map(|c| format!("{} {}", grouped(c.reports), c.category))
            .collect();
        let unshown = totals
            .by_category
            .iter()
            .skip(CATEGORIES_SHOWN)
            .fold(totals.other_categories, |n, c| n.saturating_add(c.reports));
        if unshown > 0 {
            parts.push(format!("{} in other categories", grouped(unshown)));
        }
        lines.push(tally_line("by category", parts.join(" · "), theme));
    }
    lines
}

/// The history heading: how many entries are listed when that is not all.
pub fn history_heading(item: &Item) -> String {
    match history_shown(item) {
        Some(shown) => format!("History: {shown}"),
        None => "History".to_string(),
    }
}

/// "showing the newest 102 of 224 entries" when the history lists only part of it.
pub fn history_shown(item: &Item) -> Option<String> {
    let listed = listed(item.history.len());
    let total = item.totals.as_ref()?.history;
    (listed < total).then(|| {
        format!(
            "showing the newest {} of {} entries",
            grouped(listed),
            grouped(total)
        )
    })
}

fn tally_line(label: &'static str, text: String, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("  {label}: "), theme.muted),
        Span::raw(text),
    ])
}

fn listed(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// A count with its thousands grouped, as a moderator reads it: 100,000.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CategoryCount, ItemTotals};

    /// A server listing more categories than the pane names gets them summed up, and an
    /// item whose every report is listed shows no tally.
    #[test]
    fn the_tally_line_names_fifty_categories_and_sums_the_rest() {
        let mut item: Item = serde_json::from_value(serde_json::json!({
            "id": "i", "kind": "post", "reports": [], "priority": 0, "lane": "standard",
            "state": "open", "created_at": "2026-11-23T12:00:00Z",
        }))
        .unwrap();
        let theme = Theme::default_theme();
        item.totals = Some(ItemTotals {
            reports: 65,
            history: 65,
            by_category: (0..60)
                .map(|i| CategoryCount {
                    category: format!("c{i:02}"),
                    reports: 1,
                })
                .collect(),
            other_categories: 5,
            ..ItemTotals::default()
        });
        let lines = tally_lines(&item, &theme);
        let text: String = lines[0].spans.iter().map(|s| s.content.as_ref()).collect();
        assert!(text.contains("1 c49 · 15 in other categories"), "{text}");
        assert!(!text.contains("c50"), "{text}");
        assert_eq!(
            reports_heading(&item, &theme).spans[0].content,
            "Reports: showing the newest 0 of 65"
        );
        item.totals = None;
        assert!(tally_lines(&item, &theme).is_empty());
        assert_eq!(
            reports_heading(&item, &theme).spans[0].content,
            "Reports (0)"
        );
    }

    #[test]
    fn counts_read_with_their_thousands_grouped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(100_000), "100,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}
