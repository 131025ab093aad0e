//! The TUI's state and the one place it changes: `App::update(Action)`.
//!
//! A decision is journaled in the local outbox before the state moves on; the network is
//! reached only through the `Effect`s `update` returns, which the event loop hands to `sync`.

mod bulk;
mod count;
mod filter_hints;
mod lanes;
mod layers;
mod leases;
mod media;
mod notes;
mod stats;
mod support;
mod translations;
mod views;
mod wellbeing;
mod window;

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use crossterm::event::KeyEvent;

use super::action::{Action, Message};
use super::keymap::{Feed, Key, KeyMap};
use super::prompt::Prompt;
use super::theme::Theme;
use crate::backend::Capabilities;
use crate::model::{
    Author, Decision, DecisionAction, DecisionMethod, DecisionOutcome, EscalationTier,
    HistoryEntry, Item, Media, QueuePage, Report, Scope, SelectRequest,
};
use crate::query::{Query, Sort};
use crate::sanitize::{clean_line, clean_text};
use crate::store::{OutboxCounts, POSITION_KEY, Store, Undone, new_key};
use crate::sync::{Fetch, SyncEvent};

pub use super::details::Details;
pub use bulk::{Breakdown, BulkPlan, BulkProgress, count as bulk_count};
pub use count::PendingCount;
pub use leases::{LEASE_WINDOW, Lease, WAIT_POLL_SECS};
pub use media::{MediaView, shown_media, stays_grey};
pub use notes::{Freshness, Notes};
pub use stats::{Logged, Stats};
pub use translations::{Translation, Translations};
pub use views::{Jump, SavedView};
pub use wellbeing::{CategoryExposure, Wellbeing, WellbeingSettings, break_after, duration_words};

/// Ask for the next page when fewer undecided items than this are left below the cursor.
pub const PREFETCH_LOW_WATER: usize = 40;
/// With nothing left to review, look for new or released items this often.
const REFILL_EVERY_SECS: i64 = 30;
/// How far page up/down jumps.
const PAGE: usize = 10;

/// Work for the event loop, which owns the terminal and the background tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Fetch the lane counts for the tabs.
    FetchCounts,
    /// New decisions are in the outbox.
    Flush,
    /// The window of items is running low (or empty: refill from the top).
    Fetch(Fetch),
    /// Journal a bulk action off the UI thread (one transaction), then send it.
    JournalBulk {
        session: String,
        bulk: String,
        decisions: Vec<Decision>,
    },
    /// Ask the server for every item matching a filter, to tag them.
    Select(SelectRequest),
    /// The filter or the order changed: claim from the top with them from now on.
    Refilter {
        q: Option<String>,
        sort: Sort,
        state: crate::model::ReviewState,
    },
    /// Lease these items: the selection and the few open ones after it.
    Claim(Vec<String>),
    /// These items left the window: hand their leases back.
    Release(Vec<String>),
    /// Run `command` with `input` on its stdin; answer with `Message::PipeDone`.
    Pipe { command: String, input: String },
    /// Put this text on the terminal's clipboard (OSC 52).
    Clipboard(String),
    /// Fetch and decode an image; answered with `Message::MediaReady`.
    FetchMedia(crate::tui::media_fetch::MediaJob),
    /// Add a note to an item; answered with `SyncEvent::NoteAdded` or `NoteFailed`.
    AddNote { item_id: String, note: String },
    /// Read an item afresh for the history view.
    FetchItem(String),
    /// Read today's transparency counts for the stats view.
    FetchDayStats,
    /// Run the translation command on an item's text; answered with `Message::Translated`.
    Translate {
        item_id: String,
        command: super::translate::TranslateCommand,
        text: String,
    },
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
    /// What the decision said beyond its action: reason, scope, tier, note (the item pane
    /// shows them; bulk decisions carry none).
    pub details: Details,
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
    /// Another moderator is reviewing it (a live lease of theirs), as the server last said.
    pub held_by: Option<String>,
    /// Where this session's own lease on it stands.
    pub lease: Lease,
}

impl Entry {
    /// Still waiting for this moderator's decision (none made, or the server refused it), and
    /// nobody else is reviewing it.
    pub fn is_open(&self) -> bool {
        self.gone.is_none()
            && self.held_by.is_none()
            && self.local.as_ref().is_none_or(LocalDecision::refused)
    }
}

impl LocalDecision {
    /// The server refused it: it never took effect.
    pub fn refused(&self) -> bool {
        matches!(self.delivery, Delivery::Failed(_))
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

/// What sits on top of the queue and takes the keys first, topmost last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layer {
    /// The keys, commands and filter syntax, scrolled by `scroll` lines.
    Help {
        scroll: u16,
    },
    /// A bulk action waiting for y/n.
    Confirm(BulkPlan),
    Prompt(Prompt),
    /// The `T` or `E` picker, bound to the item it was opened on: its decision is for that
    /// item, wherever the selection went meanwhile.
    Picker {
        item_id: String,
        picker: Box<super::picker::Picker>,
    },
    /// What a piped command printed (sanitized), scrolled by `scroll` lines.
    Output {
        title: String,
        text: String,
        scroll: u16,
    },
    /// Every event of one item, with who and when, scrolled by `scroll` lines.
    History {
        item_id: String,
        scroll: u16,
        fresh: Freshness,
    },
    /// The session's and today's figures; `today` picks the panel when only one fits.
    Stats {
        today: bool,
    },
}

/// One input from the moderator, as the layers take it: the event loop has already found
/// what a click fell on in the frame on screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserInput {
    Key(KeyEvent),
    Pointer(super::mouse::Pointer),
    /// Text pasted into the terminal (bracketed paste); not yet cleaned.
    Paste(String),
}

