//! The layers over the queue (help, bulk confirmation, the prompt, piped output) and what
//! their keys do; the command line's commands; piping and copying an item.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Details, Effect, Layer, Level, UserInput};
use crate::model::DecisionAction;
use crate::query::Query;
use crate::sanitize::{clean_line, clean_text};
use crate::tui::action::{Action, Message};
use crate::tui::layer_keys::{ConfirmKey, ViewKey};
use crate::tui::mouse::Pointer;
use crate::tui::prompt::{Command, Edit, Prompt, PromptKind, check_reason, parse_command};

/// Most of a piped command's output kept for the screen.
pub const MAX_OUTPUT_CHARS: usize = 64 * 1024;

/// Lines the wheel scrolls a view by.
const WHEEL_LINES: u16 = 3;

impl App {
    /// Every input from the moderator — keys, the mouse, a paste — goes to the top of the
    /// layer stack, as in helix's compositor, and to the queue only when no layer is open.
    /// Every layer is modal: it consumes what it does not use, so nothing reaches the queue
    /// under it (a wheel over a picker never moves the selection the picker decides on).
    #[must_use = "effects are work the event loop must carry out"]
    pub fn handle_input(&mut self, input: UserInput) -> Vec<Effect> {
        let effects = self.layer_input(input);
        // Whatever layer took it, the selection may have moved: a revealed image is hidden.
        self.media_after_update();
        effects
    }

    fn layer_input(&mut self, input: UserInput) -> Vec<Effect> {
        // Someone is at the keyboard: their time on graphic items counts (`wellbeing`).
        self.wellbeing.input(self.now);
        if self.layers.is_empty() {
            return self.queue_input(input);
        }
        self.pending_keys.clear();
        match input {
            // Whatever is on top, the screen can be drawn again.
            UserInput::Key(key) if self.keymap.action_for(&key) == Some(Action::Redraw) => {
                self.redraw = true;
                Vec::new()
            }
            UserInput::Key(key) => self.layer_key(key),
            UserInput::Pointer(pointer) => {
                self.layer_pointer(pointer);
                Vec::new()
            }
            UserInput::Paste(text) => self.layer_paste(&text),
        }
    }

    /// No layer is open: the queue takes the input.
    fn queue_input(&mut self, input: UserInput) -> Vec<Effect> {
        match input {
            UserInput::Key(key) => self.queue_key(key),
            UserInput::Pointer(Pointer::WheelDown) => self.update(Action::MoveDown),
            UserInput::Pointer(Pointer::WheelUp) => self.update(Action::MoveUp),
            UserInput::Pointer(Pointer::Click(Some(i))) => self.update(Message::Select(i)),
            // A click beside the list, or text pasted with nothing to type into.
            UserInput::Pointer(Pointer::Click(None)) | UserInput::Paste(_) => Vec::new(),
        }
    }

    /// The wheel scrolls a view or moves a picker's highlight; clicks do nothing in a layer.
    fn layer_pointer(&mut self, pointer: Pointer) {
        let (down, up) = (
            KeyEvent::new(KeyCode::Down, KeyModifiers::NONE),
            KeyEvent::new(KeyCode::Up, KeyModifiers::NONE),
        );
        let wheel = |scroll: &mut u16| match pointer {
            Pointer::WheelDown => *scroll = scroll.saturating_add(WHEEL_LINES),
            Pointer::WheelUp => *scroll = scroll.saturating_sub(WHEEL_LINES),
            Pointer::Click(_) => {}
        };
        match self.layers.last_mut() {
            Some(
                Layer::Help { scroll }
                | Layer::Output { scroll, .. }
                | Layer::History { scroll, .. },
            ) => wheel(scroll),
            Some(Layer::Picker { picker, .. }) => {
                // The picker's own outcome for a move is always to stay open.
                let _ = match pointer {
                    Pointer::WheelDown => picker.key(down),
                    Pointer::WheelUp => picker.key(up),
                    Pointer::Click(_) => return,
                };
            }
            Some(Layer::Confirm(_) | Layer::Prompt(_) | Layer::Stats { .. }) | None => {}
        }
    }

