//! What a backend can do beyond the core every moderation API honours (page the queue, fetch
//! an item, send decisions, say who the account is). The TUI reads this to offer only the keys
//! a backend can honour, and to say why one is missing instead of failing after the key.

use crate::model::{EscalationTier, Lane};

/// Whether a backend honours one feature; when it does not, a sentence saying why, in the
/// platform's terms ("Matrix has no escalation tiers"), shown where the key would have been.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Support {
    Yes,
    No { why: String },
}

impl Support {
    pub fn no(why: impl Into<String>) -> Support {
        Support::No { why: why.into() }
    }

    pub fn is_yes(&self) -> bool {
        matches!(self, Support::Yes)
    }

    /// Why the feature is missing; `None` when it is there.
    pub fn why_not(&self) -> Option<&str> {
        match self {
            Support::Yes => None,
            Support::No { why } => Some(why),
        }
    }
}

/// Everything optional, as data. A backend computes it from its platform and from the
/// account's role, so it is read after [`super::Backend::me`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// The platform's name as moderators know it ("modq", "Matrix", "Bluesky Ozone").
    pub platform: String,
    /// The lanes the platform's queue is sorted into, in the order shown. One lane when the
    /// platform has no priorities.
    pub lanes: Vec<Lane>,
    /// The escalation tiers `e` climbs, lowest first; empty when there is no escalation.
    pub tiers: Vec<EscalationTier>,
    pub take_down: Support,
    pub keep: Support,
    pub escalate: Support,
    /// A take down limited to some countries (`T`'s country picker).
    pub country_scope: Support,
    /// Reversing an applied decision (`u`): the sentence says what cannot be undone.
    pub undo: Support,
    /// Items held for one moderator while they review them (modq's leases, a shared claim
    /// in a platform's management room, an assignment on the platform).
    pub claims: Support,
    /// Notes on an item's history (`n`).
    pub notes: Support,
    /// The filter terms the server evaluates (`lane:`, `category:`, ...); empty when it
    /// evaluates none and filters apply only to what the client has read.
    pub filter_terms: Vec<&'static str>,
    /// Every item matching a filter, from the server, for a bulk action (`*`).
    pub bulk_select: Support,
    /// A catalog of reason codes (and platform actions) for `T`.
    pub policies: Support,
    /// Open work per lane and escalated work per tier.
    pub counts: Support,
    /// The day's transparency counts (`s`).
    pub stats: Support,
    /// The most decisions one call may carry.
    pub max_batch: usize,
    /// Deciding appeals (EU DSA Article 20): uphold or overturn the decision appealed.
    pub appeals: Support,
    /// Measures on the author's account with a take down (`T`'s account step: strike,
    /// restrict, suspend for a period, ban), with the catalog's proposal.
    pub account_measures: Support,
    /// Sending a self-harm item's reporters the support resources for their country (`H`).
    pub support_resources: Support,
}

impl Capabilities {
    /// A backend honouring only the core: one lane, decisions without escalation, nothing
    /// else. Platforms start from here and say what they add.
    pub fn core(platform: &str) -> Capabilities {
        let missing = |what: &str| Support::no(format!("{platform} has no {what}"));
        Capabilities {
            platform: platform.to_string(),
            lanes: vec![Lane::Standard],
            tiers: Vec::new(),
            take_down: Support::Yes,
            keep: Support::Yes,
            escalate: missing("escalation"),
            country_scope: missing("take downs limited to countries"),
            undo: missing("undo of a decision"),
            claims: missing("claims on items"),
            notes: missing("notes on items"),
            filter_terms: Vec::new(),
            bulk_select: missing("server-side selection"),
            policies: missing("policy catalog"),
            counts: missing("queue counts"),
            stats: missing("daily statistics"),
            max_batch: 1,
            appeals: missing("appeals"),
            account_measures: missing("account measures (strikes, suspensions, bans)"),
            support_resources: missing("way to send a reporter support resources"),
        }
    }
}
