//! What the reference server received and applied, read from its own database, and decisions
//! made by another moderator over HTTP: what the deciding tests compare the screen with.
#![allow(dead_code)]

use std::path::Path;

use modq::model::{Decision, DecisionOutcome, DecisionResults};

/// One decision the server applied (its audit row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub actor: String,
    pub action: String,
    pub reason_code: Option<String>,
    /// As stored: `"global"` or a list of codes, in JSON.
    pub scope: Option<serde_json::Value>,
    pub note: Option<String>,
    /// For a reversal: the key it undid.
    pub reverses: Option<String>,
    pub idempotency_key: String,
}

/// Every decision the server applied to `item_id`, oldest first.
pub fn applied(db: &Path, item_id: &str) -> Vec<Applied> {
    let conn = rusqlite::Connection::open(db).expect("open the server's database");
    let mut stmt = conn
        .prepare(
            "SELECT actor, action, reason_code, scope, note, reverses, idempotency_key
             FROM audit WHERE item_id = ?1 ORDER BY id",
        )
        .expect("audit query");
    stmt.query_map([item_id], |r| {
        let scope: Option<String> = r.get(3)?;
        Ok(Applied {
            actor: r.get(0)?,
            action: r.get(1)?,
            reason_code: r.get(2)?,
            scope: scope.map(|s| serde_json::from_str(&s).expect("scope JSON")),
            note: r.get(4)?,
            reverses: r.get(5)?,
            idempotency_key: r.get(6)?,
        })
    })
    .expect("audit rows")
    .collect::<Result<_, _>>()
    .expect("audit rows")
}

/// Another moderator's decision, sent straight to the server at `api`; the server's answer.
pub async fn decide_as(api: &str, token: &str, decision: &Decision) -> DecisionOutcome {
    let answer: DecisionResults = reqwest::Client::new()
        .post(format!("{api}/v1/decisions"))
        .bearer_auth(token)
        .json(&serde_json::json!({ "decisions": [decision] }))
        .send()
        .await
        .expect("POST /v1/decisions")
        .json()
        .await
        .expect("decision results");
    answer.results.first().expect("one result").outcome
}
