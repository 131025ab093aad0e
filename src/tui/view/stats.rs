//! Drawing the stats view (`s`): the session's and today's decisions (net: what a reversal
//! undid counts apart, as reversed) by action, reason code, report category, lane and country
//! as bar charts, and their pace as a sparkline. Side by side where they
//! fit, one at a time (tab switches) where they do not. Any size draws, however small.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Bar, BarChart, Block, Borders, Clear, Paragraph, Sparkline};

use crate::model::{DailyStats, Tally};
use crate::tui::app::{App, Freshness};

/// Below this width the two panels take turns.
const SIDE_BY_SIDE: u16 = 100;
/// Below this width the four charts stack instead of sitting two by two.
const CHART_GRID: u16 = 60;
/// Longest bar label.
const LABEL_CHARS: usize = 20;

pub fn draw(frame: &mut Frame, app: &App, area: Rect, today: bool) {
    let theme = &app.theme;
    // The whole screen: charts want room, and the queue waits underneath.
    let popup = area;
    frame.render_widget(Clear, popup);
    let block = Block::default().borders(Borders::ALL).title(Span::styled(
        format!(" Stats — {} ", app.keymap.layers.stats_hint()),
        theme.accent,
    ));
    let inner = block.inner(popup);
    frame.render_widget(block, popup);
    let session = app.stats.session();
    let pace = app.stats.per_minute(app.now);
    let session_panel = Panel {
        title: "This session".into(),
        figures: Some(&session),
        status: None,
        median: "median time per decision",
        pace: &pace,
        pace_label: "decisions per minute",
        exposure: Some(exposure_line(app)),
    };
    let day = app.stats.day.as_ref();
    let status = match &app.stats.day_fresh {
        Freshness::Loading => Some(Line::styled("asking the server…", theme.muted)),
        Freshness::Fresh => None,
        Freshness::Failed(why) => Some(Line::styled(
            format!("could not ask the server: {why}"),
            theme.warning,
        )),
    };
    let day_panel = Panel {
        title: format!(
            "Today {}(all moderators)",
            day.map(|d| format!("{} ", d.date)).unwrap_or_default()
        ),
        figures: day,
        status,
        median: "median wait from report to decision",
        pace: day.map_or(&[], |d| d.by_hour.as_slice()),
        pace_label: "decisions per hour (UTC)",
        exposure: None,
    };
    if inner.width >= SIDE_BY_SIDE {
        let [left, right] =
            Layout::horizontal([Constraint::Fill(1), Constraint::Fill(1)]).areas(inner);
        session_panel.draw(frame, app, left);
        day_panel.draw(frame, app, right);
    } else if today {
        day_panel.draw(frame, app, inner);
    } else {
        session_panel.draw(frame, app, inner);
    }
}

/// One column of figures: the session's or the day's.
struct Panel<'a> {
    title: String,
    figures: Option<&'a DailyStats>,
    /// Why the figures are missing or old.
    status: Option<Line<'a>>,
    median: &'static str,
    pace: &'a [u64],
    pace_label: &'static str,
    /// The moderator's own time on graphic categories (the session's panel only).
    exposure: Option<Line<'a>>,
}

impl Panel<'_> {
    fn draw(self, frame: &mut Frame, app: &App, area: Rect) {
        let theme = &app.theme;
        let [head, summary, pace_title, pace, charts] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(if self.exposure.is_some() { 4 } else { 3 }),
            Constraint::Length(1),
            Constraint::Length(2),
            Constraint::Min(0),
        ])
        .areas(area);
        let mut title = vec![Span::styled(self.title.clone(), theme.accent)];
        if let Some(status) = self.status {
            title.push(Span::raw(" · "));
            title.extend(status.spans);
        }
        frame.render_widget(Paragraph::new(Line::from(title)), head);
        let Some(figures) = self.figures else {
            return;
        };
        let median = figures.median_to_decision().unwrap_or_else(|| "—".into());
        let mut lines = vec![
            Line::from(vec![
                Span::styled("decisions ", theme.muted),
                Span::raw(figures.decisions.to_string()),
                Span::styled(" · reversed ", theme.muted),
                Span::raw(figures.reversed.to_string()),
            ]),
            Line::from(vec![
                Span::styled(format!("{} ", self.median), theme.muted),
                Span::raw(median),
            ]),
            Line::from(vec![
                Span::styled("deadlines met ", theme.muted),
                Span::styled(figures.deadlines_met.to_string(), theme.keep),
                Span::styled(" · missed ", theme.muted),
                Span::styled(figures.deadlines_missed.to_string(), theme.take_down),
            ]),
        ];
        lines.extend(self.exposure);
        frame.render_widget(Paragraph::new(lines), summary);
        // The latest values that fit, newest at the right.
        let (_, shown) = self
            .pace
            .split_at(self.pace.len().saturating_sub(usize::from(pace.width)));
        let peak = shown.iter().copied().max().unwrap_or(0);
        let label = format!("{} (peak {peak})", self.pace_label);
        frame.render_widget(Paragraph::new(Line::styled(label, theme.muted)), pace_title);
        frame.render_widget(Sparkline::default().data(shown).style(theme.accent), pace);
        // Reason codes (policy) and report categories (what reporters said) side by side,
        // never mixed in one list.
        let breakdowns = [
            ("by action", &figures.by_action),
            ("by lane", &figures.by_lane),
            ("take downs by reason code", &figures.by_reason_code),
            ("by report category", &figures.by_report_category),
            ("by country", &figures.by_country),
        ];
        let rows = breakdowns.map(|(_, t)| t.len());
        for ((name, tallies), cell) in breakdowns.into_iter().zip(chart_cells(charts, &rows)) {
            draw_chart(frame, app, cell, name, tallies);
        }
    }
}

