//! The policy catalog: the reason codes a take down may cite and what each means in an EU
//! statement of reasons. It is data (`assets/policies.toml`, or the file given to
//! `modq serve --policies`), checked once when loaded, so a typo stops the server at start
//! rather than producing statements the Transparency Database refuses.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::account::{AccountAction, AccountMeasure};

/// The catalog modq ships.
pub const BUILTIN_TOML: &str = include_str!("../assets/policies.toml");

/// The statement categories of the Transparency Database (schema of 1 July 2025).
pub const STATEMENT_CATEGORIES: [&str; 16] = [
    "STATEMENT_CATEGORY_ANIMAL_WELFARE",
    "STATEMENT_CATEGORY_CONSUMER_INFORMATION",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE",
    "STATEMENT_CATEGORY_CYBER_VIOLENCE_AGAINST_WOMEN",
    "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
    "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
    "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
    "STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE",
    "STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
    "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
    "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY",
    "STATEMENT_CATEGORY_SCAMS_AND_FRAUD",
    "STATEMENT_CATEGORY_SELF_HARM",
    "STATEMENT_CATEGORY_UNSAFE_AND_PROHIBITED_PRODUCTS",
    "STATEMENT_CATEGORY_VIOLENCE",
];

/// Why content is restricted: it is illegal, or it breaks the terms of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Ground {
    /// Illegal content; `legal_ground` names the law.
    Illegal,
    /// Incompatible with the terms of service; `contractual_ground` names the clause.
    Incompatible,
}

/// One reason code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub code: String,
    pub title: String,
    pub ground: Ground,
    #[serde(default)]
    pub legal_ground: Option<String>,
    #[serde(default)]
    pub contractual_ground: Option<String>,
    /// The statement's explanation; `{scope}` and `{title}` are filled in.
    pub explanation: String,
    /// A `STATEMENT_CATEGORY_*` value.
    pub category: String,
    /// A `KEYWORD_*` value for `category_specification`.
    #[serde(default)]
    pub keyword: Option<String>,
    /// Report categories whose items default to this code.
    #[serde(default)]
    pub reports: Vec<String>,
}

impl Policy {
    /// The legal or contractual ground, whichever the policy's ground needs.
    pub fn ground_text(&self) -> &str {
        match self.ground {
            Ground::Illegal => self.legal_ground.as_deref().unwrap_or_default(),
            Ground::Incompatible => self.contractual_ground.as_deref().unwrap_or_default(),
        }
    }

    /// The explanation with `{scope}` (e.g. "DE, FR" or "all countries") and `{title}`.
    pub fn explain(&self, scope: &str) -> String {
        self.explanation
            .replace("{scope}", scope)
            .replace("{title}", &self.title)
    }
}

/// `GET /v1/policies` answer, and the shape of the TOML file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyCatalog {
    /// The code for items whose report category no policy lists.
    pub fallback: String,
    #[serde(rename = "policy", alias = "policies")]
    pub policies: Vec<Policy>,
    /// What strikes on an account lead to; no proposals when absent.
    #[serde(default)]
    pub account: AccountPolicy,
    /// The support resources sent to self-harm items' reporters: a catalog of its own
    /// (`assets/support-resources.toml`, or `modq serve --support-resources FILE`), carried
    /// here so that decisions are applied with both; not part of `GET /v1/policies`.
    #[serde(skip, default = "crate::support::SupportCatalog::builtin")]
    #[schema(ignore)]
    pub support: crate::support::SupportCatalog,
}

/// The catalog's account rules: strikes count within a window, and the number a take down
/// would bring the author to picks the measure proposed with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPolicy {
    /// Strikes older than this many days no longer count (1 to 3650).
    #[serde(default = "default_window")]
    pub strike_window_days: u32,
    /// Ascending by `strikes`: the last step whose `strikes` the take down reaches is
    /// proposed.
    #[serde(default, rename = "step", alias = "steps")]
    pub steps: Vec<AccountStep>,
}

impl Default for AccountPolicy {
    fn default() -> AccountPolicy {
        AccountPolicy {
            strike_window_days: default_window(),
            steps: Vec::new(),
        }
    }
}

fn default_window() -> u32 {
    90
}

/// "The `strikes`th strike within the window proposes `propose` (for `days`)".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountStep {
    pub strikes: u32,
    pub propose: AccountAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
}

impl AccountStep {
    pub fn measure(&self) -> AccountMeasure {
        AccountMeasure {
            action: self.propose,
            days: self.days,
        }
    }
}

impl AccountPolicy {
    fn check(&self) -> Result<(), String> {
        if !(1..=3650).contains(&self.strike_window_days) {
            return Err(format!(
                "account.strike_window_days is 1 to 3650, not {}",
                self.strike_window_days
            ));
        }
        let mut last = 0;
        for step in &self.steps {
            if step.strikes <= last {
                return Err(format!(
                    "account steps go up by strikes: {} after {last}",
                    step.strikes
                ));
            }
            last = step.strikes;
            step.measure()
                .check()
                .map_err(|e| format!("account step at {} strikes: {e}", step.strikes))?;
        }
        Ok(())
    }
}

