//! Statements of reasons (EU Digital Services Act, Article 17) for take downs, in the
//! Transparency Database's submission format. Pure: a take down and the catalog in, a
//! statement out, so what a statement says is decided in one place.
//!
//! Choices, documented in docs/api.md:
//! - Only take downs still in force are exported; a reversed one is left out (it never
//!   restricted anything for good, and a statement already submitted for it is withdrawn
//!   through the Database, not by this export). A take down overturned on appeal is the
//!   exception: its statement stays, updated with the outcome and the day it ended.
//! - The territorial scope keeps only EU and EEA countries; a global take down covers all
//!   30. A take down only outside the EEA has no statement.
//! - No personal data: no content text, no handles, no moderator notes.

use chrono::{DateTime, Utc};

use crate::account::{AccountAction, AccountMeasure};
use crate::model::{
    AppealOutcome, AppealVerdict, DecisionMethod, ItemKind, ReporterType, Scope, StatementOfReasons,
};
use crate::policy::{Ground, PolicyCatalog};

use super::storage::{DecisionBasis, ReportTally, TakeDownRecord};

/// The 27 EU member states and the three EEA countries (IS, LI, NO), as the Database takes them.
pub const EEA: [&str; 30] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "IS", "LI", "NO",
];

/// The EEA countries a scope covers, in [`EEA`] order.
pub fn eea_scope(scope: &Scope) -> Vec<String> {
    EEA.iter()
        .filter(|c| match scope {
            Scope::Global => true,
            Scope::Countries(cs) => cs.iter().any(|x| x == *c),
        })
        .map(|c| (*c).to_string())
        .collect()
}

/// The statement for one take down, or `None` when it restricts nothing in the EEA.
pub fn statement(td: &TakeDownRecord, policies: &PolicyCatalog) -> Option<StatementOfReasons> {
    let territorial_scope = eea_scope(&td.scope);
    if territorial_scope.is_empty() {
        return None;
    }
    // Take downs from before schema 8 have no frozen basis: the item as it is stands in.
    let basis = td
        .basis
        .clone()
        .unwrap_or_else(|| DecisionBasis::of(&td.item, DecisionMethod::Single));
    let basis = &basis;
    let tally = basis.tally();
    // A code the catalog no longer has (it was edited since) is stated as the fallback.
    let policy = td
        .reason_code
        .as_deref()
        .and_then(|c| policies.get(c))
        .or_else(|| policies.get(&policies.fallback))?;
    let scope_words = match &td.scope {
        Scope::Global => "all countries".to_string(),
        Scope::Countries(cs) => cs.join(", "),
    };
    let explanation = clip(&policy.explain(&scope_words), 2000);
    let ground = clip(policy.ground_text(), 500);
    let (decision_ground, legal, legal_explanation, contractual, contractual_explanation) =
        match policy.ground {
            Ground::Illegal => (
                "DECISION_GROUND_ILLEGAL_CONTENT",
                Some(ground),
                Some(explanation),
                None,
                None,
            ),
            Ground::Incompatible => (
                "DECISION_GROUND_INCOMPATIBLE_CONTENT",
                None,
                None,
                Some(ground),
                Some(explanation),
            ),
        };
    let visibility = match td.scope {
        Scope::Global => "DECISION_VISIBILITY_CONTENT_REMOVED",
        // Geo-blocked: still there elsewhere, access disabled here.
        Scope::Countries(_) => "DECISION_VISIBILITY_CONTENT_DISABLED",
    };
    let (content_type, content_type_other) = content_type(basis);
    let account = account_fields(td.account.as_ref(), td.applied_at);
    let mut decision_facts = facts(basis, &tally, &policy.title, &policy.code);
    if let Some(sentence) = &account.fact {
        decision_facts.push(' ');
        decision_facts.push_str(sentence);
    }
    decision_facts.push_str(&appeal_facts(td.appeal.as_ref()));
    Some(StatementOfReasons {
        puid: format!("modq-{}", td.audit_id),
        decision_visibility: vec![visibility.to_string()],
        decision_ground: decision_ground.to_string(),
        illegal_content_legal_ground: legal,
        illegal_content_explanation: legal_explanation,
        incompatible_content_ground: contractual,
        incompatible_content_explanation: contractual_explanation,
        decision_facts: clip(&decision_facts, 5000),
        content_type,
        content_type_other,
        category: policy.category.clone(),
        category_specification: policy.keyword.iter().cloned().collect(),
        content_language: language(basis.language.as_deref()),
        territorial_scope,
        content_date: date(basis.first_reported),
        application_date: date(td.applied_at),
        source_type: source_type(tally.by_source.iter().map(|(r, _)| *r)).to_string(),
        automated_detection: if automated_detection(basis, &tally) {
            "Yes"
        } else {
            "No"
        }
        .to_string(),
        automated_decision: automated_decision(basis.method).to_string(),
        end_date_visibility_restriction: td
            .appeal
            .as_ref()
            .filter(|a| a.verdict == AppealVerdict::Overturned)
            .map(|a| date(a.decided_at)),
        decision_account: account.decision_account.map(str::to_string),
        decision_provision: account.decision_provision.map(str::to_string),
        end_date_account_restriction: account.end_account,
        end_date_service_restriction: account.end_service,
    })
}

