//! What the server says about an item beyond its content: the author's record and the
//! decisions this moderator's role may make on it. Pure functions over a sanitized item, so
//! the view and `App::update` word them the same way.

use chrono::{DateTime, Utc};

use crate::account::{AccountAction, AccountStanding};
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

/// An age as a person says it: `5 d`, `7 mo`, `3 y`.
pub fn age(days: i64) -> String {
    match days.max(0) {
        d @ 0..60 => format!("{d} d"),
        d @ 60..730 => format!("{} mo", d / 30),
        d => format!("{} y", d / 365),
    }
}

/// "made 5 d ago · 2 strikes in 90 d · suspended until 2026-12-01": the account's age,
/// its strikes within the catalog's window and what limits it now.
pub fn account_line(standing: &AccountStanding, now: DateTime<Utc>) -> String {
    let made = match standing.created_at {
        Some(at) => format!("made {} ago", age((now - at).num_days())),
        None => "age unknown".to_string(),
    };
    let strikes = match (&standing.counts, standing.strikes_in_window) {
        // A platform without a strike window says what it counts instead.
        (Some(counts), _) => counts_line(counts),
        (None, 1) => format!("1 strike in {} d", standing.window_days),
        (None, n) => format!("{n} strikes in {} d", standing.window_days),
    };
    let limited = standing.in_force.as_ref().map(|m| match m.until {
        Some(until) => format!(
            " · {} until {}",
            in_force_word(m.measure.action),
            until.format("%Y-%m-%d %H:%M")
        ),
        None => format!(" · {}", in_force_word(m.measure.action)),
    });
    format!("{made} · {strikes}{}", limited.unwrap_or_default())
}

/// "platform counts 2 reports, 1 take down, 0 suspensions, 0 appeals": a platform's own
/// counts for the account, each only where it gave one.
fn counts_line(c: &crate::account::AccountCounts) -> String {
    let part = |n: Option<u64>, one: &str, many: &str| {
        n.map(|n| format!("{n} {}", if n == 1 { one } else { many }))
    };
    let parts: Vec<String> = [
        part(c.reports, "report", "reports"),
        part(c.takedowns, "take down", "take downs"),
        part(c.suspensions, "suspension", "suspensions"),
        part(c.appeals, "appeal", "appeals"),
        part(c.escalations, "escalation", "escalations"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if parts.is_empty() {
        "no counts yet".into()
    } else {
        format!("on the account: {}", parts.join(", "))
    }
}

fn in_force_word(action: AccountAction) -> &'static str {
    match action {
        AccountAction::Strike => "struck",
        AccountAction::Restrict => "RESTRICTED",
        AccountAction::Suspend => "SUSPENDED",
        AccountAction::Ban => "BANNED",
    }
}

/// "11-20 suspend 7 d (harassment) · 11-02 strike (spam)": the latest strikes in the window.
pub fn strikes_line(standing: &AccountStanding) -> Option<String> {
    if standing.recent.is_empty() {
        return None;
    }
    let parts: Vec<String> = standing
        .recent
        .iter()
        .map(|m| {
            let why = m
                .reason_code
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            format!("{} {}{why}", m.at.format("%m-%d"), m.measure.label())
        })
        .collect();
    Some(parts.join(" · "))
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
