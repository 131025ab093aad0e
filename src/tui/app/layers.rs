//! The layers over the queue (help, bulk confirmation, the prompt, piped output) and what
//! their keys do; the command line's commands; piping and copying an item.

use crossterm::event::{KeyCode, KeyEvent};

use super::{App, Details, Effect, Layer, Level};
use crate::model::DecisionAction;
use crate::query::Query;
use crate::sanitize::{clean_line, clean_text};
use crate::tui::action::Action;
use crate::tui::prompt::{Command, Edit, Prompt, PromptKind, parse_command};

/// Most of a piped command's output kept for the screen.
pub const MAX_OUTPUT_CHARS: usize = 64 * 1024;

impl App {
    /// The top layer takes the key.
    pub(super) fn layer_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(layer) = self.layers.pop() else {
            return Vec::new();
        };
        match layer {
            Layer::Help { scroll } => {
                let scroll = match key.code {
                    KeyCode::Char('j') | KeyCode::Down => scroll.saturating_add(1),
                    KeyCode::Char('k') | KeyCode::Up => scroll.saturating_sub(1),
                    KeyCode::PageDown | KeyCode::Char(' ') => scroll.saturating_add(10),
                    KeyCode::PageUp => scroll.saturating_sub(10),
                    _ => scroll,
                };
                self.layers.push(Layer::Help { scroll });
                match self.keymap.action_for(&key) {
                    Some(action @ (Action::Help | Action::Back | Action::Quit)) => {
                        self.update(action)
                    }
                    _ => Vec::new(),
                }
            }
            Layer::Confirm(plan) => match key.code {
                KeyCode::Char('y') | KeyCode::Enter => self.run_bulk(plan),
                KeyCode::Char('n') | KeyCode::Esc | KeyCode::Char('q') => {
                    self.flash(Level::Info, "Bulk action cancelled; the tags stay".into());
                    Vec::new()
                }
                _ => {
                    self.layers.push(Layer::Confirm(plan));
                    Vec::new()
                }
            },
            Layer::Output {
                title,
                text,
                scroll,
            } => {
                let scroll = match key.code {
                    KeyCode::Esc | KeyCode::Char('q') | KeyCode::Enter => return Vec::new(),
                    KeyCode::Char('j') | KeyCode::Down => scroll.saturating_add(1),
                    KeyCode::Char('k') | KeyCode::Up => scroll.saturating_sub(1),
                    KeyCode::PageDown | KeyCode::Char(' ') => scroll.saturating_add(10),
                    KeyCode::PageUp => scroll.saturating_sub(10),
                    _ => scroll,
                };
                self.layers.push(Layer::Output {
                    title,
                    text,
                    scroll,
                });
                Vec::new()
            }
            Layer::Prompt(prompt) => self.prompt_key(prompt, key),
            Layer::History {
                item_id,
                scroll,
                fresh,
            } => self.history_key(item_id, scroll, fresh, key),
            Layer::Stats { today } => self.stats_key(today, key),
            Layer::Picker(picker) => self.picker_key(picker, key),
        }
    }

    pub(super) fn open_prompt(&mut self, kind: PromptKind) -> Vec<Effect> {
        let text = match kind {
            PromptKind::Filter => {
                let t = self.filter.to_string();
                if t.is_empty() { t } else { format!("{t} ") }
            }
            PromptKind::Command | PromptKind::Pipe | PromptKind::Note => String::new(),
        };
        self.layers.push(Layer::Prompt(Prompt::new(kind, &text)));
        Vec::new()
    }

    fn prompt_key(&mut self, mut prompt: Prompt, key: KeyEvent) -> Vec<Effect> {
        match prompt.key(key) {
            Edit::Cancel => {
                if prompt.kind == PromptKind::Filter {
                    // The preview goes; the filter in force stays.
                    self.refresh_visible();
                }
                if prompt.kind == PromptKind::Note {
                    self.put_note_aside(&prompt.text);
                }
                Vec::new()
            }
            Edit::Unchanged => {
                self.layers.push(Layer::Prompt(prompt));
                Vec::new()
            }
            Edit::Changed => {
                if prompt.kind == PromptKind::Filter {
                    // Filter as you type: the items in memory narrow at once.
                    match Query::parse(&prompt.text) {
                        Ok(query) => {
                            self.show_only(&query);
                            // Completion's candidates, when it listed some, stay on the line.
                            if prompt.note.is_none() {
                                prompt.note = Some(self.preview_note(&query));
                            }
                        }
                        Err(e) => prompt.note = Some(e.to_string()),
                    }
                }
                self.layers.push(Layer::Prompt(prompt));
                Vec::new()
            }
            Edit::Submit => self.submit(prompt),
        }
    }

    fn submit(&mut self, mut prompt: Prompt) -> Vec<Effect> {
        let text = prompt.text.trim().to_string();
        let done = match prompt.kind {
            PromptKind::Filter => Query::parse(&text)
                .map(|q| self.commit_filter(q))
                .map_err(|e| e.to_string()),
            PromptKind::Command => parse_command(&text).and_then(|c| self.run_command(c)),
            PromptKind::Pipe if text.is_empty() => Err("type a command, e.g. jq .text".into()),
            PromptKind::Pipe => Ok(self.pipe(&text)),
            PromptKind::Note => self.submit_note(&text),
        };
        match done {
            Ok(effects) => effects,
            Err(why) => {
                // Stay open with the reason, so the moderator can fix the line.
                prompt.note = Some(why);
                self.layers.push(Layer::Prompt(prompt));
                Vec::new()
            }
        }
    }

    fn run_command(&mut self, command: Command) -> Result<Vec<Effect>, String> {
        let details = |note: Option<String>| Details {
            note,
            ..Details::default()
        };
        Ok(match command {
            Command::Action(action) => self.update(action),
            Command::TakeDown {
                reason,
                scope,
                note,
            } => self.decide_with(
                DecisionAction::TakeDown,
                Details {
                    reason_code: reason,
                    scope,
                    note,
                    tier: None,
                },
            ),
            Command::Keep { note } => self.decide_with(DecisionAction::Keep, details(note)),
            Command::Escalate { tier, note } => self.decide_with(
                DecisionAction::Escalate,
                Details {
                    tier: Some(tier),
                    ..details(note)
                },
            ),
            Command::Filter(text) => {
                let query = Query::parse(&text).map_err(|e| e.to_string())?;
                self.commit_filter(query)
            }
            Command::Sort(sort) => self.set_sort(sort),
            Command::Lane(lane) => self.show_lane(lane),
            Command::Tag(text) => {
                let query = Query::parse(&text).map_err(|e| e.to_string())?;
                self.tag_matching(Some(query))
            }
            Command::Untag => self.untag_all(),
            Command::Note(text) => {
                self.notes.target = self.selected_entry().map(|e| e.id.clone());
                return self.submit_note(&text);
            }
            Command::Queue(state) => self.switch_queue(state),
            Command::Pipe(cmd) => self.pipe(&cmd),
            Command::Profile => {
                let text = format!(
                    "Profile {} · API {} · filter {} · sort {}",
                    self.profile,
                    self.api,
                    if self.filter.is_empty() {
                        "none".to_string()
                    } else {
                        self.filter.to_string()
                    },
                    self.sort.as_str()
                );
                self.flash(Level::Info, text);
                Vec::new()
            }
            Command::Help => self.update(Action::Help),
        })
    }

    /// Pipe the selected item, as JSON, to `command`. The JSON is the item as shown (every
    /// string sanitized), so a hostile post cannot reach the command's terminal either.
    fn pipe(&mut self, command: &str) -> Vec<Effect> {
        let Some(entry) = self.selected_entry() else {
            self.flash(Level::Info, "No item to pipe".into());
            return Vec::new();
        };
        match serde_json::to_string_pretty(&entry.shown) {
            Ok(input) => {
                self.flash(Level::Info, format!("Running {}…", clean_line(command)));
                vec![Effect::Pipe {
                    command: command.to_string(),
                    input,
                }]
            }
            Err(e) => {
                self.flash(Level::Error, format!("Cannot write the item as JSON: {e}"));
                Vec::new()
            }
        }
    }

    pub(super) fn show_output(&mut self, command: &str, output: &str) -> Vec<Effect> {
        let mut text: String = output.chars().take(MAX_OUTPUT_CHARS).collect();
        if output.chars().nth(MAX_OUTPUT_CHARS).is_some() {
            text.push_str("\n⟪… output cut⟫");
        }
        self.flash = None;
        self.layers.push(Layer::Output {
            title: format!("| {}", clean_line(command)),
            text: clean_text(&text),
            scroll: 0,
        });
        Vec::new()
    }

    /// Copy the item's id, or its first link (else its API address), with OSC 52.
    pub(super) fn yank(&mut self, link: bool) -> Vec<Effect> {
        let Some(entry) = self.selected_entry() else {
            return Vec::new();
        };
        let (what, text) = if link {
            match crate::query::links(entry.shown.text.as_deref().unwrap_or("")).first() {
                Some(l) => ("link", l.clone()),
                None => (
                    "API address",
                    format!("{}/v1/items/{}", self.api.trim_end_matches('/'), entry.id),
                ),
            }
        } else {
            ("id", entry.id.clone())
        };
        self.flash(
            Level::Info,
            format!("Copied the {what} {} to the clipboard", clean_line(&text)),
        );
        vec![Effect::Clipboard(text)]
    }
}