/// How far each scrollable part of the screen can scroll, as the last frame laid it out. The
/// loop sets it before an input that may scroll (`view::scroll_limits`, from the frame on
/// screen); keys then stop where the text ends.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ScrollLimits {
    /// The overlay on top (help, history, piped output).
    pub overlay: u16,
    /// The item pane.
    pub detail: u16,
}

/// Whether the last contact with the API worked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    Online,
    Offline(String),
}

/// Rows the item pane moves per `J` or `K`.
const DETAIL_STEP: u16 = 5;

pub struct App {
    /// Every item in memory, in the queue's order.
    pub entries: Vec<Entry>,
    /// Indexes into `entries` of the items the filter shows, in order.
    pub visible: Vec<usize>,
    /// Index into `entries`.
    pub selected: usize,
    pub layers: Vec<Layer>,
    /// The filter in force and its canonical text.
    pub filter: Query,
    pub sort: Sort,
    /// Ids of tagged items, also ones not in memory (`*` asks the server).
    pub tagged: HashSet<String>,
    /// How tagged ids were chosen when not one by one: by a range, a filter or similarity.
    /// Each decision tells the server, whose statements of reasons say it.
    pub tag_method: HashMap<String, DecisionMethod>,
    /// How the ids of the selection asked for last (`*` or `S`) were chosen.
    select_method: DecisionMethod,
    /// A range started with `V`: the id it started on.
    pub visual: Option<String>,
    /// `;` was pressed: the next decision key acts on every tagged item.
    pub tag_prefix: bool,
    /// Which queue the window claims from: open items, or (for those who decide them) the
    /// items escalated to the caller's tier.
    pub queue: crate::model::ReviewState,
    /// The bulk action being journaled or sent.
    pub bulk: Option<BulkProgress>,
    /// What the backend honours beyond the core: the keys offered, the lanes and tiers.
    pub capabilities: Capabilities,
    /// The server's policy catalog, once fetched.
    pub policies: Option<crate::policy::PolicyCatalog>,
    /// Open work per lane, once fetched, for the tabs.
    pub lane_counts: Option<crate::model::QueueCounts>,
    last_counts: DateTime<Utc>,
    pub flash: Option<Flash>,
    pub queue_end: QueueEnd,
    pub link: Link,
    pub counts: OutboxCounts,
    /// The local cache failed to read or write: shown until it works again.
    pub store_trouble: Option<String>,
    /// The disk failed to sync the outbox since it was last empty: an unsent decision may not
    /// survive a power cut. Shown until the server has every decision.
    pub disk_at_risk: bool,
    /// The outbox's failed fsyncs when it was last seen empty.
    sync_failures_cleared: u64,
    /// Decisions this session made and has not undone.
    pub decided: usize,
    pub profile: String,
    pub api: String,
    pub now: DateTime<Utc>,
    pub keymap: KeyMap,
    /// The keys typed so far of a multi-key binding (`g` of `g g`), shown in the hint bar.
    pub pending_keys: Vec<Key>,
    pub theme: Theme,
    /// How far the item pane is scrolled, and for which item: another item starts at the top.
    pub detail_scroll: Option<(String, u16)>,
    /// The item takes the whole body of the screen (`z`).
    pub zoomed: bool,
    /// How far things could scroll in the last frame; `None` before the first (nothing is
    /// stopped then: the view still never draws past the end).
    pub scroll_limits: Option<ScrollLimits>,
    /// `ctrl-l` asked for the whole screen to be drawn again: the loop clears the terminal
    /// before the next frame and resets this.
    pub redraw: bool,
    /// Set when the session must end; `Some(message)` ends it with an error to print.
    pub quit: Option<Option<String>>,
    /// Notes being written or sent.
    pub notes: Notes,
    /// The item the open command line or pipe prompt was opened on: what it acts on.
    prompt_item: Option<String>,
    /// What the session decided, and today's figures from the server.
    pub stats: Stats,
    session: String,
    store: Store,
    last_refill: DateTime<Utc>,
    /// `G`/`End` jumped to the end: the moderator is reading the queue, not reviewing it, so
    /// nothing is claimed until they move on from there.
    browsing: bool,
    /// Ids this session has a lease on, or has asked for one.
    leased: HashSet<String>,
    /// Claims sent and not answered yet, by item. The lease worker sends claims and releases
    /// in order, so only the answer to an item's last claim says whether the server holds
    /// it: an earlier claim's grant may be followed by a release sent before the last claim.
    claims_out: HashMap<String, u32>,
    /// When the list last looked for freed items while others held every open one.
    last_wait_poll: DateTime<Utc>,
    /// The waiting line last shown, so it can be taken down once work comes back.
    waiting_said: Option<String>,
    /// The page on its way is read from the top of the queue.
    reading_from_top: bool,
    index: HashMap<String, usize>,
    in_flight: HashMap<String, String>,
    /// Support messages on their way (by key): they decide nothing, so their answers touch
    /// no entry.
    support_in_flight: std::collections::HashSet<String>,
    /// Items this session sent support resources for, and when the server took it: the
    /// item's history as read may not show it yet.
    support_sent: HashMap<String, DateTime<Utc>>,
    /// The item `H` last asked about (resources went to its reporters already): `H` again
    /// on it sends.
    support_asked: Option<String>,
    /// Reversals on their way (by key), and the decision each undoes: should the server
    /// refuse one, that decision stands and the screen says so.
    reversing: HashMap<String, Decision>,
    /// Named filters from the config file (`:view NAME`).
    pub views: Vec<SavedView>,
    /// The views jumped to, oldest first: `esc` goes back through them.
    jumps: Vec<Jump>,
    /// The item `esc` went back to, selected when the page holding it arrives.
    return_to: Option<String>,
    /// Digits typed before a key (`19` of `19j`).
    pub count: Option<PendingCount>,
    /// The translation command and the session's translations, in memory only.
    pub translations: Translations,
    /// Time on graphic categories this session, and the break proposed after a while.
    pub wellbeing: Wellbeing,
    /// The images of this session, in memory only, and which one is revealed.
    pub media: MediaView,
}

