//! Round trips to PostgreSQL per moderator request (issue 18): the sync client waits on the
//! socket for every statement, and under load each costs PostgreSQL ~100 µs of CPU, so the
//! number of statements a request sends is what its cost is made of. Counted, not timed:
//! `PostgresStorage::statements_sent` counts every statement, BEGIN and COMMIT included.
//! Each bound below is what the request costs today; a change that adds a statement to a
//! request every decision makes has to say so here.
//!
//! Runs when `MODQ_TEST_POSTGRES_URL` names a PostgreSQL the tests may create databases in
//! (`scripts/postgres.sh up target/pg`); without it each test says it did not run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pg;

use chrono::{DateTime, Utc};

use modq::model::{Decision, DecisionAction, DecisionOutcome, Role};
use modq::policy::PolicyCatalog;
use modq::server::{self, ClaimLimits, PostgresStorage, QueueQuery, Storage, TokenInfo};

fn now() -> DateTime<Utc> {
    "2026-11-23T12:00:00Z".parse().unwrap()
}

fn decision(key: &str, item: &str, action: DecisionAction) -> Decision {
    Decision::bare(key, item, action, now())
}

/// Statements `request` sends, and what it answered.
fn counted<T>(storage: &PostgresStorage, request: impl FnOnce() -> T) -> (u64, T) {
    let before = storage.statements_sent();
    let answer = request();
    (storage.statements_sent() - before, answer)
}

/// What one moderator's turn under the load bench costs: claim five, read each, decide
/// (keep or take down), undo one. Printed for BENCHMARKS.md, bounded so it cannot grow
/// back unnoticed.
#[test]
fn a_moderators_turn_costs_few_round_trips() {
    let Some(db) = pg::TestDb::create("round_trips") else {
        return;
    };
    let storage = PostgresStorage::open(&db.url).unwrap();
    server::import_jsonl(&storage, modq::demo::SAMPLE_QUEUE.as_bytes()).unwrap();
    let hash = server::hash_token("secret-alice");
    let alice = TokenInfo {
        id: storage
            .create_token("alice", Role::Moderator, &hash)
            .unwrap(),
        name: "alice".into(),
        role: Role::Moderator,
    };
    let policies = PolicyCatalog::builtin();
    let query = QueueQuery {
        limit: 5,
        as_of: now(),
        ..QueueQuery::default()
    };
    let limits = ClaimLimits {
        max_leases: 20,
        active_elsewhere: vec!["bob".into()],
    };
    // Every statement prepared once, as on a connection that has served a while: the
    // counts are of the steady state (a first PREPARE is not counted anyway).
    let (claim, page) = counted(&storage, || {
        storage
            .claim_within("alice", &query, 300, &limits, now())
            .unwrap()
    });
    let ids: Vec<String> = page.items.iter().map(|i| i.id.clone()).collect();
    assert_eq!(ids.len(), 5, "the sample queue has five items to claim");

    let (read, item) = counted(&storage, || storage.item(&ids[0]).unwrap());
    assert!(item.is_some());
    let (missing, none) = counted(&storage, || storage.item("no-such-item").unwrap());
    assert!(none.is_none());

    let decide = |key: &str, d: Decision| {
        let (n, results) = counted(&storage, || {
            storage
                .apply_decisions(&alice, &[d], &policies, now())
                .unwrap()
        });
        assert_eq!(
            results[0].outcome,
            DecisionOutcome::Applied,
            "{key}: {results:?}"
        );
        n
    };
    let keep = decide("keep", decision("k1", &ids[0], DecisionAction::Keep));
    let mut down = decision("k2", &ids[1], DecisionAction::TakeDown);
    down.reason_code = Some("spam".into());
    let take_down = decide("take down", down);
    let mut undo = decision("k2-undo", &ids[1], DecisionAction::Reverse);
    undo.reverses = Some("k2".into());
    let undo = decide("undo", undo);
    let (again, replay) = counted(&storage, || {
        storage
            .apply_decisions(
                &alice,
                &[decision("k1", &ids[0], DecisionAction::Keep)],
                &policies,
                now(),
            )
            .unwrap()
    });
    assert_eq!(replay[0].outcome, DecisionOutcome::Duplicate);

    eprintln!(
        "round trips: claim of 5 {claim}, item read {read} (missing {missing}), keep {keep}, \
         take down {take_down}, undo {undo}, replayed key {again}"
    );
    let bounds = [
        ("claim of 5", claim, 16),
        ("item read", read, 1),
        ("missing item read", missing, 1),
        ("keep", keep, 8),
        ("take down", take_down, 8),
        ("undo", undo, 9),
        ("replayed key", again, 4),
    ];
    for (what, n, most) in bounds {
        assert!(n <= most, "a {what} sent {n} statements, more than {most}");
    }
}
