//! Which of the moderator's actions the backend honours, from its [`Capabilities`]: the hint
//! line and the help overlay leave out the keys it cannot, and pressing one says why (the
//! platform's sentence) before anything is journaled.

use crate::backend::Capabilities;
use crate::model::{DecisionAction, EscalationTier, Lane};
use crate::tui::action::Action;

/// Why the backend cannot do what `action` asks; `None` when it can (or the action needs
/// nothing of the backend).
pub fn why_not(caps: &Capabilities, action: &Action) -> Option<String> {
    let support = match action {
        Action::TakeDown | Action::TakeDownWith => &caps.take_down,
        Action::SendSupport => &caps.support_resources,
        Action::Keep => &caps.keep,
        Action::Escalate | Action::EscalateTo => return escalation_why_not(caps),
        Action::Undo => &caps.undo,
        Action::Uphold | Action::Overturn => &caps.appeals,
        Action::Note => &caps.notes,
        Action::NextLane if caps.lanes.len() < 2 => {
            return Some(format!("{} sorts its queue into one lane", caps.platform));
        }
        Action::LaneUrgent => return lane_why_not(caps, Lane::Urgent),
        Action::LaneAuthority => return lane_why_not(caps, Lane::Authority),
        Action::LaneTrustedFlagger => return lane_why_not(caps, Lane::TrustedFlagger),
        Action::LaneStandard => return lane_why_not(caps, Lane::Standard),
        Action::LaneAppeals => return lane_why_not(caps, Lane::Appeals),
        _ => return None,
    };
    support.why_not().map(str::to_string)
}

/// Why a decision of this kind cannot be made on this backend.
pub fn decision_why_not(caps: &Capabilities, action: DecisionAction) -> Option<String> {
    match action {
        DecisionAction::TakeDown => caps.take_down.why_not().map(str::to_string),
        DecisionAction::Keep => caps.keep.why_not().map(str::to_string),
        DecisionAction::Escalate => escalation_why_not(caps),
        DecisionAction::Reverse => caps.undo.why_not().map(str::to_string),
        DecisionAction::Uphold | DecisionAction::Overturn => {
            caps.appeals.why_not().map(str::to_string)
        }
        DecisionAction::SendSupport => caps.support_resources.why_not().map(str::to_string),
    }
}

fn escalation_why_not(caps: &Capabilities) -> Option<String> {
    if let Some(why) = caps.escalate.why_not() {
        return Some(why.to_string());
    }
    caps.tiers
        .is_empty()
        .then(|| format!("{} has no escalation tiers", caps.platform))
}

/// Why a command of the command line cannot be run on this backend (`escalate` without
/// escalation, `note` without notes, …); `None` for commands it can run.
pub fn command_why_not(caps: &Capabilities, command: &str) -> Option<String> {
    let action = match command {
        "takedown" | "take_down" => Action::TakeDown,
        "keep" => Action::Keep,
        "escalate" => Action::Escalate,
        "note" => Action::Note,
        "lane" => Action::NextLane,
        "undo" => Action::Undo,
        _ => return None,
    };
    why_not(caps, &action)
}

/// Why the tabs cannot show `lane` on this backend.
pub fn lane_why_not(caps: &Capabilities, lane: Lane) -> Option<String> {
    if caps.lanes.len() < 2 && !caps.lanes.contains(&lane) {
        return Some(format!("{} sorts its queue into one lane", caps.platform));
    }
    (!caps.lanes.contains(&lane)).then(|| {
        format!(
            "{} has no {} lane",
            caps.platform,
            lane.as_str().replace('_', " ")
        )
    })
}

/// Why an escalation cannot go to `tier` on this backend.
pub fn tier_why_not(caps: &Capabilities, tier: EscalationTier) -> Option<String> {
    if let Some(why) = escalation_why_not(caps) {
        return Some(why);
    }
    (!caps.tiers.contains(&tier)).then(|| format!("{} has no {} tier", caps.platform, tier.label()))
}

/// The tier `e` sends an item escalated to `current` on to: up the ladder of
/// [`EscalationTier::next`], past the tiers this backend lacks; `None` at its last.
pub fn next_tier(caps: &Capabilities, current: EscalationTier) -> Option<EscalationTier> {
    let mut tier = EscalationTier::next(Some(current));
    while let Some(t) = tier.filter(|t| !caps.tiers.contains(t)) {
        tier = EscalationTier::next(Some(t));
    }
    tier
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Support;

    #[test]
    fn a_core_backend_offers_decisions_and_says_why_it_lacks_the_rest() {
        let core = Capabilities::core("Matrix");
        assert_eq!(why_not(&core, &Action::TakeDown), None);
        assert_eq!(why_not(&core, &Action::MoveDown), None);
        assert_eq!(
            why_not(&core, &Action::Escalate).as_deref(),
            Some("Matrix has no escalation")
        );
        assert_eq!(
            why_not(&core, &Action::Undo).as_deref(),
            Some("Matrix has no undo of a decision")
        );
        assert_eq!(
            why_not(&core, &Action::NextLane).as_deref(),
            Some("Matrix sorts its queue into one lane")
        );
        assert_eq!(
            why_not(&core, &Action::LaneUrgent).as_deref(),
            Some("Matrix sorts its queue into one lane")
        );
        assert_eq!(why_not(&core, &Action::LaneStandard), None);
    }

    #[test]
    fn tiers_climb_the_backends_own_list() {
        let mut caps = Capabilities::core("Ozone");
        caps.escalate = Support::Yes;
        assert_eq!(
            why_not(&caps, &Action::Escalate).as_deref(),
            Some("Ozone has no escalation tiers")
        );
        caps.tiers = vec![EscalationTier::Senior, EscalationTier::LawEnforcement];
        assert_eq!(why_not(&caps, &Action::Escalate), None);
        // Senior goes to legal on modq; here legal is missing, so on to law enforcement.
        assert_eq!(
            next_tier(&caps, EscalationTier::Senior),
            Some(EscalationTier::LawEnforcement)
        );
        assert_eq!(next_tier(&caps, EscalationTier::LawEnforcement), None);
        assert_eq!(
            tier_why_not(&caps, EscalationTier::Legal).as_deref(),
            Some("Ozone has no legal tier")
        );
        assert_eq!(tier_why_not(&caps, EscalationTier::LawEnforcement), None);
    }
}
