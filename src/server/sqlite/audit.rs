//! Reading the append-only audit log.

use rusqlite::{Connection, params};

use crate::model::DecisionMethod;

use super::SqliteStorage;
use super::convert::{corrupt, from_name, opt_json, opt_tier, parse_state, parse_ts};
use crate::server::storage::{AuditEntry, AuditQuery, StorageError};

pub(super) fn read_audit(
    conn: &Connection,
    query: &AuditQuery,
) -> Result<Vec<AuditEntry>, StorageError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, actor, role, action, item_id, reason_code, scope, note,
                escalation_target, reverses, idempotency_key, decided_at, from_state, to_state,
                actor_token_id, method, from_tier
         FROM audit WHERE id > ?1 AND (?2 IS NULL OR item_id = ?2) ORDER BY id LIMIT ?3",
    )?;
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![query.after_id, query.item, limit], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            [
                r.get::<_, String>(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ],
            [
                r.get::<_, Option<String>>(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
            ],
            [r.get::<_, String>(11)?, r.get(12)?, r.get(13)?, r.get(14)?],
            (
                r.get::<_, Option<i64>>(15)?,
                r.get::<_, Option<String>>(16)?,
                r.get::<_, Option<String>>(17)?,
            ),
        ))
    })?;
    let mut entries = Vec::new();
    for row in rows {
        let (id, [at, actor, role, action, item_id], optional, rest, (token, method, tier)) = row?;
        let [reason_code, scope, note, target, reverses] = optional;
        let [idempotency_key, decided_at, from_state, to_state] = rest;
        entries.push(AuditEntry {
            id,
            at: parse_ts(&at)?,
            actor,
            role,
            action: from_name("action", &action)?,
            item_id,
            reason_code,
            scope: opt_json("scope", scope.as_deref())?,
            note,
            escalation_target: opt_tier(target.as_deref())?,
            reverses,
            idempotency_key,
            decided_at: parse_ts(&decided_at)?,
            from_state: parse_state(&from_state)?,
            to_state: parse_state(&to_state)?,
            actor_token_id: token,
            method: method
                .map(|m| DecisionMethod::parse(&m).ok_or_else(|| corrupt("method", m)))
                .transpose()?,
            tier: opt_tier(tier.as_deref())?,
            account: None,
        });
    }
    // The measures of the take downs on this page (few: one lookup each by its key).
    for e in entries
        .iter_mut()
        .filter(|e| e.action == crate::model::DecisionAction::TakeDown)
    {
        e.account = super::accounts::measure_of(conn, e.actor_token_id, &e.idempotency_key)?;
    }
    Ok(entries)
}

pub(super) fn audit(
    storage: &SqliteStorage,
    query: &AuditQuery,
) -> Result<Vec<AuditEntry>, StorageError> {
    storage.read(|conn| read_audit(conn, query))
}
