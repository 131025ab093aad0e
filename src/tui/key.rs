//! One key with its modifiers, as the config file writes it and the help shows it. Shared by
//! the queue's keymap (sequences) and the layers' keymaps (single keys).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One key with its modifiers, as written in the keymap (`j`, `G`, `ctrl-c`, `down`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

/// Key names other than single characters, as the config file spells them.
const NAMED: [(&str, KeyCode); 16] = [
    ("space", KeyCode::Char(' ')),
    ("enter", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("backspace", KeyCode::Backspace),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("pageup", KeyCode::PageUp),
    ("pagedown", KeyCode::PageDown),
    ("delete", KeyCode::Delete),
    ("insert", KeyCode::Insert),
];

impl Key {
    pub const ESC: Key = Key {
        code: KeyCode::Esc,
        mods: KeyModifiers::NONE,
    };

    /// Terminals report `G` as shift+`G` and shift-tab as shift+backtab; the shift is already
    /// in the key.
    pub fn from_event(e: &KeyEvent) -> Key {
        let mut mods = e.modifiers & (KeyModifiers::CONTROL | KeyModifiers::ALT);
        if !matches!(e.code, KeyCode::Char(_) | KeyCode::BackTab) {
            mods |= e.modifiers & KeyModifiers::SHIFT;
        }
        Key { code: e.code, mods }
    }

    pub fn parse(s: &str) -> Result<Key, String> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        // A lone `-` is the minus key, not an empty modifier.
        while rest.len() > 1 {
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
        let mut chars = rest.chars();
        let mut code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => {
                let lower = rest.to_ascii_lowercase();
                let function_key = lower
                    .strip_prefix('f')
                    .and_then(|n| n.parse::<u8>().ok())
                    .filter(|n| (1..=12).contains(n));
                match (NAMED.iter().find(|(name, _)| *name == lower), function_key) {
                    (Some((_, code)), _) => *code,
                    (None, Some(n)) => KeyCode::F(n),
                    (None, None) => {
                        return Err(format!(
                            "unknown key name {s:?} (a character, or one of: {}, f1…f12; \
                             with ctrl-, alt- or shift- in front if wanted)",
                            NAMED.map(|(n, _)| n).join(" ")
                        ));
                    }
                }
            }
        };
        // Written `shift-g` or `shift-tab`, the key arrives as `G` or backtab.
        if mods.contains(KeyModifiers::SHIFT) {
            match code {
                KeyCode::Char(c) if c.is_alphabetic() => {
                    code = KeyCode::Char(c.to_uppercase().next().unwrap_or(c));
                    mods.remove(KeyModifiers::SHIFT);
                }
                KeyCode::Tab | KeyCode::BackTab => {
                    code = KeyCode::BackTab;
                    mods.remove(KeyModifiers::SHIFT);
                }
                _ => {}
            }
        }
        Ok(Key { code, mods })
    }

    fn modifier_prefix(&self) -> String {
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
        out
    }

    /// How the config file writes the key; `Key::parse` reads it back.
    pub fn name(&self) -> String {
        let mut out = self.modifier_prefix();
        match (self.code, NAMED.iter().find(|(_, c)| *c == self.code)) {
            (_, Some((name, _))) => out.push_str(name),
            (KeyCode::Char(c), None) => out.push(c),
            (KeyCode::F(n), None) => out.push_str(&format!("f{n}")),
            (other, None) => out.push_str(&format!("{other}").to_lowercase()),
        }
        out
    }

    /// How the help overlay writes the key.
    pub fn label(&self) -> String {
        let mut out = self.modifier_prefix();
        match self.code {
            KeyCode::Up => out.push('↑'),
            KeyCode::Down => out.push('↓'),
            KeyCode::Left => out.push('←'),
            KeyCode::Right => out.push('→'),
            KeyCode::PageUp => out.push_str("pgup"),
            KeyCode::PageDown => out.push_str("pgdn"),
            _ => return self.name(),
        }
        out
    }
}
