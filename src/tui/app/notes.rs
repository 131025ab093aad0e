//! Notes on an item (`n`) and its history view (`h`). A note is sent in the background; until
//! the server has it, its text is kept as the item's draft, so a failure never loses it.

use std::collections::HashMap;

use crossterm::event::KeyEvent;

use super::{App, Effect, Entry, Layer, Level, sanitize_history, sanitize_item};
use crate::model::{HistoryEntry, Item};
use crate::sanitize::clean_line;
use crate::tui::prompt::{Prompt, PromptKind};

/// The server refuses longer notes.
pub const MAX_NOTE_CHARS: usize = 2000;

/// Whether what a view shows came from the server just now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    /// Asked; meanwhile the view shows what is in memory.
    Loading,
    Fresh,
    /// The server could not be asked (why, sanitized); what is in memory stays shown.
    Failed(String),
}

#[derive(Debug, Clone, Default)]
pub struct Notes {
    /// The item the open note prompt writes on.
    pub(in crate::tui::app) target: Option<String>,
    /// Per item, text typed and not yet saved by the server (sending, failed or put aside).
    drafts: HashMap<String, String>,
}

impl Notes {
    pub fn draft(&self, item_id: &str) -> Option<&str> {
        self.drafts.get(item_id).map(String::as_str)
    }
}

impl App {
    /// The entry with this id, if it is in memory.
    pub fn entry_by_id(&self, id: &str) -> Option<&Entry> {
        self.index.get(id).and_then(|&i| self.entries.get(i))
    }

    /// Open the note prompt on the selected item, with its unsaved draft if it has one.
    pub(super) fn open_note(&mut self) -> Vec<Effect> {
        let Some(id) = self
            .selected_entry()
            .filter(|_| !self.visible.is_empty())
            .map(|e| e.id.clone())
        else {
            self.flash(Level::Info, "No item to write a note on".into());
            return Vec::new();
        };
        let text = self.notes.draft(&id).unwrap_or_default().to_string();
        self.layers
            .push(Layer::Prompt(Prompt::new(PromptKind::Note, &text)));
        self.notes.target = Some(id);
        Vec::new()
    }

    /// Enter on the note prompt: send it; the text stays as the draft until the server has it.
    pub(super) fn submit_note(&mut self, text: &str) -> Result<Vec<Effect>, String> {
        if let Some(why) = self.capabilities.notes.why_not() {
            return Err(why.to_string());
        }
        if text.is_empty() {
            let cancel = self.keymap.layers.prompt.hint(
                &[(crate::tui::layer_keys::PromptKey::Cancel, "cancels")],
                "",
            );
            return Err(format!("type the note; {cancel}"));
        }
        if text.chars().count() > MAX_NOTE_CHARS {
            return Err(format!("a note holds at most {MAX_NOTE_CHARS} characters"));
        }
        let Some(item_id) = self.notes.target.clone() else {
            return Err("no item to write the note on".into());
        };
        self.notes.drafts.insert(item_id.clone(), text.to_string());
        self.flash(Level::Info, format!("Saving the note on {item_id}…"));
        Ok(vec![Effect::AddNote {
            item_id,
            note: text.to_string(),
        }])
    }

    /// Esc on the note prompt: what was typed is put aside, and `n` brings it back.
    pub(super) fn put_note_aside(&mut self, text: &str) {
        let Some(item_id) = self.notes.target.take() else {
            return;
        };
        if text.trim().is_empty() {
            self.notes.drafts.remove(&item_id);
        } else {
            self.notes.drafts.insert(item_id, text.to_string());
            let key = self.key_for(&crate::tui::action::Action::Note);
            self.flash(
                Level::Info,
                format!("Note not sent; {key} on the item brings it back"),
            );
        }
    }

