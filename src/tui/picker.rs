//! The `T` and `E` pickers: a take down with a reason from the policy catalog, a territorial
//! scope (global, or countries found by typing their code or name, or the EU or EEA) and an
//! optional note; an escalation to a tier with a required note. A pure state machine: keys
//! in, a decision's details out.
//!
//! `T` starts on what `t` would do (the default reason, global): a narrower scope is always
//! a choice the moderator makes, never one the picker made for them.

pub mod countries;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::details::Details;
use crate::account::{AccountAction, AccountMeasure};
use crate::model::{DecisionAction, EscalationTier, Scope};
use countries::{Group, Rank, aliases_of, rank};
pub use countries::{countries, country_name};

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
    /// A measure on the author's account (backends with `account_measures` only).
    Account,
    Tier,
    Note,
}

/// What choosing a line of the scope list does.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A reason or a tier: the line's value.
    Plain,
    Global,
    Group(Group),
    Country(String),
}

/// One line to choose: what is sent, and what is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub value: String,
    pub label: String,
    target: Target,
    /// How the search found it (scope lines only).
    rank: Option<Rank>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picker {
    pub action: DecisionAction,
    pub step: Step,
    /// What is typed to narrow the list of the current step.
    pub search: String,
    /// Highlighted line among the matching choices.
    pub cursor: usize,
    /// The moderator typed or moved to the highlighted scope line: Enter takes it. Until then
    /// Enter keeps the scope as chosen so far (global when nothing is).
    aimed: bool,
    reasons: Vec<Choice>,
    pub reason: Option<String>,
    /// Chosen countries, sorted; empty means global.
    pub countries: Vec<String>,
    /// The item's own countries: offered first, chosen only by the moderator.
    suggested: Vec<String>,
    pub tier: EscalationTier,
    /// The tiers offered, in the backend's order.
    tiers: Vec<EscalationTier>,
    /// Whether a take down may be limited to countries (the backend's `country_scope`).
    scoped: bool,
    pub note: String,
    /// Why Enter was refused.
    pub error: Option<String>,
    /// The account step's lines; empty: no account step.
    accounts: Vec<Choice>,
    /// The measure on the author's account sent with the take down; the catalog's
    /// proposal until the moderator picks otherwise.
    pub account: Option<AccountMeasure>,
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
    /// A take down: reasons from the catalog (`(code, title)`), `default_reason` highlighted
    /// (the one `t` would cite), global scope, and the item's countries offered first.
    pub fn take_down(
        reasons: Vec<(String, String)>,
        default_reason: Option<String>,
        item_countries: Vec<String>,
    ) -> Picker {
        let reasons: Vec<Choice> = reasons
            .into_iter()
            .map(|(code, title)| Choice {
                label: format!("{code} — {title}"),
                value: code,
                target: Target::Plain,
                rank: None,
            })
            .collect();
        let cursor = default_reason
            .as_ref()
            .and_then(|d| reasons.iter().position(|c| &c.value == d))
            .unwrap_or(0);
        let mut suggested: Vec<String> = item_countries
            .into_iter()
            .map(|c| c.to_ascii_uppercase())
            .filter(|c| c.len() == 2 && country_name(c).is_some())
            .collect();
        suggested.sort();
        suggested.dedup();
        Picker {
            action: DecisionAction::TakeDown,
            step: if reasons.is_empty() {
                Step::Scope
            } else {
                Step::Reason
            },
            search: String::new(),
            cursor,
            aimed: false,
            reason: default_reason,
            reasons,
            countries: Vec::new(),
            suggested,
            tier: EscalationTier::Senior,
            tiers: EscalationTier::ALL.to_vec(),
            scoped: true,
            note: String::new(),
            error: None,
            accounts: Vec::new(),
            account: None,
        }
    }

    /// Adds the account step: no measure, a strike, restrictions and suspensions of a week
    /// or a month, a ban, and the catalog's `proposal` (why: `because`), which starts chosen
    /// and highlighted. Enter takes a line, Tab keeps what is chosen.
    pub fn with_account(
        mut self,
        proposal: Option<AccountMeasure>,
        because: Option<String>,
    ) -> Picker {
        let measure = |action, days| AccountMeasure { action, days };
        let mut offered = vec![
            None,
            Some(AccountMeasure::strike()),
            Some(measure(AccountAction::Restrict, Some(7))),
            Some(measure(AccountAction::Restrict, Some(30))),
            Some(measure(AccountAction::Suspend, Some(7))),
            Some(measure(AccountAction::Suspend, Some(30))),
            Some(measure(AccountAction::Ban, None)),
        ];
        if proposal.is_some() && !offered.contains(&proposal) {
            let at = offered.len().saturating_sub(1);
            offered.insert(at, proposal);
        }
        self.accounts = offered
            .into_iter()
            .map(|m| {
                let proposed = m.is_some() && m == proposal;
                let mut label = account_label(m.as_ref());
                if proposed {
                    label.push_str(" · proposed");
                    if let Some(why) = &because {
                        label.push_str(&format!(" ({why})"));
                    }
                }
                Choice {
                    value: account_value(m.as_ref()),
                    label,
                    target: Target::Plain,
                    rank: None,
                }
            })
            .collect();
        self.account = proposal;
        self
    }

    /// The account line as the summary shows it.
    pub fn account_summary(&self) -> String {
        account_label(self.account.as_ref())
    }

    /// Whether this picker has an account step.
    pub fn has_account_step(&self) -> bool {
        !self.accounts.is_empty()
    }

    /// A take down that is always global: the backend cannot limit one to countries, so the
    /// scope step is left out.
    pub fn without_scope(mut self) -> Picker {
        self.scoped = false;
        if self.step == Step::Scope {
            self.step = Step::Note;
        }
        self
    }

    /// An escalation offering only `tiers` (the backend's), the first one highlighted.
    pub fn with_tiers(mut self, tiers: &[EscalationTier]) -> Picker {
        if let Some(first) = tiers.first() {
            self.tier = *first;
            self.tiers = tiers.to_vec();
        }
        self
    }

    pub fn escalate() -> Picker {
        Picker {
            action: DecisionAction::Escalate,
            step: Step::Tier,
            search: String::new(),
            cursor: 0,
            aimed: false,
            reasons: Vec::new(),
            reason: None,
            countries: Vec::new(),
            suggested: Vec::new(),
            tier: EscalationTier::Senior,
            tiers: EscalationTier::ALL.to_vec(),
            scoped: true,
            note: String::new(),
            error: None,
            accounts: Vec::new(),
            account: None,
        }
    }

    /// The choices of the current step that match what is typed, best first.
    pub fn choices(&self) -> Vec<Choice> {
        let all: Vec<Choice> = match self.step {
            Step::Reason => self.reasons.clone(),
            Step::Scope => return self.scope_choices(),
            Step::Account => self.accounts.clone(),
            Step::Tier => TIERS
                .iter()
                .filter(|(tier, _)| self.tiers.contains(tier))
                .map(|(tier, label)| Choice {
                    value: tier_name(*tier).to_string(),
                    label: label.to_string(),
                    target: Target::Plain,
                    rank: None,
                })
                .collect(),
            Step::Note => Vec::new(),
        };
        let needle = self.search.to_lowercase();
        all.into_iter()
            .filter(|c| needle.is_empty() || c.label.to_lowercase().contains(&needle))
            .collect()
    }

    /// Global, the groups and every country; with nothing typed the item's own countries
    /// come right after global, and with something typed the best matches come first (see
    /// [`countries`]): a country's code before any name that contains it.
    fn scope_choices(&self) -> Vec<Choice> {
        let global = Choice {
            value: GLOBAL.into(),
            label: "global — everywhere (what t does)".into(),
            target: Target::Global,
            rank: rank(&self.search, GLOBAL, GLOBAL, &["everywhere", "worldwide"]),
        };
        let groups = Group::ALL.into_iter().map(|g| Choice {
            value: g.code().to_string(),
            label: format!(
                "{} — {} ({} countries)",
                g.code(),
                g.name(),
                g.members().len()
            ),
            target: Target::Group(g),
            rank: rank(&self.search, g.code(), g.name(), &[]),
        });
        let country = |code: &str, name: &str, note: &str| Choice {
            value: code.to_string(),
            label: format!("{code} — {name}{note}"),
            target: Target::Country(code.to_string()),
            rank: rank(&self.search, code, name, &aliases_of(code)),
        };
        let list = countries();
        let suggested = self.suggested.iter().filter_map(|code| {
            list.iter()
                .find(|(c, _)| c == code)
                .map(|(c, n)| country(c, n, " · the item's country"))
        });
        let rest = list
            .iter()
            .filter(|(c, _)| !self.suggested.iter().any(|s| s == c))
            .map(|(c, n)| country(c, n, ""));
        let all = std::iter::once(global)
            .chain(suggested)
            .chain(groups)
            .chain(rest);
        if self.search.trim().is_empty() {
            return all.collect();
        }
        let mut found: Vec<Choice> = all.filter(|c| c.rank.is_some()).collect();
        // Stable: within a rank, global, the item's countries, groups, then by code.
        found.sort_by_key(|c| c.rank);
        found
    }

    /// The highlighted line, if Enter or Space would act on one.
    pub fn highlighted(&self) -> Option<usize> {
        let nothing_aimed = self.step == Step::Scope && self.search.is_empty() && !self.aimed;
        (!nothing_aimed).then_some(self.cursor)
    }

    /// Whether a scope line is chosen: a country chosen, or every country of a group.
    pub fn is_chosen(&self, choice: &Choice) -> bool {
        match &choice.target {
            Target::Plain => false,
            Target::Global => self.countries.is_empty(),
            Target::Country(code) => self.countries.contains(code),
            Target::Group(g) => g
                .members()
                .iter()
                .all(|m| self.countries.iter().any(|c| c == m)),
        }
    }

    pub fn scope(&self) -> Scope {
        if self.countries.is_empty() {
            Scope::Global
        } else {
            Scope::Countries(self.countries.clone())
        }
    }

    /// The scope in words: `global — everywhere`, `EU (27) + CH Switzerland`, `DE Germany`.
    pub fn scope_summary(&self) -> String {
        if self.countries.is_empty() {
            return "global — everywhere".into();
        }
        let mut rest: Vec<&str> = self.countries.iter().map(String::as_str).collect();
        let mut parts = Vec::new();
        // The largest group first: the EEA holds the EU.
        for group in [Group::Eea, Group::Eu] {
            let members = group.members();
            if members.iter().all(|m| rest.contains(m)) {
                rest.retain(|c| !members.contains(c));
                parts.push(format!("{} ({})", group.code(), members.len()));
            }
        }
        parts.extend(
            rest.iter()
                .map(|c| format!("{c} {}", country_name(c).unwrap_or(""))),
        );
        parts.join(" + ")
    }

    /// Said while the note is typed when the scope is narrower than `t` would make it.
    pub fn narrower_than_t(&self) -> Option<String> {
        (self.action == DecisionAction::TakeDown && !self.countries.is_empty()).then(|| {
            format!(
                "⚠ only in {} — t would take it down everywhere",
                self.scope_summary()
            )
        })
    }

    pub fn key(&mut self, key: KeyEvent) -> Outcome {
        self.error = None;
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if key.code == KeyCode::Esc || (key.code == KeyCode::Char('c') && ctrl) {
            return Outcome::Cancel;
        }
        if self.step == Step::Note {
            return self.note_key(key);
        }
        let choices = self.choices();
        match key.code {
            KeyCode::Down => {
                if self.aimed || self.step != Step::Scope || !self.search.is_empty() {
                    self.cursor = (self.cursor + 1).min(choices.len().saturating_sub(1));
                }
                self.aimed = true;
            }
            KeyCode::Up => {
                self.cursor = self.cursor.saturating_sub(1);
                self.aimed = true;
            }
            KeyCode::Backspace => {
                self.search.pop();
                self.cursor = 0;
                self.aimed = false;
            }
            KeyCode::Char('u') if ctrl => self.clear_search(),
            KeyCode::Char(' ') if self.step == Step::Scope => {
                if self.space_continues_a_name(&choices) {
                    self.search.push(' ');
                    self.cursor = 0;
                } else if let Some(choice) = self.highlighted().and_then(|i| choices.get(i)) {
                    self.toggle(&choice.target);
                    self.clear_search();
                }
            }
            KeyCode::Char(c) if !ctrl && !c.is_control() && self.search.chars().count() < 100 => {
                self.search.push(c);
                self.cursor = 0;
                self.aimed = false;
            }
            KeyCode::Tab if !self.search.is_empty() => {
                // Tab keeps what is chosen; with text typed that is rarely what is meant (`de`
                // Tab would leave the scope global), so it says so instead of moving on.
                let hint = choices
                    .get(self.cursor)
                    .map_or("nothing matches".to_string(), |c| {
                        format!("enter takes {}", c.label)
                    });
                self.error = Some(format!(
                    "{:?} is typed but not chosen: {hint}; ctrl-u clears the search",
                    self.search
                ));
            }
            KeyCode::Tab => self.next_step(),
            KeyCode::Enter if self.step == Step::Scope && self.highlighted().is_none() => {
                // Nothing typed or moved to: the scope as it stands.
                self.next_step();
            }
            KeyCode::Enter => match choices.get(self.cursor) {
                Some(choice) => {
                    let value = choice.value.clone();
                    match self.step {
                        Step::Reason => self.reason = Some(value),
                        Step::Scope => self.add(&choice.target),
                        Step::Account => self.account = parse_account(&value),
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

    fn clear_search(&mut self) {
        self.search.clear();
        self.cursor = 0;
        self.aimed = false;
    }

    /// Space inside a name being typed (`united states`) is part of it while some name goes
    /// on with a space there (`united states minor…`), unless the moderator moved to a line:
    /// a full name typed must never choose a shorter one on the way.
    fn space_continues_a_name(&self, choices: &[Choice]) -> bool {
        if self.search.trim().is_empty() || self.aimed {
            return false;
        }
        let longer = countries::fold(&format!("{} ", self.search));
        let goes_on = |name: &str| countries::fold(name).starts_with(&longer);
        choices.iter().any(|c| match &c.target {
            Target::Country(code) => {
                goes_on(country_name(code).unwrap_or(""))
                    || aliases_of(code).into_iter().any(goes_on)
            }
            Target::Group(g) => goes_on(g.name()),
            _ => false,
        })
    }

    /// Space: a country in or out; a group in (out when all of it is in); global clears.
    fn toggle(&mut self, target: &Target) {
        match target {
            Target::Country(code) if self.countries.contains(code) => {
                self.countries.retain(|c| c != code);
            }
            Target::Group(g)
                if g.members()
                    .iter()
                    .all(|m| self.countries.iter().any(|c| c == m)) =>
            {
                let members = g.members();
                self.countries.retain(|c| !members.contains(&c.as_str()));
            }
            other => self.add(other),
        }
    }

    /// Enter: the highlighted line joins the scope (global replaces it).
    fn add(&mut self, target: &Target) {
        match target {
            Target::Plain => {}
            Target::Global => self.countries.clear(),
            Target::Country(code) => self.countries.push(code.clone()),
            Target::Group(g) => self
                .countries
                .extend(g.members().into_iter().map(String::from)),
        }
        self.countries.sort();
        self.countries.dedup();
    }

    fn next_step(&mut self) {
        self.step = match self.step {
            Step::Reason if self.scoped => Step::Scope,
            Step::Reason | Step::Scope if self.has_account_step() => Step::Account,
            Step::Reason | Step::Scope | Step::Account | Step::Tier | Step::Note => Step::Note,
        };
        self.clear_search();
        if self.step == Step::Account {
            // On what is chosen: the catalog's proposal, until the moderator picks otherwise.
            let chosen = account_value(self.account.as_ref());
            self.cursor = self
                .accounts
                .iter()
                .position(|c| c.value == chosen)
                .unwrap_or(0);
        }
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
                    account: self
                        .account
                        .filter(|_| self.action == DecisionAction::TakeDown),
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

/// "suspend 7 d — no posting or login", for the account step's lines.
pub fn account_label(m: Option<&AccountMeasure>) -> String {
    let Some(m) = m else {
        return "none — no account measure".into();
    };
    let what = match m.action {
        AccountAction::Strike => "recorded; the account works as before",
        AccountAction::Restrict => "reach limited to followers",
        AccountAction::Suspend => "no posting or login",
        AccountAction::Ban => "the account is terminated",
    };
    format!("{} — {what}", m.label())
}

fn account_value(m: Option<&AccountMeasure>) -> String {
    match m {
        None => "none".into(),
        Some(m) => match m.days {
            Some(d) => format!("{}:{d}", m.action.as_str()),
            None => m.action.as_str().into(),
        },
    }
}

fn parse_account(value: &str) -> Option<AccountMeasure> {
    let (action, days) = match value.split_once(':') {
        Some((a, d)) => (a, d.parse().ok()),
        None => (value, None),
    };
    AccountAction::parse(action).map(|action| AccountMeasure { action, days })
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
            let (code, mods) = match c {
                '\n' => (KeyCode::Enter, KeyModifiers::NONE),
                '\u{8}' => (KeyCode::Backspace, KeyModifiers::NONE),
                '\t' => (KeyCode::Tab, KeyModifiers::NONE),
                '↓' => (KeyCode::Down, KeyModifiers::NONE),
                '↑' => (KeyCode::Up, KeyModifiers::NONE),
                '⌫' => (KeyCode::Char('u'), KeyModifiers::CONTROL),
                c => (KeyCode::Char(c), KeyModifiers::NONE),
            };
            last = p.key(KeyEvent::new(code, mods));
        }
        last
    }

    fn scope_picker() -> Picker {
        Picker::take_down(Vec::new(), None, Vec::new())
    }

    fn reasons() -> Vec<(String, String)> {
        vec![
            ("spam".to_string(), "Spam".to_string()),
            ("hate".to_string(), "Illegal hate speech".to_string()),
        ]
    }

    #[test]
    fn the_iso_list_is_complete_enough_to_search() {
        let all = countries();
        assert_eq!(all.len(), 249);
        assert_eq!(country_name("de"), Some("Germany"));
        assert_eq!(country_name("XX"), None);
    }

    #[test]
    fn typing_any_code_and_space_chooses_exactly_that_country() {
        for (code, name) in countries() {
            for typed in [code.to_lowercase(), code.to_string()] {
                let mut p = scope_picker();
                press(&mut p, &typed);
                assert_eq!(p.choices()[0].value, code, "{typed} tops the list");
                press(&mut p, " ");
                assert_eq!(p.countries, vec![code], "{typed}: {name}");
                assert!(p.search.is_empty(), "the search clears for the next one");
                // Enter on a typed code takes it too, and goes on to the note.
                let mut p = scope_picker();
                press(&mut p, &format!("{typed}\n"));
                assert_eq!(p.countries, vec![code], "{typed}⏎: {name}");
                assert_eq!(p.step, Step::Note);
            }
        }
    }

    #[test]
    fn the_cases_from_the_issue_choose_the_country_typed() {
        for (typed, code) in [
            ("de", "DE"),
            ("at", "AT"),
            ("fr", "FR"),
            ("us", "US"),
            ("nl", "NL"),
        ] {
            let mut p = Picker::take_down(reasons(), Some("spam".into()), Vec::new());
            press(&mut p, &format!("\n{typed} "));
            assert_eq!(p.countries, vec![code], "{typed}");
        }
    }

    #[test]
    fn typing_any_full_name_chooses_exactly_that_country() {
        for (code, name) in countries() {
            let mut p = scope_picker();
            press(&mut p, &format!("{}\n", name.to_lowercase()));
            assert_eq!(p.countries, vec![code], "{name}");
        }
        // Accents need not be typed; common names find the ISO one.
        for (typed, code) in [
            ("aland islands", "AX"),
            ("curacao", "CW"),
            ("turkiye", "TR"),
            ("turkey", "TR"),
            ("uk", "GB"),
            ("usa", "US"),
            ("united states", "US"),
            ("holland", "NL"),
        ] {
            let mut p = scope_picker();
            press(&mut p, &format!("{typed}\n"));
            assert_eq!(p.countries, vec![code], "{typed}");
        }
    }

    #[test]
    fn space_after_a_full_name_never_chooses_another_country() {
        for (code, name) in countries() {
            let mut p = scope_picker();
            press(&mut p, &format!("{} ", name.to_lowercase()));
            let chosen = p.countries.clone();
            assert!(
                chosen.is_empty() || chosen == vec![code],
                "{name}: {chosen:?}"
            );
            if chosen.is_empty() {
                // The first space went into the name (a longer one goes on from it): the
                // second chooses it.
                assert_eq!(p.search, format!("{} ", name.to_lowercase()));
                press(&mut p, " ");
                assert_eq!(p.countries, vec![code], "{name}");
            }
        }
    }

    #[test]
    fn a_prefix_lists_its_countries_and_never_one_containing_it_mid_word() {
        let mut p = scope_picker();
        press(&mut p, "austr");
        let found: Vec<String> = p.choices().into_iter().map(|c| c.value).collect();
        assert_eq!(found, ["AT", "AU"]);
        press(&mut p, "\u{8}\u{8}\u{8}\u{8}\u{8}lia");
        assert!(
            p.choices().is_empty(),
            "\"lia\" is inside Australia, not its start"
        );
        // A later word of a name counts: "kingdom".
        press(&mut p, "⌫kingdom");
        assert_eq!(p.search, "kingdom");
        assert_eq!(p.choices()[0].value, "GB");
        // Space inside a name being typed is part of it.
        let mut p = scope_picker();
        press(&mut p, "united ");
        assert_eq!(p.search, "united ", "a space, not a choice");
        assert!(p.countries.is_empty());
        press(&mut p, "kingdom ");
        assert_eq!(p.countries, vec!["GB"]);
    }

    #[test]
    fn eu_and_eea_choose_their_members_and_space_takes_them_out_again() {
        let mut p = scope_picker();
        press(&mut p, "eu ");
        assert_eq!(p.countries.len(), 27);
        assert!(p.countries.contains(&"GR".to_string()));
        assert!(!p.countries.contains(&"NO".to_string()));
        assert_eq!(p.scope_summary(), "EU (27)");
        press(&mut p, "ch ");
        assert_eq!(p.scope_summary(), "EU (27) + CH Switzerland");
        press(&mut p, "eea ");
        assert_eq!(p.countries.len(), 31);
        assert_eq!(p.scope_summary(), "EEA (30) + CH Switzerland");
        press(&mut p, "eea ");
        assert_eq!(p.countries, vec!["CH"]);
        // Global at any time clears the countries.
        press(&mut p, "global ");
        assert_eq!(p.scope(), Scope::Global);
    }

    #[test]
    fn ctrl_u_clears_the_search_in_every_step() {
        let mut p = Picker::take_down(reasons(), Some("spam".into()), Vec::new());
        press(&mut p, "hat⌫");
        assert_eq!(p.search, "");
        assert_eq!(p.step, Step::Reason);
        press(&mut p, "\ngermany⌫de ");
        assert_eq!(p.countries, vec!["DE"]);
        let mut e = Picker::escalate();
        press(&mut e, "leg⌫");
        assert_eq!(e.search, "");
        assert_eq!(e.choices().len(), 4);
    }

    #[test]
    fn t_then_tab_tab_enter_is_what_t_does_and_the_items_countries_are_only_offered() {
        let mut p = Picker::take_down(
            reasons(),
            Some("spam".into()),
            vec!["jp".into(), "zz".into()],
        );
        assert!(
            p.countries.is_empty(),
            "nothing narrower than t until chosen"
        );
        match press(&mut p, "\t\t\n") {
            Outcome::Decide(DecisionAction::TakeDown, d) => {
                assert_eq!(d.reason_code.as_deref(), Some("spam"));
                assert_eq!(d.scope, Some(Scope::Global));
            }
            other => panic!("{other:?}"),
        }
        // Enter, Enter, Enter: the same.
        let mut p = Picker::take_down(reasons(), Some("spam".into()), vec!["JP".into()]);
        match press(&mut p, "\n\n\n") {
            Outcome::Decide(_, d) => assert_eq!(d.scope, Some(Scope::Global)),
            other => panic!("{other:?}"),
        }
        // The item's country is first after global, one deliberate key away.
        let mut p = Picker::take_down(reasons(), Some("spam".into()), vec!["JP".into()]);
        press(&mut p, "\n");
        let first: Vec<String> = p.choices().into_iter().take(2).map(|c| c.value).collect();
        assert_eq!(first, ["global", "JP"]);
        assert_eq!(p.highlighted(), None, "nothing highlighted until aimed at");
        press(&mut p, "↓↓ \n");
        assert_eq!(p.countries, vec!["JP"]);
        assert!(p.narrower_than_t().is_some());
    }

    #[test]
    fn a_take_down_in_two_countries_found_by_name_with_a_note() {
        let mut p = Picker::take_down(reasons(), Some("spam".into()), Vec::new());
        // The default reason is highlighted; type to find another.
        press(&mut p, "hate\n");
        assert_eq!(p.reason.as_deref(), Some("hate"));
        assert_eq!(p.step, Step::Scope);
        press(&mut p, "germany austr");
        assert_eq!(p.countries, vec!["DE"]);
        // Enter takes the highlighted country too, with those chosen before.
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
    fn tab_with_text_typed_but_not_chosen_does_not_move_on() {
        let mut p = scope_picker();
        press(&mut p, "de\t");
        assert_eq!(
            p.step,
            Step::Scope,
            "not on to the note with the scope still global"
        );
        let error = p.error.clone().unwrap_or_default();
        assert!(error.contains("enter takes DE — Germany"), "{error}");
        press(&mut p, " \t");
        assert_eq!(
            (p.step, p.countries.clone()),
            (Step::Note, vec!["DE".to_string()])
        );
    }

    #[test]
    fn enter_with_nothing_typed_keeps_the_countries_chosen() {
        let mut p = scope_picker();
        press(&mut p, "de at ");
        press(&mut p, "\n");
        assert_eq!(p.countries, vec!["AT", "DE"], "not global");
        assert_eq!(p.step, Step::Note);
    }

    #[test]
    fn global_clears_the_countries() {
        let mut p = scope_picker();
        press(&mut p, "fr ");
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
