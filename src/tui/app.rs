//! The TUI's state and the one place it changes: `App::update(Action)`.
//!
//! A decision is journaled in the local outbox before the state moves on; the network is
//! reached only through the `Effect`s `update` returns, which the event loop hands to `sync`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;

use super::action::Action;
use super::keymap::KeyMap;
use super::theme::Theme;
use crate::model::{
    Author, Decision, DecisionAction, DecisionOutcome, EscalationTier, HistoryEntry, Item, Media,
    QueuePage, Report, Scope,
};
use crate::sanitize::{clean_line, clean_text};
use crate::store::{OutboxCounts, POSITION_KEY, Store, Undone, new_key};
use crate::sync::{Fetch, SyncEvent};

/// Ask for the next page when fewer undecided items than this are left below the cursor.
pub const PREFETCH_LOW_WATER: usize = 40;
/// With nothing left to review, look for new or released items this often.
const REFILL_EVERY_SECS: i64 = 30;
/// How far page up/down jumps.
const PAGE: usize = 10;

/// Work for the event loop, which owns the background tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// New decisions are in the outbox.
    Flush,
    /// The window of items is running low (or empty: refill from the top).
    Fetch(Fetch),
}

/// Where a decision made in this session stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Unsent,
    Sent,
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalDecision {
    pub action: DecisionAction,
    pub key: String,
    pub delivery: Delivery,
}

/// One queue item as the TUI holds it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The id exactly as the API sent it: decisions must name it byte for byte.
    pub id: String,
    /// Every string already passed through the sanitizer: safe to draw.
    pub shown: Item,
    pub local: Option<LocalDecision>,
    /// Set when the item stopped being this moderator's to review (its lease went to someone
    /// else, or it was decided elsewhere): why, in words.
    pub gone: Option<String>,
}

impl Entry {
    /// Still waiting for this moderator's decision.
    pub fn is_open(&self) -> bool {
        self.local.is_none() && self.gone.is_none()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueEnd {
    /// More pages exist on the server.
    More,
    Loading,
    /// Everything the server had is here.
    Exhausted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flash {
    pub level: Level,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    Help,
}

/// Whether the last contact with the API worked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    Online,
    Offline(String),
}

pub struct App {
    pub entries: Vec<Entry>,
    pub selected: usize,
    pub overlay: Option<Overlay>,
    pub flash: Option<Flash>,
    pub queue_end: QueueEnd,
    pub link: Link,
    pub counts: OutboxCounts,
    /// The local cache failed to read or write: shown until it works again.
    pub store_trouble: Option<String>,
    /// Decisions this session made and has not undone.
    pub decided: usize,
    pub profile: String,
    pub api: String,
    pub now: DateTime<Utc>,
    pub keymap: KeyMap,
    pub theme: Theme,
    /// Set when the session must end; `Some(message)` ends it with an error to print.
    pub quit: Option<Option<String>>,
    session: String,
    store: Store,
    last_refill: DateTime<Utc>,
    index: HashMap<String, usize>,
    in_flight: HashMap<String, String>,
}

pub struct AppInit {
    pub profile: String,
    pub api: String,
    pub store: Store,
    pub first_page: QueuePage,
    pub keymap: KeyMap,
    pub theme: Theme,
    pub now: DateTime<Utc>,
}

impl App {
    pub fn new(init: AppInit) -> Result<App, crate::store::StoreError> {
        let session = new_key();
        let counts = init.store.counts()?;
        let mut app = App {
            entries: Vec::new(),
            selected: 0,
            overlay: None,
            flash: None,
            queue_end: QueueEnd::More,
            link: Link::Online,
            counts,
            store_trouble: None,
            decided: 0,
            profile: init.profile,
            api: init.api,
            now: init.now,
            keymap: init.keymap,
            theme: init.theme,
            quit: None,
            session,
            last_refill: init.now,
            store: init.store,
            index: HashMap::new(),
            in_flight: HashMap::new(),
        };
        let resume_at = app.store.get_state(POSITION_KEY)?;
        app.add_page(init.first_page.items, init.first_page.next_cursor)?;
        if let Some(&i) = resume_at.as_ref().and_then(|id| app.index.get(id)) {
            app.selected = i;
        }
        if app.counts.unsent > 0 {
            app.flash(
                Level::Info,
                format!(
                    "{} decisions from an earlier session are being sent",
                    app.counts.unsent
                ),
            );
        }
        Ok(app)
    }

    pub fn selected_entry(&self) -> Option<&Entry> {
        self.entries.get(self.selected)
    }

    /// Map a key through the keymap and apply it.
    pub fn handle_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        match self.keymap.action_for(&key) {
            Some(action) => self.update(action),
            None => Vec::new(),
        }
    }

    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        if self.overlay.is_some() {
            // The help layer sits on top: it takes every key and closes on help/back/quit.
            return match action {
                Action::Help | Action::Back | Action::Quit => {
                    self.overlay = None;
                    Vec::new()
                }
                Action::Sync(e) => self.on_sync(e),
                Action::Tick(now) => self.tick(now),
                _ => Vec::new(),
            };
        }
        match action {
            Action::MoveDown => self.select(self.selected.saturating_add(1)),
            Action::MoveUp => self.select(self.selected.saturating_sub(1)),
            Action::First => self.select(0),
            Action::Last => self.select(self.entries.len().saturating_sub(1)),
            Action::PageDown => self.select(self.selected.saturating_add(PAGE)),
            Action::PageUp => self.select(self.selected.saturating_sub(PAGE)),
            Action::TakeDown => self.decide(DecisionAction::TakeDown),
            Action::Keep => self.decide(DecisionAction::Keep),
            Action::Escalate => self.decide(DecisionAction::Escalate),
            Action::Undo => self.undo(),
            Action::Help => {
                self.overlay = Some(Overlay::Help);
                Vec::new()
            }
            Action::Back => {
                self.flash = None;
                Vec::new()
            }
            Action::Quit => {
                self.remember_position();
                self.quit = Some(None);
                Vec::new()
            }
            Action::Sync(e) => self.on_sync(e),
            Action::Tick(now) => self.tick(now),
        }
    }

