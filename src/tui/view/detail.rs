//! The item pane on the right: the selected item, its reports and history.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::time::{ago, countdown, timestamp};
use crate::account::AccountAction;
use crate::model::{DecisionAction, Item, Lane, ReviewState, Scope};
use crate::sanitize::clean_line;
use crate::tui::action::Action;
use crate::tui::app::{App, Delivery, Entry, Layer, QueueEnd, Translation};
use crate::tui::paint;
use crate::tui::picker::tier_name;
use crate::tui::prompt::PromptKind;

pub(super) fn draw_detail(frame: &mut Frame, app: &App, area: Rect) {
    let theme = &app.theme;
    let Some(entry) = app.selected_entry().filter(|_| !app.visible.is_empty()) else {
        let previewing = matches!(app.layers.last(),
            Some(Layer::Prompt(p)) if p.kind == PromptKind::Filter);
        let message = match app.queue_end {
            // The preview knows only the items in memory; the server may hold matches.
            _ if previewing => format!(
                "None of the {} items in memory match; enter asks the server.",
                app.entries.len()
            ),
            QueueEnd::Exhausted if !app.filter.is_empty() => {
                "Nothing matches the filter. / edits it, :filter clears it.".into()
            }
            QueueEnd::Exhausted => "The queue is empty: nothing to review.".into(),
            _ => "Loading the queue…".into(),
        };
        let p = Paragraph::new(message)
            .block(Block::default().borders(Borders::ALL))
            .wrap(Wrap { trim: true });
        frame.render_widget(p, area);
        return;
    };
    let title = Span::styled(format!(" {} ", entry.shown.id), theme.accent);
    let whole = paint::bordered(frame.buffer_mut(), area, &title);
    let (inner, strip) = with_media_strip(app, whole);
    if let Some(strip) = strip {
        super::media::draw(frame, app, strip);
    }
    // The lines up to one past the pane's last row, drawn where the pane is scrolled to;
    // the drawing says whether there is more below, so the text is laid out once a frame.
    // (A scroll key counts rows further ahead: `scroll_limit`.)
    let offset = app.detail_offset();
    let lines = detail_lines(
        app,
        entry,
        usize::from(offset) + usize::from(inner.height) + 1,
    );
    let mut skip = offset;
    let mut filled = paint::wrapped_from(frame.buffer_mut(), inner, &lines, skip);
    if let paint::Filled::Ends(rows) = filled
        && skip > 0
        && rows < skip.saturating_add(inner.height)
    {
        // Scrolled past where the text now ends (the pane grew, the item changed): drawn
        // again from as far as it scrolls.
        skip = rows.saturating_sub(inner.height);
        clear(frame.buffer_mut(), inner);
        filled = paint::wrapped_from(frame.buffer_mut(), inner, &lines, skip);
    }
    // Say there is more, and which key shows it, on the borders.
    let buf = frame.buffer_mut();
    let sign = |key: Option<&str>, arrow: &str| match key {
        Some(k) => format!(" {arrow} {k} more "),
        None => format!(" {arrow} more "),
    };
    if skip > 0 && area.width > 12 {
        let text = sign(app.keymap.first_key_label(&Action::DetailUp), "↑");
        let x = area.right().saturating_sub(1 + text.chars().count() as u16);
        paint::put(
            buf,
            x,
            area.y,
            area.right().saturating_sub(1),
            &text,
            theme.accent,
        );
    }
    if filled == paint::Filled::GoesOn && area.width > 12 {
        let text = sign(app.keymap.first_key_label(&Action::DetailDown), "↓");
        let x = area.right().saturating_sub(1 + text.chars().count() as u16);
        // Below the text: on the border, or on the image strip's top row when there is one.
        let y = match strip {
            Some(s) => s.y.saturating_sub(1).max(inner.y),
            None => area.bottom().saturating_sub(1),
        };
        paint::put(
            buf,
            x,
            y,
            area.right().saturating_sub(1),
            &text,
            theme.accent,
        );
    }
}

