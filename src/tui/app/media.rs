//! Images on the selected item: asked for when the item is shown (after the frame that shows
//! it, never in the way of a key), blurred and greyscale until the moderator reveals them
//! (`v`), for that item only: moving on hides them again. Media that must never be looked at
//! (child sexual abuse material) are never asked for. Everything stays in memory.

use ratatui_image::picker::{Picker, ProtocolType};

use super::{App, Effect, Level};
use crate::media::cache::{MediaCache, Slot};
use crate::media::policy;
use crate::model::{Item, Media};
use crate::tui::media_fetch::{MediaAnswer, MediaJob};

/// The session's images and how they are drawn.
#[derive(Debug)]
pub struct MediaView {
    pub cache: MediaCache,
    /// The item whose image the moderator revealed; any other item's is blurred.
    pub revealed: Option<String>,
    /// The terminal's image protocol; `None`: images are not drawn at all (`protocol = "off"`).
    pub picker: Option<Picker>,
    /// The item selected after the last update, and whether it had an image to draw.
    last: Option<(String, bool)>,
    /// The item selected when images were last asked for (once a turn).
    asked_on: Option<String>,
}

impl Default for MediaView {
    fn default() -> MediaView {
        MediaView {
            cache: MediaCache::default(),
            revealed: None,
            // Half-blocks work on every terminal and over any SSH link.
            picker: Some(Picker::halfblocks()),
            last: None,
            asked_on: None,
        }
    }
}

/// The first of `item`'s media that may be looked at and whose bytes the server keeps, with
/// its place among the item's media.
pub fn shown_media(item: &Item) -> Option<(usize, &Media)> {
    item.media
        .iter()
        .enumerate()
        .find(|(_, m)| m.id.is_some() && policy::never_shown(item, m).is_none())
}

/// Whether `item`'s images stay greyscale when revealed: a graphic category, built in or
/// the `[wellbeing] graphic` list.
pub fn stays_grey(app: &App, item: &Item) -> bool {
    policy::always_grey(item) || app.wellbeing.settings.graphic_category(item).is_some()
}

impl App {
    /// After every update: a revealed image is hidden once its item is no longer selected,
    /// and a sixel or iTerm2 picture left behind is cleared.
    pub(super) fn media_after_update(&mut self) {
        self.clear_inline_pictures();
        let selected_id = self
            .selected_entry()
            .filter(|_| !self.visible.is_empty())
            .map(|e| e.shown.id.as_str());
        if self.media.revealed.is_some() && self.media.revealed.as_deref() != selected_id {
            self.media.revealed = None;
        }
    }

    /// Once a turn of the loop, after its inputs: the image of the item the frame will show,
    /// asked for once. Items a burst of keys passed over are never asked for.
    #[must_use = "effects are work the event loop must carry out"]
    pub fn want_media(&mut self) -> Vec<Effect> {
        let selected_id = self
            .selected_entry()
            .filter(|_| !self.visible.is_empty())
            .map(|e| e.shown.id.clone());
        let arrived = selected_id != self.media.asked_on;
        self.media.asked_on = selected_id;
        let selected = self
            .selected_entry()
            .filter(|_| !self.visible.is_empty())
            .map(|e| &e.shown);
        let Some(picker) = self.media.picker.clone() else {
            return Vec::new();
        };
        let Some(item) = selected else {
            return Vec::new();
        };
        let Some((_, media)) = shown_media(item) else {
            return Vec::new();
        };
        let Some(media_id) = media.id.clone() else {
            return Vec::new();
        };
        match self.media.cache.get(&media_id) {
            // What failed for now is asked again when its item is shown again.
            Some(Slot::Retry(_)) if arrived => {}
            Some(_) => return Vec::new(),
            None => {}
        }
        let job = MediaJob {
            item_id: item.id.clone(),
            media_id: media_id.clone(),
            picker,
            graphic: stays_grey(self, item),
        };
        self.media.cache.set(&media_id, Slot::Pending);
        vec![Effect::FetchMedia(job)]
    }

    /// Sixel and iTerm2 pictures are pixels laid over the cells, not cells: when the item
    /// changes, cells ratatui finds unchanged (blank under blank) would leave the last
    /// picture on screen. Leaving an item that had one clears the screen before the next frame.
    fn clear_inline_pictures(&mut self) {
        let now = self
            .selected_entry()
            .filter(|_| !self.visible.is_empty())
            .map(|e| (e.shown.id.clone(), shown_media(&e.shown).is_some()));
        let inline = self.media.picker.as_ref().is_some_and(|p| {
            matches!(
                p.protocol_type(),
                ProtocolType::Sixel | ProtocolType::Iterm2
            )
        });
        let left_a_picture = match (&self.media.last, &now) {
            (Some((was, true)), Some((is, _))) => was != is,
            (Some((_, true)), None) => true,
            _ => false,
        };
        if inline && left_a_picture {
            self.redraw = true;
        }
        self.media.last = now;
    }

    /// An image arrived, or why not.
    pub(super) fn media_ready(&mut self, media_id: &str, answer: MediaAnswer) {
        match answer.0 {
            Ok(prepared) => self.media.cache.set(media_id, Slot::Ready(prepared)),
            Err(no) => {
                let why = crate::sanitize::clean_line(&no.why);
                let slot = if no.retry {
                    Slot::Retry(why)
                } else {
                    Slot::Failed(why)
                };
                self.media.cache.set(media_id, slot);
            }
        }
    }

    /// `v`: reveal the selected item's image, or blur it again.
    pub(super) fn toggle_reveal(&mut self) -> Vec<Effect> {
        let Some(item) = self
            .selected_entry()
            .filter(|_| !self.visible.is_empty())
            .map(|e| &e.shown)
        else {
            return Vec::new();
        };
        if shown_media(item).is_none() {
            let never = item
                .media
                .iter()
                .any(|m| policy::never_shown(item, m).is_some());
            let why = if never {
                "This item's media are never shown: only their hash match"
            } else {
                "This item has no image to reveal"
            };
            self.flash(Level::Info, why.into());
            return Vec::new();
        }
        if self.media.revealed.as_deref() == Some(item.id.as_str()) {
            self.media.revealed = None;
        } else {
            self.media.revealed = Some(item.id.clone());
        }
        Vec::new()
    }
}
