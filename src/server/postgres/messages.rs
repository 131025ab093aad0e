//! The outbox of messages to users on PostgreSQL (schema 2): the same rows and rules as
//! SQLite's `sqlite/messages.rs`; written by the shared decision steps (`decision_steps`).

use crate::server::rules;
use crate::server::storage::StorageError;
use crate::support::UserMessage;

use super::convert::{from_json, parse_ts};
use super::db::Tx;

pub fn read(
    tx: &mut Tx<'_>,
    after_id: i64,
    limit: usize,
) -> Result<Vec<UserMessage>, StorageError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = tx.all(
        "SELECT id, recipient, country, kind, item_id, body, created_at FROM user_messages
         WHERE id > ?1 ORDER BY id LIMIT ?2",
        &[&after_id, &limit],
    )?;
    let mut messages = Vec::with_capacity(rows.len());
    for r in rows {
        let body: String = r.try_get(5)?;
        let body: rules::SupportBody = from_json("message body", &body)?;
        let created_at: String = r.try_get(6)?;
        messages.push(UserMessage {
            id: r.try_get(0)?,
            recipient: r.try_get(1)?,
            country: r.try_get(2)?,
            kind: r.try_get(3)?,
            item_id: r.try_get(4)?,
            resources: body.resources,
            verified: body.verified,
            created_at: parse_ts(&created_at)?,
        });
    }
    Ok(messages)
}
