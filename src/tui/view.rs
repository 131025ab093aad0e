//! Drawing: a pure function of `&App`. It never changes state and never touches the disk or
//! the network. Every string from an item was sanitized when it entered the App.

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Gauge, Paragraph, Wrap};

use std::fmt::Write as _;

use super::action::Action;
use super::app::{App, BulkProgress, Delivery, Entry, Layer, Level, Link, QueueEnd};
use super::keymap::Sequence;
use super::paint;
use super::picker::{Picker, Step, country_name, tier_name};
use super::prompt::{COMMANDS, Prompt};
use crate::model::{DecisionAction, Item, Lane, ReviewState};
use crate::tui::app::bulk_count as count;

/// Below this the layout cannot say anything useful; a short notice is drawn instead.
const MIN_WIDTH: u16 = 30;
const MIN_HEIGHT: u16 = 6;

pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    let Some(Panes {
        tabs,
        list,
        detail,
        gauge,
        status,
        hints,
    }) = panes(area, app)
    else {
        draw_too_small(frame, area);
        return;
    };
    draw_tabs(frame, app, tabs);
    draw_queue(frame, app, list);
    draw_detail(frame, app, detail);
    if let Some(progress) = &app.bulk {
        draw_gauge(frame, app, progress, gauge);
    }
    match app.layers.last() {
        Some(Layer::Prompt(prompt)) => draw_prompt(frame, app, prompt, status, hints),
        _ => {
            draw_status(frame, app, status);
            draw_hints(frame, app, hints);
        }
    }
    match app.layers.last() {
        Some(Layer::Help { scroll }) => draw_help(frame, app, area, *scroll),
        Some(Layer::Confirm(plan)) => {
            let text = format!(
                "{} {} tagged items? Each goes through the outbox and one u undoes them all.",
                capitalized(plan.action.label()),
                count(plan.ids.len())
            );
            draw_popup(
                frame,
                app,
                area,
                " Bulk action — y confirms, n cancels ",
                text,
                0,
            );
        }
        Some(Layer::Output {
            title,
            text,
            scroll,
        }) => draw_popup(
            frame,
            app,
            area,
            &format!(" {title} — j/k scroll, esc closes "),
            text.clone(),
            *scroll,
        ),
        Some(Layer::History {
            item_id,
            scroll,
            fresh,
        }) => super::history_view::draw(frame, app, area, item_id, *scroll, fresh),
        Some(Layer::Stats { today }) => super::stats_view::draw(frame, app, area, *today),
        Some(Layer::Picker(picker)) => draw_picker(frame, app, picker, area),
        Some(Layer::Prompt(_)) | None => {}
    }
}

