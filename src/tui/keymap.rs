//! Keys are data: a TOML table from key names to action names. The default ships in
//! `assets/keymap.toml`.

use std::collections::HashMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;

pub const DEFAULT_KEYMAP: &str = include_str!("../../assets/keymap.toml");

/// One key with its modifiers, as written in the keymap (`j`, `G`, `ctrl-c`, `down`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    /// Terminals report `G` as shift+`G`; the shift is already in the letter.
    pub fn from_event(e: &KeyEvent) -> Key {
        let mut mods = e.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        if !matches!(e.code, KeyCode::Char(_)) {
            mods |= e.modifiers & KeyModifiers::SHIFT;
        }
        Key { code: e.code, mods }
    }

    pub fn parse(s: &str) -> Result<Key, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-") {
                mods |= KeyModifiers::CONTROL;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-") {
                mods |= KeyModifiers::ALT;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("shift-") {
                mods |= KeyModifiers::SHIFT;
                rest = r;
            } else {
                break;
            }
        }
        let code = match rest {
            "up" => KeyCode::Up,
            "down" => KeyCode::Down,
            "left" => KeyCode::Left,
            "right" => KeyCode::Right,
            "home" => KeyCode::Home,
            "end" => KeyCode::End,
            "pageup" => KeyCode::PageUp,
            "pagedown" => KeyCode::PageDown,
            "enter" => KeyCode::Enter,
            "esc" => KeyCode::Esc,
            "tab" => KeyCode::Tab,
            "backtab" => KeyCode::BackTab,
            "backspace" => KeyCode::Backspace,
            "space" => KeyCode::Char(' '),
            other => {
                let mut chars = other.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCode::Char(c),
                    _ => return Err(format!("unknown key {s:?}")),
                }
            }
        };
        Ok(Key { code, mods })
    }

    /// How the help overlay writes the key.
    pub fn label(&self) -> String {
        let mut out = String::new();
        if self.mods.contains(KeyModifiers::CONTROL) {
            out.push_str("ctrl-");
        }
        if self.mods.contains(KeyModifiers::ALT) {
            out.push_str("alt-");
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            out.push_str("shift-");
        }
        match self.code {
            KeyCode::Char(' ') => out.push_str("space"),
            KeyCode::Char(c) => out.push(c),
            KeyCode::Up => out.push('↑'),
            KeyCode::Down => out.push('↓'),
            KeyCode::Left => out.push('←'),
            KeyCode::Right => out.push('→'),
            KeyCode::PageUp => out.push_str("pgup"),
            KeyCode::PageDown => out.push_str("pgdn"),
            other => out.push_str(&format!("{other}").to_lowercase()),
        }
        out
    }
}

#[derive(Debug, Clone)]
pub struct KeyMap {
    bindings: HashMap<Key, Action>,
    /// Keys per action, in file order, for the help overlay and the hint bar.
    keys_by_action: Vec<(Action, Vec<Key>)>,
}

#[derive(Debug, serde::Deserialize)]
struct KeymapFile {
    normal: toml::Table,
}

impl KeyMap {
    pub fn default_keymap() -> KeyMap {
        // The shipped keymap is checked by a unit test, so it always parses.
        KeyMap::parse(DEFAULT_KEYMAP).unwrap_or_else(|_| KeyMap::empty())
    }

    fn empty() -> KeyMap {
        let mut bindings = HashMap::new();
        bindings.insert(
            Key {
                code: KeyCode::Char('q'),
                mods: KeyModifiers::NONE,
            },
            Action::Quit,
        );
        KeyMap::from_bindings(bindings)
    }

    pub fn parse(text: &str) -> Result<KeyMap, String> {
        let file: KeymapFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut bindings = HashMap::new();
        for (key, value) in file.normal {
            let parsed = Key::parse(&key)?;
            let action: Action = value.try_into().map_err(|e| format!("key {key:?}: {e}"))?;
            bindings.insert(parsed, action);
        }
        Ok(KeyMap::from_bindings(bindings))
    }

    fn from_bindings(bindings: HashMap<Key, Action>) -> KeyMap {
        let keys_by_action = Action::BINDABLE
            .iter()
            .map(|action| {
                let mut keys: Vec<Key> = bindings
                    .iter()
                    .filter(|(_, a)| *a == action)
                    .map(|(k, _)| *k)
                    .collect();
                // Plain letters first: they are what the hint bar shows.
                keys.sort_by_key(|k| {
                    (
                        !k.mods.is_empty(),
                        !matches!(k.code, KeyCode::Char(_)),
                        k.label(),
                    )
                });
                (action.clone(), keys)
            })
            .collect();
        KeyMap {
            bindings,
            keys_by_action,
        }
    }

    pub fn action_for(&self, event: &KeyEvent) -> Option<Action> {
        self.bindings.get(&Key::from_event(event)).cloned()
    }

    pub fn keys_by_action(&self) -> &[(Action, Vec<Key>)] {
        &self.keys_by_action
    }

    /// The first key bound to `action`, for hints ("t take down").
    pub fn first_key(&self, action: &Action) -> Option<String> {
        self.keys_by_action
            .iter()
            .find(|(a, _)| a == action)
            .and_then(|(_, keys)| keys.first())
            .map(Key::label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_keymap_parses_and_binds_the_ozone_letters() {
        let map = KeyMap::parse(DEFAULT_KEYMAP).expect("assets/keymap.toml must parse");
        let press = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(map.action_for(&press('t')), Some(Action::TakeDown));
        assert_eq!(map.action_for(&press('a')), Some(Action::Keep));
        assert_eq!(map.action_for(&press('e')), Some(Action::Escalate));
        let shift_g = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(map.action_for(&shift_g), Some(Action::Last));
        // Every bindable action has at least one key.
        for (action, keys) in map.keys_by_action() {
            assert!(!keys.is_empty(), "{action:?} has no key");
        }
    }

    #[test]
    fn a_bad_keymap_names_the_culprit() {
        let err = KeyMap::parse("[normal]\nx = \"explode\"\n").unwrap_err();
        assert!(err.contains("\"x\""), "{err}");
        let err = KeyMap::parse("[normal]\nhyper-x = \"quit\"\n").unwrap_err();
        assert!(err.contains("hyper-x"), "{err}");
    }
}