    /// Time passes: deadlines count down; a failed page is retried; an empty window looks
    /// for items again now and then (others' leases run out, new reports arrive).
    fn tick(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        self.now = now;
        let nothing_left = !self.entries.iter().any(Entry::is_open);
        if self.queue_end == QueueEnd::Exhausted
            && nothing_left
            && (now - self.last_refill).num_seconds() >= REFILL_EVERY_SECS
        {
            self.last_refill = now;
            self.queue_end = QueueEnd::Loading;
            return vec![Effect::Fetch(Fetch::FromTop)];
        }
        self.prefetch_if_low()
    }

    fn select(&mut self, i: usize) -> Vec<Effect> {
        self.selected = i.min(self.entries.len().saturating_sub(1));
        self.prefetch_if_low()
    }

    fn prefetch_if_low(&mut self) -> Vec<Effect> {
        let ahead = self.entries[self.selected.min(self.entries.len())..]
            .iter()
            .filter(|e| e.is_open())
            .count();
        if ahead < PREFETCH_LOW_WATER && self.queue_end == QueueEnd::More {
            self.queue_end = QueueEnd::Loading;
            vec![Effect::Fetch(Fetch::Next)]
        } else {
            Vec::new()
        }
    }

    fn decide(&mut self, action: DecisionAction) -> Vec<Effect> {
        let Some(entry) = self.entries.get(self.selected) else {
            self.flash(Level::Info, "Nothing to decide: the queue is empty".into());
            return Vec::new();
        };
        if let Some(why) = &entry.gone {
            let text = format!("Not yours to decide any more: {why}");
            self.flash(Level::Warning, text);
            return Vec::new();
        }
        if let Some(local) = &entry.local {
            let undo = self.keymap.first_key(&Action::Undo).unwrap_or_default();
            let text = format!(
                "Already decided ({}) in this session; {undo} undoes",
                local.action.label()
            );
            self.flash(Level::Info, text);
            return Vec::new();
        }
        let decision = Decision {
            idempotency_key: new_key(),
            item_id: entry.id.clone(),
            action,
            reason_code: None,
            note: None,
            scope: (action == DecisionAction::TakeDown).then_some(Scope::Global),
            escalation_target: (action == DecisionAction::Escalate)
                .then_some(EscalationTier::Senior),
            reverses: None,
            decided_at: self.now,
        };
        let next = self.next_undecided_after(self.selected);
        let next_id = next.and_then(|i| self.entries.get(i)).map(|e| e.id.clone());
        // Durable first: nothing on screen moves until the outbox holds the decision.
        let started = std::time::Instant::now();
        let journaled = self
            .store
            .journal(&self.session, &decision, next_id.as_deref());
        tracing::debug!(us = started.elapsed().as_micros() as u64, "journaled");
        if let Err(e) = journaled {
            self.flash(
                Level::Error,
                format!("NOT SAVED — the decision was not recorded: {e}"),
            );
            return Vec::new();
        }
        self.in_flight
            .insert(decision.idempotency_key.clone(), decision.item_id.clone());
        if let Some(entry) = self.entries.get_mut(self.selected) {
            entry.local = Some(LocalDecision {
                action,
                key: decision.idempotency_key,
                delivery: Delivery::Unsent,
            });
        }
        self.decided += 1;
        self.counts.unsent += 1;
        self.flash = None;
        match next {
            Some(i) => self.selected = i,
            None => self.say_window_is_empty(),
        }
        let mut effects = vec![Effect::Flush];
        effects.extend(self.prefetch_if_low());
        effects
    }

