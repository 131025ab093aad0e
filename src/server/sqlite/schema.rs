//! The SQLite schema: the versioned migration scripts, run on open in one transaction,
//! and the backfills that complete them on a database from an earlier modq.

use anyhow::anyhow;
use rusqlite::{Connection, params};

use crate::model::{Author, EscalationTier, ReviewState};

use super::convert::{opt_json, parse_ts};
use super::items::write_search_columns;

/// Step `i` takes the schema from version `i` to `i + 1`; a new database runs them all.
pub(super) const MIGRATIONS: [&str; 18] = [
    include_str!("schema.sql"),
    include_str!("schema_2_leases.sql"),
    include_str!("schema_3_search.sql"),
    include_str!("schema_4_trust_safety.sql"),
    include_str!("schema_5_author_state.sql"),
    include_str!("schema_6_open_queues.sql"),
    include_str!("schema_7_tallies.sql"),
    include_str!("schema_8_roles.sql"),
    include_str!("schema_9_appeals.sql"),
    include_str!("schema_10_thread.sql"),
    include_str!("schema_11_account.sql"),
    include_str!("schema_12_media.sql"),
    include_str!("schema_13_report_tally.sql"),
    include_str!("schema_14_report_figures.sql"),
    include_str!("schema_15_listing_rank.sql"),
    include_str!("schema_16_history_counts.sql"),
    include_str!("schema_17_support_once.sql"),
    include_str!("schema_18_notes_by_tier.sql"),
];
/// The version whose script adds the columns [`search_columns`] fills.
pub(super) const SEARCH_VERSION: usize = 3;
/// The version whose script rebuilds the audit table, which [`backfill_schema_8`] completes.
pub(super) const ROLES_VERSION: usize = 8;

