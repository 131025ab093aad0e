//! The outbox of messages to users on SQLite (schema 9): support resources written with the
//! `send_support` decision that sends them (by the shared decision steps,
//! `decision_steps`), read by the platform's delivery job.

use rusqlite::{Connection, params};

use crate::server::rules;
use crate::server::storage::StorageError;
use crate::support::UserMessage;

use super::convert::{from_json, parse_ts};

pub(super) fn read(
    conn: &Connection,
    after_id: i64,
    limit: usize,
) -> Result<Vec<UserMessage>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, recipient, country, kind, item_id, body, created_at FROM user_messages
         WHERE id > ?1 ORDER BY id LIMIT ?2",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![after_id, limit], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, String>(6)?,
        ))
    })?;
    let mut messages = Vec::new();
    for row in rows {
        let (id, recipient, country, kind, item_id, body, created_at) = row?;
        let body: rules::SupportBody = from_json("message body", &body)?;
        messages.push(UserMessage {
            id,
            recipient,
            country,
            kind,
            item_id,
            resources: body.resources,
            verified: body.verified,
            created_at: parse_ts(&created_at)?,
        });
    }
    Ok(messages)
}
