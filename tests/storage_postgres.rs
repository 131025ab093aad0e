//! PostgreSQL's storage against SQLite's: a team's day of reports, queue walks, claims,
//! decisions, undo, notes, counts, statistics, the audit log and tokens, done to both stores
//! step by step; every answer must be the same. Then what only PostgreSQL has to prove:
//! its audit log refuses changes in the database itself, a newer schema is refused, and
//! servers working side by side on one database never lease one item twice nor apply one
//! key twice.
//!
//! Runs when `MODQ_TEST_POSTGRES_URL` names a PostgreSQL the tests may create databases in
//! (`scripts/postgres.sh up target/pg` starts one and prints the variable); without it
//! each test says it did not run.
// Answers are compared inside `Pair::same`; many are not needed after.
#![allow(unused_must_use)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pg;

use std::fmt::Debug;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use modq::model::{Decision, DecisionAction, EscalationTier, Lane, ReviewState, Role, Scope};
use modq::policy::PolicyCatalog;
use modq::query::{Query, Sort};
use modq::server::{
    self, AuditQuery, ClaimLimits, Cursor, PostgresStorage, QueueQuery, SqliteStorage, Storage,
    StorageError, TokenInfo,
};

fn now() -> DateTime<Utc> {
    "2026-11-23T12:00:00Z".parse().unwrap()
}

/// Both stores, fed the same calls.
struct Pair {
    sqlite: SqliteStorage,
    postgres: PostgresStorage,
    _dir: tempfile::TempDir,
    _db: pg::TestDb,
}

impl Pair {
    fn new() -> Option<Pair> {
        let db = pg::TestDb::create("pair")?;
        let dir = tempfile::tempdir().unwrap();
        Some(Pair {
            sqlite: SqliteStorage::open(&dir.path().join("s.sqlite")).unwrap(),
            postgres: PostgresStorage::open(&db.url).unwrap(),
            _dir: dir,
            _db: db,
        })
    }

    /// Calls `f` on both stores and asserts they answered the same; returns SQLite's answer.
    #[track_caller]
    fn same<T: Debug>(&self, what: &str, f: impl Fn(&dyn Storage) -> T) -> T {
        let s = f(&self.sqlite);
        let p = f(&self.postgres);
        assert_eq!(
            format!("{p:#?}"),
            format!("{s:#?}"),
            "PostgreSQL answered otherwise than SQLite: {what}"
        );
        s
    }
}

fn token(p: &Pair, name: &str, role: Role) -> TokenInfo {
    let hash = server::hash_token(&format!("secret-{name}"));
    let id = p.same(&format!("token {name}"), |s| {
        s.create_token(name, role, &hash).map_err(|e| e.to_string())
    });
    TokenInfo {
        id: id.unwrap(),
        name: name.into(),
        role,
    }
}

fn decision(key: &str, item: &str, action: DecisionAction) -> Decision {
    Decision::bare(key, item, action, now())
}

fn ok<T>(r: Result<T, StorageError>) -> Result<T, String> {
    r.map_err(|e| match e {
        StorageError::Invalid(m) => format!("invalid: {m}"),
        StorageError::Backend(e) => panic!("backend failed: {e:#}"),
    })
}

/// Every page of one walk, with the cursors between them.
fn walk(s: &dyn Storage, query: &QueueQuery) -> Vec<(Vec<String>, Option<String>)> {
    let mut pages = Vec::new();
    let mut q = query.clone();
    loop {
        let page = s.queue_page(&q).unwrap();
        let ids = page.items.iter().map(|i| i.id.clone()).collect();
        let next = page.next_cursor.clone();
        pages.push((ids, next.clone()));
        match next {
            Some(c) => q.after = Some(Cursor::decode(&c).unwrap()),
            None => return pages,
        }
        assert!(pages.len() < 1000, "the walk never ended");
    }
}

