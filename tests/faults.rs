//! Network trouble between the moderator and the API, injected by a TCP proxy in front of the
//! reference server: down, slow, failing, resetting, cutting answers short, swallowing
//! requests. Each test is a moderator's session through the proxy, holding modq to its promise:
//! a decision is journaled first and sent in the background, so the trouble never blocks the
//! screen, and never loses or doubles a decision.
//!
//! The session's Tokio runtime has one thread, so nothing of the background sync runs while a
//! test presses keys: what `press` leaves behind is the UI on its own, before any answer.

mod common;
#[path = "common/fault_proxy.rs"]
mod fault_proxy;

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use common::{Session, TestServer, render, sample_now};
use fault_proxy::{Fault, FaultProxy};
use modq::config::Config;
use modq::model::{DecisionOutcome, ReviewState};
use modq::profile::Dirs;
use modq::session;
use modq::sync::SyncEvent;
use modq::tui::app::{App, Delivery, Level, Link, QueueEnd};
use modq::tui::event_loop::Input;

/// The longest a recovery may take: the first retries come within a second or two.
const RECOVERY: Duration = Duration::from_secs(10);
/// modq's HTTP client gives up on a silent API after 15 s.
const CLIENT_TIMEOUT_AND_SOME: Duration = Duration::from_secs(20);

/// The moderator's desk: the real App, its cache and its background sync, talking to `api`,
/// driven by modq's own event loop.
struct Desk {
    s: Session,
}

/// One decision made at the desk, and what the server should say about the item afterwards.
#[derive(Debug, Clone)]
struct Decided {
    id: String,
    key: String,
    expect: ReviewState,
}

impl Desk {
    async fn open(api: &str, token: &str, data: &Path) -> Desk {
        let dirs = Dirs::resolve(Some(data)).expect("dirs");
        let prepared = session::prepare(api, token, &dirs, Config::default())
            .await
            .expect("the session opens through the proxy");
        let mut s = Session::from_prepared(prepared, sample_now());
        s.log_sync_events();
        Desk { s }
    }

    fn app(&self) -> &App {
        &self.s.app
    }

    /// Keys, in one turn of the loop; the sync's reports wait for the next.
    fn press(&mut self, keys: &str) {
        self.s.press(keys);
    }

    /// Every report of the background sync handed to the App, oldest first.
    fn log(&self) -> &[SyncEvent] {
        self.s.sync_log()
    }

    /// Decide with each key of `keys` (`t`, `a`, `e`) and check, before any answer from the
    /// network, that the decision is recorded and the selection already on the next item.
    fn decide(&mut self, keys: &str) -> Vec<Decided> {
        let mut made = Vec::new();
        for key in keys.chars() {
            let expect = match key {
                't' => ReviewState::TakenDown,
                'a' => ReviewState::Kept,
                'e' => ReviewState::Escalated,
                other => panic!("{other:?} is not a decision key"),
            };
            let at = self.app().selected;
            let id = self.selected_id();
            assert!(
                self.app().entries[at].is_open(),
                "{key}: the selected {id} is not open for a decision"
            );
            let next = self.next_undecided_after(at);
            let unsent = self.app().counts.unsent;
            let decided = self.app().decided;
            let events_before = self.log().len();

            self.press(&key.to_string());

            assert_eq!(
                self.log().len(),
                events_before,
                "no sync event was processed"
            );
            let local = self.app().entries[at]
                .local
                .clone()
                .unwrap_or_else(|| panic!("{key} left no decision on {id}"));
            assert_eq!(local.delivery, Delivery::Unsent, "{id}");
            assert_eq!(
                self.app().counts.unsent,
                unsent + 1,
                "{key} on {id}: the outbox count grows at once"
            );
            assert_eq!(self.app().decided, decided + 1);
            assert_eq!(
                Some(self.app().selected),
                next,
                "{key} on {id}: the next item is selected at once"
            );
            let status = format!(
                "decided {} │ unsent {}",
                self.app().decided,
                self.app().counts.unsent
            );
            let screen = self.screen();
            assert!(screen.contains(&status), "{status:?} missing:\n{screen}");
            made.push(Decided {
                id,
                key: local.key,
                expect,
            });
        }
        made
    }

