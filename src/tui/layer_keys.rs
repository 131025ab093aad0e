//! The keys of the layers over the queue: the views (help, history, stats, piped output), the
//! bulk confirmation, the pickers and the prompt. Each layer has its own small keymap, single
//! keys to the layer's own intents, shipped in `assets/keymap.toml` and changed in the same
//! config file as the queue's keys (`[keys.picker]` …). Texts that name a layer's keys are
//! written from the keys in force ([`LayerKeys::hint`]).
//!
//! In the picker and the prompt every plain character is text: a key bound there does what it
//! is bound to, a character that is not is typed, and any other key does nothing.

use std::fmt::Debug;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use toml::de::{DeTable, DeValue};

use super::key::Key;

/// The value that removes a default binding.
const UNBIND: &str = "none";

/// An intent inside one layer, named in the config file.
pub trait LayerAction: Copy + Eq + Debug + 'static {
    /// The layer's name in the config file (`[keys.picker]`).
    const LAYER: &'static str;
    const ALL: &'static [Self];
    fn name(self) -> &'static str;
    fn description(self) -> &'static str;
}

macro_rules! layer_actions {
    ($(#[$doc:meta])* $ty:ident in $layer:literal {
        $($(#[$vdoc:meta])* $variant:ident = $name:literal: $desc:literal,)*
    }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $ty {
            $($(#[$vdoc])* $variant,)*
        }

        impl LayerAction for $ty {
            const LAYER: &'static str = $layer;
            const ALL: &'static [Self] = &[$($ty::$variant,)*];
            fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)*
                }
            }
            fn description(self) -> &'static str {
                match self {
                    $($ty::$variant => $desc,)*
                }
            }
        }
    };
}

layer_actions! {
    /// Keys of the views that scroll: help, history, stats, piped output.
    ViewKey in "view" {
        ScrollDown = "scroll_down": "scroll down a line",
        ScrollUp = "scroll_up": "scroll up a line",
        PageDown = "page_down": "scroll down ten lines",
        PageUp = "page_up": "scroll up ten lines",
        Top = "top": "back to the top",
        Bottom = "bottom": "to the end",
        Close = "close": "close the view",
        Switch = "switch": "stats: the session or today, where only one fits",
        Reload = "reload": "stats: read today's figures again",
    }
}

layer_actions! {
    /// Keys of the bulk confirmation.
    ConfirmKey in "confirm" {
        Confirm = "confirm": "do the bulk action",
        Cancel = "cancel": "cancel it; the tags stay",
    }
}

layer_actions! {
    /// Keys of the `T` and `E` pickers (characters are typed into the search or the note).
    PickerKey in "picker" {
        Down = "down": "highlight the next line",
        Up = "up": "highlight the line before",
        NextStep = "next_step": "keep this step as it is and go on",
        Choose = "choose": "pick the highlighted line and go on; in the note, decide",
        Cancel = "cancel": "close the picker, deciding nothing",
        Erase = "erase": "delete the last character typed",
        Clear = "clear": "clear the search, or the note",
    }
}

layer_actions! {
    /// Keys of the one-line prompt: filter, command line, pipe, note (characters are typed).
    PromptKey in "prompt" {
        Submit = "submit": "apply the line",
        Cancel = "cancel": "close the line (a note is put aside)",
        Complete = "complete": "complete the word before the cursor",
        ClearBefore = "clear_before": "delete everything before the cursor",
        DeleteWord = "delete_word": "delete the word before the cursor",
        Start = "start": "cursor to the start",
        End = "end": "cursor to the end",
        Left = "left": "cursor one character left",
        Right = "right": "cursor one character right",
        Erase = "erase": "delete the character before the cursor",
        Delete = "delete": "delete the character under the cursor",
    }
}

/// One layer's bindings, the moderator's before the shipped ones, each in the order written:
/// the first key of an intent is the one texts name.
#[derive(Debug, Clone)]
pub struct LayerKeys<A> {
    /// Key, intent, and whether the moderator bound it.
    bindings: Vec<(Key, A, bool)>,
}

/// Two keymaps are equal when the same keys do the same things, whoever bound them.
impl<A: LayerAction> PartialEq for LayerKeys<A> {
    fn eq(&self, other: &LayerKeys<A>) -> bool {
        self.bindings.len() == other.bindings.len()
            && self
                .bindings
                .iter()
                .all(|(k, a, _)| other.bindings.iter().any(|(l, b, _)| k == l && a == b))
    }
}