#[test]
fn a_teams_day_answers_the_same_on_postgresql_as_on_sqlite() {
    let Some(p) = Pair::new() else { return };
    let policies = PolicyCatalog::builtin();

    // Intake: the sample queue, then reports from ordinary tokens on known and new items.
    p.same("import", |s| {
        server::import_jsonl(s, modq::demo::SAMPLE_QUEUE.as_bytes())
            .map(|summary| format!("{summary:?}"))
            .map_err(|e| e.to_string())
    });
    let alice = token(&p, "alice", Role::Moderator);
    let bob = token(&p, "bob", Role::Moderator);
    let senior = token(&p, "sam", Role::Senior);
    let admin = token(&p, "root", Role::Admin);
    p.same("a name taken in another case", |s| {
        ok(s.create_token("ALICE", Role::Moderator, "other-hash"))
    });
    let user_report: modq::model::NewReport = serde_json::from_value(serde_json::json!({
        "subject": {"id": "post-new-1", "kind": "post", "text": "Buy now at deal.example",
                    "author": {"id": "u-forged"}, "countries": ["FR"]},
        "reporter_type": "user", "category": "spam", "received_at": "2026-11-23T11:00:00Z"
    }))
    .unwrap();
    for filer in [&alice, &alice, &bob] {
        p.same("an ordinary token's report", |s| {
            ok(s.file_reports(Some(filer), std::slice::from_ref(&user_report), now()))
        });
    }
    p.same("the intake describes it", |s| {
        ok(s.file_reports(Some(&admin), std::slice::from_ref(&user_report), now()))
    });
    p.same("the item", |s| s.item("post-new-1").unwrap());

    // Every order, lane and filter, page by page, with a byte budget too.
    let filters = [
        "",
        "cat:spam",
        "cat:spam,scam",
        "-lang:en",
        "country:DE,FR",
        "country:IE",
        "buy",
        "prio>=50",
        "from:@kai.memes",
        "link:example",
        "similar:post-104377",
        "reporter:user -cat:harassment",
    ];
    for sort in Sort::ALL {
        for filter in filters {
            for lane in [None, Some(Lane::Urgent), Some(Lane::Standard)] {
                let query = QueueQuery {
                    sort,
                    lane,
                    filter: Query::parse(filter).unwrap(),
                    limit: 7,
                    as_of: now(),
                    ..QueueQuery::default()
                };
                p.same(&format!("walk {sort:?} {filter:?} {lane:?}"), |s| {
                    walk(s, &query)
                });
            }
        }
        let budgeted = QueueQuery {
            sort,
            limit: 50,
            max_bytes: 6_000,
            as_of: now(),
            ..QueueQuery::default()
        };
        p.same(&format!("walk {sort:?} in 6 kB pages"), |s| {
            walk(s, &budgeted)
        });
        p.same("a full first page", |s| s.queue_page(&budgeted).unwrap());
    }
    let wrong = QueueQuery {
        after: Some(Cursor {
            sort: Sort::Age,
            keys: [
                server::SortValue::Int(1),
                server::SortValue::Text("x".into()),
            ],
            id: "x".into(),
            group: None,
        }),
        sort: Sort::Age,
        ..QueueQuery::default()
    };
    // SQLite compares a number with text as it compares any two values; PostgreSQL's typed
    // columns refuse such a (forged) cursor as the client's mistake.
    assert!(matches!(
        p.postgres.queue_page(&wrong),
        Err(StorageError::Invalid(_))
    ));

    // Claims: caps, fair shares of the urgent lane, bob active, pages by cursor.
    let limits = |max| ClaimLimits {
        max_leases: max,
        active_elsewhere: vec!["bob".into(), "carol".into()],
    };
    let query = QueueQuery {
        limit: 6,
        as_of: now(),
        ..QueueQuery::default()
    };
    let first = p.same("alice claims", |s| {
        ok(s.claim_within("alice", &query, 300, &limits(8), now()))
    });
    let next = QueueQuery {
        after: first
            .unwrap()
            .next_cursor
            .as_deref()
            .map(|c| Cursor::decode(c).unwrap()),
        ..query.clone()
    };
    p.same("alice claims on, to her cap", |s| {
        ok(s.claim_within("alice", &next, 300, &limits(8), now()))
    });
    let bobs = p
        .same("bob claims", |s| {
            ok(s.claim_within("bob", &query, 300, &limits(20), now()))
        })
        .unwrap();
    let alices: Vec<String> = p
        .same("alice's view of the queue", |s| {
            s.select("bob", &QueueQuery::default(), 500, now()).unwrap()
        })
        .ids;
    assert!(!alices.is_empty());
    let bob_items: Vec<String> = bobs.items.iter().map(|i| i.id.clone()).collect();
    p.same("alice asks for bob's items", |s| {
        ok(s.claim_items(&alice, &bob_items, 300, &limits(50), now()))
    });
    p.same("holders", |s| {
        let holders = s.live_holders(&bob_items, now()).unwrap();
        holders
            .into_iter()
            .collect::<std::collections::BTreeMap<_, _>>()
    });
    p.same("bob renews", |s| {
        ok(s.renew_leases("bob", &bob_items, 600, now() + Duration::seconds(60)))
    });
    p.same("alice cannot renew bob's", |s| {
        ok(s.renew_leases("alice", &bob_items, 600, now()))
    });
    let (kept, given) = bob_items.split_at(3);
    p.same(
        "bob gives some back",
        |s| ok(s.release_leases("bob", given)),
    );
    p.same("escalated items are not a moderator's to claim", |s| {
        ok(s.claim_items(
            &alice,
            &["post-104377".into(), "nope".into()],
            300,
            &limits(50),
            now(),
        ))
    });

    // Decisions: take down, keep, escalate, a key again, a key reused for another body,
    // undo, a senior's word on the escalated item, and a lease taken by a decision.
    let first_id = kept.first().unwrap().clone();
    let second_id = kept.get(1).unwrap().clone();
    let mut take = decision("k1", &first_id, DecisionAction::TakeDown);
    take.reason_code = Some("spam".into());
    take.scope = Some(Scope::Countries(vec!["DE".into()]));
    take.note = Some("seen this wave before".into());
    let mut escalate = decision("k2", &second_id, DecisionAction::Escalate);
    escalate.escalation_target = Some(EscalationTier::Legal);
    let keep = decision("k3", "post-new-1", DecisionAction::Keep);
    let batch = vec![
        take.clone(),
        escalate,
        keep,
        decision("k4", "missing", DecisionAction::Keep),
    ];
    p.same("bob's batch", |s| {
        ok(s.apply_decisions(&bob, &batch, &policies, now()))
    });
    p.same("the batch again", |s| {
        ok(s.apply_decisions(&bob, &batch, &policies, now()))
    });
    let mut reused = decision("k1", "post-new-1", DecisionAction::TakeDown);
    reused.reason_code = Some("spam".into());
    p.same("a key reused for another decision", |s| {
        ok(s.apply_decisions(&bob, &[reused.clone()], &policies, now()))
    });
    p.same("alice's own k1 is another decision", |s| {
        ok(s.apply_decisions(&alice, &[reused.clone()], &policies, now()))
    });
    let mut undo = decision("k5", &first_id, DecisionAction::Reverse);
    undo.reverses = Some("k1".into());
    p.same("bob undoes his take down", |s| {
        ok(s.apply_decisions(&bob, &[undo.clone()], &policies, now()))
    });
    let mut widen = decision("k6", &first_id, DecisionAction::TakeDown);
    widen.reason_code = Some("scam".into());
    p.same("alice takes it down again", |s| {
        ok(s.apply_decisions(&alice, &[widen.clone()], &policies, now()))
    });
    p.same("a moderator cannot decide for legal", |s| {
        ok(s.apply_decisions(
            &alice,
            &[decision("k7", &second_id, DecisionAction::Keep)],
            &policies,
            now(),
        ))
    });
    p.same("nor can a senior", |s| {
        ok(s.apply_decisions(
            &senior,
            &[decision("k8", &second_id, DecisionAction::Keep)],
            &policies,
            now(),
        ))
    });
    p.same("a note on it", |s| {
        ok(s.add_note(&senior, &second_id, "legal asked to hold", now()))
    });
    p.same("no note on nothing", |s| {
        ok(s.add_note(&senior, "missing", "x", now()))
    });
    for id in [&first_id, &second_id, &"post-new-1".to_string()] {
        p.same(&format!("item {id} after the decisions"), |s| {
            s.item(id).unwrap()
        });
    }
    let escalated = QueueQuery {
        state: ReviewState::Escalated,
        hidden_tiers: vec![EscalationTier::LawEnforcement, EscalationTier::ChildSafety],
        as_of: now(),
        ..QueueQuery::default()
    };
    p.same("escalated items a moderator may read", |s| {
        walk(s, &escalated)
    });
    let decided = QueueQuery {
        state: ReviewState::TakenDown,
        as_of: now(),
        ..QueueQuery::default()
    };
    p.same("taken down", |s| walk(s, &decided));

    // A decision and its undo in one batch: the undo names a row of the same batch.
    let last = alices.last().unwrap().clone();
    let mut take = decision("k20", &last, DecisionAction::TakeDown);
    take.reason_code = Some("spam".into());
    let mut undo = decision("k21", &last, DecisionAction::Reverse);
    undo.reverses = Some("k20".into());
    let both = p.same("a decision and its undo in one batch", |s| {
        ok(s.apply_decisions(&admin, &[take.clone(), undo.clone()], &policies, now()))
    });
    let outcomes: Vec<_> = both.unwrap().into_iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            modq::model::DecisionOutcome::Applied,
            modq::model::DecisionOutcome::Applied
        ]
    );
    p.same("the item after both", |s| s.item(&last).unwrap());

    // What the reports and the log say.
    p.same("counts", |s| s.queue_counts(now()).unwrap());
    p.same("the day's decisions", |s| {
        s.decisions_between(now() - Duration::days(1), now() + Duration::days(1))
            .unwrap()
    });
    p.same("take downs in force", |s| {
        s.take_downs_since(now() - Duration::days(1), 0, 1000)
            .unwrap()
    });
    for (after_id, item) in [(0, None), (2, None), (0, Some(first_id.clone()))] {
        let q = AuditQuery {
            after_id,
            item,
            limit: 3,
        };
        p.same("the audit log", |s| s.audit(&q).unwrap());
    }
    // Tokens are made at the wall clock's time: compared without it.
    let revoke = |s: &dyn Storage, who: &str| {
        s.revoke_token(who, now())
            .unwrap()
            .map(|t| (t.id, t.name, t.role, t.revoked_at))
    };
    p.same("revoke by name", |s| revoke(s, "BOB"));
    p.same("revoke by id", |s| revoke(s, &alice.id.to_string()));
    p.same("revoke nobody", |s| revoke(s, "nobody"));
    p.same("tokens", |s| {
        s.tokens()
            .unwrap()
            .into_iter()
            .map(|t| (t.id, t.name, t.role, t.revoked_at))
            .collect::<Vec<_>>()
    });
    p.same("a revoked token", |s| {
        s.token_lookup(&server::hash_token("secret-bob")).unwrap()
    });
    p.same("a live token", |s| {
        s.token_lookup(&server::hash_token("secret-sam")).unwrap()
    });
}

