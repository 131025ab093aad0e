//! Random team days against the real server over HTTP: seven tokens of every role take
//! down, keep, escalate, reverse, note and report on a handful of items in any order, and
//! whatever the server accepts or refuses, its invariants hold:
//! - one decision in force per item: the item's state is its latest decision's, and every
//!   reversal restored exactly what the decision it undid found;
//! - tiers respected: every decision made at a tier was made by that tier's role or an admin
//!   (or was a moderator taking back their own escalation to the senior tier);
//! - the audit log reads, page by page, entry for entry;
//! - child-safety and law-enforcement items are read only by their tier and admins;
//! - statements stable: a statement once exported reads the same until its take down is
//!   reversed, whatever reports, notes and decisions come after.

use std::collections::HashMap;

use modq::model::{EscalationTier, Item, ReviewState, Role};
use proptest::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[path = "common/json_api.rs"]
mod json_api;

use json_api::Server;

const TEAM: [(&str, Role); 7] = [
    ("alice", Role::Moderator),
    ("bob", Role::Moderator),
    ("sam", Role::Senior),
    ("lee", Role::Legal),
    ("lou", Role::LawEnforcement),
    ("cora", Role::ChildSafety),
    ("ada", Role::Admin),
];
const ADMIN: usize = 6;
const ITEMS: [&str; 4] = ["p0", "p1", "p2", "p3"];
const METHODS: [&str; 5] = ["single", "tagged", "range", "filter", "similar"];
const REPORTERS: [&str; 4] = ["user", "trusted_flagger", "authority", "automated"];

#[derive(Debug, Clone)]
enum Op {
    TakeDown {
        who: usize,
        item: usize,
        scope: usize,
        method: usize,
    },
    Keep {
        who: usize,
        item: usize,
        method: usize,
    },
    Escalate {
        who: usize,
        item: usize,
        tier: usize,
    },
    ReverseLatest {
        who: usize,
        item: usize,
    },
    Note {
        who: usize,
        item: usize,
    },
    Report {
        who: usize,
        item: usize,
        reporter: usize,
        hash: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..TEAM.len();
    let item = 0..ITEMS.len();
    prop_oneof![
        (who.clone(), item.clone(), 0..3usize, 0..METHODS.len()).prop_map(
            |(who, item, scope, method)| Op::TakeDown {
                who,
                item,
                scope,
                method
            }
        ),
        (who.clone(), item.clone(), 0..METHODS.len()).prop_map(|(who, item, method)| Op::Keep {
            who,
            item,
            method
        }),
        (who.clone(), item.clone(), 0..EscalationTier::ALL.len())
            .prop_map(|(who, item, tier)| Op::Escalate { who, item, tier }),
        (who.clone(), item.clone()).prop_map(|(who, item)| Op::ReverseLatest { who, item }),
        (who.clone(), item.clone()).prop_map(|(who, item)| Op::Note { who, item }),
        (who, item, 0..REPORTERS.len(), any::<bool>()).prop_map(|(who, item, reporter, hash)| {
            Op::Report {
                who,
                item,
                reporter,
                hash,
            }
        }),
    ]
}

fn report(item: &str, reporter: &str, hash: bool) -> Value {
    let media = if hash {
        json!([{"kind": "image", "hash_match": "csam-hashlist"}])
    } else {
        json!([{"kind": "image"}])
    };
    json!({
        "subject": {"id": item, "kind": "post", "text": format!("text of {item}"),
                    "author": {"id": "u-1"}, "countries": ["DE", "FR"], "media": media},
        "reporter_type": reporter,
        "category": "hate",
    })
}

struct Day {
    s: Server,
    tokens: Vec<String>,
    /// Every statement ever exported, by puid.
    exported: HashMap<String, Value>,
}

impl Day {
    async fn start() -> Day {
        let s = Server::start().await;
        let tokens = TEAM
            .iter()
            .map(|(name, role)| s.token(name, *role))
            .collect();
        s.import(
            &ITEMS
                .iter()
                .map(|id| report(id, "user", false))
                .collect::<Vec<_>>(),
        );
        Day {
            s,
            tokens,
            exported: HashMap::new(),
        }
    }

    fn token(&self, who: usize) -> &str {
        &self.tokens[who]
    }

