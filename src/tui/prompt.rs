//! The one-line editor under `/` (filter), `:` (command line) and `|` (pipe), with completion
//! for the command line and the filter keys.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
use crate::model::{EscalationTier, Lane};
use crate::query::{KEYS, Sort};

/// What the line is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    Filter,
    Command,
    Pipe,
    /// A note on the selected item.
    Note,
}

impl PromptKind {
    pub fn sigil(self) -> char {
        match self {
            PromptKind::Filter => '/',
            PromptKind::Command => ':',
            PromptKind::Pipe => '|',
            PromptKind::Note => '✎',
        }
    }

    /// What the keys do, under the line until something else needs saying.
    pub fn hint(self) -> &'static str {
        match self {
            PromptKind::Note => "a note on this item: enter saves it · esc puts it aside",
            _ => "enter applies · esc cancels · tab completes · ctrl-u clears",
        }
    }
}

/// Longest line accepted: a person types it.
const MAX_CHARS: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    /// The text, as typed (never from an item: nothing to sanitize).
    pub text: String,
    /// Cursor position in characters.
    pub cursor: usize,
    /// Why the last Enter was refused, or what Tab found.
    pub note: Option<String>,
}

/// What a key did to the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    Changed,
    Unchanged,
    Submit,
    Cancel,
}

impl Prompt {
    pub fn new(kind: PromptKind, text: &str) -> Prompt {
        Prompt {
            kind,
            text: text.to_string(),
            cursor: text.chars().count(),
            note: None,
        }
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    pub fn key(&mut self, key: KeyEvent) -> Edit {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let len = self.text.chars().count();
        match key.code {
            KeyCode::Esc => return Edit::Cancel,
            KeyCode::Char('c') if ctrl => return Edit::Cancel,
            KeyCode::Enter => return Edit::Submit,
            KeyCode::Char('u') if ctrl => {
                let at = self.byte_at(self.cursor);
                self.text.replace_range(..at, "");
                self.cursor = 0;
            }
            KeyCode::Char('w') if ctrl => {
                let end = self.byte_at(self.cursor);
                let head = self.text[..end].trim_end();
                let start = head.rfind(' ').map_or(0, |i| i + 1);
                self.cursor = self.text[..start].chars().count();
                self.text.replace_range(start..end, "");
            }
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = len,
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = len,
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(len),
            KeyCode::Backspace if self.cursor > 0 => {
                let at = self.byte_at(self.cursor - 1);
                self.text.remove(at);
                self.cursor -= 1;
            }
            KeyCode::Delete if self.cursor < len => {
                let at = self.byte_at(self.cursor);
                self.text.remove(at);
            }
            KeyCode::Tab => return self.complete(),
            KeyCode::Char(c) if !ctrl && !c.is_control() && len < MAX_CHARS => {
                let at = self.byte_at(self.cursor);
                self.text.insert(at, c);
                self.cursor += 1;
            }
            _ => return Edit::Unchanged,
        }
        self.note = None;
        Edit::Changed
    }

    /// Complete the word before the cursor: the longest common prefix of the candidates, and
    /// the candidates in `note` when there are several.
    fn complete(&mut self) -> Edit {
        let end = self.byte_at(self.cursor);
        let head = &self.text[..end];
        let start = head.rfind(' ').map_or(0, |i| i + 1);
        let word = &head[start..];
        let first_word = !head[..start].contains(|c: char| !c.is_whitespace());
        let candidates: Vec<String> = match self.kind {
            PromptKind::Command => command_candidates(&head[..start], word, first_word),
            PromptKind::Filter => filter_candidates(word),
            PromptKind::Pipe | PromptKind::Note => Vec::new(),
        };
        let Some(common) = common_prefix(&candidates) else {
            self.note = Some("no completion".into());
            return Edit::Unchanged;
        };
        let mut replacement = common.clone();
        if candidates.len() == 1 && !replacement.ends_with(':') {
            replacement.push(' ');
        }
        self.text.replace_range(start..end, &replacement);
        self.cursor = self.text[..start + replacement.len()].chars().count();
        self.note = (candidates.len() > 1).then(|| candidates.join("  "));
        Edit::Changed
    }
}

fn common_prefix(words: &[String]) -> Option<String> {
    let (first, rest) = words.split_first()?;
    let mut prefix = first.clone();
    for w in rest {
        while !w.starts_with(&prefix) {
            prefix.pop();
        }
    }
    Some(prefix)
}

/// Command names: the commands below, and every bindable action.
pub fn command_names() -> Vec<String> {
    let mut names: Vec<String> = COMMANDS.iter().map(|(n, _)| n.to_string()).collect();
    names.extend(Action::BINDABLE.iter().map(Action::name));
    names.sort();
    names.dedup();
    names
}

/// The commands that take arguments, with their usage for the help overlay.
pub const COMMANDS: [(&str, &str); 13] = [
    (
        "takedown",
        "takedown [reason=CODE] [scope=DE,AT|global] [note…]",
    ),
    ("keep", "keep [note…]"),
    (
        "escalate",
        "escalate [senior|legal|law_enforcement|child_safety] [note…]",
    ),
    ("filter", "filter [query] — empty clears"),
    ("sort", "sort priority|age|reports|deadline"),
    (
        "lane",
        "lane urgent|authority|trusted_flagger|standard|appeals|all",
    ),
    (
        "tag",
        "tag QUERY — tag every item matching it (without: tag this item)",
    ),
    ("untag", "untag — untag everything"),
    ("pipe", "pipe COMMAND — item JSON on its stdin"),
    (
        "note",
        "note TEXT — a note on this item (without: the prompt)",
    ),
    (
        "queue",
        "queue open|escalated — open items, or those escalated to your tier",
    ),
    ("profile", "profile — who and where this session is"),
    ("help", "help — the keys and commands"),
];

const TIERS: [&str; 4] = ["senior", "legal", "law_enforcement", "child_safety"];

fn command_candidates(before: &str, word: &str, first_word: bool) -> Vec<String> {
    let options: Vec<String> = if first_word {
        command_names()
    } else {
        match before.split_whitespace().next().unwrap_or("") {
            "sort" => Sort::ALL.iter().map(|s| s.as_str().to_string()).collect(),
            "lane" => Lane::ALL
                .iter()
                .map(|l| l.as_str().to_string())
                .chain(["all".to_string()])
                .collect(),
            "escalate" => TIERS.iter().map(|t| t.to_string()).collect(),
            "queue" => ["open", "escalated"].map(String::from).to_vec(),
            "takedown" => ["reason=", "scope="].map(String::from).to_vec(),
            "filter" | "tag" => return filter_candidates(word),
            _ => Vec::new(),
        }
    };
    options
        .into_iter()
        .filter(|o| o.starts_with(word))
        .collect()
}

fn filter_candidates(word: &str) -> Vec<String> {
    // `-` negates: complete what follows it.
    if let Some(rest) = word.strip_prefix('-') {
        return filter_candidates(rest)
            .into_iter()
            .map(|c| format!("-{c}"))
            .collect();
    }
    if let Some(value) = word.strip_prefix("lane:") {
        // In `lane:urgent,au` the last alternative is the one being typed.
        let (head, prefix) = match value.rsplit_once(',') {
            Some((done, typed)) => (format!("lane:{done},"), typed),
            None => ("lane:".to_string(), value),
        };
        return Lane::ALL
            .iter()
            .filter(|l| l.as_str().starts_with(prefix))
            .map(|l| format!("{head}{}", l.as_str()))
            .collect();
    }
    KEYS.iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| k.starts_with(word))
        .collect()
}

