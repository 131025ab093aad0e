//! What a decision carries beyond its action, as a key, a picker or a command gives it. Its
//! own module, so the pickers that fill it and the App that sends it need not know each other.

use chrono::{DateTime, Utc};

use crate::model::{Decision, DecisionAction, DecisionMethod, EscalationTier, Scope};
use crate::store::new_key;

/// What a decision carries beyond its action; `Default` is what one key gives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details {
    pub reason_code: Option<String>,
    pub scope: Option<Scope>,
    pub note: Option<String>,
    pub tier: Option<EscalationTier>,
    /// A measure on the author's account, sent with a take down.
    pub account: Option<crate::account::AccountMeasure>,
}

impl Details {
    pub fn decision(&self, item_id: &str, action: DecisionAction, now: DateTime<Utc>) -> Decision {
        Decision {
            idempotency_key: new_key(),
            item_id: item_id.to_string(),
            action,
            reason_code: self.reason_code.clone(),
            note: self.note.clone(),
            scope: (action == DecisionAction::TakeDown)
                .then(|| self.scope.clone().unwrap_or(Scope::Global)),
            escalation_target: (action == DecisionAction::Escalate)
                .then(|| self.tier.unwrap_or(EscalationTier::Senior)),
            reverses: None,
            decided_at: now,
            method: DecisionMethod::Single,
            account: self.account.filter(|_| action == DecisionAction::TakeDown),
        }
    }
}
