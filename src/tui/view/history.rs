//! Drawing the history view (`h`): every event of one item with who and when, oldest first
//! (of a long history, the newest the server lists, and how many there are in all).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::popup::draw_popup_lines;
use super::time::timestamp;
use crate::model::{HistoryEntry, HistoryEvent};
use crate::sanitize::clean_line;
use crate::tui::app::{App, Freshness};
use crate::tui::theme::Theme;

pub fn draw(
    frame: &mut Frame,
    app: &App,
    area: Rect,
    item_id: &str,
    scroll: u16,
    fresh: &Freshness,
) {
    let title = format!(
        " History of {} — {} ",
        clean_line(item_id),
        app.keymap.layers.view_hint()
    );
    draw_popup_lines(frame, app, area, &title, lines(app, item_id, fresh), scroll);
}

/// What the history overlay shows of `item_id`.
pub(super) fn lines<'a>(app: &'a App, item_id: &str, fresh: &Freshness) -> Vec<Line<'a>> {
    let theme = &app.theme;
    let status = match fresh {
        Freshness::Loading => Line::styled(
            "Asking the server… meanwhile what is in memory:",
            theme.muted,
        ),
        Freshness::Fresh => Line::styled("As the server has it now:", theme.muted),
        Freshness::Failed(why) => Line::styled(
            format!("Could not ask the server ({why}); what is in memory:"),
            theme.warning,
        ),
    };
    let mut lines = vec![status];
    match app.entry_by_id(item_id) {
        Some(entry) if entry.shown.history.is_empty() => {
            lines.push(Line::styled("(nothing has happened yet)", theme.muted));
        }
        Some(entry) => {
            if let Some(shown) = super::report_totals::history_shown(&entry.shown) {
                lines.push(Line::styled(
                    format!("{shown} (the newest reports, decisions and notes):"),
                    theme.muted,
                ));
            }
            for h in &entry.shown.history {
                lines.extend(entry_lines(h, theme));
            }
        }
        None => lines.push(Line::styled(
            "The item is no longer in memory.",
            theme.muted,
        )),
    }
    lines
}

/// One event: when, what, who, and its details; its note indented below.
pub fn entry_lines(h: &HistoryEntry, theme: &Theme) -> Vec<Line<'static>> {
    let (what, style) = match h.event {
        HistoryEvent::Reported => ("reported", theme.muted),
        HistoryEvent::TakeDown => ("taken down", theme.take_down),
        HistoryEvent::Keep => ("kept", theme.keep),
        HistoryEvent::Escalate => ("escalated", theme.escalate),
        HistoryEvent::Reversal => ("decision reversed", theme.warning),
        HistoryEvent::Note => ("note", theme.accent),
        HistoryEvent::Upheld => ("appeal: decision upheld", theme.take_down),
        HistoryEvent::Overturned => ("appeal: decision overturned", theme.keep),
        HistoryEvent::SupportSent => ("support resources sent to its reporters", theme.accent),
    };
    let mut details = String::new();
    if let Some(tier) = h.escalation_target {
        details.push_str(&format!(" to {}", tier.label()));
    }
    details.push_str(&format!(" by {}", h.actor));
    if let Some(reason) = &h.reason_code {
        details.push_str(&format!(" · {reason}"));
    }
    if let Some(scope) = &h.scope {
        details.push_str(&format!(" · scope {}", scope.label()));
    }
    let mut lines = vec![Line::from(vec![
        Span::raw(format!("• {}  ", timestamp(h.at))),
        Span::styled(what, style),
        Span::raw(details),
    ])];
    if let Some(note) = &h.note {
        lines.extend(
            note.lines()
                .map(|l| Line::styled(format!("    {l}"), theme.muted)),
        );
    }
    lines
}