/// A command line, understood.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Any bindable action by its name (`:take_down`, `:quit`).
    Action(Action),
    TakeDown {
        reason: Option<String>,
        scope: Option<crate::model::Scope>,
        note: Option<String>,
    },
    Keep {
        note: Option<String>,
    },
    Escalate {
        tier: EscalationTier,
        note: Option<String>,
    },
    Filter(String),
    Sort(Sort),
    Lane(Option<Lane>),
    /// Tag every item matching this filter.
    Tag(String),
    Untag,
    /// A note on the selected item, sent at once.
    Note(String),
    Queue(crate::model::ReviewState),
    Pipe(String),
    Profile,
    Help,
}

pub fn parse_command(line: &str) -> Result<Command, String> {
    let line = line.trim();
    let (name, rest) = match line.split_once(char::is_whitespace) {
        Some((n, r)) => (n, r.trim()),
        None => (line, ""),
    };
    let note = |s: &str| {
        let s = s.trim().trim_matches('"').trim();
        (!s.is_empty()).then(|| s.to_string())
    };
    Ok(match name {
        "" => return Err("type a command; tab completes".into()),
        "takedown" | "take_down" if !rest.is_empty() => parse_takedown(rest)?,
        "keep" if !rest.is_empty() => Command::Keep { note: note(rest) },
        "escalate" if !rest.is_empty() => {
            let (first, after) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            match parse_tier(first) {
                Some(tier) => Command::Escalate {
                    tier,
                    note: note(after),
                },
                None => Command::Escalate {
                    tier: EscalationTier::Senior,
                    note: note(rest),
                },
            }
        }
        "filter" => Command::Filter(rest.to_string()),
        "sort" => Command::Sort(
            Sort::parse(rest).ok_or("sort by priority, age, reports or deadline".to_string())?,
        ),
        "lane" => Command::Lane(match rest {
            "all" | "" => None,
            l => Some(Lane::parse(l).ok_or(format!(
                "no lane {l:?}: urgent, authority, trusted_flagger, standard, appeals or all"
            ))?),
        }),
        "tag" if !rest.is_empty() => Command::Tag(rest.to_string()),
        "untag" => Command::Untag,
        "note" if !rest.is_empty() => Command::Note(rest.trim_matches('"').trim().to_string()),
        "queue" => Command::Queue(match rest {
            "open" | "" => crate::model::ReviewState::Open,
            "escalated" => crate::model::ReviewState::Escalated,
            other => return Err(format!("no queue {other:?}: open or escalated")),
        }),
        "pipe" if !rest.is_empty() => Command::Pipe(rest.to_string()),
        "profile" => Command::Profile,
        "help" => Command::Help,
        other => match Action::named(other) {
            Some(action) if rest.is_empty() => Command::Action(action),
            Some(_) => return Err(format!("{other} takes no arguments")),
            None => return Err(format!("no command {other:?}; tab lists them")),
        },
    })
}

