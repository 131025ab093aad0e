//! modq on a real Synapse (issue 17, Matrix): key to next item drawn through modq's event
//! loop against the homeserver, and a bulk take down of ~1,000 reports by modq's Synapse
//! backend (the calls its outbox flusher makes) beside the same calls made one after another
//! by a plain script, in the same run.
//!
//! Needs a Synapse from `scripts/platforms/synapse.sh up DIR`:
//! `SYNAPSE_ENV_FILE=DIR/synapse.env cargo bench --bench synapse`. Without one it says so.
//! It makes rooms, users and reports of its own; the keys it presses escalate (into a
//! management room of its own), so reports other tests rely on stay open.

#[path = "../tests/platform/matrix.rs"]
mod matrix;
mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::runtime::Runtime;

use modq::backend::{Backend, BackendKind, BackendOptions};
use modq::model::{Decision, DecisionAction, DecisionMethod};
use support::key_time::{KeyTimes, time_key};
use support::session::{Session, open_items};

fn take_down(item: String) -> Decision {
    Decision {
        idempotency_key: modq::store::new_key(),
        item_id: item,
        action: DecisionAction::TakeDown,
        reason_code: None,
        note: None,
        scope: None,
        escalation_target: None,
        reverses: None,
        decided_at: chrono::Utc::now(),
        method: DecisionMethod::Tagged,
        account: None,
    }
}

