//! modq against a REAL Bluesky Ozone (issue 17, items 7–9): the network
//! `scripts/platforms/ozone.sh up DIR` stands up (PLC, PDS, AppView and Ozone 0.4.2 from
//! npm, Debian's PostgreSQL), seeded with reports made through the user-facing
//! `com.atproto.moderation.createReport`. Every answer here is Ozone's own; nothing is
//! recorded. Ozone's state is checked at the end of each test through Ozone's API.
//!
//! Without the network's variables (`.ci/run` exports them) every test says plainly that the
//! Ozone suite did not run, names the one command that runs it, and passes.

#[path = "platform_ozone/net.rs"]
mod net;

use modq::backend::{Backend, QueueQuery};
use modq::model::{Decision, DecisionAction, DecisionOutcome, ItemKind, ReviewState, Role};
use net::{CLOSED, ESCALATED, Net, TURN};

fn decision(item_id: &str, action: DecisionAction) -> Decision {
    Decision::bare(&modq::store::new_key(), item_id, action, chrono::Utc::now())
}

/// Every open item of the queue, paged through as modq pages.
async fn whole_queue(backend: &dyn Backend, state: ReviewState) -> Vec<modq::model::Item> {
    let mut items = Vec::new();
    let mut cursor = None;
    for _ in 0..200 {
        let page = backend
            .queue_page(&QueueQuery {
                state: Some(state),
                cursor: cursor.clone(),
                limit: Some(100),
                ..QueueQuery::default()
            })
            .await
            .expect("a queue page");
        items.extend(page.items);
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return items,
        }
    }
    panic!("the queue never ended");
}

#[tokio::test]
async fn the_moderator_reads_ozones_queue_with_each_subjects_text_and_reports() {
    let Some(net) = Net::find("platform_ozone") else {
        return;
    };
    let _turn = TURN.lock().await;
    let backend = net.backend("MODERATOR");
    let me = backend.me().await.expect("me");
    assert_eq!(me.name, net.var("OZONE_MODERATOR_HANDLE"));
    assert_eq!(me.role, Role::Moderator);
    assert!(backend.capabilities().take_down.is_yes());

    let queue = whole_queue(&backend, ReviewState::Open).await;
    let spam_uri = net.var("OZONE_SPAM_URI");
    let spam = queue
        .iter()
        .find(|i| i.id == spam_uri)
        .expect("the seeded spam post is in the open queue");
    assert_eq!(spam.kind, ItemKind::Post);
    assert_eq!(
        spam.text.as_deref(),
        Some("CHEAP FOLLOWERS!!! 10k for $5, DM me now")
    );
    assert_eq!(
        spam.author.as_ref().and_then(|a| a.handle.as_deref()),
        Some("mallory.test")
    );
    assert!(spam.reports.iter().any(|r| r.category == "spam"));
    let account = queue
        .iter()
        .find(|i| i.id == net.var("OZONE_REPORTED_ACCOUNT_DID"))
        .expect("the reported account is in the open queue");
    assert_eq!(account.kind, ItemKind::Account);

    // The item itself: both reports on the spam post, with their comments, from Ozone's events.
    let item = backend.item(&spam_uri).await.expect("the spam item");
    let comments: Vec<&str> = item
        .reports
        .iter()
        .filter_map(|r| r.comment.as_deref())
        .collect();
    assert_eq!(comments, vec!["selling followers", "spam again"]);
    assert_eq!(item.state, ReviewState::Open);

    // The hostile post arrives as Ozone serves it; the App's sanitizer is what cleans it
    // (proved on screen by the session test).
    let hostile = backend
        .item(&net.var("OZONE_HOSTILE_URI"))
        .await
        .expect("the hostile item");
    assert!(
        hostile
            .text
            .as_deref()
            .unwrap_or_default()
            .contains('\u{1b}')
    );
}

/// A post's thread is asked of the AppView once while it is fresh: the page read brings it,
/// and the page read again and the item read after it take it from memory.
#[tokio::test]
async fn each_posts_thread_is_asked_of_the_appview_once_while_fresh() {
    let Some(net) = Net::find("platform_ozone") else {
        return;
    };
    let _turn = TURN.lock().await;
    let backend = net.backend("MODERATOR");
    let reply = net.var("OZONE_THREAD_REPLY_URI");
    let queue = whole_queue(&backend, ReviewState::Open).await;
    assert!(queue.iter().any(|i| i.id == reply), "the reply is open");
    let posts = queue
        .iter()
        .filter(|i| i.id.contains("/app.bsky.feed.post/"))
        .count();
    assert!(posts > 1, "the seeded queue has posts");
    let asked = backend.threads_fetched();
    assert_eq!(asked, posts as u64, "one ask per post");
    whole_queue(&backend, ReviewState::Open).await;
    let item = backend.item(&reply).await.expect("the reported reply");
    assert!(item.thread.is_some(), "its thread, from memory");
    assert_eq!(backend.threads_fetched(), asked, "nothing asked again");
}