    fn next_undecided_after(&self, i: usize) -> Option<usize> {
        let undecided = |j: &usize| self.entries[*j].is_open();
        (i + 1..self.entries.len())
            .find(undecided)
            .or_else(|| (0..i).find(undecided))
    }

    /// Every item in memory has a decision: say why no next one is coming.
    fn say_window_is_empty(&mut self) {
        let (level, text) = match (&self.queue_end, &self.link) {
            (QueueEnd::Exhausted, _) => (
                Level::Info,
                "Queue done: every item in it has a decision. New reports are checked every 30 s."
                    .to_string(),
            ),
            (_, Link::Offline(why)) => (
                Level::Warning,
                format!(
                    "No more items in memory: the API is unreachable ({why}). \
                     Your decisions are safe in the outbox."
                ),
            ),
            _ => (
                Level::Info,
                "No more items in memory yet: the next page is on its way.".to_string(),
            ),
        };
        self.flash(level, text);
    }

    fn undo(&mut self) -> Vec<Effect> {
        let undone = self.store.undo_last(&self.session, new_key(), Utc::now());
        let (original, reversed) = match undone {
            Ok(Some(Undone::Withdrawn(d))) => (d, false),
            Ok(Some(Undone::Reversed { original, reversal })) => {
                self.in_flight
                    .insert(reversal.idempotency_key, reversal.item_id);
                self.counts.unsent += 1;
                (original, true)
            }
            Ok(None) => {
                self.flash(Level::Info, "Nothing to undo in this session".into());
                return Vec::new();
            }
            Err(e) => {
                self.flash(Level::Error, format!("Undo failed: {e}"));
                return Vec::new();
            }
        };
        self.decided = self.decided.saturating_sub(1);
        self.in_flight.remove(&original.idempotency_key);
        if !reversed {
            self.counts.unsent = self.counts.unsent.saturating_sub(1);
        }
        if let Some(&i) = self.index.get(&original.item_id) {
            if let Some(entry) = self.entries.get_mut(i) {
                entry.local = None;
            }
            self.selected = i;
        }
        let text = if reversed {
            format!(
                "Undone: {} — the server already had it, a reversal is on its way",
                original.action.label()
            )
        } else {
            format!("Undone: {} (it had not been sent)", original.action.label())
        };
        self.flash(Level::Info, text);
        if reversed {
            vec![Effect::Flush]
        } else {
            Vec::new()
        }
    }

    fn on_sync(&mut self, event: SyncEvent) -> Vec<Effect> {
        match event {
            SyncEvent::Delivered { results } => {
                self.link = Link::Online;
                self.store_trouble = None;
                self.refresh_counts();
                for r in results {
                    self.settle(r.idempotency_key, r.outcome, r.message);
                }
                Vec::new()
            }
            SyncEvent::Offline { error, retry_in } => {
                self.refresh_counts();
                self.link = Link::Offline(format!(
                    "{} — retrying in {}s",
                    clean_line(&error),
                    retry_in.as_secs().max(1)
                ));
                Vec::new()
            }
            SyncEvent::AuthLost(message) => {
                self.remember_position();
                self.quit = Some(Some(format!(
                    "The API refused the token ({message}). Unsent decisions are kept in the outbox."
                )));
                Vec::new()
            }
            SyncEvent::StoreFailed(message) => {
                self.store_trouble = Some(clean_line(&message));
                Vec::new()
            }
            SyncEvent::Page { items, next_cursor } => {
                if let Err(e) = self.add_page(items, next_cursor) {
                    self.flash(Level::Error, format!("Local cache failed: {e}"));
                }
                self.prefetch_if_low()
            }
            SyncEvent::LeasesLost(ids) => {
                for id in ids {
                    let Some(entry) = self.index.get(&id).and_then(|&i| self.entries.get_mut(i))
                    else {
                        continue;
                    };
                    // Our own decisions end our leases too; only others' doing is news.
                    if entry.local.is_none() {
                        entry.gone = Some("another moderator has it, or it was decided".into());
                    }
                }
                Vec::new()
            }
            SyncEvent::PageFailed(message) => {
                if self.queue_end == QueueEnd::Loading {
                    self.queue_end = QueueEnd::More;
                }
                self.flash(
                    Level::Warning,
                    format!("Could not load more items: {message}"),
                );
                Vec::new()
            }
        }
    }

