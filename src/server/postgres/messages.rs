//! The outbox of messages to users on PostgreSQL (schema 2): the same rows and rules as
//! SQLite's `sqlite/messages.rs`.

use chrono::{DateTime, Utc};

use crate::model::{Decision, ReporterAccount};
use crate::server::rules;
use crate::server::storage::{StorageError, TokenInfo};
use crate::support::{SupportCatalog, UserMessage};

use super::convert::{from_json, parse_ts, to_json, ts};
use super::db::Tx;

/// The reporters of an item the server can message, each once, in the order they reported.
fn reporters(tx: &mut Tx<'_>, item_id: &str) -> Result<Vec<ReporterAccount>, StorageError> {
    let rows = tx.all(
        "SELECT reporter FROM reports WHERE item_id = ?1 AND reporter IS NOT NULL ORDER BY id",
        &[&item_id],
    )?;
    let mut found: Vec<ReporterAccount> = Vec::new();
    for r in rows {
        let text: String = r.try_get(0)?;
        let reporter: ReporterAccount = from_json("reporter", &text)?;
        if !found.iter().any(|f| f.id == reporter.id) {
            found.push(reporter);
        }
    }
    Ok(found)
}

pub fn reachable(tx: &mut Tx<'_>, item_id: &str) -> Result<usize, StorageError> {
    Ok(reporters(tx, item_id)?.len())
}

/// One message per reporter of `d`'s item, with the resources for their country as the
/// catalog has them now.
pub fn send_support(
    tx: &mut Tx<'_>,
    actor: &TokenInfo,
    d: &Decision,
    catalog: &SupportCatalog,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    for reporter in reporters(tx, &d.item_id)? {
        let body = to_json(&rules::support_body(catalog, reporter.country.as_deref()))?;
        tx.exec(
            "INSERT INTO user_messages (recipient, country, kind, item_id, body, token_id,
                                        idempotency_key, created_at)
             VALUES (?1, ?2, 'support_resources', ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT DO NOTHING",
            &[
                &reporter.id,
                &reporter.country,
                &d.item_id,
                &body,
                &actor.id,
                &d.idempotency_key,
                &ts(now),
            ],
        )?;
    }
    Ok(())
}

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
