//! Media bytes, kept apart from the items that list them.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::SqliteStorage;
use super::convert::ts;
use crate::server::storage::{MediaBlob, StorageError};

pub(super) fn put_media(
    storage: &SqliteStorage,
    blobs: &[MediaBlob],
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    if blobs.is_empty() {
        return Ok(());
    }
    storage.write(|conn| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO media_blobs (id, content_type, bytes, created_at)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING",
            )?;
            for blob in blobs {
                insert.execute(params![blob.id, blob.content_type, blob.bytes, ts(now)])?;
            }
        }
        tx.commit()?;
        Ok(())
    })
}

pub(super) fn media(storage: &SqliteStorage, id: &str) -> Result<Option<MediaBlob>, StorageError> {
    storage.read(|conn| {
        Ok(conn
            .prepare_cached("SELECT id, content_type, bytes FROM media_blobs WHERE id = ?1")?
            .query_row([id], |r| {
                Ok(MediaBlob {
                    id: r.get(0)?,
                    content_type: r.get(1)?,
                    bytes: r.get(2)?,
                })
            })
            .optional()?)
    })
}