/// What a plain script does for the same take down: page through the room's reports, then
/// for each, redact the message and close the report, one call after another.
async fn plain_script(hs: &matrix::Homeserver, room: &str) -> usize {
    let mut reports = Vec::new();
    let mut from = 0;
    loop {
        let page = hs
            .admin(
                reqwest::Method::GET,
                &format!(
                    "/_synapse/admin/v1/event_reports?dir=f&limit=100&from={from}&room_id={}",
                    matrix::enc(room)
                ),
                None,
            )
            .await;
        let rows = page["event_reports"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        from += rows.len();
        reports.extend(rows);
        if page.get("next_token").is_none() {
            break;
        }
    }
    let body = json!({"user_id": hs.admin});
    hs.admin(
        reqwest::Method::POST,
        &format!("/_synapse/admin/v1/join/{}", matrix::enc(room)),
        Some(body.clone()),
    )
    .await;
    hs.admin(
        reqwest::Method::POST,
        &format!(
            "/_synapse/admin/v1/rooms/{}/make_room_admin",
            matrix::enc(room)
        ),
        Some(body),
    )
    .await;
    for r in &reports {
        let event = r["event_id"].as_str().unwrap_or_default();
        hs.admin(
            reqwest::Method::PUT,
            &format!(
                "/_matrix/client/v3/rooms/{}/redact/{}/{}",
                matrix::enc(room),
                matrix::enc(event),
                modq::store::new_key()
            ),
            Some(json!({"reason": "spam"})),
        )
        .await;
        hs.admin(
            reqwest::Method::DELETE,
            &format!("/_synapse/admin/v1/event_reports/{}", r["id"]),
            None,
        )
        .await;
    }
    reports.len()
}

fn main() {
    let Some(hs) = matrix::homeserver("--bench synapse") else {
        println!("modq Synapse benchmark: not run (no Synapse named in the environment)");
        return;
    };
    let rt = Runtime::new().expect("runtime");
    let keys = support::size(200, 10);
    let bulk = support::size(1_000, 20);

    // Key to next item, through the loop, on a Matrix profile with a management room.
    let w = rt.block_on(hs.world("bench-keys", 3 * keys + 10));
    drop(w);
    let room = rt.block_on(hs.management_room(&[]));
    let mut options = BackendOptions::new();
    options.insert("management_room".into(), room);
    let target = modq::session::Target {
        backend: BackendKind::Synapse,
        name: Some("bench".into()),
        url: hs.url.clone(),
        secret: hs.admin_token.clone(),
        options,
        limits: modq::backend::Limits::default(),
    };
    let mut session = Session::open_target(&rt, &target, 120, 40);
    // Back to back: each key as soon as the next item is there, while Synapse (on the same
    // two cores) is still writing the previous escalation into the management room.
    let mut back_to_back = KeyTimes::default();
    let mut moves_back_to_back = KeyTimes::default();
    let mut moves_paced = KeyTimes::default();
    for _ in 0..keys {
        session.pump_until(&rt, |app| open_items(app) >= 2);
        back_to_back.push(time_key(|| session.key(&rt, 'e')));
        // A key that journals and sends nothing, as a control: what a key costs here when
        // modq's own work is the same in both runs.
        session.pump(&rt);
        moves_back_to_back.push(time_key(|| session.key(&rt, 'j')));
        moves_back_to_back.push(time_key(|| session.key(&rt, 'k')));
    }
    // Paced as a moderator reads: each key once the previous decision is delivered and the
    // homeserver has had a moment, as when it runs on its own machine.
    let mut paced = KeyTimes::default();
    for round in 0..2 * keys {
        session.pump_until(&rt, |app| open_items(app) >= 2 && app.counts.unsent == 0);
        std::thread::sleep(Duration::from_millis(30));
        session.pump(&rt);
        if round % 2 == 0 {
            paced.push(time_key(|| session.key(&rt, 'e')));
        } else {
            moves_paced.push(time_key(|| session.key(&rt, 'j')));
            moves_paced.push(time_key(|| session.key(&rt, 'k')));
            session.key(&rt, 'e');
        }
    }
    session.close(&rt);
    println!(
        "modq Synapse benchmark: key (e) to next item drawn, {keys} keys each, 120x40, live \
         Synapse on 127.0.0.1 with a management room"
    );
    println!("  back to back: {}", back_to_back.summary());
    println!(
        "  paced (previous decision delivered, 30 ms pause): {}",
        paced.summary()
    );
    println!(
        "  control, j/k right after a decision's key: {}",
        moves_back_to_back.summary()
    );
    println!(
        "  control, j/k after the pause (every other paced key): {}",
        moves_paced.summary()
    );

    // Bulk take down: modq's backend against a plain script, each on a room of its own.
    let ours = rt.block_on(hs.world("bench-bulk-modq", bulk));
    let theirs = rt.block_on(hs.world("bench-bulk-plain", bulk));
    let backend = hs.backend(&hs.admin_token, None);
    rt.block_on(backend.me()).expect("admin");
    let decisions: Vec<Decision> = ours
        .events
        .iter()
        .map(|e| take_down(format!("{}/{e}", ours.room)))
        .collect();
    let started = Instant::now();
    let mut answered = 0;
    for chunk in decisions.chunks(backend.capabilities().max_batch) {
        answered += rt
            .block_on(backend.send_decisions(chunk))
            .expect("a batch")
            .iter()
            .filter(|r| r.outcome.is_settled_ok())
            .count();
    }
    let modq_time = started.elapsed();
    assert_eq!(answered, decisions.len(), "every take down applied");
    assert!(
        rt.block_on(hs.reports_in(&ours.room)).is_empty(),
        "every report closed"
    );
    let started = Instant::now();
    let closed = rt.block_on(plain_script(&hs, &theirs.room));
    let plain_time = started.elapsed();
    assert!(rt.block_on(hs.reports_in(&theirs.room)).is_empty());
    let per = |d: Duration, n: usize| d.as_secs_f64() * 1e3 / n.max(1) as f64;
    println!(
        "bulk take down of {} reports on {} messages: modq {:.1} s ({:.1} ms a message), \
         plain script {:.1} s ({:.1} ms a report); modq / script {:.2}",
        bulk + 1,
        bulk,
        modq_time.as_secs_f64(),
        per(modq_time, bulk),
        plain_time.as_secs_f64(),
        per(plain_time, closed),
        modq_time.as_secs_f64() / plain_time.as_secs_f64()
    );
}
