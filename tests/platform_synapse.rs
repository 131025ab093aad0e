//! modq against a real Synapse (issue 17, Matrix): the queue read from its admin API, take
//! downs, keeps, account and room actions and their undo, claims and escalations kept in a
//! management room, exactly once across a crash, and paging that skips no report while
//! others close reports. Every check reads Synapse's own state through its API.
//!
//! Runs when `scripts/platforms/synapse.sh up DIR` has stood a homeserver up and its
//! variables are in the environment (`.ci/run` does both); otherwise each test says so and
//! passes.

#[path = "platform/matrix.rs"]
mod matrix;

use std::collections::HashSet;

use modq::backend::{Backend, QueueQuery};
use modq::model::{
    Decision, DecisionAction, DecisionMethod, DecisionOutcome, EscalationTier, ReviewState,
};

const SUITE: &str = "--test platform_synapse";

fn decision(item: &str, action: DecisionAction, reason: Option<&str>) -> Decision {
    Decision {
        idempotency_key: modq::store::new_key(),
        item_id: item.to_string(),
        action,
        reason_code: reason.map(str::to_string),
        note: None,
        scope: None,
        escalation_target: None,
        reverses: None,
        decided_at: chrono::Utc::now(),
        method: DecisionMethod::Single,
        account: None,
    }
}

fn undo(original: &Decision) -> Decision {
    Decision {
        action: DecisionAction::Reverse,
        reverses: Some(original.idempotency_key.clone()),
        reason_code: None,
        ..decision(&original.item_id, DecisionAction::Reverse, None)
    }
}

fn item_id(room: &str, event: &str) -> String {
    format!("{room}/{event}")
}

/// Every open item, read page by page as modq's prefetcher reads them.
async fn whole_queue(b: &dyn Backend, state: ReviewState) -> Vec<modq::model::Item> {
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let page = b
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
            Some(c) => cursor = Some(c),
            None => return items,
        }
    }
}

#[tokio::test]
async fn the_seeded_queue_shows_each_message_its_reports_and_its_sender() {
    let Some(hs) = matrix::homeserver(SUITE) else {
        return;
    };
    let b = hs.backend(&hs.admin_token, None);
    let me = b.me().await.expect("the admin token works");
    assert_eq!(me.name, hs.admin);
    let room = &hs.vars["SYNAPSE_ROOM_ID"];
    let spam = &hs.vars["SYNAPSE_SPAM_EVENT_ID"];
    let hostile = &hs.vars["SYNAPSE_HOSTILE_EVENT_ID"];
    let offender = &hs.vars["SYNAPSE_OFFENDER_USER"];
    let items = whole_queue(&b, ReviewState::Open).await;
    let spam_item = items
        .iter()
        .find(|i| i.id == item_id(room, spam))
        .expect("the spam is in the queue");
    assert_eq!(spam_item.reports.len(), 2, "both reports on one item");
    let text = spam_item.text.as_deref().unwrap();
    assert!(text.contains("CHEAP FOLLOWERS"), "{text}");
    assert!(text.contains("Town square"), "the room is named: {text}");
    let author = spam_item.author.as_ref().unwrap();
    assert_eq!(&author.id, offender);
    assert!(
        author.handle.as_deref().unwrap().contains("active"),
        "{author:?}"
    );
    let first = &spam_item.reports[0];
    assert_eq!(first.category, "score -100");
    assert!(
        first
            .comment
            .as_deref()
            .unwrap()
            .contains("selling followers")
    );
    // The account reported by a user report is an item of its own.
    assert!(
        items
            .iter()
            .any(|i| &i.id == offender && i.kind == modq::model::ItemKind::Account)
    );
    // Hostile text arrives as Synapse stored it; the App's sanitizer is what makes it inert,
    // proved on screen by the session test.
    let hostile_item = items
        .iter()
        .find(|i| i.id == item_id(room, hostile))
        .unwrap();
    assert!(hostile_item.text.as_deref().unwrap().contains('\u{1b}'));
    // A plain account is told plainly that modq needs a server admin.
    let plain = hs.backend(&hs.vars["SYNAPSE_REPORTER_TOKEN"], None);
    let refused = plain.me().await.unwrap_err();
    assert!(
        refused.to_string().contains("not a server admin"),
        "{refused}"
    );
}

