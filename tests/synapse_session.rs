//! A moderator's session on a real Synapse through modq's own event loop (issue 17, Matrix):
//! a Matrix profile opened as `modq --profile` opens it, keys pressed as a moderator presses
//! them (t, a, a take down with an account action from the command line, u, e, a bulk take
//! down of tagged items), a crash between a key and its delivery and the session opened
//! again, and at the end Synapse's own state read through its admin API.
//!
//! Runs when a Synapse stood up by `scripts/platforms/synapse.sh up DIR` is named in the
//! environment (`.ci/run` does it); otherwise it says so and passes.

mod common;
#[path = "platform/matrix.rs"]
mod matrix;

use std::path::Path;

use common::Session;
use modq::backend::{Backend, BackendKind, BackendOptions, QueueQuery};
use modq::config::Config;
use modq::model::ReviewState;
use modq::profile::Dirs;
use modq::session::{self, Target};

const SUITE: &str = "--test synapse_session";

fn target(hs: &matrix::Homeserver, room: &str) -> Target {
    let mut options = BackendOptions::new();
    options.insert("management_room".into(), room.to_string());
    Target {
        backend: BackendKind::Synapse,
        name: Some("matrix".into()),
        url: hs.url.clone(),
        secret: hs.admin_token.clone(),
        options,
        limits: modq::backend::Limits::default(),
    }
}

async fn open(hs: &matrix::Homeserver, room: &str, data: &Path) -> Session {
    let dirs = Dirs::resolve(Some(data)).unwrap();
    let prepared = session::prepare_target(&target(hs, room), &dirs, Config::default())
        .await
        .expect("a Matrix session opens");
    let mut s = Session::from_prepared(prepared, chrono::Utc::now());
    s.load_whole_queue().await;
    s
}

/// Put the cursor on an item, as a click on its row does.
fn pick(s: &mut Session, id: &str) {
    let i = s
        .app
        .entries
        .iter()
        .position(|e| e.id == id)
        .unwrap_or_else(|| panic!("{id} is in the queue"));
    s.select(i);
    assert_eq!(s.selected_id(), id);
}

#[tokio::test]
async fn a_moderators_session_on_synapse_ends_with_synapses_own_state() {
    let Some(hs) = matrix::homeserver(SUITE) else {
        return;
    };
    let w = hs.world("session", 7).await;
    let room = hs.management_room(&[]).await;
    let ids: Vec<String> = w.events.iter().map(|e| format!("{}/{e}", w.room)).collect();
    let data = tempfile::tempdir().unwrap();
    let mut s = open(&hs, &room, data.path()).await;

    // The seeded hostile message is on screen inert: no escape, no bidi override reaches it.
    let hostile = format!(
        "{}/{}",
        hs.vars["SYNAPSE_ROOM_ID"], hs.vars["SYNAPSE_HOSTILE_EVENT_ID"]
    );
    pick(&mut s, &hostile);
    let frame = s.frame();
    assert!(frame.contains("totally normal offer"), "{frame}");
    assert!(
        !frame.contains('\u{1b}') && !frame.contains('\u{202e}'),
        "{frame}"
    );

    // t: redacted, both reports on it closed.
    pick(&mut s, &ids[0]);
    s.press("t");
    s.wait_delivered().await;
    assert!(hs.redacted_by(&w.room, &w.events[0]).await.is_some());
    // a: its report closed, the message left as it is.
    pick(&mut s, &ids[1]);
    s.press("a");
    s.wait_delivered().await;
    assert!(hs.redacted_by(&w.room, &w.events[1]).await.is_none());
    let open_events: Vec<String> = hs
        .reports_in(&w.room)
        .await
        .iter()
        .map(|r| r["event_id"].as_str().unwrap().to_string())
        .collect();
    assert!(!open_events.contains(&w.events[0]) && !open_events.contains(&w.events[1]));

    // A take down that suspends the sender, then u: the suspension is lifted, and the screen
    // says the redaction stands.
    pick(&mut s, &ids[2]);
    s.press(":takedown reason=suspend<enter>");
    s.wait_delivered().await;
    assert_eq!(hs.account(&w.offender).await["suspended"], true);
    s.press("u");
    s.wait_until("the undo is answered", |app| {
        app.flash
            .as_ref()
            .is_some_and(|f| f.text.contains("redaction"))
    })
    .await;
    assert_eq!(hs.account(&w.offender).await["suspended"], false);
    assert!(hs.redacted_by(&w.room, &w.events[2]).await.is_some());

    // e: escalated in the management room, where a senior's modq reads it.
    pick(&mut s, &ids[3]);
    s.press("e");
    s.wait_delivered().await;
    let senior = hs.backend(&hs.admin_token, Some(&room));
    senior.me().await.unwrap();
    let escalated = senior
        .queue_page(&QueueQuery {
            state: Some(ReviewState::Escalated),
            limit: Some(500),
            ..QueueQuery::default()
        })
        .await
        .unwrap();
    assert!(escalated.items.iter().any(|i| i.id == ids[3]));

    // Bulk: two items tagged, one prefixed t, confirmed.
    pick(&mut s, &ids[4]);
    s.press("<space>");
    pick(&mut s, &ids[5]);
    s.press("<space>");
    s.press(";t");
    s.press("y");
    s.wait_delivered().await;
    for e in &w.events[4..6] {
        assert!(
            hs.redacted_by(&w.room, e).await.is_some(),
            "bulk take down of {e}"
        );
    }

    // A crash right after a key: the decision is in the outbox, maybe sent, maybe not.
    pick(&mut s, &ids[6]);
    s.press("t");
    s.crash();
    let mut again = open(&hs, &room, data.path()).await;
    again.wait_delivered().await;
    let redaction = hs
        .redacted_by(&w.room, &w.events[6])
        .await
        .expect("redacted once");
    again.quit().await;

    // Synapse's state at the end of the day.
    let left: Vec<String> = hs
        .reports_in(&w.room)
        .await
        .iter()
        .map(|r| r["event_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        left,
        vec![w.events[3].clone()],
        "only the escalated report is still open"
    );
    assert_eq!(hs.redacted_by(&w.room, &w.events[6]).await, Some(redaction));
    let account = hs.account(&w.offender).await;
    assert_eq!(account["suspended"], false);
    assert_eq!(account["deactivated"], false);
}

/// The client of the crash test: this test binary started again with
/// `MODQ_SYNAPSE_CRASH_CHILD` set. It opens the Matrix profile on the data folder it is given,
/// takes down the listed items one key at a time, and prints `ACCEPTED <item>` once a key's
/// turn has journaled the decision and drawn the next frame; `DONE` once the outbox is empty.
#[test]
fn synapse_crash_child() {
    if std::env::var_os("MODQ_SYNAPSE_CRASH_CHILD").is_none() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let hs = matrix::homeserver(SUITE).expect("the parent names the homeserver");
        let room = std::env::var("MODQ_CRASH_ROOM").unwrap();
        let items: Vec<String> = std::env::var("MODQ_CRASH_ITEMS")
            .unwrap()
            .split(' ')
            .map(str::to_string)
            .collect();
        let data = std::path::PathBuf::from(std::env::var("MODQ_CRASH_DATA").unwrap());
        let mut s = open(&hs, &room, &data).await;
        use std::io::Write;
        loop {
            let next = s
                .app
                .entries
                .iter()
                .find(|e| e.is_open() && e.local.is_none() && items.contains(&e.id))
                .map(|e| e.id.clone());
            let Some(id) = next else { break };
            pick(&mut s, &id);
            s.press("t");
            println!("ACCEPTED {id}");
            std::io::stdout().flush().unwrap();
            s.pump();
        }
        s.wait_delivered().await;
        println!("DONE");
        std::io::stdout().flush().unwrap();
        s.quit().await;
    });
}