    /// Pasted text goes where text is typed: the prompt's line, the picker's search or note.
    /// It may come from anywhere (a hostile post copied): one line, hostile characters made
    /// visible, as typed text would never hold them.
    fn layer_paste(&mut self, text: &str) -> Vec<Effect> {
        let one_line: String = text
            .chars()
            .map(|c| {
                if c == '\n' || c == '\r' || c == '\t' {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        let clean = clean_line(one_line.trim());
        let typed = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        match self.layers.pop() {
            Some(Layer::Prompt(mut prompt)) => {
                let mut changed = false;
                for c in clean.chars() {
                    changed |= prompt.key(typed(c)) == Edit::Changed;
                }
                self.prompt_edited(prompt, changed)
            }
            Some(Layer::Picker {
                item_id,
                mut picker,
            }) => {
                for c in clean.chars() {
                    let _ = picker.key(typed(c));
                }
                self.layers.push(Layer::Picker { item_id, picker });
                Vec::new()
            }
            Some(other) => {
                self.layers.push(other);
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    /// The top layer takes the key, through its own keymap.
    fn layer_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(layer) = self.layers.pop() else {
            return Vec::new();
        };
        match layer {
            Layer::Help { scroll } => {
                if let Some(scroll) = self.view_scroll(scroll, &key, &Action::Help) {
                    self.layers.push(Layer::Help { scroll });
                }
                Vec::new()
            }
            Layer::Confirm(plan) => match self.keymap.layers.confirm.action(&key) {
                Some(ConfirmKey::Confirm) => self.run_bulk(plan),
                Some(ConfirmKey::Cancel) => {
                    self.flash(Level::Info, "Bulk action cancelled; the tags stay".into());
                    Vec::new()
                }
                None => {
                    self.layers.push(Layer::Confirm(plan));
                    Vec::new()
                }
            },
            Layer::Output {
                title,
                text,
                scroll,
            } => {
                if let Some(scroll) = self.view_scroll(scroll, &key, &Action::Pipe) {
                    self.layers.push(Layer::Output {
                        title,
                        text,
                        scroll,
                    });
                }
                Vec::new()
            }
            Layer::Prompt(prompt) => match self.keymap.layers.prompt_key(key) {
                Some(key) => self.prompt_key(prompt, key),
                None => self.prompt_edited(prompt, false),
            },
            Layer::History {
                item_id,
                scroll,
                fresh,
            } => self.history_key(item_id, scroll, fresh, key),
            Layer::Stats { today } => self.stats_key(today, key),
            Layer::Picker { item_id, picker } => match self.keymap.layers.picker_key(key) {
                Some(key) => self.picker_key(item_id, picker, key),
                None => {
                    self.layers.push(Layer::Picker { item_id, picker });
                    Vec::new()
                }
            },
        }
    }

    /// A key on a view that scrolls: the new scroll, or `None` when the key closes the view
    /// (its close key, or the key that opened it). A line, ten, the top or the end, and never
    /// past the last line of the frame on screen.
    pub(super) fn view_scroll(&self, scroll: u16, key: &KeyEvent, opener: &Action) -> Option<u16> {
        if self.keymap.action_for(key).as_ref() == Some(opener) {
            return None;
        }
        let limit = self.scroll_limits.map_or(u16::MAX, |l| l.overlay);
        // Where it was drawn: a bottom key pressed before the frame knew the end went further.
        let scroll = scroll.min(limit);
        let wanted = match self.keymap.layers.view.action(key) {
            Some(ViewKey::Close) => return None,
            Some(ViewKey::ScrollDown) => scroll.saturating_add(1),
            Some(ViewKey::ScrollUp) => scroll.saturating_sub(1),
            Some(ViewKey::PageDown) => scroll.saturating_add(10),
            Some(ViewKey::PageUp) => scroll.saturating_sub(10),
            Some(ViewKey::Top) => 0,
            Some(ViewKey::Bottom) => u16::MAX,
            Some(ViewKey::Switch | ViewKey::Reload) | None => scroll,
        };
        Some(wanted.min(limit))
    }

    pub(super) fn open_prompt(&mut self, kind: PromptKind) -> Vec<Effect> {
        let text = match kind {
            PromptKind::Filter => {
                let t = self.filter.to_string();
                if t.is_empty() { t } else { format!("{t} ") }
            }
            PromptKind::Command | PromptKind::Pipe | PromptKind::Note => String::new(),
        };
        self.prompt_item = self.selected_entry().map(|e| e.id.clone());
        let codes = self
            .policies
            .iter()
            .flat_map(|c| c.policies.iter().map(|p| p.code.clone()))
            .collect();
        let prompt = Prompt::new(kind, &text)
            .with_reason_codes(codes)
            .with_backend(&self.capabilities.lanes, &self.capabilities.tiers);
        self.layers.push(Layer::Prompt(prompt));
        Vec::new()
    }

    /// Before a command line or a pipe runs: select the item it was opened on again, so it
    /// acts on what the moderator saw; an error if that item has left the window.
    fn reselect_prompt_item(&mut self, kind: PromptKind) -> Result<(), String> {
        if !matches!(kind, PromptKind::Command | PromptKind::Pipe) {
            return Ok(());
        }
        let Some(id) = self.prompt_item.clone() else {
            return Ok(());
        };
        match self.index.get(&id) {
            Some(&i) => {
                self.selected = i;
                Ok(())
            }
            None => Err(format!(
                "{} left the window while this line was open; esc, and choose again",
                clean_line(&id)
            )),
        }
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
            Edit::Unchanged => self.prompt_edited(prompt, false),
            Edit::Changed => self.prompt_edited(prompt, true),
            Edit::Submit => self.submit(prompt),
        }
    }

    /// The prompt stays open; a filter that changed narrows the items in memory at once.
    fn prompt_edited(&mut self, mut prompt: Prompt, changed: bool) -> Vec<Effect> {
        if changed && prompt.kind == PromptKind::Filter {
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

    fn submit(&mut self, mut prompt: Prompt) -> Vec<Effect> {
        let text = prompt.text.trim().to_string();
        if let Err(why) = self.reselect_prompt_item(prompt.kind) {
            prompt.note = Some(why);
            self.layers.push(Layer::Prompt(prompt));
            return Vec::new();
        }
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

    /// A command line bound to a key: run as if typed after `:`; a refusal is said.
    pub(super) fn run_line(&mut self, line: &str) -> Vec<Effect> {
        match parse_command(line).and_then(|c| self.run_command(c)) {
            Ok(effects) => effects,
            Err(why) => {
                self.flash(Level::Warning, format!(":{line} — {why}"));
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
            } => {
                // Checked before it is journaled: the server's refusal would come after the
                // moderator had moved on.
                check_reason(reason.as_deref(), self.policies.as_ref())?;
                self.decide_with(
                    DecisionAction::TakeDown,
                    Details {
                        reason_code: reason,
                        scope,
                        note,
                        tier: None,
                        account: None,
                    },
                )
            }
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
            Command::View(name) => self.open_view(&name)?,
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

    /// `p`: the thread around the selected item, from what is in memory.
    pub(super) fn open_thread(&mut self) -> Vec<Effect> {
        let Some(entry) = self.selected_entry().filter(|_| !self.visible.is_empty()) else {
            self.flash(Level::Info, "No item to show the thread of".into());
            return Vec::new();
        };
        let Some(text) = crate::tui::thread::text(&entry.shown) else {
            let why = format!(
                "No thread for {}: {} gave none for it",
                entry.shown.id, self.capabilities.platform
            );
            self.flash(Level::Info, why);
            return Vec::new();
        };
        let title = format!("thread around {}", entry.shown.id);
        self.flash = None;
        self.layers.push(Layer::Output {
            title,
            text,
            scroll: 0,
        });
        Vec::new()
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
