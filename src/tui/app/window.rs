//! The window of items: which ones the filter shows, in which order, and moving through them.
//! The filter is applied to the items in memory at once (as the moderator types) and handed
//! to the server when committed, so pages still to come match it too.

use super::{App, Effect, Entry, Level, QueueEnd};
use chrono::{DateTime, Utc};

use crate::model::{Item, Lane};
use crate::query::{Likeness, Query, Sort};

impl App {
    /// Whether an item (sanitized or raw: filters read text, ids and codes alike) matches
    /// the filter in force.
    pub(super) fn matches_filter(&self, item: &Item) -> bool {
        self.matches(&self.filter, item)
    }

    pub(super) fn matches(&self, query: &Query, item: &Item) -> bool {
        let likeness = |id: &str| {
            self.index
                .get(id)
                .and_then(|&i| self.entries.get(i))
                .map(|e| Likeness::of(&e.shown))
        };
        query.matches(item, &likeness)
    }

    /// Recompute which entries show, keeping the selection where it was if it still shows,
    /// else on the nearest one after it.
    pub(super) fn refresh_visible(&mut self) {
        let query = self.filter.clone();
        self.show_only(&query);
    }

    /// Show the entries matching `query` (a preview while typing, or the filter in force).
    pub(super) fn show_only(&mut self, query: &Query) {
        self.visible = if query.is_empty() {
            (0..self.entries.len()).collect()
        } else {
            (self.entries.iter().enumerate())
                .filter(|(_, e)| self.matches(query, &e.shown))
                .map(|(i, _)| i)
                .collect()
        };
        if let Some(&first_after) = self
            .visible
            .iter()
            .find(|&&i| i >= self.selected)
            .or(self.visible.last())
        {
            self.selected = first_after;
        }
    }

    /// Where the selection is among the visible entries.
    pub(super) fn position(&self) -> usize {
        self.visible
            .binary_search(&self.selected)
            .unwrap_or_else(|i| i.min(self.visible.len().saturating_sub(1)))
    }

    pub(super) fn move_by(&mut self, delta: isize) -> Vec<Effect> {
        if let Some(last) = self.visible.len().checked_sub(1) {
            let at = self.position().saturating_add_signed(delta).min(last);
            if let Some(&i) = self.visible.get(at) {
                self.selected = i;
            }
        }
        self.moved(false)
    }

    /// `g` goes to the top, where the work is; `G` reads to the end of the queue, which
    /// pages the list in without leasing any of it (`browsing`).
    pub(super) fn move_to_end(&mut self, last: bool) -> Vec<Effect> {
        let end = if last {
            self.visible.last()
        } else {
            self.visible.first()
        };
        if let Some(&i) = end {
            self.selected = i;
        }
        self.moved(last)
    }

    /// The selection moved: the leases follow it, and more of the queue is read if little
    /// is left below.
    pub(super) fn moved(&mut self, browsing: bool) -> Vec<Effect> {
        self.browsing = browsing;
        let mut effects = self.sync_leases();
        effects.extend(self.prefetch_if_low());
        effects
    }

    /// The next visible entry still waiting for a decision, after `i`, wrapping around.
    pub(super) fn next_undecided_after(&self, i: usize) -> Option<usize> {
        let open = |j: &&usize| **j != i && self.entries.get(**j).is_some_and(Entry::is_open);
        let at = self.visible.partition_point(|&j| j <= i);
        let (before, after) = self.visible.split_at(at);
        after
            .iter()
            .find(open)
            .or_else(|| before.iter().find(open))
            .copied()
    }