    fn next_undecided_after(&self, at: usize) -> Option<usize> {
        let entries = &self.app().entries;
        (at + 1..entries.len())
            .chain(0..at)
            .find(|&i| entries[i].is_open())
    }

    /// Turn the loop over what comes (the sync's reports) until `done` holds; fail after
    /// `within`.
    async fn wait_until(&mut self, what: &str, within: Duration, done: impl Fn(&App) -> bool) {
        self.s.wait_within(what, within, done).await;
    }

    /// Wait for the status bar to say offline; returns why.
    async fn wait_offline(&mut self, within: Duration) -> String {
        self.wait_until("the link shows offline", within, |app| {
            matches!(app.link, Link::Offline(_))
        })
        .await;
        let screen = self.screen();
        assert!(screen.contains("○ offline"), "status bar:\n{screen}");
        match &self.app().link {
            Link::Offline(why) => why.clone(),
            Link::Online => unreachable!("waited for offline"),
        }
    }

    /// Every decision on screen has its answer, and the outbox is empty. (The count alone can
    /// read 0 too early: see `delivered_counts_never_hide_a_newer_decision`.)
    async fn wait_delivered(&mut self, within: Duration) {
        self.wait_until("every decision is answered", within, |app| {
            app.counts.unsent == 0
                && app.entries.iter().all(|e| {
                    e.local
                        .as_ref()
                        .is_none_or(|l| l.delivery != Delivery::Unsent)
                })
        })
        .await;
    }

    /// The next report of the sync, held back from the loop; "a batch is on the wire" reports,
    /// the lease worker's grants for the item the selection moved to (which race the answer
    /// to the batch) and anything else that is not a report of the sync are handed over as
    /// they come.
    async fn hold_next_event(&mut self, within: Duration) -> SyncEvent {
        loop {
            match self.s.next_input(within).await {
                Some(Input::Sync(
                    event @ (SyncEvent::Sending { .. }
                    | SyncEvent::Counts(_)
                    | SyncEvent::Policies(_)
                    // Leases follow the selection; their answers are not what is held.
                    | SyncEvent::Claimed(_)
                    | SyncEvent::ClaimFailed { .. }),
                )) => self.hand_over(event),
                Some(Input::Sync(event)) => return event,
                Some(other) => {
                    self.s.turn([other]);
                }
                None => panic!("no sync event within {within:?}"),
            }
        }
    }

    /// A held report of the sync, handed to the loop: one turn.
    fn hand_over(&mut self, event: SyncEvent) {
        self.s.sync_event(event);
    }

    fn screen(&self) -> String {
        render(self.app(), 200, 30)
    }

    fn selected_id(&self) -> String {
        self.s.selected_id()
    }

    /// What the server answered for this decision, every time it did.
    fn outcomes(&self, key: &str) -> Vec<DecisionOutcome> {
        self.log()
            .iter()
            .filter_map(|e| match e {
                SyncEvent::Delivered { results, .. } => Some(results),
                _ => None,
            })
            .flatten()
            .filter(|r| r.idempotency_key == key)
            .map(|r| r.outcome)
            .collect()
    }

    fn went_offline(&self) -> bool {
        self.log()
            .iter()
            .any(|e| matches!(e, SyncEvent::Offline { .. }))
    }
}

/// The reference server with the sample queue, the proxy in front of it, and a moderator
/// whose session goes through the proxy (and only it: one API URL, one profile).
struct Rig {
    server: TestServer,
    proxy: FaultProxy,
    desk: Desk,
    _data: tempfile::TempDir,
}

async fn rig() -> Rig {
    let server = TestServer::with_sample().await;
    let proxy = FaultProxy::start(server.addr).await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut desk = Desk::open(&proxy.url(), &server.token, data.path()).await;
    // The session's first background requests (lane counts, the policy catalog) are done
    // before any fault is set, so a fault meets the request the test means.
    desk.wait_until("the lane counts and the catalog", RECOVERY, |app| {
        app.lane_counts.is_some() && app.policies.is_some()
    })
    .await;
    Rig {
        server,
        proxy,
        desk,
        _data: data,
    }
}

impl Rig {
    /// What the server holds, asked directly (not through the proxy).
    fn audit_rows(&self, decided: &[Decided]) -> Vec<usize> {
        decided
            .iter()
            .map(|d| self.server.audit_rows(&d.id))
            .collect()
    }