#[test]
fn the_audit_log_refuses_changes_in_the_database_itself() {
    let Some(db) = pg::TestDb::create("audit") else {
        return;
    };
    let storage = PostgresStorage::open(&db.url).unwrap();
    server::import_jsonl(&storage, modq::demo::SAMPLE_QUEUE.as_bytes()).unwrap();
    let id = storage.create_token("alice", Role::Moderator, "h").unwrap();
    let alice = TokenInfo {
        id,
        name: "alice".into(),
        role: Role::Moderator,
    };
    let d = decision("k1", "post-157383", DecisionAction::Keep);
    storage
        .apply_decisions(&alice, &[d], &PolicyCatalog::builtin(), now())
        .unwrap();
    storage
        .add_note(&alice, "post-157383", "a note", now())
        .unwrap();
    // Whoever connects, with modq or without: the owner of the tables, even.
    let mut sql = db.client();
    for statement in [
        "UPDATE audit SET actor = 'someone else'",
        "DELETE FROM audit",
        "TRUNCATE audit",
        "UPDATE notes SET note = 'rewritten'",
        "DELETE FROM notes",
        "TRUNCATE notes",
    ] {
        let e = sql.batch_execute(statement).unwrap_err();
        assert!(
            e.to_string().contains("append-only") || format!("{e:?}").contains("append-only"),
            "{statement}: {e:?}"
        );
    }
    let actor: String = sql
        .query_one("SELECT actor FROM audit", &[])
        .unwrap()
        .get(0);
    assert_eq!(actor, "alice");
}