/// Lanes as tabs with their open counts (overdue ones too): `All` and `1`–`5`.
fn draw_tabs(frame: &mut Frame, app: &App, area: Rect) {
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

fn draw_picker(frame: &mut Frame, app: &App, picker: &Picker, area: Rect) {
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
        let scope = if picker.countries.is_empty() {
            "global — everywhere".to_string()
        } else {
            picker
                .countries
                .iter()
                .map(|c| format!("{c} {}", country_name(c).unwrap_or("")))
                .collect::<Vec<_>>()
                .join(", ")
        };
        lines.push(field(Step::Scope, "scope", scope));
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
            format!("type the note ({need}) · enter decides · esc cancels"),
            theme.muted,
        ));
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
            let chosen = picker.step == Step::Scope && picker.countries.contains(&c.value);
            let text = format!(
                "{}{} {}",
                if i == picker.cursor { "▶" } else { " " },
                if chosen { "✓" } else { " " },
                c.label
            );
            let style = if i == picker.cursor {
                theme.selection
            } else {
                Style::new()
            };
            lines.push(Line::styled(text, style));
        }
        let help = match picker.step {
            Step::Scope => "type a country's name or code · space adds/removes · enter goes on",
            _ => "type to search · ↑/↓ choose · enter picks · tab keeps · esc cancels",
        };
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

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn draw_gauge(frame: &mut Frame, app: &App, progress: &BulkProgress, area: Rect) {
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

/// The prompt in the bottom row; above it, why Enter was refused or what Tab found.
fn draw_prompt(frame: &mut Frame, app: &App, prompt: &Prompt, note_area: Rect, area: Rect) {
    let theme = &app.theme;
    let line = Line::from(vec![
        Span::styled(prompt.kind.sigil().to_string(), theme.accent),
        Span::raw(prompt.text.clone()),
    ]);
    frame.render_widget(Paragraph::new(line), area);
    let before: String = prompt.text.chars().take(prompt.cursor).collect();
    let x = area
        .x
        .saturating_add(1)
        .saturating_add(u16::try_from(Span::raw(before).width()).unwrap_or(u16::MAX));
    if x < area.right() {
        frame.set_cursor_position((x, area.y));
    }
    let note = match &prompt.note {
        Some(n) => Line::styled(n.clone(), theme.warning),
        None => Line::styled(prompt.kind.hint(), theme.muted),
    };
    frame.render_widget(Paragraph::new(note), note_area);
}

/// Where each part of the screen goes.
pub struct Panes {
    /// The lane tabs.
    pub tabs: Rect,
    pub list: Rect,
    pub detail: Rect,
    /// One row while a bulk action is in flight, else empty.
    pub gauge: Rect,
    pub status: Rect,
    pub hints: Rect,
}

/// The layout of a frame of `area` for `app`; `None` when it is too small for one.
pub fn panes(area: Rect, app: &App) -> Option<Panes> {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        return None;
    }
    // A bulk action in flight gets a row of its own: the moderator keeps working meanwhile.
    let gauge_rows = u16::from(app.bulk.is_some());
    let [tabs, body, gauge, status, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(gauge_rows),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let list_width = if area.width >= 120 {
        area.width * 2 / 5
    } else {
        (area.width * 2 / 5).max(28)
    };
    let [list, detail] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Min(1)]).areas(body);
    Some(Panes {
        tabs,
        list,
        detail,
        gauge,
        status,
        hints,
    })
}

/// The first visible position the list in `list` shows, and how many rows it has. The view
/// keeps no scroll state (drawing is pure), so the window is derived from the selection: it
/// moves in half-screen jumps, keeping at least half a screen above the cursor once it has
/// passed the middle. Scrolling a row per decision would rewrite every row of the list on
/// every key (about 3 KB at 120x40, over SSH); a jump does so once per half screen.
pub fn list_window(list: Rect, position: usize, len: usize) -> (usize, usize) {
    let rows = usize::from(list.height.saturating_sub(2)).max(1);
    let step = (rows / 2).max(1);
    let offset = (position / step)
        .saturating_sub(1)
        .saturating_mul(step)
        .min(len.saturating_sub(rows));
    (offset, rows)
}

/// Where the selection is among the visible entries.
fn position(app: &App) -> usize {
    app.visible
        .binary_search(&app.selected)
        .unwrap_or_else(|i| i.min(app.visible.len().saturating_sub(1)))
}

/// The entry (an index into `app.entries`) drawn at (`column`, `row`) of a frame of `area`:
/// where a click lands.
pub fn entry_at(area: Rect, app: &App, column: u16, row: u16) -> Option<usize> {
    let list = panes(area, app)?.list;
    let inside = column > list.x
        && column < list.right().saturating_sub(1)
        && row > list.y
        && row < list.bottom().saturating_sub(1);
    if !inside {
        return None;
    }
    let (offset, _) = list_window(list, position(app), app.visible.len());
    app.visible
        .get(offset + usize::from(row - list.y - 1))
        .copied()
}

fn draw_too_small(frame: &mut Frame, area: Rect) {
    let text = Paragraph::new("modq: window too small")
        .wrap(Wrap { trim: true })
        .alignment(Alignment::Center);
    frame.render_widget(text, area);
}

/// The lane's short tag, left-aligned in four columns.
fn lane_tag_padded(lane: Lane) -> &'static str {
    match lane {
        Lane::Urgent => "URG ",
        Lane::Authority => "AUTH",
        Lane::TrustedFlagger => "TF  ",
        Lane::Standard => "STD ",
        Lane::Appeals => "APP ",
    }
}

