//! A real Synapse for tests: found through the variables `scripts/platforms/synapse.sh up`
//! prints, and small worlds (users, a room, messages, reports) made in it through Matrix's own
//! user-facing API, one per test, so tests never share a report.
#![allow(dead_code)]

use std::collections::HashMap;

use serde_json::{Value, json};

/// The homeserver the suite runs against, or `None` (and a plain sentence on stderr) when
/// none was stood up.
pub fn homeserver(suite: &str) -> Option<Homeserver> {
    let vars: HashMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("SYNAPSE_"))
        .collect();
    let from_file = std::env::var("SYNAPSE_ENV_FILE")
        .ok()
        .and_then(|p| std::fs::read_to_string(p).ok());
    let vars = match from_file {
        Some(text) => text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        None => vars,
    };
    match (vars.get("SYNAPSE_URL"), vars.get("SYNAPSE_ADMIN_TOKEN")) {
        (Some(url), Some(token)) => Some(Homeserver {
            url: url.clone(),
            admin_token: token.clone(),
            admin: vars.get("SYNAPSE_ADMIN_USER").cloned().unwrap_or_default(),
            server_name: vars
                .get("SYNAPSE_SERVER_NAME")
                .cloned()
                .unwrap_or_else(|| "modq.test".into()),
            vars,
            http: reqwest::Client::new(),
        }),
        _ => {
            eprintln!(
                "The Synapse suite (cargo test {suite}) did not run: no SYNAPSE_URL / SYNAPSE_ADMIN_TOKEN \
                 (or SYNAPSE_ENV_FILE) in the environment. Run it with:\n  \
                 scripts/platforms/synapse.sh up target/platforms/synapse && \
                 SYNAPSE_ENV_FILE=target/platforms/synapse/synapse.env cargo test {suite}"
            );
            None
        }
    }
}

pub struct Homeserver {
    pub url: String,
    pub admin_token: String,
    pub admin: String,
    pub server_name: String,
    pub vars: HashMap<String, String>,
    http: reqwest::Client,
}

pub fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// One test's corner of the homeserver.
pub struct World {
    pub room: String,
    pub offender: String,
    pub offender_token: String,
    pub reporter: String,
    pub reporter_token: String,
    pub second_reporter_token: String,
    /// The reported messages, in the order they were reported.
    pub events: Vec<String>,
    pub unreported: String,
}