impl<A: LayerAction> LayerKeys<A> {
    pub fn empty() -> LayerKeys<A> {
        LayerKeys {
            bindings: Vec::new(),
        }
    }

    /// The intent a config file names, `Ok(None)` for `"none"`.
    pub fn named(name: &str) -> Result<Option<A>, String> {
        if name == UNBIND {
            return Ok(None);
        }
        A::ALL
            .iter()
            .find(|a| a.name() == name)
            .map(|a| Some(*a))
            .ok_or_else(|| {
                let names: Vec<&str> = A::ALL.iter().map(|a| a.name()).collect();
                format!(
                    "unknown {} action {name:?} (actions: {}, or \"{UNBIND}\" to unbind)",
                    A::LAYER,
                    names.join(" ")
                )
            })
    }

    /// Bind `key` to `action`, replacing what it did; `None` unbinds it. The shipped keymap
    /// binds this way.
    pub fn bind(&mut self, key: Key, action: Option<A>) {
        self.bindings.retain(|(k, _, _)| *k != key);
        if let Some(action) = action {
            self.bindings.push((key, action, false));
        }
    }

    /// The moderator's binding: as `bind`, and named by texts before the shipped keys.
    pub fn bind_user(&mut self, key: Key, action: Option<A>) {
        self.bindings.retain(|(k, _, _)| *k != key);
        if let Some(action) = action {
            let at = self
                .bindings
                .iter()
                .position(|(_, a, user)| *a == action && !user)
                .unwrap_or(self.bindings.len());
            self.bindings.insert(at, (key, action, true));
        }
    }

    /// What a key press does in this layer.
    pub fn action(&self, event: &KeyEvent) -> Option<A> {
        let key = Key::from_event(event);
        self.bindings
            .iter()
            .find(|(k, _, _)| *k == key)
            .map(|(_, a, _)| *a)
    }

    /// Every key bound to `action`, first written first.
    pub fn keys(&self, action: A) -> impl Iterator<Item = &Key> {
        self.bindings
            .iter()
            .filter(move |(_, a, _)| *a == action)
            .map(|(k, _, _)| k)
    }

    /// How texts name `action`'s key: its first key, as the help writes keys.
    pub fn label(&self, action: A) -> Option<String> {
        self.keys(action).next().map(Key::label)
    }

    /// `y confirms · n cancels`: each intent's first key and what it does, those without a
    /// key left out.
    pub fn hint(&self, parts: &[(A, &str)], separator: &str) -> String {
        parts
            .iter()
            .filter_map(|(a, what)| Some(format!("{} {what}", self.label(*a)?)))
            .collect::<Vec<_>>()
            .join(separator)
    }

    /// The shipped bindings of this layer: a table of key to intent name, in the order the
    /// file writes them (the first key of an intent is the one texts name).
    fn parse(table: &DeTable<'_>) -> Result<LayerKeys<A>, String> {
        let mut entries: Vec<_> = table.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        let mut keys = LayerKeys::empty();
        for (key, value) in entries {
            let key = key.get_ref();
            let k = Key::parse(key)?;
            let name = value.get_ref().as_str().unwrap_or_default();
            let action = Self::named(name).map_err(|e| format!("key {key:?}: {e}"))?;
            keys.bind(k, action);
        }
        Ok(keys)
    }
}

/// The keymaps of every layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerKeymaps {
    pub view: LayerKeys<ViewKey>,
    pub confirm: LayerKeys<ConfirmKey>,
    pub picker: LayerKeys<PickerKey>,
    pub prompt: LayerKeys<PromptKey>,
}

impl LayerKeymaps {
    /// The layers' sections of a keymap file (`[view]`, `[confirm]`, `[picker]`, `[prompt]`);
    /// a section left out binds nothing.
    pub fn parse(text: &str) -> Result<LayerKeymaps, String> {
        let file = DeTable::parse(text).map_err(|e| e.to_string())?;
        let file = file.get_ref();
        let empty = DeTable::default();
        let section = |name: &str| match file.get(name).map(|v| v.get_ref()) {
            Some(DeValue::Table(t)) => Ok(t),
            Some(_) => Err(format!("[{name}] is a table")),
            None => Ok(&empty),
        };
        Ok(LayerKeymaps {
            view: LayerKeys::parse(section(ViewKey::LAYER)?)?,
            confirm: LayerKeys::parse(section(ConfirmKey::LAYER)?)?,
            picker: LayerKeys::parse(section(PickerKey::LAYER)?)?,
            prompt: LayerKeys::parse(section(PromptKey::LAYER)?)?,
        })
    }