/// How far the pane whose inside is `inner` can scroll the selected item, as far as its
/// lines up to three panes below where it is scrolled show (each line takes at least one row,
/// so lines further down could not be counted).
fn scroll_extent(app: &App, entry: &Entry, inner: Rect) -> u16 {
    let height = usize::from(inner.height);
    let cap = usize::from(app.detail_offset()) + 3 * height.max(1);
    let lines = detail_lines(app, entry, cap);
    let rows = paint::rows(&lines, inner.width, cap);
    u16::try_from(rows.saturating_sub(height)).unwrap_or(u16::MAX)
}

/// Blanks every cell of `area`.
fn clear(buf: &mut ratatui::buffer::Buffer, area: Rect) {
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            if let Some(cell) = buf.cell_mut((x, y)) {
                cell.reset();
            }
        }
    }
}

/// The pane's inside split into the text and, at its foot, the selected item's image strip.
fn with_media_strip(app: &App, inner: Rect) -> (Rect, Option<Rect>) {
    match super::media::strip(app, inner) {
        Some(strip) => (
            Rect {
                height: inner.height.saturating_sub(strip.height),
                ..inner
            },
            Some(strip),
        ),
        None => (inner, None),
    }
}

/// How far the item pane can scroll in a frame whose item pane is `area`.
pub(super) fn scroll_limit(app: &App, area: Rect) -> u16 {
    let inner = Rect {
        x: area.x.saturating_add(1),
        y: area.y.saturating_add(1),
        width: area.width.saturating_sub(2),
        height: area.height.saturating_sub(2),
    };
    let (inner, _) = with_media_strip(app, inner);
    match app.selected_entry().filter(|_| !app.visible.is_empty()) {
        Some(entry) if !inner.is_empty() => scroll_extent(app, entry, inner),
        _ => 0,
    }
}