impl Homeserver {
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        token: &str,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token);
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().await.expect("request to Synapse");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn admin(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self
            .call(method.clone(), path, body, &self.admin_token)
            .await;
        assert!(status < 300, "{method} {path} answered {status}: {v}");
        v
    }

    /// A new account (admin or not) and its access token, made by the admin API.
    pub async fn user(&self, name: &str, admin: bool) -> (String, String) {
        let id = format!("@{name}:{}", self.server_name);
        let password = format!("pw-{}", modq::store::new_key());
        self.admin(
            reqwest::Method::PUT,
            &format!("/_synapse/admin/v2/users/{}", enc(&id)),
            Some(json!({"password": password, "admin": admin})),
        )
        .await;
        let login = self
            .admin(
                reqwest::Method::POST,
                "/_matrix/client/v3/login",
                Some(json!({"type": "m.login.password", "identifier": {"type": "m.id.user", "user": id}, "password": password})),
            )
            .await;
        (
            id,
            login["access_token"].as_str().expect("token").to_string(),
        )
    }

    pub async fn send(&self, token: &str, room: &str, text: &str) -> String {
        let txn = modq::store::new_key();
        let (s, v) = self
            .call(
                reqwest::Method::PUT,
                &format!(
                    "/_matrix/client/v3/rooms/{}/send/m.room.message/{txn}",
                    enc(room)
                ),
                Some(json!({"msgtype": "m.text", "body": text})),
                token,
            )
            .await;
        assert_eq!(s, 200, "send: {v}");
        v["event_id"].as_str().expect("event id").to_string()
    }

    pub async fn report(
        &self,
        token: &str,
        room: &str,
        event: &str,
        reason: &str,
        score: Option<i64>,
    ) {
        let mut body = json!({"reason": reason});
        if let Some(score) = score {
            body["score"] = json!(score);
        }
        let (s, v) = self
            .call(
                reqwest::Method::POST,
                &format!(
                    "/_matrix/client/v3/rooms/{}/report/{}",
                    enc(room),
                    enc(event)
                ),
                Some(body),
                token,
            )
            .await;
        assert_eq!(s, 200, "report: {v}");
    }

    /// A room with an offender's `n` messages, each reported once (the first twice), and one
    /// message nobody reported. Names carry `tag` so that worlds never meet.
    pub async fn world(&self, tag: &str, n: usize) -> World {
        let tag = format!("{tag}-{}", &modq::store::new_key()[..8]).to_lowercase();
        let (reporter, reporter_token) = self.user(&format!("rep-{tag}"), false).await;
        let (_, second_reporter_token) = self.user(&format!("rep2-{tag}"), false).await;
        let (offender, offender_token) = self.user(&format!("off-{tag}"), false).await;
        let (s, v) = self
            .call(
                reqwest::Method::POST,
                "/_matrix/client/v3/createRoom",
                Some(json!({"preset": "public_chat", "name": format!("Room {tag}")})),
                &reporter_token,
            )
            .await;
        assert_eq!(s, 200, "createRoom: {v}");
        let room = v["room_id"].as_str().expect("room id").to_string();
        for t in [&second_reporter_token, &offender_token] {
            let (s, v) = self
                .call(
                    reqwest::Method::POST,
                    &format!("/_matrix/client/v3/rooms/{}/join", enc(&room)),
                    Some(json!({})),
                    t,
                )
                .await;
            assert_eq!(s, 200, "join: {v}");
        }
        let unreported = self.send(&reporter_token, &room, "hello all").await;
        let mut events = Vec::new();
        for i in 0..n {
            let e = self
                .send(&offender_token, &room, &format!("spam {i} from {tag}"))
                .await;
            self.report(&reporter_token, &room, &e, &format!("spam {i}"), Some(-50))
                .await;
            if i == 0 {
                self.report(&second_reporter_token, &room, &e, "again", None)
                    .await;
            }
            events.push(e);
        }
        World {
            room,
            offender,
            offender_token,
            reporter,
            reporter_token,
            second_reporter_token,
            events,
            unreported,
        }
    }

    /// Every open report on `room`, as Synapse lists them.
    pub async fn reports_in(&self, room: &str) -> Vec<Value> {
        let v = self
            .admin(
                reqwest::Method::GET,
                &format!(
                    "/_synapse/admin/v1/event_reports?limit=1000&room_id={}",
                    enc(room)
                ),
                None,
            )
            .await;
        v["event_reports"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r["room_id"] == room)
            .collect()
    }

    /// The redaction of an event, if it was redacted.
    pub async fn redacted_by(&self, room: &str, event: &str) -> Option<String> {
        let v = self
            .admin(
                reqwest::Method::GET,
                &format!(
                    "/_synapse/admin/v1/rooms/{}/context/{}?limit=0",
                    enc(room),
                    enc(event)
                ),
                None,
            )
            .await;
        v["event"]["unsigned"]["redacted_by"]
            .as_str()
            .map(str::to_string)
    }

    pub async fn account(&self, user: &str) -> Value {
        self.admin(
            reqwest::Method::GET,
            &format!("/_synapse/admin/v2/users/{}", enc(user)),
            None,
        )
        .await
    }

    /// A management room the admin made, with `others` invited as moderators (power 50:
    /// what writing claims, escalations and notes takes in a private room).
    pub async fn management_room(&self, others: &[&str]) -> String {
        let mut users = serde_json::Map::new();
        // Room version 12: the creator has all power and must not be listed.
        for o in others {
            users.insert((*o).to_string(), json!(50));
        }
        let v = self
            .admin(
                reqwest::Method::POST,
                "/_matrix/client/v3/createRoom",
                Some(
                    json!({"preset": "private_chat", "name": "modq moderators", "invite": others,
                            "power_level_content_override": {"users": users}}),
                ),
            )
            .await;
        v["room_id"].as_str().expect("room id").to_string()
    }

    /// The plain messages in a room, oldest first.
    pub async fn notices(&self, room: &str, token: &str) -> Vec<String> {
        let (_, v) = self
            .call(
                reqwest::Method::GET,
                &format!(
                    "/_matrix/client/v3/rooms/{}/messages?dir=b&limit=100",
                    enc(room)
                ),
                None,
                token,
            )
            .await;
        let mut out: Vec<String> = v["chunk"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter(|e| e["type"] == "m.room.message")
            .filter_map(|e| e["content"]["body"].as_str().map(str::to_string))
            .collect();
        out.reverse();
        out
    }

    /// A fresh world of `n` reported messages (see [`Homeserver::world`]) and a backend with
    /// the admin's token, checked as modq checks it on start (`me`): most tests begin so.
    pub async fn admin_world(
        &self,
        tag: &str,
        n: usize,
    ) -> (World, modq::backend::synapse::SynapseBackend) {
        use modq::backend::Backend;
        let world = self.world(tag, n).await;
        let backend = self.backend(&self.admin_token, None);
        backend.me().await.expect("the admin token works");
        (world, backend)
    }

    pub fn backend(
        &self,
        token: &str,
        room: Option<&str>,
    ) -> modq::backend::synapse::SynapseBackend {
        modq::backend::synapse::SynapseBackend::new(modq::backend::synapse::SynapseOptions {
            url: self.url.clone(),
            token: token.to_string(),
            management_room: room.map(str::to_string),
            limits: modq::backend::modq::Limits::default(),
        })
        .expect("a Synapse backend")
    }
}
