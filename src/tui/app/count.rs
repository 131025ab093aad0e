//! Count prefixes: `19j` moves 19 items down, `5k` up, `3 ctrl-d` three pages, `4J` scrolls the
//! item four steps, `12G` (or `12g`) goes to the 12th item, `5 space` tags five.
//!
//! A count never repeats a decision: `3t` decides nothing and says so (tag the items and
//! `;t` decides them all, after a confirmation naming the count). The same holds for every
//! key that decides or undoes (`t a e T E u ;`, a command bound to a key).
//!
//! The digits `1`–`5` also switch lane tabs. A digit that has a binding of its own waits for
//! the next key: another digit or a key that takes a count makes it a count; `enter`, any
//! other key, or a moment without keys (two ticks of the clock) switches the lane.

use chrono::{DateTime, TimeDelta, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{App, Effect, Level, PAGE};
use crate::tui::action::Action;
use crate::tui::keymap::Key;

/// Largest count taken: more than any window holds.
const MAX_COUNT: usize = 99_999;
/// A lone digit with a binding of its own acts after this long without another key.
const DIGIT_WAIT: TimeDelta = TimeDelta::seconds(2);

/// Digits typed before a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCount {
    pub n: usize,
    /// As typed: `19`.
    pub typed: String,
    /// The clock when the first digit came.
    since: DateTime<Utc>,
}

/// What a count does with an action.
enum Counted {
    /// The action takes a count.
    Repeat,
    /// A decision, an undo or a command: a count must never repeat it.
    Refuse,
    /// Counts mean nothing to it.
    Ignore,
}

fn counted(action: &Action) -> Counted {
    match action {
        Action::MoveDown
        | Action::MoveUp
        | Action::PageDown
        | Action::PageUp
        | Action::First
        | Action::Last
        | Action::DetailDown
        | Action::DetailUp
        | Action::Tag => Counted::Repeat,
        Action::TakeDown
        | Action::Keep
        | Action::Escalate
        | Action::TakeDownWith
        | Action::EscalateTo
        | Action::Uphold
        | Action::Overturn
        | Action::TagPrefix
        | Action::Undo => Counted::Refuse,
        // A saved view's key moves nowhere and decides nothing; other commands may decide.
        Action::Run(line) if line.starts_with("view ") => Counted::Ignore,
        Action::Run(_) => Counted::Refuse,
        _ => Counted::Ignore,
    }
}

impl App {
    /// A key on the queue, before the keymap: a digit adds to the count; the key after a count
    /// takes it, refuses it or drops it. `None`: the keymap takes the key as usual.
    pub(super) fn count_key(&mut self, key: &KeyEvent) -> Option<Vec<Effect>> {
        if !self.pending_keys.is_empty() {
            return None;
        }
        let plain = key.modifiers.difference(KeyModifiers::SHIFT).is_empty();
        if let (KeyCode::Char(c @ '0'..='9'), true) = (key.code, plain) {
            let digit = usize::from(c as u8 - b'0');
            match self.count.as_mut() {
                None if digit == 0 => return None,
                None => {
                    self.count = Some(PendingCount {
                        n: digit,
                        typed: c.to_string(),
                        since: self.now,
                    });
                }
                Some(count) => {
                    count.n = (count.n * 10 + digit).min(MAX_COUNT);
                    if count.typed.len() < 6 {
                        count.typed.push(c);
                    }
                }
            }
            return Some(Vec::new());
        }
        let count = self.count.take()?;
        let action = self.keymap.action_for(key);
        let Some(action) = action.filter(|_| key.code != KeyCode::Enter) else {
            // `1 enter`: the digit's own binding, now; a key that starts a sequence goes on.
            let mut effects = match self.digit_binding(&count) {
                Some(own) => self.update(own),
                None => {
                    self.flash(Level::Info, format!("Count {} dropped", count.typed));
                    Vec::new()
                }
            };
            if key.code != KeyCode::Enter {
                effects.extend(self.feed_keymap(*key));
            }
            return Some(effects);
        };
        if action == Action::Back {
            self.flash(Level::Info, format!("Count {} cancelled", count.typed));
            return Some(Vec::new());
        }
        match counted(&action) {
            Counted::Repeat => Some(self.repeat(&action, count.n)),
            Counted::Refuse => {
                let (tag, prefix) = (self.key_for(&Action::Tag), self.key_for(&Action::TagPrefix));
                self.flash(
                    Level::Warning,
                    format!(
                        "{}{}: a count never repeats a decision — nothing was decided. To decide \
                         several, tag them ({} {tag} tags {}) and {prefix} decides them all, \
                         after a confirmation",
                        count.typed,
                        Key::from_event(key).label(),
                        count.typed,
                        count.n
                    ),
                );
                Some(Vec::new())
            }
            Counted::Ignore => {
                // `2?`: the digit was the lane tab, then the key.
                let mut effects = match self.digit_binding(&count) {
                    Some(own) => self.update(own),
                    None => {
                        self.flash(
                            Level::Info,
                            format!(
                                "Count {} dropped: {} takes none",
                                count.typed,
                                Key::from_event(key).label()
                            ),
                        );
                        Vec::new()
                    }
                };
                effects.extend(self.update(action));
                Some(effects)
            }
        }
    }

    /// Time passed: a lone digit with a binding of its own, left waiting, acts.
    pub(super) fn count_tick(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let waited = self
            .count
            .as_ref()
            .is_some_and(|c| now - c.since >= DIGIT_WAIT);
        if !waited {
            return Vec::new();
        }
        let Some(count) = self.count.take() else {
            return Vec::new();
        };
        match self.digit_binding(&count) {
            Some(own) => self.update(own),
            None => {
                // A count left waiting stays until a key takes or drops it.
                self.count = Some(count);
                Vec::new()
            }
        }
    }

    /// What a count of one digit does alone (`1`: the urgent lane), if anything.
    fn digit_binding(&self, count: &PendingCount) -> Option<Action> {
        let mut chars = count.typed.chars();
        let (Some(c), None) = (chars.next(), chars.next()) else {
            return None;
        };
        self.keymap
            .action_for(&KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    /// `n` times `action`, as one move.
    fn repeat(&mut self, action: &Action, n: usize) -> Vec<Effect> {
        let n = n.max(1);
        let signed = isize::try_from(n).unwrap_or(isize::MAX);
        match action {
            Action::MoveDown => self.move_by(signed),
            Action::MoveUp => self.move_by(-signed),
            Action::PageDown => self.move_by(signed.saturating_mul(PAGE as isize)),
            Action::PageUp => self.move_by(-signed.saturating_mul(PAGE as isize)),
            // `12G`: the 12th item shown (the last if there are fewer).
            Action::First | Action::Last => {
                let at = n
                    .saturating_sub(1)
                    .min(self.visible.len().saturating_sub(1));
                if let Some(&i) = self.visible.get(at) {
                    self.selected = i;
                }
                self.moved(false)
            }
            Action::DetailDown | Action::DetailUp => {
                let step = i32::from(super::DETAIL_STEP)
                    .saturating_mul(i32::try_from(n).unwrap_or(i32::MAX));
                let rows = if *action == Action::DetailUp {
                    -step
                } else {
                    step
                };
                self.scroll_detail(rows)
            }
            Action::Tag => {
                let mut effects = Vec::new();
                let left = self.visible.len().saturating_sub(self.position());
                for _ in 0..n.min(left) {
                    effects.extend(self.toggle_tag());
                }
                effects
            }
            other => self.update(other.clone()),
        }
    }
}