/// What the statement says of an appeal's outcome. The Transparency Database has no field
/// for it: the facts say it, and an overturn also ends the restriction
/// (`end_date_visibility_restriction`).
fn appeal_facts(appeal: Option<&AppealOutcome>) -> String {
    match appeal {
        None => String::new(),
        Some(a) => match a.verdict {
            AppealVerdict::Upheld => format!(
                " On appeal (EU DSA Article 20), another moderator upheld the decision on {}.",
                date(a.decided_at)
            ),
            AppealVerdict::Overturned => format!(
                " On appeal (EU DSA Article 20), another moderator overturned the decision on \
                 {}; the content was restored that day.",
                date(a.decided_at)
            ),
        },
    }
}

/// What a measure on the author's account adds to a statement.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AccountFields {
    pub decision_account: Option<&'static str>,
    pub decision_provision: Option<&'static str>,
    pub end_account: Option<String>,
    pub end_service: Option<String>,
    /// A sentence for `decision_facts`.
    pub fact: Option<String>,
}

/// A suspension suspends the account (until its end date), a ban terminates it, a
/// restriction of reach partly suspends the service to it; a strike restricts nothing and
/// is only stated as a fact.
pub fn account_fields(measure: Option<&AccountMeasure>, applied: DateTime<Utc>) -> AccountFields {
    let Some(m) = measure else {
        return AccountFields::default();
    };
    let end = m.until(applied).map(date);
    match m.action {
        AccountAction::Strike => AccountFields {
            fact: Some("A strike was recorded on the account.".into()),
            ..AccountFields::default()
        },
        AccountAction::Restrict => AccountFields {
            decision_provision: Some("DECISION_PROVISION_PARTIAL_SUSPENSION"),
            fact: Some(format!(
                "The account's reach was restricted for {} days.",
                m.days.unwrap_or_default()
            )),
            end_service: end,
            ..AccountFields::default()
        },
        AccountAction::Suspend => AccountFields {
            decision_account: Some("DECISION_ACCOUNT_SUSPENDED"),
            fact: Some(format!(
                "The account was suspended for {} days.",
                m.days.unwrap_or_default()
            )),
            end_account: end,
            ..AccountFields::default()
        },
        AccountAction::Ban => AccountFields {
            decision_account: Some("DECISION_ACCOUNT_TERMINATED"),
            fact: Some("The account was terminated.".into()),
            ..AccountFields::default()
        },
    }
}

/// A person chose the action in every case; for a filter's or a similarity's bulk action a
/// rule chose the items, so the decision on each is partly automated.
pub fn automated_decision(method: DecisionMethod) -> &'static str {
    if method.chosen_by_rule() {
        "AUTOMATED_DECISION_PARTIALLY"
    } else {
        "AUTOMATED_DECISION_NOT_AUTOMATED"
    }
}

/// Trusted flaggers' notices are Article 16 notices with priority, so they win; then any
/// notice by a user or an authority (Article 16); an item only classifiers flagged was
/// found on the platform's own initiative.
pub fn source_type(reporters: impl IntoIterator<Item = ReporterType>) -> &'static str {
    let mut source = "SOURCE_VOLUNTARY";
    for r in reporters {
        match r {
            ReporterType::TrustedFlagger => return "SOURCE_TRUSTED_FLAGGER",
            ReporterType::User | ReporterType::Authority => source = "SOURCE_ARTICLE_16",
            ReporterType::Automated => {}
        }
    }
    source
}