#[tokio::test]
async fn a_decision_sent_again_after_a_crash_is_applied_once_by_its_external_id() {
    let Some(net) = Net::find("platform_ozone") else {
        return;
    };
    let _turn = TURN.lock().await;
    let uris = net.reported_posts(1, "retry").await;
    let uri = uris.first().expect("a post");
    let backend = net.backend("MODERATOR");
    backend.me().await.expect("me");
    let take_down = decision(uri, DecisionAction::TakeDown);

    let first = backend
        .send_decisions(std::slice::from_ref(&take_down))
        .await
        .expect("sent");
    assert_eq!(
        first.first().map(|r| r.outcome),
        Some(DecisionOutcome::Applied)
    );
    // The client died before it journaled the answer: it sends the same decision again,
    // from a new process with a new session.
    let restarted = net.backend("MODERATOR");
    let again = restarted
        .send_decisions(std::slice::from_ref(&take_down))
        .await
        .expect("sent again");
    assert_eq!(
        again.first().map(|r| r.outcome),
        Some(DecisionOutcome::Duplicate),
        "{again:?}"
    );

    let moderator = net.login("MODERATOR").await;
    let events = net
        .events_of(&moderator, uri, &take_down.idempotency_key)
        .await;
    assert_eq!(events.len(), 1, "one event for the decision: {events:?}");
    assert_eq!(
        events[0]["event"]["$type"],
        "tools.ozone.moderation.defs#modEventTakedown"
    );
    let status = net.status(&moderator, uri).await;
    assert_eq!(status["takendown"], true);
    assert_eq!(status["reviewState"], CLOSED);
}