/// One cell per chart, each as tall as its bars (a title row and one per bar) where there is
/// room: two side by side where wide enough, else stacked.
fn chart_cells(area: Rect, bars: &[usize]) -> Vec<Rect> {
    let tall = |n: usize| Constraint::Max(u16::try_from(n.max(1) + 1).unwrap_or(u16::MAX));
    let per_row = if area.width >= CHART_GRID { 2 } else { 1 };
    let rows: Vec<&[usize]> = bars.chunks(per_row).collect();
    let mut heights: Vec<Constraint> = rows
        .iter()
        .map(|row| tall(row.iter().copied().max().unwrap_or(0)))
        .collect();
    heights.push(Constraint::Fill(1));
    let row_areas = Layout::vertical(heights).split(area);
    let mut cells = Vec::with_capacity(bars.len());
    for (row, row_area) in rows.iter().zip(row_areas.iter()) {
        let columns = Layout::horizontal(vec![Constraint::Fill(1); per_row]).split(*row_area);
        cells.extend(columns.iter().take(row.len()).copied());
    }
    cells
}

/// A horizontal bar chart of the largest tallies that fit, one row each.
fn draw_chart(frame: &mut Frame, app: &App, area: Rect, name: &str, tallies: &[Tally]) {
    let theme = &app.theme;
    let block = Block::default()
        .borders(Borders::TOP)
        .title(Span::styled(format!(" {name} "), theme.accent));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if tallies.is_empty() {
        frame.render_widget(Paragraph::new(Line::styled("none", theme.muted)), inner);
        return;
    }
    let rows = usize::from(inner.height);
    let bars: Vec<Bar> = tallies
        .iter()
        .take(rows)
        .map(|t| {
            let label: String = t.key.chars().take(LABEL_CHARS).collect();
            Bar::with_label(label, t.count).text_value(t.count.to_string())
        })
        .collect();
    let chart = BarChart::horizontal(bars)
        .bar_width(1)
        .bar_gap(0)
        .bar_style(theme.accent)
        .value_style(theme.selection);
    frame.render_widget(chart, inner);
}

/// `graphic exposure 23 min over 41 items (violence 12 min · terrorism 8 min)`: the
/// moderator's own, from this session, never sent anywhere.
fn exposure_line(app: &App) -> Line<'static> {
    use crate::tui::app::duration_words;
    let theme = &app.theme;
    let w = &app.wellbeing;
    let mut spans = vec![Span::styled("graphic exposure ", theme.muted)];
    if w.total_items() == 0 {
        spans.push(Span::raw("none"));
        return Line::from(spans);
    }
    let style = if w.proposed {
        theme.warning
    } else {
        ratatui::style::Style::new()
    };
    spans.push(Span::styled(
        format!(
            "{} over {} items",
            duration_words(w.total_seconds()),
            w.total_items()
        ),
        style,
    ));
    let parts: Vec<String> = w
        .ranked()
        .iter()
        .take(4)
        .map(|(c, e)| format!("{c} {} · {}", duration_words(e.seconds), e.items))
        .collect();
    spans.push(Span::styled(
        format!(" ({})", parts.join(", ")),
        theme.muted,
    ));
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use crate::model::human_duration as duration;

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(duration(-3), "0 s");
        assert_eq!(duration(45), "45 s");
        assert_eq!(duration(130), "2 min 10 s");
        assert_eq!(duration(725), "12 min 5 s");
        assert_eq!(duration(12_000), "3 h 20 min");
        assert_eq!(duration(187_200), "2 d 4 h");
    }
}