    /// The counts come from our own outbox: an event's view of it may predate decisions made
    /// since, and must never make a waiting decision look sent.
    fn refresh_counts(&mut self) {
        match self.store.counts() {
            Ok(c) => self.counts = c,
            Err(e) => self.store_trouble = Some(clean_line(&e.to_string())),
        }
    }

    fn settle(&mut self, key: String, outcome: DecisionOutcome, message: Option<String>) {
        let Some(item_id) = self.in_flight.remove(&key) else {
            return;
        };
        let Some(entry) = self
            .index
            .get(&item_id)
            .and_then(|&i| self.entries.get_mut(i))
        else {
            return;
        };
        let Some(local) = entry.local.as_mut().filter(|l| l.key == key) else {
            return;
        };
        local.delivery = if outcome.is_settled_ok() {
            Delivery::Sent
        } else {
            let why = message.unwrap_or_else(|| outcome.as_str().to_string());
            Delivery::Failed(clean_line(&format!("{}: {why}", outcome.as_str())))
        };
    }

    /// Add items the window does not have yet; items with a decision still waiting in the
    /// outbox (from an earlier session) are not offered again.
    fn add_page(
        &mut self,
        items: Vec<Item>,
        next_cursor: Option<String>,
    ) -> Result<(), crate::store::StoreError> {
        let undelivered = self.store.undelivered_items()?;
        for item in items {
            if let Some(&i) = self.index.get(&item.id) {
                // Claimed again (its other holder let go): it is ours to review once more.
                if let Some(entry) = self.entries.get_mut(i)
                    && entry.gone.is_some()
                    && entry.local.is_none()
                {
                    entry.gone = None;
                    entry.shown = sanitize_item(item);
                }
                continue;
            }
            if undelivered.contains(&item.id) {
                continue;
            }
            self.index.insert(item.id.clone(), self.entries.len());
            self.entries.push(Entry {
                id: item.id.clone(),
                shown: sanitize_item(item),
                local: None,
                gone: None,
            });
        }
        self.queue_end = if next_cursor.is_some() {
            QueueEnd::More
        } else {
            QueueEnd::Exhausted
        };
        Ok(())
    }

    fn remember_position(&mut self) {
        if let Some(id) = self.selected_entry().map(|e| e.id.clone())
            && let Err(e) = self.store.set_state(POSITION_KEY, &id)
        {
            tracing::warn!(error = %e, "could not save the position");
        }
    }

    /// Messages quote servers and errors: cleaned like any untrusted text.
    fn flash(&mut self, level: Level, text: String) {
        let text = clean_line(&text);
        self.flash = Some(Flash { level, text });
    }

    /// The session id that tags this run's outbox rows.
    pub fn session(&self) -> &str {
        &self.session
    }
}

/// A copy of the item with every string made safe to draw.
fn sanitize_item(item: Item) -> Item {
    let author = |a: Author| Author {
        id: clean_line(&a.id),
        handle: a.handle.as_deref().map(clean_line),
    };
    Item {
        id: clean_line(&item.id),
        text: item.text.as_deref().map(clean_text),
        author: item.author.map(author),
        language: item.language.as_deref().map(clean_line),
        countries: item.countries.iter().map(|c| clean_line(c)).collect(),
        media: item
            .media
            .into_iter()
            .map(|m| Media {
                kind: clean_line(&m.kind),
                description: m.description.as_deref().map(clean_text),
                hash_match: m.hash_match.as_deref().map(clean_line),
            })
            .collect(),
        reports: item
            .reports
            .into_iter()
            .map(|r| Report {
                category: clean_line(&r.category),
                comment: r.comment.as_deref().map(clean_text),
                ..r
            })
            .collect(),
        history: item
            .history
            .into_iter()
            .map(|h| HistoryEntry {
                actor: clean_line(&h.actor),
                reason_code: h.reason_code.as_deref().map(clean_line),
                note: h.note.as_deref().map(clean_text),
                scope: h.scope.map(|s| match s {
                    Scope::Global => Scope::Global,
                    Scope::Countries(cs) => {
                        Scope::Countries(cs.iter().map(|c| clean_line(c)).collect())
                    }
                }),
                ..h
            })
            .collect(),
        ..item
    }
}