    /// Every decision reached the server exactly once and is shown as sent.
    async fn assert_each_applied_once(&self, decided: &[Decided]) {
        for d in decided {
            let item = self.server.item(&d.id).await;
            assert_eq!(
                item.state,
                d.expect,
                "server state of {}; the server's answers: {:?}",
                d.id,
                self.desk.outcomes(&d.key)
            );
            assert_eq!(
                self.server.audit_rows(&d.id),
                1,
                "{} must be applied exactly once",
                d.id
            );
            let entry = self
                .desk
                .app()
                .entries
                .iter()
                .find(|e| e.id == d.id)
                .unwrap_or_else(|| panic!("{} left the window", d.id));
            let delivery = entry.local.as_ref().map(|l| &l.delivery);
            assert_eq!(delivery, Some(&Delivery::Sent), "{} on screen", d.id);
        }
        let counts = self.desk.app().counts;
        assert_eq!((counts.unsent, counts.failed), (0, 0), "{counts:?}");
        assert_eq!(self.desk.app().link, Link::Online);
    }
}

/// Poll `cond` (letting background tasks run) until it holds; fail after `within`.
async fn until(what: &str, within: Duration, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "waited {within:?} in vain until {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn api_down_work_goes_on_and_everything_arrives_once_it_is_back() {
    let mut rig = rig().await;
    rig.proxy.stop().await;

    let mut decided = rig.desk.decide("tae");
    let why = rig.desk.wait_offline(RECOVERY).await;
    // A new connection is refused; one kept from before is found closed only once the
    // request is on it, which is all the client can say then.
    assert!(
        why.contains("cannot reach the API") || why.contains("lost the connection to the API"),
        "{why}"
    );
    let screen = rig.desk.screen();
    assert!(screen.contains("unsent 3"), "{screen}");
    assert_eq!(rig.audit_rows(&decided), [0, 0, 0]);

    // Still offline: work goes on.
    decided.extend(rig.desk.decide("a"));

    rig.proxy.restart().await;
    // One more decision nudges the flusher.
    decided.extend(rig.desk.decide("t"));
    rig.desk.wait_delivered(RECOVERY).await;
    rig.assert_each_applied_once(&decided).await;
}

#[tokio::test]
async fn a_slow_api_never_blocks_the_screen_nor_counts_as_offline() {
    let mut rig = rig().await;
    rig.proxy.set(Fault::Delay(Duration::from_secs(3)));

    let mut decided = rig.desk.decide("tae");
    // While that batch is on the wire (held 3 s by the proxy), the moderator keeps working.
    until("the batch reaches the proxy", RECOVERY, || {
        rig.proxy.seen(&Fault::Delay(Duration::ZERO)) >= 1
    })
    .await;
    assert_eq!(rig.desk.app().counts.unsent, 3, "nothing is answered yet");
    let here = rig.desk.app().selected;
    rig.desk.press("jk");
    assert_eq!(rig.desk.app().selected, here);
    decided.extend(rig.desk.decide("ea"));

    rig.desk.wait_delivered(RECOVERY).await;
    assert!(
        !rig.desk.went_offline(),
        "a slow answer is not an outage: {:?}",
        rig.desk.log()
    );
    assert!(rig.desk.screen().contains("● online"));
    rig.assert_each_applied_once(&decided).await;
}

#[tokio::test]
async fn server_errors_show_offline_and_the_backoff_retry_delivers() {
    let mut rig = rig().await;
    rig.proxy.set(Fault::Http500);

    let decided = rig.desk.decide("tae");
    let why = rig.desk.wait_offline(RECOVERY).await;
    assert!(why.contains("HTTP 500"), "{why}");
    assert!(why.contains("injected by the fault proxy"), "{why}");
    assert!(rig.desk.screen().contains("unsent 3"));
    assert_eq!(rig.audit_rows(&decided), [0, 0, 0]);

    // No nudge: the flusher's own retry gets through.
    rig.proxy.set(Fault::Pass);
    rig.desk.wait_delivered(RECOVERY).await;
    rig.assert_each_applied_once(&decided).await;
    assert!(rig.proxy.seen(&Fault::Http500) >= 1);
}

