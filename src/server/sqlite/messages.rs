//! The outbox of messages to users on SQLite (schema 9): support resources written with the
//! `send_support` decision that sends them, read by the platform's delivery job.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use crate::model::{Decision, ReporterAccount};
use crate::server::rules;
use crate::server::storage::{StorageError, TokenInfo};
use crate::support::{SupportCatalog, UserMessage};

use super::convert::{from_json, parse_ts, to_json, ts};

/// The reporters of an item the server can message, each once, in the order they reported.
fn reporters(conn: &Connection, item_id: &str) -> Result<Vec<ReporterAccount>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT reporter FROM reports WHERE item_id = ?1 AND reporter IS NOT NULL ORDER BY id",
    )?;
    let rows = stmt.query_map([item_id], |r| r.get::<_, String>(0))?;
    let mut found: Vec<ReporterAccount> = Vec::new();
    for row in rows {
        let reporter: ReporterAccount = from_json("reporter", &row?)?;
        if !found.iter().any(|r| r.id == reporter.id) {
            found.push(reporter);
        }
    }
    Ok(found)
}

pub(super) fn reachable(conn: &Connection, item_id: &str) -> Result<usize, StorageError> {
    Ok(reporters(conn, item_id)?.len())
}

/// One message per reporter of `d`'s item, with the resources for their country as the
/// catalog has them now.
pub(super) fn send_support(
    conn: &Connection,
    actor: &TokenInfo,
    d: &Decision,
    catalog: &SupportCatalog,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    for reporter in reporters(conn, &d.item_id)? {
        let body = rules::support_body(catalog, reporter.country.as_deref());
        conn.prepare_cached(
            "INSERT OR IGNORE INTO user_messages (recipient, country, kind, item_id, body,
                                                  token_id, idempotency_key, created_at)
             VALUES (?1, ?2, 'support_resources', ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            reporter.id,
            reporter.country,
            d.item_id,
            to_json(&body)?,
            actor.id,
            d.idempotency_key,
            ts(now),
        ])?;
    }
    Ok(())
}

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
