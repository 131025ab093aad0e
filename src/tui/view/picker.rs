//! The decision picker overlay (`T`, `E`): reason, scope or tier, and note.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::popup::draw_popup_lines;
use crate::model::DecisionAction;
use crate::tui::app::App;
use crate::tui::picker::{Picker, Step, tier_name};

pub(super) fn draw_picker(frame: &mut Frame, app: &App, picker: &Picker, area: Rect) {
    let theme = &app.theme;
    let mark = |step: Step| if picker.step == step { "▸ " } else { "  " };
    let mut lines: Vec<Line> = Vec::new();
    let field = |step: Step, name: &str, value: String| {
        Line::from(vec![
            Span::styled(format!("{}{name:<7}", mark(step)), theme.accent),
            Span::raw(value),
        ])
    };
    if picker.action == DecisionAction::TakeDown {
        lines.push(field(
            Step::Reason,
            "reason",
            picker
                .reason
                .clone()
                .unwrap_or_else(|| "(server default)".into()),
        ));
        lines.push(field(Step::Scope, "scope", picker.scope_summary()));
        if picker.has_account_step() {
            // One letter longer than the other names: a space keeps the value apart.
            let summary = format!(" {}", picker.account_summary());
            lines.push(field(Step::Account, "account", summary));
        }
    } else {
        lines.push(field(
            Step::Tier,
            "tier",
            tier_name(picker.tier).replace('_', " "),
        ));
    }
    lines.push(field(Step::Note, "note", format!("{}▏", picker.note)));
    lines.push(Line::default());
    if picker.step == Step::Note {
        let need = if picker.action == DecisionAction::Escalate {
            "a note is required"
        } else {
            "a note is optional"
        };
        lines.push(Line::styled(
            app.keymap.layers.picker_note_hint(need),
            theme.muted,
        ));
        if let Some(narrower) = picker.narrower_than_t() {
            lines.push(Line::styled(narrower, theme.warning));
        }
    } else {
        lines.push(Line::from(vec![
            Span::styled("search ", theme.muted),
            Span::raw(format!("{}▏", picker.search)),
        ]));
        let choices = picker.choices();
        let room = usize::from(area.height.saturating_sub(12)).clamp(3, 12);
        let first = picker
            .cursor
            .saturating_sub(room / 2)
            .min(choices.len().saturating_sub(room));
        for (i, c) in choices.iter().enumerate().skip(first).take(room) {
            let chosen = picker.step == Step::Scope && picker.is_chosen(c);
            let here = picker.highlighted() == Some(i);
            let text = format!(
                "{}{} {}",
                if here { "▶" } else { " " },
                if chosen { "✓" } else { " " },
                c.label
            );
            let style = if here { theme.selection } else { Style::new() };
            lines.push(Line::styled(text, style));
        }
        let help = app.keymap.layers.picker_hint(picker.step == Step::Scope);
        lines.push(Line::styled(help, theme.muted));
    }
    if let Some(error) = &picker.error {
        lines.push(Line::styled(error.clone(), theme.warning));
    }
    let title = if picker.action == DecisionAction::TakeDown {
        " Take down "
    } else {
        " Escalate "
    };
    draw_popup_lines(frame, app, area, title, lines, 0);
}
