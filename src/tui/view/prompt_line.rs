//! The `/`, `:` and `|` prompt in the bottom row.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::app::App;
use crate::tui::prompt::Prompt;

/// The prompt in the bottom row; above it, why Enter was refused or what Tab found.
pub(super) fn draw_prompt(
    frame: &mut Frame,
    app: &App,
    prompt: &Prompt,
    note_area: Rect,
    area: Rect,
) {
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
        None => Line::styled(
            app.keymap
                .layers
                .prompt_hint(prompt.kind == crate::tui::prompt::PromptKind::Note),
            theme.muted,
        ),
    };
    frame.render_widget(Paragraph::new(note), note_area);
}
