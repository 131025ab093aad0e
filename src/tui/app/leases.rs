//! Which items this session leases: the selection and the few open items after it, no more.
//! The list shows whatever was read of the queue (with who else is reviewing what); a lease
//! says "I am reviewing this", so it is taken only for what the moderator is about to reach
//! and handed back once they scroll past it or jump away. A team then shares one queue:
//! nobody's first page locks the others out.

use std::collections::HashSet;

use super::{App, Effect, Level};
use crate::model::{LeaseGrant, RefusalReason};
use crate::sanitize::clean_line;

/// Items leased at once: the selection and the open items after it. A screenful to read
/// ahead, and well under the server's default cap of 25 live leases per moderator.
pub const LEASE_WINDOW: usize = 8;
/// Leases kept on items this many places above the selection, for a glance back with `k`.
const KEEP_BEHIND: usize = 2;
/// Leases kept on items up to this many places below the selection; further ones go back.
const KEEP_AHEAD: usize = 16;
/// While others hold every open item, look for freed ones this often.
pub const WAIT_POLL_SECS: i64 = 5;

/// Where this session's lease on an item stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Lease {
    /// Not leased to this session (free, as far as it knows, unless `held_by` says who has it).
    #[default]
    None,
    /// Asked for; no answer yet.
    Claiming,
    /// Leased to this session, renewed while it stays in the window.
    Held,
    /// The server said not now: this moderator holds its fair share of the item's lane, or
    /// as many leases as one may. Asked again after this session's next decision or page.
    Deferred,
}

impl App {
    /// Claim what the window lacks and hand back what left it. Called after every move, page,
    /// decision and claim answer; does nothing when everything is where it should be.
    pub(super) fn sync_leases(&mut self) -> Vec<Effect> {
        // A backend without claims: the moderator reviews without leasing.
        if !self.capabilities.claims.is_yes() {
            return Vec::new();
        }
        let pos = self.position();
        let mut claim = Vec::new();
        let mut window_end = pos;
        // An undone decision's item is claimed once its reversal has landed: until then the
        // server holds it decided, and would refuse the claim.
        let reopening: HashSet<String> =
            self.reversing.values().map(|d| d.item_id.clone()).collect();
        if !self.browsing {
            let mut taken = 0;
            for (at, &i) in self.visible.iter().enumerate().skip(pos) {
                if taken >= LEASE_WINDOW {
                    break;
                }
                let Some(entry) = self.entries.get_mut(i) else {
                    continue;
                };
                // An appeal this moderator may not decide (they made the decision appealed)
                // is left free for the others: holding it would keep them from it.
                let withheld = crate::tui::appeal::withheld(&entry.shown).is_some();
                if !entry.is_open() || entry.lease == Lease::Deferred || withheld {
                    continue;
                }
                taken += 1;
                window_end = at;
                if entry.lease == Lease::None && !reopening.contains(&entry.id) {
                    entry.lease = Lease::Claiming;
                    self.leased.insert(entry.id.clone());
                    *self.claims_out.entry(entry.id.clone()).or_default() += 1;
                    claim.push(entry.id.clone());
                }
            }
        }
        let low = pos.saturating_sub(KEEP_BEHIND);
        let high = window_end.max(pos.saturating_add(KEEP_AHEAD));
        let mut release = Vec::new();
        let mut settled = Vec::new();
        for id in &self.leased {
            let Some(&i) = self.index.get(id) else {
                settled.push(id.clone());
                continue;
            };
            // Decided here: the server ends the lease when the decision arrives, and until
            // then nobody else may start on it, so it is never handed back.
            if self.entries.get(i).is_some_and(|e| e.local.is_some()) {
                settled.push(id.clone());
                continue;
            }
            let keep = self
                .visible
                .binary_search(&i)
                .is_ok_and(|at| at >= low && at <= high);
            if !keep {
                release.push(id.clone());
            }
        }
        for id in settled.iter().chain(&release) {
            self.leased.remove(id);
            if let Some(entry) = self.index.get(id).and_then(|&i| self.entries.get_mut(i)) {
                entry.lease = Lease::None;
            }
        }
        self.say_if_waiting();
        let mut effects = Vec::new();
        if !claim.is_empty() {
            effects.push(Effect::Claim(claim));
        }
        if !release.is_empty() {
            release.sort();
            effects.push(Effect::Release(release));
        }
        effects
    }

    /// The claims a session starts with: the first few items of the first page.
    pub fn start_leases(&mut self) -> Vec<Effect> {
        self.sync_leases()
    }

