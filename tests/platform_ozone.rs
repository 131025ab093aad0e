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
use modq::model::{
    Decision, DecisionAction, DecisionMethod, DecisionOutcome, ItemKind, ReviewState, Role,
};
use net::{CLOSED, ESCALATED, Net, TURN};

fn decision(item_id: &str, action: DecisionAction) -> Decision {
    Decision {
        idempotency_key: modq::store::new_key(),
        item_id: item_id.to_string(),
        action,
        reason_code: None,
        note: None,
        scope: None,
        escalation_target: None,
        reverses: None,
        decided_at: chrono::Utc::now(),
        method: DecisionMethod::Single,
    }
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

    // Ozone's report queue takes the new report in the background.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let grant = loop {
        let grant = moderator
            .claim_items(std::slice::from_ref(&uri), None)
            .await
            .expect("claim");
        if !grant.leased.is_empty() || tokio::time::Instant::now() > deadline {
            break grant;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    };
    assert_eq!(grant.leased, vec![uri.clone()], "{grant:?}");

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
