//! Everything a moderator can ask of modq, and the other messages the App takes. Actions are
//! data: the keymap names them in TOML (`t = "take_down"`), and `description` writes the help
//! overlay. What is not the moderator's intent (the sync's reports, the clock, answers to
//! effects, a click) is a [`Message`] of its own, which no key can name.

use serde::{Deserialize, Serialize};

use crate::sync::SyncEvent;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    MoveDown,
    MoveUp,
    First,
    Last,
    PageDown,
    PageUp,
    TakeDown,
    Keep,
    Escalate,
    Undo,
    /// Tag or untag the item and move on.
    Tag,
    /// Tag every item matching the filter, also those not fetched yet.
    TagAll,
    UntagAll,
    /// Start a range; the items between it and the cursor count as tagged. Again: keep them.
    Visual,
    /// The next decision key applies to every tagged item.
    TagPrefix,
    /// Tag every item like this one: same author, link or near-identical text.
    Similar,
    Filter,
    Command,
    /// Pipe the item as JSON to a shell command and show what it prints.
    Pipe,
    /// Copy the item id to the clipboard (OSC 52, works over SSH).
    Yank,
    /// Copy the item's first link (or its API address) to the clipboard.
    YankLink,
    /// Next sort order: priority, age, reports, deadline.
    CycleSort,
    /// Write a note on the item; the server keeps it in the item's history.
    Note,
    /// Every report, decision, escalation and note on the item, fresh from the server.
    History,
    /// Decisions of this session and of today, by action, category, lane and country.
    Stats,
    /// The next lane tab (all lanes, then each lane, most urgent first).
    NextLane,
    LaneUrgent,
    LaneAuthority,
    LaneTrustedFlagger,
    LaneStandard,
    LaneAppeals,
    /// Take down with a reason, a scope and a note, picked.
    TakeDownWith,
    /// Send a self-harm item's reporters the support resources for their country.
    SendSupport,
    /// Escalate to a tier picked, with a note.
    EscalateTo,
    /// On an appeal: the decision appealed stands.
    Uphold,
    /// On an appeal: the decision appealed is undone, the content restored.
    Overturn,
    /// The thread around the item: what it replies to, the messages before and after.
    Thread,
    /// Show every item by this item's author.
    AuthorItems,
    /// Go back to the view a jump (`A`, a saved view) left.
    ViewBack,
    /// Show the item's translation under its text, or hide it (the configured command).
    Translate,
    /// Show this item's image unblurred (in colour unless its category is graphic); moving
    /// to another item hides it again.
    RevealMedia,
    Help,
    /// Scroll the item pane down (its reports and history below what shows).
    DetailDown,
    /// Scroll the item pane back up.
    DetailUp,
    /// Let the item take the whole body of the screen, or give the list its place back.
    Zoom,
    /// Clear the terminal and draw every cell again (another program wrote over the screen).
    Redraw,
    /// Close the top layer, leave a range, or clear the message.
    Back,
    Quit,
    /// Run a command line with its arguments (`lane urgent`), as bound to a key in the
    /// config file.
    #[serde(skip)]
    Run(String),
}

/// Everything `App::update` takes: the moderator's intents, and what reaches the App from
/// elsewhere (the background sync, the clock, a finished effect, the mouse), which no key can
/// ask for.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// The moderator asked for this.
    Intent(Action),
    /// The background sync reported something.
    Sync(SyncEvent),
    /// Time passed: deadlines count down, looks on a timer fall due.
    Tick(chrono::DateTime<chrono::Utc>),
    /// A piped command finished.
    PipeDone { command: String, output: String },
    /// Select the entry at this index (a click on its row).
    Select(usize),
    /// The translation command finished for an item: its output, or why there is none.
    Translated {
        item_id: String,
        result: Result<String, String>,
    },
    /// An image was fetched and decoded, or why not.
    MediaReady {
        media_id: String,
        answer: crate::tui::media_fetch::MediaAnswer,
    },
}

impl From<Action> for Message {
    fn from(action: Action) -> Message {
        Message::Intent(action)
    }
}

