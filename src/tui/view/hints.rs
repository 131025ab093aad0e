//! The bottom row: the keys that act here, a flash message, or a key sequence being typed.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::model::DecisionAction;
use crate::tui::action::Action;
use crate::tui::app::{App, Level};
use crate::tui::keymap::Sequence;
use crate::tui::paint;

pub(super) fn draw_hints(frame: &mut Frame, app: &App, area: Rect) {
    let theme = &app.theme;
    let line = match &app.flash {
        _ if !app.pending_keys.is_empty() => pending_line(app),
        Some(flash) => {
            let style = match flash.level {
                Level::Info => Style::new(),
                Level::Warning => theme.warning,
                Level::Error => theme.error,
            };
            Line::styled(flash.text.as_str(), style)
        }
        None => {
            // A decision the role cannot make here is marked, so nobody presses it in vain.
            let selected = app.selected_entry().filter(|_| !app.visible.is_empty());
            let mut spans = Vec::with_capacity(16);
            for (action, decision, text) in [
                (Action::TakeDown, DecisionAction::TakeDown, " take down  "),
                (Action::Keep, DecisionAction::Keep, " keep  "),
                (Action::Escalate, DecisionAction::Escalate, " escalate  "),
            ] {
                let allowed =
                    selected.is_none_or(|e| crate::tui::context::allows(&e.shown, decision));
                match (allowed, app.keymap.first_key_label(&action)) {
                    (true, _) => push_hint(&mut spans, app, action, text),
                    (false, Some(key)) => {
                        spans.push(Span::styled(format!("✗{key}{text}"), theme.muted));
                    }
                    (false, None) => {}
                }
            }
            push_hint(&mut spans, app, Action::Undo, " undo  ");
            push_hint(&mut spans, app, Action::MoveDown, " next  ");
            push_hint(&mut spans, app, Action::Help, " help  ");
            push_hint(&mut spans, app, Action::Quit, " quit  ");
            Line::from(spans)
        }
    };
    paint::line(frame.buffer_mut(), area, &line);
}

/// The hint for `action`: its first key, then `text` (which carries the spaces around it).
fn push_hint<'a>(spans: &mut Vec<Span<'a>>, app: &'a App, action: Action, text: &'static str) {
    if let Some(key) = app.keymap.first_key_label(&action) {
        spans.push(Span::styled(key, app.theme.accent));
        spans.push(Span::raw(text));
    }
}

/// While a key sequence is being typed: what was typed so far, and what may follow.
fn pending_line(app: &App) -> Line<'static> {
    let theme = &app.theme;
    let typed = Sequence(app.pending_keys.clone()).label();
    let mut spans = vec![Span::styled(format!("{typed} …  "), theme.accent)];
    for (rest, action) in app.keymap.continuations(&app.pending_keys) {
        spans.push(Span::styled(rest.label(), theme.accent));
        spans.push(Span::raw(format!(" {}  ", action.description())));
    }
    spans.push(Span::styled("esc cancels", theme.muted));
    Line::from(spans)
}