#[tokio::test]
async fn closing_reports_while_paging_skips_none() {
    let Some(hs) = matrix::homeserver(SUITE) else {
        return;
    };
    let (w, b) = hs.admin_world("paging", 130).await;
    let mine: HashSet<String> = w.events.iter().map(|e| item_id(&w.room, e)).collect();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = b
            .queue_page(&QueueQuery {
                cursor: cursor.clone(),
                limit: Some(25),
                ..QueueQuery::default()
            })
            .await
            .unwrap();
        let ours: Vec<String> = page
            .items
            .iter()
            .map(|i| i.id.clone())
            .filter(|i| mine.contains(i))
            .collect();
        // Another moderator closes every report read so far, straight through the admin API:
        // Synapse's offsets shift under the next read by as many.
        for item in &page.items {
            if mine.contains(&item.id) {
                for r in &item.reports {
                    hs.admin(
                        reqwest::Method::DELETE,
                        &format!("/_synapse/admin/v1/event_reports/{}", r.id),
                        None,
                    )
                    .await;
                }
            }
        }
        seen.extend(ours);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no item twice");
    assert_eq!(
        unique.len(),
        mine.len(),
        "every reported message read once, none skipped"
    );
}

#[tokio::test]
async fn a_take_down_redacts_once_and_closes_every_report_even_sent_again_after_a_crash() {
    let Some(hs) = matrix::homeserver(SUITE) else {
        return;
    };
    let (w, b) = hs.admin_world("takedown", 2).await;
    let item = item_id(&w.room, &w.events[0]);
    let d = decision(&item, DecisionAction::TakeDown, None);
    let first = b.send_decisions(std::slice::from_ref(&d)).await.unwrap();
    assert_eq!(first[0].outcome, DecisionOutcome::Applied, "{first:?}");
    let redaction = hs
        .redacted_by(&w.room, &w.events[0])
        .await
        .expect("redacted");
    assert!(
        hs.reports_in(&w.room)
            .await
            .iter()
            .all(|r| r["event_id"] != w.events[0].as_str()),
        "both reports on it are closed"
    );
    // The process died before the outbox heard the answer: a new process sends it again.
    let after_crash = hs.backend(&hs.admin_token, None);
    let again = after_crash
        .send_decisions(std::slice::from_ref(&d))
        .await
        .unwrap();
    assert!(again[0].outcome.is_settled_ok(), "{again:?}");
    assert_eq!(
        hs.redacted_by(&w.room, &w.events[0]).await.as_deref(),
        Some(redaction.as_str()),
        "the same redaction: the transaction id made the retry a no-op"
    );
    // The other message and its report are untouched.
    assert!(hs.redacted_by(&w.room, &w.events[1]).await.is_none());
    assert_eq!(hs.reports_in(&w.room).await.len(), 1);
    // Undo says what Matrix cannot undo.
    let u = b.send_decisions(&[undo(&d)]).await.unwrap();
    assert_eq!(u[0].outcome, DecisionOutcome::Conflict);
    let said = u[0].message.as_deref().unwrap();
    assert!(
        said.contains("cannot undo a redaction") && said.contains("cannot reopen"),
        "{said}"
    );
}

