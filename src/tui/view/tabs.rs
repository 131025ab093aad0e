//! The lane tabs on the top row.
//!
//! Six tabs never fit every width with their full labels, and a tab cut off without a sign
//! is a lane the moderator does not know is there. So the labels shorten, step by step, until
//! all six fit (full names and counts; names and counts; short names and counts; short names,
//! open counts and a `!` where some are overdue; short names; numbers); below that the row
//! scrolls to keep the active tab in view, and `‹` or `›` says that more tabs lie that way.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthStr;

use crate::model::Lane;
use crate::tui::app::App;
use crate::tui::paint;

/// How much each tab's label says.
#[derive(Clone, Copy, PartialEq)]
enum Detail {
    /// `2 Authority 42 (10 overdue)`
    Full,
    /// `2 Authority 42 (10!)`
    Counts,
    /// `2 AUTH 42 (10!)`
    Short,
    /// `2 AUTH 42!`: `!` when some are overdue
    Marked,
    /// `2 AUTH`
    Tags,
    /// `2`
    Numbers,
}

const DETAILS: [Detail; 6] = [
    Detail::Full,
    Detail::Counts,
    Detail::Short,
    Detail::Marked,
    Detail::Tags,
    Detail::Numbers,
];

/// Lanes as tabs with their open counts (overdue ones too): `All`, then the backend's lanes
/// (`1`–`5` on modq's own API); `All` alone when the backend sorts its queue into one lane.
pub(super) fn draw_tabs(frame: &mut Frame, app: &App, area: Rect) {
    let theme = &app.theme;
    let active = app.lane();
    let lanes = &app.capabilities.lanes;
    let lanes: Vec<Option<Lane>> = std::iter::once(None)
        .chain(lanes.iter().copied().map(Some).filter(|_| lanes.len() > 1))
        .collect();
    let width = usize::from(area.width);
    let labels_at = |detail: Detail| -> Vec<String> {
        lanes
            .iter()
            .map(|&lane| label(app, lane_number(lane), lane, detail))
            .collect()
    };
    // Each tab takes its label and a column either side; a `│` separates two tabs.
    let row_width = |labels: &[String]| -> usize {
        labels.iter().map(|l| l.width() + 2).sum::<usize>() + labels.len().saturating_sub(1)
    };
    let labels = DETAILS
        .iter()
        .map(|&d| labels_at(d))
        .find(|labels| row_width(labels) <= width)
        .unwrap_or_else(|| labels_at(Detail::Numbers));
    let chosen = lanes.iter().position(|&l| l == active).unwrap_or(0);
    // The tabs shown: all if they fit, else a run around the active one.
    let (first, last) = visible_run(&labels, chosen, width);
    let mut spans = Vec::new();
    if first > 0 {
        spans.push(Span::styled("‹", theme.accent));
    }
    for (i, text) in labels.iter().enumerate().take(last + 1).skip(first) {
        if i > first {
            spans.push(Span::raw("│"));
        }
        if i == chosen {
            spans.push(Span::styled(format!("▸{text} "), theme.selection));
        } else {
            spans.push(Span::styled(format!(" {text} "), theme.muted));
        }
    }
    if last + 1 < labels.len() {
        // Right-aligned, so the sign is never the part that is cut.
        let used: usize = spans.iter().map(|s| s.width()).sum();
        let pad = width.saturating_sub(used + 1);
        spans.push(Span::raw(" ".repeat(pad)));
        spans.push(Span::styled("›", theme.accent));
    }
    paint::line(frame.buffer_mut(), area, &Line::from(spans));
}

/// The first and last tab to show so that the `chosen` one is in view and the run, with a
/// `‹` or `›` for each side it leaves out, fits `width`.
fn visible_run(labels: &[String], chosen: usize, width: usize) -> (usize, usize) {
    let last_tab = labels.len().saturating_sub(1);
    let tab = |i: usize| labels.get(i).map_or(0, |l| l.width() + 2);
    let fits = |first: usize, last: usize| {
        let tabs: usize = (first..=last).map(tab).sum::<usize>() + (last - first);
        let signs = usize::from(first > 0) + usize::from(last < last_tab);
        tabs + signs <= width
    };
    if fits(0, last_tab) {
        return (0, last_tab);
    }
    let (mut first, mut last) = (chosen, chosen);
    // Grow to the right first (the next lanes are what the moderator goes to next).
    loop {
        if last < last_tab && fits(first, last + 1) {
            last += 1;
        } else if first > 0 && fits(first - 1, last) {
            first -= 1;
        } else {
            return (first, last);
        }
    }
}

/// A lane's number on its tab: the one its default key (`1`–`5`) has, whichever lanes the
/// backend has.
fn lane_number(lane: Option<Lane>) -> usize {
    lane.and_then(|l| Lane::ALL.iter().position(|x| *x == l))
        .map_or(0, |i| i + 1)
}

fn label(app: &App, n: usize, lane: Option<Lane>, detail: Detail) -> String {
    let name = match (lane, detail) {
        (None, _) => "All",
        (Some(l), Detail::Full | Detail::Counts) => lane_title(l),
        (Some(l), _) => lane_tag(l),
    };
    let mut text = match lane {
        None if detail == Detail::Numbers => "A".to_string(),
        None => name.to_string(),
        Some(_) if detail == Detail::Numbers => n.to_string(),
        Some(_) => format!("{n} {name}"),
    };
    if let Some((open, overdue)) = counts(app, lane) {
        match detail {
            Detail::Full | Detail::Counts | Detail::Short | Detail::Marked => {
                text.push_str(&format!(" {open}"));
            }
            Detail::Tags | Detail::Numbers => {}
        }
        if overdue > 0 {
            match detail {
                Detail::Full => text.push_str(&format!(" ({overdue} overdue)")),
                Detail::Counts | Detail::Short => text.push_str(&format!(" ({overdue}!)")),
                Detail::Marked => text.push('!'),
                Detail::Tags | Detail::Numbers => {}
            }
        }
    }
    text
}

/// Open and overdue items in `lane` (all lanes for `None`), once the server has said.
fn counts(app: &App, lane: Option<Lane>) -> Option<(u64, u64)> {
    let counts = app.lane_counts.as_ref()?;
    Some(
        counts
            .lanes
            .iter()
            .filter(|c| lane.is_none_or(|l| l == c.lane))
            .fold((0, 0), |(o, d), c| (o + c.open, d + c.overdue)),
    )
}

fn lane_title(lane: Lane) -> &'static str {
    match lane {
        Lane::Urgent => "Urgent",
        Lane::Authority => "Authority",
        Lane::TrustedFlagger => "Trusted flagger",
        Lane::Standard => "Standard",
        Lane::Appeals => "Appeals",
    }
}

fn lane_tag(lane: Lane) -> &'static str {
    match lane {
        Lane::Urgent => "URG",
        Lane::Authority => "AUTH",
        Lane::TrustedFlagger => "TF",
        Lane::Standard => "STD",
        Lane::Appeals => "APP",
    }
}
