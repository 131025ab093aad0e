//! Views: named filters saved in the config file (`[view.NAME]`, `:view NAME`, a key each),
//! and the stack that jumps push. `A` (the author's items) and a saved view are jumps: each
//! remembers the filter and the item it left, and `esc` or `backspace` goes back there. The
//! status row says where the moderator is (`queue › spam › author u123`).

use super::{App, Effect, Level};
use crate::query::Query;
use crate::sanitize::clean_line;
use crate::tui::action::Action;

/// Jumps remembered at most; older ones are forgotten first.
const MAX_DEPTH: usize = 32;

/// A named filter from the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedView {
    /// Letters, digits, `-` and `_`.
    pub name: String,
    pub filter: Query,
}

/// One jump: what it shows, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jump {
    /// What the view is, for the status row: `spam`, `author u123`.
    pub label: String,
    /// The filter before the jump, and the item selected then.
    back_to: Query,
    back_item: Option<String>,
}

impl App {
    /// Where the moderator is: the views jumped through, oldest first (empty on the queue
    /// itself).
    pub fn view_path(&self) -> Vec<&str> {
        self.jumps.iter().map(|j| j.label.as_str()).collect()
    }

    /// Jump to a view: the filter and selection in force are remembered for `esc`.
    pub(super) fn push_view(&mut self, label: String, query: Query) -> Vec<Effect> {
        if self.jumps.len() >= MAX_DEPTH {
            self.jumps.remove(0);
        }
        self.jumps.push(Jump {
            label: clean_line(&label),
            back_to: self.filter.clone(),
            back_item: self.selected_entry().map(|e| e.id.clone()),
        });
        let effects = self.commit_filter(query);
        let back = self.key_for(&Action::Back);
        self.flash(
            Level::Info,
            format!("{} — {back} goes back", self.breadcrumb()),
        );
        effects
    }

    /// `esc` or `backspace`: back to the filter and the item before the last jump. `false`
    /// when there was no jump to go back from.
    pub(super) fn pop_view(&mut self) -> Option<Vec<Effect>> {
        let jump = self.jumps.pop()?;
        let effects = self.commit_filter(jump.back_to);
        // The item left is selected again: at once if still in memory, else when the page
        // that holds it arrives.
        if let Some(id) = jump.back_item {
            match self.index.get(&id) {
                Some(&i) => self.selected = i,
                None => self.return_to = Some(id),
            }
        }
        self.flash(Level::Info, format!("Back: {}", self.breadcrumb()));
        Some(effects)
    }

    /// `:view NAME`, or a view's key.
    pub(super) fn open_view(&mut self, name: &str) -> Result<Vec<Effect>, String> {
        let Some(view) = self.views.iter().find(|v| v.name == name).cloned() else {
            let names: Vec<&str> = self.views.iter().map(|v| v.name.as_str()).collect();
            return Err(if names.is_empty() {
                format!(
                    "no view {name:?}: none is saved (add [view.NAME] with filter = \"…\" to \
                     config.toml)"
                )
            } else {
                format!("no view {name:?} (views: {})", names.join(", "))
            });
        };
        Ok(self.push_view(view.name, view.filter))
    }

    /// `queue › spam › author u123`.
    pub fn breadcrumb(&self) -> String {
        std::iter::once("queue")
            .chain(self.view_path())
            .collect::<Vec<_>>()
            .join(" › ")
    }

    /// A page arrived: the item a `pop_view` went back to is selected once it is here.
    pub(super) fn return_to_item(&mut self) {
        if let Some(id) = self.return_to.take() {
            match self.index.get(&id) {
                Some(&i) if self.visible.binary_search(&i).is_ok() => self.selected = i,
                _ => self.return_to = Some(id),
            }
        }
    }
}