    /// The items this session holds a lease on, as the server last said.
    pub fn held_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = (self.leased.iter())
            .filter(|id| {
                (self.index.get(*id).and_then(|&i| self.entries.get(i)))
                    .is_some_and(|e| e.lease == Lease::Held)
            })
            .cloned()
            .collect();
        ids.sort();
        ids
    }

    /// Counts one answer to a claim of `id`; true when it answers the last claim sent for
    /// it. An earlier claim's answer says nothing of what the server holds now: after it came
    /// a release (the moderator moved away) and another claim (they came back), which the
    /// server takes in that order. Taken for the last, a grant to the first made an item held
    /// here while the server had let it go, and another moderator decided it too.
    fn last_claim_answered(&mut self, id: &str) -> bool {
        match self.claims_out.get_mut(id) {
            Some(n) if *n > 1 => {
                *n -= 1;
                false
            }
            _ => {
                self.claims_out.remove(id);
                true
            }
        }
    }

    /// The server answered a claim.
    pub fn claimed(&mut self, grant: LeaseGrant) -> Vec<Effect> {
        for id in &grant.leased {
            if !self.last_claim_answered(id) {
                continue;
            }
            if let Some(entry) = self.index.get(id).and_then(|&i| self.entries.get_mut(i)) {
                // Handed back meanwhile: that release went out after this claim, so the
                // server has let go of it again.
                if entry.lease == Lease::Claiming {
                    entry.lease = Lease::Held;
                }
            }
        }
        for refusal in grant.refused {
            if !self.last_claim_answered(&refusal.item_id) {
                continue;
            }
            self.leased.remove(&refusal.item_id);
            let Some(entry) = self
                .index
                .get(&refusal.item_id)
                .and_then(|&i| self.entries.get_mut(i))
            else {
                continue;
            };
            entry.lease = Lease::None;
            match refusal.reason {
                RefusalReason::LeasedElsewhere => {
                    let who = refusal.leased_by.as_deref().map(clean_line);
                    entry.held_by = Some(who.unwrap_or_else(|| "another moderator".into()));
                }
                RefusalReason::NotClaimable => {
                    if entry.local.is_none() {
                        entry.gone = Some("decided elsewhere, or not yours to claim".into());
                    }
                }
                RefusalReason::MaxLeases | RefusalReason::FairShare => {
                    entry.lease = Lease::Deferred;
                }
            }
        }
        // The selection landed on an item this session cannot have: it moves on to the next
        // it can, and says why.
        let refused = self
            .selected_entry()
            .filter(|e| e.local.is_none())
            .and_then(|e| match (&e.held_by, e.lease) {
                (Some(who), _) => Some(format!("{who} is reviewing {}", e.shown.id)),
                (None, Lease::Deferred) => Some(format!(
                    "{} is left for the others: you hold your share of its lane",
                    e.shown.id
                )),
                _ => None,
            });
        if let Some(why) = refused
            && !self.browsing
        {
            if let Some(i) = self.next_claimable_after(self.selected) {
                self.selected = i;
            }
            self.flash(
                Level::Info,
                format!("{why}; moved on to the next open item"),
            );
        }
        self.sync_leases()
    }

    /// The next visible entry after `i` (wrapping) that is open and not put off by the
    /// server.
    fn next_claimable_after(&self, i: usize) -> Option<usize> {
        let at = self.visible.partition_point(|&j| j <= i);
        let (before, after) = self.visible.split_at(at);
        let claimable = |j: &&usize| {
            self.entries.get(**j).is_some_and(|e| {
                e.is_open()
                    && e.lease != Lease::Deferred
                    && crate::tui::appeal::withheld(&e.shown).is_none()
            })
        };
        after
            .iter()
            .find(claimable)
            .or_else(|| before.iter().find(claimable))
            .copied()
    }

    /// A claim did not get through: those items are free to ask for again.
    pub(super) fn claim_failed(&mut self, ids: &[String], error: &str) -> Vec<Effect> {
        for id in ids {
            if !self.last_claim_answered(id) {
                continue;
            }
            if let Some(entry) = self.index.get(id).and_then(|&i| self.entries.get_mut(i))
                && entry.lease == Lease::Claiming
            {
                entry.lease = Lease::None;
                self.leased.remove(id);
            }
        }
        tracing::info!(error = %error, "claim failed; asked again on the next poll");
        Vec::new()
    }

    /// A decision or a fresh page may have made room under a cap: ask again for what the
    /// server put off.
    pub(super) fn retry_deferred(&mut self) {
        for entry in &mut self.entries {
            if entry.lease == Lease::Deferred {
                entry.lease = Lease::None;
            }
        }
    }

    /// Every open item in memory is being reviewed by someone else: how many, and by how
    /// many others.
    pub fn held_elsewhere(&self) -> Option<(usize, usize)> {
        if self.entries.iter().any(super::Entry::is_open) {
            return None;
        }
        let mut holders = std::collections::HashSet::new();
        let mut open = 0;
        for entry in &self.entries {
            if entry.local.is_none()
                && entry.gone.is_none()
                && let Some(who) = &entry.held_by
            {
                open += 1;
                holders.insert(who.as_str());
            }
        }
        (open > 0).then_some((open, holders.len()))
    }

    /// The honest line for a moderator with nothing to review while items are open.
    pub fn waiting_message(&self) -> Option<String> {
        let (open, holders) = self.held_elsewhere()?;
        let others = if holders == 1 {
            "1 other".to_string()
        } else {
            format!("{holders} others")
        };
        let items = if open == 1 {
            "1 open, being reviewed by".to_string()
        } else {
            format!("{open} open, all being reviewed by")
        };
        Some(format!("{items} {others}; you get the next one freed"))
    }

    /// Shows the waiting line while it holds, and takes it down once work is back.
    fn say_if_waiting(&mut self) {
        match self.waiting_message() {
            Some(text) => {
                self.flash(Level::Info, text.clone());
                self.waiting_said = Some(text);
            }
            None => {
                if let Some(said) = self.waiting_said.take()
                    && self.flash.as_ref().is_some_and(|f| f.text == said)
                {
                    self.flash = None;
                }
            }
        }
    }
}
