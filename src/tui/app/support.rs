//! `H`: send a self-harm item's reporters the support resources for their country. A
//! decision like any other (journaled first, sent with its idempotency key, audited by the
//! server), but one that decides nothing: the item stays where it is, to be decided, and
//! `u` never takes a message back.

use crate::model::DecisionAction;
use crate::sanitize::clean_line;
use crate::tui::details::Details;

use super::{App, Effect, Level};

impl App {
    pub(super) fn send_support(&mut self) -> Vec<Effect> {
        if let Some(why) =
            crate::tui::capable::decision_why_not(&self.capabilities, DecisionAction::SendSupport)
        {
            self.flash(Level::Warning, why);
            return Vec::new();
        }
        let Some(entry) = self.selected_entry().filter(|_| !self.visible.is_empty()) else {
            self.flash(Level::Info, "Nothing selected to send support for".into());
            return Vec::new();
        };
        let category = entry.shown.leading_category().unwrap_or_default();
        let self_harm = self
            .policies
            .as_ref()
            .is_some_and(|c| c.is_self_harm(&category.to_lowercase()));
        if !self_harm {
            let text = format!(
                "Support resources are sent on self-harm items; this one is reported as {}",
                clean_line(category)
            );
            self.flash(Level::Info, text);
            return Vec::new();
        }
        if self.support_on_its_way(&entry.id) {
            let text = "Support resources for this item's reporters are on their way".into();
            self.flash(Level::Info, text);
            return Vec::new();
        }
        let id = entry.id.clone();
        if let Some(sent) = self.support_already_sent(entry)
            && self.support_asked.as_deref() != Some(id.as_str())
        {
            // Asked, not refused: a report since may name someone new, which the list as read
            // may not show. The server sends each reporter resources once either way.
            self.support_asked = Some(id);
            self.flash(
                Level::Info,
                format!(
                    "Support resources went to this item's reporters already ({sent}); each is \
                     sent them once. H again sends them to anyone who reported since"
                ),
            );
            return Vec::new();
        }
        self.support_asked = None;
        let Some(entry) = self.selected_entry() else {
            return Vec::new();
        };
        let decision =
            Details::default().decision(&entry.id, DecisionAction::SendSupport, self.now);
        // Durable first, like every decision; the cursor stays on the item.
        let position = entry.id.clone();
        if let Err(e) = self
            .store
            .journal(&self.session, &decision, Some(&position))
        {
            self.flash(
                Level::Error,
                format!("NOT SAVED — the support message was not recorded: {e}"),
            );
            return Vec::new();
        }
        self.in_flight
            .insert(decision.idempotency_key.clone(), decision.item_id.clone());
        self.support_in_flight
            .insert(decision.idempotency_key.clone());
        self.counts.unsent += 1;
        self.flash(
            Level::Info,
            "Support resources for their countries go to the item's reporters; the item is \
             still yours to decide"
                .into(),
        );
        vec![Effect::Flush]
    }

    /// Whether a support message for item `id` is on its way from this session.
    fn support_on_its_way(&self, id: &str) -> bool {
        self.support_in_flight
            .iter()
            .any(|key| self.in_flight.get(key).is_some_and(|item| item == id))
    }

    /// Who sent support resources about the item, as this session or the item's history
    /// knows: `H` then asks before sending (see `send_support`).
    fn support_already_sent(&self, entry: &super::Entry) -> Option<String> {
        if let Some(at) = self.support_sent.get(&entry.id) {
            return Some(format!("from this session at {}", at.format("%H:%M UTC")));
        }
        let sent = entry
            .shown
            .history
            .iter()
            .rev()
            .find(|h| h.event == crate::model::HistoryEvent::SupportSent)?;
        Some(format!(
            "by {} at {}",
            clean_line(&sent.actor),
            sent.at.format("%Y-%m-%d %H:%M UTC")
        ))
    }

    /// The server's answer to a support message (`true`: it was one).
    pub(super) fn settle_support(
        &mut self,
        key: &str,
        item_id: &str,
        outcome: crate::model::DecisionOutcome,
        message: Option<String>,
    ) -> bool {
        if !self.support_in_flight.remove(key) {
            return false;
        }
        if outcome.is_settled_ok() {
            self.support_sent.insert(item_id.to_string(), self.now);
        }
        if !outcome.is_settled_ok() {
            let why = clean_line(&message.unwrap_or_else(|| outcome.as_str().to_string()));
            self.flash(
                Level::Warning,
                format!("The support message was REFUSED by the server — {why}"),
            );
        }
        true
    }
}
