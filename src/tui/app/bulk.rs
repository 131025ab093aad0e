//! Acting on many items: tags (`space`, `*`, `S`), ranges (`V`), the tag prefix (`;`) with its
//! confirmation, and the progress of a bulk action through the outbox to the server.

use std::collections::{HashMap, HashSet};

use super::{App, Delivery, Details, Effect, Layer, Level, LocalDecision};
use crate::model::{
    Decision, DecisionAction, DecisionMethod, DecisionResult, SelectRequest, Selection,
};
use crate::query::{Likeness, Query, Term};
use crate::store::new_key;
use crate::tui::action::Action;

/// A bulk action waiting for the moderator's yes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkPlan {
    pub action: DecisionAction,
    /// Exactly as the API sent them.
    pub ids: Vec<String>,
    /// How each id was chosen, when not tagged one by one.
    pub methods: HashMap<String, DecisionMethod>,
    /// What the count is made of, for the confirmation.
    pub breakdown: Breakdown,
}

/// A bulk action's count by lane and by report category (the leading report's), most first;
/// items tagged on the server's word and not yet in memory are counted apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Breakdown {
    pub by_lane: Vec<(String, usize)>,
    pub by_category: Vec<(String, usize)>,
    pub not_in_memory: usize,
}

impl Breakdown {
    fn of<'a>(items: impl Iterator<Item = Option<&'a crate::model::Item>>) -> Breakdown {
        let mut lanes: HashMap<String, usize> = HashMap::new();
        let mut categories: HashMap<String, usize> = HashMap::new();
        let mut not_in_memory = 0;
        for item in items {
            let Some(item) = item else {
                not_in_memory += 1;
                continue;
            };
            *lanes.entry(item.lane.as_str().to_string()).or_default() += 1;
            let category = item.leading_category().unwrap_or("no report");
            *categories.entry(category.to_string()).or_default() += 1;
        }
        let ranked = |m: HashMap<String, usize>| {
            let mut v: Vec<(String, usize)> = m.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v
        };
        Breakdown {
            by_lane: ranked(lanes),
            by_category: ranked(categories),
            not_in_memory,
        }
    }

    /// `urgent 3 · standard 2`, the first `most` and how many more.
    pub fn line(parts: &[(String, usize)], most: usize) -> String {
        let mut out: Vec<String> = parts
            .iter()
            .take(most)
            .map(|(name, n)| format!("{name} {}", count(*n)))
            .collect();
        if parts.len() > most {
            out.push(format!("{} more", parts.len() - most));
        }
        out.join(" · ")
    }
}

/// How far a bulk action has got: journaled, on the wire, acknowledged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkProgress {
    pub id: String,
    pub action: DecisionAction,
    pub total: usize,
    /// In the outbox, durable.
    pub saved: bool,
    pub sent: usize,
    pub acknowledged: usize,
    pub refused: usize,
    keys: HashSet<String>,
}

impl BulkProgress {
    pub fn done(&self) -> bool {
        self.acknowledged >= self.total
    }
}

