//! How many decisions and notes an item has in all, which an item read says beside the
//! newest of each: the database keeps the counts as rows are added (SQLite migration 16,
//! PostgreSQL 11), and items from before get them from the migration as the triggers keep
//! them. A note written at a tier (an escalated item's) is counted at that tier, so that a
//! role that may not read it is not told of it either.
//!
//! SQLite always; PostgreSQL when `MODQ_TEST_POSTGRES_URL` names a cluster.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pg;

use chrono::{DateTime, Utc};
use modq::model::{
    Decision, DecisionAction, EscalationTier, ItemKind, NewReport, ReporterType, Role, Subject,
};
use modq::policy::PolicyCatalog;
use modq::server::{self, PostgresStorage, SqliteStorage, Storage, TokenInfo};

/// Each item's decision count, and each (item, tier) note count ('' for no tier), as stored.
type Counts = (Vec<(String, i64)>, Vec<(String, String, i64)>);

const DECISIONS: &str = "SELECT id, decision_count FROM items ORDER BY id";
const NOTES: &str = "SELECT item_id, tier, notes FROM note_tally ORDER BY item_id, tier";

fn now() -> DateTime<Utc> {
    "2026-11-23T12:00:00Z".parse().unwrap()
}

fn token(storage: &dyn Storage, name: &str, role: Role) -> TokenInfo {
    let hash = server::hash_token(&format!("secret-{name}"));
    storage.create_token(name, role, &hash).unwrap();
    storage.token_lookup(&hash).unwrap().unwrap()
}

/// A morning on two posts: notes on both; p1 kept, undone, escalated to child safety with a
/// note there; p2 taken down.
fn a_morning(storage: &dyn Storage) {
    let reports: Vec<NewReport> = ["p1", "p2", "p3"]
        .iter()
        .map(|id| NewReport {
            subject: Subject {
                id: (*id).into(),
                kind: ItemKind::Post,
                text: Some("a post".into()),
                author: None,
                language: None,
                countries: vec![],
                media: vec![],
                thread: None,
            },
            reporter_type: ReporterType::User,
            category: "spam".into(),
            comment: None,
            lane: None,
            deadline: None,
            received_at: None,
            reporter: None,
        })
        .collect();
    storage.add_reports(&reports, now()).unwrap();
    let alice = token(storage, "alice", Role::Moderator);
    let carol = token(storage, "carol", Role::ChildSafety);
    let policies = PolicyCatalog::builtin();
    let decide = |who: &TokenInfo, d: Decision| {
        let results = storage
            .apply_decisions(who, &[d], &policies, now())
            .unwrap();
        assert_eq!(
            results[0].outcome,
            modq::model::DecisionOutcome::Applied,
            "{results:?}"
        );
    };
    for n in 0..3 {
        storage
            .add_note(&alice, "p1", &format!("note {n}"), now())
            .unwrap();
    }
    storage.add_note(&alice, "p2", "looks fine", now()).unwrap();
    decide(
        &alice,
        Decision::bare("k1", "p1", DecisionAction::Keep, now()),
    );
    let mut undo = Decision::bare("k1-undo", "p1", DecisionAction::Reverse, now());
    undo.reverses = Some("k1".into());
    decide(&alice, undo);
    let mut escalate = Decision::bare("e1", "p1", DecisionAction::Escalate, now());
    escalate.escalation_target = Some(EscalationTier::ChildSafety);
    escalate.note = Some("the second image".into());
    decide(&alice, escalate);
    storage
        .add_note(&carol, "p1", "for the specialists", now())
        .unwrap();
    let mut down = Decision::bare("d1", "p2", DecisionAction::TakeDown, now());
    down.scope = Some(modq::model::Scope::Global);
    decide(&alice, down);
}

fn expected() -> Counts {
    let tier = |t: EscalationTier| {
        serde_json::to_value(t)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    };
    (
        vec![("p1".into(), 3), ("p2".into(), 1), ("p3".into(), 0)],
        vec![
            ("p1".into(), String::new(), 3),
            ("p1".into(), tier(EscalationTier::ChildSafety), 1),
            ("p2".into(), String::new(), 1),
        ],
    )
}

/// The counts an item read says, for the admin who may read every note.
fn assert_read_as_counted(storage: &dyn Storage) {
    let p1 = storage.item("p1").unwrap().unwrap();
    let totals = p1.totals.unwrap();
    // A report, three decisions, four notes.
    assert_eq!(totals.history, 1 + 3 + 4);
}

