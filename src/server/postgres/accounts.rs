//! Account measures on PostgreSQL (schema 2): the same rows and rules as SQLite's
//! `sqlite/accounts.rs`, loaded for a page's authors at once. They are recorded with the
//! take down that carries them and lifted by its reversal in the shared decision steps
//! (`decision_steps`).

use chrono::{DateTime, Utc};

use crate::account::{AccountMeasure, AccountMeasureRecord, AccountStanding};
use crate::model::Author;
use crate::server::decision_steps::{standing, stored_measure};
use crate::server::storage::StorageError;

use super::convert::{corrupt, parse_opt_ts, parse_ts, ts};
use super::db::Tx;

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

/// A measure from its columns: `days` is stored as BIGINT here.
fn measure(action: &str, days: Option<i64>) -> Result<AccountMeasure, StorageError> {
    let days = days
        .map(|d| u32::try_from(d).map_err(|_| corrupt("account measure days", d)))
        .transpose()?;
    stored_measure(action, days)
}

/// A standing measure's columns as an item read carries them (see `items::CHILDREN`):
/// action, days, at, until, reason code.
pub type MeasureColumns = (String, Option<i64>, String, Option<String>, Option<String>);

/// An author's standing as stored (every measure not lifted, newest first, at most
/// [`MEASURES_LOADED`](crate::server::account_rules::MEASURES_LOADED) per account); the HTTP
/// layer weighs it with the catalog.
pub fn standing_of(
    author: &Author,
    created_at: Option<DateTime<Utc>>,
    measures: Vec<MeasureColumns>,
) -> Result<AccountStanding, StorageError> {
    let mut recent = Vec::with_capacity(measures.len());
    for (action, days, at, until, reason_code) in measures {
        recent.push(AccountMeasureRecord {
            measure: measure(&action, days)?,
            at: parse_ts(&at)?,
            until: parse_opt_ts(until.as_deref())?,
            reason_code,
        });
    }
    Ok(standing(author, created_at, recent))
}