/// The audit log's guard: rows are appended, never changed or removed. Created after the
/// table's schema 8 rebuild and backfill (see schema_8_roles.sql).
pub(super) const AUDIT_TRIGGERS: &str = "
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'audit rows are append-only');
END;";
pub(super) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub(super) fn migrate(conn: &Connection) -> anyhow::Result<()> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let done = match usize::try_from(version) {
        Ok(done) if done <= MIGRATIONS.len() => done,
        _ => {
            return Err(anyhow!(
                "database schema version {version} is not one this modq understands \
                 (0 to {SCHEMA_VERSION})"
            ));
        }
    };
    if done == MIGRATIONS.len() {
        return Ok(());
    }
    // All missing steps in one transaction: a failed upgrade leaves the file as it was.
    let tx = conn.unchecked_transaction()?;
    for step in MIGRATIONS.iter().skip(done) {
        tx.execute_batch(step)?;
    }
    if done < SEARCH_VERSION {
        backfill_search_columns(&tx)?;
    }
    if done < ROLES_VERSION {
        backfill_schema_8(&tx)?;
        tx.execute_batch(AUDIT_TRIGGERS)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

/// Fills the search columns of every item, for a database that predates them.
pub(super) fn backfill_search_columns(conn: &Connection) -> anyhow::Result<()> {
    let rows: Vec<(String, Option<String>, Option<String>)> = conn
        .prepare("SELECT id, text, author FROM items")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (id, text, author) in rows {
        let author: Option<Author> = opt_json("author", author.as_deref())?;
        write_search_columns(conn, &id, text.as_deref(), author.as_ref())?;
    }
    Ok(())
}

/// Completes the schema 8 rebuild of the audit log by replaying it in order: the tier each
/// decision was made under and left the item with, the row each reversal undid, and the
/// tier each item is held by now. A `decided_at` that cannot be read back (a year like
/// -0001, which earlier versions stored) becomes the row's server time, so that the log can
/// be read again. Runs before the append-only triggers are put back.
pub(super) fn backfill_schema_8(conn: &Connection) -> anyhow::Result<()> {
    type Replayed = (i64, String, String, String, Option<String>, String);
    type Row = (Replayed, Option<String>, Option<String>, String, String);
    let rows: Vec<Row> = conn
        .prepare(
            "SELECT id, item_id, action, idempotency_key, reverses, from_state,
                    from_escalation_target, escalation_target, at, decided_at
             FROM audit ORDER BY id",
        )?
        .query_map([], |r| {
            Ok((
                (
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ),
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let senior = || EscalationTier::Senior.as_str().to_owned();
    let mut held: std::collections::HashMap<String, Option<String>> = Default::default();
    let mut by_key: std::collections::HashMap<(String, String), i64> = Default::default();
    let mut from_tiers: std::collections::HashMap<i64, Option<String>> = Default::default();
    let mut update = conn.prepare(
        "UPDATE audit SET from_tier = ?2, to_tier = ?3, reverses_id = ?4, decided_at = ?5
         WHERE id = ?1",
    )?;
    for ((id, item, action, key, reverses, from_state), from_target, target, at, decided) in rows {
        let from_tier = if from_state == ReviewState::Escalated.as_str() {
            Some(from_target.unwrap_or_else(senior))
        } else {
            held.get(&item).cloned().flatten()
        };
        let (to_tier, reverses_id) = match action.as_str() {
            "escalate" => (Some(target.unwrap_or_else(senior)), None),
            "reverse" => {
                let undone = reverses.and_then(|k| by_key.get(&(item.clone(), k)).copied());
                let restored = undone.and_then(|u| from_tiers.get(&u).cloned().flatten());
                (restored, undone)
            }
            _ => (from_tier.clone(), None),
        };
        let decided = if parse_ts(&decided).is_ok() {
            decided
        } else {
            at
        };
        update.execute(params![id, from_tier, to_tier, reverses_id, decided])?;
        held.insert(item.clone(), to_tier);
        by_key.insert((item, key), id);
        from_tiers.insert(id, from_tier);
    }
    let mut hold = conn.prepare("UPDATE items SET hold_tier = ?2 WHERE id = ?1")?;
    for (item, tier) in held {
        if tier.is_some() {
            hold.execute(params![item, tier])?;
        }
    }
    Ok(())
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    use crate::model::{DecisionAction, DecisionMethod, DecisionOutcome};
    use crate::policy::PolicyCatalog;
    use crate::server::sqlite::SqliteStorage;
    use crate::server::storage::AuditQuery;
    use crate::server::storage::Storage;

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn a_version_1_database_gains_leases_and_keeps_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("modq.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(MIGRATIONS[0]).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO tokens (hash, name, role, created_at) VALUES ('h', 'al', 'moderator', 'x')",
                [],
            )
            .unwrap();
            conn.execute(
                "INSERT INTO items (id, kind, text, author, countries, media, priority, lane,
                                    state, created_at)
                 VALUES ('p1', 'post', 'Free Crypto for EVERYONE at https://scam.example',
                         '{\"id\":\"u1\",\"handle\":\"@Spammer\"}', '[]', '[]', 10,
                         'standard', 'open', '2026-01-01T00:00:00.000000Z')",
                [],
            )
            .unwrap();
        }
        let storage = SqliteStorage::open(&path).unwrap();
        let conn = storage.writer.lock().unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        assert!(tables(&conn).contains(&"leases".to_string()));
        // Items stored before filters existed can be found by them.
        let (handle, links, text_lc): (String, String, String) = conn
            .query_row(
                "SELECT author_handle, links, text_lc FROM items WHERE id = 'p1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(handle, "spammer");
        assert_eq!(links, r#"["scam.example"]"#);
        assert!(text_lc.starts_with("free crypto for everyone"));
        drop(conn);
        assert!(storage.token_lookup("h").unwrap().is_some());
        drop(storage);
        // Opening again changes nothing.
        SqliteStorage::open(&path).unwrap();
    }

    /// A version 7 database as an earlier modq left it: two tokens with one name, a log with
    /// an escalation to child safety and its reversal, a legal take down, and a decision
    /// whose `decided_at` (year -1) made every audit page holding it fail.
    #[test]
    fn a_version_7_database_gains_tiers_token_ids_and_a_readable_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("modq.db");
        {
            let conn = Connection::open(&path).unwrap();
            for step in MIGRATIONS.iter().take(7) {
                conn.execute_batch(step).unwrap();
            }
            conn.pragma_update(None, "user_version", 7).unwrap();
            conn.execute_batch(
                "INSERT INTO tokens (hash, name, role, created_at) VALUES
                     ('h1', 'al', 'moderator', '2026-01-01T00:00:00.000000Z'),
                     ('h2', 'lee', 'legal', '2026-01-02T00:00:00.000000Z'),
                     ('h3', 'al', 'admin', '2026-01-03T00:00:00.000000Z');
                 INSERT INTO items (id, kind, countries, media, priority, lane, state,
                                    escalation_target, created_at)
                 VALUES ('c1', 'post', '[]', '[]', 10, 'standard', 'open', NULL,
                         '2026-01-01T00:00:00.000000Z'),
                        ('l1', 'post', '[]', '[]', 10, 'standard', 'taken_down', NULL,
                         '2026-01-01T00:00:00.000000Z');
                 INSERT INTO audit (at, actor, role, action, item_id, escalation_target,
                                    reverses, idempotency_key, decided_at, from_state,
                                    from_escalation_target, to_state)
                 VALUES
                  ('2026-01-05T00:00:00.000000Z', 'al', 'moderator', 'escalate', 'c1',
                   'child_safety', NULL, 'k1', '2026-01-05T00:00:00.000000Z', 'open', NULL,
                   'escalated'),
                  ('2026-01-05T01:00:00.000000Z', 'al', 'moderator', 'reverse', 'c1',
                   NULL, 'k1', 'k2', '-0001-01-01T00:00:00.000000Z', 'escalated',
                   'child_safety', 'open'),
                  ('2026-01-05T02:00:00.000000Z', 'al', 'moderator', 'escalate', 'l1',
                   'legal', NULL, 'k3', '2026-01-05T02:00:00.000000Z', 'open', NULL,
                   'escalated'),
                  ('2026-01-05T03:00:00.000000Z', 'lee', 'legal', 'take_down', 'l1',
                   NULL, NULL, 'k4', '2026-01-05T03:00:00.000000Z', 'escalated', 'legal',
                   'taken_down');",
            )
            .unwrap();
        }
        let storage = SqliteStorage::open(&path).unwrap();
        let query = AuditQuery {
            after_id: 0,
            item: None,
            limit: 100,
        };
        let log = storage.audit(&query).unwrap();
        assert_eq!(log.len(), 4, "the whole log reads again");
        assert_eq!(
            log[1].decided_at, log[1].at,
            "year -1 became the server's time"
        );
        let tiers: Vec<Option<EscalationTier>> = log.iter().map(|e| e.tier).collect();
        assert_eq!(
            tiers,
            [
                None,
                Some(EscalationTier::ChildSafety),
                None,
                Some(EscalationTier::Legal)
            ]
        );
        // Names are unique now; the log's "al" is the first token of that name.
        let tokens = storage.tokens().unwrap();
        let names: Vec<&str> = tokens.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["al", "lee", "al-3"]);
        assert_eq!(log[0].actor_token_id, Some(tokens[0].id));
        assert_eq!(log[3].actor_token_id, Some(tokens[1].id));
        assert!(storage.token_lookup("h3").unwrap().is_some());

        let conn = storage.writer.lock().unwrap();
        let (held, reverses_id): (Option<String>, Option<i64>) = conn
            .query_row(
                "SELECT (SELECT hold_tier FROM items WHERE id = 'l1'),
                        (SELECT reverses_id FROM audit WHERE idempotency_key = 'k2')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            held.as_deref(),
            Some("legal"),
            "legal's take down stays legal's"
        );
        assert_eq!(reverses_id, Some(log[0].id));
        let update = conn.execute("UPDATE audit SET actor = 'mallory'", []);
        assert!(format!("{update:?}").contains("append-only"), "{update:?}");
        drop(conn);

        // Keys are per token now: another token may use "k1".
        let lee = storage.token_lookup("h2").unwrap().unwrap();
        let mut keep = crate::model::Decision {
            idempotency_key: "k1".into(),
            item_id: "c1".into(),
            action: DecisionAction::Keep,
            reason_code: None,
            note: None,
            scope: None,
            escalation_target: None,
            reverses: None,
            decided_at: Utc::now(),
            method: DecisionMethod::Single,
            account: None,
        };
        let results = storage
            .apply_decisions(&lee, &[keep.clone()], &PolicyCatalog::builtin(), Utc::now())
            .unwrap();
        assert_eq!(results[0].outcome, DecisionOutcome::Applied, "{results:?}");
        // And the legal take down is legal's to reverse, not the first "al"'s.
        let al = storage.token_lookup("h1").unwrap().unwrap();
        keep.idempotency_key = "k5".into();
        keep.item_id = "l1".into();
        keep.action = DecisionAction::Reverse;
        keep.reverses = Some("k4".into());
        let results = storage
            .apply_decisions(&al, &[keep], &PolicyCatalog::builtin(), Utc::now())
            .unwrap();
        assert_eq!(results[0].outcome, DecisionOutcome::Conflict, "{results:?}");
        drop(storage);
        SqliteStorage::open(&path).unwrap();
    }

    #[test]
    fn a_newer_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("modq.db");
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", 99)
            .unwrap();
        let error = SqliteStorage::open(&path).err().unwrap();
        assert!(format!("{error:#}").contains("version 99"), "{error:#}");
    }
}