/// The backfill part of a migration: from its `UPDATE items SET decision_count` to the
/// triggers that follow it.
fn backfill(migration: &str) -> &str {
    let from = migration.find("UPDATE items SET decision_count").unwrap();
    let to = from + migration[from..].find("CREATE ").unwrap();
    &migration[from..to]
}

#[test]
fn on_sqlite_the_database_counts_decisions_and_notes_as_the_migration_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("modq.db");
    let storage = SqliteStorage::open(&path).unwrap();
    a_morning(&storage);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let counts = |conn: &rusqlite::Connection| -> Counts {
        let decisions = conn
            .prepare(DECISIONS)
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let notes = conn
            .prepare(NOTES)
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        (decisions, notes)
    };
    assert_eq!(counts(&conn), expected());
    assert_read_as_counted(&storage);
    let migration = include_str!("../src/server/sqlite/schema_16_history_counts.sql");
    conn.execute_batch(&format!(
        "UPDATE items SET decision_count = 0; DELETE FROM note_tally; {}",
        backfill(migration)
    ))
    .unwrap();
    assert_eq!(counts(&conn), expected());
}

#[test]
fn on_postgres_the_database_counts_decisions_and_notes_as_the_migration_does() {
    let Some(db) = pg::TestDb::create("history_counts") else {
        return;
    };
    let storage = PostgresStorage::open(&db.url).unwrap();
    a_morning(&storage);
    assert_read_as_counted(&storage);
    let mut sql = db.client();
    let counts = |sql: &mut postgres::Client| -> Counts {
        let decisions = sql
            .query(DECISIONS, &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let notes = sql
            .query(NOTES, &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        (decisions, notes)
    };
    assert_eq!(counts(&mut sql), expected());
    let migration = include_str!("../src/server/postgres/schema_11_history_counts.sql");
    sql.batch_execute(&format!(
        "UPDATE items SET decision_count = 0; DELETE FROM note_tally; {}",
        backfill(migration)
    ))
    .unwrap();
    assert_eq!(counts(&mut sql), expected());
}

/// After the morning, the child-safety specialist works the case with 150 notes and keeps
/// the post. A moderator reading it sees their colleagues' three notes (the specialist's, at
/// a tier they may not read, used to push every one of them out of the newest hundred
/// listed); the specialist sees the newest hundred notes of all.
fn a_case_worked_in_notes(storage: &dyn Storage) {
    a_morning(storage);
    let carol = storage
        .token_lookup(&server::hash_token("secret-carol"))
        .unwrap()
        .unwrap();
    for n in 0..150 {
        storage
            .add_note(&carol, "p1", &format!("case note {n}"), now())
            .unwrap();
    }
    let results = storage
        .apply_decisions(
            &carol,
            &[Decision::bare("c1", "p1", DecisionAction::Keep, now())],
            &PolicyCatalog::builtin(),
            now(),
        )
        .unwrap();
    assert_eq!(results[0].outcome, modq::model::DecisionOutcome::Applied);
    let notes_seen_by = |role: Role| -> Vec<String> {
        let mut item = storage.item("p1").unwrap().unwrap();
        server::redact_history(role, &mut item);
        item.history
            .iter()
            .filter(|h| h.event == modq::model::HistoryEvent::Note)
            .filter_map(|h| h.note.clone())
            .collect()
    };
    assert_eq!(
        notes_seen_by(Role::Moderator),
        ["note 0", "note 1", "note 2"]
    );
    let carols = notes_seen_by(Role::ChildSafety);
    assert_eq!(carols.len(), server::NOTES_LISTED);
    assert_eq!(carols.last().map(String::as_str), Some("case note 149"));
    assert_eq!(carols.first().map(String::as_str), Some("case note 50"));
}

#[test]
fn notes_a_role_may_not_read_never_push_those_it_may_out_of_its_view() {
    let dir = tempfile::tempdir().unwrap();
    a_case_worked_in_notes(&SqliteStorage::open(&dir.path().join("modq.db")).unwrap());
    if let Some(db) = pg::TestDb::create("notes_by_tier") {
        a_case_worked_in_notes(&PostgresStorage::open(&db.url).unwrap());
    }
}