    pub(super) fn note_added(&mut self, item_id: &str, entry: HistoryEntry) -> Vec<Effect> {
        if self.notes.draft(item_id) == entry.note.as_deref() {
            self.notes.drafts.remove(item_id);
        }
        if let Some(&i) = self.index.get(item_id)
            && let Some(e) = self.entries.get_mut(i)
        {
            let shown = sanitize_history(entry);
            if !e.shown.history.contains(&shown) {
                e.shown.history.push(shown);
            }
        }
        self.flash(Level::Info, format!("Note saved on {item_id}"));
        Vec::new()
    }

    /// The note did not reach the server: say so, and give its text back in the prompt when
    /// nothing else is open on that item; otherwise it waits as the item's draft.
    pub(super) fn note_failed(
        &mut self,
        item_id: String,
        note: String,
        error: &str,
    ) -> Vec<Effect> {
        let why = clean_line(error);
        let key = self.key_for(&crate::tui::action::Action::Note);
        self.flash(
            Level::Error,
            format!("Note NOT saved on {item_id}: {why} — your text is kept, {key} retries"),
        );
        let reopen = self.layers.is_empty()
            && self.selected_entry().is_some_and(|e| e.id == item_id)
            && self.notes.draft(&item_id) == Some(note.as_str());
        self.notes.drafts.insert(item_id.clone(), note.clone());
        if reopen {
            let mut prompt = Prompt::new(PromptKind::Note, &note);
            let retry = self.keymap.layers.prompt.hint(
                &[(crate::tui::layer_keys::PromptKey::Submit, "retries")],
                "",
            );
            prompt.note = Some(format!("not saved: {why} — {retry}"));
            self.layers.push(Layer::Prompt(prompt));
            self.notes.target = Some(item_id);
        }
        Vec::new()
    }

    /// Open the history of the selected item: what is in memory now, the server's soon.
    pub(super) fn open_history(&mut self) -> Vec<Effect> {
        let Some(item_id) = self
            .selected_entry()
            .filter(|_| !self.visible.is_empty())
            .map(|e| e.id.clone())
        else {
            self.flash(Level::Info, "No item to show the history of".into());
            return Vec::new();
        };
        self.layers.push(Layer::History {
            item_id: item_id.clone(),
            scroll: 0,
            fresh: Freshness::Loading,
        });
        vec![Effect::FetchItem(item_id)]
    }

    /// The server's history replaces the one in memory (it has what others did meanwhile).
    pub(super) fn item_fetched(&mut self, item: Item) -> Vec<Effect> {
        let id = item.id.clone();
        if let Some(&i) = self.index.get(&id)
            && let Some(e) = self.entries.get_mut(i)
        {
            e.shown.history = sanitize_item(item).history;
        }
        self.set_history_freshness(&id, Freshness::Fresh);
        Vec::new()
    }

    pub(super) fn item_fetch_failed(&mut self, item_id: &str, error: &str) -> Vec<Effect> {
        self.set_history_freshness(item_id, Freshness::Failed(clean_line(error)));
        Vec::new()
    }

    fn set_history_freshness(&mut self, id: &str, to: Freshness) {
        for layer in &mut self.layers {
            if let Layer::History { item_id, fresh, .. } = layer
                && item_id == id
            {
                *fresh = to.clone();
            }
        }
    }

    /// Keys on the history view: scroll, or close.
    pub(super) fn history_key(
        &mut self,
        item_id: String,
        scroll: u16,
        fresh: Freshness,
        key: KeyEvent,
    ) -> Vec<Effect> {
        if let Some(scroll) = self.view_scroll(scroll, &key, &crate::tui::action::Action::History) {
            self.layers.push(Layer::History {
                item_id,
                scroll,
                fresh,
            });
        }
        Vec::new()
    }

    /// The first key bound to `action`, for messages.
    pub(super) fn key_for(&self, action: &crate::tui::action::Action) -> String {
        self.keymap
            .first_key(action)
            .unwrap_or_else(|| format!(":{}", action.name()))
    }
}
