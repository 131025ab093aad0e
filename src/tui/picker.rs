//! The `T` and `E` pickers: a take down with a reason from the policy catalog, a territorial
//! scope (global, or countries found by typing their name or code) and an optional note; an
//! escalation to a tier with a required note. A pure state machine: keys in, a decision's
//! details out.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::details::Details;
use crate::model::{DecisionAction, EscalationTier, Scope};

/// ISO 3166-1 alpha-2 codes and names, as data (`assets/iso3166.tsv`).
const COUNTRIES_TSV: &str = include_str!("../../assets/iso3166.tsv");

pub fn countries() -> Vec<(&'static str, &'static str)> {
    COUNTRIES_TSV
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .collect()
}

/// The name of a country code, if it is one.
pub fn country_name(code: &str) -> Option<&'static str> {
    COUNTRIES_TSV
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|(_, n)| n)
}

pub const TIERS: [(EscalationTier, &str); 4] = [
    (EscalationTier::Senior, "senior moderator"),
    (EscalationTier::Legal, "legal"),
    (EscalationTier::LawEnforcement, "law-enforcement liaison"),
    (EscalationTier::ChildSafety, "child-safety specialist"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Reason,
    Scope,
    Tier,
    Note,
}

/// One line to choose: what is sent, and what is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub value: String,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picker {
    pub action: DecisionAction,
    pub step: Step,
    /// What is typed to narrow the list of the current step.
    pub search: String,
    /// Highlighted line among the matching choices.
    pub cursor: usize,
    reasons: Vec<Choice>,
    pub reason: Option<String>,
    /// Chosen countries; empty means global.
    pub countries: Vec<String>,
    pub tier: EscalationTier,
    pub note: String,
    /// Why Enter was refused.
    pub error: Option<String>,
}

/// What a key did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Continue,
    Cancel,
    Decide(DecisionAction, Details),
}

/// The choice value standing for a global scope.
const GLOBAL: &str = "global";

impl Picker {
    /// A take down: reasons from the catalog (`(code, title)`), `default_reason` highlighted,
    /// the item's countries pre-chosen (else global).
    pub fn take_down(
        reasons: Vec<(String, String)>,
        default_reason: Option<String>,
        countries: Vec<String>,
    ) -> Picker {
        let reasons: Vec<Choice> = reasons
            .into_iter()
            .map(|(code, title)| Choice {
                label: format!("{code} — {title}"),
                value: code,
            })
            .collect();
        let cursor = default_reason
            .as_ref()
            .and_then(|d| reasons.iter().position(|c| &c.value == d))
            .unwrap_or(0);
        let mut countries: Vec<String> = countries
            .into_iter()
            .map(|c| c.to_ascii_uppercase())
            .filter(|c| country_name(c).is_some())
            .collect();
        countries.sort();
        countries.dedup();
        Picker {
            action: DecisionAction::TakeDown,
            step: if reasons.is_empty() {
                Step::Scope
            } else {
                Step::Reason
            },
            search: String::new(),
            cursor,
            reason: default_reason,
            reasons,
            countries,
            tier: EscalationTier::Senior,
            note: String::new(),
            error: None,
        }
    }

    pub fn escalate() -> Picker {
        Picker {
            action: DecisionAction::Escalate,
            step: Step::Tier,
            search: String::new(),
            cursor: 0,
            reasons: Vec::new(),
            reason: None,
            countries: Vec::new(),
            tier: EscalationTier::Senior,
            note: String::new(),
            error: None,
        }
    }

    /// The choices of the current step that match what is typed.
    pub fn choices(&self) -> Vec<Choice> {
        let all: Vec<Choice> = match self.step {
            Step::Reason => self.reasons.clone(),
            Step::Scope => std::iter::once(Choice {
                value: GLOBAL.into(),
                label: "global — everywhere".into(),
            })
            .chain(countries().into_iter().map(|(code, name)| Choice {
                value: code.to_string(),
                label: format!("{code} — {name}"),
            }))
            .collect(),
            Step::Tier => TIERS
                .iter()
                .map(|(tier, label)| Choice {
                    value: tier_name(*tier).to_string(),
                    label: label.to_string(),
                })
                .collect(),
            Step::Note => Vec::new(),
        };
        let needle = self.search.to_lowercase();
        all.into_iter()
            .filter(|c| needle.is_empty() || c.label.to_lowercase().contains(&needle))
            .collect()
    }

    pub fn scope(&self) -> Scope {
        if self.countries.is_empty() {
            Scope::Global
        } else {
            Scope::Countries(self.countries.clone())
        }
    }

