//! What the server says about an item beyond its content: the author's record and the
//! decisions this moderator's role may make on it. Pure functions over a sanitized item, so
//! the view and `App::update` word them the same way.

use crate::model::{AuthorRecord, DecisionAction, EscalationTier, Item, ReviewState};

/// Whether the server lets this token make `action` on the item now. A server that does not
/// say (no `allowed_actions`) allows everything: it will answer for itself.
pub fn allows(item: &Item, action: DecisionAction) -> bool {
    item.allowed_actions
        .as_ref()
        .is_none_or(|allowed| allowed.contains(&action))
}

/// Why `action` is not open to this moderator on the item, in words, or `None` when it is.
pub fn refusal(item: &Item, action: DecisionAction) -> Option<String> {
    if let Some(why) = super::appeal::refusal(item, action) {
        return Some(why);
    }
    if allows(item, action) {
        return None;
    }
    let why = match item.state {
        ReviewState::Escalated => {
            let tier = item.escalation_target.unwrap_or(EscalationTier::Senior);
            format!(
                "it is escalated to {}, which only the {} role decides",
                tier.label(),
                tier.as_str()
            )
        }
        ReviewState::TakenDown => "it is already taken down".to_string(),
        ReviewState::Kept => "it was already kept".to_string(),
        ReviewState::Open => "the server does not allow it for this role".to_string(),
    };
    Some(format!(
        "Your role cannot {} this item: {why}",
        action.label()
    ))
}

/// "4 other items: 2 taken down, 1 kept, 0 escalated, 1 open".
pub fn record_line(record: &AuthorRecord) -> String {
    if record.other_items == 0 {
        return "no other items on this platform".to_string();
    }
    format!(
        "{} other item{}: {} taken down, {} kept, {} escalated, {} open",
        record.other_items,
        if record.other_items == 1 { "" } else { "s" },
        record.taken_down,
        record.kept,
        record.escalated,
        record.open
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_reads_as_a_sentence() {
        let mut r = AuthorRecord {
            author_id: "u-1".into(),
            other_items: 0,
            taken_down: 0,
            kept: 0,
            escalated: 0,
            open: 0,
        };
        assert_eq!(record_line(&r), "no other items on this platform");
        r.other_items = 3;
        r.taken_down = 2;
        r.open = 1;
        assert_eq!(
            record_line(&r),
            "3 other items: 2 taken down, 0 kept, 0 escalated, 1 open"
        );
    }
}
