//! The status row (position, counts, link, profile) and the bulk action's gauge above it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Gauge;

use crate::tui::app::bulk_count as count;
use crate::tui::app::{App, BulkProgress, Link, QueueEnd};
use crate::tui::paint;

pub(super) fn draw_gauge(frame: &mut Frame, app: &App, progress: &BulkProgress, area: Rect) {
    let label = if progress.saved {
        let mut text = format!(
            "bulk {} · sent {} · acknowledged {} of {}",
            progress.action.label(),
            count(progress.sent),
            count(progress.acknowledged),
            count(progress.total)
        );
        if progress.refused > 0 {
            text.push_str(&format!(" · refused {}", count(progress.refused)));
        }
        text
    } else {
        format!(
            "bulk {} · saving {} decisions to the outbox…",
            progress.action.label(),
            count(progress.total)
        )
    };
    let ratio = if progress.total == 0 {
        1.0
    } else {
        progress.acknowledged as f64 / progress.total as f64
    };
    let gauge = Gauge::default()
        .gauge_style(app.theme.accent)
        .ratio(ratio.clamp(0.0, 1.0))
        .label(label);
    frame.render_widget(gauge, area);
}

pub(super) fn draw_status(frame: &mut Frame, app: &App, area: Rect) {
    let theme = &app.theme;
    let position = if app.visible.is_empty() {
        "0/0".to_string()
    } else {
        let more = if app.queue_end == QueueEnd::Exhausted {
            ""
        } else {
            "+"
        };
        let at = app
            .visible
            .binary_search(&app.selected)
            .map_or(0, |i| i + 1);
        format!("{at}/{}{more}", app.visible.len())
    };
    let (link, link_style) = match &app.link {
        Link::Online => ("● online".to_string(), theme.keep),
        Link::Offline(why) => (format!("○ offline: {why}"), theme.warning),
    };
    // What the moderator needs most comes first; profile and API follow where there is room.
    let mut spans = vec![Span::raw(format!(
        " {position} │ decided {} │ unsent {} ",
        app.decided, app.counts.unsent
    ))];
    if app.counts.failed > 0 {
        spans.push(Span::styled(
            format!("│ failed {} ", app.counts.failed),
            theme.error,
        ));
    }
    let tagged = app.target_count();
    if tagged > 0 || app.visual.is_some() {
        let range = if app.visual.is_some() { " (range)" } else { "" };
        spans.push(Span::styled(
            format!("│ tagged {}{range} ", count(tagged)),
            theme.accent,
        ));
    }
    // Where the moderator is, after a jump (`A`, a saved view), and the key back.
    if !app.view_path().is_empty() {
        let back = app
            .keymap
            .first_key_label(&crate::tui::action::Action::Back)
            .unwrap_or("esc");
        spans.push(Span::styled(
            format!("│ {} ({back} back) ", app.breadcrumb()),
            theme.accent,
        ));
    }
    if app.wellbeing.proposed {
        spans.push(Span::styled(
            format!(
                "│ {} min on graphic items: a break? ({} dismisses) ",
                app.wellbeing.minutes_since_break(),
                app.keymap
                    .first_key_label(&crate::tui::action::Action::Back)
                    .unwrap_or("esc")
            ),
            theme.warning,
        ));
    }
    if app.disk_at_risk {
        spans.push(Span::styled("│ DISK SYNC FAILED ", theme.error));
    }
    if let Some(trouble) = &app.store_trouble {
        spans.push(Span::styled(
            format!("│ LOCAL CACHE FAILING: {trouble} "),
            theme.error,
        ));
    }
    spans.push(Span::raw("│ "));
    spans.push(Span::styled(link, link_style));
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let room = usize::from(area.width).saturating_sub(used);
    let profile = format!(" │ {}", app.profile);
    let api = format!(" │ {}", app.api);
    if room >= profile.chars().count() + api.chars().count() {
        spans.push(Span::styled(profile, theme.accent));
        spans.push(Span::styled(api, theme.muted));
    } else if room >= profile.chars().count() {
        spans.push(Span::styled(profile, theme.accent));
    }
    paint::line(frame.buffer_mut(), area, &Line::from(spans));
}