#[tokio::test]
async fn account_and_room_actions_from_the_catalog_and_what_undo_lifts() {
    let Some(hs) = matrix::homeserver(SUITE) else {
        return;
    };
    let (w, b) = hs.admin_world("accounts", 4).await;
    let codes: Vec<String> = b
        .policies()
        .await
        .unwrap()
        .policies
        .into_iter()
        .map(|p| p.code)
        .collect();
    for code in [
        "redact",
        "suspend",
        "shadow_ban",
        "deactivate",
        "block_room",
        "delete_room",
    ] {
        assert!(codes.iter().any(|c| c == code), "{code} offered by T");
    }
    let suspend = decision(
        &item_id(&w.room, &w.events[0]),
        DecisionAction::TakeDown,
        Some("suspend"),
    );
    let r = b
        .send_decisions(std::slice::from_ref(&suspend))
        .await
        .unwrap();
    assert_eq!(r[0].outcome, DecisionOutcome::Applied, "{r:?}");
    assert_eq!(hs.account(&w.offender).await["suspended"], true);
    let lifted = b.send_decisions(&[undo(&suspend)]).await.unwrap();
    assert_eq!(
        hs.account(&w.offender).await["suspended"],
        false,
        "undo lifts the suspension"
    );
    assert!(
        lifted[0]
            .message
            .as_deref()
            .unwrap()
            .contains("lifted the suspension"),
        "{lifted:?}"
    );

    let ban = decision(
        &item_id(&w.room, &w.events[1]),
        DecisionAction::TakeDown,
        Some("shadow_ban"),
    );
    b.send_decisions(std::slice::from_ref(&ban)).await.unwrap();
    assert_eq!(hs.account(&w.offender).await["shadow_banned"], true);
    b.send_decisions(&[undo(&ban)]).await.unwrap();
    assert_eq!(hs.account(&w.offender).await["shadow_banned"], false);

    let block = decision(
        &item_id(&w.room, &w.events[2]),
        DecisionAction::TakeDown,
        Some("block_room"),
    );
    b.send_decisions(std::slice::from_ref(&block))
        .await
        .unwrap();
    let blocked = hs
        .admin(
            reqwest::Method::GET,
            &format!("/_synapse/admin/v1/rooms/{}/block", matrix::enc(&w.room)),
            None,
        )
        .await;
    assert_eq!(blocked["block"], true);
    b.send_decisions(&[undo(&block)]).await.unwrap();
    let blocked = hs
        .admin(
            reqwest::Method::GET,
            &format!("/_synapse/admin/v1/rooms/{}/block", matrix::enc(&w.room)),
            None,
        )
        .await;
    assert_eq!(blocked["block"], false);

    let gone = decision(
        &item_id(&w.room, &w.events[3]),
        DecisionAction::TakeDown,
        Some("deactivate"),
    );
    b.send_decisions(std::slice::from_ref(&gone)).await.unwrap();
    assert_eq!(hs.account(&w.offender).await["deactivated"], true);
    let stands = b.send_decisions(&[undo(&gone)]).await.unwrap();
    assert_eq!(stands[0].outcome, DecisionOutcome::Conflict);
    assert!(
        stands[0]
            .message
            .as_deref()
            .unwrap()
            .contains("cannot undo a deactivation")
    );
    assert_eq!(hs.account(&w.offender).await["deactivated"], true);
    // A take down limited to countries is refused in words, not half applied.
    let mut scoped = decision(
        &item_id(&w.room, &w.events[0]),
        DecisionAction::TakeDown,
        None,
    );
    scoped.scope = Some(modq::model::Scope::Countries(vec!["DE".into()]));
    let r = b.send_decisions(&[scoped]).await.unwrap();
    assert_eq!(r[0].outcome, DecisionOutcome::Invalid);
}