fn decision_mark(entry: &Entry) -> &'static str {
    match entry.local.as_ref() {
        None if entry.gone.is_some() || entry.held_by.is_some() => "⊘",
        None => " ",
        Some(l) => match (&l.action, &l.delivery) {
            (_, Delivery::Failed(_)) => "!",
            (DecisionAction::TakeDown, _) => "✗",
            (DecisionAction::Keep, _) => "✓",
            (DecisionAction::Escalate, _) => "↑",
            (DecisionAction::Reverse, _) => "↺",
        },
    }
}

fn draw_queue(frame: &mut Frame, app: &App, area: Rect) {
    let theme = &app.theme;
    let more = match app.queue_end {
        QueueEnd::Exhausted => "",
        QueueEnd::More | QueueEnd::Loading => "+",
    };
    let queue = match app.queue {
        crate::model::ReviewState::Escalated => "Escalated",
        _ => "Queue",
    };
    let mut title = format!(" {queue} {}{} ", app.visible.len(), more);
    if !app.filter.is_empty() {
        title.push_str(&format!("· {} ", app.filter));
    }
    if app.sort != crate::query::Sort::Priority {
        title.push_str(&format!("· by {} ", app.sort.as_str()));
    }
    let inner = paint::bordered(frame.buffer_mut(), area, &Span::styled(title, theme.accent));
    if inner.is_empty() {
        return;
    }
    // Only the rows that fit are drawn: a frame costs the same with 100 items or a million.
    // They are written straight into the buffer (see `paint`), cell for cell what a `List`
    // with the highlight symbol `▶` drew, without building a `ListItem` per row.
    let position = position(app);
    let (offset, rows) = list_window(area, position, app.visible.len());
    let range = app.visual_range();
    let mut shown: Vec<&Entry> = Vec::with_capacity(rows);
    shown.extend(
        app.visible
            .iter()
            .skip(offset)
            .take(rows)
            .filter_map(|&i| app.entries.get(i)),
    );
    let selected = position
        .saturating_sub(offset)
        .min(shown.len().saturating_sub(1));
    let buf = frame.buffer_mut();
    let right = inner.right();
    // One scratch string for the fields that are formatted, reused row after row.
    let mut scratch = String::with_capacity(512);
    for ((i, e), y) in shown.iter().enumerate().zip(inner.top()..inner.bottom()) {
        let mut x = inner.x.saturating_add(1);
        let tagged = app.tagged.contains(&e.id) || range.contains(&e.id);
        x = if tagged {
            paint::put(buf, x, y, right, "*", theme.accent)
        } else {
            paint::put(buf, x, y, right, " ", Style::new())
        };
        let mark_style = match e.local.as_ref().map(|l| (&l.action, &l.delivery)) {
            Some((_, Delivery::Failed(_))) => theme.error,
            Some((DecisionAction::TakeDown, _)) => theme.take_down,
            Some((DecisionAction::Keep, _)) => theme.keep,
            Some((DecisionAction::Escalate, _)) => theme.escalate,
            _ => Style::new(),
        };
        x = paint::put(buf, x, y, right, decision_mark(e), mark_style);
        let pending = match e.local.as_ref().map(|l| &l.delivery) {
            Some(Delivery::Unsent) => "…",
            _ => " ",
        };
        x = paint::put(buf, x, y, right, pending, theme.muted);
        let lane_style = if e.shown.lane == Lane::Urgent {
            theme.urgent
        } else {
            theme.muted
        };
        x = paint::put(buf, x, y, right, lane_tag_padded(e.shown.lane), lane_style);
        scratch.clear();
        let _ = write!(scratch, "{:>4} ", e.shown.priority);
        x = paint::put(buf, x, y, right, &scratch, Style::new());
        let category = e
            .shown
            .reports
            .first()
            .map(|r| r.category.as_str())
            .unwrap_or("");
        scratch.clear();
        scratch.push_str(category);
        scratch.push(' ');
        x = paint::put(buf, x, y, right, &scratch, theme.accent);
        if let Some(deadline) = e.shown.deadline {
            let style = super::deadline::style(theme, deadline, app.now);
            scratch.clear();
            scratch.push('⏱');
            write_countdown(&mut scratch, deadline, app.now);
            scratch.push(' ');
            x = paint::put(buf, x, y, right, &scratch, style);
        }
        // The first 120 characters, line breaks as spaces; borrowed when there are none.
        let text = e.shown.text.as_deref().unwrap_or("");
        let end = text
            .char_indices()
            .nth(120)
            .map_or(text.len(), |(at, _)| at);
        let snippet = text.get(..end).unwrap_or(text);
        if snippet.contains('\n') {
            scratch.clear();
            scratch.extend(snippet.chars().map(|c| if c == '\n' { ' ' } else { c }));
            paint::put(buf, x, y, right, &scratch, Style::new());
        } else {
            paint::put(buf, x, y, right, snippet, Style::new());
        }
        let row = Rect::new(inner.x, y, inner.width, 1);
        if i == selected {
            buf.set_style(row, theme.selection);
            paint::put(
                buf,
                inner.x,
                y,
                inner.x.saturating_add(1),
                "▶",
                Style::new(),
            );
        } else {
            paint::put(
                buf,
                inner.x,
                y,
                inner.x.saturating_add(1),
                " ",
                Style::new(),
            );
        }
    }
}

