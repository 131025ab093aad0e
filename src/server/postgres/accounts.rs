//! Account measures on PostgreSQL (schema 2): the same rows and rules as SQLite's
//! `sqlite/accounts.rs`, recorded with the take down that carries them, lifted by its
//! reversal, and loaded for a page's authors at once.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::account::{AccountAction, AccountMeasure, AccountMeasureRecord, AccountStanding};
use crate::model::Item;
use crate::server::account_rules::{self, MEASURES_LOADED};
use crate::server::storage::StorageError;

use super::convert::{corrupt, parse_opt_ts, parse_ts, ts};
use super::db::Tx;

/// The facts one recorded measure is written from.
pub struct NewMeasure<'a> {
    pub account_id: &'a str,
    pub item_id: &'a str,
    pub token_id: i64,
    pub key: &'a str,
    pub measure: AccountMeasure,
    pub reason_code: Option<&'a str>,
    pub at: DateTime<Utc>,
}

pub fn record(tx: &mut Tx<'_>, m: &NewMeasure<'_>) -> Result<(), StorageError> {
    let until = account_rules::record(m.measure, m.at, None).until.map(ts);
    let days = m.measure.days.map(i64::from);
    tx.exec(
        "INSERT INTO account_measures (account_id, item_id, token_id, idempotency_key, action,
                                       days, reason_code, at, until)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        &[
            &m.account_id,
            &m.item_id,
            &m.token_id,
            &m.key,
            &m.measure.action.as_str(),
            &days,
            &m.reason_code,
            &ts(m.at),
            &until,
        ],
    )?;
    Ok(())
}

/// Records an account the intake named (its creation date, when the intake says it).
pub fn know(
    tx: &mut Tx<'_>,
    author: &crate::model::Author,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    tx.exec(
        "INSERT INTO accounts (id, created_at, first_seen) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET created_at = COALESCE(excluded.created_at,
                                                                accounts.created_at)",
        &[&author.id, &author.created_at.map(ts), &ts(now)],
    )?;
    Ok(())
}

/// Lifts the measure the decision (`token_id`, `key`) carried, if any and not lifted yet.
pub fn lift(
    tx: &mut Tx<'_>,
    token_id: Option<i64>,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let Some(token_id) = token_id else {
        return Ok(());
    };
    tx.exec(
        "UPDATE account_measures SET lifted_at = ?3
         WHERE token_id = ?1 AND idempotency_key = ?2 AND lifted_at IS NULL",
        &[&token_id, &key, &ts(now)],
    )?;
    Ok(())
}

/// The measure the decision (`token_id`, `key`) carried, lifted or not.
pub fn measure_of(
    tx: &mut Tx<'_>,
    token_id: Option<i64>,
    key: &str,
) -> Result<Option<AccountMeasure>, StorageError> {
    let Some(token_id) = token_id else {
        return Ok(None);
    };
    let Some(row) = tx.opt(
        "SELECT action, days FROM account_measures WHERE token_id = ?1 AND idempotency_key = ?2",
        &[&token_id, &key],
    )?
    else {
        return Ok(None);
    };
    let action: String = row.try_get(0)?;
    let days: Option<i64> = row.try_get(1)?;
    measure(&action, days).map(Some)
}

fn measure(action: &str, days: Option<i64>) -> Result<AccountMeasure, StorageError> {
    let action = AccountAction::parse(action).ok_or_else(|| corrupt("account action", action))?;
    let days = days
        .map(|d| u32::try_from(d).map_err(|_| corrupt("account measure days", d)))
        .transpose()?;
    Ok(AccountMeasure { action, days })
}

/// Each item's author standing as stored (every measure not lifted, newest first, at most
/// [`MEASURES_LOADED`] per account); the HTTP layer weighs it with the catalog.
pub fn fill_standings(tx: &mut Tx<'_>, items: &mut [Item]) -> Result<(), StorageError> {
    let authors: Vec<&str> = items
        .iter()
        .filter_map(|i| i.author.as_ref().map(|a| a.id.as_str()))
        .collect();
    let mut by_account: HashMap<String, Vec<AccountMeasureRecord>> = HashMap::new();
    if !authors.is_empty() {
        let limit = i64::try_from(MEASURES_LOADED).unwrap_or(i64::MAX);
        let rows = tx.all(
            "SELECT account_id, action, days, at, until, reason_code FROM (
                 SELECT m.*, row_number() OVER (PARTITION BY account_id
                                                ORDER BY at DESC, id DESC) AS n
                 FROM account_measures m
                 WHERE account_id = ANY(?1) AND lifted_at IS NULL
             ) ranked WHERE n <= ?2 ORDER BY account_id, at DESC, id DESC",
            &[&authors, &limit],
        )?;
        for r in rows {
            let action: String = r.try_get(1)?;
            let at: String = r.try_get(3)?;
            let until: Option<String> = r.try_get(4)?;
            by_account
                .entry(r.try_get(0)?)
                .or_default()
                .push(AccountMeasureRecord {
                    measure: measure(&action, r.try_get(2)?)?,
                    at: parse_ts(&at)?,
                    until: parse_opt_ts(until.as_deref())?,
                    reason_code: r.try_get(5)?,
                });
        }
    }
    let mut made: HashMap<String, DateTime<Utc>> = HashMap::new();
    if !authors.is_empty() {
        for r in tx.all(
            "SELECT id, created_at FROM accounts WHERE id = ANY(?1) AND created_at IS NOT NULL",
            &[&authors],
        )? {
            let at: String = r.try_get(1)?;
            made.insert(r.try_get(0)?, parse_ts(&at)?);
        }
    }
    for item in items.iter_mut() {
        item.account = item.author.as_ref().map(|author| AccountStanding {
            account_id: author.id.clone(),
            created_at: made.get(&author.id).copied().or(author.created_at),
            window_days: 0,
            strikes_in_window: 0,
            recent: by_account.get(&author.id).cloned().unwrap_or_default(),
            in_force: None,
            proposal: None,
            counts: None,
        });
    }
    Ok(())
}
