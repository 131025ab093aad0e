//! The appeal block of the item pane: the decision appealed (action, reason, scope, who and
//! when), its statement of reasons, the appellant's statement, and the outcome or the keys
//! that decide it, or why they are withheld from this moderator.

use ratatui::text::{Line, Span};

use super::time::{ago, timestamp};
use crate::model::{Item, Scope};
use crate::tui::action::Action;
use crate::tui::app::App;

/// Appends the appeal's lines, when the item is an appeal (its text is already sanitized).
pub(super) fn appeal_lines<'a>(app: &'a App, item: &'a Item, lines: &mut Vec<Line<'a>>) {
    let Some(appeal) = &item.appeal else {
        return;
    };
    let theme = &app.theme;
    let label = |text: &'static str| Span::styled(text, theme.muted);
    let d = &appeal.decision;
    lines.push(Line::default());
    lines.push(Line::from(vec![
        Span::styled(format!("Appeal {}", appeal.id), theme.accent),
        Span::styled(
            format!(
                "  lodged by {} · {} ({})",
                appeal.lodged_by,
                timestamp(appeal.lodged_at),
                ago(appeal.lodged_at, app.now)
            ),
            theme.muted,
        ),
    ]));
    let scope = d
        .scope
        .as_ref()
        .map_or_else(|| "global".into(), Scope::label);
    lines.push(Line::from(vec![
        label("against "),
        Span::styled(d.action.label(), theme.take_down),
        Span::raw(format!(
            " of {} by {} · {} · reason {} · scope {scope}",
            appeal.item_id,
            d.decided_by,
            timestamp(d.decided_at),
            d.reason_code.as_deref().unwrap_or("—"),
        )),
    ]));
    match &d.statement {
        Some(s) => {
            lines.push(Line::from(vec![
                label("statement "),
                Span::raw(format!(
                    "{} · {} · {}",
                    s.puid, s.category, s.decision_ground
                )),
            ]));
            lines.extend(
                s.decision_facts
                    .lines()
                    .map(|l| Line::styled(format!("    {l}"), theme.muted)),
            );
        }
        None if app.capabilities.platform == "modq" => lines.push(Line::from(vec![
            label("statement "),
            Span::raw("none (the take down restricts nothing in the EEA)"),
        ])),
        // A platform backend's take down: modq's server did not make it, so holds none.
        None => lines.push(Line::from(vec![
            label("statement "),
            Span::raw(format!("none kept by {}", app.capabilities.platform)),
        ])),
    }
    lines.push(Line::from(label("appellant says")));
    lines.extend(
        appeal
            .appellant_statement
            .lines()
            .map(|l| Line::raw(format!("    {l}"))),
    );
    if let Some(o) = &appeal.outcome {
        lines.push(Line::from(vec![
            label("outcome "),
            Span::styled(o.verdict.as_str(), theme.accent),
            Span::raw(format!(
                " by {} · {}",
                o.decided_by,
                timestamp(o.decided_at)
            )),
        ]));
    } else if let Some(why) = crate::tui::appeal::withheld(item) {
        lines.push(Line::styled(format!("keys withheld: {why}"), theme.warning));
    } else {
        let key = |a: &Action| app.keymap.first_key_label(a).unwrap_or("?").to_string();
        lines.push(Line::from(vec![
            label("decide "),
            Span::raw(format!(
                "{} uphold (the decision stands) · {} overturn (the content is restored)",
                key(&Action::Uphold),
                key(&Action::Overturn)
            )),
        ]));
    }
}
