//! The running Bluesky network with Ozone that `scripts/platforms/ozone.sh up DIR` stood up,
//! found through the variables it prints (`.ci/run` exports them), and the user-facing calls
//! the tests make on it: accounts post and report as the Bluesky app does, and what Ozone
//! holds is read back through its own API as the moderator. Nothing here stands in for
//! Ozone.
#![allow(dead_code)]

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use modq::backend::modq::Limits;
use modq::backend::ozone::{Login, OzoneBackend, OzoneConfig};

/// The one command that stands the network up and runs this suite.
pub const RUN_IT: &str = "scripts/platforms/ozone.sh up target/platforms/ozone >/dev/null \
     && OZONE_ENV_FILE=target/platforms/ozone/ozone.env cargo test --test platform_ozone";

pub struct Net {
    pub env: HashMap<String, String>,
    http: reqwest::Client,
}

/// An account's session on the PDS.
#[derive(Clone)]
pub struct Account {
    pub handle: String,
    pub did: String,
    pub jwt: String,
}

impl Net {
    /// The network named by `OZONE_*` variables (or by the file `OZONE_ENV_FILE` names);
    /// `None` (and a sentence saying so) when there is none.
    pub fn find(suite: &str) -> Option<Net> {
        let mut env: HashMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("OZONE_"))
            .collect();
        if let Some(file) = env.get("OZONE_ENV_FILE").cloned()
            && let Ok(text) = std::fs::read_to_string(&file)
        {
            env.extend(
                text.lines()
                    .filter_map(|l| l.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string())),
            );
        }
        if !env.contains_key("OZONE_PDS_URL") || !env.contains_key("OZONE_DID") {
            println!(
                "The Bluesky Ozone suite ({suite}) did not run: no Ozone network is named by \
                 OZONE_PDS_URL and OZONE_DID. To run it: {RUN_IT}"
            );
            return None;
        }
        Some(Net {
            env,
            http: reqwest::Client::new(),
        })
    }

    pub fn var(&self, key: &str) -> String {
        self.env
            .get(key)
            .cloned()
            .unwrap_or_else(|| panic!("{key} is not set by ozone.sh"))
    }

    pub fn pds(&self) -> String {
        self.var("OZONE_PDS_URL")
    }

    fn proxy(&self) -> String {
        format!("{}#atproto_labeler", self.var("OZONE_DID"))
    }

    /// modq's Ozone backend logged in as `who` (`MODERATOR`, `TRIAGE`).
    pub fn backend(&self, who: &str) -> OzoneBackend {
        OzoneBackend::new(self.config(who)).expect("an Ozone backend")
    }

    pub fn config(&self, who: &str) -> OzoneConfig {
        OzoneConfig {
            pds: self.pds(),
            ozone_did: self.var("OZONE_DID"),
            login: Login {
                identifier: self.var(&format!("OZONE_{who}_HANDLE")),
                password: self.var(&format!("OZONE_{who}_PASSWORD")),
            },
            split: None,
            limits: Limits::default(),
        }
    }

    pub async fn login(&self, who: &str) -> Account {
        let answer: Value = self
            .http
            .post(format!(
                "{}/xrpc/com.atproto.server.createSession",
                self.pds()
            ))
            .json(&json!({
                "identifier": self.var(&format!("OZONE_{who}_HANDLE")),
                "password": self.var(&format!("OZONE_{who}_PASSWORD")),
            }))
            .send()
            .await
            .expect("createSession")
            .json()
            .await
            .expect("session JSON");
        Account {
            handle: answer["handle"].as_str().expect("handle").to_string(),
            did: answer["did"].as_str().expect("did").to_string(),
            jwt: answer["accessJwt"].as_str().expect("jwt").to_string(),
        }
    }

    /// `who` posts `text`; the post's URI and CID.
    pub async fn post(&self, who: &Account, text: &str) -> (String, String) {
        let answer: Value = self
            .http
            .post(format!("{}/xrpc/com.atproto.repo.createRecord", self.pds()))
            .bearer_auth(&who.jwt)
            .json(&json!({
                "repo": who.did,
                "collection": "app.bsky.feed.post",
                "record": {
                    "$type": "app.bsky.feed.post",
                    "text": text,
                    "createdAt": chrono::Utc::now().to_rfc3339(),
                },
            }))
            .send()
            .await
            .expect("createRecord")
            .json()
            .await
            .expect("record JSON");
        (
            answer["uri"].as_str().expect("uri").to_string(),
            answer["cid"].as_str().expect("cid").to_string(),
        )
    }

    /// `who` reports a post through `com.atproto.moderation.createReport`, as the app does.
    pub async fn report(&self, who: &Account, uri: &str, cid: &str, reason: &str) {
        let body = json!({
            "reasonType": "com.atproto.moderation.defs#reasonSpam",
            "reason": reason,
            "subject": {"$type": "com.atproto.repo.strongRef", "uri": uri, "cid": cid},
        });
        self.proxied(who, "com.atproto.moderation.createReport", body)
            .await;
    }

    /// `moderator` takes the post down (Ozone's own `emitEvent`, as Ozone's web UI sends it).
    pub async fn take_down(&self, moderator: &Account, uri: &str, cid: &str) {
        let body = json!({
            "event": {"$type": "tools.ozone.moderation.defs#modEventTakedown"},
            "subject": {"$type": "com.atproto.repo.strongRef", "uri": uri, "cid": cid},
            "createdBy": moderator.did,
        });
        self.proxied(moderator, "tools.ozone.moderation.emitEvent", body)
            .await;
    }

    /// The post's author appeals its take down, as the Bluesky app does
    /// (`createReport` with `reasonAppeal` on their own post).
    pub async fn appeal(&self, author: &Account, uri: &str, cid: &str, statement: &str) {
        let body = json!({
            "reasonType": "com.atproto.moderation.defs#reasonAppeal",
            "reason": statement,
            "subject": {"$type": "com.atproto.repo.strongRef", "uri": uri, "cid": cid},
        });
        self.proxied(author, "com.atproto.moderation.createReport", body)
            .await;
    }

    /// A procedure sent by `who` through their PDS to Ozone, which must succeed.
    async fn proxied(&self, who: &Account, nsid: &str, body: Value) {
        let response = self
            .http
            .post(format!("{}/xrpc/{nsid}", self.pds()))
            .bearer_auth(&who.jwt)
            .header("atproto-proxy", self.proxy())
            .json(&body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{nsid}: {e}"));
        assert!(
            response.status().is_success(),
            "{nsid}: {}",
            response.text().await.unwrap_or_default()
        );
    }

    /// `n` fresh posts by the reporter, each reported once: subjects no other test touches.
    /// Their URIs, in the order made.
    pub async fn reported_posts(&self, n: usize, label: &str) -> Vec<String> {
        self.reported_post_refs(n, label, 1)
            .await
            .into_iter()
            .map(|(uri, _)| uri)
            .collect()
    }

    /// [`Net::reported_posts`] with each post's CID, made `at_once` at a time (the order
    /// of their reports then holds between batches only).
    pub async fn reported_post_refs(
        &self,
        n: usize,
        label: &str,
        at_once: usize,
    ) -> Vec<(String, String)> {
        use futures::StreamExt;
        let alice = self.login("REPORTER").await;
        let alice = &alice;
        futures::stream::iter(0..n)
            .map(|i| async move {
                let (uri, cid) = self
                    .post(alice, &format!("{label} {i}: win a prize at prize.example"))
                    .await;
                self.report(alice, &uri, &cid, label).await;
                (uri, cid)
            })
            .buffered(at_once.max(1))
            .collect()
            .await
    }

    /// A query as the moderator, through the PDS proxy: what Ozone itself answers.
    pub async fn query(&self, moderator: &Account, nsid: &str, params: &[(&str, &str)]) -> Value {
        let response = self
            .http
            .get(format!("{}/xrpc/{nsid}", self.pds()))
            .query(params)
            .bearer_auth(&moderator.jwt)
            .header("atproto-proxy", self.proxy())
            .send()
            .await
            .expect(nsid);
        let status = response.status();
        let body: Value = response.json().await.expect("JSON");
        assert!(status.is_success(), "{nsid}: {status} {body}");
        body
    }

    /// The subject's status as Ozone holds it.
    pub async fn status(&self, moderator: &Account, subject: &str) -> Value {
        let answer = self
            .query(
                moderator,
                "tools.ozone.moderation.queryStatuses",
                &[("subject", subject)],
            )
            .await;
        answer["subjectStatuses"][0].clone()
    }

    /// Every event modq emitted on the subject for the decision `key` (its `modTool.meta`).
    pub async fn events_of(&self, moderator: &Account, subject: &str, key: &str) -> Vec<Value> {
        let answer = self
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
            .filter(|e| e["modTool"]["meta"]["decision"].as_str() == Some(key))
            .cloned()
            .collect()
    }

    /// Wait until Ozone's status of `subject` satisfies `done` (Ozone applies an event when
    /// it answers, but the tests do not lean on that).
    pub async fn wait_status(
        &self,
        moderator: &Account,
        subject: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let status = self.status(moderator, subject).await;
            if done(&status) {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "waited in vain until {what}; Ozone's status: {status}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// The tests share one network: they take turns, so one's decisions never land on the
/// subjects another is looking at.
pub static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

pub const OPEN: &str = "tools.ozone.moderation.defs#reviewOpen";
pub const ESCALATED: &str = "tools.ozone.moderation.defs#reviewEscalated";
pub const CLOSED: &str = "tools.ozone.moderation.defs#reviewClosed";