/// Thousands separated, for counts a moderator reads at a glance: 100,000.
pub fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl App {
    /// The ids a bulk action would take: the tagged ones and the range being drawn.
    pub fn targets(&self) -> HashSet<String> {
        let mut ids = self.tagged.clone();
        ids.extend(self.visual_range());
        ids
    }

    /// How many `targets` there are, without copying the tagged set: the status line asks on
    /// every frame, and a bulk tag may hold many thousands of ids.
    pub fn target_count(&self) -> usize {
        let range = self.visual_range();
        let untagged: HashSet<&String> = range
            .iter()
            .filter(|id| !self.tagged.contains(*id))
            .collect();
        self.tagged.len() + untagged.len()
    }

    /// Ids of the visible entries between the range's start and the cursor.
    pub fn visual_range(&self) -> Vec<String> {
        let Some(anchor) = self.visual.as_ref().and_then(|id| self.index.get(id)) else {
            return Vec::new();
        };
        let (lo, hi) = if *anchor <= self.selected {
            (*anchor, self.selected)
        } else {
            (self.selected, *anchor)
        };
        self.visible
            .iter()
            .filter(|&&i| i >= lo && i <= hi)
            .filter_map(|&i| self.entries.get(i).map(|e| e.id.clone()))
            .collect()
    }

    pub(super) fn toggle_tag(&mut self) -> Vec<Effect> {
        let Some(id) = self.selected_entry().map(|e| e.id.clone()) else {
            return Vec::new();
        };
        self.tag_method.remove(&id);
        if !self.tagged.remove(&id) {
            self.tagged.insert(id);
        }
        self.move_by(1)
    }

    pub(super) fn untag_all(&mut self) -> Vec<Effect> {
        let n = self.targets().len();
        self.tagged.clear();
        self.tag_method.clear();
        self.visual = None;
        self.flash(Level::Info, format!("Untagged {}", count(n)));
        Vec::new()
    }

    pub(super) fn toggle_visual(&mut self) -> Vec<Effect> {
        if self.visual.is_some() {
            let range = self.visual_range();
            let n = range.len();
            for id in &range {
                if !self.tagged.contains(id) {
                    self.tag_method.insert(id.clone(), DecisionMethod::Range);
                }
            }
            self.tagged.extend(range);
            self.visual = None;
            self.flash(Level::Info, format!("Tagged a range of {}", count(n)));
        } else {
            self.visual = self.selected_entry().map(|e| e.id.clone());
            let (visual, prefix, back) = (
                self.key_for(&Action::Visual),
                self.key_for(&Action::TagPrefix),
                self.key_for(&Action::Back),
            );
            self.flash(
                Level::Info,
                format!(
                    "Range: move to its end, then {visual} tags it or {prefix} acts on it \
                     ({back} drops it)"
                ),
            );
        }
        Vec::new()
    }

    /// Tag what matches `query` (the filter in force when `None`): the items in memory at
    /// once, and every match on the server when its answer comes.
    pub(super) fn tag_matching(&mut self, query: Option<Query>) -> Vec<Effect> {
        let query = query.unwrap_or_else(|| self.filter.clone());
        let in_memory: Vec<String> = self
            .entries
            .iter()
            .filter(|e| e.is_open() && self.matches(&query, &e.shown))
            .map(|e| e.id.clone())
            .collect();
        let n = in_memory.len();
        let method = if query.similar_ids().next().is_some() {
            DecisionMethod::Similar
        } else {
            DecisionMethod::Filter
        };
        self.select_method = method;
        for id in &in_memory {
            if !self.tagged.contains(id) {
                self.tag_method.insert(id.clone(), method);
            }
        }
        self.tagged.extend(in_memory);
        let text = query.to_string();
        // A backend that cannot select on the server: what was read is all there is to tag.
        if let Some(why) = self.capabilities.bulk_select.why_not() {
            let text = format!(
                "Tagged {} read so far matching {} (no others: {why})",
                count(n),
                if text.is_empty() { "anything" } else { &text }
            );
            self.flash(Level::Info, text);
            return Vec::new();
        }
        self.flash(
            Level::Info,
            format!(
                "Tagged {} in memory matching {}; asking the server for every match…",
                count(n),
                if text.is_empty() { "anything" } else { &text }
            ),
        );
        vec![Effect::Select(SelectRequest {
            q: (!text.is_empty()).then_some(text),
            sort: Some(self.sort),
            ..SelectRequest::default()
        })]
    }

    /// Items like the selected one: same author, a shared link, or near-identical text.
    pub(super) fn tag_similar(&mut self) -> Vec<Effect> {
        let Some(entry) = self.selected_entry() else {
            return Vec::new();
        };
        let like = Likeness::of(&entry.shown);
        if like.author_id.is_none() && like.links.is_empty() && like.text_hash.is_none() {
            self.flash(
                Level::Info,
                "Nothing to compare: no author, link or text on this item".into(),
            );
            return Vec::new();
        }
        let query = Query::all_of([Term::Similar(entry.id.clone())]);
        self.tag_matching(Some(query))
    }

    /// The server's answer to `*` or `S`.
    pub(super) fn tag_selection(&mut self, selection: Selection) {
        let decided: HashSet<&str> = self
            .entries
            .iter()
            .filter(|e| !e.is_open())
            .map(|e| e.id.as_str())
            .collect();
        let fresh: Vec<String> = selection
            .ids
            .into_iter()
            .filter(|id| !decided.contains(id.as_str()))
            .collect();
        for id in &fresh {
            if !self.tagged.contains(id) {
                self.tag_method.insert(id.clone(), self.select_method);
            }
        }
        self.tagged.extend(fresh);
        let mut text = format!("{} tagged", count(self.tagged.len()));
        if selection.leased_elsewhere > 0 {
            text.push_str(&format!(
                "; {} left out: other moderators are reviewing them",
                count(selection.leased_elsewhere)
            ));
        }
        if selection.truncated {
            text.push_str("; more matched than one selection takes (200,000)");
        }
        self.flash(Level::Info, text);
    }

    pub(super) fn start_tag_prefix(&mut self) -> Vec<Effect> {
        let n = self.targets().len();
        if n == 0 {
            let (tag, all, visual) = (
                self.key_for(&Action::Tag),
                self.key_for(&Action::TagAll),
                self.key_for(&Action::Visual),
            );
            self.flash(
                Level::Info,
                format!(
                    "Nothing tagged: {tag} tags, {all} tags every match, {visual} starts a range"
                ),
            );
            return Vec::new();
        }
        self.tag_prefix = true;
        self.flash(
            Level::Info,
            format!(
                "; — {} tagged: t take down · a keep · e escalate (asks first)",
                count(n)
            ),
        );
        Vec::new()
    }

    /// Ask before deciding every tagged item.
    pub(super) fn plan_bulk(&mut self, action: DecisionAction) -> Vec<Effect> {
        if let Some(why) = crate::tui::capable::decision_why_not(&self.capabilities, action) {
            self.flash(Level::Warning, why);
            return Vec::new();
        }
        let targets = self.targets();
        let ids: Vec<String> = targets
            .into_iter()
            .filter(
                |id| match self.index.get(id).and_then(|&i| self.entries.get(i)) {
                    Some(e) => e.is_open(),
                    None => true,
                },
            )
            .collect();
        if ids.is_empty() {
            self.flash(
                Level::Info,
                "Every tagged item already has a decision".into(),
            );
            return Vec::new();
        }
        // A range still being drawn counts as a range; tags say how they were made.
        let range: HashSet<String> = self.visual_range().into_iter().collect();
        let methods = ids
            .iter()
            .filter_map(|id| {
                let method = match self.tag_method.get(id) {
                    Some(m) if self.tagged.contains(id) => *m,
                    _ if !self.tagged.contains(id) && range.contains(id) => DecisionMethod::Range,
                    _ => return None,
                };
                Some((id.clone(), method))
            })
            .collect();
        let breakdown = Breakdown::of(ids.iter().map(|id| {
            self.index
                .get(id)
                .and_then(|&i| self.entries.get(i))
                .map(|e| &e.shown)
        }));
        self.layers.push(Layer::Confirm(BulkPlan {
            action,
            ids,
            methods,
            breakdown,
        }));
        Vec::new()
    }

    /// The moderator said yes: journal every decision (off the UI thread), mark the items in
    /// memory, and follow the action's progress.
    pub(super) fn run_bulk(&mut self, plan: BulkPlan) -> Vec<Effect> {
        let bulk = new_key();
        let details = Details::default();
        let decisions: Vec<Decision> = plan
            .ids
            .iter()
            .map(|id| Decision {
                method: plan
                    .methods
                    .get(id)
                    .copied()
                    .unwrap_or(DecisionMethod::Tagged),
                ..details.decision(id, plan.action, self.now)
            })
            .collect();
        let mut keys = HashSet::with_capacity(decisions.len());
        for d in &decisions {
            keys.insert(d.idempotency_key.clone());
            self.in_flight
                .insert(d.idempotency_key.clone(), d.item_id.clone());
            if let Some(entry) = self
                .index
                .get(&d.item_id)
                .and_then(|&i| self.entries.get_mut(i))
            {
                entry.local = Some(LocalDecision {
                    action: plan.action,
                    key: d.idempotency_key.clone(),
                    delivery: Delivery::Unsent,
                    details: Details::default(),
                });
            }
        }
        let total = decisions.len();
        self.decided += total;
        self.log_bulk(&decisions);
        self.counts.unsent += total;
        self.tagged.clear();
        self.tag_method.clear();
        self.visual = None;
        self.bulk = Some(BulkProgress {
            id: bulk.clone(),
            action: plan.action,
            total,
            saved: false,
            sent: 0,
            acknowledged: 0,
            refused: 0,
            keys,
        });
        self.flash = None;
        if !self.selected_entry().is_some_and(|e| e.is_open())
            && let Some(next) = self.next_undecided_after(self.selected)
        {
            self.selected = next;
        }
        let mut effects = vec![Effect::JournalBulk {
            session: self.session.clone(),
            bulk,
            decisions,
        }];
        effects.extend(self.prefetch_if_low());
        effects
    }

    pub(super) fn bulk_saved(&mut self, bulk: &str) {
        if let Some(progress) = self.bulk.as_mut().filter(|b| b.id == bulk) {
            progress.saved = true;
        }
    }

    /// Nothing of the bulk action reached the outbox: take it back off the screen.
    pub(super) fn bulk_failed(&mut self, bulk: &str, error: &str) {
        let Some(progress) = self.bulk.take_if(|b| b.id == bulk) else {
            return;
        };
        for key in &progress.keys {
            if let Some(item) = self.in_flight.remove(key)
                && let Some(entry) = self.index.get(&item).and_then(|&i| self.entries.get_mut(i))
                && entry.local.as_ref().is_some_and(|l| &l.key == key)
            {
                entry.local = None;
            }
        }
        self.decided = self.decided.saturating_sub(progress.total);
        self.stats.forget(&progress.keys);
        self.counts.unsent = self.counts.unsent.saturating_sub(progress.total);
        self.flash(
            Level::Error,
            format!(
                "NOT SAVED — the bulk {} of {} items was not recorded: {}",
                progress.action.label(),
                count(progress.total),
                crate::sanitize::clean_short(error, 300)
            ),
        );
    }

    pub(super) fn bulk_sending(&mut self, keys: &[String]) {
        if let Some(progress) = self.bulk.as_mut() {
            // Decisions sent again (after a network error, or the rest of a batch sent in
            // parts) would count twice: the figure is at most the whole.
            let sending = keys.iter().filter(|k| progress.keys.contains(*k)).count();
            progress.sent = (progress.sent + sending).min(progress.total);
        }
    }

    pub(super) fn bulk_acknowledged(&mut self, results: &[DecisionResult]) {
        let Some(progress) = self.bulk.as_mut() else {
            return;
        };
        for r in results {
            if progress.keys.contains(&r.idempotency_key) {
                progress.acknowledged += 1;
                if !r.outcome.is_settled_ok() {
                    progress.refused += 1;
                }
            }
        }
        if progress.done() {
            let text = format!(
                "Bulk {}: {} acknowledged by the server{}",
                progress.action.label(),
                count(progress.acknowledged),
                if progress.refused > 0 {
                    format!(", {} refused (marked !)", count(progress.refused))
                } else {
                    String::new()
                }
            );
            self.bulk = None;
            self.flash(Level::Info, text);
        }
    }

    /// One `u` took a whole bulk action back. The caller reads the counts back from the
    /// outbox.
    pub(super) fn undo_bulk(
        &mut self,
        withdrawn: Vec<Decision>,
        reversed: Vec<(Decision, Decision)>,
        dismissed: Vec<Decision>,
    ) -> Vec<Effect> {
        let total = withdrawn.len() + reversed.len() + dismissed.len();
        let forget = |app: &mut App, original: &Decision| {
            app.in_flight.remove(&original.idempotency_key);
            if let Some(entry) = app
                .index
                .get(&original.item_id)
                .and_then(|&i| app.entries.get_mut(i))
            {
                entry.local = None;
            }
        };
        for d in withdrawn.iter().chain(&dismissed) {
            forget(self, d);
        }
        for (original, reversal) in &reversed {
            forget(self, original);
            self.in_flight
                .insert(reversal.idempotency_key.clone(), reversal.item_id.clone());
            self.reversing
                .insert(reversal.idempotency_key.clone(), original.clone());
        }
        self.bulk = None;
        // Refused ones left `decided` and the stats when the refusal came.
        self.decided = self
            .decided
            .saturating_sub(withdrawn.len() + reversed.len());
        self.stats
            .forget(withdrawn.iter().map(|d| &d.idempotency_key));
        self.stats
            .reverse(reversed.iter().map(|(o, _)| &o.idempotency_key));
        let action = withdrawn
            .first()
            .or(reversed.first().map(|(o, _)| o))
            .or(dismissed.first())
            .map_or("decision", |d| d.action.label());
        let mut text = format!(
            "Undone: bulk {action} of {} items — {} withdrawn, {} reversals on their way",
            count(total),
            count(withdrawn.len()),
            count(reversed.len())
        );
        if !dismissed.is_empty() {
            text.push_str(&format!(", {} refusals set aside", count(dismissed.len())));
        }
        self.flash(Level::Info, text);
        if reversed.is_empty() {
            Vec::new()
        } else {
            vec![Effect::Flush]
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_read_at_a_glance() {
        assert_eq!(super::count(0), "0");
        assert_eq!(super::count(999), "999");
        assert_eq!(super::count(100_000), "100,000");
        assert_eq!(super::count(1_234_567), "1,234,567");
    }
}