/// A column holding an item's id in another collation than `items.id` cannot be compared
/// with it through an index: reading an item's reports beside the item scanned every report
/// (1.7 s a page of the load bench at 150,000 items).
#[test]
fn every_column_holding_an_item_id_collates_as_the_items_own_id() {
    let Some(db) = pg::TestDb::create("collation") else {
        return;
    };
    drop(PostgresStorage::open(&db.url).unwrap());
    let mut sql = db.client();
    let rows = sql
        .query(
            "SELECT table_name::TEXT, column_name::TEXT, COALESCE(collation_name::TEXT, 'default')
             FROM information_schema.columns
             WHERE table_schema = 'public' AND data_type = 'text'
               AND (column_name LIKE '%item_id' OR (table_name = 'items' AND column_name = 'id'))
             ORDER BY 1, 2",
            &[],
        )
        .unwrap();
    let columns: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    assert!(columns.len() >= 8, "{columns:?}");
    for (table, column, collation) in &columns {
        assert_eq!(collation, "C", "{table}.{column}");
    }
}

#[test]
fn a_database_from_a_newer_modq_is_refused_and_an_older_one_migrated_once() {
    let Some(db) = pg::TestDb::create("schema") else {
        return;
    };
    drop(PostgresStorage::open(&db.url).unwrap());
    let mut sql = db.client();
    let count = |sql: &mut postgres::Client| -> i64 {
        sql.query_one("SELECT COUNT(*) FROM modq_schema", &[])
            .unwrap()
            .get(0)
    };
    // One row per migration (schema_1, then each topic's), however many this build has.
    let versions = count(&mut sql);
    assert!(versions >= 1);
    // A second start finds it done and changes nothing.
    drop(PostgresStorage::open(&db.url).unwrap());
    let mut sql = db.client();
    // Each step recorded once, in order: as many rows as the last version's number.
    let row = sql
        .query_one(
            "SELECT COUNT(*), COUNT(DISTINCT version), MAX(version) FROM modq_schema",
            &[],
        )
        .unwrap();
    let (rows, distinct, last): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!((rows, distinct), (last, last), "every step once");
    assert_eq!(count(&mut sql), versions, "a second start adds none");
    sql.batch_execute("INSERT INTO modq_schema (version) VALUES (99)")
        .unwrap();
    let e = PostgresStorage::open(&db.url).err().expect("refused");
    assert!(format!("{e:#}").contains("99"), "{e:#}");
}

