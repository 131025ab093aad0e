//! Three `modq serve` processes on one PostgreSQL database behave as one service: a team
//! spread over them never gets one item twice, a decision sent to every server applies
//! once, fair shares count the moderators at work on the other servers, and the audit log
//! reads the same from each. Rate limits are each server's own, as the README says.
//!
//! Runs when `MODQ_TEST_POSTGRES_URL` is set (scripts/postgres.sh); says so otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pg;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use modq::model::Role;
use modq::server::{self, PostgresStorage};

/// One `modq serve` process, killed when dropped.
struct Serve {
    child: Child,
    api: String,
}

impl Serve {
    fn start(url: &str, extra: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_modq"))
            .args(["serve", "--db", url, "--listen", "127.0.0.1:0"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let api = loop {
            let line = lines
                .next()
                .expect("modq serve ended before it listened")
                .unwrap();
            if let Some(addr) = line.split("listening on ").nth(1) {
                break addr.trim().to_owned();
            }
        };
        // Its log goes on being read, so that the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Serve { child, api }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Api {
    http: reqwest::Client,
}

impl Api {
    /// A request, again after the server's `Retry-After` when it answers 429 (only the rate
    /// limit test looks at those).
    async fn call(
        &self,
        server: &Serve,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        loop {
            let (status, value) = self.once(server, path, token, body).await;
            if status != StatusCode::TOO_MANY_REQUESTS {
                return (status, value);
            }
            tokio::time::sleep(Duration::from_millis(1100)).await;
        }
    }

    async fn once(
        &self,
        server: &Serve,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let url = format!("{}{path}", server.api);
        let request = match body {
            Some(b) => self.http.post(url).json(b),
            None => self.http.get(url),
        };
        let response = request.bearer_auth(token).send().await.unwrap();
        let status = response.status();
        let value = response.json().await.unwrap_or(Value::Null);
        (status, value)
    }
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

fn keep(key: &str, item: &str) -> Value {
    json!({"decisions": [{
        "idempotency_key": key, "item_id": item, "action": "keep",
        "decided_at": chrono::Utc::now(),
    }]})
}

#[test]
fn three_servers_on_one_database_are_one_service() {
    let Some(db) = pg::TestDb::create("serve") else {
        return;
    };
    // The operator's part: the queue and the tokens, straight into the database.
    let (tokens, urgent) = {
        let storage = PostgresStorage::open(&db.url).unwrap();
        server::import_jsonl(&storage, modq::demo::SAMPLE_QUEUE.as_bytes()).unwrap();
        let tokens: Vec<String> = ["mod-0", "mod-1", "mod-2"]
            .iter()
            .map(|n| {
                server::create_token(&storage, n, Role::Moderator)
                    .unwrap()
                    .1
            })
            .collect();
        let admin = server::create_token(&storage, "admin", Role::Admin)
            .unwrap()
            .1;
        let counts = modq::server::Storage::queue_counts(&storage, chrono::Utc::now()).unwrap();
        let urgent = counts
            .lanes
            .iter()
            .find(|l| l.lane == modq::model::Lane::Urgent)
            .unwrap()
            .open;
        ([tokens, vec![admin]].concat(), urgent)
    };
    assert!(urgent >= 6, "the sample has an urgent lane to share");
    let [m0, m1, m2, admin] = [0, 1, 2, 3].map(|n| tokens.get(n).unwrap().clone());
    let flags = ["--rate", "10", "--max-leases", "200"];
    let servers: Vec<Serve> = (0..3).map(|_| Serve::start(&db.url, &flags)).collect();
    let [s0, s1, s2] = [0, 1, 2].map(|n| servers.get(n).unwrap());

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let api = Api {
            http: reqwest::Client::new(),
        };

        // Three moderators claim at once, each through their own server: no item twice.
        let claim = json!({"lane": "standard", "limit": 40});
        let (a, b, c) = tokio::join!(
            api.call(s0, "/v1/queue/claim", &m0, Some(&claim)),
            api.call(s1, "/v1/queue/claim", &m1, Some(&claim)),
            api.call(s2, "/v1/queue/claim", &m2, Some(&claim)),
        );
        let claimed: Vec<Vec<String>> = [a, b, c]
            .into_iter()
            .map(|(status, page)| {
                assert_eq!(status, StatusCode::OK, "{page}");
                ids(&page)
            })
            .collect();
        let mut all: Vec<&String> = claimed.iter().flatten().collect();
        let total = all.len();
        all.sort();
        all.dedup();
        assert_eq!(
            all.len(),
            total,
            "an item went to two moderators: {claimed:?}"
        );
        assert_eq!(total, 120, "each got a full page");

        // A lease taken on one server holds on the others.
        let [mine0, mine1, _] = [0, 1, 2].map(|n| claimed.get(n).unwrap().clone());
        let (status, grant) = api
            .call(
                s2,
                "/v1/leases/claim",
                &m1,
                Some(&json!({"item_ids": [mine0.first().unwrap()]})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(grant["refused"][0]["reason"], "leased_elsewhere", "{grant}");
        assert_eq!(grant["refused"][0]["leased_by"], "mod-0");
        let (_, page) = api
            .call(s1, "/v1/queue?lane=standard&limit=500", &m2, None)
            .await;
        let shown = page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == mine0.first().unwrap().as_str())
            .cloned()
            .unwrap();
        assert_eq!(shown["leased_by"], "mod-0");

        // A fair share of the urgent lane counts moderators at work on other servers: s0
        // has never seen mod-1 nor mod-2, but their leases are in the database.
        let (status, page) = api
            .call(
                s0,
                "/v1/queue/claim",
                &m0,
                Some(&json!({"lane": "urgent", "limit": 500})),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let share = usize::try_from(urgent.div_ceil(3)).unwrap();
        assert_eq!(ids(&page).len(), share, "{page}");
        assert_eq!(page["limited_by"], json!(["fair_share"]));

        // One decision sent to all three servers at once (a client retrying through a load
        // balancer) applies once.
        let item = mine0.get(1).unwrap();
        let decision = keep("the-one-key", item);
        let (a, b, c) = tokio::join!(
            api.call(s0, "/v1/decisions", &m0, Some(&decision)),
            api.call(s1, "/v1/decisions", &m0, Some(&decision)),
            api.call(s2, "/v1/decisions", &m0, Some(&decision)),
        );
        let mut outcomes: Vec<String> = [a, b, c]
            .iter()
            .map(|(status, results)| {
                assert_eq!(*status, StatusCode::OK, "{results}");
                results["results"][0]["outcome"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        outcomes.sort();
        assert_eq!(outcomes, ["applied", "duplicate", "duplicate"]);

        // Decisions through every server land in one log, read the same from each.
        let (status, _) = api
            .call(
                s1,
                "/v1/decisions",
                &m1,
                Some(&keep("k-1", mine1.first().unwrap())),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        let (status, results) = api
            .call(
                s2,
                "/v1/decisions",
                &m0,
                Some(&keep("k-2", mine0.get(2).unwrap())),
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(results["results"][0]["outcome"], "applied");
        let mut logs = Vec::new();
        for s in [s0, s1, s2] {
            let (status, log) = api.call(s, "/v1/audit", &admin, None).await;
            assert_eq!(status, StatusCode::OK);
            logs.push(log);
        }
        assert!(logs.iter().all(|l| *l == logs[0]), "{logs:?}");
        let entries = logs[0]["entries"].as_array().unwrap();
        let keys: Vec<&str> = entries
            .iter()
            .map(|e| e["idempotency_key"].as_str().unwrap())
            .collect();
        assert_eq!(keys, ["the-one-key", "k-1", "k-2"]);
        let audit_ids: Vec<i64> = entries.iter().map(|e| e["id"].as_i64().unwrap()).collect();
        assert!(audit_ids.windows(2).all(|w| w[0] < w[1]), "{audit_ids:?}");
        // A decided item's lease is gone for everyone.
        let (_, grant) = api
            .call(
                s2,
                "/v1/leases/renew",
                &m0,
                Some(&json!({"item_ids": [item]})),
            )
            .await;
        assert_eq!(grant["lost"], json!([item]), "{grant}");

        // Rate limits are each server's own (README: behind N servers a token may make N
        // times --rate): past its burst on one server, the token still gets through another.
        let mut limited = false;
        for _ in 0..60 {
            let (status, _) = api.once(s2, "/v1/me", &m2, None).await;
            if status == StatusCode::TOO_MANY_REQUESTS {
                limited = true;
                break;
            }
        }
        assert!(limited, "--rate 10 limits a token on one server");
        let (status, _) = api.once(s0, "/v1/me", &m2, None).await;
        assert_eq!(status, StatusCode::OK);
    });
}
