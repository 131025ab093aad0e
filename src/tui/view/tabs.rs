//! The lane tabs on the top row.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::model::Lane;
use crate::tui::app::App;
use crate::tui::paint;

/// Lanes as tabs with their open counts (overdue ones too): `All` and `1`–`5`.
pub(super) fn draw_tabs(frame: &mut Frame, app: &App, area: Rect) {
    let theme = &app.theme;
    let active = app.lane();
    let count_of = |lane: Option<Lane>| -> String {
        let Some(counts) = &app.lane_counts else {
            return String::new();
        };
        let (open, overdue) = counts
            .lanes
            .iter()
            .filter(|c| lane.is_none_or(|l| l == c.lane))
            .fold((0, 0), |(o, d), c| (o + c.open, d + c.overdue));
        if overdue > 0 {
            format!(" {open} ({overdue} overdue)")
        } else {
            format!(" {open}")
        }
    };
    let mut spans = Vec::new();
    let tab = |label: String, on: bool| {
        if on {
            Span::styled(format!("▸{label} "), theme.selection)
        } else {
            Span::styled(format!(" {label} "), theme.muted)
        }
    };
    spans.push(tab(format!("All{}", count_of(None)), active.is_none()));
    for (n, lane) in Lane::ALL.iter().enumerate() {
        spans.push(Span::raw("│"));
        spans.push(tab(
            format!("{} {}{}", n + 1, lane_title(*lane), count_of(Some(*lane))),
            active == Some(*lane),
        ));
    }
    paint::line(frame.buffer_mut(), area, &Line::from(spans));
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
