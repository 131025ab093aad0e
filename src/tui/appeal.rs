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
            "Only an appeal is {}: this item is not one (appeals are in the appeals lane)",
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