    /// Commit a filter: the window keeps what matches (and every decision of this session),
    /// hands back the leases on the rest, and claims from the top with the new filter.
    pub(super) fn commit_filter(&mut self, query: Query) -> Vec<Effect> {
        // Before the window narrows: what the items in memory know of categories and languages.
        let unknown = self.unknown_values(&query);
        self.filter = query;
        let selected_id = self.selected_entry().map(|e| e.id.clone());
        let (keep, drop): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|e| {
                e.local.is_some() || self.filter.is_empty() || self.matches_filter(&e.shown)
            });
        self.entries = keep;
        self.reindex(selected_id.as_deref());
        let text = self.filter.to_string();
        if text.is_empty() {
            self.flash(Level::Info, "Filter cleared".into());
        } else if unknown.is_empty() {
            self.flash(Level::Info, format!("Filter: {text}"));
        } else {
            // Still asked of the server: the catalog and memory are not the whole queue.
            self.flash(
                Level::Warning,
                format!("Filter: {text} — {}", unknown.join(" · ")),
            );
        }
        self.refetch(drop.into_iter().map(|e| e.id).collect())
    }

    /// Claim from another queue (open, or escalated to this tier): the open items of the one
    /// left are handed back; this session's decisions stay in view.
    pub(super) fn switch_queue(&mut self, queue: crate::model::ReviewState) -> Vec<Effect> {
        self.queue = queue;
        let selected_id = self.selected_entry().map(|e| e.id.clone());
        let (keep, drop): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|e| e.local.is_some());
        self.entries = keep;
        self.tagged.clear();
        self.tag_method.clear();
        self.visual = None;
        self.reindex(selected_id.as_deref());
        self.flash(Level::Info, format!("Queue: {}", queue.as_str()));
        self.refetch(drop.into_iter().map(|e| e.id).collect())
    }

    /// Order the window anew and claim from the top in that order.
    pub(super) fn set_sort(&mut self, sort: Sort) -> Vec<Effect> {
        self.sort = sort;
        self.keep_in_order();
        self.flash(Level::Info, format!("Sorted by {}", sort.as_str()));
        self.refetch(Vec::new())
    }

    /// Put the window in the order it is shown in (the title names it), the selection
    /// following its item. A page is merged into what is in memory, never put below it:
    /// after a filter was narrowed and widened again, the items a page brings may belong
    /// above those kept. The sort is stable and finds the runs already in order, so a page
    /// that only continues the window costs one pass.
    pub(super) fn keep_in_order(&mut self) {
        let (sort, now) = (self.sort, self.now);
        let in_order = self
            .entries
            .is_sorted_by(|a, b| order_key(sort, a, now) <= order_key(sort, b, now));
        if in_order {
            return;
        }
        let selected_id = self.selected_entry().map(|e| e.id.clone());
        self.entries
            .sort_by(|a, b| order_key(sort, a, now).cmp(&order_key(sort, b, now)));
        self.reindex(selected_id.as_deref());
    }

    /// After the window's membership or order changed: ask for matching pages from the top,
    /// and hand back what left.
    fn refetch(&mut self, left: Vec<String>) -> Vec<Effect> {
        self.queue_end = QueueEnd::Loading;
        self.reading_from_top = true;
        // Only what this session leased is handed back; the rest was only read.
        let released: Vec<String> = left
            .into_iter()
            .filter(|id| self.leased.remove(id))
            .collect();
        let q = self.filter.to_string();
        let mut effects = vec![Effect::Refilter {
            q: (!q.is_empty()).then_some(q),
            sort: self.sort,
            state: self.queue,
        }];
        if !released.is_empty() {
            effects.push(Effect::Release(released));
        }
        effects.extend(self.sync_leases());
        effects
    }

    fn reindex(&mut self, selected_id: Option<&str>) {
        self.index = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.id.clone(), i))
            .collect();
        self.selected = selected_id
            .and_then(|id| self.index.get(id).copied())
            .unwrap_or(0);
        self.refresh_visible();
    }
}

/// Where `entry` goes in `sort`'s order, as the server walks it: the priority order puts
/// the urgent lane and the overdue first (at `now`), then the highest priority, the oldest;
/// the item's id settles ties, so the order is total.
fn order_key(
    sort: Sort,
    entry: &Entry,
    now: DateTime<Utc>,
) -> (bool, i64, DateTime<Utc>, i64, &str) {
    let i = &entry.shown;
    let no_deadline = DateTime::<Utc>::MAX_UTC;
    match sort {
        Sort::Priority => {
            let first = i.lane == Lane::Urgent || i.deadline.is_some_and(|d| d <= now);
            (!first, -i.priority, i.created_at, 0, &entry.id)
        }
        Sort::Age => (false, 0, i.created_at, -i.priority, &entry.id),
        Sort::Reports => (
            false,
            -i64::try_from(i.report_total()).unwrap_or(i64::MAX),
            no_deadline,
            -i.priority,
            &entry.id,
        ),
        Sort::Deadline => (
            false,
            0,
            i.deadline.unwrap_or(no_deadline),
            -i.priority,
            &entry.id,
        ),
    }
}
