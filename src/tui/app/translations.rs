//! Translations (`L`): the configured command's output for an item, shown under the original
//! text and hidden again with the same key. Kept for the session in memory only: a
//! translation is item content, and item content is never written to disk.

use std::collections::{HashMap, HashSet};

use super::{App, Effect, Level};
use crate::sanitize::{clean_line, clean_text};
use crate::tui::action::Action;
use crate::tui::translate::TranslateCommand;

/// Where an item's translation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Translation {
    /// The command is running.
    Pending,
    /// What it printed, sanitized like any item text.
    Done(String),
    /// Why there is none (the next `L` tries again).
    Failed(String),
}

/// The session's translations, by item id.
#[derive(Debug, Clone, Default)]
pub struct Translations {
    /// The config's command; `None` when none is set.
    pub command: Option<TranslateCommand>,
    cache: HashMap<String, Translation>,
    /// Items whose translation is shown under their text.
    shown: HashSet<String>,
}

impl Translations {
    /// The translation shown for this item, if the moderator asked for it.
    pub fn shown(&self, item_id: &str) -> Option<&Translation> {
        self.shown
            .contains(item_id)
            .then(|| self.cache.get(item_id))
            .flatten()
    }
}

impl App {
    /// `L`: show the item's translation under its text (running the command the first time),
    /// or hide it again; the original stays on screen either way.
    pub(super) fn toggle_translation(&mut self) -> Vec<Effect> {
        let Some(command) = self.translations.command.clone() else {
            self.flash(
                Level::Info,
                "No translation command: set [translate] command = [\"PROGRAM\", \"ARG\"…] in \
                 config.toml"
                    .into(),
            );
            return Vec::new();
        };
        let Some(entry) = self.selected_entry().filter(|_| !self.visible.is_empty()) else {
            return Vec::new();
        };
        let id = entry.id.clone();
        let Some(text) = entry.shown.text.clone().filter(|t| !t.trim().is_empty()) else {
            self.flash(Level::Info, "This item has no text to translate".into());
            return Vec::new();
        };
        let key = self.key_for(&Action::Translate);
        if self.translations.shown.remove(&id) {
            self.flash(
                Level::Info,
                format!("Original only; {key} shows the translation again"),
            );
            return Vec::new();
        }
        self.translations.shown.insert(id.clone());
        match self.translations.cache.get(&id) {
            Some(Translation::Done(_) | Translation::Pending) => Vec::new(),
            Some(Translation::Failed(_)) | None => {
                self.translations
                    .cache
                    .insert(id.clone(), Translation::Pending);
                self.flash(
                    Level::Info,
                    format!(
                        "Translating with {}… (keep working; {key} hides it)",
                        clean_line(&command.program)
                    ),
                );
                // What the moderator reads, already sanitized, goes to the command.
                vec![Effect::Translate {
                    item_id: id,
                    command,
                    text,
                }]
            }
        }
    }

    /// The command finished for `item_id`.
    pub(super) fn translated(&mut self, item_id: String, result: Result<String, String>) {
        let on_screen = self.selected_entry().is_some_and(|e| e.id == item_id);
        let translation = match result {
            Ok(text) => {
                if on_screen {
                    self.flash = None;
                }
                Translation::Done(clean_text(&text))
            }
            Err(why) => {
                let why = clean_line(&why);
                if on_screen || self.translations.shown.contains(&item_id) {
                    let key = self.key_for(&Action::Translate);
                    self.flash(
                        Level::Warning,
                        format!(
                            "No translation of {}: {why}. The original is shown; {key} tries again",
                            clean_line(&item_id)
                        ),
                    );
                }
                Translation::Failed(why)
            }
        };
        self.translations.cache.insert(item_id, translation);
    }
}
