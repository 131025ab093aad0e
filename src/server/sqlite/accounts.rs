//! Account measures on SQLite (schema 9): loaded for an item's author. They are recorded
//! with the take down that carries them and lifted by its reversal in the shared decision
//! steps (`decision_steps`).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::account::{AccountMeasure, AccountMeasureRecord, AccountStanding};
use crate::model::Item;
use crate::server::account_rules::MEASURES_LOADED;
use crate::server::decision_steps::{standing, stored_measure};
use crate::server::storage::StorageError;

use super::convert::{parse_opt_ts, parse_ts, ts};

/// Records an account the intake named (its creation date, when the intake says it).
pub(super) fn know(
    conn: &Connection,
    author: &crate::model::Author,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    conn.prepare_cached(
        "INSERT INTO accounts (id, created_at, first_seen) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET created_at = COALESCE(excluded.created_at,
                                                                accounts.created_at)",
    )?
    .execute(params![author.id, author.created_at.map(ts), ts(now)])?;
    Ok(())
}

/// The measure the decision (`token_id`, `key`) carried, lifted or not: what its audit row
/// and statement state.
pub(super) fn measure_of(
    conn: &Connection,
    token_id: Option<i64>,
    key: &str,
) -> Result<Option<AccountMeasure>, StorageError> {
    let Some(token_id) = token_id else {
        return Ok(None);
    };
    let row = conn
        .prepare_cached(
            "SELECT action, days FROM account_measures
             WHERE token_id = ?1 AND idempotency_key = ?2",
        )?
        .query_row(params![token_id, key], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<u32>>(1)?))
        })
        .optional()?;
    row.map(|(action, days)| stored_measure(&action, days))
        .transpose()
}

/// The author's standing as stored: every measure not lifted, newest first (at most
/// [`MEASURES_LOADED`]); the HTTP layer weighs it with the catalog.
pub(super) fn standing_of(
    conn: &Connection,
    item: &Item,
) -> Result<Option<AccountStanding>, StorageError> {
    let Some(author) = item.author.as_ref() else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT action, days, at, until, reason_code FROM account_measures
         WHERE account_id = ?1 AND lifted_at IS NULL ORDER BY at DESC, id DESC LIMIT ?2",
    )?;
    let limit = i64::try_from(MEASURES_LOADED).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![author.id, limit], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Option<u32>>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    let mut recent = Vec::new();
    for row in rows {
        let (action, days, at, until, reason_code) = row?;
        recent.push(AccountMeasureRecord {
            measure: stored_measure(&action, days)?,
            at: parse_ts(&at)?,
            until: parse_opt_ts(until.as_deref())?,
            reason_code,
        });
    }
    let known: Option<Option<String>> = conn
        .prepare_cached("SELECT created_at FROM accounts WHERE id = ?1")?
        .query_row([&author.id], |r| r.get(0))
        .optional()?;
    let known_created_at = parse_opt_ts(known.flatten().as_deref())?;
    Ok(Some(standing(author, known_created_at, recent)))
}