/// `3h 20m`, `2d 4h` or `45s`, and whether the moment has passed.
fn countdown(deadline: DateTime<Utc>, now: DateTime<Utc>) -> (String, bool) {
    let mut text = String::new();
    let overdue = write_countdown(&mut text, deadline, now);
    (text, overdue)
}

/// `countdown`'s text (`-` first once the moment has passed), appended to `out`; whether it
/// has passed. The list writes one per row into a reused string.
fn write_countdown(out: &mut String, deadline: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    let secs = (deadline - now).num_seconds();
    let overdue = secs < 0;
    let s = secs.unsigned_abs();
    if overdue {
        out.push('-');
    }
    let _ = if s >= 86_400 {
        write!(out, "{}d{}h", s / 86_400, (s % 86_400) / 3600)
    } else if s >= 3600 {
        write!(out, "{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        write!(out, "{}m", s / 60)
    } else {
        write!(out, "{s}s")
    };
    overdue
}

fn ago(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let (text, overdue) = countdown(at, now);
    if overdue {
        format!("{} ago", text.trim_start_matches('-'))
    } else {
        format!("in {text}")
    }
}

pub(super) fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn draw_detail(frame: &mut Frame, app: &App, area: Rect) {
    let theme = &app.theme;
    let Some(entry) = app.selected_entry().filter(|_| !app.visible.is_empty()) else {
        let message = match app.queue_end {
            QueueEnd::Exhausted if !app.filter.is_empty() => {
                "Nothing matches the filter. / edits it, :filter clears it."
            }
            QueueEnd::Exhausted => "The queue is empty: nothing to review.",
            _ => "Loading the queue…",
        };
        let p = Paragraph::new(message)
            .block(Block::default().borders(Borders::ALL))
            .wrap(Wrap { trim: true });
        frame.render_widget(p, area);
        return;
    };
    let title = Span::styled(format!(" {} ", entry.shown.id), theme.accent);
    let inner = paint::bordered(frame.buffer_mut(), area, &title);
    // Each line takes at least one row, so lines past the pane's height would never be drawn:
    // they are not built.
    let lines = detail_lines(app, entry, usize::from(inner.height));
    // What `Paragraph::wrap` drew, without its copying of every grapheme (see `paint`).
    paint::wrapped(frame.buffer_mut(), inner, &lines);
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
        let style = super::deadline::style(theme, deadline, app.now);
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
            Span::styled(super::context::record_line(record), style),
        ]));
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
        if let Some(hash) = &m.hash_match {
            spans.push(Span::styled(
                format!("  [hash match: {hash}]"),
                theme.urgent,
            ));
        }
        lines.push(Line::from(spans));
    }

    lines.push(Line::default());
    lines.push(Line::from(Span::styled(
        format!("Reports ({})", item.reports.len()),
        theme.accent,
    )));
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
    lines.push(heading("History"));
    history_lines(item, &mut lines, app);
    lines
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

fn history_lines(item: &Item, lines: &mut Vec<Line>, app: &App) {
    if item.history.is_empty() {
        lines.push(Line::styled("(none)", app.theme.muted));
        return;
    }
    for h in &item.history {
        lines.extend(super::history_view::entry_lines(h, &app.theme));
    }
}

