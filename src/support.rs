//! Support resources (issue 19, point 7): the helplines a reporting user is sent, per
//! country, when a moderator acts on a self-harm item. The catalog is data
//! (`assets/support-resources.toml`), checked once when loaded; its entries are examples the
//! operator must verify, and every message built from an unverified entry says so.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The catalog modq ships.
pub const BUILTIN_TOML: &str = include_str!("../assets/support-resources.toml");

/// One service a reporter may contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupportResource {
    pub name: String,
    /// A phone number or an https address, as the reporter should use it.
    pub contact: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// The resources for one country, or the fallback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SupportEntry {
    /// ISO 3166-1 alpha-2; absent on the fallback.
    #[serde(default)]
    pub code: Option<String>,
    /// Whether the operator checked this entry for their deployment.
    #[serde(default)]
    pub verified: bool,
    pub resources: Vec<SupportResource>,
}

/// The whole catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupportCatalog {
    pub fallback: SupportEntry,
    #[serde(default, rename = "country")]
    pub countries: Vec<SupportEntry>,
}

impl SupportCatalog {
    /// The catalog in `assets/support-resources.toml` (a unit test proves it parses); should
    /// it ever not, a fallback that tells the operator to fill it in.
    pub fn builtin() -> SupportCatalog {
        SupportCatalog::parse(BUILTIN_TOML).unwrap_or_else(|e| {
            tracing::error!(error = %e, "the built-in support catalog is invalid");
            SupportCatalog {
                fallback: SupportEntry {
                    code: None,
                    verified: false,
                    resources: vec![SupportResource {
                        name: "PLACEHOLDER — the operator has not configured support resources"
                            .into(),
                        contact: "PLACEHOLDER".into(),
                        note: None,
                    }],
                },
                countries: Vec::new(),
            }
        })
    }

    /// Reads and checks a catalog; the error names the first problem.
    pub fn parse(text: &str) -> anyhow::Result<SupportCatalog> {
        let catalog: SupportCatalog = toml::from_str(text)?;
        catalog.check().map_err(anyhow::Error::msg)?;
        Ok(catalog)
    }

    /// The entry for a reporter in `country` (any case), else the fallback.
    pub fn for_country(&self, country: Option<&str>) -> &SupportEntry {
        country
            .and_then(|c| {
                self.countries
                    .iter()
                    .find(|e| e.code.as_deref().is_some_and(|k| k.eq_ignore_ascii_case(c)))
            })
            .unwrap_or(&self.fallback)
    }

    fn check(&self) -> Result<(), String> {
        if self.fallback.code.is_some() {
            return Err("the fallback names no country".into());
        }
        check_entry("the fallback", &self.fallback)?;
        let mut seen = HashSet::new();
        for entry in &self.countries {
            let code = entry.code.as_deref().unwrap_or_default();
            let known = crate::model::ISO_3166_ALPHA_2.contains(&code);
            if !known {
                return Err(format!(
                    "support entry {code:?} is not an upper-case ISO 3166-1 alpha-2 code"
                ));
            }
            if !seen.insert(code) {
                return Err(format!("support entry {code:?} appears twice"));
            }
            check_entry(code, entry)?;
        }
        Ok(())
    }
}

fn check_entry(name: &str, entry: &SupportEntry) -> Result<(), String> {
    if entry.resources.is_empty() {
        return Err(format!("support entry {name} lists no resources"));
    }
    for r in &entry.resources {
        let blank = r.name.trim().is_empty() || r.contact.trim().is_empty();
        let long = r.name.chars().count() > 200
            || r.contact.chars().count() > 200
            || r.note.as_ref().is_some_and(|n| n.chars().count() > 500);
        if blank || long {
            return Err(format!(
                "support entry {name}: each resource needs a name and a contact (at most 200 \
                 characters; a note at most 500)"
            ));
        }
        if r.contact.contains("://") && !r.contact.starts_with("https://") {
            return Err(format!(
                "support entry {name}: {:?} must be an https address or a phone number",
                r.contact
            ));
        }
    }
    Ok(())
}

/// A message the server keeps for a user (`GET /v1/messages`): what the platform's delivery
/// job sends them. modq itself sends no email or SMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserMessage {
    /// Position in the outbox, in the order written.
    pub id: i64,
    /// The platform's id of the user it is for.
    pub recipient: String,
    /// The recipient's country as their report said, if it did.
    #[serde(default)]
    pub country: Option<String>,
    /// `support_resources`.
    pub kind: String,
    /// The item the user reported.
    pub item_id: String,
    /// The resources sent, as the catalog had them when the moderator acted.
    pub resources: Vec<SupportResource>,
    /// Whether the catalog entry they came from was verified by the operator.
    pub verified: bool,
    pub created_at: DateTime<Utc>,
}

/// `GET /v1/messages` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UserMessages {
    pub messages: Vec<UserMessage>,
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_catalog_is_valid_unverified_and_falls_back() {
        let c = SupportCatalog::parse(BUILTIN_TOML).unwrap();
        assert_eq!(SupportCatalog::builtin(), c);
        assert!(
            c.countries.iter().all(|e| !e.verified),
            "examples, not verified"
        );
        assert_eq!(c.for_country(Some("gb")).code.as_deref(), Some("GB"));
        assert_eq!(c.for_country(Some("ZZ")), &c.fallback);
        assert_eq!(c.for_country(None), &c.fallback);
    }

    #[test]
    fn mistakes_in_the_catalog_are_named() {
        for (bad, says) in [
            (
                BUILTIN_TOML.replace("code = \"GB\"", "code = \"UK\""),
                "\"UK\"",
            ),
            (
                BUILTIN_TOML.replace("code = \"IE\"", "code = \"GB\""),
                "twice",
            ),
            (
                BUILTIN_TOML.replace("\"https://example.invalid/safety\"", "\"http://x\""),
                "https",
            ),
            (
                BUILTIN_TOML.replace("contact = \"988\"", "contact = \" \""),
                "US",
            ),
        ] {
            let e = SupportCatalog::parse(&bad).unwrap_err().to_string();
            assert!(e.contains(says), "{says}: {e}");
        }
    }
}
