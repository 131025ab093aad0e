//! Keys are data: a TOML table from key sequences to action names. The default ships in
//! `assets/keymap.toml`; the moderator's config file (`crate::config`) overrides it per key.
//!
//! A binding is a sequence of one or more keys (`j`, `"g g"`, `"ctrl-x ctrl-s"`). The App feeds
//! keys one at a time through [`KeyMap::feed`], keeping what was typed of a sequence so far.

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
pub use super::key::Key;
use super::layer_keys::LayerKeymaps;
use super::prompt::parse_command;

pub const DEFAULT_KEYMAP: &str = include_str!("../../assets/keymap.toml");

/// The value that removes a default binding: `q = "none"`.
pub const UNBIND: &str = "none";

/// Keys typed one after the other: `g g`, `ctrl-x ctrl-s`; most bindings are one key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sequence(pub Vec<Key>);

// Hashing a one-field struct hashes the field, so lookups by `&[Key]` agree with the map.
impl Borrow<[Key]> for Sequence {
    fn borrow(&self) -> &[Key] {
        &self.0
    }
}

impl Sequence {
    /// Keys separated by spaces: `"g g"`, `"ctrl-x ctrl-s"`.
    pub fn parse(s: &str) -> Result<Sequence, String> {
        let keys = s
            .split_whitespace()
            .map(Key::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if keys.is_empty() {
            return Err("an empty key name".into());
        }
        Ok(Sequence(keys))
    }

    pub fn name(&self) -> String {
        self.0.iter().map(Key::name).collect::<Vec<_>>().join(" ")
    }

    pub fn label(&self) -> String {
        self.0.iter().map(Key::label).collect::<Vec<_>>().join(" ")
    }

    /// One of the two starts the other, so the longer one could never be typed.
    fn overlaps(&self, other: &Sequence) -> bool {
        self != other && (self.0.starts_with(&other.0) || other.0.starts_with(&self.0))
    }
}

/// What a key press did to the sequence being typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Feed {
    /// A whole binding was typed.
    Matched(Action),
    /// The keys so far start a binding: wait for the next.
    Pending,
    /// Nothing starts like this (or esc cancelled): the keys so far are dropped.
    NoMatch,
}

/// Where a binding came from: the moderator's own bindings replace defaults they overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Default,
    User,
}

#[derive(Debug, Clone)]
pub struct KeyMap {
    /// The keys of the layers over the queue (views, confirmation, pickers, prompt).
    pub layers: LayerKeymaps,
    bindings: HashMap<Sequence, (Action, Origin)>,
    /// Every proper start of a binding, so `feed` knows when to wait.
    prefixes: HashSet<Vec<Key>>,
    /// Keys per action, in `Action::BINDABLE` order, for the help overlay and the hint bar.
    keys_by_action: Vec<(Action, Vec<Sequence>)>,
    /// The label of each action's first key, in the same order: the hint bar shows them on
    /// every frame, so they are written once, when the bindings change.
    first_labels: Vec<(Action, Option<String>)>,
}

/// Two keymaps are equal when the same keys do the same things, whoever bound them.
impl PartialEq for KeyMap {
    fn eq(&self, other: &KeyMap) -> bool {
        self.layers == other.layers
            && self.bindings.len() == other.bindings.len()
            && self
                .bindings
                .iter()
                .all(|(k, (a, _))| other.bindings.get(k).map(|(b, _)| b) == Some(a))
    }
}

#[derive(Debug, serde::Deserialize)]
struct KeymapFile {
    normal: toml::Table,
}

/// The action a config file names (`"take_down"`), `Ok(None)` for `"none"`. A command line
/// with its arguments (`"lane urgent"`, `"takedown reason=spam"`) binds a key to that command.
pub fn action_named(name: &str) -> Result<Option<Action>, String> {
    if name == UNBIND {
        return Ok(None);
    }
    if let Some(action) = Action::BINDABLE.iter().find(|a| action_name(a) == name) {
        return Ok(Some(action.clone()));
    }
    if name.trim().contains(char::is_whitespace) {
        return match parse_command(name) {
            Ok(_) => Ok(Some(Action::Run(name.trim().to_string()))),
            Err(e) => Err(format!("the command {name:?}: {e}")),
        };
    }
    let names: Vec<String> = Action::BINDABLE.iter().map(action_name).collect();
    Err(format!(
        "unknown action {name:?} (actions: {}, a command with its arguments such as \
         \"lane urgent\", or \"{UNBIND}\" to unbind)",
        names.join(" ")
    ))
}