/// The session process killed with SIGKILL every few accepted take downs and started again
/// on the same profile, until every item is decided: each message is redacted exactly once
/// and every report closed, as Synapse itself says.
#[tokio::test]
async fn killed_with_sigkill_and_restarted_every_take_down_lands_exactly_once() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let Some(hs) = matrix::homeserver(SUITE) else {
        return;
    };
    let w = hs.world("sigkill", 24).await;
    let room = hs.management_room(&[]).await;
    let ids: Vec<String> = w.events.iter().map(|e| format!("{}/{e}", w.room)).collect();
    let data = tempfile::tempdir().unwrap();
    let env_file = data.path().join("synapse.env");
    let lines: Vec<String> = hs.vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
    std::fs::write(&env_file, lines.join("\n")).unwrap();
    let mut accepted = std::collections::HashSet::new();
    let mut kills = 0;
    let mut lives = Vec::new();
    for round in 0..20 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "synapse_crash_child",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env("MODQ_SYNAPSE_CRASH_CHILD", "1")
            .env("SYNAPSE_ENV_FILE", &env_file)
            .env("MODQ_CRASH_ROOM", &room)
            .env("MODQ_CRASH_ITEMS", ids.join(" "))
            .env("MODQ_CRASH_DATA", data.path().join("client"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut this_life = 0;
        let mut done = false;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(id) = line.strip_prefix("ACCEPTED ") {
                accepted.insert(id.to_string());
                this_life += 1;
                // The first three lives die two keys in (a life may decide a few more before
                // the kill lands, so a longer schedule could run out of items); the last
                // runs to the end.
                if round < 3 && this_life == 2 {
                    child.kill().unwrap();
                    kills += 1;
                    break;
                }
            } else if line == "DONE" {
                done = true;
                break;
            }
        }
        let _ = child.wait();
        lives.push(this_life);
        if done {
            break;
        }
    }
    assert!(
        kills >= 3,
        "killed {kills} times; keys accepted per life {lives:?}"
    );
    // A life may take down a few more than the parent read before the kill landed: every
    // item, accepted on screen or not, must end up redacted once.
    assert!(accepted.iter().all(|a| ids.contains(a)));
    assert!(accepted.len() >= 9, "accepted {accepted:?}");
    // Synapse's own word: each message redacted, by one redaction; no report left open.
    let (_, messages) = hs
        .call(
            reqwest::Method::GET,
            &format!(
                "/_matrix/client/v3/rooms/{}/messages?dir=b&limit=1000",
                matrix::enc(&w.room)
            ),
            None,
            &hs.admin_token,
        )
        .await;
    for e in &w.events {
        assert!(hs.redacted_by(&w.room, e).await.is_some(), "{e} redacted");
        let redactions = messages["chunk"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| {
                m["type"] == "m.room.redaction"
                    && (m["redacts"] == e.as_str() || m["content"]["redacts"] == e.as_str())
            })
            .count();
        assert_eq!(redactions, 1, "{e} redacted exactly once");
    }
    assert!(
        hs.reports_in(&w.room).await.is_empty(),
        "every report closed"
    );
}