    async fn decide(&self, who: usize, d: Value) {
        let (status, body) = self
            .s
            .client
            .post(
                "/v1/decisions",
                self.token(who),
                &json!({ "decisions": [d] }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    fn latest_key(&self, item: &str) -> Option<String> {
        self.s
            .sql()
            .query_row(
                "SELECT idempotency_key FROM audit WHERE item_id = ?1 ORDER BY id DESC LIMIT 1",
                [item],
                |r| r.get(0),
            )
            .ok()
    }

    async fn run(&mut self, step: usize, op: &Op) {
        let key = format!("k{step}");
        let base = |item: usize, action: &str| {
            json!({
                "idempotency_key": key,
                "item_id": ITEMS[item],
                "action": action,
                "decided_at": chrono::Utc::now().to_rfc3339(),
            })
        };
        match *op {
            Op::TakeDown {
                who,
                item,
                scope,
                method,
            } => {
                let mut d = base(item, "take_down");
                d["scope"] = [json!("global"), json!(["DE"]), json!(["FR", "US"])][scope].clone();
                d["method"] = json!(METHODS[method]);
                self.decide(who, d).await;
            }
            Op::Keep { who, item, method } => {
                let mut d = base(item, "keep");
                d["method"] = json!(METHODS[method]);
                self.decide(who, d).await;
            }
            Op::Escalate { who, item, tier } => {
                let mut d = base(item, "escalate");
                d["escalation_target"] = json!(EscalationTier::ALL[tier].as_str());
                d["note"] = json!("please look");
                self.decide(who, d).await;
            }
            Op::ReverseLatest { who, item } => {
                if let Some(latest) = self.latest_key(ITEMS[item]) {
                    let mut d = base(item, "reverse");
                    d["reverses"] = json!(latest);
                    self.decide(who, d).await;
                }
            }
            Op::Note { who, item } => {
                let path = format!("/v1/items/{}/notes", ITEMS[item]);
                let (status, body) = self
                    .s
                    .client
                    .post(
                        &path,
                        self.token(who),
                        &json!({"note": format!("note {step}")}),
                    )
                    .await;
                assert!(
                    status == StatusCode::CREATED || status == StatusCode::FORBIDDEN,
                    "{status} {body}"
                );
            }
            Op::Report {
                who,
                item,
                reporter,
                hash,
            } => {
                // Ordinary tokens file as users; the intake for anyone.
                let reporter = if who == ADMIN {
                    REPORTERS[reporter]
                } else {
                    "user"
                };
                let (status, body) = self
                    .s
                    .client
                    .post(
                        "/v1/reports",
                        self.token(who),
                        &report(ITEMS[item], reporter, hash),
                    )
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{body}");
            }
        }
    }

    /// Statements once exported read the same while their take down is in force.
    async fn check_statements(&mut self) {
        let (status, body) = self.s.client.get("/v1/statements", self.token(ADMIN)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        for statement in body["statements"].as_array().cloned().unwrap_or_default() {
            let puid = statement["puid"].as_str().unwrap_or_default().to_string();
            if let Some(before) = self.exported.get(&puid) {
                assert_eq!(before, &statement, "statement {puid} changed");
            }
            self.exported.insert(puid, statement);
        }
    }

    async fn check_invariants(&self) {
        let admin = self.token(ADMIN);
        // The audit log reads, page by page, and holds every row.
        let mut entries: Vec<Value> = Vec::new();
        let mut since = 0;
        loop {
            let (status, page) = self
                .s
                .client
                .get(&format!("/v1/audit?limit=5&since={since}"), admin)
                .await;
            assert_eq!(status, StatusCode::OK, "{page}");
            entries.extend(page["entries"].as_array().cloned().unwrap_or_default());
            match page["next_since"].as_i64() {
                Some(next) => since = next,
                None => break,
            }
        }
        let rows: i64 = self
            .s
            .sql()
            .query_row("SELECT COUNT(*) FROM audit", [], |r| r.get(0))
            .expect("count");
        assert_eq!(entries.len() as i64, rows);

        for (i, e) in entries.iter().enumerate() {
            // Tiers respected.
            let role = Role::parse(e["role"].as_str().unwrap_or_default()).expect("role");
            if let Some(tier) = e["tier"].as_str().and_then(EscalationTier::parse) {
                let own_senior_undo = tier == EscalationTier::Senior
                    && e["action"] == "reverse"
                    && entries[..i].iter().any(|u| {
                        u["item_id"] == e["item_id"]
                            && u["idempotency_key"] == e["reverses"]
                            && u["action"] == "escalate"
                            && u["actor"] == e["actor"]
                    });
                assert!(role.decides(tier) || own_senior_undo, "{e}");
            }
            // A reversal restores what the decision it undid found.
            if e["action"] == "reverse" {
                let undone = entries[..i]
                    .iter()
                    .rev()
                    .find(|u| u["item_id"] == e["item_id"] && u["idempotency_key"] == e["reverses"])
                    .expect("the undone decision is in the log");
                assert_eq!(e["to_state"], undone["from_state"], "{e}\n{undone}");
            }
        }

        for id in ITEMS {
            // One decision in force: the item is where its latest decision left it.
            let item: Item = self.s.item(id, admin).await;
            let latest = entries.iter().rev().find(|e| e["item_id"] == id);
            let expected = latest.map_or(json!("open"), |e| e["to_state"].clone());
            assert_eq!(json!(item.state), expected, "{id}");
            // Restricted tiers read by their own role and admins only.
            let held = match item.state {
                ReviewState::Escalated => item.escalation_target,
                _ => item
                    .history
                    .iter()
                    .rev()
                    .find(|h| {
                        !matches!(
                            h.event,
                            modq::model::HistoryEvent::Reported | modq::model::HistoryEvent::Note
                        )
                    })
                    .and_then(|h| h.tier),
            };
            for (who, (_, role)) in TEAM.iter().enumerate() {
                let (status, _) = self
                    .s
                    .client
                    .get(&format!("/v1/items/{id}"), self.token(who))
                    .await;
                let restricted = matches!(
                    held,
                    Some(EscalationTier::ChildSafety | EscalationTier::LawEnforcement)
                );
                let reads = !restricted || held.is_some_and(|t| role.decides(t));
                let expected = if reads {
                    StatusCode::OK
                } else {
                    StatusCode::FORBIDDEN
                };
                assert_eq!(status, expected, "{id} held by {held:?}, read as {role:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 12,
        max_shrink_iters: 64,
        ..ProptestConfig::default()
    })]

    #[test]
    fn a_random_team_day_keeps_the_servers_promises(ops in prop::collection::vec(op(), 1..28)) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let mut day = Day::start().await;
            for (step, op) in ops.iter().enumerate() {
                day.run(step, op).await;
                day.check_statements().await;
            }
            day.check_invariants().await;
        });
    }
}
