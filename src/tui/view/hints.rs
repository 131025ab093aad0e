//! The bottom row: the keys that act here, a flash message, or a key sequence being typed.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

use crate::model::DecisionAction;
use crate::tui::action::Action;
use crate::tui::app::{App, Layer, Level};
use crate::tui::keymap::Sequence;
use crate::tui::paint;
use crate::tui::picker::Step;

pub(super) fn draw_hints(frame: &mut Frame, app: &App, area: Rect) {
    let theme = &app.theme;
    // Under an overlay its own keys come first; only a warning or an error from before
    // it opened still shows over them.
    let overlay = app.layers.last();
    let line = match &app.flash {
        _ if !app.pending_keys.is_empty() => pending_line(app),
        _ if overlay.is_none() && app.count.is_some() => count_line(app),
        Some(flash) if overlay.is_none() || flash.level != Level::Info => {
            let style = match flash.level {
                Level::Info => Style::new(),
                Level::Warning => theme.warning,
                Level::Error => theme.error,
            };
            Line::styled(flash.text.as_str(), style)
        }
        _ => match overlay {
            Some(layer) => layer_line(app, layer),
            None if app.tag_prefix => prefix_line(app),
            None if app.target_count() > 0 || app.visual.is_some() => tagged_line(app, area),
            None => queue_line(app, area),
        },
    };
    paint::line(frame.buffer_mut(), area, &line);
}

/// On the queue: the decisions (a decision the role cannot make here is marked, so nobody
/// presses it in vain), the pickers, undo, moving, help.
fn queue_line(app: &App, area: Rect) -> Line<'_> {
    let theme = &app.theme;
    let selected = app.selected_entry().filter(|_| !app.visible.is_empty());
    let mut spans = Vec::with_capacity(24);
    // An appeal is decided with its own two keys, and only with them.
    let on_appeal = selected.is_some_and(|e| e.shown.appeal.is_some());
    let appeal_keys = [
        (
            Action::Uphold,
            DecisionAction::Uphold,
            " uphold  ",
            Action::Uphold,
            "",
        ),
        (
            Action::Overturn,
            DecisionAction::Overturn,
            " overturn  ",
            Action::Overturn,
            "",
        ),
    ];
    let decision_keys = [
        (
            Action::TakeDown,
            DecisionAction::TakeDown,
            " take down  ",
            Action::TakeDownWith,
            " …with reason  ",
        ),
        (
            Action::Keep,
            DecisionAction::Keep,
            " keep  ",
            Action::Keep,
            "",
        ),
        (
            Action::Escalate,
            DecisionAction::Escalate,
            " escalate  ",
            Action::EscalateTo,
            " …to tier  ",
        ),
    ];
    let keys: &[_] = if on_appeal {
        &appeal_keys
    } else {
        &decision_keys
    };
    for &(ref action, decision, text, ref picker, picked) in keys {
        let (action, picker) = (action.clone(), picker.clone());
        // A decision the backend cannot make is not offered at all (`?` says why).
        if offered(app, &action).is_none() {
            continue;
        }
        let allowed = selected.is_none_or(|e| crate::tui::context::allows(&e.shown, decision));
        match (allowed, app.keymap.first_key_label(&action)) {
            (true, _) => {
                push_hint(&mut spans, app, action, text);
                if !picked.is_empty() {
                    push_hint(&mut spans, app, picker, picked);
                }
            }
            (false, Some(key)) => {
                spans.push(Span::styled(format!("✗{key}{text}"), theme.muted));
            }
            (false, None) => {}
        }
    }
    push_hint(&mut spans, app, Action::Undo, " undo  ");
    push_hint(&mut spans, app, Action::Help, " help  ");
    // On a small screen the item needs the whole body to show.
    if area.width < 100 && !app.zoomed {
        push_hint(&mut spans, app, Action::Zoom, " item full screen  ");
    }
    push_hint(&mut spans, app, Action::Tag, " tag  ");
    push_hint(&mut spans, app, Action::MoveDown, " next  ");
    push_hint(&mut spans, app, Action::Quit, " quit  ");
    whole_hints(spans, area.width)
}

/// The hints that fit `width` whole: one that would be cut is left out, with those after it
/// (they come in order of need).
fn whole_hints(mut spans: Vec<Span<'_>>, width: u16) -> Line<'_> {
    let mut used = 0usize;
    let mut keep = 0usize;
    for (i, span) in spans.iter().enumerate() {
        used += span.width();
        if used > usize::from(width) {
            break;
        }
        if span.content.ends_with("  ") {
            keep = i + 1;
        }
    }
    if used > usize::from(width) {
        spans.truncate(keep);
    }
    Line::from(spans)
}

/// Items are tagged: what acts on all of them.
fn tagged_line(app: &App, area: Rect) -> Line<'_> {
    let mut spans = Vec::with_capacity(16);
    let decide = decision_keys(app);
    if let Some(key) = app.keymap.first_key_label(&Action::TagPrefix) {
        spans.push(Span::styled(format!("{key} {decide}"), app.theme.accent));
        spans.push(Span::raw(format!(
            " decide the {} tagged  ",
            crate::tui::app::bulk_count(app.target_count())
        )));
    }
    push_hint(&mut spans, app, Action::Tag, " tag  ");
    push_hint(&mut spans, app, Action::Similar, " tag similar  ");
    push_hint(&mut spans, app, Action::Visual, " range  ");
    push_hint(&mut spans, app, Action::UntagAll, " untag all  ");
    push_hint(&mut spans, app, Action::Undo, " undo  ");
    push_hint(&mut spans, app, Action::Help, " help  ");
    whole_hints(spans, area.width)
}