impl Action {
    /// The actions a moderator can bind, in the order the help overlay lists them.
    pub const BINDABLE: [Action; 48] = [
        Action::MoveDown,
        Action::MoveUp,
        Action::First,
        Action::Last,
        Action::PageDown,
        Action::PageUp,
        Action::TakeDown,
        Action::Keep,
        Action::Escalate,
        Action::Undo,
        Action::Tag,
        Action::TagAll,
        Action::UntagAll,
        Action::Visual,
        Action::TagPrefix,
        Action::Similar,
        Action::Filter,
        Action::Command,
        Action::CycleSort,
        Action::NextLane,
        Action::LaneUrgent,
        Action::LaneAuthority,
        Action::LaneTrustedFlagger,
        Action::LaneStandard,
        Action::LaneAppeals,
        Action::TakeDownWith,
        Action::SendSupport,
        Action::EscalateTo,
        Action::Uphold,
        Action::Overturn,
        Action::AuthorItems,
        Action::ViewBack,
        Action::Translate,
        Action::RevealMedia,
        Action::Pipe,
        Action::Yank,
        Action::YankLink,
        Action::Note,
        Action::History,
        Action::Thread,
        Action::Stats,
        Action::DetailDown,
        Action::DetailUp,
        Action::Zoom,
        Action::Help,
        Action::Redraw,
        Action::Back,
        Action::Quit,
    ];

    /// The name the keymap and the command line use (`take_down`); a command's line.
    pub fn name(&self) -> String {
        if let Action::Run(line) = self {
            return line.clone();
        }
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(s)) => s,
            _ => String::new(),
        }
    }

    /// The bindable action named `name`.
    pub fn named(name: &str) -> Option<Action> {
        Action::BINDABLE.into_iter().find(|a| a.name() == name)
    }

    pub fn description(&self) -> &'static str {
        match self {
            Action::MoveDown => "next item",
            Action::MoveUp => "previous item",
            Action::First => "first item",
            Action::Last => "last item",
            Action::PageDown => "page down",
            Action::PageUp => "page up",
            Action::TakeDown => "take down (global, default reason)",
            Action::Keep => "keep: no violation",
            Action::Escalate => "escalate one tier up (an open item: to a senior)",
            Action::Undo => "undo the last decision or bulk action; repeat to go back",
            Action::Tag => "tag / untag the item and move on",
            Action::TagAll => "tag all matching the filter, also those not fetched yet",
            Action::UntagAll => "untag everything",
            Action::Visual => "start a range (again: tag the range)",
            Action::TagPrefix => "then t/a/e: decide every tagged item (asks first)",
            Action::Similar => "tag items with this author, link or near-identical text",
            Action::Filter => "filter the queue as you type (syntax below)",
            Action::Command => "command line (tab completes)",
            Action::CycleSort => "sort by priority, age, reports, deadline",
            Action::NextLane => "next lane tab (all lanes, then each lane)",
            Action::LaneUrgent => "lane: urgent",
            Action::LaneAuthority => "lane: authority requests",
            Action::LaneTrustedFlagger => "lane: trusted flaggers",
            Action::LaneStandard => "lane: standard",
            Action::LaneAppeals => "lane: appeals",
            Action::TakeDownWith => "take down: pick reason, countries, account measure, note",
            Action::SendSupport => "send the reporters support resources (self-harm items)",
            Action::EscalateTo => "escalate: pick the tier, write a note",
            Action::Uphold => "on an appeal: uphold the decision appealed",
            Action::Overturn => "on an appeal: overturn it (the content is restored)",
            Action::Thread => "the thread: what the item replies to, the messages around it",
            Action::AuthorItems => "every item by this author (filter author:)",
            Action::ViewBack => "back to the view before the last jump (A, a saved view)",
            Action::Translate => "show or hide the item's translation under its text",
            Action::RevealMedia => "reveal the image of this item only (again: blur it)",
            Action::Pipe => "pipe the item as JSON to a shell command",
            Action::Yank => "copy the item id (OSC 52)",
            Action::YankLink => "copy the item's link (OSC 52)",
            Action::Note => "add a note to the item (kept in its history)",
            Action::History => "the item's history: decisions, escalations, notes",
            Action::Stats => "stats for the session and today (charts)",
            Action::Help => "show or hide this help",
            Action::Redraw => "redraw the whole screen",
            Action::DetailDown => "scroll the item down (its reports, its history)",
            Action::DetailUp => "scroll the item up",
            Action::Zoom => "the item takes the whole screen (again: the list is back)",
            Action::Back => "close the overlay, leave a range, clear the message",
            Action::Quit => "quit (unsent decisions are kept and sent next time)",
            Action::Run(_) => "run a command line",
        }
    }

    /// What the help overlay says the action does: a bound command shows its line.
    pub fn help(&self) -> String {
        match self {
            Action::Run(line) => format!(":{line}"),
            other => other.description().to_string(),
        }
    }
}
