//! Lane tabs (`Tab`, `1`–`5`), the author's items (`A`), and the `T` / `E` pickers.
//! A lane is a `lane:` term in the filter, so a tab is a filter like any other: the server
//! claims only that lane's items and the moderator can combine it with other terms.

use crossterm::event::KeyEvent;

use super::{App, Effect, Layer, Level};
use crate::model::{EscalationTier, Lane};
use crate::query::{Clause, Query, Term};
use crate::tui::picker::{Outcome, Picker, Step};

impl App {
    /// The lane the tabs show: the filter's `lane:` term, or every lane.
    pub fn lane(&self) -> Option<Lane> {
        self.filter.clauses.iter().find_map(|c| match c.plain() {
            Some(Term::Lane(l)) => Some(*l),
            _ => None,
        })
    }

    pub(super) fn show_lane(&mut self, lane: Option<Lane>) -> Vec<Effect> {
        if let Some(why) =
            lane.and_then(|l| crate::tui::capable::lane_why_not(&self.capabilities, l))
        {
            self.flash(Level::Warning, why);
            return Vec::new();
        }
        // A tab replaces whatever the filter said about lanes (`lane:a,b`, `-lane:a` too).
        let mut clauses: Vec<Clause> = self
            .filter
            .clauses
            .iter()
            .filter(|c| !c.any_of.iter().any(|t| matches!(t, Term::Lane(_))))
            .cloned()
            .collect();
        if let Some(l) = lane {
            clauses.push(Clause::must(Term::Lane(l)));
        }
        let mut effects = self.commit_filter(Query { clauses });
        if self.capabilities.counts.is_yes() {
            effects.push(Effect::FetchCounts);
        }
        effects
    }

    /// Every lane, then each of the backend's lanes in its order, and round again.
    pub(super) fn next_lane(&mut self) -> Vec<Effect> {
        let lanes = &self.capabilities.lanes;
        let next = match self.lane() {
            None => lanes.first().copied(),
            Some(l) => lanes
                .iter()
                .position(|x| *x == l)
                .and_then(|i| lanes.get(i + 1))
                .copied(),
        };
        self.show_lane(next)
    }

    /// Filter to every item by the selected item's author.
    pub(super) fn show_author_items(&mut self) -> Vec<Effect> {
        let Some(author) = self
            .selected_entry()
            .and_then(|e| e.shown.author.as_ref())
            .map(|a| a.id.clone())
        else {
            self.flash(Level::Info, "This item has no known author".into());
            return Vec::new();
        };
        let label = format!("author {author}");
        self.push_view(label, Query::all_of([Term::Author(author)]))
    }

    pub(super) fn open_take_down_picker(&mut self) -> Vec<Effect> {
        let Some(entry) = self.selected_entry().filter(|e| e.is_open()) else {
            self.flash(Level::Info, "Nothing open to take down here".into());
            return Vec::new();
        };
        let item = &entry.shown;
        let (reasons, default) = match &self.policies {
            Some(catalog) => {
                // The reason the server would give a plain `t`: the category of the most
                // trusted report, through the catalog.
                let category = item.leading_category().map(str::to_lowercase);
                let default = category
                    .and_then(|c| {
                        catalog
                            .policies
                            .iter()
                            .find(|p| p.reports.iter().any(|r| r.eq_ignore_ascii_case(&c)))
                    })
                    .map_or_else(|| catalog.fallback.clone(), |p| p.code.clone());
                let reasons = catalog
                    .policies
                    .iter()
                    .map(|p| (p.code.clone(), p.title.clone()))
                    .collect();
                (reasons, Some(default))
            }
            None => (Vec::new(), None),
        };
        // The picker starts on what `t` does (this reason, global). The countries the item is
        // reported in (an authority's order names its own country there) are offered first,
        // never chosen for the moderator: a narrower scope is a deliberate choice.
        let countries = item.countries.clone();
        let item_id = entry.id.clone();
        let mut picker = Picker::take_down(reasons, default, countries);
        if !self.capabilities.country_scope.is_yes() {
            picker = picker.without_scope();
        }
        // The account step, where the backend acts on accounts and the item names its
        // author: the server's proposal (from the catalog's strike steps) starts chosen.
        if self.capabilities.account_measures.is_yes()
            && let Some(standing) = &item.account
        {
            let because = standing.proposal.map(|_| {
                format!(
                    "strike {} within {} d",
                    standing.strikes_in_window.saturating_add(1),
                    standing.window_days
                )
            });
            picker = picker.with_account(standing.proposal, because);
        }
        self.layers.push(Layer::Picker {
            item_id,
            picker: Box::new(picker),
        });
        Vec::new()
    }

    pub(super) fn open_escalation_picker(&mut self) -> Vec<Effect> {
        let Some(item_id) = self
            .selected_entry()
            .filter(|e| e.is_open())
            .map(|e| e.id.clone())
        else {
            self.flash(Level::Info, "Nothing open to escalate here".into());
            return Vec::new();
        };
        self.layers.push(Layer::Picker {
            item_id,
            picker: Box::new(Picker::escalate().with_tiers(&self.capabilities.tiers)),
        });
        Vec::new()
    }

    /// The escalation picker with `tier` chosen, waiting for the note that tier needs.
    pub(super) fn open_escalation_picker_at(&mut self, tier: EscalationTier) -> Vec<Effect> {
        let effects = self.open_escalation_picker();
        if let Some(Layer::Picker { picker, .. }) = self.layers.last_mut() {
            picker.tier = tier;
            picker.step = Step::Note;
        }
        effects
    }

    pub(super) fn picker_key(
        &mut self,
        item_id: String,
        mut picker: Box<Picker>,
        key: KeyEvent,
    ) -> Vec<Effect> {
        match picker.key(key) {
            Outcome::Continue => {
                self.layers.push(Layer::Picker { item_id, picker });
                Vec::new()
            }
            Outcome::Cancel => Vec::new(),
            Outcome::Decide(action, details) => {
                // The decision is for the item the picker was opened on, wherever the
                // selection went meanwhile.
                let Some(&i) = self.index.get(&item_id) else {
                    self.flash(
                        Level::Warning,
                        format!("{item_id} left the window while the picker was open; nothing was decided"),
                    );
                    return Vec::new();
                };
                self.selected = i;
                self.decide_with(action, details)
            }
        }
    }
}