#[test]
fn servers_side_by_side_never_lease_one_item_twice_nor_apply_one_key_twice() {
    let Some(db) = pg::TestDb::create("race") else {
        return;
    };
    let setup = PostgresStorage::open(&db.url).unwrap();
    server::import_jsonl(&setup, modq::demo::SAMPLE_QUEUE.as_bytes()).unwrap();
    let open = setup
        .queue_counts(now())
        .unwrap()
        .lanes
        .iter()
        .map(|l| l.open)
        .sum::<u64>();
    let names: Vec<String> = (0..6).map(|n| format!("mod-{n}")).collect();
    let tokens: Vec<TokenInfo> = names
        .iter()
        .map(|n| TokenInfo {
            id: setup.create_token(n, Role::Moderator, n).unwrap(),
            name: n.clone(),
            role: Role::Moderator,
        })
        .collect();
    // Three "servers": three pools on one database, two moderators on each.
    let servers: Vec<Arc<PostgresStorage>> = (0..3)
        .map(|_| Arc::new(PostgresStorage::open_with(&db.url, 4).unwrap()))
        .collect();
    // Each walks the queue to its end, page by page, while the others do the same.
    let claimed: Vec<Vec<String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = tokens
            .iter()
            .enumerate()
            .map(|(n, t)| {
                let storage = Arc::clone(servers.get(n % 3).unwrap());
                scope.spawn(move || {
                    let mut mine = Vec::new();
                    let mut query = QueueQuery {
                        limit: 5,
                        as_of: now(),
                        ..QueueQuery::default()
                    };
                    loop {
                        let page = storage.claim(&t.name, &query, 600, now()).unwrap();
                        mine.extend(page.items.into_iter().map(|i| i.id));
                        let Some(next) = page.next_cursor else {
                            return mine;
                        };
                        query.after = Some(Cursor::decode(&next).unwrap());
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all: Vec<&String> = claimed.iter().flatten().collect();
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), total, "an item was leased to two moderators");
    assert!(
        claimed.iter().filter(|c| !c.is_empty()).count() > 1,
        "the moderators worked side by side"
    );
    // Every lease given is still held by whom it was given to: none was overwritten.
    let leases: i64 = db
        .client()
        .query_one("SELECT COUNT(*) FROM leases", &[])
        .unwrap()
        .get(0);
    assert_eq!(usize::try_from(leases).unwrap(), total);
    assert!(u64::try_from(total).unwrap() <= open);

    // One key, sent at once to every server by one moderator: applied once.
    let item = claimed.first().unwrap().first().unwrap().clone();
    let alice = tokens.first().unwrap().clone();
    let outcomes: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = servers
            .iter()
            .map(|storage| {
                let d = decision("the-key", &item, DecisionAction::Keep);
                let alice = alice.clone();
                scope.spawn(move || {
                    let r = storage
                        .apply_decisions(&alice, &[d], &PolicyCatalog::builtin(), now())
                        .unwrap();
                    format!("{:?}", r.first().unwrap().outcome)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let applied = outcomes.iter().filter(|o| *o == "Applied").count();
    assert_eq!(applied, 1, "{outcomes:?}");
    assert_eq!(
        outcomes.iter().filter(|o| *o == "Duplicate").count(),
        2,
        "{outcomes:?}"
    );
    let rows: i64 = db
        .client()
        .query_one("SELECT COUNT(*) FROM audit", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 1);

    // One key on two items at once: no lock is shared, the unique key decides. One applies;
    // the other, run again after losing, finds the key taken by another decision.
    let items: Vec<String> = claimed.iter().flatten().skip(1).take(2).cloned().collect();
    let outcomes: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .iter()
            .zip(&servers)
            .map(|(item, storage)| {
                let d = decision("one-key-two-items", item, DecisionAction::Keep);
                let alice = alice.clone();
                scope.spawn(move || {
                    let r = storage
                        .apply_decisions(&alice, &[d], &PolicyCatalog::builtin(), now())
                        .unwrap();
                    format!("{:?}", r.first().unwrap().outcome)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = outcomes.clone();
    sorted.sort();
    assert_eq!(sorted, ["Applied", "Invalid"], "{outcomes:?}");
}

#[test]
fn connections_cut_by_the_database_are_replaced_without_failing_a_request() {
    let Some(db) = pg::TestDb::create("cut") else {
        return;
    };
    let storage = PostgresStorage::open_with(&db.url, 4).unwrap();
    server::import_jsonl(&storage, modq::demo::SAMPLE_QUEUE.as_bytes()).unwrap();
    let hash = server::hash_token("secret");
    let id = storage
        .create_token("alice", Role::Moderator, &hash)
        .unwrap();
    let alice = TokenInfo {
        id,
        name: "alice".into(),
        role: Role::Moderator,
    };
    // Every pooled connection busy once, so that the pool holds several.
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| storage.queue_counts(now()).unwrap());
        }
    });
    let open: Vec<String> = storage
        .queue_page(&QueueQuery {
            limit: 3,
            as_of: now(),
            ..QueueQuery::default()
        })
        .unwrap()
        .items
        .into_iter()
        .map(|i| i.id)
        .collect();
    for (round, item) in open.iter().enumerate() {
        // What a restart of PostgreSQL does to each of them.
        let cut: i64 = db
            .client()
            .query_one(
                "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get(0);
        assert!(cut >= 1, "round {round}: the pool had connections to cut");
        assert!(storage.token_lookup(&hash).unwrap().is_some());
        let claimed = storage
            .claim_items(
                &alice,
                std::slice::from_ref(item),
                300,
                &ClaimLimits::unlimited(),
                now(),
            )
            .unwrap();
        assert_eq!(claimed.leased, std::slice::from_ref(item));
        let d = decision(&format!("after-cut-{round}"), item, DecisionAction::Keep);
        let results = storage
            .apply_decisions(&alice, &[d], &PolicyCatalog::builtin(), now())
            .unwrap();
        assert_eq!(
            results.first().unwrap().outcome,
            modq::model::DecisionOutcome::Applied
        );
    }
    assert_eq!(open.len(), 3);
}

/// An item read is one statement on PostgreSQL (issue 18), its children carried as JSON:
/// what has none of them, and text that JSON must escape, read back the same as SQLite's.
#[test]
fn an_item_read_whole_at_once_answers_the_same_at_the_edges() {
    let Some(p) = Pair::new() else { return };
    let hostile = "\"]}, {\"at\": \"x\"} \\ \u{1b}[2J \u{7f} 'quoted' ∅ \t end";
    let lines = [
        // No author, no thread, no comment, no note: nothing to aggregate but one report.
        r#"{"subject": {"id": "bare", "kind": "post"}, "reporter_type": "user", "category": "spam", "received_at": "2026-11-20T00:00:00Z"}"#.to_owned(),
        format!(
            r#"{{"subject": {{"id": "loud", "kind": "post", "text": {text}, "author": {{"id": "u-\"]", "handle": "@x"}}}}, "reporter_type": "user", "category": "spam", "comment": {text}, "received_at": "2026-11-20T00:01:00Z"}}"#,
            text = serde_json::to_string(hostile).unwrap()
        ),
    ];
    p.same("import", |s| {
        server::import_jsonl(s, lines.join("\n").as_bytes())
            .map(|summary| format!("{summary:?}"))
            .map_err(|e| e.to_string())
    });
    let alice = token(&p, "alice", Role::Moderator);
    p.same("hostile note", |s| {
        ok(s.add_note(&alice, "loud", hostile, now()))
    });
    for id in ["bare", "loud", "missing"] {
        p.same(&format!("item {id}"), |s| ok(s.item(id)));
    }
    let query = QueueQuery {
        limit: 10,
        as_of: now(),
        ..QueueQuery::default()
    };
    p.same("the page", |s| ok(s.queue_page(&query)));
    let item = p.postgres.item("loud").unwrap().unwrap();
    assert!(
        item.history
            .iter()
            .any(|h| h.note.as_deref() == Some(hostile)),
        "the note came back as written: {:?}",
        item.history
    );
}

/// An item read stays fast however many reports the item has: each capped list (reports,
/// audit rows, each tier's notes, the report tally's categories) is read newest first through
/// its `(item_id, …)` index, and stops at its cap, with no sort of all the item's rows.
#[test]
fn an_item_read_reaches_each_capped_list_through_its_index() {
    let Some(db) = pg::TestDb::create("item_plan") else {
        return;
    };
    let storage = PostgresStorage::open(&db.url).unwrap();
    // The viral post's 300 reports in 70 categories, then 3,000 on 1,000 other posts.
    let line = |id: String, category: usize| {
        format!(
            r#"{{"subject": {{"id": "{id}", "kind": "post"}}, "reporter_type": "user", "category": "c{category}", "received_at": "2026-11-20T00:00:00Z"}}"#
        )
    };
    let lines: Vec<String> = (0..300)
        .map(|i| line("viral".into(), i % 70))
        .chain((0..3000).map(|i| line(format!("p{}", i % 1000), 0)))
        .collect();
    server::import_jsonl(&storage, lines.join("\n").as_bytes()).unwrap();
    // Statistics as autovacuum would gather them on a live server.
    db.client().batch_execute("ANALYZE").unwrap();
    let plan = storage.item_read_plan("viral").unwrap().join("\n");
    for scan in [
        "Index Scan Backward using reports_item on reports",
        "Index Scan Backward using audit_item on audit",
        "Index Scan Backward using notes_item_tier on notes",
        "using report_tally_listed on report_tally",
    ] {
        assert!(plan.contains(scan), "{scan}:\n{plan}");
    }
    for table in ["reports", "audit", "notes", "report_tally"] {
        assert!(
            !plan.contains(&format!("Seq Scan on {table}")),
            "{table}:\n{plan}"
        );
    }
    // No sort of all an item's reports, audit rows, notes or categories.
    for table in ["reports", "audit", "notes", "report_tally"] {
        assert!(
            !plan.contains(&format!("Sort Key: {table}.")),
            "{table}:\n{plan}"
        );
    }
}

/// Reports filed before the report tally existed are counted by its migration as filing
/// counts them: the same rows, and the same categories listed first (white space of any
/// kind trimmed, case folded, as `media::policy::acts_on` matches).
#[test]
fn the_tally_migration_counts_old_reports_as_filing_does() {
    let Some(db) = pg::TestDb::create("tally_backfill") else {
        return;
    };
    let storage = PostgresStorage::open(&db.url).unwrap();
    let lines: Vec<String> = [
        "\u{3000}CSAM\t",
        "Gore",
        "spam",
        "spam",
        "csam-ish",
        "\u{200b}csam",
        "Self_Harm\u{a0}",
        // Not "suicide" to Rust's ASCII folding, though PostgreSQL's `lower` folds it so.
        "SU\u{130}C\u{130}DE",
    ]
    .iter()
    .enumerate()
    .map(|(i, category)| {
        serde_json::json!({
            "subject": {"id": format!("p{}", i % 2), "kind": "post"},
            "reporter_type": if i == 0 { "authority" } else { "user" },
            "category": category,
            "received_at": "2026-11-20T00:00:00Z",
        })
        .to_string()
    })
    .collect();
    server::import_jsonl(&storage, lines.join("\n").as_bytes()).unwrap();
    let mut sql = db.client();
    let tally = |sql: &mut postgres::Client| -> Vec<(String, String, String, i64, i16)> {
        sql.query(
            "SELECT item_id, dimension, name, reports, shown_first FROM report_tally
             ORDER BY item_id, dimension, name",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect()
    };
    let filed = tally(&mut sql);
    let ranked: Vec<(&str, i16)> = filed
        .iter()
        .filter(|t| t.4 > 0)
        .map(|t| (t.2.as_str(), t.4))
        .collect();
    assert_eq!(
        ranked,
        [("Self_Harm\u{a0}", 1), ("\u{3000}CSAM\t", 2), ("Gore", 1)]
    );
    // The migration's backfill, run again over the same reports.
    let migration = include_str!("../src/server/postgres/schema_8_report_tally.sql");
    let backfill = migration
        .find("INSERT INTO report_tally")
        .and_then(|at| migration.get(at..))
        .unwrap();
    // As an upgrade runs them: migration 8's backfill into its boolean column, then
    // migration 10, which ranks again every category row.
    let ranks = include_str!("../src/server/postgres/schema_10_listing_rank.sql");
    sql.batch_execute(&format!(
        "DELETE FROM report_tally;
         ALTER TABLE report_tally ALTER COLUMN shown_first DROP DEFAULT;
         ALTER TABLE report_tally ALTER COLUMN shown_first TYPE BOOLEAN USING shown_first > 0;
         ALTER TABLE report_tally ALTER COLUMN shown_first SET DEFAULT FALSE;
         {backfill}; {ranks}"
    ))
    .unwrap();
    assert_eq!(tally(&mut sql), filed);
}
