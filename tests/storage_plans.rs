//! Query plans on PostgreSQL (issue 18): every statement of a moderator's day finds its rows
//! through an index. A plan that scans a whole table is invisible on the sample queue and
//! ruinous at 150,000 items: last time one (a collation that no index could serve, and an
//! `OR` over a subquery) took decisions from ~350 to 7 a second while every test passed.
//!
//! Deterministic, not timed: the day runs with `enable_seqscan = off`, under which the
//! planner takes any index that can serve a statement, however small the table. A sequential
//! scan that is still counted in `pg_stat_user_tables` is then one no index could avoid: the
//! statement or the schema has to change. Counters are read after every connection of the day
//! has closed (a backend hands its counts in as it exits).
//!
//! When it fails, the statement is found by logging every plan: in the test's `ALTER
//! DATABASE` add `SET session_preload_libraries = 'auto_explain'` and
//! `SET auto_explain.log_min_duration = 0`, rerun, and look for `Seq Scan on` in the
//! cluster's log (`target/pg/postgres.log`). Making it fail on purpose (giving
//! `reports.item_id` the default collation again, as before migration 7) scans `reports` 45
//! times in this day.
//!
//! Runs when `MODQ_TEST_POSTGRES_URL` names a PostgreSQL the tests may create databases in
//! (`scripts/postgres.sh up target/pg`); without it the test says it did not run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pg;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};

use modq::model::{
    Author, Decision, DecisionAction, DecisionOutcome, ItemKind, Lane, NewAppeal, NewReport,
    ReporterAccount, ReporterType, Role, Subject,
};
use modq::policy::PolicyCatalog;
use modq::server::{
    self, AuditQuery, ClaimLimits, PostgresStorage, QueueQuery, Storage, TokenInfo,
};

/// Tables whose rows grow with the queue: a whole scan of any of them is the cost this
/// test exists to catch. (Tokens, tallies and the schema's own bookkeeping stay small.)
const GROWING: [&str; 9] = [
    "items",
    "reports",
    "audit",
    "notes",
    "leases",
    "appeals",
    "account_measures",
    "user_messages",
    "accounts",
];

fn now() -> DateTime<Utc> {
    "2026-11-23T12:00:00Z".parse().unwrap()
}

fn post(id: usize, author: usize) -> Subject {
    Subject {
        id: format!("at://plans/post {id}"),
        kind: ItemKind::Post,
        text: Some(format!("post number {id}")),
        author: Some(Author {
            id: format!("did:plc:author{author}"),
            handle: Some(format!("author{author}.test")),
            created_at: None,
        }),
        language: Some("en".into()),
        countries: vec!["DE".into()],
        media: vec![],
        thread: None,
    }
}

fn report(subject: Subject, reporter_type: ReporterType, category: &str) -> NewReport {
    NewReport {
        subject,
        reporter_type,
        category: category.into(),
        comment: Some("seen in my feed".into()),
        lane: None,
        deadline: None,
        received_at: Some(now() - TimeDelta::hours(2)),
        reporter: Some(ReporterAccount {
            id: "user:reporter".into(),
            country: Some("DE".into()),
        }),
    }
}

fn decision(key: &str, item: &str, action: DecisionAction) -> Decision {
    Decision::bare(key, item, action, now())
}

fn token(storage: &dyn Storage, name: &str, role: Role) -> TokenInfo {
    let hash = server::hash_token(&format!("secret-{name}"));
    storage.create_token(name, role, &hash).unwrap();
    storage.token_lookup(&hash).unwrap().unwrap()
}