/// The item pane's lines, the first `room` of them at most. Text the item holds is borrowed.
fn detail_lines<'a>(app: &'a App, entry: &'a Entry, room: usize) -> Vec<Line<'a>> {
    let theme = &app.theme;
    let item = &entry.shown;
    let heading = |text: &'static str| Line::from(Span::styled(text, theme.accent));
    // A field's name, with the space after it.
    let label = |text: &'static str| Span::styled(text, theme.muted);
    let mut lines: Vec<Line> = Vec::with_capacity(room.min(48));

    let lane_style = if item.lane == Lane::Urgent {
        theme.urgent
    } else {
        Style::new()
    };
    lines.push(Line::from(vec![
        label("kind "),
        Span::raw(format!("{:?}", item.kind).to_lowercase()),
        Span::raw("  "),
        label("lane "),
        Span::styled(item.lane.as_str(), lane_style),
        Span::raw("  "),
        label("priority "),
        Span::raw(item.priority.to_string()),
    ]));
    if let Some(deadline) = item.deadline {
        let (left, overdue) = countdown(deadline, app.now);
        let style = crate::tui::deadline::style(theme, deadline, app.now);
        let text = if overdue {
            format!("OVERDUE by {}", left.trim_start_matches('-'))
        } else {
            format!("in {left}")
        };
        lines.push(Line::from(vec![
            label("deadline "),
            Span::raw(format!("{}  ", timestamp(deadline))),
            Span::styled(text, style),
        ]));
    }
    let author = match &item.author {
        Some(a) => match &a.handle {
            Some(h) => Span::raw(format!("{h} ({})", a.id)),
            None => Span::raw(a.id.as_str()),
        },
        None => Span::raw("unknown"),
    };
    lines.push(Line::from(vec![label("author "), author]));
    if let Some(record) = &item.author_record {
        let style = if record.taken_down > 0 {
            theme.warning
        } else {
            Style::new()
        };
        lines.push(Line::from(vec![
            label("record "),
            Span::styled(crate::tui::context::record_line(record), style),
        ]));
    }
    if let Some(standing) = &item.account {
        let limited = standing.in_force.is_some() || standing.strikes_in_window > 0;
        let style = if limited { theme.warning } else { Style::new() };
        lines.push(Line::from(vec![
            label("account "),
            Span::styled(crate::tui::context::account_line(standing, app.now), style),
        ]));
        if let Some(strikes) = crate::tui::context::strikes_line(standing) {
            lines.push(Line::from(vec![label("strikes "), Span::raw(strikes)]));
        }
        if let Some(proposal) = standing
            .proposal
            .filter(|m| m.action != AccountAction::Strike)
        {
            lines.push(Line::from(vec![
                label("proposal "),
                Span::styled(
                    format!("{} with a take down (T)", proposal.label()),
                    theme.warning,
                ),
            ]));
        }
    }
    lines.push(Line::from(vec![
        label("language "),
        Span::raw(item.language.as_deref().unwrap_or("?")),
        Span::raw("  "),
        label("countries "),
        if item.countries.is_empty() {
            Span::raw("—")
        } else {
            Span::raw(item.countries.join(", "))
        },
    ]));
    lines.push(state_line(app, entry));
    if let Some(basis) = basis_line(app, entry) {
        lines.push(basis);
    }
    super::appeal::appeal_lines(app, item, &mut lines);

    lines.push(Line::default());
    lines.push(heading("Content"));
    if lines.len() >= room {
        return lines;
    }
    match item.text.as_deref() {
        Some(text) if !text.is_empty() => {
            let left = room - lines.len();
            lines.extend(text.lines().take(left).map(Line::raw));
        }
        _ => lines.push(Line::styled("(no text)", theme.muted)),
    }
    translation_lines(app, entry, room, &mut lines);
    for m in &item.media {
        if lines.len() >= room {
            return lines;
        }
        let mut spans = vec![
            label("media "),
            Span::raw(format!(
                "{}: {}",
                m.kind,
                m.description.as_deref().unwrap_or("(no description)")
            )),
        ];
        match crate::media::policy::never_shown(item, m) {
            // Never fetched, never drawn: the reason alone.
            Some(why) => spans.push(Span::styled(
                format!("  [never shown · {why}]"),
                theme.urgent,
            )),
            None => {
                if let Some(hash) = &m.hash_match {
                    spans.push(Span::styled(
                        format!("  [hash match: {hash}]"),
                        theme.urgent,
                    ));
                }
            }
        }
        lines.push(Line::from(spans));
    }

    lines.push(Line::default());
    lines.push(super::report_totals::reports_heading(item, theme));
    lines.extend(super::report_totals::tally_lines(item, theme));
    for r in &item.reports {
        if lines.len() >= room {
            return lines;
        }
        let mut spans = vec![
            Span::raw("• "),
            Span::styled(r.reporter_type.label(), theme.accent),
            Span::raw(format!(
                " · {} · {} ({})",
                r.category,
                timestamp(r.received_at),
                ago(r.received_at, app.now)
            )),
        ];
        if let Some(d) = r.deadline {
            spans.push(Span::styled(
                format!(" · due {}", timestamp(d)),
                theme.warning,
            ));
        }
        lines.push(Line::from(spans));
        if let Some(comment) = &r.comment {
            for l in comment.lines() {
                lines.push(Line::styled(format!("    {l}"), theme.muted));
            }
        }
    }

    if lines.len() >= room {
        return lines;
    }
    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        super::report_totals::history_heading(item),
        theme.accent,
    )));
    history_lines(item, &mut lines, app);
    lines
}

/// The item's translation under its text, when the moderator asked for it (`L`): the
/// original above it is never replaced.
fn translation_lines<'a>(app: &'a App, entry: &Entry, room: usize, lines: &mut Vec<Line<'a>>) {
    let theme = &app.theme;
    let Some(translation) = app.translations.shown(&entry.id) else {
        return;
    };
    if lines.len() >= room {
        return;
    }
    let key = app
        .keymap
        .first_key_label(&Action::Translate)
        .unwrap_or(":translate");
    let by = app
        .translations
        .command
        .as_ref()
        .map(|c| clean_line(&c.program))
        .unwrap_or_default();
    lines.push(Line::from(vec![
        Span::styled(format!("Translation ({by})"), theme.accent),
        Span::styled(
            format!("  {key} hides it; the original is above"),
            theme.muted,
        ),
    ]));
    match translation {
        Translation::Pending => lines.push(Line::styled("translating…", theme.muted)),
        Translation::Failed(why) => {
            lines.push(Line::styled(
                format!("no translation: {why}"),
                theme.warning,
            ));
        }
        Translation::Done(text) => {
            let left = room.saturating_sub(lines.len());
            lines.extend(
                text.lines()
                    .take(left)
                    .map(|l| Line::from(vec![Span::styled("│ ", theme.muted), Span::raw(l)])),
            );
        }
    }
}