pub struct AppInit {
    pub profile: String,
    pub api: String,
    /// What the backend honours (read after `me`).
    pub capabilities: Capabilities,
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
            visible: Vec::new(),
            selected: 0,
            layers: Vec::new(),
            filter: Query::default(),
            sort: Sort::default(),
            tagged: HashSet::new(),
            tag_method: HashMap::new(),
            select_method: DecisionMethod::Filter,
            visual: None,
            tag_prefix: false,
            queue: crate::model::ReviewState::Open,
            bulk: None,
            capabilities: init.capabilities,
            policies: None,
            lane_counts: None,
            last_counts: init.now,
            flash: None,
            queue_end: QueueEnd::More,
            link: Link::Online,
            counts,
            store_trouble: None,
            disk_at_risk: false,
            sync_failures_cleared: init.store.sync_failures(),
            decided: 0,
            profile: init.profile,
            api: init.api,
            now: init.now,
            keymap: init.keymap,
            pending_keys: Vec::new(),
            theme: init.theme,
            redraw: false,
            scroll_limits: None,
            detail_scroll: None,
            zoomed: false,
            quit: None,
            notes: Notes::default(),
            prompt_item: None,
            stats: Stats::new(init.now),
            session,
            last_refill: init.now,
            browsing: false,
            leased: HashSet::new(),
            claims_out: HashMap::new(),
            last_wait_poll: init.now,
            waiting_said: None,
            reading_from_top: false,
            store: init.store,
            index: HashMap::new(),
            in_flight: HashMap::new(),
            support_in_flight: std::collections::HashSet::new(),
            support_sent: HashMap::new(),
            support_asked: None,
            reversing: HashMap::new(),
            views: Vec::new(),
            jumps: Vec::new(),
            return_to: None,
            count: None,
            translations: Translations::default(),
            wellbeing: Wellbeing::new(WellbeingSettings::default()),
            media: MediaView::default(),
        };
        let resume_at = app.store.get_state(POSITION_KEY)?;
        app.add_page(init.first_page.items, init.first_page.next_cursor)?;
        app.refresh_visible();
        if let Some(&i) = resume_at.as_ref().and_then(|id| app.index.get(id)) {
            app.selected = i;
        }
        // Others are reviewing the top of the queue: start on the first item nobody is.
        if !app.selected_entry().is_some_and(Entry::is_open)
            && let Some(i) = app.next_undecided_after(app.selected)
        {
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

    /// Why the backend cannot take this decision (its action, tier or countries).
    fn cannot_decide(&self, action: DecisionAction, details: &Details) -> Option<String> {
        let caps = &self.capabilities;
        super::capable::decision_why_not(caps, action)
            .or_else(|| {
                let tier = details
                    .tier
                    .filter(|_| action == DecisionAction::Escalate)?;
                super::capable::tier_why_not(caps, tier)
            })
            .or_else(|| match &details.scope {
                Some(crate::model::Scope::Countries(_)) => {
                    caps.country_scope.why_not().map(str::to_string)
                }
                _ => None,
            })
    }

    /// How far the item pane shows the selected item scrolled.
    pub fn detail_offset(&self) -> u16 {
        match (&self.detail_scroll, self.selected_entry()) {
            (Some((id, rows)), Some(e)) if *id == e.id => *rows,
            _ => 0,
        }
    }

    /// Scroll the item pane by `rows`, never past the end of the item as last drawn.
    fn scroll_detail(&mut self, rows: i32) -> Vec<Effect> {
        let Some(id) = self.selected_entry().map(|e| e.id.clone()) else {
            return Vec::new();
        };
        let limit = self.scroll_limits.map_or(u16::MAX, |l| l.detail);
        let now = i32::from(self.detail_offset().min(limit));
        let next = u16::try_from((now + rows).max(0))
            .unwrap_or(u16::MAX)
            .min(limit);
        self.detail_scroll = Some((id, next));
        Vec::new()
    }

    pub fn selected_entry(&self) -> Option<&Entry> {
        self.entries.get(self.selected)
    }

    /// A key press, through the layer stack like any input.
    #[must_use = "effects are work the event loop must carry out"]
    pub fn handle_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        self.handle_input(UserInput::Key(key))
    }

    /// A key on the queue itself (no layer took it): through the keymap, where a key that
    /// starts a sequence waits for the rest.
    fn queue_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        // A key of the moderator's own: the item `esc` went back to no longer matters.
        self.return_to = None;
        if let Some(effects) = self.count_key(&key) {
            return effects;
        }
        self.feed_keymap(key)
    }

    /// The key through the keymap, where a key that starts a sequence waits for the rest.
    fn feed_keymap(&mut self, key: KeyEvent) -> Vec<Effect> {
        match self
            .keymap
            .feed(&mut self.pending_keys, Key::from_event(&key))
        {
            Feed::Matched(action) => self.update(action),
            Feed::Pending => Vec::new(),
            Feed::NoMatch => {
                self.tag_prefix = false;
                Vec::new()
            }
        }
    }

    #[must_use = "effects are work the event loop must carry out"]
    pub fn update(&mut self, message: impl Into<Message>) -> Vec<Effect> {
        let effects = self.update_inner(message.into());
        self.media_after_update();
        effects
    }

    fn update_inner(&mut self, message: Message) -> Vec<Effect> {
        // What is not the moderator's intent passes under any layer.
        match message {
            Message::Intent(action) => self.act(action),
            Message::Sync(e) => self.on_sync(e),
            Message::Tick(now) => self.tick(now),
            Message::PipeDone { command, output } => self.show_output(&command, &output),
            Message::Translated { item_id, result } => {
                self.translated(item_id, result);
                Vec::new()
            }
            Message::MediaReady { media_id, answer } => {
                self.media_ready(&media_id, answer);
                Vec::new()
            }
            Message::Select(i) => {
                if self.visible.binary_search(&i).is_ok() {
                    self.selected = i;
                }
                self.moved(false)
            }
        }
    }

    /// What the moderator asked for.
    fn act(&mut self, action: Action) -> Vec<Effect> {
        if let Some(Layer::Help { .. }) = self.layers.last() {
            if matches!(action, Action::Help | Action::Back | Action::Quit) {
                self.layers.pop();
            }
            return Vec::new();
        }
        // What the backend cannot do is said at the key, before anything is journaled.
        if let Some(why) = super::capable::why_not(&self.capabilities, &action) {
            self.tag_prefix = false;
            self.flash(Level::Warning, why);
            return Vec::new();
        }
        if self.tag_prefix {
            self.tag_prefix = false;
            return match action {
                Action::TakeDown => self.plan_bulk(DecisionAction::TakeDown),
                Action::Keep => self.plan_bulk(DecisionAction::Keep),
                Action::Escalate => self.plan_bulk(DecisionAction::Escalate),
                Action::Back => Vec::new(),
                _ => {
                    self.flash(Level::Info, "Tag prefix cancelled".into());
                    Vec::new()
                }
            };
        }
        match action {
            Action::MoveDown => self.move_by(1),
            Action::MoveUp => self.move_by(-1),
            Action::First => self.move_to_end(false),
            Action::Last => self.move_to_end(true),
            Action::PageDown => self.move_by(PAGE as isize),
            Action::PageUp => self.move_by(-(PAGE as isize)),
            Action::TakeDown => self.decide(DecisionAction::TakeDown),
            Action::Keep => self.decide(DecisionAction::Keep),
            Action::Escalate => self.decide(DecisionAction::Escalate),
            Action::Undo => self.undo(),
            Action::Tag => self.toggle_tag(),
            Action::TagAll => self.tag_matching(None),
            Action::UntagAll => self.untag_all(),
            Action::Visual => self.toggle_visual(),
            Action::TagPrefix => self.start_tag_prefix(),
            Action::Similar => self.tag_similar(),
            Action::Filter => self.open_prompt(super::prompt::PromptKind::Filter),
            Action::Command => self.open_prompt(super::prompt::PromptKind::Command),
            Action::Pipe => self.open_prompt(super::prompt::PromptKind::Pipe),
            Action::Yank => self.yank(false),
            Action::YankLink => self.yank(true),
            Action::CycleSort => self.set_sort(self.sort.next()),
            Action::Note => self.open_note(),
            Action::History => self.open_history(),
            Action::Thread => self.open_thread(),
            Action::Stats => self.open_stats(),
            Action::NextLane => self.next_lane(),
            Action::LaneUrgent => self.show_lane(Some(crate::model::Lane::Urgent)),
            Action::LaneAuthority => self.show_lane(Some(crate::model::Lane::Authority)),
            Action::LaneTrustedFlagger => self.show_lane(Some(crate::model::Lane::TrustedFlagger)),
            Action::LaneStandard => self.show_lane(Some(crate::model::Lane::Standard)),
            Action::LaneAppeals => self.show_lane(Some(crate::model::Lane::Appeals)),
            Action::TakeDownWith => self.open_take_down_picker(),
            Action::SendSupport => self.send_support(),
            Action::EscalateTo => self.open_escalation_picker(),
            Action::Uphold => self.decide(DecisionAction::Uphold),
            Action::Overturn => self.decide(DecisionAction::Overturn),
            Action::AuthorItems => self.show_author_items(),
            Action::ViewBack => match self.pop_view() {
                Some(effects) => effects,
                None => {
                    self.flash(
                        Level::Info,
                        "No view to go back to: this is the queue".into(),
                    );
                    Vec::new()
                }
            },
            Action::Translate => self.toggle_translation(),
            Action::RevealMedia => self.toggle_reveal(),
            Action::Help => {
                self.layers.push(Layer::Help { scroll: 0 });
                Vec::new()
            }
            Action::Redraw => {
                self.redraw = true;
                Vec::new()
            }
            Action::DetailDown => self.scroll_detail(DETAIL_STEP as i32),
            Action::DetailUp => self.scroll_detail(-(DETAIL_STEP as i32)),
            Action::Zoom => {
                self.zoomed = !self.zoomed;
                Vec::new()
            }
            Action::Back => {
                if self.visual.take().is_some() {
                    self.flash(Level::Info, "Range dropped".into());
                } else if self.wellbeing.dismiss() {
                    self.flash(Level::Info, "Break proposal dismissed".into());
                } else if let Some(effects) = self.pop_view() {
                    return effects;
                } else {
                    self.flash = None;
                }
                Vec::new()
            }
            Action::Quit => {
                self.remember_position();
                self.quit = Some(None);
                Vec::new()
            }
            Action::Run(line) => self.run_line(&line),
        }
    }

    /// Time passes: deadlines count down; a failed page is retried; an empty window looks
    /// for items again now and then (others' leases run out, new reports arrive).
    fn tick(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        self.now = now;
        self.wellbeing_tick(now);
        let counted = self.count_tick(now);
        if !counted.is_empty() {
            return counted;
        }
        self.check_disk();
        if due(self.last_counts, now) && self.capabilities.counts.is_yes() {
            // The tabs' counts go stale as others work: look again now and then.
            self.last_counts = now;
            let mut effects = vec![Effect::FetchCounts];
            effects.extend(self.tick_queue(now));
            return effects;
        }
        self.tick_queue(now)
    }

    fn tick_queue(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        // A clock set back (a test's, or the system's) starts the wait afresh.
        if now < self.last_wait_poll {
            self.last_wait_poll = now;
        }
        if (now - self.last_wait_poll).num_seconds() >= WAIT_POLL_SECS {
            self.last_wait_poll = now;
            // Others hold every open item: read the queue again, so that what they hand back
            // (or let expire) is picked up without a key press.
            if self.held_elsewhere().is_some() && self.queue_end != QueueEnd::Loading {
                self.queue_end = QueueEnd::Loading;
                self.reading_from_top = true;
                return vec![Effect::Fetch(Fetch::FromTop)];
            }
            // A claim that failed (offline), or that the server put off (a cap), is asked for
            // again now and then, not on every tick.
            self.retry_deferred();
            let effects = self.sync_leases();
            if !effects.is_empty() {
                return effects;
            }
        }
        let nothing_left = !self.entries.iter().any(Entry::is_open);
        if self.queue_end == QueueEnd::Exhausted && nothing_left && due(self.last_refill, now) {
            self.last_refill = now;
            self.queue_end = QueueEnd::Loading;
            self.reading_from_top = true;
            return vec![Effect::Fetch(Fetch::FromTop)];
        }
        self.prefetch_if_low()
    }

    fn prefetch_if_low(&mut self) -> Vec<Effect> {
        let ahead = self
            .visible
            .iter()
            .skip(self.position())
            .filter_map(|&i| self.entries.get(i))
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
        if action == DecisionAction::Escalate {
            return self.escalate_one_step();
        }
        self.decide_with(action, Details::default())
    }

    /// `e`: an open item goes to a senior at once; an escalated one goes one tier up
    /// (`EscalationTier::next`), through the picker's note when that tier works from a note.
    fn escalate_one_step(&mut self) -> Vec<Effect> {
        let current = self
            .selected_entry()
            .filter(|e| e.shown.state == crate::model::ReviewState::Escalated)
            .map(|e| e.shown.escalation_target.unwrap_or(EscalationTier::Senior));
        let Some(current) = current else {
            // To the backend's first tier; a senior is what the wire means by none.
            let first = self.capabilities.tiers.first().copied();
            let details = Details {
                tier: first.filter(|t| *t != EscalationTier::Senior),
                ..Details::default()
            };
            return self.decide_with(DecisionAction::Escalate, details);
        };
        match super::capable::next_tier(&self.capabilities, current) {
            None => {
                let decide = self.key_for(&Action::TakeDown);
                self.flash(
                    Level::Info,
                    format!(
                        "Already with the {}, the last tier: decide it ({decide} takes down)",
                        current.label()
                    ),
                );
                Vec::new()
            }
            Some(tier) if tier.needs_note() => self.open_escalation_picker_at(tier),
            Some(tier) => self.decide_with(
                DecisionAction::Escalate,
                Details {
                    tier: Some(tier),
                    ..Details::default()
                },
            ),
        }
    }

    /// Decide the selected item, with a reason, scope, note or tier the defaults do not give.
    fn decide_with(&mut self, action: DecisionAction, details: Details) -> Vec<Effect> {
        // Pickers and the command line reach here without a key: the backend is asked again.
        if let Some(why) = self.cannot_decide(action, &details) {
            self.flash(Level::Warning, why);
            return Vec::new();
        }
        let Some(entry) = self.selected_entry().filter(|_| !self.visible.is_empty()) else {
            self.flash(Level::Info, "Nothing to decide: the queue is empty".into());
            return Vec::new();
        };
        if let Some(why) = &entry.gone {
            let text = format!("Not yours to decide any more: {why}");
            self.flash(Level::Warning, text);
            return Vec::new();
        }
        if let Some(who) = entry.held_by.as_ref().filter(|_| entry.local.is_none()) {
            let text = format!("{who} is reviewing this item: it is theirs to decide");
            self.flash(Level::Warning, text);
            return Vec::new();
        }
        // Said now rather than by the server's refusal after the key press.
        if let Some(why) = super::context::refusal(&entry.shown, action) {
            self.flash(Level::Warning, why);
            return Vec::new();
        }
        if let Some(local) = entry.local.as_ref().filter(|l| !l.refused()) {
            let text = self.already_decided(&entry.id, local.action);
            self.flash(Level::Info, text);
            return Vec::new();
        }
        // Deciding a refused item again deals with the refusal (see `Store::journal`).
        let supersedes_a_refusal = entry.local.is_some();
        let decision = details.decision(&entry.id, action, self.now);
        let logged = Logged::of(entry, &decision, self.policies.as_ref());
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
                details,
            });
            // The server ends the lease when the decision arrives; until then it is renewed.
            entry.lease = Lease::None;
            self.leased.remove(&entry.id);
        }
        self.decided += 1;
        self.stats.record(logged);
        self.counts.unsent += 1;
        if supersedes_a_refusal {
            self.refresh_counts();
        }
        self.flash = None;
        match next {
            Some(i) => self.selected = i,
            None => self.say_window_is_empty(),
        }
        let mut effects = vec![Effect::Flush];
        self.browsing = false;
        self.retry_deferred();
        effects.extend(self.sync_leases());
        effects.extend(self.prefetch_if_low());
        effects
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

    /// Why a second decision on an item is refused, and what `u` would take back: the
    /// newest decision, which is this item's only if nothing came after it.
    fn already_decided(&self, item_id: &str, action: DecisionAction) -> String {
        let undo = self.keymap.first_key(&Action::Undo).unwrap_or_default();
        let next = match self.store.next_undo(&self.session) {
            Ok(Some(n)) if n.bulk => format!(
                "{undo} undoes your newest decision first (a bulk {})",
                n.action.label()
            ),
            Ok(Some(n)) if n.item_id == item_id => format!("{undo} undoes it"),
            Ok(Some(n)) => format!(
                "{undo} undoes your newest decision first ({} of {})",
                n.action.label(),
                clean_line(&n.item_id)
            ),
            Ok(None) | Err(_) => "it is not this session's to undo".to_string(),
        };
        format!(
            "Already decided ({}) in this session; {next}",
            action.label()
        )
    }

    /// Take back the newest decision of this session: withdrawn if it never left, reversed
    /// if the server may hold it, set aside if the server refused it. The counts are read
    /// back from the outbox, which alone knows what is waiting and what was refused.
    fn undo(&mut self) -> Vec<Effect> {
        if self.bulk.as_ref().is_some_and(|b| !b.saved) {
            self.flash(
                Level::Info,
                "The bulk action is still being saved; undo it in a moment".into(),
            );
            return Vec::new();
        }
        let undone = self.store.undo_last(&self.session, new_key(), Utc::now());
        let effects = match undone {
            Ok(Some(Undone::Bulk {
                withdrawn,
                reversed,
                dismissed,
            })) => self.undo_bulk(withdrawn, reversed, dismissed),
            Ok(Some(Undone::Withdrawn(d))) => {
                self.take_back(&d, TakenBack::Withdrawn);
                let text = format!(
                    "Undone: {} of {} (it had not been sent)",
                    d.action.label(),
                    clean_line(&d.item_id)
                );
                self.flash(Level::Info, text);
                Vec::new()
            }
            Ok(Some(Undone::Dismissed(d))) => {
                // A refusal already took it out of `decided` and the stats.
                self.take_back(&d, TakenBack::SetAside);
                let text = format!(
                    "Set aside: the server's refusal of the {} of {} — it never took effect",
                    d.action.label(),
                    clean_line(&d.item_id)
                );
                self.flash(Level::Info, text);
                Vec::new()
            }
            Ok(Some(Undone::Reversed { original, reversal })) => {
                self.in_flight
                    .insert(reversal.idempotency_key.clone(), reversal.item_id.clone());
                self.reversing
                    .insert(reversal.idempotency_key, original.clone());
                self.take_back(&original, TakenBack::Reversed);
                let text = format!(
                    "Undone: {} of {} — the server already had it, a reversal is on its way",
                    original.action.label(),
                    clean_line(&original.item_id)
                );
                self.flash(Level::Info, text);
                vec![Effect::Flush]
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
        self.refresh_counts();
        let mut effects = effects;
        effects.extend(self.sync_leases());
        effects
    }

    /// The item of an undone decision is open again, under the cursor. A withdrawn decision
    /// never happened; a reversed one counts among the reversals; one set aside (refused)
    /// had already left `decided` and the stats when the refusal came.
    fn take_back(&mut self, original: &Decision, how: TakenBack) {
        match how {
            TakenBack::Withdrawn => {
                self.decided = self.decided.saturating_sub(1);
                self.stats.forget([&original.idempotency_key]);
            }
            TakenBack::Reversed => {
                self.decided = self.decided.saturating_sub(1);
                self.stats.reverse([&original.idempotency_key]);
            }
            TakenBack::SetAside => {}
        }
        self.in_flight.remove(&original.idempotency_key);
        if let Some(&i) = self.index.get(&original.item_id) {
            if let Some(entry) = self.entries.get_mut(i) {
                entry.local = None;
            }
            self.selected = i;
        }
    }

    fn on_sync(&mut self, event: SyncEvent) -> Vec<Effect> {
        match event {
            SyncEvent::Delivered { results } => {
                self.link = Link::Online;
                self.store_trouble = None;
                self.refresh_counts();
                if results.is_empty() {
                    // A batch refused as a whole: the outbox has each decision's refusal.
                    self.settle_refused_batch();
                }
                self.bulk_acknowledged(&results);
                let reversals_before = self.reversing.len();
                for r in results {
                    self.settle(r.idempotency_key, r.outcome, r.message);
                }
                // An item whose reversal just landed is open on the server again: lease it.
                if self.reversing.len() < reversals_before {
                    self.sync_leases()
                } else {
                    Vec::new()
                }
            }
            SyncEvent::Sending { keys } => {
                self.bulk_sending(&keys);
                Vec::new()
            }
            SyncEvent::BulkSaved { bulk } => {
                self.bulk_saved(&bulk);
                Vec::new()
            }
            SyncEvent::BulkFailed { bulk, error } => {
                self.bulk_failed(&bulk, &error);
                Vec::new()
            }
            SyncEvent::Selected(selection) => {
                self.tag_selection(selection);
                Vec::new()
            }
            SyncEvent::Policies(catalog) => {
                self.policies = Some(catalog);
                Vec::new()
            }
            SyncEvent::Counts(counts) => {
                self.lane_counts = Some(counts);
                Vec::new()
            }
            SyncEvent::SelectFailed(message) => {
                self.flash(
                    Level::Warning,
                    format!("Could not ask the server for every match: {message}"),
                );
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
                let waiting = !self.selected_entry().is_some_and(Entry::is_open);
                if std::mem::take(&mut self.reading_from_top) && next_cursor.is_none() {
                    self.forget_decided_elsewhere(&items);
                }
                let mut effects = match self.add_page(items, next_cursor) {
                    Ok(effects) => effects,
                    Err(e) => {
                        self.flash(Level::Error, format!("Local cache failed: {e}"));
                        Vec::new()
                    }
                };
                self.refresh_visible();
                self.return_to_item();
                // Work came back to a moderator who had none: it is on screen at once.
                if waiting
                    && !self.browsing
                    && !self.selected_entry().is_some_and(Entry::is_open)
                    && let Some(i) = self.next_undecided_after(self.selected)
                {
                    self.selected = i;
                }
                self.retry_deferred();
                effects.extend(self.sync_leases());
                effects.extend(self.prefetch_if_low());
                effects
            }
            SyncEvent::Claimed(grant) => self.claimed(grant),
            SyncEvent::ClaimFailed { ids, error } => self.claim_failed(&ids, &error),
            SyncEvent::LeasesLost(ids) => {
                for id in ids {
                    let Some(entry) = self.index.get(&id).and_then(|&i| self.entries.get_mut(i))
                    else {
                        continue;
                    };
                    // Our own decisions end our leases too, and so does handing one back
                    // while the renewal was on its way; only others' doing is news.
                    if entry.local.as_ref().is_none_or(LocalDecision::refused)
                        && entry.lease == Lease::Held
                    {
                        entry.gone = Some("another moderator has it, or it was decided".into());
                    }
                    entry.lease = Lease::None;
                    self.leased.remove(&id);
                }
                self.sync_leases()
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
            SyncEvent::NoteAdded { item_id, entry } => self.note_added(&item_id, entry),
            SyncEvent::NoteFailed {
                item_id,
                note,
                error,
            } => self.note_failed(item_id, note, &error),
            SyncEvent::ItemFetched(item) => self.item_fetched(*item),
            SyncEvent::ItemFetchFailed { item_id, error } => {
                self.item_fetch_failed(&item_id, &error)
            }
            SyncEvent::DayStats(stats) => self.stats.day_arrived(*stats),
            SyncEvent::DayStatsFailed(error) => self.stats.day_failed(&error),
        }
    }

    /// The whole queue was just read: an item another moderator was reviewing that is no
    /// longer in it was decided (or escalated) by them.
    fn forget_decided_elsewhere(&mut self, queue: &[Item]) {
        let open: HashSet<&str> = queue.iter().map(|i| i.id.as_str()).collect();
        for entry in &mut self.entries {
            if entry.local.is_none()
                && entry.gone.is_none()
                && entry.held_by.is_some()
                && !open.contains(entry.id.as_str())
            {
                entry.held_by = None;
                entry.gone = Some("decided by another moderator".into());
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
        self.check_disk();
    }

    /// A failed fsync puts at risk every decision the server does not have yet; once the
    /// outbox is empty, nothing is.
    fn check_disk(&mut self) {
        let failures = self.store.sync_failures();
        if self.counts.unsent == 0 {
            self.sync_failures_cleared = failures;
        }
        let at_risk = failures > self.sync_failures_cleared;
        if at_risk && !self.disk_at_risk {
            self.flash(
                Level::Error,
                "Disk sync failed (see the log): a power cut could lose decisions not yet sent"
                    .into(),
            );
        }
        self.disk_at_risk = at_risk;
    }

    fn settle(&mut self, key: String, outcome: DecisionOutcome, message: Option<String>) {
        let Some(item_id) = self.in_flight.remove(&key) else {
            return;
        };
        if self.settle_support(&key, &item_id, outcome, message.clone()) {
            return;
        }
        if let Some(original) = self.reversing.remove(&key) {
            if !outcome.is_settled_ok() {
                self.reversal_refused(&original, outcome, message);
            }
            return;
        }
        if !outcome.is_settled_ok() {
            // Refused: it never took effect, so it is not among the session's decisions.
            self.decided = self.decided.saturating_sub(1);
            self.stats.forget([&key]);
        }
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
        if let (Delivery::Failed(why), None) = (&local.delivery, &self.bulk) {
            let text = format!(
                "REFUSED by the server: {} of {} — {why}. Decide it again, or u sets it aside",
                local.action.label(),
                clean_line(&item_id)
            );
            self.flash(Level::Warning, text);
        }
    }

    /// The server refused a whole batch (the sync marked its decisions failed, with the
    /// server's reason, and reported no results): each of ours is refused like any other.
    fn settle_refused_batch(&mut self) {
        let failed = match self.store.failed() {
            Ok(failed) => failed,
            Err(e) => {
                self.store_trouble = Some(clean_line(&e.to_string()));
                return;
            }
        };
        for entry in failed {
            let key = entry.decision.idempotency_key;
            if self.in_flight.contains_key(&key) {
                let why = entry.message.unwrap_or_else(|| "refused".into());
                self.settle(key, DecisionOutcome::Invalid, Some(why));
            }
        }
    }

    /// The server refused to undo `original`: if it applied it, it stands, decided again on
    /// the screen and back on the undo stack (the outbox restored it when it settled).
    fn reversal_refused(
        &mut self,
        original: &Decision,
        outcome: DecisionOutcome,
        message: Option<String>,
    ) {
        let why = clean_line(&message.unwrap_or_else(|| outcome.as_str().to_string()));
        let stands = self
            .store
            .stands(&original.idempotency_key)
            .unwrap_or(false);
        let entry = self
            .index
            .get(&original.item_id)
            .and_then(|&i| self.entries.get_mut(i));
        let what = format!(
            "the {} of {}",
            original.action.label(),
            clean_line(&original.item_id)
        );
        if !stands {
            // The decision itself was refused too: nothing stands, nothing to restore.
            self.flash(
                Level::Error,
                format!("The undo of {what} was refused — {why}"),
            );
            return;
        }
        if let Some(entry) = entry
            && entry.local.as_ref().is_none_or(LocalDecision::refused)
        {
            entry.local = Some(LocalDecision {
                action: original.action,
                key: original.idempotency_key.clone(),
                delivery: Delivery::Sent,
                details: Details {
                    reason_code: original.reason_code.clone(),
                    scope: original.scope.clone(),
                    note: original.note.clone(),
                    tier: original.escalation_target,
                    account: original.account,
                },
            });
        }
        self.decided += 1;
        self.flash(
            Level::Error,
            format!("UNDO REFUSED by the server: {what} stands — {why}"),
        );
    }

    /// Add items the window does not have yet; items with a decision still waiting in the
    /// outbox (from an earlier session) are not offered again, and items a page claimed under
    /// an older filter are handed back (the returned effect).
    fn add_page(
        &mut self,
        items: Vec<Item>,
        next_cursor: Option<String>,
    ) -> Result<Vec<Effect>, crate::store::StoreError> {
        let ids: Vec<&str> = items.iter().map(|item| item.id.as_str()).collect();
        let decided = self.store.decided_here(&ids)?;
        let merging = !self.entries.is_empty();
        for item in items {
            // Read under an older filter: not for this list.
            if !self.filter.is_empty() && !self.matches_filter(&item) {
                continue;
            }
            if let Some(&i) = self.index.get(&item.id) {
                // Still open on the server: who holds it now is news, and an item this
                // session had lost is open to it again once its holder let go.
                if let Some(entry) = self.entries.get_mut(i)
                    && entry.local.is_none()
                {
                    let shown = sanitize_item(item);
                    entry.held_by = shown.leased_by.clone();
                    if entry.held_by.is_some() {
                        entry.lease = Lease::None;
                        self.leased.remove(&entry.id);
                    }
                    if entry.gone.take().is_some() {
                        entry.shown = shown;
                    }
                }
                continue;
            }
            if decided.contains(&item.id) {
                continue;
            }
            self.index.insert(item.id.clone(), self.entries.len());
            let id = item.id.clone();
            let shown = sanitize_item(item);
            self.entries.push(Entry {
                id,
                held_by: shown.leased_by.clone(),
                shown,
                local: None,
                gone: None,
                lease: Lease::None,
            });
        }
        // The first page comes in the server's order; later ones merge into the window.
        if merging {
            self.keep_in_order();
        }
        self.queue_end = if next_cursor.is_some() {
            QueueEnd::More
        } else {
            QueueEnd::Exhausted
        };
        Ok(Vec::new())
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

/// Whether a look done `last` is due again `now`: every `REFILL_EVERY_SECS`, and at once when
/// the clock went back (a corrected wall clock must not stall the looks for as long).
fn due(last: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    let since = (now - last).num_seconds();
    !(0..REFILL_EVERY_SECS).contains(&since)
}

/// What became of a decision taken back by undo.
enum TakenBack {
    Withdrawn,
    Reversed,
    SetAside,
}

/// A copy of the item with every string made safe to draw.
fn sanitize_item(item: Item) -> Item {
    let author = |a: Author| Author {
        id: clean_line(&a.id),
        handle: a.handle.as_deref().map(clean_line),
        created_at: a.created_at,
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
                id: m.id.as_deref().map(clean_line),
                content_type: m.content_type.as_deref().map(clean_line),
                // Bytes are fetched on demand, never kept on the item.
                data: None,
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
        history: item.history.into_iter().map(sanitize_history).collect(),
        leased_by: item.leased_by.as_deref().map(clean_line),
        appeal: item.appeal.map(super::appeal::sanitize),
        thread: item.thread.map(super::thread::sanitize),
        account: item.account.map(sanitize_standing),
        totals: item.totals.map(sanitize_totals),
        ..item
    }
}

/// An item's totals with the categories (reporters' free text) made safe to draw. Every
/// field is named, so that a string added to the totals cannot reach the screen unseen.
fn sanitize_totals(t: crate::model::ItemTotals) -> crate::model::ItemTotals {
    let crate::model::ItemTotals {
        reports,
        history,
        by_reporter_type,
        by_category,
        other_categories,
        leading_category,
        restricted_notes,
    } = t;
    crate::model::ItemTotals {
        reports,
        history,
        by_reporter_type,
        by_category: by_category
            .into_iter()
            .map(|c| crate::model::CategoryCount {
                category: clean_line(&c.category),
                ..c
            })
            .collect(),
        other_categories,
        leading_category: leading_category.as_deref().map(clean_line),
        restricted_notes,
    }
}

/// An account standing with its strings (account id, reason codes) made safe to draw.
fn sanitize_standing(s: crate::account::AccountStanding) -> crate::account::AccountStanding {
    let record = |r: crate::account::AccountMeasureRecord| crate::account::AccountMeasureRecord {
        reason_code: r.reason_code.as_deref().map(clean_line),
        ..r
    };
    crate::account::AccountStanding {
        account_id: clean_line(&s.account_id),
        recent: s.recent.into_iter().map(record).collect(),
        in_force: s.in_force.map(record),
        ..s
    }
}

/// A history entry with every string made safe to draw.
fn sanitize_history(h: HistoryEntry) -> HistoryEntry {
    HistoryEntry {
        actor: clean_line(&h.actor),
        reason_code: h.reason_code.as_deref().map(clean_line),
        note: h.note.as_deref().map(clean_text),
        scope: h.scope.map(|s| match s {
            Scope::Global => Scope::Global,
            Scope::Countries(cs) => Scope::Countries(cs.iter().map(|c| clean_line(c)).collect()),
        }),
        ..h
    }
}