impl PolicyCatalog {
    /// The catalog in `assets/policies.toml`. A unit test proves it parses; should it ever
    /// not, the server still runs, with one catalog-wide terms-of-service reason.
    pub fn builtin() -> PolicyCatalog {
        PolicyCatalog::parse(BUILTIN_TOML).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the built-in policy catalog is invalid");
            PolicyCatalog {
                fallback: "other_tos".into(),
                policies: vec![Policy {
                    code: "other_tos".into(),
                    title: "Terms-of-service breach".into(),
                    ground: Ground::Incompatible,
                    legal_ground: None,
                    contractual_ground: Some("Terms of Service".into()),
                    explanation: "The content breaches the terms of service in {scope}.".into(),
                    category: "STATEMENT_CATEGORY_OTHER_VIOLATION_TC".into(),
                    keyword: None,
                    reports: Vec::new(),
                }],
                account: AccountPolicy::default(),
                support: crate::support::SupportCatalog::builtin(),
            }
        })
    }

    /// Reads and checks a catalog; the error names the first problem.
    pub fn parse(text: &str) -> anyhow::Result<PolicyCatalog> {
        let catalog: PolicyCatalog = toml::from_str(text)?;
        catalog.check().map_err(anyhow::Error::msg)?;
        Ok(catalog)
    }

    pub fn get(&self, code: &str) -> Option<&Policy> {
        self.policies.iter().find(|p| p.code == code)
    }

    /// Whether an item reported as `category` is a self-harm item: its default policy files
    /// it under `STATEMENT_CATEGORY_SELF_HARM`. Support resources go to such items' reporters.
    pub fn is_self_harm(&self, category: &str) -> bool {
        self.get(self.default_code(category))
            .is_some_and(|p| p.category == "STATEMENT_CATEGORY_SELF_HARM")
    }

    /// The code a take down without a reason cites for an item reported as `category`.
    pub fn default_code(&self, category: &str) -> &str {
        self.policies
            .iter()
            .find(|p| p.reports.iter().any(|r| r == category))
            .map_or(self.fallback.as_str(), |p| p.code.as_str())
    }

    fn check(&self) -> Result<(), String> {
        let mut codes = HashSet::new();
        let mut report_categories = HashSet::new();
        for p in &self.policies {
            let valid_code = !p.code.is_empty()
                && p.code.len() <= 64
                && p.code
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !valid_code {
                return Err(format!(
                    "policy code {:?} must be 1 to 64 letters, digits, _ or -",
                    p.code
                ));
            }
            if !codes.insert(p.code.as_str()) {
                return Err(format!("policy code {:?} appears twice", p.code));
            }
            if !STATEMENT_CATEGORIES.contains(&p.category.as_str()) {
                return Err(format!(
                    "policy {:?}: {:?} is not a statement category",
                    p.code, p.category
                ));
            }
            if let Some(k) = p.keyword.as_ref().filter(|k| !k.starts_with("KEYWORD_")) {
                return Err(format!(
                    "policy {:?}: {k:?} is not a KEYWORD_ value",
                    p.code
                ));
            }
            if p.ground_text().trim().is_empty() {
                let field = match p.ground {
                    Ground::Illegal => "legal_ground",
                    Ground::Incompatible => "contractual_ground",
                };
                return Err(format!("policy {:?} needs a {field}", p.code));
            }
            if p.ground_text().chars().count() > 500 || p.explanation.chars().count() > 1500 {
                return Err(format!(
                    "policy {:?}: the ground is at most 500 characters and the explanation 1500",
                    p.code
                ));
            }
            for r in &p.reports {
                if !report_categories.insert(r.as_str()) {
                    return Err(format!(
                        "report category {r:?} is listed by two policies; it must default to one"
                    ));
                }
            }
        }
        self.account.check()?;
        if !codes.contains(self.fallback.as_str()) {
            return Err(format!(
                "the fallback {:?} is not a policy code",
                self.fallback
            ));
        }
        Ok(())
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalog_is_valid_and_covers_the_sample_queue() {
        let catalog = PolicyCatalog::parse(BUILTIN_TOML).unwrap();
        assert_eq!(PolicyCatalog::builtin(), catalog);
        let sample = include_str!("../assets/sample-queue.jsonl");
        for line in sample.lines() {
            let report: serde_json::Value = serde_json::from_str(line).unwrap();
            let category = report["category"].as_str().unwrap();
            let code = catalog.default_code(category);
            assert_ne!(
                code, catalog.fallback,
                "sample category {category:?} has no policy"
            );
        }
        assert_eq!(catalog.default_code("never-heard-of"), "other_tos");
        assert_eq!(catalog.default_code("hate"), "illegal_hate_speech");
    }

    #[test]
    fn mistakes_in_the_catalog_are_named() {
        let text = BUILTIN_TOML.replace(
            "STATEMENT_CATEGORY_SELF_HARM",
            "STATEMENT_CATEGORY_SELFHARM",
        );
        let error = PolicyCatalog::parse(&text).unwrap_err().to_string();
        assert!(
            error.contains("self_harm") && error.contains("SELFHARM"),
            "{error}"
        );
        let text = BUILTIN_TOML.replace("fallback = \"other_tos\"", "fallback = \"nope\"");
        assert!(PolicyCatalog::parse(&text).is_err());
        let text = BUILTIN_TOML.replace("propose = \"suspend\"\ndays = 7", "propose = \"suspend\"");
        let error = PolicyCatalog::parse(&text).unwrap_err().to_string();
        assert!(
            error.contains("3 strikes") && error.contains("days"),
            "{error}"
        );
        let text = BUILTIN_TOML.replace("days = 7", "days = 400");
        let error = PolicyCatalog::parse(&text).unwrap_err().to_string();
        assert!(error.contains("400"), "{error}");
        let text = BUILTIN_TOML.replace("propose = \"ban\"", "propose = \"vanish\"");
        assert!(PolicyCatalog::parse(&text).is_err(), "unknown measure");
    }
}