fn parse_tier(s: &str) -> Option<EscalationTier> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
}

fn parse_takedown(rest: &str) -> Result<Command, String> {
    let mut reason = None;
    let mut scope = None;
    let mut note_words = Vec::new();
    for word in rest.split_whitespace() {
        if let Some(r) = word.strip_prefix("reason=") {
            reason = Some(r.to_string());
        } else if let Some(s) = word.strip_prefix("scope=") {
            let wire = if s.eq_ignore_ascii_case("global") {
                serde_json::Value::String("global".into())
            } else {
                serde_json::Value::Array(
                    s.split(',')
                        .filter(|c| !c.is_empty())
                        .map(|c| serde_json::Value::String(c.to_string()))
                        .collect(),
                )
            };
            scope = Some(
                serde_json::from_value(wire)
                    .map_err(|e| format!("scope={s}: {e}; e.g. scope=DE,AT or scope=global"))?,
            );
        } else {
            note_words.push(word);
        }
    }
    let note = note_words.join(" ");
    let note = note.trim_matches('"').trim();
    Ok(Command::TakeDown {
        reason,
        scope,
        note: (!note.is_empty()).then(|| note.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Scope;

    fn type_keys(p: &mut Prompt, s: &str) {
        for c in s.chars() {
            p.key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    #[test]
    fn commands_parse_with_their_arguments() {
        assert_eq!(
            parse_command("takedown reason=spam scope=de,AT \"wave of 40\""),
            Ok(Command::TakeDown {
                reason: Some("spam".into()),
                scope: Some(Scope::Countries(vec!["AT".into(), "DE".into()])),
                note: Some("wave of 40".into()),
            })
        );
        assert_eq!(
            parse_command("escalate legal \"court order\""),
            Ok(Command::Escalate {
                tier: EscalationTier::Legal,
                note: Some("court order".into())
            })
        );
        assert_eq!(
            parse_command("take_down"),
            Ok(Command::Action(Action::TakeDown))
        );
        assert_eq!(
            parse_command("sort deadline"),
            Ok(Command::Sort(Sort::Deadline))
        );
        assert!(parse_command("takedown scope=Germany").is_err());
        assert!(
            parse_command("frobnicate")
                .unwrap_err()
                .contains("frobnicate")
        );
    }

    #[test]
    fn every_bindable_action_is_also_a_command() {
        // `:filter` alone clears the filter and `:help` opens the help: what their keys do
        // (or the natural reading of it) as commands.
        assert_eq!(parse_command("filter"), Ok(Command::Filter(String::new())));
        assert_eq!(parse_command("help"), Ok(Command::Help));
        for action in Action::BINDABLE
            .into_iter()
            .filter(|a| !matches!(a, Action::Filter | Action::Help))
        {
            assert_eq!(
                parse_command(&action.name()),
                Ok(Command::Action(action.clone())),
                "{action:?}"
            );
        }
    }

    #[test]
    fn tab_completes_commands_and_arguments() {
        let mut p = Prompt::new(PromptKind::Command, "");
        type_keys(&mut p, "so");
        p.key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
        assert_eq!(p.text, "sort ");
        type_keys(&mut p, "de");
        p.key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
        assert_eq!(p.text, "sort deadline ");

        let mut p = Prompt::new(PromptKind::Filter, "cat:spam lane");
        p.key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
        assert_eq!(p.text, "cat:spam lane:");
        p.key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
        assert!(p.note.as_deref().unwrap_or("").contains("lane:urgent"));

        // Negated, and the last of several alternatives.
        let mut p = Prompt::new(PromptKind::Filter, "-lane");
        p.key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
        assert_eq!(p.text, "-lane:");
        type_keys(&mut p, "urgent,ap");
        p.key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
        assert_eq!(p.text, "-lane:urgent,appeals ");
    }

    #[test]
    fn editing_keys_work_on_characters_not_bytes() {
        let mut p = Prompt::new(PromptKind::Filter, "");
        type_keys(&mut p, "заработок");
        p.key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE));
        p.key(KeyEvent::new(KeyCode::Left, KeyModifiers::NONE));
        type_keys(&mut p, "X");
        assert_eq!(p.text, "заработXо");
        p.key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!(p.text, "о");
        assert_eq!(
            p.key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)),
            Edit::Cancel
        );
    }
}