#[tokio::test]
async fn two_moderators_never_hold_the_same_report_and_a_senior_sees_the_escalation() {
    let Some(hs) = matrix::homeserver(SUITE) else {
        return;
    };
    let w = hs.world("team", 6).await;
    let tag = &modq::store::new_key()[..8].to_lowercase();
    let (second, second_token) = hs.user(&format!("mod2-{tag}"), true).await;
    let room = hs.management_room(&[&second]).await;
    let alice = hs.backend(&hs.admin_token, Some(&room));
    let bob = hs.backend(&second_token, Some(&room));
    alice.me().await.unwrap();
    bob.me()
        .await
        .expect("the invited moderator joins the management room");
    assert!(alice.capabilities().claims.is_yes() && alice.capabilities().escalate.is_yes());
    assert!(
        !hs.backend(&hs.admin_token, None)
            .capabilities()
            .claims
            .is_yes()
    );
    let ids: Vec<String> = w.events.iter().map(|e| item_id(&w.room, e)).collect();
    // Both ask for every item at once, many times over.
    for _ in 0..3 {
        let (a, b) = tokio::join!(
            alice.claim_items(&ids, Some(60)),
            bob.claim_items(&ids, Some(60))
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        let a: HashSet<_> = a.leased.into_iter().collect();
        let b: HashSet<_> = b.leased.into_iter().collect();
        assert!(
            a.is_disjoint(&b),
            "one report held by both: {:?}",
            a.intersection(&b).collect::<Vec<_>>()
        );
    }
    // Whoever holds the first item, the other cannot decide it.
    let held_by_alice = alice
        .claim_items(&ids[..1], Some(60))
        .await
        .unwrap()
        .leased
        .len()
        == 1;
    let (holder, other) = if held_by_alice {
        (&alice, &bob)
    } else {
        (&bob, &alice)
    };
    let refused = other
        .send_decisions(&[decision(&ids[0], DecisionAction::Keep, None)])
        .await
        .unwrap();
    assert_eq!(refused[0].outcome, DecisionOutcome::Conflict, "{refused:?}");
    assert_eq!(hs.reports_in(&w.room).await.len(), 7, "nothing closed");
    // The holder escalates it with a note; a senior reading the escalated queue finds it.
    let mut up = decision(&ids[0], DecisionAction::Escalate, None);
    up.escalation_target = Some(EscalationTier::Senior);
    up.note = Some("looks like a coordinated spam wave".into());
    let r = holder
        .send_decisions(std::slice::from_ref(&up))
        .await
        .unwrap();
    assert_eq!(r[0].outcome, DecisionOutcome::Applied, "{r:?}");
    let escalated = whole_queue(other, ReviewState::Escalated).await;
    let found = escalated
        .iter()
        .find(|i| i.id == ids[0])
        .expect("the senior sees it");
    assert_eq!(found.escalation_target, Some(EscalationTier::Senior));
    assert!(
        found
            .history
            .iter()
            .any(|h| h.note.as_deref() == Some("looks like a coordinated spam wave"))
    );
    assert!(
        !whole_queue(other, ReviewState::Open)
            .await
            .iter()
            .any(|i| i.id == ids[0]),
        "no longer in the open queue"
    );
    let notices = hs.notices(&room, &hs.admin_token).await;
    assert!(
        notices
            .iter()
            .any(|n| n.contains("escalated") && n.contains("coordinated spam wave")),
        "{notices:?}"
    );
    // A note is kept in the room too.
    other
        .add_note(&ids[1], "same sender as the escalated one")
        .await
        .unwrap();
    let item = holder.item(&ids[1]).await.unwrap();
    assert!(
        item.history
            .iter()
            .any(|h| h.note.as_deref() == Some("same sender as the escalated one"))
    );
    // Undo of the escalation takes it back out of the escalated queue.
    holder.send_decisions(&[undo(&up)]).await.unwrap();
    assert!(
        !whole_queue(other, ReviewState::Escalated)
            .await
            .iter()
            .any(|i| i.id == ids[0])
    );
    // A decision sent again after a crash is answered from the room's record.
    let keep = decision(&ids[2], DecisionAction::Keep, None);
    let who = if held_by_alice {
        &hs.admin_token
    } else {
        &second_token
    };
    let _ = who;
    alice.release_leases(&ids).await.unwrap();
    bob.release_leases(&ids).await.unwrap();
    assert_eq!(
        alice
            .send_decisions(std::slice::from_ref(&keep))
            .await
            .unwrap()[0]
            .outcome,
        DecisionOutcome::Applied
    );
    let restarted = hs.backend(&hs.admin_token, Some(&room));
    restarted.me().await.unwrap();
    assert_eq!(
        restarted
            .send_decisions(std::slice::from_ref(&keep))
            .await
            .unwrap()[0]
            .outcome,
        DecisionOutcome::Duplicate
    );
}

#[tokio::test]
async fn deleting_a_room_from_the_catalog_purges_it_and_its_reports_and_undo_says_it_is_final() {
    let Some(hs) = matrix::homeserver(SUITE) else {
        return;
    };
    let (w, b) = hs.admin_world("delete", 2).await;
    let d = decision(
        &item_id(&w.room, &w.events[0]),
        DecisionAction::TakeDown,
        Some("delete_room"),
    );
    let r = b.send_decisions(std::slice::from_ref(&d)).await.unwrap();
    assert_eq!(r[0].outcome, DecisionOutcome::Applied, "{r:?}");
    let (status, _) = hs
        .call(
            reqwest::Method::GET,
            &format!("/_synapse/admin/v1/rooms/{}", matrix::enc(&w.room)),
            None,
            &hs.admin_token,
        )
        .await;
    assert_eq!(status, 404, "the room is gone");
    let blocked = hs
        .admin(
            reqwest::Method::GET,
            &format!("/_synapse/admin/v1/rooms/{}/block", matrix::enc(&w.room)),
            None,
        )
        .await;
    assert_eq!(blocked["block"], true, "and blocked");
    assert!(hs.reports_in(&w.room).await.is_empty());
    let u = b.send_decisions(&[undo(&d)]).await.unwrap();
    assert_eq!(u[0].outcome, DecisionOutcome::Conflict);
    assert!(
        u[0].message
            .as_deref()
            .unwrap()
            .contains("cannot undo a deleted"),
        "{u:?}"
    );
}

#[tokio::test]
async fn a_reported_account_is_an_item_whose_take_down_suspends_it() {
    let Some(hs) = matrix::homeserver(SUITE) else {
        return;
    };
    let w = hs.world("userreport", 1).await;
    let (s, v) = hs
        .call(
            reqwest::Method::POST,
            &format!(
                "/_matrix/client/v3/users/{}/report",
                matrix::enc(&w.offender)
            ),
            Some(serde_json::json!({"reason": "spams every room"})),
            &w.reporter_token,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let b = hs.backend(&hs.admin_token, None);
    b.me().await.unwrap();
    let item = b.item(&w.offender).await.expect("the account is an item");
    assert_eq!(item.kind, modq::model::ItemKind::Account);
    assert!(
        item.reports[0]
            .comment
            .as_deref()
            .unwrap()
            .contains("spams every room")
    );
    // A room action on an account is refused in words.
    let r = b
        .send_decisions(&[decision(
            &w.offender,
            DecisionAction::TakeDown,
            Some("block_room"),
        )])
        .await
        .unwrap();
    assert_eq!(r[0].outcome, DecisionOutcome::Invalid);
    let r = b
        .send_decisions(&[decision(&w.offender, DecisionAction::TakeDown, None)])
        .await
        .unwrap();
    assert_eq!(r[0].outcome, DecisionOutcome::Applied, "{r:?}");
    assert_eq!(hs.account(&w.offender).await["suspended"], true);
    assert!(b.item(&w.offender).await.is_err(), "its reports are closed");
}

/// A reported reply carries its thread, read from Synapse's event context: the message it
/// replies to, the messages before it (oldest first) and after it.
#[tokio::test]
async fn a_reported_reply_carries_its_thread_from_synapses_event_context() {
    let Some(hs) = matrix::homeserver(SUITE) else {
        return;
    };
    let w = hs.world("thread", 0).await;
    let question = hs
        .send(&w.reporter_token, &w.room, "who is coming on Friday?")
        .await;
    let between = hs.send(&w.second_reporter_token, &w.room, "me!").await;
    let (status, sent) = hs
        .call(
            reqwest::Method::PUT,
            &format!(
                "/_matrix/client/v3/rooms/{}/send/m.room.message/{}",
                matrix::enc(&w.room),
                modq::store::new_key()
            ),
            Some(serde_json::json!({
                "msgtype": "m.text",
                "body": "nobody wants you there",
                "m.relates_to": {"m.in_reply_to": {"event_id": question}}
            })),
            &w.offender_token,
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let reply = sent["event_id"].as_str().expect("event id").to_string();
    let after = hs
        .send(&w.second_reporter_token, &w.room, "that was uncalled for")
        .await;
    hs.report(&w.reporter_token, &w.room, &reply, "harassment", Some(-80))
        .await;

    let b = hs.backend(&hs.admin_token, None);
    let item = b
        .item(&item_id(&w.room, &reply))
        .await
        .expect("the reply is an item");
    let thread = item.thread.expect("its thread");
    let parent = thread.parent.expect("what it replies to");
    assert_eq!(parent.id, question);
    assert_eq!(parent.text.as_deref(), Some("who is coming on Friday?"));
    assert_eq!(
        parent.author.map(|a| a.id).as_deref(),
        Some(w.reporter.as_str())
    );
    let before: Vec<&str> = thread.before.iter().map(|m| m.id.as_str()).collect();
    assert!(
        before.ends_with(&[question.as_str(), between.as_str()]),
        "oldest first, nearest last: {before:?}"
    );
    assert!(before.len() <= 5);
    assert_eq!(
        thread.after.first().map(|m| m.id.as_str()),
        Some(after.as_str())
    );
    // The queue's page carries the same thread.
    let items = whole_queue(&b, ReviewState::Open).await;
    let listed = items
        .iter()
        .find(|i| i.id == item_id(&w.room, &reply))
        .expect("listed");
    assert_eq!(
        listed
            .thread
            .as_ref()
            .and_then(|t| t.parent.as_ref())
            .map(|p| p.id.as_str()),
        Some(question.as_str())
    );
}