fn automated_detection(basis: &DecisionBasis, tally: &ReportTally) -> bool {
    tally
        .by_source
        .iter()
        .any(|(r, n)| *r == ReporterType::Automated && *n > 0)
        || basis.hash_matched
}

/// Text for text, the media's own kinds; accounts and channels without either are "other".
fn content_type(basis: &DecisionBasis) -> (Vec<String>, Option<String>) {
    let mut types: Vec<String> = Vec::new();
    let push = |types: &mut Vec<String>, t: &str| {
        if !types.iter().any(|x| x == t) {
            types.push(t.to_string());
        }
    };
    if basis.has_text {
        push(&mut types, "CONTENT_TYPE_TEXT");
    }
    let mut other = None;
    for kind in &basis.media_kinds {
        match kind.as_str() {
            "image" => push(&mut types, "CONTENT_TYPE_IMAGE"),
            "video" => push(&mut types, "CONTENT_TYPE_VIDEO"),
            "audio" => push(&mut types, "CONTENT_TYPE_AUDIO"),
            _ => {
                push(&mut types, "CONTENT_TYPE_OTHER");
                other = Some(format!("media: {}", clip(kind, 40)));
            }
        }
    }
    if types.is_empty() {
        push(&mut types, "CONTENT_TYPE_OTHER");
        let what = match basis.kind {
            ItemKind::Post => "post",
            ItemKind::Channel => "channel",
            ItemKind::Account => "account profile",
            ItemKind::Media => "media",
        };
        other = Some(what.to_string());
    }
    (types, other)
}

/// The facts relied on, without personal data: how the decision was taken, the policy, how
/// the item came to review.
fn facts(basis: &DecisionBasis, tally: &ReportTally, title: &str, code: &str) -> String {
    let sources: Vec<String> = tally
        .by_source
        .iter()
        .map(|(t, n)| format!("{n} from {}", t.label()))
        .collect();
    let mut categories = tally.categories.join(", ");
    if tally.other_categories > 0 {
        categories.push_str(&format!(
            " and {} report(s) in other categories",
            tally.other_categories
        ));
    }
    let leading = tally.leading_category.as_deref().unwrap_or("none");
    let how = match basis.method {
        DecisionMethod::Single => "Reviewed by a human moderator",
        DecisionMethod::Tagged => {
            "Decided by a human moderator for items they picked one by one from the queue list, \
             this one among them"
        }
        DecisionMethod::Range => {
            "Decided by a human moderator for a range of items they marked in the queue list, \
             this one among them"
        }
        DecisionMethod::Filter => {
            "Decided in bulk: a human moderator chose the action for every item matching a \
             queue filter, and the filter, not a person, selected this item, which was not \
             reviewed on its own"
        }
        DecisionMethod::Similar => {
            "Decided in bulk: a human moderator chose the action for every item similar (same \
             author, link or text) to one they reviewed, and the similarity, not a person, \
             selected this item, which was not reviewed on its own"
        }
    };
    let mut facts = format!(
        "{how}, after {} report(s) ({}), reported as {}; the most trusted report's category \
         was {leading}. The moderator found a breach of the policy \"{title}\" ({code}).",
        tally.total,
        sources.join(", "),
        categories,
    );
    if basis.hash_matched {
        facts.push_str(" Attached media matched a list of known hashes.");
    }
    facts
}

fn language(code: Option<&str>) -> Option<String> {
    let code = code?;
    (code.len() == 2 && code.bytes().all(|b| b.is_ascii_alphabetic()))
        .then(|| code.to_ascii_uppercase())
}

fn date(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d").to_string()
}

/// At most `max` characters, cut at a character boundary.
fn clip(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_keeps_the_eea_and_global_is_all_thirty() {
        assert_eq!(eea_scope(&Scope::Global).len(), 30);
        let mixed = Scope::Countries(vec!["DE".into(), "NO".into(), "US".into()]);
        assert_eq!(eea_scope(&mixed), vec!["DE", "NO"]);
        assert!(eea_scope(&Scope::Countries(vec!["US".into()])).is_empty());
    }

    #[test]
    fn trusted_flaggers_win_then_notices_then_own_initiative() {
        use ReporterType::*;
        assert_eq!(
            source_type([User, TrustedFlagger]),
            "SOURCE_TRUSTED_FLAGGER"
        );
        assert_eq!(source_type([Automated, Authority]), "SOURCE_ARTICLE_16");
        assert_eq!(source_type([Automated]), "SOURCE_VOLUNTARY");
    }
}
