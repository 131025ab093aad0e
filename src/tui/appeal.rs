//! Appeals in the TUI: the appeal an item carries, made safe to draw, and what the keys
//! that decide one may not do here, in words. Pure, so the view and `App::update` say the
//! same thing.

use crate::model::{
    Appeal, AppealOutcome, AppealedDecision, DecisionAction, Item, StatementOfReasons,
};
use crate::sanitize::{clean_line, clean_text};

/// A copy of the appeal with every string made safe to draw (the statement of reasons
/// too: it comes from a server, and `|` pipes the item whole).
pub fn sanitize(a: Appeal) -> Appeal {
    let lines = |v: Vec<String>| v.iter().map(|s| clean_line(s)).collect::<Vec<_>>();
    let line = |s: Option<String>| s.as_deref().map(clean_line);
    let statement = a.decision.statement.map(|s| StatementOfReasons {
        puid: clean_line(&s.puid),
        decision_visibility: lines(s.decision_visibility),
        decision_ground: clean_line(&s.decision_ground),
        illegal_content_legal_ground: line(s.illegal_content_legal_ground),
        illegal_content_explanation: s.illegal_content_explanation.as_deref().map(clean_text),
        incompatible_content_ground: line(s.incompatible_content_ground),
        incompatible_content_explanation: s
            .incompatible_content_explanation
            .as_deref()
            .map(clean_text),
        decision_facts: clean_text(&s.decision_facts),
        content_type: lines(s.content_type),
        content_type_other: line(s.content_type_other),
        category: clean_line(&s.category),
        category_specification: lines(s.category_specification),
        content_language: line(s.content_language),
        territorial_scope: lines(s.territorial_scope),
        content_date: clean_line(&s.content_date),
        application_date: clean_line(&s.application_date),
        source_type: clean_line(&s.source_type),
        automated_detection: clean_line(&s.automated_detection),
        automated_decision: clean_line(&s.automated_decision),
        end_date_visibility_restriction: line(s.end_date_visibility_restriction),
        decision_account: line(s.decision_account),
        decision_provision: line(s.decision_provision),
        end_date_account_restriction: line(s.end_date_account_restriction),
        end_date_service_restriction: line(s.end_date_service_restriction),
    });
    Appeal {
        item_id: clean_line(&a.item_id),
        decision: AppealedDecision {
            reason_code: line(a.decision.reason_code),
            decided_by: clean_line(&a.decision.decided_by),
            statement,
            ..a.decision
        },
        appellant_statement: clean_text(&a.appellant_statement),
        lodged_by: clean_line(&a.lodged_by),
        outcome: a.outcome.map(|o| AppealOutcome {
            decided_by: clean_line(&o.decided_by),
            ..o
        }),
        ..a
    }
}

/// Why the moderator may not decide this appeal, when the server withholds its keys from
/// them: it was decided, or they made the decision appealed (EU DSA Article 20).
pub fn withheld(item: &Item) -> Option<String> {
    let appeal = item.appeal.as_ref()?;
    let allowed = item.allowed_actions.as_ref()?;
    if allowed.iter().any(|a| a.decides_appeal()) {
        return None;
    }
    Some(match &appeal.outcome {
        Some(o) => format!(
            "appeal {} was {} by {}",
            appeal.id,
            o.verdict.as_str(),
            o.decided_by
        ),
        None => format!(
            "you made the decision appealed ({} by {}): under EU DSA Article 20 another \
             moderator decides appeal {}",
            appeal.decision.action.label(),
            appeal.decision.decided_by,
            appeal.id
        ),
    })
}

/// Why `action` is not made on this item because of what appeals are, or `None`.
pub fn refusal(item: &Item, action: DecisionAction) -> Option<String> {
    match (&item.appeal, action.decides_appeal()) {
        (None, true) => Some(format!(
            "Only an appeal lodged against a decision is {}: this item is not one, so it is \
             decided like any other",
            if action == DecisionAction::Uphold {
                "upheld"
            } else {
                "overturned"
            }
        )),
        (Some(appeal), false) => Some(format!(
            "This item is appeal {}: it is upheld or overturned, not {}",
            appeal.id,
            match action {
                DecisionAction::TakeDown => "taken down",
                DecisionAction::Keep => "kept",
                DecisionAction::Escalate => "escalated",
                _ => "reversed",
            }
        )),
        (Some(_), true) => withheld(item).map(|why| format!("Not yours to decide: {why}")),
        (None, false) => None,
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AppealVerdict, ItemKind, Lane, ReviewState};

    fn item(appeal: Option<Appeal>, allowed: Vec<DecisionAction>) -> Item {
        Item {
            id: "appeal-7".into(),
            kind: ItemKind::Post,
            text: None,
            author: None,
            language: None,
            countries: vec![],
            media: vec![],
            reports: vec![],
            priority: 10,
            lane: Lane::Appeals,
            deadline: None,
            state: ReviewState::Open,
            restricted_in: None,
            escalation_target: None,
            created_at: chrono::Utc::now(),
            history: vec![],
            author_record: None,
            allowed_actions: Some(allowed),
            leased_by: None,
            appeal,
            thread: None,
            account: None,
            totals: None,
        }
    }

    fn appeal() -> Appeal {
        Appeal {
            id: 3,
            item_id: "p\u{202e}1".into(),
            decision: AppealedDecision {
                audit_id: 7,
                action: DecisionAction::TakeDown,
                reason_code: Some("spam".into()),
                scope: None,
                decided_by: "alice\u{1b}[2J".into(),
                decided_at: chrono::Utc::now(),
                statement: None,
            },
            appellant_statement: "mine \u{1b}]52;c;x\u{7}".into(),
            lodged_by: "intake".into(),
            lodged_at: chrono::Utc::now(),
            outcome: None,
        }
    }

    #[test]
    fn keys_are_withheld_from_the_first_decider_and_after_the_outcome_with_the_reason() {
        let open = item(
            Some(appeal()),
            vec![DecisionAction::Uphold, DecisionAction::Overturn],
        );
        assert_eq!(withheld(&open), None);
        assert_eq!(refusal(&open, DecisionAction::Overturn), None);
        let mine = item(Some(appeal()), vec![]);
        let why = refusal(&mine, DecisionAction::Overturn).unwrap();
        assert!(why.contains("Article 20"), "{why}");
        let decided = item(
            Some(Appeal {
                outcome: Some(AppealOutcome {
                    verdict: AppealVerdict::Upheld,
                    decided_by: "bob".into(),
                    decided_at: chrono::Utc::now(),
                }),
                ..appeal()
            }),
            vec![],
        );
        assert_eq!(withheld(&decided).unwrap(), "appeal 3 was upheld by bob");
        assert!(
            refusal(&open, DecisionAction::TakeDown)
                .unwrap()
                .contains("upheld or overturned")
        );
        let plain = item(None, vec![DecisionAction::TakeDown]);
        assert!(
            refusal(&plain, DecisionAction::Uphold)
                .unwrap()
                .contains("not one")
        );
        assert_eq!(refusal(&plain, DecisionAction::TakeDown), None);
    }

    #[test]
    fn every_string_of_an_appeal_is_made_visible() {
        let clean = sanitize(appeal());
        for text in [
            &clean.item_id,
            &clean.decision.decided_by,
            &clean.appellant_statement,
        ] {
            assert!(
                !text.contains('\u{1b}') && !text.contains('\u{202e}'),
                "{text:?}"
            );
        }
        assert!(clean.appellant_statement.contains('␛'));
    }
}