fn state_line<'a>(app: &App, entry: &Entry) -> Line<'a> {
    let theme = &app.theme;
    let label = Span::styled("state ", theme.muted);
    match &entry.local {
        Some(local) => {
            let style = match local.action {
                DecisionAction::TakeDown => theme.take_down,
                DecisionAction::Keep => theme.keep,
                _ => theme.escalate,
            };
            let (delivery, dstyle) = match &local.delivery {
                Delivery::Unsent => ("waiting to be sent".to_string(), theme.muted),
                Delivery::Sent => ("sent".to_string(), theme.muted),
                Delivery::Failed(why) => (format!("REFUSED by the server: {why}"), theme.error),
            };
            Line::from(vec![
                label,
                Span::styled(format!("you decided: {}", local.action.label()), style),
                Span::raw(" — "),
                Span::styled(delivery, dstyle),
            ])
        }
        None if entry.gone.is_some() => Line::from(vec![
            label,
            Span::styled(
                format!(
                    "not yours any more: {}",
                    entry.gone.as_deref().unwrap_or_default()
                ),
                theme.warning,
            ),
        ]),
        None if entry.held_by.is_some() => Line::from(vec![
            label,
            Span::styled(
                format!(
                    "being reviewed by {}",
                    entry.held_by.as_deref().unwrap_or_default()
                ),
                theme.warning,
            ),
        ]),
        None => {
            let state = match entry.shown.state {
                ReviewState::Open => "open",
                ReviewState::Escalated => "escalated",
                ReviewState::TakenDown => "taken down",
                ReviewState::Kept => "kept",
            };
            Line::from(vec![label, Span::raw(state)])
        }
    }
}

/// What this moderator's own decision said beyond its action: the reason and the scope of a
/// take down, the tier of an escalation, the note. `None` when it said nothing more.
fn basis_line<'a>(app: &App, entry: &Entry) -> Option<Line<'a>> {
    let local = entry.local.as_ref()?;
    let d = &local.details;
    let mut parts = Vec::new();
    if local.action == DecisionAction::TakeDown {
        let reason = d.reason_code.as_deref().unwrap_or("the server's default");
        let title = app
            .policies
            .as_ref()
            .and_then(|p| {
                p.policies
                    .iter()
                    .find(|r| Some(r.code.as_str()) == d.reason_code.as_deref())
            })
            .map(|r| format!(" ({})", r.title))
            .unwrap_or_default();
        parts.push(format!(
            "reason {}{}",
            clean_line(reason),
            clean_line(&title)
        ));
        let scope = match &d.scope {
            None | Some(Scope::Global) => "global — everywhere".to_string(),
            Some(Scope::Countries(cs)) => format!("only in {}", clean_line(&cs.join(", "))),
        };
        parts.push(format!("scope {scope}"));
    }
    if let Some(tier) = d.tier {
        parts.push(format!("to {}", tier_name(tier).replace('_', " ")));
    }
    if let Some(note) = d.note.as_deref().filter(|n| !n.is_empty()) {
        parts.push(format!("note “{}”", clean_line(note)));
    }
    if parts.is_empty() {
        return None;
    }
    Some(Line::from(vec![
        Span::styled("basis ", app.theme.muted),
        Span::raw(parts.join(" · ")),
    ]))
}

fn history_lines(item: &Item, lines: &mut Vec<Line>, app: &App) {
    if item.history.is_empty() {
        lines.push(Line::styled("(none)", app.theme.muted));
        return;
    }
    for h in &item.history {
        lines.extend(super::history::entry_lines(h, &app.theme));
    }
}