fn draw_status(frame: &mut Frame, app: &App, area: Rect) {
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

fn draw_hints(frame: &mut Frame, app: &App, area: Rect) {
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
                let allowed = selected.is_none_or(|e| super::context::allows(&e.shown, decision));
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

fn draw_help(frame: &mut Frame, app: &App, area: Rect, scroll: u16) {
    let theme = &app.theme;
    let mut rows: Vec<Line> = app
        .keymap
        .keys_by_action()
        .iter()
        .map(|(action, keys)| {
            let keys = keys.iter().map(|k| k.label()).collect::<Vec<_>>().join(" ");
            Line::from(vec![
                Span::styled(format!("{keys:>16}  "), theme.accent),
                Span::raw(action.description()),
            ])
        })
        .collect();
    rows.push(Line::default());
    rows.push(Line::styled(
        "Commands (:) — every key's action is a command too, e.g. :take_down",
        theme.accent,
    ));
    rows.extend(
        COMMANDS
            .iter()
            .map(|(_, usage)| Line::raw(format!("  :{usage}"))),
    );
    rows.push(Line::default());
    rows.push(Line::styled(
        "Filter (/) — terms all match; \"quoted words\" stay together",
        theme.accent,
    ));
    rows.extend(crate::query::KEYS.iter().map(|(key, what)| {
        Line::from(vec![
            Span::styled(format!("{key:>16}  "), theme.accent),
            Span::raw(*what),
        ])
    }));
    rows.push(Line::raw(
        "     e.g. /cat:spam lang:ru country:DE prio:>50 from:@handle",
    ));
    let close = app
        .keymap
        .first_key(&Action::Help)
        .unwrap_or_else(|| "esc".into());
    draw_popup_lines(
        frame,
        app,
        area,
        &format!(" Keys — j/k scroll, {close} or esc closes "),
        rows,
        scroll,
    );
}

/// A centred box over the screen, for text that may be long (it wraps and scrolls).
fn draw_popup(frame: &mut Frame, app: &App, area: Rect, title: &str, text: String, scroll: u16) {
    let lines = text.lines().map(|l| Line::raw(l.to_string())).collect();
    draw_popup_lines(frame, app, area, title, lines, scroll);
}

pub(super) fn draw_popup_lines(
    frame: &mut Frame,
    app: &App,
    area: Rect,
    title: &str,
    lines: Vec<Line>,
    scroll: u16,
) {
    let width = area.width.saturating_sub(4).min(90);
    let wanted = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let height = wanted
        .min(area.height.saturating_sub(2))
        .max(3.min(area.height));
    let popup = Rect {
        x: area.x + (area.width.saturating_sub(width)) / 2,
        y: area.y + (area.height.saturating_sub(height)) / 2,
        width,
        height,
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(Span::styled(title.to_string(), app.theme.accent));
    frame.render_widget(Clear, popup);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        popup,
    );
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_read_as_chrono_writes_them() {
        for at in [
            "2026-11-23T12:00:00Z",
            "2026-01-02T03:04:59Z",
            "0000-01-01T00:00:00Z",
            "0999-12-31T23:59:00Z",
            "9999-12-31T23:59:59Z",
            "+10000-01-01T00:00:00Z",
            "-0001-06-01T00:00:00Z",
        ] {
            let at: DateTime<Utc> = at.parse().unwrap();
            assert_eq!(timestamp(at), at.format("%Y-%m-%d %H:%M UTC").to_string());
        }
    }

    #[test]
    fn deciding_down_the_list_moves_it_in_half_screen_jumps() {
        // A list pane of 38 rows over 500 items: the moderator decides one item after another.
        let pane = Rect::new(0, 0, 48, 40);
        let windows: Vec<usize> = (0..120).map(|p| list_window(pane, p, 500).0).collect();
        for (position, &offset) in windows.iter().enumerate() {
            assert!(
                offset <= position && position < offset + 38,
                "{position} shown"
            );
        }
        // The window stays put for half a screen of decisions at a time.
        let jumps = windows.windows(2).filter(|w| w[0] != w[1]).count();
        assert_eq!(jumps, 120 / 19 - 1, "{windows:?}");
        assert_eq!(windows[57], 38);
        // At the end of what is loaded, the last rows stay filled.
        assert_eq!(list_window(pane, 99, 100).0, 62);
    }
}