    pub fn key(&mut self, key: KeyEvent) -> Outcome {
        self.error = None;
        if key.code == KeyCode::Esc
            || (key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL))
        {
            return Outcome::Cancel;
        }
        if self.step == Step::Note {
            return self.note_key(key);
        }
        let choices = self.choices();
        match key.code {
            KeyCode::Down => self.cursor = (self.cursor + 1).min(choices.len().saturating_sub(1)),
            KeyCode::Up => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Backspace => {
                self.search.pop();
                self.cursor = 0;
            }
            KeyCode::Char(' ') if self.step == Step::Scope => {
                if let Some(choice) = choices.get(self.cursor) {
                    self.toggle_country(&choice.value);
                }
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.search.push(c);
                self.cursor = 0;
            }
            KeyCode::Tab => self.next_step(),
            KeyCode::Enter => match choices.get(self.cursor) {
                Some(choice) => {
                    let value = choice.value.clone();
                    match self.step {
                        Step::Reason => self.reason = Some(value),
                        Step::Scope if value == GLOBAL => self.countries.clear(),
                        // Enter on a country with none chosen yet: that one country.
                        Step::Scope if self.countries.is_empty() => self.toggle_country(&value),
                        Step::Scope => {}
                        Step::Tier => {
                            self.tier = TIERS
                                .iter()
                                .find(|(t, _)| tier_name(*t) == value)
                                .map_or(EscalationTier::Senior, |(t, _)| *t);
                        }
                        Step::Note => {}
                    }
                    self.next_step();
                }
                None => self.error = Some("nothing matches what you typed".into()),
            },
            _ => {}
        }
        Outcome::Continue
    }

    fn toggle_country(&mut self, code: &str) {
        if code == GLOBAL {
            self.countries.clear();
        } else if let Some(i) = self.countries.iter().position(|c| c == code) {
            self.countries.remove(i);
        } else {
            self.countries.push(code.to_string());
            self.countries.sort();
        }
    }

    fn next_step(&mut self) {
        self.step = match self.step {
            Step::Reason => Step::Scope,
            Step::Scope | Step::Tier | Step::Note => Step::Note,
        };
        self.search.clear();
        self.cursor = 0;
    }

    fn note_key(&mut self, key: KeyEvent) -> Outcome {
        match key.code {
            KeyCode::Enter => {
                let note = self.note.trim().to_string();
                if self.action == DecisionAction::Escalate && note.is_empty() {
                    self.error =
                        Some("an escalation needs a note: what should the tier know?".into());
                    return Outcome::Continue;
                }
                let details = Details {
                    reason_code: self.reason.clone(),
                    scope: (self.action == DecisionAction::TakeDown).then(|| self.scope()),
                    note: (!note.is_empty()).then_some(note),
                    tier: (self.action == DecisionAction::Escalate).then_some(self.tier),
                };
                Outcome::Decide(self.action, details)
            }
            KeyCode::Backspace => {
                self.note.pop();
                Outcome::Continue
            }
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.note.clear();
                Outcome::Continue
            }
            KeyCode::Char(c) if !c.is_control() && self.note.chars().count() < 2000 => {
                self.note.push(c);
                Outcome::Continue
            }
            _ => Outcome::Continue,
        }
    }
}

pub fn tier_name(t: EscalationTier) -> &'static str {
    match t {
        EscalationTier::Senior => "senior",
        EscalationTier::Legal => "legal",
        EscalationTier::LawEnforcement => "law_enforcement",
        EscalationTier::ChildSafety => "child_safety",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(p: &mut Picker, keys: &str) -> Outcome {
        let mut last = Outcome::Continue;
        for c in keys.chars() {
            let code = match c {
                '\n' => KeyCode::Enter,
                '\u{8}' => KeyCode::Backspace,
                '↓' => KeyCode::Down,
                c => KeyCode::Char(c),
            };
            last = p.key(KeyEvent::new(code, KeyModifiers::NONE));
        }
        last
    }

    #[test]
    fn the_iso_list_is_complete_enough_to_search() {
        let all = countries();
        assert_eq!(all.len(), 249);
        assert_eq!(country_name("de"), Some("Germany"));
        assert_eq!(country_name("XX"), None);
    }

    #[test]
    fn a_take_down_in_two_countries_found_by_name_with_a_note() {
        let reasons = vec![
            ("spam".to_string(), "Spam".to_string()),
            ("hate".to_string(), "Illegal hate speech".to_string()),
        ];
        let mut p = Picker::take_down(reasons, Some("spam".into()), vec!["de".into(), "zz".into()]);
        assert_eq!(
            p.countries,
            vec!["DE"],
            "the item's countries, real ones only"
        );
        // The default reason is highlighted; type to find another.
        press(&mut p, "hate\n");
        assert_eq!(p.reason.as_deref(), Some("hate"));
        assert_eq!(p.step, Step::Scope);
        // Austria by name, added to Germany.
        press(&mut p, "austr");
        assert_eq!(p.choices()[0].value, "AT");
        press(&mut p, " ");
        assert_eq!(p.countries, vec!["AT", "DE"]);
        match press(&mut p, "\ncourt order 4711\n") {
            Outcome::Decide(DecisionAction::TakeDown, d) => {
                assert_eq!(d.reason_code.as_deref(), Some("hate"));
                assert_eq!(
                    d.scope,
                    Some(Scope::Countries(vec!["AT".into(), "DE".into()]))
                );
                assert_eq!(d.note.as_deref(), Some("court order 4711"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn global_clears_the_countries() {
        let mut p = Picker::take_down(Vec::new(), None, vec!["FR".into()]);
        assert_eq!(p.step, Step::Scope);
        match press(&mut p, "glob\n\n") {
            Outcome::Decide(_, d) => assert_eq!(d.scope, Some(Scope::Global)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_escalation_needs_a_tier_and_a_note() {
        let mut p = Picker::escalate();
        press(&mut p, "legal\n");
        assert_eq!(p.tier, EscalationTier::Legal);
        assert_eq!(
            press(&mut p, "\n"),
            Outcome::Continue,
            "no note, no escalation"
        );
        assert!(p.error.as_deref().unwrap_or("").contains("needs a note"));
        match press(&mut p, "court order from AT\n") {
            Outcome::Decide(DecisionAction::Escalate, d) => {
                assert_eq!(d.tier, Some(EscalationTier::Legal));
                assert_eq!(d.note.as_deref(), Some("court order from AT"));
            }
            other => panic!("{other:?}"),
        }
    }
}