    pub fn empty() -> LayerKeymaps {
        LayerKeymaps {
            view: LayerKeys::empty(),
            confirm: LayerKeys::empty(),
            picker: LayerKeys::empty(),
            prompt: LayerKeys::empty(),
        }
    }

    /// The key the picker's own editor reads for `key` as bound here: a bound key becomes the
    /// key the editor knows its intent by, a plain character is typed, anything else is
    /// nothing.
    pub fn picker_key(&self, key: KeyEvent) -> Option<KeyEvent> {
        let canonical = |a: PickerKey| match a {
            PickerKey::Down => plain(KeyCode::Down),
            PickerKey::Up => plain(KeyCode::Up),
            PickerKey::NextStep => plain(KeyCode::Tab),
            PickerKey::Choose => plain(KeyCode::Enter),
            PickerKey::Cancel => plain(KeyCode::Esc),
            PickerKey::Erase => plain(KeyCode::Backspace),
            PickerKey::Clear => KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL),
        };
        bound_or_typed(&self.picker, key, canonical)
    }

    /// The same for the prompt's line editor.
    pub fn prompt_key(&self, key: KeyEvent) -> Option<KeyEvent> {
        let canonical = |a: PromptKey| match a {
            PromptKey::Submit => plain(KeyCode::Enter),
            PromptKey::Cancel => plain(KeyCode::Esc),
            PromptKey::Complete => plain(KeyCode::Tab),
            PromptKey::ClearBefore => KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL),
            PromptKey::DeleteWord => KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL),
            PromptKey::Start => plain(KeyCode::Home),
            PromptKey::End => plain(KeyCode::End),
            PromptKey::Left => plain(KeyCode::Left),
            PromptKey::Right => plain(KeyCode::Right),
            PromptKey::Erase => plain(KeyCode::Backspace),
            PromptKey::Delete => plain(KeyCode::Delete),
        };
        bound_or_typed(&self.prompt, key, canonical)
    }
}

/// Texts that name the layers' keys, written from the keys in force.
impl LayerKeymaps {
    /// `j/k scroll, esc closes`.
    pub fn view_hint(&self) -> String {
        self.view_hint_also(None)
    }

