//! Account measures on SQLite (schema 9): recorded with the take down that carries them,
//! lifted by its reversal, and loaded for an item's author.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::account::{AccountAction, AccountMeasure, AccountMeasureRecord, AccountStanding};
use crate::model::Item;
use crate::server::account_rules::{self, MEASURES_LOADED};
use crate::server::storage::StorageError;

use super::convert::{corrupt, parse_opt_ts, parse_ts, ts};

/// The facts one recorded measure is written from.
pub(super) struct NewMeasure<'a> {
    pub(super) account_id: &'a str,
    pub(super) item_id: &'a str,
    pub(super) token_id: i64,
    pub(super) key: &'a str,
    pub(super) measure: AccountMeasure,
    pub(super) reason_code: Option<&'a str>,
    pub(super) at: DateTime<Utc>,
}

pub(super) fn record(conn: &Connection, m: &NewMeasure<'_>) -> Result<(), StorageError> {
    let r = account_rules::record(m.measure, m.at, None);
    conn.prepare_cached(
        "INSERT INTO account_measures (account_id, item_id, token_id, idempotency_key, action,
                                       days, reason_code, at, until)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        m.account_id,
        m.item_id,
        m.token_id,
        m.key,
        m.measure.action.as_str(),
        m.measure.days,
        m.reason_code,
        ts(m.at),
        r.until.map(ts),
    ])?;
    Ok(())
}

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

/// Lifts the measure the decision (`token_id`, `key`) carried, if any and not lifted yet.
pub(super) fn lift(
    conn: &Connection,
    token_id: Option<i64>,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let Some(token_id) = token_id else {
        return Ok(());
    };
    conn.prepare_cached(
        "UPDATE account_measures SET lifted_at = ?3
         WHERE token_id = ?1 AND idempotency_key = ?2 AND lifted_at IS NULL",
    )?
    .execute(params![token_id, key, ts(now)])?;
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
    row.map(|(action, days)| measure(&action, days)).transpose()
}

fn measure(action: &str, days: Option<u32>) -> Result<AccountMeasure, StorageError> {
    let action = AccountAction::parse(action).ok_or_else(|| corrupt("account action", action))?;
    Ok(AccountMeasure { action, days })
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
            measure: measure(&action, days)?,
            at: parse_ts(&at)?,
            until: parse_opt_ts(until.as_deref())?,
            reason_code,
        });
    }
    let known: Option<Option<String>> = conn
        .prepare_cached("SELECT created_at FROM accounts WHERE id = ?1")?
        .query_row([&author.id], |r| r.get(0))
        .optional()?;
    let created_at = match known.flatten() {
        Some(at) => Some(parse_ts(&at)?),
        None => author.created_at,
    };
    Ok(Some(AccountStanding {
        account_id: author.id.clone(),
        created_at,
        window_days: 0,
        strikes_in_window: 0,
        recent,
        in_force: None,
        proposal: None,
        counts: None,
    }))
}