/// Waits until every other connection to the database has gone (and so handed in its
/// counts), and gives a connection to read them on.
fn quiet(db: &pg::TestDb) -> postgres::Client {
    let mut client = db.client();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let others: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get(0);
        if others == 0 {
            return client;
        }
        assert!(
            Instant::now() < deadline,
            "{others} connections still open a minute after the storage was dropped"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sequential scans so far of each growing table.
fn seq_scans(db: &pg::TestDb) -> BTreeMap<String, i64> {
    quiet(db)
        .query(
            "SELECT relname::TEXT, seq_scan FROM pg_stat_user_tables WHERE relname = ANY($1)",
            &[&GROWING.as_slice()],
        )
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

/// Rows of `table` read so far, by whole-table scans and through any of its indexes.
fn rows_read(db: &pg::TestDb, table: &str) -> i64 {
    quiet(db)
        .query_one(
            "SELECT t.seq_tup_read + COALESCE(SUM(i.idx_tup_read), 0)::BIGINT
             FROM pg_stat_user_tables t
             LEFT JOIN pg_stat_user_indexes i ON i.relid = t.relid
             WHERE t.relname = $1
             GROUP BY t.seq_tup_read",
            &[&table],
        )
        .unwrap()
        .get(0)
}

/// A moderator's day on a queue of a few hundred items: claims, reads, every kind of
/// decision, an undo, a note, an appeal, lease renewals and releases, a selection, the lane
/// counts, the audit and the exports.
fn a_moderators_day(storage: &dyn Storage) {
    let alice = token(storage, "alice", Role::Moderator);
    let senior = token(storage, "senior", Role::Admin);
    let intake = token(storage, "intake", Role::Admin);
    let policies = PolicyCatalog::builtin();
    assert_eq!(storage.token_lookup("no such hash").unwrap(), None);

    // Reports keep arriving on items already in the queue, and on new ones.
    let more: Vec<NewReport> = (0..20)
        .map(|i| report(post(i * 7, i), ReporterType::User, "spam"))
        .chain([report(post(9_999, 3), ReporterType::TrustedFlagger, "csam")])
        .collect();
    storage.file_reports(Some(&intake), &more, now()).unwrap();

    let query = QueueQuery {
        limit: 10,
        as_of: now(),
        ..QueueQuery::default()
    };
    let limits = ClaimLimits {
        max_leases: 20,
        active_elsewhere: vec!["bob".into()],
    };
    let claimed = storage
        .claim_within("alice", &query, 300, &limits, now())
        .unwrap();
    let ids: Vec<String> = claimed.items.iter().map(|i| i.id.clone()).collect();
    assert_eq!(ids.len(), 10, "a claim of ten from a queue of hundreds");
    let page = storage.queue_page(&query).unwrap();
    assert!(!page.items.is_empty());
    let filtered = QueueQuery {
        lane: Some(Lane::Standard),
        filter: modq::query::Query::parse("cat:spam lang:en").unwrap(),
        ..query.clone()
    };
    storage.queue_page(&filtered).unwrap();
    storage.live_holders(&ids, now()).unwrap();
    storage.renew_leases("alice", &ids, 300, now()).unwrap();

    for id in &ids {
        assert!(storage.item(id).unwrap().is_some());
    }
    assert!(storage.item("no such item").unwrap().is_none());

    let decide = |d: Decision| {
        let results = storage
            .apply_decisions(&alice, &[d], &policies, now())
            .unwrap();
        assert_eq!(results[0].outcome, DecisionOutcome::Applied, "{results:?}");
    };
    decide(decision("d-keep", &ids[0], DecisionAction::Keep));
    let mut down = decision("d-down", &ids[1], DecisionAction::TakeDown);
    down.reason_code = Some("spam".into());
    decide(down);
    let mut undone = decision("d-down-2", &ids[2], DecisionAction::TakeDown);
    undone.reason_code = Some("spam".into());
    decide(undone);
    let mut undo = decision("d-undo", &ids[2], DecisionAction::Reverse);
    undo.reverses = Some("d-down-2".into());
    decide(undo);
    let mut up = decision("d-escalate", &ids[3], DecisionAction::Escalate);
    up.escalation_target = Some(modq::model::EscalationTier::Senior);
    up.note = Some("not sure this is satire".into());
    decide(up);
    // The same key again, as a client replaying its outbox after a crash.
    let replay = storage
        .apply_decisions(
            &alice,
            &[decision("d-keep", &ids[0], DecisionAction::Keep)],
            &policies,
            now(),
        )
        .unwrap();
    assert_eq!(replay[0].outcome, DecisionOutcome::Duplicate);
    storage
        .add_note(&senior, &ids[3], "looking at it", now())
        .unwrap()
        .unwrap();

    let selected = storage
        .select("alice", &query, 5, now())
        .expect("a selection");
    let _ = selected;
    storage
        .claim_items(&alice, &ids[4..6], 300, &limits, now())
        .unwrap();
    storage.release_leases("alice", &ids[4..]).unwrap();

    // The appellant of the take down, through the intake; the appeal read as an item.
    let log = storage
        .audit(&AuditQuery {
            after_id: 0,
            item: Some(ids[1].clone()),
            limit: 100,
        })
        .unwrap();
    let taken_down = log.iter().find(|e| e.item_id == ids[1]).unwrap();
    let lodged = storage
        .lodge_appeal(
            &intake,
            &NewAppeal {
                decision: format!("modq-{}", taken_down.id),
                statement: "it was a joke between friends".into(),
            },
            now(),
        )
        .unwrap()
        .expect("appealable");
    storage.item(&lodged.item_id).unwrap().unwrap();
    storage
        .appeals_of(std::slice::from_ref(&lodged.item_id))
        .unwrap();

    storage.queue_counts(now()).unwrap();
    storage
        .audit(&AuditQuery {
            after_id: 0,
            item: None,
            limit: 100,
        })
        .unwrap();
    storage.messages(0, 100).unwrap();
    storage
        .decisions_between(now() - TimeDelta::hours(1), now() + TimeDelta::hours(1))
        .unwrap();
    storage
        .take_downs_since(now() - TimeDelta::hours(1), 0, 1000)
        .unwrap();
}

#[test]
fn a_moderators_day_scans_no_growing_table_whole() {
    let Some(db) = pg::TestDb::create("plans") else {
        return;
    };
    {
        let storage = PostgresStorage::open(&db.url).unwrap();
        let queue: Vec<NewReport> = (0..400)
            .map(|i| {
                let reporter = match i % 10 {
                    0 => ReporterType::TrustedFlagger,
                    1 => ReporterType::Authority,
                    _ => ReporterType::User,
                };
                report(post(i, i % 40), reporter, ["spam", "hate", "csam"][i % 3])
            })
            .collect();
        storage.add_reports(&queue, now()).unwrap();
    }
    db.client()
        .batch_execute(&format!(
            "ANALYZE; ALTER DATABASE {} SET enable_seqscan = off",
            db.name()
        ))
        .unwrap();
    let before = seq_scans(&db);
    {
        let storage = PostgresStorage::open(&db.url).unwrap();
        a_moderators_day(&storage);
    }
    let after = seq_scans(&db);
    assert_eq!(
        after.len(),
        GROWING.len(),
        "every growing table is one of the schema's: {after:?}"
    );
    let scanned: Vec<String> = GROWING
        .iter()
        .filter_map(|table| {
            let n =
                after.get(*table).copied().unwrap_or(0) - before.get(*table).copied().unwrap_or(0);
            (n > 0).then(|| format!("{table}: {n}"))
        })
        .collect();
    assert!(
        scanned.is_empty(),
        "statements of a moderator's day scanned whole tables that an index should serve \
         (see this file's header for how to find them): {scanned:?}"
    );
}

/// An item reported a thousand times (a brigade, or one token meaning harm) takes its next
/// reports without rereading the earlier ones: the item keeps its figures as reports come
/// (`server::report_figures`), and whether a token reported it before is one index probe.
/// Rereading them, as filing did before, reads over 3,000 rows here.
#[test]
fn filing_on_an_item_reported_a_thousand_times_rereads_none_of_its_reports() {
    let Some(db) = pg::TestDb::create("filing") else {
        return;
    };
    let brigade: Vec<NewReport> = (0..1000)
        .map(|_| report(post(1, 1), ReporterType::User, "spam"))
        .collect();
    {
        let storage = PostgresStorage::open(&db.url).unwrap();
        storage.add_reports(&brigade, now()).unwrap();
        let alice = token(&storage, "alice", Role::Moderator);
        token(&storage, "bob", Role::Moderator);
        token(&storage, "intake", Role::Admin);
        storage
            .file_reports(Some(&alice), &brigade[..1], now())
            .unwrap();
    }
    // As at 150,000 items: on a table this small the planner would rather read it whole.
    db.client()
        .batch_execute(&format!(
            "ANALYZE; ALTER DATABASE {} SET enable_seqscan = off",
            db.name()
        ))
        .unwrap();
    let before = rows_read(&db, "reports");
    {
        let storage = PostgresStorage::open(&db.url).unwrap();
        for name in ["alice", "bob", "intake"] {
            let filer = storage
                .token_lookup(&server::hash_token(&format!("secret-{name}")))
                .unwrap()
                .unwrap();
            storage
                .file_reports(Some(&filer), &brigade[..1], now())
                .unwrap();
        }
        let item = storage.item(&brigade[0].subject.id).unwrap().unwrap();
        assert_eq!(item.priority, 1003 * ReporterType::User.weight());
    }
    let read = rows_read(&db, "reports") - before;
    // Alice's earlier report, and the newest hundred the item read lists.
    assert!(
        read <= 1 + 100 + 5,
        "three reports and one item read took {read} rows of reports"
    );
}

/// Item `id` read once, with statistics gathered and whole scans off, and the rows of notes
/// that read took.
fn notes_read_by_an_item_read(db: &pg::TestDb, id: &str) -> (modq::model::Item, i64) {
    db.client()
        .batch_execute(&format!(
            "ANALYZE; ALTER DATABASE {} SET enable_seqscan = off",
            db.name()
        ))
        .unwrap();
    let before = rows_read(db, "notes");
    let item = PostgresStorage::open(&db.url)
        .unwrap()
        .item(id)
        .unwrap()
        .unwrap();
    (item, rows_read(db, "notes") - before)
}

/// An item a token wrote a thousand notes on (any token that may read an item may write on
/// it, hundreds a second) reads its newest hundred notes and the counts the database keeps,
/// never the other nine hundred.
#[test]
fn an_item_read_counts_a_thousand_notes_without_reading_them() {
    let Some(db) = pg::TestDb::create("notes") else {
        return;
    };
    let id = post(1, 1).id;
    {
        let storage = PostgresStorage::open(&db.url).unwrap();
        storage
            .add_reports(&[report(post(1, 1), ReporterType::User, "spam")], now())
            .unwrap();
        let mallory = token(&storage, "mallory", Role::Moderator);
        for n in 0..1000 {
            storage
                .add_note(&mallory, &id, &format!("note {n}"), now())
                .unwrap();
        }
    }
    let (item, read) = notes_read_by_an_item_read(&db, &id);
    assert_eq!(item.totals.unwrap().history, 1 + 1000);
    assert!(
        read <= server::NOTES_LISTED as i64,
        "one item read took {read} rows of notes"
    );
}

/// A case worked in a thousand notes at the child-safety tier, after one moderator's note:
/// the item read lists each tier's newest notes apart through the `(item_id, tier, id)`
/// index, so finding the moderator's note does not walk the thousand.
#[test]
fn an_item_read_finds_each_tiers_notes_through_its_index() {
    let Some(db) = pg::TestDb::create("notes_tier") else {
        return;
    };
    let id = post(1, 1).id;
    {
        let storage = PostgresStorage::open(&db.url).unwrap();
        storage
            .add_reports(&[report(post(1, 1), ReporterType::User, "csam")], now())
            .unwrap();
        let alice = token(&storage, "alice", Role::Moderator);
        storage.add_note(&alice, &id, "escalating", now()).unwrap();
        let mut escalate = Decision::bare("e1", &id, DecisionAction::Escalate, now());
        escalate.escalation_target = Some(modq::model::EscalationTier::ChildSafety);
        escalate.note = Some("the image".into());
        let results = storage
            .apply_decisions(&alice, &[escalate], &PolicyCatalog::builtin(), now())
            .unwrap();
        assert_eq!(results[0].outcome, DecisionOutcome::Applied);
        let carol = token(&storage, "carol", Role::ChildSafety);
        for n in 0..1000 {
            storage
                .add_note(&carol, &id, &format!("case note {n}"), now())
                .unwrap();
        }
    }
    let (item, read) = notes_read_by_an_item_read(&db, &id);
    let notes = item
        .history
        .iter()
        .filter(|h| h.event == modq::model::HistoryEvent::Note)
        .count();
    assert_eq!(notes, 1 + server::NOTES_LISTED);
    assert!(
        read <= 1 + server::NOTES_LISTED as i64 + 5,
        "one item read took {read} rows of notes"
    );
}
