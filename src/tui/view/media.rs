//! The image strip at the foot of the item pane. The picture is drawn by ratatui-image from
//! what the decoder prepared (its escape sequences are made from pixels, by modq's choice of
//! protocol); the caption says what is shown and what is not. A pane too small for the
//! picture gets a one-line note instead.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui_image::Image;

use crate::media::cache::Slot;
use crate::media::decode::CELLS;
use crate::tui::action::Action;
use crate::tui::app::{App, shown_media};
use crate::tui::paint;

/// Rows of text the item pane keeps above the strip at least.
const TEXT_ROWS: u16 = 4;

/// The rows the strip takes at the foot of the pane whose inside is `inner`, if the selected
/// item has an image to show: the caption and the picture, or the caption alone when the
/// picture does not fit.
pub(super) fn strip(app: &App, inner: Rect) -> Option<Rect> {
    let item = &app
        .selected_entry()
        .filter(|_| !app.visible.is_empty())?
        .shown;
    shown_media(item)?;
    if app.media.picker.is_none() || inner.height <= TEXT_ROWS || inner.width < 8 {
        return None;
    }
    let fits = inner.width >= CELLS.width && inner.height >= TEXT_ROWS + 1 + CELLS.height;
    let rows = if fits { 1 + CELLS.height } else { 1 };
    Some(Rect {
        y: inner.bottom().saturating_sub(rows),
        height: rows,
        ..inner
    })
}

/// Draw the strip into `area` (from [`strip`]).
pub(super) fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let theme = &app.theme;
    let Some(item) = app
        .selected_entry()
        .filter(|_| !app.visible.is_empty())
        .map(|e| &e.shown)
    else {
        return;
    };
    let Some((index, media)) = shown_media(item) else {
        return;
    };
    let revealed = app.media.revealed.as_deref() == Some(item.id.as_str());
    let key = app
        .keymap
        .first_key_label(&Action::RevealMedia)
        .unwrap_or(":help");
    let slot = media.id.as_deref().and_then(|id| app.media.cache.get(id));
    let fits = area.height > CELLS.height;
    let place = format!("image {} of {}", index + 1, item.media.len());
    let caption = match slot {
        None | Some(Slot::Pending) => format!("{place} · loading…"),
        Some(Slot::Failed(why) | Slot::Retry(why)) => format!("{place} · not shown: {why}"),
        Some(Slot::Ready(_)) if !fits => {
            let zoom = app.keymap.first_key_label(&Action::Zoom).unwrap_or(":zoom");
            format!("{place} · too small here ({zoom}: whole screen)")
        }
        Some(Slot::Ready(p)) if revealed && p.revealed_grey => format!(
            "{place} · {}×{} · revealed, greyscale (graphic) · {key} blurs",
            p.width, p.height
        ),
        Some(Slot::Ready(p)) if revealed => format!(
            "{place} · {}×{} · revealed · {key} blurs",
            p.width, p.height
        ),
        Some(Slot::Ready(p)) => format!(
            "{place} · {}×{} · blurred, greyscale · {key} reveals",
            p.width, p.height
        ),
    };
    let caption_row = Rect { height: 1, ..area };
    paint::wrapped_from(
        frame.buffer_mut(),
        caption_row,
        &[Line::from(Span::styled(caption, theme.muted))],
        0,
    );
    let Some(Slot::Ready(prepared)) = slot else {
        return;
    };
    if !fits {
        return;
    }
    let picture = Rect {
        y: area.y.saturating_add(1),
        height: area.height.saturating_sub(1),
        ..area
    };
    let protocol = if revealed {
        &prepared.revealed
    } else {
        &prepared.hidden
    };
    frame.render_widget(Image::new(protocol), picture);
}
