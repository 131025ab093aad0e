//! The help overlay (`?`): every key, command and filter term.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::popup::draw_popup_lines;
use crate::tui::action::Action;
use crate::tui::app::App;
use crate::tui::prompt::COMMANDS;

pub(super) fn draw_help(frame: &mut Frame, app: &App, area: Rect, scroll: u16) {
    let close = app.keymap.first_key(&Action::Help);
    draw_popup_lines(
        frame,
        app,
        area,
        &format!(
            " Keys — {} ",
            app.keymap.layers.view_hint_also(close.as_deref())
        ),
        help_lines(app),
        scroll,
    );
}

/// Every key, command and filter term, a line each.
pub(super) fn help_lines(app: &App) -> Vec<Line<'_>> {
    let theme = &app.theme;
    let caps = &app.capabilities;
    let by_action = app.keymap.keys_by_action();
    let (offered, missing): (Vec<_>, Vec<_>) = by_action
        .iter()
        .partition(|(action, _)| crate::tui::capable::why_not(caps, action).is_none());
    let mut rows: Vec<Line> = offered
        .iter()
        .map(|(action, keys)| {
            let keys = keys.iter().map(|k| k.label()).collect::<Vec<_>>().join(" ");
            Line::from(vec![
                Span::styled(format!("{keys:>16}  "), theme.accent),
                Span::raw(action.help()),
            ])
        })
        .collect();
    // What this backend cannot do, once each, with the platform's reason.
    let mut reasons: Vec<String> = Vec::new();
    for (action, _) in &missing {
        if let Some(why) = crate::tui::capable::why_not(caps, action)
            && !reasons.contains(&why)
        {
            reasons.push(why);
        }
    }
    if !reasons.is_empty() {
        rows.push(Line::default());
        rows.push(Line::styled(
            format!(
                "Not on {}",
                crate::sanitize::clean_short(&caps.platform, 40)
            ),
            theme.accent,
        ));
        rows.extend(
            reasons
                .into_iter()
                .map(|why| Line::raw(format!("  {}", crate::sanitize::clean_line(&why)))),
        );
    }
    rows.push(Line::default());
    rows.push(Line::styled(
        "Commands (:) — every key's action is a command too, e.g. :take_down",
        theme.accent,
    ));
    rows.extend(
        COMMANDS
            .iter()
            .filter(|(name, _)| crate::tui::capable::command_why_not(caps, name).is_none())
            .map(|(_, usage)| Line::raw(format!("  :{usage}"))),
    );
    rows.push(Line::default());
    rows.push(Line::styled(
        "Filter (/) — terms all match; \"quoted words\" stay together; cat:a,b either; -term not",
        theme.accent,
    ));
    rows.extend(crate::query::KEYS.iter().map(|(key, what)| {
        Line::from(vec![
            Span::styled(format!("{key:>16}  "), theme.accent),
            Span::raw(*what),
        ])
    }));
    rows.push(Line::raw(
        "     e.g. /cat:spam,scam -lang:en country:DE prio:>50 from:@handle",
    ));
    rows
}