    /// `j/k scroll, ? or esc closes`: with another key that closes the view (its opener).
    pub fn view_hint_also(&self, opener: Option<&str>) -> String {
        let view = &self.view;
        let scroll = match (
            view.label(ViewKey::ScrollDown),
            view.label(ViewKey::ScrollUp),
        ) {
            (Some(down), Some(up)) => Some(format!("{down}/{up} scroll")),
            (Some(key), None) | (None, Some(key)) => Some(format!("{key} scrolls")),
            (None, None) => None,
        };
        let ends = match (view.label(ViewKey::Top), view.label(ViewKey::Bottom)) {
            (Some(top), Some(bottom)) => Some(format!("{top}/{bottom} top/end")),
            (Some(key), None) => Some(format!("{key} top")),
            (None, Some(key)) => Some(format!("{key} end")),
            (None, None) => None,
        };
        let close = match (opener.map(str::to_string), view.label(ViewKey::Close)) {
            (Some(opener), Some(close)) => Some(format!("{opener} or {close} closes")),
            (Some(key), None) | (None, Some(key)) => Some(format!("{key} closes")),
            (None, None) => None,
        };
        scroll
            .into_iter()
            .chain(ends)
            .chain(close)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `tab switches, r reloads today, esc closes`.
    pub fn stats_hint(&self) -> String {
        self.view.hint(
            &[
                (ViewKey::Switch, "switches"),
                (ViewKey::Reload, "reloads today"),
                (ViewKey::Close, "closes"),
            ],
            ", ",
        )
    }

    /// `y confirms, n cancels`.
    pub fn confirm_hint(&self) -> String {
        self.confirm.hint(
            &[
                (ConfirmKey::Confirm, "confirms"),
                (ConfirmKey::Cancel, "cancels"),
            ],
            ", ",
        )
    }

    /// Under a picker's list: `type to search · ↑/↓ choose · enter picks · tab keeps · esc
    /// cancels`; on the scope step, how countries are added.
    pub fn picker_hint(&self, scope: bool) -> String {
        let picker = &self.picker;
        let mut parts = vec![if scope {
            "type a code, name, EU or EEA · space adds/removes".to_string()
        } else {
            "type to search".to_string()
        }];
        if !scope
            && let (Some(up), Some(down)) =
                (picker.label(PickerKey::Up), picker.label(PickerKey::Down))
        {
            parts.push(format!("{up}/{down} choose"));
        }
        let rest: &[(PickerKey, &str)] = if scope {
            &[
                (PickerKey::Choose, "takes it and goes on"),
                (PickerKey::Clear, "clears"),
            ]
        } else {
            &[
                (PickerKey::Choose, "picks"),
                (PickerKey::NextStep, "keeps"),
                (PickerKey::Cancel, "cancels"),
            ]
        };
        let rest = picker.hint(rest, " · ");
        parts.extend((!rest.is_empty()).then_some(rest));
        parts.join(" · ")
    }

    /// Under the picker's note: `type the note (a note is required) · enter decides · esc
    /// cancels`.
    pub fn picker_note_hint(&self, need: &str) -> String {
        let keys = self.picker.hint(
            &[
                (PickerKey::Choose, "decides"),
                (PickerKey::Cancel, "cancels"),
            ],
            " · ",
        );
        format!("type the note ({need}) · {keys}")
    }

    /// Under the prompt's line.
    pub fn prompt_hint(&self, note: bool) -> String {
        if note {
            let keys = self.prompt.hint(
                &[
                    (PromptKey::Submit, "saves it"),
                    (PromptKey::Cancel, "puts it aside"),
                ],
                " · ",
            );
            return format!("a note on this item: {keys}");
        }
        self.prompt.hint(
            &[
                (PromptKey::Submit, "applies"),
                (PromptKey::Cancel, "cancels"),
                (PromptKey::Complete, "completes"),
                (PromptKey::ClearBefore, "clears"),
            ],
            " · ",
        )
    }
}

fn plain(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn bound_or_typed<A: LayerAction>(
    keys: &LayerKeys<A>,
    key: KeyEvent,
    canonical: impl Fn(A) -> KeyEvent,
) -> Option<KeyEvent> {
    if let Some(action) = keys.action(&key) {
        return Some(canonical(action));
    }
    let typed = matches!(key.code, KeyCode::Char(_))
        && !key
            .modifiers
            .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
    typed.then_some(key)
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> KeyEvent {
        let k = Key::parse(s).expect("key");
        KeyEvent::new(k.code, k.mods)
    }

    fn shipped() -> LayerKeymaps {
        LayerKeymaps::parse(include_str!("../../assets/keymap.toml")).expect("its layers")
    }

    #[test]
    fn every_layer_intent_has_a_shipped_key() {
        let maps = shipped();
        for a in ViewKey::ALL {
            assert!(maps.view.label(*a).is_some(), "{a:?}");
        }
        for a in ConfirmKey::ALL {
            assert!(maps.confirm.label(*a).is_some(), "{a:?}");
        }
        for a in PickerKey::ALL {
            assert!(maps.picker.label(*a).is_some(), "{a:?}");
        }
        for a in PromptKey::ALL {
            assert!(maps.prompt.label(*a).is_some(), "{a:?}");
        }
        assert_eq!(
            maps.confirm.hint(
                &[
                    (ConfirmKey::Confirm, "confirms"),
                    (ConfirmKey::Cancel, "cancels")
                ],
                ", "
            ),
            "y confirms, n cancels"
        );
    }

    #[test]
    fn in_the_prompt_a_bound_key_acts_and_a_character_is_typed() {
        let mut maps = shipped();
        maps.prompt
            .bind(Key::parse("ctrl-j").expect("key"), Some(PromptKey::Submit));
        maps.prompt.bind(Key::parse("tab").expect("key"), None);
        assert_eq!(maps.prompt_key(key("ctrl-j")), Some(key("enter")));
        assert_eq!(maps.prompt_key(key("enter")), Some(key("enter")));
        assert_eq!(maps.prompt_key(key("tab")), None, "unbound");
        assert_eq!(maps.prompt_key(key("q")), Some(key("q")));
        assert_eq!(maps.prompt_key(key("ctrl-q")), None);
        assert!(
            LayerKeys::<PromptKey>::named("explode")
                .unwrap_err()
                .contains("prompt action")
        );
    }
}