/// After the tag prefix: the next decision key acts on every tagged item.
fn prefix_line(app: &App) -> Line<'_> {
    let mut spans = vec![Span::styled(
        format!(
            "every one of the {} tagged:  ",
            crate::tui::app::bulk_count(app.target_count())
        ),
        app.theme.accent,
    )];
    push_hint(&mut spans, app, Action::TakeDown, " take down  ");
    push_hint(&mut spans, app, Action::Keep, " keep  ");
    push_hint(&mut spans, app, Action::Escalate, " escalate  ");
    spans.push(Span::styled("esc cancels", app.theme.muted));
    Line::from(spans)
}

/// `t/a/e`, from the keys in force.
fn decision_keys(app: &App) -> String {
    [Action::TakeDown, Action::Keep, Action::Escalate]
        .iter()
        .filter_map(|a| offered(app, a))
        .collect::<Vec<_>>()
        .join("/")
}

/// The keys of the overlay on top.
fn layer_line<'a>(app: &'a App, layer: &Layer) -> Line<'a> {
    let keys: &[(&str, &str)] = match layer {
        Layer::Picker { picker, .. } => match picker.step {
            Step::Note => &[("enter", "decides"), ("esc", "cancels")],
            Step::Scope => &[
                ("type", "a country's name or code"),
                ("space", "adds/removes"),
                ("↑/↓", "choose"),
                ("enter", "goes on"),
                ("esc", "cancels"),
            ],
            Step::Account => &[
                ("↑/↓", "choose"),
                ("enter", "picks"),
                ("tab", "keeps the proposal"),
                ("esc", "cancels"),
            ],
            Step::Reason | Step::Tier => &[
                ("type", "to search"),
                ("↑/↓", "choose"),
                ("enter", "picks"),
                ("tab", "keeps"),
                ("esc", "cancels"),
            ],
        },
        Layer::Confirm(_) => &[("y", "confirms"), ("n", "cancels")],
        Layer::Help { .. } | Layer::History { .. } | Layer::Output { .. } => {
            &[("j/k", "scroll"), ("g/G", "top/end"), ("esc", "closes")]
        }
        Layer::Stats { .. } => &[
            ("tab", "switches"),
            ("r", "reloads today"),
            ("esc", "closes"),
        ],
        Layer::Prompt(_) => &[],
    };
    let mut spans = Vec::with_capacity(keys.len() * 2);
    for (key, what) in keys {
        spans.push(Span::styled(*key, app.theme.accent));
        spans.push(Span::raw(format!(" {what}  ")));
    }
    Line::from(spans)
}

/// The first key of `action`, when it has one and the backend honours it.
fn offered<'a>(app: &'a App, action: &Action) -> Option<&'a str> {
    if crate::tui::capable::why_not(&app.capabilities, action).is_some() {
        return None;
    }
    app.keymap.first_key_label(action)
}

/// The hint for `action`: its first key, then `text` (which carries the spaces around it);
/// nothing for an action the backend cannot do.
fn push_hint<'a>(spans: &mut Vec<Span<'a>>, app: &'a App, action: Action, text: &'static str) {
    if let Some(key) = offered(app, &action) {
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

/// While a count is being typed: what it will do with each kind of key.
fn count_line(app: &App) -> Line<'static> {
    let theme = &app.theme;
    let Some(count) = &app.count else {
        return Line::default();
    };
    let n = count.typed.clone();
    let key = |a: Action| app.keymap.first_key(&a).unwrap_or_default();
    let mut spans = vec![
        Span::styled(format!("{n} …  "), theme.accent),
        Span::styled(
            format!("{}/{}", key(Action::MoveDown), key(Action::MoveUp)),
            theme.accent,
        ),
        Span::raw(format!(" move {n}  ")),
        Span::styled(key(Action::Last), theme.accent),
        Span::raw(format!(" item {n}  ")),
        Span::styled(key(Action::Tag), theme.accent),
        Span::raw(format!(" tags {n}  ")),
        Span::styled("decisions: never counted  ", theme.muted),
    ];
    let digit = count
        .typed
        .chars()
        .next()
        .filter(|_| count.typed.chars().count() == 1);
    if let Some(own) = digit.and_then(|c| {
        app.keymap.action_for(&crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Char(c),
            crossterm::event::KeyModifiers::NONE,
        ))
    }) {
        spans.push(Span::styled("enter", theme.accent));
        spans.push(Span::raw(format!(" {}  ", own.description())));
    }
    spans.push(Span::styled("esc cancels", theme.muted));
    Line::from(spans)
}
