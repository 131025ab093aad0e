//! What an item derives from its reports, kept one report at a time on both engines
//! (`server::report_figures`): a repeat reporter names the lane but counts once in the
//! priority, and items filed before the report weight was kept get it from the migration
//! as filing keeps it.
//!
//! SQLite always; PostgreSQL when `MODQ_TEST_POSTGRES_URL` names a cluster.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pg;

use chrono::{DateTime, Utc};
use modq::model::{ItemKind, Lane, NewReport, ReporterType, Role, Subject};
use modq::server::{self, PostgresStorage, SqliteStorage, Storage, TokenInfo};

/// Each item's id, report weight, priority, counted reports, lane, and its leading report's
/// source and category, as stored.
type Figures = Vec<(String, i64, i64, i64, String, String, String)>;

const FIGURES: &str = "SELECT id, report_weight, priority, report_count, lane,
                              leading_reporter_type, leading_category
                       FROM items ORDER BY id";

fn now() -> DateTime<Utc> {
    "2026-11-23T12:00:00Z".parse().unwrap()
}

fn token(storage: &dyn Storage, name: &str, role: Role) -> TokenInfo {
    let hash = server::hash_token(&format!("secret-{name}"));
    storage.create_token(name, role, &hash).unwrap();
    storage.token_lookup(&hash).unwrap().unwrap()
}

/// Reports as a team files them on two items: the operator's import, an admin's intake
/// twice, a moderator three times (the third naming the urgent lane), a senior once.
fn a_teams_reports(storage: &dyn Storage) {
    let report = |item: &str, reporter_type, category: &str, lane| NewReport {
        subject: Subject {
            id: item.into(),
            kind: ItemKind::Post,
            text: Some("buy followers now".into()),
            author: None,
            language: None,
            countries: vec![],
            media: vec![],
            thread: None,
        },
        reporter_type,
        category: category.into(),
        comment: None,
        lane,
        deadline: None,
        received_at: None,
        reporter: None,
    };
    let ada = token(storage, "ada", Role::Admin);
    let alice = token(storage, "alice", Role::Moderator);
    let bob = token(storage, "bob", Role::Senior);
    let filings = [
        (None, "p1", ReporterType::Authority, "hate", None),
        (Some(&ada), "p1", ReporterType::TrustedFlagger, "scam", None),
        (Some(&ada), "p1", ReporterType::TrustedFlagger, "scam", None),
        (Some(&alice), "p1", ReporterType::User, "spam", None),
        (Some(&alice), "p1", ReporterType::User, "spam", None),
        (
            Some(&alice),
            "p1",
            ReporterType::User,
            "csam",
            Some(Lane::Urgent),
        ),
        (Some(&bob), "p1", ReporterType::Automated, "spam", None),
        (Some(&alice), "p2", ReporterType::User, "spam", None),
        (
            Some(&alice),
            "p2",
            ReporterType::User,
            "csam",
            Some(Lane::Urgent),
        ),
        (Some(&bob), "p2", ReporterType::User, "hate", None),
        (Some(&bob), "p2", ReporterType::Automated, "csam", None),
        (None, "p2", ReporterType::Automated, "spam", None),
    ];
    for (filer, item, reporter_type, category, lane) in filings {
        storage
            .file_reports(filer, &[report(item, reporter_type, category, lane)], now())
            .unwrap();
    }
}

/// p1: the import's authority report (50) sets the authority lane's base (200) and leads;
/// the intake counts twice (40 + 40), alice once (10) though her third report names the
/// urgent lane, bob once (15). p2: alice once (10), bob once (10), the import (15); the lane
/// is alice's second report's; bob's automated report leads, the import's came after it.
fn expected() -> Figures {
    let row = |id: &str, weight, priority, counted, leading: &str, category: &str| {
        let urgent = "urgent".to_string();
        (
            id.into(),
            weight,
            priority,
            counted,
            urgent,
            leading.into(),
            category.into(),
        )
    };
    vec![
        row("p1", 155, 355, 5, "authority", "hate"),
        row("p2", 35, 35, 3, "automated", "csam"),
    ]
}

fn assert_items_read_as_filed(storage: &dyn Storage) {
    for (id, _, priority, _, lane, _, category) in expected() {
        let item = storage.item(&id).unwrap().unwrap();
        assert_eq!(
            (item.priority, item.lane.as_str()),
            (priority, lane.as_str())
        );
        let leading = item.totals.and_then(|t| t.leading_category);
        assert_eq!(leading, Some(category));
    }
}

/// The backfill part of a migration: from its `UPDATE items SET report_weight` on.
fn backfill(migration: &str) -> &str {
    migration
        .find("UPDATE items SET report_weight")
        .and_then(|at| migration.get(at..))
        .unwrap()
}

#[test]
fn on_sqlite_a_repeat_reporter_counts_once_and_the_migration_agrees() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("modq.db");
    let storage = SqliteStorage::open(&path).unwrap();
    a_teams_reports(&storage);
    assert_items_read_as_filed(&storage);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let figures = |conn: &rusqlite::Connection| -> Figures {
        conn.prepare(FIGURES)
            .unwrap()
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    assert_eq!(figures(&conn), expected());
    let migration = include_str!("../src/server/sqlite/schema_14_report_figures.sql");
    conn.execute_batch(&format!(
        "UPDATE items SET report_weight = 0, leading_reporter_type = NULL,
                          leading_category = NULL; {}",
        backfill(migration)
    ))
    .unwrap();
    assert_eq!(figures(&conn), expected());
}

#[test]
fn on_postgres_a_repeat_reporter_counts_once_and_the_migration_agrees() {
    let Some(db) = pg::TestDb::create("report_figures") else {
        return;
    };
    let storage = PostgresStorage::open(&db.url).unwrap();
    a_teams_reports(&storage);
    assert_items_read_as_filed(&storage);
    let mut sql = db.client();
    let figures = |sql: &mut postgres::Client| -> Figures {
        sql.query(FIGURES, &[])
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get(6),
                )
            })
            .collect()
    };
    assert_eq!(figures(&mut sql), expected());
    let migration = include_str!("../src/server/postgres/schema_9_report_figures.sql");
    sql.batch_execute(&format!(
        "UPDATE items SET report_weight = 0, leading_reporter_type = NULL,
                          leading_category = NULL; {}",
        backfill(migration)
    ))
    .unwrap();
    assert_eq!(figures(&mut sql), expected());
}
