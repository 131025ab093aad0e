//! The one-line editor under `/` (filter), `:` (command line) and `|` (pipe), with completion
//! for the command line and the filter keys.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;
use super::picker::countries::{self, Group, Rank, aliases_of, countries, rank};
use crate::model::{EscalationTier, Lane, Scope};
use crate::policy::PolicyCatalog;
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
    /// The policy catalog's reason codes, for `reason=` completion (empty: none known yet).
    pub reason_codes: Vec<String>,
    /// The backend's lanes and tiers, for `lane` and `escalate` completion.
    lanes: Vec<Lane>,
    tiers: Vec<EscalationTier>,
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
            reason_codes: Vec::new(),
            lanes: Lane::ALL.to_vec(),
            tiers: EscalationTier::ALL.to_vec(),
        }
    }

    /// The same line, completing lanes and tiers from the backend's (its capabilities).
    pub fn with_backend(mut self, lanes: &[Lane], tiers: &[EscalationTier]) -> Prompt {
        self.lanes = lanes.to_vec();
        self.tiers = tiers.to_vec();
        self
    }

    /// The same line, completing `reason=` from these codes.
    pub fn with_reason_codes(mut self, codes: Vec<String>) -> Prompt {
        self.reason_codes = codes;
        self
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
        let head = self.text.get(..end).unwrap_or_default().to_string();
        let start = head.rfind(' ').map_or(0, |i| i + 1);
        let word = head.get(start..).unwrap_or_default();
        let before = head.get(..start).unwrap_or_default();
        let first_word = !before.contains(|c: char| !c.is_whitespace());
        let command = before.split_whitespace().next().unwrap_or("");
        let decision_argument = self.kind == PromptKind::Command
            && matches!(command, "takedown" | "take_down")
            && (word.starts_with("reason=") || word.starts_with("scope="));
        if decision_argument {
            let (candidates, shown) = argument_candidates(word, &self.reason_codes);
            return self.replace_word(start, end, word, &candidates, &shown);
        }
        let candidates: Vec<String> = match self.kind {
            PromptKind::Command => command_candidates(before, word, first_word, self),
            PromptKind::Filter => filter_candidates(word, &self.lanes),
            PromptKind::Pipe | PromptKind::Note => Vec::new(),
        };
        self.replace_word(start, end, word, &candidates, &candidates)
    }

    /// Put the one candidate, or the candidates' longest common prefix when it goes on from
    /// what is typed, in place of the word, and list them in `note` (as `shown`) when there are several.
    fn replace_word(
        &mut self,
        start: usize,
        end: usize,
        word: &str,
        candidates: &[String],
        shown: &[String],
    ) -> Edit {
        let Some(common) = common_prefix(candidates) else {
            self.note = Some("no completion".into());
            return Edit::Unchanged;
        };
        let mut replacement = if candidates.len() == 1 || common.starts_with(word) {
            common
        } else {
            word.to_string()
        };
        let open_ended =
            replacement.ends_with(':') || replacement.ends_with('=') || replacement.ends_with(',');
        if candidates.len() == 1 && !open_ended {
            replacement.push(' ');
        }
        self.text.replace_range(start..end, &replacement);
        self.cursor = self
            .text
            .get(..start + replacement.len())
            .map_or(0, |t| t.chars().count());
        self.note = (candidates.len() > 1).then(|| shown.join("  "));
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
pub const COMMANDS: [(&str, &str); 14] = [
    (
        "takedown",
        "takedown [reason=CODE] [scope=DE,AT|EU|EEA|global] [note…]",
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
    (
        "view",
        "view NAME — a saved view ([view.NAME] in config.toml); esc goes back",
    ),
    ("profile", "profile — who and where this session is"),
    ("help", "help — the keys and commands"),
];

fn command_candidates(before: &str, word: &str, first_word: bool, prompt: &Prompt) -> Vec<String> {
    let options: Vec<String> = if first_word {
        command_names()
    } else {
        match before.split_whitespace().next().unwrap_or("") {
            "sort" => Sort::ALL.iter().map(|s| s.as_str().to_string()).collect(),
            "lane" => (prompt.lanes.iter())
                .map(|l| l.as_str().to_string())
                .chain(["all".to_string()])
                .collect(),
            "escalate" => (prompt.tiers.iter())
                .map(|t| t.as_str().to_string())
                .collect(),
            "queue" => ["open", "escalated"].map(String::from).to_vec(),
            "takedown" | "take_down" => ["reason=", "scope="].map(String::from).to_vec(),
            "filter" | "tag" => return filter_candidates(word, &prompt.lanes),
            _ => Vec::new(),
        }
    };
    options
        .into_iter()
        .filter(|o| o.starts_with(word))
        .collect()
}

/// `reason=…` from the catalog's codes; `scope=…` from `global`, the groups and the country
/// codes (the last of a comma list is completed; a name or its start finds its code). Returns
/// the words to put in place, and how to show each when there are several.
fn argument_candidates(word: &str, reason_codes: &[String]) -> (Vec<String>, Vec<String>) {
    if let Some(typed) = word.strip_prefix("reason=") {
        let found: Vec<String> = reason_codes
            .iter()
            .filter(|c| c.starts_with(typed))
            .map(|c| format!("reason={c}"))
            .collect();
        let shown = found
            .iter()
            .map(|c| c.trim_start_matches("reason=").to_string())
            .collect();
        return (found, shown);
    }
    let list = word.strip_prefix("scope=").unwrap_or(word);
    let (done, last) = match list.rfind(',') {
        Some(i) => (
            list.get(..=i).unwrap_or(""),
            list.get(i + 1..).unwrap_or(""),
        ),
        None => ("", list),
    };
    let mut found: Vec<(Rank, String, String)> = Vec::new();
    if done.is_empty() && "global".starts_with(&last.to_lowercase()) {
        found.push((Rank::Prefix, "global".into(), "global".into()));
    }
    for g in Group::ALL {
        if let Some(r) = rank(last, g.code(), g.name(), &[]).filter(|_| !last.is_empty()) {
            found.push((r, g.code().into(), format!("{} ({})", g.code(), g.name())));
        }
    }
    for (code, name) in countries() {
        let r = if last.is_empty() {
            Some(Rank::Prefix)
        } else {
            rank(last, code, name, &aliases_of(code))
        };
        if let Some(r) = r {
            found.push((r, code.into(), format!("{code} {name}")));
        }
    }
    found.sort_by_key(|(r, _, _)| *r);
    // A code or a name typed in full is the one meant.
    if let Some((best, ..)) = found.first()
        && *best <= Rank::Name
    {
        let best = *best;
        found.retain(|(r, _, _)| *r == best);
    }
    let words = found
        .iter()
        .map(|(_, code, _)| format!("scope={done}{code}"))
        .collect();
    let shown = found.into_iter().map(|(_, _, label)| label).collect();
    (words, shown)
}

fn filter_candidates(word: &str, lanes: &[Lane]) -> Vec<String> {
    // `-` negates: complete what follows it.
    if let Some(rest) = word.strip_prefix('-') {
        return filter_candidates(rest, lanes)
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
        return lanes
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
    /// A saved view from the config file, by name.
    View(String),
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
                Some(tier) if tier.needs_note() && note(after).is_none() => {
                    return Err(format!(
                        "an escalation to {} needs a note: escalate {first} WHAT TO LOOK AT",
                        tier.label()
                    ));
                }
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
        "view" if !rest.is_empty() => Command::View(rest.to_string()),
        "view" => return Err("view NAME: a [view.NAME] of config.toml".into()),
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
            if reason.replace(r.to_string()).is_some() {
                return Err("reason= is given twice; a take down cites one reason".into());
            }
            if r.is_empty() {
                return Err("reason= needs a code; tab lists the catalog's".into());
            }
        } else if let Some(s) = word.strip_prefix("scope=") {
            let parsed = if s.eq_ignore_ascii_case("global") {
                Scope::Global
            } else {
                Scope::Countries(
                    countries::parse_codes(s)
                        .map_err(|e| format!("scope={s}: {e}; e.g. scope=DE,AT or scope=global"))?,
                )
            };
            if scope.replace(parsed).is_some() {
                return Err("scope= is given twice; list the countries in one: scope=DE,AT".into());
            }
        } else if let Some((key, _)) = word.split_once('=')
            && note_words.is_empty()
            && !key.is_empty()
            && key.chars().all(|c| c.is_ascii_alphabetic() || c == '_')
        {
            // A mistyped option must not slip into the note (and the default into force).
            return Err(format!(
                "takedown takes reason= and scope=, not {key}=; put a note after them"
            ));
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

/// A reason typed on the command line is one the catalog has: the server would refuse any
/// other, after the decision was journaled and the moderator had moved on.
pub fn check_reason(reason: Option<&str>, catalog: Option<&PolicyCatalog>) -> Result<(), String> {
    let Some(code) = reason else {
        return Ok(());
    };
    match catalog {
        Some(c) if c.get(code).is_some() => Ok(()),
        Some(c) => {
            let close: Vec<&str> = c
                .policies
                .iter()
                .map(|p| p.code.as_str())
                .filter(|p| p.starts_with(code.get(..2).unwrap_or(code)))
                .collect();
            let hint = if close.is_empty() {
                "tab lists the catalog's codes".to_string()
            } else {
                format!("perhaps {}", close.join(", "))
            };
            Err(format!(
                "reason={code} is not in the policy catalog; {hint}"
            ))
        }
        None => Err(format!(
            "reason={code} cannot be checked: the policy catalog has not arrived; \
             leave reason= out and the server cites the item's default"
        )),
    }
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

    fn tab(p: &mut Prompt) {
        p.key(KeyEvent::new(KeyCode::Tab, KeyModifiers::NONE));
    }

    #[test]
    fn a_typed_take_down_names_real_countries_and_known_options_only() {
        let bad = parse_command("takedown reason=bogus scope=XX").unwrap_err();
        assert!(bad.contains("\"XX\" is not an ISO 3166-1"), "{bad}");
        assert!(parse_command("takedown scope=DE,ZZ").is_err());
        assert_eq!(
            parse_command("takedown scope=eu,ch"),
            Ok(Command::TakeDown {
                reason: None,
                scope: Some(Scope::Countries({
                    let mut all: Vec<String> =
                        countries::EU.iter().map(|c| c.to_string()).collect();
                    all.push("CH".into());
                    all.sort();
                    all
                })),
                note: None,
            })
        );
        let typo = parse_command("takedown reson=hate scope=DE").unwrap_err();
        assert!(typo.contains("not reson="), "{typo}");
        assert!(parse_command("takedown scope=DE scope=AT").is_err());
        // After the note starts, `=` is the moderator's own text.
        assert_eq!(
            parse_command("takedown scope=FR order no=4711"),
            Ok(Command::TakeDown {
                reason: None,
                scope: Some(Scope::Countries(vec!["FR".into()])),
                note: Some("order no=4711".into()),
            })
        );
        let legal = parse_command("escalate legal").unwrap_err();
        assert!(legal.contains("needs a note"), "{legal}");
    }

    #[test]
    fn reasons_are_checked_against_the_catalog() {
        let catalog = PolicyCatalog::builtin();
        assert_eq!(check_reason(None, None), Ok(()));
        assert_eq!(check_reason(Some("spam"), Some(&catalog)), Ok(()));
        let bogus = check_reason(Some("bogus"), Some(&catalog)).unwrap_err();
        assert!(bogus.contains("not in the policy catalog"), "{bogus}");
        assert!(
            check_reason(Some("spam"), None).is_err(),
            "nothing to check against"
        );
    }

    #[test]
    fn tab_completes_reason_codes_and_countries() {
        let codes: Vec<String> = ["spam", "scam", "phishing"].map(String::from).to_vec();
        let mut p =
            Prompt::new(PromptKind::Command, "takedown reason=ph").with_reason_codes(codes.clone());
        tab(&mut p);
        assert_eq!(p.text, "takedown reason=phishing ");
        let mut p = Prompt::new(PromptKind::Command, "takedown reason=s").with_reason_codes(codes);
        tab(&mut p);
        assert_eq!(p.text, "takedown reason=s");
        assert_eq!(p.note.as_deref(), Some("spam  scam"));

        // A code in either case, a name, a group; the last of a list.
        for (typed, done) in [
            ("scope=de", "scope=DE "),
            ("scope=germ", "scope=DE "),
            ("scope=DE,austria", "scope=DE,AT "),
            ("scope=eea", "scope=EEA "),
            ("scope=glo", "scope=global "),
        ] {
            let mut p = Prompt::new(PromptKind::Command, &format!("takedown {typed}"));
            tab(&mut p);
            assert_eq!(p.text, format!("takedown {done}"), "{typed}");
        }
        // Several: the typed text stays, the choices are listed with their names.
        let mut p = Prompt::new(PromptKind::Command, "takedown scope=united");
        tab(&mut p);
        assert_eq!(p.text, "takedown scope=united");
        let listed = p.note.clone().unwrap_or_default();
        assert!(
            listed.contains("GB United Kingdom") && listed.contains("US United States"),
            "{listed}"
        );
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