/// The name the keymap uses for an action (`take_down`).
pub fn action_name(action: &Action) -> String {
    if let Action::Run(line) = action {
        return line.clone();
    }
    match serde_json::to_value(action) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

impl KeyMap {
    pub fn default_keymap() -> KeyMap {
        // The shipped keymap is checked by a unit test, so it always parses.
        KeyMap::parse(DEFAULT_KEYMAP).unwrap_or_else(|_| KeyMap::empty())
    }

    fn blank() -> KeyMap {
        KeyMap {
            layers: LayerKeymaps::empty(),
            bindings: HashMap::new(),
            prefixes: HashSet::new(),
            keys_by_action: Vec::new(),
            first_labels: Vec::new(),
        }
    }

    fn empty() -> KeyMap {
        let mut map = KeyMap::blank();
        let q = Sequence(vec![Key {
            code: KeyCode::Char('q'),
            mods: KeyModifiers::NONE,
        }]);
        let _ = map.bind(q, Some(Action::Quit), Origin::Default);
        map
    }

    /// A keymap in the shipped format (`[normal]`, one binding a line).
    pub fn parse(text: &str) -> Result<KeyMap, String> {
        let file: KeymapFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut map = KeyMap::blank();
        map.layers = LayerKeymaps::parse(text)?;
        for (keys, value) in file.normal {
            let sequence = Sequence::parse(&keys)?;
            let name = value.as_str().unwrap_or_default();
            let action = action_named(name).map_err(|e| format!("key {keys:?}: {e}"))?;
            map.bind(sequence, action, Origin::Default)
                .map_err(|other| format!("keys {keys:?} and {:?} overlap", other.name()))?;
        }
        Ok(map)
    }

    /// Bind `keys` to `action` (`None` unbinds). A binding replaces the bindings of a weaker
    /// origin that it overlaps (`"g g"` replaces a default `g`); overlapping one of the same
    /// origin is refused with the sequence it overlaps, and nothing changes.
    pub fn bind(
        &mut self,
        keys: Sequence,
        action: Option<Action>,
        origin: Origin,
    ) -> Result<(), Sequence> {
        if let Some((other, _)) = self
            .bindings
            .iter()
            .find(|(k, (_, o))| *o == origin && k.overlaps(&keys))
        {
            return Err(other.clone());
        }
        self.bindings
            .retain(|k, _| *k != keys && !k.overlaps(&keys));
        if let Some(action) = action {
            self.bindings.insert(keys, (action, origin));
        }
        self.reindex();
        Ok(())
    }

    fn reindex(&mut self) {
        self.prefixes = self
            .bindings
            .keys()
            .flat_map(|s| (1..s.0.len()).map(|n| s.0.iter().take(n).cloned().collect()))
            .collect();
        let mut commands: Vec<Action> = self
            .bindings
            .values()
            .filter(|(a, _)| matches!(a, Action::Run(_)))
            .map(|(a, _)| a.clone())
            .collect();
        commands.sort_by_key(action_name);
        commands.dedup();
        self.keys_by_action = Action::BINDABLE
            .iter()
            .chain(commands.iter())
            .map(|action| {
                let mut keys: Vec<Sequence> = self
                    .bindings
                    .iter()
                    .filter(|(_, (a, _))| a == action)
                    .map(|(k, _)| k.clone())
                    .collect();
                // Short plain letters first: they are what the hint bar shows.
                keys.sort_by_key(|s| {
                    (
                        s.0.len(),
                        s.0.iter().any(|k| !k.mods.is_empty()),
                        s.0.iter().any(|k| !matches!(k.code, KeyCode::Char(_))),
                        s.name(),
                    )
                });
                (action.clone(), keys)
            })
            .collect();
        self.first_labels = self
            .keys_by_action
            .iter()
            .map(|(action, keys)| (action.clone(), keys.first().map(Sequence::label)))
            .collect();
    }

    /// Take one key press. `pending` holds the keys typed so far of a sequence; it is emptied
    /// when a binding matches, when nothing starts like this, and by esc.
    pub fn feed(&self, pending: &mut Vec<Key>, key: Key) -> Feed {
        if !pending.is_empty() && key == Key::ESC {
            pending.clear();
            return Feed::NoMatch;
        }
        pending.push(key);
        if let Some((action, _)) = self.bindings.get(pending.as_slice()) {
            pending.clear();
            return Feed::Matched(action.clone());
        }
        if self.prefixes.contains(pending) {
            return Feed::Pending;
        }
        pending.clear();
        Feed::NoMatch
    }

    /// The action a single key press is bound to, outside any sequence.
    pub fn action_for(&self, event: &KeyEvent) -> Option<Action> {
        self.bindings
            .get([Key::from_event(event)].as_slice())
            .map(|(a, _)| a.clone())
    }

    /// The bindings that start with `pending`, for the hint bar while a sequence is typed.
    pub fn continuations(&self, pending: &[Key]) -> Vec<(Sequence, Action)> {
        let mut out: Vec<(Sequence, Action)> = self
            .bindings
            .iter()
            .filter_map(|(k, (a, _))| {
                let rest = k.0.strip_prefix(pending).filter(|rest| !rest.is_empty())?;
                Some((Sequence(rest.to_vec()), a.clone()))
            })
            .collect();
        out.sort_by_key(|(k, _)| k.name());
        out
    }

    pub fn keys_by_action(&self) -> &[(Action, Vec<Sequence>)] {
        &self.keys_by_action
    }

    /// The first key bound to `action`, for hints ("t take down").
    pub fn first_key(&self, action: &Action) -> Option<String> {
        self.first_key_label(action).map(str::to_string)
    }

    /// `first_key`, borrowed.
    pub fn first_key_label(&self, action: &Action) -> Option<&str> {
        self.first_labels
            .iter()
            .find(|(a, _)| a == action)
            .and_then(|(_, label)| label.as_deref())
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> Key {
        Key::parse(s).expect("key")
    }

    fn seq(s: &str) -> Sequence {
        Sequence::parse(s).expect("sequence")
    }

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
        assert!(err.contains("\"x\"") && err.contains("explode"), "{err}");
        let err = KeyMap::parse("[normal]\nhyper-x = \"quit\"\n").unwrap_err();
        assert!(err.contains("hyper-x"), "{err}");
        let err = KeyMap::parse("[normal]\ng = \"first\"\n\"g g\" = \"last\"\n").unwrap_err();
        assert!(err.contains("overlap"), "{err}");
    }

    #[test]
    fn key_names_read_back_as_written() {
        for name in [
            "j",
            "G",
            "?",
            "-",
            "\"",
            "space",
            "ctrl-c",
            "alt-x",
            "ctrl-alt-pagedown",
            "f5",
            "backtab",
            "shift-up",
            "delete",
        ] {
            assert_eq!(key(name).name(), name);
        }
        assert_eq!(key("shift-g"), key("G"));
        assert_eq!(key("shift-tab"), key("backtab"));
        assert_eq!(key("PageUp"), key("pageup"));
        assert!(Key::parse("f13").is_err());
        assert!(Key::parse("ctrl-").is_err());
        assert!(Sequence::parse("  ").is_err());
        assert_eq!(seq("ctrl-x  ctrl-s").name(), "ctrl-x ctrl-s");
    }

    #[test]
    fn a_sequence_waits_for_its_next_key_and_esc_or_a_stray_key_drops_it() {
        let mut map = KeyMap::default_keymap();
        map.bind(seq("z z"), Some(Action::Help), Origin::User)
            .expect("z is free");
        map.bind(seq("ctrl-x ctrl-s"), Some(Action::Quit), Origin::User)
            .expect("ctrl-x is free");
        let mut pending = Vec::new();
        assert_eq!(map.feed(&mut pending, key("z")), Feed::Pending);
        assert_eq!(pending, vec![key("z")]);
        assert_eq!(
            map.feed(&mut pending, key("z")),
            Feed::Matched(Action::Help)
        );
        assert!(pending.is_empty());

        assert_eq!(map.feed(&mut pending, key("ctrl-x")), Feed::Pending);
        assert_eq!(
            map.feed(&mut pending, key("ctrl-s")),
            Feed::Matched(Action::Quit)
        );

        // A key that continues nothing drops the sequence; it does not act on its own.
        assert_eq!(map.feed(&mut pending, key("z")), Feed::Pending);
        assert_eq!(map.feed(&mut pending, key("t")), Feed::NoMatch);
        assert!(pending.is_empty());
        assert_eq!(map.feed(&mut pending, key("z")), Feed::Pending);
        assert_eq!(map.feed(&mut pending, Key::ESC), Feed::NoMatch);
        assert!(pending.is_empty());
        // Outside a sequence esc is an ordinary key.
        assert_eq!(
            map.feed(&mut pending, Key::ESC),
            Feed::Matched(Action::Back)
        );
        assert_eq!(
            map.feed(&mut pending, key("t")),
            Feed::Matched(Action::TakeDown)
        );

        let hints = map.continuations(&[key("ctrl-x")]);
        assert_eq!(hints, vec![(seq("ctrl-s"), Action::Quit)]);
    }

    #[test]
    fn user_bindings_replace_the_defaults_they_overlap_but_not_each_other() {
        let mut map = KeyMap::default_keymap();
        // `g` alone is a default; `g g` replaces it.
        map.bind(seq("g g"), Some(Action::First), Origin::User)
            .expect("replaces the default g");
        let mut pending = Vec::new();
        assert_eq!(map.feed(&mut pending, key("g")), Feed::Pending);
        assert_eq!(
            map.feed(&mut pending, key("g")),
            Feed::Matched(Action::First)
        );
        // Another user binding starting with `g` alone would make `g g` untypable.
        assert_eq!(
            map.bind(seq("g"), Some(Action::Last), Origin::User),
            Err(seq("g g"))
        );
        // `none` unbinds.
        map.bind(seq("q"), None, Origin::User).expect("unbind");
        assert_eq!(map.feed(&mut pending, key("q")), Feed::NoMatch);
        assert_eq!(map.first_key(&Action::Quit).as_deref(), Some("ctrl-c"));
        assert_eq!(map.first_key(&Action::First).as_deref(), Some("home"));
    }

    #[test]
    fn action_names_are_the_keymaps() {
        assert_eq!(action_named("take_down"), Ok(Some(Action::TakeDown)));
        assert_eq!(action_named("none"), Ok(None));
        let err = action_named("explode").unwrap_err();
        assert!(err.contains("take_down"), "{err}");
        for action in Action::BINDABLE.iter() {
            assert_eq!(action_named(&action_name(action)), Ok(Some(action.clone())));
        }
    }
}