#[tokio::test]
async fn undo_reverses_a_take_down_and_says_what_ozone_cannot_undo() {
    let Some(net) = Net::find("platform_ozone") else {
        return;
    };
    let _turn = TURN.lock().await;
    let uris = net.reported_posts(3, "undo").await;
    let backend = net.backend("MODERATOR");
    backend.me().await.expect("me");
    let moderator = net.login("MODERATOR").await;
    let (down, kept, escalated) = (&uris[0], &uris[1], &uris[2]);

    let take_down = decision(down, DecisionAction::TakeDown);
    let keep = decision(kept, DecisionAction::Keep);
    let escalate = decision(escalated, DecisionAction::Escalate);
    let results = backend
        .send_decisions(&[take_down.clone(), keep.clone(), escalate.clone()])
        .await
        .expect("sent");
    assert!(
        results
            .iter()
            .all(|r| r.outcome == DecisionOutcome::Applied),
        "{results:?}"
    );
    net.wait_status(&moderator, escalated, "escalated", |s| {
        s["reviewState"] == ESCALATED
    })
    .await;

    let undo = |original: &Decision| Decision {
        reverses: Some(original.idempotency_key.clone()),
        ..decision(&original.item_id, DecisionAction::Reverse)
    };
    let undos = [undo(&take_down), undo(&keep), undo(&escalate)];
    let answers = backend.send_decisions(&undos).await.expect("undos sent");
    assert_eq!(answers[0].outcome, DecisionOutcome::Applied, "{answers:?}");
    assert_eq!(answers[1].outcome, DecisionOutcome::Invalid);
    assert!(
        answers[1]
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("cannot undo an acknowledge"),
        "{answers:?}"
    );
    assert_eq!(answers[2].outcome, DecisionOutcome::Invalid);
    assert!(
        answers[2]
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("cannot undo an escalation")
    );

    // Ozone: the post is up again (its review closed), the others as decided.
    let status = net
        .wait_status(&moderator, down, "up again", |s| s["takendown"] == false)
        .await;
    assert_eq!(status["reviewState"], CLOSED);
    assert_eq!(net.status(&moderator, kept).await["reviewState"], CLOSED);
    assert_eq!(
        net.status(&moderator, escalated).await["reviewState"],
        ESCALATED
    );
    let reversal = net
        .events_of(&moderator, down, &undos[0].idempotency_key)
        .await;
    assert_eq!(reversal.len(), 1, "{reversal:?}");
    assert_eq!(
        reversal[0]["event"]["$type"],
        "tools.ozone.moderation.defs#modEventReverseTakedown"
    );
    // The undos Ozone cannot carry out sent nothing.
    assert!(
        net.events_of(&moderator, kept, &undos[1].idempotency_key)
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_triage_member_sees_take_down_withheld_and_ozone_refuses_it() {
    let Some(net) = Net::find("platform_ozone") else {
        return;
    };
    let _turn = TURN.lock().await;
    let uris = net.reported_posts(2, "triage").await;
    let triage = net.backend("TRIAGE");
    let me = triage.me().await.expect("me");
    assert_eq!(me.name, net.var("OZONE_TRIAGE_HANDLE"));
    let caps = triage.capabilities();
    let why = caps.take_down.why_not().expect("take down withheld");
    assert!(why.contains("triage"), "{why}");
    assert!(!caps.undo.is_yes());
    assert!(caps.keep.is_yes() && caps.escalate.is_yes());
    let item = triage.item(&uris[0]).await.expect("item");
    assert_eq!(
        item.allowed_actions,
        Some(vec![DecisionAction::Keep, DecisionAction::Escalate])
    );

    // Ozone itself refuses the take down a triage member sends anyway; the acknowledge goes.
    let results = triage
        .send_decisions(&[
            decision(&uris[0], DecisionAction::TakeDown),
            decision(&uris[1], DecisionAction::Keep),
        ])
        .await
        .expect("sent");
    assert_eq!(results[0].outcome, DecisionOutcome::Invalid);
    assert!(
        results[0]
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("Must be a full moderator"),
        "{results:?}"
    );
    assert_eq!(results[1].outcome, DecisionOutcome::Applied);
    let moderator = net.login("MODERATOR").await;
    let status = net.status(&moderator, &uris[0]).await;
    assert_eq!(status["takendown"], false);
    assert_eq!(status["reviewState"], net::OPEN);
    assert_eq!(
        net.status(&moderator, &uris[1]).await["reviewState"],
        CLOSED
    );
}

#[tokio::test]
async fn a_claim_is_ozones_report_assignment_and_a_second_moderator_is_refused() {
    let Some(net) = Net::find("platform_ozone") else {
        return;
    };
    let _turn = TURN.lock().await;
    let uris = net.reported_posts(1, "claim").await;
    let uri = uris[0].clone();
    let moderator = net.backend("MODERATOR");
    moderator.me().await.expect("me");
    let triage = net.backend("TRIAGE");
    triage.me().await.expect("me");

    // Ozone's report queue takes the new report in the background: wait until it holds it
    // (until then a claim holds nothing on Ozone, and nobody is refused). Its router polls
    // once a minute.
    let watcher = net.login("MODERATOR").await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(180);
    loop {
        let reports = net
            .query(
                &watcher,
                "tools.ozone.report.queryReports",
                &[("status", "open"), ("subject", uri.as_str())],
            )
            .await;
        if reports["reports"].as_array().is_some_and(|r| !r.is_empty()) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Ozone's report queue never took the report"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    let grant = moderator
        .claim_items(std::slice::from_ref(&uri), None)
        .await
        .expect("claim");
    assert_eq!(grant.leased, vec![uri.clone()], "{grant:?}");
    let assigned = net
        .query(
            &watcher,
            "tools.ozone.report.getAssignments",
            &[("dids", watcher.did.as_str())],
        )
        .await;
    assert!(
        assigned["assignments"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "Ozone holds the moderator's assignment: {assigned}"
    );

    let refused = triage
        .claim_items(std::slice::from_ref(&uri), None)
        .await
        .expect("claim");
    assert!(refused.leased.is_empty());
    assert_eq!(
        refused.refused[0].reason,
        modq::model::RefusalReason::LeasedElsewhere
    );

    // Renewing keeps it; releasing lets the other moderator have it.
    let renewed = moderator
        .renew_leases(std::slice::from_ref(&uri), 300)
        .await
        .expect("renew");
    assert_eq!(renewed.renewed, vec![uri.clone()]);
    let released = moderator
        .release_leases(std::slice::from_ref(&uri))
        .await
        .expect("release");
    assert!(released.released >= 1);
    let now_theirs = triage
        .claim_items(std::slice::from_ref(&uri), None)
        .await
        .expect("claim");
    assert_eq!(now_theirs.leased, vec![uri.clone()]);
    triage
        .release_leases(std::slice::from_ref(&uri))
        .await
        .expect("release");
}

#[tokio::test]
async fn ozones_queue_split_deals_each_author_to_exactly_one_share() {
    let Some(net) = Net::find("platform_ozone") else {
        return;
    };
    let _turn = TURN.lock().await;
    net.reported_posts(4, "split").await;
    let whole = net.backend("MODERATOR");
    let all: std::collections::BTreeSet<String> = whole_queue(&whole, ReviewState::Open)
        .await
        .into_iter()
        .map(|i| i.id)
        .collect();
    let mut shares = Vec::new();
    for index in 0..2 {
        let mut config = net.config("MODERATOR");
        config.split = Some(modq::backend::ozone::QueueSplit {
            count: 2,
            index,
            seed: Some("modq-test".into()),
        });
        let share = modq::backend::ozone::OzoneBackend::new(config).expect("backend");
        let ids: std::collections::BTreeSet<String> = whole_queue(&share, ReviewState::Open)
            .await
            .into_iter()
            .map(|i| i.id)
            .collect();
        shares.push(ids);
    }
    assert!(shares[0].is_disjoint(&shares[1]), "{shares:?}");
    let union: std::collections::BTreeSet<String> = shares[0].union(&shares[1]).cloned().collect();
    assert_eq!(union, all);
    // Ozone deals by account: all of an author's subjects fall in one share.
    let author = |id: &String| {
        id.trim_start_matches("at://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let authors: Vec<std::collections::BTreeSet<String>> = shares
        .iter()
        .map(|share| share.iter().map(author).collect())
        .collect();
    assert!(authors[0].is_disjoint(&authors[1]), "{authors:?}");
}

// ---- The moderator's session on modq's own event loop, against the real Ozone -------------

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use modq::backend::{BackendKind, Limits};
use modq::session::Target;

/// A config profile for Ozone as a moderator writes it, for `who` (`MODERATOR`, `TRIAGE`).
fn profile(net: &Net, who: &str, name: &str) -> Target {
    let mut options = BTreeMap::new();
    options.insert("ozone_did".to_string(), net.var("OZONE_DID"));
    options.insert(
        "handle".to_string(),
        net.var(&format!("OZONE_{who}_HANDLE")),
    );
    Target {
        backend: BackendKind::Ozone,
        name: Some(name.to_string()),
        url: net.pds(),
        secret: net.var(&format!("OZONE_{who}_PASSWORD")),
        options,
        limits: Limits::default(),
    }
}

/// A session opened as `modq --profile NAME` opens one, on modq's own event loop.
async fn open_session(net: &Net, who: &str, data: &Path) -> common::Session {
    let dirs = modq::profile::Dirs::resolve(Some(data)).expect("dirs");
    let prepared = modq::session::prepare_target(
        &profile(net, who, "bsky"),
        &dirs,
        modq::config::Config::default(),
    )
    .await
    .expect("the Ozone session opens");
    common::Session::from_prepared(prepared, chrono::Utc::now())
}

/// Move the cursor to the item `id`, as a click on its row does.
fn select_item(s: &mut common::Session, id: &str) {
    let i = s
        .app
        .entries
        .iter()
        .position(|e| e.id == id)
        .unwrap_or_else(|| panic!("{id} is not in the list"));
    s.select(i);
    assert_eq!(s.selected_id(), id);
}

/// Events modq emitted on `subject` (its `modTool`), by type.
async fn modq_events(net: &Net, moderator: &net::Account, subject: &str) -> Vec<String> {
    let answer = net
        .query(
            moderator,
            "tools.ozone.moderation.queryEvents",
            &[("subject", subject), ("limit", "100")],
        )
        .await;
    answer["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["modTool"]["name"] == "modq")
        .map(|e| {
            e["event"]["$type"]
                .as_str()
                .unwrap_or_default()
                .rsplit('#')
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moderators_session_decides_undoes_and_bulk_takes_down_on_ozone() {
    let Some(net) = Net::find("platform_ozone") else {
        return;
    };
    let _turn = TURN.lock().await;
    let ours = net.reported_posts(6, "session").await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = open_session(&net, "MODERATOR", data.path()).await;
    assert!(
        s.app.profile.contains("bsky: moderator.test@"),
        "{}",
        s.app.profile
    );
    s.load_whole_queue().await;
    s.wait_until("every new post is in the list", |app| {
        ours.iter()
            .all(|id| app.entries.iter().any(|e| &e.id == id))
    })
    .await;

    // The hostile post as Ozone serves it reaches the screen only through the sanitizer.
    select_item(&mut s, &net.var("OZONE_HOSTILE_URI"));
    s.press("j");
    s.press("k");
    let frame = s.frame();
    assert!(frame.contains("⟪RLO⟫gnp.exe⟪PDF⟫"), "{frame}");
    assert!(
        !frame.contains(['\u{1b}', '\u{202e}', '\u{200b}', '\u{7f}']),
        "raw control or bidi characters on screen:\n{frame}"
    );

    // e, a, t on three posts, as a moderator would.
    let (escalated, kept, down) = (&ours[0], &ours[1], &ours[2]);
    select_item(&mut s, escalated);
    s.press("e");
    select_item(&mut s, kept);
    s.press("a");
    select_item(&mut s, down);
    s.press("t");
    s.wait_delivered().await;

    // u once the take down is on Ozone: it is reversed there.
    s.press("u");
    s.wait_delivered().await;
    // u again walks back to the acknowledge: Ozone cannot undo that, and modq says so.
    s.press("u");
    s.wait_until("modq says the acknowledge cannot be undone", |app| {
        app.flash
            .as_ref()
            .is_some_and(|f| f.text.contains("cannot undo an acknowledge"))
    })
    .await;

    // Bulk: the last three posts tagged with space, taken down with `;t`, confirmed.
    let bulk = &ours[3..];
    select_item(&mut s, &bulk[0]);
    let start = s.app.selected;
    let next: Vec<String> = s.first_ids(start + 3).split_off(start);
    assert_eq!(next, bulk, "the three posts are side by side in the list");
    s.press("<space><space><space>");
    s.press(";t");
    s.press("y");
    s.wait_delivered().await;
    s.quit().await;

    // Ozone's own state, read through its API.
    let moderator = net.login("MODERATOR").await;
    let status = net.status(&moderator, escalated).await;
    assert_eq!(status["reviewState"], ESCALATED);
    let status = net.status(&moderator, kept).await;
    assert_eq!(status["reviewState"], CLOSED);
    assert_eq!(status["takendown"], false);
    let status = net.status(&moderator, down).await;
    assert_eq!(status["takendown"], false, "reversed: {status}");
    assert_eq!(status["reviewState"], CLOSED);
    for id in bulk {
        let status = net.status(&moderator, id).await;
        assert_eq!(status["takendown"], true, "{id}: {status}");
        assert_eq!(status["reviewState"], CLOSED);
    }
    assert_eq!(
        modq_events(&net, &moderator, escalated).await,
        ["modEventEscalate"]
    );
    assert_eq!(
        modq_events(&net, &moderator, kept).await,
        ["modEventAcknowledge"]
    );
    assert_eq!(
        modq_events(&net, &moderator, down).await,
        ["modEventReverseTakedown", "modEventTakedown"]
    );
    for id in bulk {
        assert_eq!(
            modq_events(&net, &moderator, id).await,
            ["modEventTakedown"]
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_triage_members_session_offers_no_take_down() {
    let Some(net) = Net::find("platform_ozone") else {
        return;
    };
    let _turn = TURN.lock().await;
    let ours = net.reported_posts(1, "triage session").await;
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = open_session(&net, "TRIAGE", data.path()).await;
    s.load_whole_queue().await;
    s.wait_until("the new post is in the list", |app| {
        app.entries.iter().any(|e| e.id == ours[0])
    })
    .await;
    select_item(&mut s, &ours[0]);
    s.press("t");
    // The item says what a triage member may do (Ozone's rules, as the backend reads the
    // role): `t` is refused at once, with the reason, and nothing is sent.
    s.wait_within("modq says why", Duration::from_secs(30), |app| {
        app.flash
            .as_ref()
            .is_some_and(|f| f.text.contains("not take down"))
    })
    .await;
    assert_eq!(s.app.counts.unsent, 0);
    assert_eq!(s.selected_id(), ours[0], "nothing was decided");
    s.quit().await;
    let moderator = net.login("MODERATOR").await;
    let status = net.status(&moderator, &ours[0]).await;
    assert_eq!(status["takendown"], false);
    assert!(modq_events(&net, &moderator, &ours[0]).await.is_empty());
}

// ---- Crash and resume: the client killed with SIGKILL, restarted on the same profile -----

const CRASH_CHILD: &str = "MODQ_OZONE_CRASH_CHILD";

#[test]
fn a_client_killed_mid_session_resumes_and_ozone_holds_each_decision_once() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    if std::env::var_os(CRASH_CHILD).is_some() {
        return;
    }
    let Some(net) = Net::find("platform_ozone") else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let _turn = runtime.block_on(TURN.lock());
    let ours = runtime.block_on(net.reported_posts(30, "crash"));
    let data = tempfile::tempdir().expect("tempdir");
    let kills = 3;
    let mut accepted: Vec<String> = Vec::new();
    let mut cut_short = 0;
    let mut rng_state = 0x9e37_79b9_u64;
    for run in 0..=kills {
        let last = run == kills;
        let mut child = Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "ozone_crash_child",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CRASH_CHILD, "1")
            .env("MODQ_OZONE_CRASH_IDS", ours.join(","))
            .env("MODQ_OZONE_CRASH_DATA", data.path())
            .envs(net.env.iter())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the client");
        let stdout = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            let mut seen = Vec::new();
            let mut done = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some((_, id)) = line.split_once("ACCEPTED ") {
                    seen.push(id.trim().to_string());
                } else if line.contains("DONE") {
                    done = true;
                }
            }
            (seen, done)
        });
        if !last {
            // A cheap generator is enough to spread the kills over the session.
            rng_state = rng_state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let wait = 500 + (rng_state >> 33) % 2500;
            std::thread::sleep(Duration::from_millis(wait));
            // SIGKILL: no destructor, no flush, no goodbye.
            let _ = child.kill();
        }
        let status = child.wait().expect("client exit");
        let (seen, done) = reader.join().expect("reader");
        println!("run {run}: {} accepted, finished: {done}", seen.len());
        accepted.extend(seen);
        if last {
            assert!(status.success() && done, "the last run finishes the posts");
        } else if !done {
            cut_short += 1;
        }
    }
    assert!(
        cut_short > 0,
        "no kill landed while the moderator was deciding"
    );

    // Each post was seen accepted at most once, and Ozone holds exactly one modq decision
    // on every post: none lost, none doubled.
    let mut once = std::collections::HashSet::new();
    assert!(
        accepted.iter().all(|id| once.insert(id.clone())),
        "accepted twice: {accepted:?}"
    );
    runtime.block_on(async {
        let moderator = net.login("MODERATOR").await;
        for id in &ours {
            let events = modq_events(&net, &moderator, id).await;
            assert_eq!(events.len(), 1, "{id}: {events:?}");
        }
    });
}

/// The client side: a moderator's real session on Ozone, scripted; nothing unless started by
/// the test above.
#[test]
fn ozone_crash_child() {
    if std::env::var_os(CRASH_CHILD).is_none() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(crash_child_session());
}

async fn crash_child_session() {
    use std::io::Write;

    let net = Net::find("platform_ozone child").expect("the network");
    let ours: Vec<String> = std::env::var("MODQ_OZONE_CRASH_IDS")
        .expect("ids")
        .split(',')
        .map(str::to_string)
        .collect();
    let data = std::env::var("MODQ_OZONE_CRASH_DATA").expect("data");
    let mut s = open_session(&net, "MODERATOR", Path::new(&data)).await;
    s.load_whole_queue().await;
    let mut out = std::io::stdout();
    let mut turn = 0usize;
    loop {
        s.pump();
        let next = s
            .app
            .entries
            .iter()
            .position(|e| e.is_open() && ours.contains(&e.id));
        if let Some(i) = next {
            let id = s.app.entries[i].id.clone();
            s.select(i);
            let before = s.app.decided;
            s.press(["t", "a", "e"][turn % 3]);
            turn += 1;
            if s.app.decided == before + 1 {
                writeln!(out, "ACCEPTED {id}").expect("stdout");
                out.flush().expect("stdout");
            }
            // A fast moderator: a key every tenth of a second, so kills land between keys,
            // while decisions are on the wire and while the outbox waits.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        if s.app.counts.unsent == 0 {
            break;
        }
        s.advance(Duration::from_secs(31));
        s.pump_wait(Duration::from_millis(100)).await;
    }
    s.close(Duration::from_secs(10)).await;
    writeln!(out, "DONE").expect("stdout");
}

// ---- Judgement in context (issue 19): the thread, appeals and the account on Ozone ---------

/// Press `keys` on the item `id` of the escalated queue (where Ozone puts an appealed
/// subject), once its appeal has arrived.
async fn open_ozone_appeal(s: &mut common::Session, id: &str) {
    s.wait_until("the appeal arrives", |app| {
        app.entries
            .iter()
            .any(|e| e.id == id && e.shown.appeal.is_some())
    })
    .await;
    select_item(s, id);
    s.press("<esc>");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p_on_a_reported_reply_shows_its_parent_and_neighbours_from_the_appview() {
    let Some(net) = Net::find("platform_ozone") else {
        return;
    };
    let _turn = TURN.lock().await;
    let reply = net.var("OZONE_THREAD_REPLY_URI");
    let orphan = net.var("OZONE_ORPHAN_URI");
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = open_session(&net, "MODERATOR", data.path()).await;
    s.load_whole_queue().await;
    s.wait_until("the reported reply is in the list", |app| {
        app.entries.iter().any(|e| e.id == reply)
    })
    .await;

    // The thread came with the page: `p` draws it from memory.
    select_item(&mut s, &reply);
    s.press("p");
    let screen = s.screen(160, 60);
    assert!(screen.contains("thread around"), "{screen}");
    assert!(screen.contains("replies to"), "{screen}");
    assert!(
        screen.contains("Me! Bringing cake."),
        "the parent: {screen}"
    );
    assert!(screen.contains("bob.test"), "{screen}");
    assert!(
        screen.contains("Who is coming to the meetup on Saturday?"),
        "the post above the parent: {screen}"
    );
    assert!(
        screen.contains("nobody wants your cake"),
        "the item: {screen}"
    );
    // The whole overlay (it scrolls), as the App made it from the sanitized item.
    let item = &s
        .app
        .entries
        .iter()
        .find(|e| e.id == reply)
        .expect("entry")
        .shown;
    let text = modq::tui::thread::text(item).expect("the overlay's text");
    assert!(text.contains("That was uncalled for."), "a reply: {text}");
    // The hostile reply is there, inert.
    assert!(text.contains("⟪RLO⟫gnp.exe⟪PDF⟫"), "{text}");
    for shown in [&screen, &text] {
        assert!(
            !shown.contains(['\u{1b}', '\u{202e}', '\u{200b}', '\u{7f}']),
            "raw control or bidi characters on screen:\n{shown}"
        );
    }
    let thread = item.thread.as_ref().expect("a thread");
    assert_eq!(
        thread.parent.as_ref().map(|p| p.id.clone()),
        Some(net.var("OZONE_THREAD_PARENT_URI"))
    );
    assert_eq!(
        thread
            .before
            .iter()
            .map(|m| m.id.clone())
            .collect::<Vec<_>>(),
        [net.var("OZONE_THREAD_ROOT_URI")]
    );
    let after: Vec<String> = thread.after.iter().map(|m| m.id.clone()).collect();
    let expected: Vec<String> = net
        .var("OZONE_THREAD_AFTER_URIS")
        .split(',')
        .map(str::to_string)
        .collect();
    assert_eq!(after, expected, "the replies below, oldest first");
    s.press("<esc>");

    // A reply whose parent was deleted: the item shows, the parent only named, no error.
    s.wait_until("the orphaned reply is in the list", |app| {
        app.entries.iter().any(|e| e.id == orphan)
    })
    .await;
    select_item(&mut s, &orphan);
    s.press("p");
    let screen = s.screen(160, 60);
    assert!(screen.contains("orphaned insult"), "{screen}");
    assert!(screen.contains("not shown"), "{screen}");
    assert!(!screen.contains("this post will be deleted"), "{screen}");
    s.press("<esc>");

    // The author's account: its age from the AppView's profile, and Ozone's own counts
    // once its statistics (refreshed every 30 s or so) have taken the account in.
    let backend = net.backend("MODERATOR");
    backend.me().await.expect("me");
    let signed_up: chrono::DateTime<chrono::Utc> =
        net.var("OZONE_SIGNED_UP").parse().expect("a time");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    let item = loop {
        let item = backend.item(&reply).await.expect("the reply");
        if item
            .account
            .as_ref()
            .and_then(|a| a.counts.as_ref())
            .is_some_and(|c| c.reports.is_some())
        {
            break item;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Ozone never counted the account: {:?}",
            item.account
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    assert_eq!(
        item.author.as_ref().and_then(|a| a.created_at),
        Some(signed_up)
    );
    let account = item.account.expect("the account");
    assert_eq!(account.created_at, Some(signed_up));
    assert_eq!(account.window_days, 0, "Ozone keeps no strike window");
    let counts = account.counts.expect("counts");
    // Alice reported mallory's account once in the seed.
    assert_eq!(counts.reports, Some(1), "{counts:?}");
    s.quit().await;
    // The account line as the moderator reads it, in a fresh session (its page reads the
    // counts Ozone has now).
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = open_session(&net, "MODERATOR", data.path()).await;
    s.load_whole_queue().await;
    select_item(&mut s, &reply);
    let screen = s.screen(160, 60);
    let age = modq::tui::context::age((chrono::Utc::now() - signed_up).num_days());
    assert!(
        screen.contains(&format!("made {age} ago")),
        "the account's age: {screen}"
    );
    assert!(screen.contains("on the account: 1 report"), "{screen}");
    s.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_appeal_on_ozone_is_refused_to_its_taker_then_upheld_and_overturned_by_another() {
    let Some(net) = Net::find("platform_ozone") else {
        return;
    };
    let _turn = TURN.lock().await;
    let upheld = net.var("OZONE_APPEAL_UPHOLD_URI");
    let overturned = net.var("OZONE_APPEAL_OVERTURN_URI");
    let moderator = net.login("MODERATOR").await;
    for id in [&upheld, &overturned] {
        let status = net.status(&moderator, id).await;
        assert_eq!(status["appealed"], true, "seeded as appealed: {status}");
        assert_eq!(status["takendown"], true);
    }

    // Senior took both down: the appeal keys are withheld from them, with the reason, and
    // nothing is sent.
    let data = tempfile::tempdir().expect("tempdir");
    let mut senior = open_session(&net, "SENIOR", data.path()).await;
    senior.press(":queue escalated<enter>");
    open_ozone_appeal(&mut senior, &upheld).await;
    let screen = senior.screen(160, 60);
    assert!(
        screen.contains("keys withheld: you made the decision appealed"),
        "{screen}"
    );
    assert!(screen.contains("under EU DSA Article"), "{screen}");
    assert!(
        screen.contains("this was my honest opinion, please restore it"),
        "{screen}"
    );
    senior.press("c");
    let flash = senior.flash_text();
    assert!(flash.contains("Article 20"), "{flash}");
    assert_eq!(senior.app.counts.unsent, 0);
    senior.quit().await;
    // Sent anyway (an old client, a script): modq's backend refuses it before Ozone.
    let senior_backend = net.backend("SENIOR");
    senior_backend.me().await.expect("me");
    let refused = senior_backend
        .send_decisions(&[decision(&upheld, DecisionAction::Uphold)])
        .await
        .expect("answered");
    assert_eq!(refused[0].outcome, DecisionOutcome::Conflict, "{refused:?}");
    assert!(
        refused[0]
            .message
            .as_deref()
            .unwrap_or_default()
            .contains("Article 20")
    );
    assert_eq!(net.status(&moderator, &upheld).await["appealed"], true);

    // Another moderator upholds one (c) and overturns the other (r).
    let data = tempfile::tempdir().expect("tempdir");
    let mut s = open_session(&net, "MODERATOR", data.path()).await;
    s.press(":queue escalated<enter>");
    open_ozone_appeal(&mut s, &upheld).await;
    let screen = s.screen(160, 60);
    assert!(screen.contains("against take down"), "{screen}");
    let appeal = s
        .app
        .entries
        .iter()
        .find(|e| e.id == upheld)
        .and_then(|e| e.shown.appeal.clone())
        .expect("the appeal");
    assert_eq!(appeal.decision.decided_by, "senior.test");
    assert_eq!(appeal.lodged_by, "mallory.test");
    assert!(screen.contains("c uphold"), "{screen}");
    s.press("c");
    open_ozone_appeal(&mut s, &overturned).await;
    s.press("r");
    s.wait_delivered().await;
    s.quit().await;

    // Ozone: the take down stands on one, is reversed on the other; both appeals resolved
    // and their reviews closed.
    let status = net
        .wait_status(&moderator, &upheld, "the appeal resolved", |s| {
            s["appealed"] == false
        })
        .await;
    assert_eq!(status["takendown"], true, "{status}");
    assert_eq!(status["reviewState"], CLOSED, "{status}");
    let status = net
        .wait_status(&moderator, &overturned, "the appeal resolved", |s| {
            s["appealed"] == false
        })
        .await;
    assert_eq!(status["takendown"], false, "{status}");
    assert_eq!(status["reviewState"], CLOSED, "{status}");
    assert_eq!(
        modq_events(&net, &moderator, &upheld).await,
        ["modEventAcknowledge", "modEventResolveAppeal"]
    );
    assert_eq!(
        modq_events(&net, &moderator, &overturned).await,
        ["modEventResolveAppeal", "modEventReverseTakedown"]
    );
}

#[tokio::test]
async fn an_appeal_decision_sent_again_is_applied_once_by_its_external_id() {
    let Some(net) = Net::find("platform_ozone") else {
        return;
    };
    let _turn = TURN.lock().await;
    // A fresh appeal: the reporter's own post, taken down by senior, appealed by its author.
    let alice = net.login("REPORTER").await;
    let senior = net.login("SENIOR").await;
    let moderator = net.login("MODERATOR").await;
    let mut appeals = Vec::new();
    for text in ["appeal once a", "appeal once b"] {
        let (uri, cid) = net.post(&alice, text).await;
        net.take_down(&senior, &uri, &cid).await;
        net.appeal(&alice, &uri, &cid, "please look again").await;
        appeals.push(uri);
    }
    let backend = net.backend("MODERATOR");
    backend.me().await.expect("me");
    let uphold = decision(&appeals[0], DecisionAction::Uphold);
    let overturn = decision(&appeals[1], DecisionAction::Overturn);
    let first = backend
        .send_decisions(&[uphold.clone(), overturn.clone()])
        .await
        .expect("sent");
    assert!(
        first.iter().all(|r| r.outcome == DecisionOutcome::Applied),
        "{first:?}"
    );
    let again = net
        .backend("MODERATOR")
        .send_decisions(&[uphold.clone(), overturn.clone()])
        .await
        .expect("sent again");
    assert!(
        again
            .iter()
            .all(|r| r.outcome == DecisionOutcome::Duplicate),
        "{again:?}"
    );
    for (d, events) in [(&uphold, 2), (&overturn, 2)] {
        let held = net
            .events_of(&moderator, &d.item_id, &d.idempotency_key)
            .await;
        assert_eq!(held.len(), events, "{held:?}");
    }
    let status = net.status(&moderator, &appeals[1]).await;
    assert_eq!(status["takendown"], false);
    assert_eq!(status["appealed"], false);

    // An appeal's outcome is final: an undo of either says so and sends nothing.
    let undos: Vec<Decision> = [&uphold, &overturn]
        .into_iter()
        .map(|d| Decision {
            reverses: Some(d.idempotency_key.clone()),
            ..decision(&d.item_id, DecisionAction::Reverse)
        })
        .collect();
    let answers = backend.send_decisions(&undos).await.expect("undos");
    for a in &answers {
        assert_eq!(a.outcome, DecisionOutcome::Invalid, "{answers:?}");
        assert!(
            a.message.as_deref().unwrap_or_default().contains("final"),
            "{answers:?}"
        );
    }
    for (d, undo) in [&uphold, &overturn].into_iter().zip(&undos) {
        assert!(
            net.events_of(&moderator, &d.item_id, &undo.idempotency_key)
                .await
                .is_empty()
        );
    }
    assert_eq!(net.status(&moderator, &appeals[0]).await["takendown"], true);
}