#[tokio::test]
async fn a_reset_connection_is_retried_and_delivered_once() {
    let mut rig = rig().await;
    rig.proxy.set(Fault::Reset);

    let mut decided = rig.desk.decide("tae");
    let why = rig.desk.wait_offline(RECOVERY).await;
    assert!(why.contains("lost the connection to the API"), "{why}");
    assert!(rig.desk.screen().contains("unsent 3"));
    assert_eq!(rig.audit_rows(&decided), [0, 0, 0]);

    rig.proxy.set(Fault::Pass);
    decided.extend(rig.desk.decide("a"));
    rig.desk.wait_delivered(RECOVERY).await;
    rig.assert_each_applied_once(&decided).await;
    assert!(rig.proxy.seen(&Fault::Reset) >= 1);
}

/// The server applies a batch, and the answer does not reach the client intact: the batch is
/// sent again, the server says `duplicate`, and nothing is applied twice.
async fn applied_but_unanswered(fault: Fault, says: &str) {
    let mut rig = rig().await;
    rig.proxy.set_for("POST /v1/decisions", fault.clone());

    let mut decided = rig.desk.decide("tae");
    let why = rig.desk.wait_offline(RECOVERY).await;
    assert!(why.contains(says), "{fault:?}: {why}");
    // The server holds all three; the client cannot know it.
    assert_eq!(rig.audit_rows(&decided), [1, 1, 1], "{fault:?}");
    assert_eq!(rig.desk.app().counts.unsent, 3);
    assert!(rig.desk.screen().contains("unsent 3"));
    let applied_before: HashSet<String> = decided.iter().map(|d| d.id.clone()).collect();

    rig.proxy.set(Fault::Pass);
    decided.extend(rig.desk.decide("t"));
    rig.desk.wait_delivered(RECOVERY).await;
    for d in &decided {
        let outcomes = rig.desk.outcomes(&d.key);
        let last = outcomes.last().copied();
        if applied_before.contains(&d.id) {
            assert_eq!(
                last,
                Some(DecisionOutcome::Duplicate),
                "{fault:?}: {} was applied before the answer broke; outcomes {outcomes:?}",
                d.id
            );
        } else {
            assert!(
                matches!(
                    last,
                    Some(DecisionOutcome::Applied | DecisionOutcome::Duplicate)
                ),
                "{fault:?}: {} {outcomes:?}",
                d.id
            );
        }
    }
    rig.assert_each_applied_once(&decided).await;
    assert!(rig.proxy.seen(&fault) >= 1);
}

#[tokio::test]
async fn a_truncated_answer_to_an_applied_batch_comes_back_as_duplicate() {
    applied_but_unanswered(Fault::TruncateResponse, "lost the connection to the API").await;
}

#[tokio::test]
async fn truncated_json_in_a_complete_answer_is_resent_not_refused() {
    applied_but_unanswered(Fault::TruncateJson, "cannot read").await;
}

#[tokio::test]
async fn a_connection_dropped_after_the_server_applied_is_resent_as_duplicate() {
    applied_but_unanswered(Fault::DropResponse, "lost the connection to the API").await;
}

/// The one slow test: the client's 15 s timeout is the only way out of a blackhole.
#[tokio::test]
async fn a_blackholed_request_times_out_then_delivers_once() {
    let mut rig = rig().await;
    // The decisions' batch is the request swallowed (the lease claims that follow the
    // selection pass).
    rig.proxy.set_for("POST /v1/decisions", Fault::Blackhole);

    let mut decided = rig.desk.decide("tae");
    until("the batch disappears into the blackhole", RECOVERY, || {
        rig.proxy.seen(&Fault::Blackhole) >= 1
    })
    .await;
    // That request stays swallowed; whatever comes after it may pass. Work goes on.
    rig.proxy.set(Fault::Pass);
    decided.extend(rig.desk.decide("e"));
    assert_eq!(rig.desk.app().counts.unsent, 4);

    let why = rig.desk.wait_offline(CLIENT_TIMEOUT_AND_SOME).await;
    assert!(why.contains("did not answer within 15 s"), "{why}");
    rig.desk.wait_delivered(RECOVERY).await;
    rig.assert_each_applied_once(&decided).await;
    assert_eq!(rig.proxy.seen(&Fault::Blackhole), 1);
}

