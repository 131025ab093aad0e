//! Bearer tokens: only their hashes are stored.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, TransactionBehavior, params};

use crate::model::Role;

use super::SqliteStorage;
use super::convert::{corrupt, parse_opt_ts, parse_ts, ts};
use crate::server::storage::{StorageError, TokenInfo, TokenRecord};

pub(super) type TokenRow = (i64, String, String, String, Option<String>);

pub(super) fn token_row(r: &Row<'_>) -> rusqlite::Result<TokenRow> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

pub(super) fn into_token_record(
    (id, name, role, created_at, revoked_at): TokenRow,
) -> Result<TokenRecord, StorageError> {
    Ok(TokenRecord {
        id,
        name,
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        created_at: parse_ts(&created_at)?,
        revoked_at: parse_opt_ts(revoked_at.as_deref())?,
    })
}

pub(super) fn token_lookup(
    storage: &SqliteStorage,
    hash: &str,
) -> Result<Option<TokenInfo>, StorageError> {
    storage.read(|conn| {
        let row = conn
            .prepare_cached(
                "SELECT id, name, role FROM tokens WHERE hash = ?1 AND revoked_at IS NULL",
            )?
            .query_row([hash], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .optional()?;
        let Some((id, name, role)) = row else {
            return Ok(None);
        };
        let role = Role::parse(&role).ok_or_else(|| corrupt("role", &role))?;
        Ok(Some(TokenInfo { id, name, role }))
    })
}

pub(super) fn create_token(
    storage: &SqliteStorage,
    name: &str,
    role: Role,
    hash: &str,
) -> Result<i64, StorageError> {
    storage.write(|conn| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let taken: Option<String> = tx
            .query_row(
                "SELECT name FROM tokens WHERE name = ?1 COLLATE NOCASE",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(taken) = taken {
            return Err(StorageError::Invalid(format!(
                "a token named {taken:?} exists already (names are unique, revoked tokens' \
                 included, whatever their case): choose another name"
            )));
        }
        tx.execute(
            "INSERT INTO tokens (hash, name, role, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![hash, name, role.as_str(), ts(Utc::now())],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    })
}

pub(super) fn tokens(storage: &SqliteStorage) -> Result<Vec<TokenRecord>, StorageError> {
    storage.read(|conn| {
        let mut stmt =
            conn.prepare("SELECT id, name, role, created_at, revoked_at FROM tokens ORDER BY id")?;
        let rows = stmt.query_map([], token_row)?;
        let mut tokens = Vec::new();
        for row in rows {
            tokens.push(into_token_record(row?)?);
        }
        Ok(tokens)
    })
}

pub(super) fn revoke_token(
    storage: &SqliteStorage,
    id_or_name: &str,
    now: DateTime<Utc>,
) -> Result<Option<TokenRecord>, StorageError> {
    storage.write(|conn| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // An id first: a name that is all digits is still found by its id's number.
        let id: Option<i64> = tx
            .query_row(
                "SELECT id FROM tokens WHERE id = ?1
                 UNION ALL SELECT id FROM tokens WHERE name = ?2 COLLATE NOCASE LIMIT 1",
                params![id_or_name.parse::<i64>().ok(), id_or_name],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = id else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1",
            params![id, ts(now)],
        )?;
        let row = tx.query_row(
            "SELECT id, name, role, created_at, revoked_at FROM tokens WHERE id = ?1",
            [id],
            token_row,
        )?;
        tx.commit()?;
        Ok(Some(into_token_record(row)?))
    })
}