#[tokio::test]
async fn a_failed_page_prefetch_warns_and_the_next_page_arrives_later() {
    let mut rig = rig().await;
    assert_eq!(
        rig.desk.app().queue_end,
        QueueEnd::More,
        "the sample queue must hold more than one page"
    );
    let first_page = rig.desk.app().entries.len();
    rig.proxy.set(Fault::Http500);

    // To the end of the first page: the window runs low and asks for more.
    rig.desk.press("G");
    assert_eq!(rig.desk.app().selected, first_page - 1);
    assert_eq!(rig.desk.app().queue_end, QueueEnd::Loading);
    rig.desk
        .wait_until("the failed page is reported", RECOVERY, |app| {
            app.queue_end != QueueEnd::Loading
        })
        .await;
    let flash = rig.desk.app().flash.clone().expect("a warning is shown");
    assert_eq!(flash.level, Level::Warning);
    assert!(
        flash.text.contains("Could not load more items"),
        "{flash:?}"
    );
    assert!(flash.text.contains("HTTP 500"), "{flash:?}");
    let screen = rig.desk.screen();
    assert!(screen.contains("Could not load more items"), "{screen}");
    assert_eq!(rig.desk.app().entries.len(), first_page);
    assert_eq!(rig.desk.app().queue_end, QueueEnd::More);

    // The app keeps working: deciding and moving need no page.
    let mut decided = rig.desk.decide("t");
    rig.desk.press("jk");

    rig.proxy.set(Fault::Pass);
    rig.desk.press("G");
    rig.desk
        .wait_until("the next page arrives", RECOVERY, |app| {
            app.entries.len() > first_page
        })
        .await;
    // On from the last item of the first page to the first of the second.
    rig.desk.press("j");
    assert_eq!(rig.desk.app().selected, first_page);
    decided.extend(rig.desk.decide("a"));
    rig.desk.wait_delivered(RECOVERY).await;
    rig.assert_each_applied_once(&decided).await;
    assert!(rig.proxy.seen(&Fault::Http500) >= 1);
}

/// Undo after an answer was lost: the server may hold the decision, so undo must send a
/// reversal, not silently withdraw it.
#[tokio::test]
async fn undo_after_a_lost_answer_reverses_what_the_server_holds() {
    let mut rig = rig().await;
    rig.proxy
        .set_for("POST /v1/decisions", Fault::TruncateResponse);
    let decided = rig.desk.decide("t");
    let id = decided[0].id.clone();
    rig.desk.wait_offline(RECOVERY).await;
    assert_eq!(rig.server.audit_rows(&id), 1, "the server took it down");

    rig.desk.press("u");
    assert_eq!(rig.desk.selected_id(), id);
    let flash = rig.desk.app().flash.clone().expect("undo says what it did");
    rig.proxy.set(Fault::Pass);
    rig.desk.wait_delivered(RECOVERY).await;
    // Let any retry settle.
    rig.desk.press("a");
    rig.desk.wait_delivered(RECOVERY).await;
    let item = rig.server.item(&id).await;
    assert_eq!(
        item.state,
        ReviewState::Kept,
        "the moderator undid the take down ({:?}) and kept the item; the server says {:?}",
        flash.text,
        item.state
    );
}

/// A batch is answered while the moderator goes on deciding: the answer's counts were taken
/// before the newer decision was journaled, and must not make the status bar claim it is sent.
#[tokio::test]
async fn delivered_counts_never_hide_a_newer_decision() {
    let mut rig = rig().await;
    let first = rig.desk.decide("t");
    let answer = rig.desk.hold_next_event(RECOVERY).await;
    assert!(
        matches!(&answer, SyncEvent::Delivered { results, .. } if results.len() == 1),
        "{answer:?}"
    );
    assert_eq!(rig.server.audit_rows(&first[0].id), 1);
    // The answer is on its way to the App; meanwhile the moderator decides again.
    let second = rig.desk.decide("a");
    rig.desk.hand_over(answer);
    let screen = rig.desk.screen();
    let status = screen
        .lines()
        .find(|l| l.contains("unsent"))
        .unwrap_or_default();
    assert_eq!(
        rig.desk.app().counts.unsent,
        1,
        "{} is still in the outbox; the status bar says: {status}",
        second[0].id
    );
    rig.desk.wait_delivered(RECOVERY).await;
    let mut decided = first;
    decided.extend(second);
    rig.assert_each_applied_once(&decided).await;
}
