//! The rules every storage engine keeps, proved on each engine through `&dyn Storage`:
//! reports merging into items, the queue walk and its paging under a byte budget, filters,
//! claims (no item to two claimers, expiry, caps, fair share), idempotent decisions and their
//! reversal, tiers and the reads they restrict, tokens, the append-only audit log, and the
//! counts the lane tabs and the daily report read.
//!
//! Every test runs on every engine [`engines`] lists: SQLite always, PostgreSQL when
//! `MODQ_TEST_POSTGRES_URL` names a database. What only one engine has (migrations from its
//! old files, its query plans) is tested in that engine's own module.

mod pg;

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use modq::model::{
    Author, ClaimCap, Decision, DecisionAction, DecisionOutcome, EscalationTier, HistoryEvent,
    Item, ItemKind, Lane, NewReport, RefusalReason, ReporterType, ReviewState, Role, Scope,
    Subject,
};
use modq::policy::PolicyCatalog;
use modq::query::{Likeness, Query, Sort};
use modq::server::{
    self, AuditQuery, ClaimLimits, Cursor, PostgresStorage, QueueQuery, SqliteStorage, Storage,
    StorageError, TokenInfo,
};

// --- the engines ---------------------------------------------------------------------------

/// One engine under test, new and empty. `_keep` holds what the engine needs while it
/// lives (SQLite's directory; a PostgreSQL schema to drop), and goes after it.
struct Engine {
    name: &'static str,
    storage: Box<dyn Storage>,
    _keep: Box<dyn std::any::Any>,
}

/// Every engine the suite runs on, each new and empty: one line per engine. An engine that
/// needs a database server (PostgreSQL) joins when `MODQ_TEST_POSTGRES_URL` names one, and
/// is left out, not failed, when it is unset.
fn engines() -> Vec<Engine> {
    let mut engines = vec![sqlite()];
    engines.extend(postgres());
    engines
}

/// A database of its own in `MODQ_TEST_POSTGRES_URL`'s cluster, dropped after the test;
/// `None` (saying so on stderr) without the variable.
fn postgres() -> Option<Engine> {
    let db = pg::TestDb::create("suite")?;
    let storage = PostgresStorage::open(&db.url).expect("open PostgreSQL");
    Some(Engine {
        name: "postgres",
        storage: Box::new(storage),
        _keep: Box::new(db),
    })
}

fn sqlite() -> Engine {
    let dir = tempfile::tempdir().expect("temp dir");
    let storage = SqliteStorage::open(&dir.path().join("modq.db")).expect("open SQLite");
    Engine {
        name: "sqlite",
        storage: Box::new(storage),
        _keep: Box::new(dir),
    }
}

/// Runs `test` on a new storage of every engine, saying which one fails.
fn on_every_engine(test: impl Fn(&dyn Storage)) {
    for engine in engines() {
        eprintln!("--- engine: {}", engine.name);
        test(engine.storage.as_ref());
    }
}

// --- a small world -------------------------------------------------------------------------

fn now() -> DateTime<Utc> {
    "2026-11-23T12:00:00Z".parse().expect("time")
}

fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

fn subject(id: &str, text: &str) -> Subject {
    Subject {
        id: id.into(),
        kind: ItemKind::Post,
        text: Some(text.into()),
        author: None,
        language: None,
        countries: vec![],
        media: vec![],
        thread: None,
    }
}

fn report(subject: Subject, reporter: ReporterType, category: &str) -> NewReport {
    NewReport {
        subject,
        reporter_type: reporter,
        category: category.into(),
        comment: None,
        lane: None,
        deadline: None,
        received_at: Some(now() - secs(3600)),
        reporter: None,
    }
}

/// `n` open items `p00`, `p01`, … in the standard lane, each reported once by a user.
fn fill(storage: &dyn Storage, n: usize) -> Vec<String> {
    let ids: Vec<String> = (0..n).map(|i| format!("p{i:02}")).collect();
    let reports: Vec<NewReport> = ids
        .iter()
        .map(|id| {
            report(
                subject(id, &format!("post {id}")),
                ReporterType::User,
                "spam",
            )
        })
        .collect();
    storage.add_reports(&reports, now()).expect("import");
    ids
}

fn token(storage: &dyn Storage, name: &str, role: Role) -> TokenInfo {
    let hash = format!("hash-of-{name}");
    storage.create_token(name, role, &hash).expect("token");
    storage
        .token_lookup(&hash)
        .expect("lookup")
        .expect("token found")
}

fn decision(key: &str, item: &str, action: DecisionAction) -> Decision {
    Decision::bare(key, item, action, now())
}

fn decide(storage: &dyn Storage, actor: &TokenInfo, d: Decision) -> DecisionOutcome {
    let results = storage
        .apply_decisions(actor, &[d], &PolicyCatalog::builtin(), now())
        .expect("apply");
    results[0].outcome
}

fn open_queue(limit: usize) -> QueueQuery {
    QueueQuery {
        as_of: now(),
        limit,
        ..QueueQuery::default()
    }
}

fn ids(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| i.id.clone()).collect()
}

fn claimed(storage: &dyn Storage, who: &str, at: DateTime<Utc>) -> Vec<String> {
    let page = storage.claim(who, &open_queue(50), 300, at).expect("claim");
    assert_eq!(page.lease_expires_at, at + secs(300));
    ids(&page.items)
}

/// Every item of `query`'s walk, page by page; and how many pages ended early for their
/// byte budget.
fn walk(storage: &dyn Storage, query: &QueueQuery) -> (Vec<String>, usize) {
    let mut query = query.clone();
    let mut seen = Vec::new();
    let mut cut = 0;
    loop {
        let page = storage.queue_page(&query).expect("page");
        assert!(!page.items.is_empty() || seen.is_empty(), "an empty page");
        if page.next_cursor.is_some() && page.items.len() < query.limit {
            cut += 1;
        }
        seen.extend(ids(&page.items));
        match page.next_cursor.as_deref() {
            Some(next) => query.after = Some(Cursor::decode(next).expect("cursor")),
            None => return (seen, cut),
        }
    }
}

// --- reports -------------------------------------------------------------------------------

#[test]
fn reports_merge_into_one_item_and_an_ordinary_token_counts_once() {
    on_every_engine(|s| {
        let first = report(subject("p1", "spam here"), ReporterType::User, "spam");
        let second = report(
            subject("p1", "spam here"),
            ReporterType::TrustedFlagger,
            "scam",
        );
        let receipts = s.add_reports(&[first.clone(), second], now()).unwrap();
        assert!(!receipts[0].merged && receipts[1].merged);
        assert!(receipts[1].priority > receipts[0].priority);
        assert_eq!(receipts[0].item_id, "p1");

        let alice = token(s, "alice", Role::Moderator);
        let once = s
            .file_reports(Some(&alice), std::slice::from_ref(&first), now())
            .unwrap();
        let again = s
            .file_reports(Some(&alice), std::slice::from_ref(&first), now())
            .unwrap();
        assert!(once[0].priority > receipts[1].priority);
        assert_eq!(
            again[0].priority, once[0].priority,
            "one person counts once"
        );
        let item = s.item("p1").unwrap().unwrap();
        assert_eq!(item.reports.len(), 4);
        assert_eq!(item.priority, again[0].priority);

        // A bad report refuses the lot: nothing of the batch is stored.
        let mut bad = report(subject("p2", "fine"), ReporterType::User, "spam");
        bad.category = " ".into();
        let good = report(subject("p3", "fine"), ReporterType::User, "spam");
        let refused = s.add_reports(&[good, bad], now());
        assert!(
            matches!(refused, Err(StorageError::Invalid(_))),
            "{refused:?}"
        );
        assert!(s.item("p3").unwrap().is_none());
        assert!(s.item("nothing").unwrap().is_none());
    });
}

#[test]
fn an_ordinary_tokens_report_never_describes_the_content() {
    on_every_engine(|s| {
        let mut forged = subject("p1", "forged text");
        forged.author = Some(Author {
            id: "u-victim".into(),
            handle: None,
            created_at: None,
        });
        forged.countries = vec!["DE".into()];
        let alice = token(s, "alice", Role::Moderator);
        s.file_reports(
            Some(&alice),
            &[report(forged, ReporterType::User, "spam")],
            now(),
        )
        .unwrap();
        let item = s.item("p1").unwrap().unwrap();
        assert!(item.author.is_none() && item.countries.is_empty());

        let mut real = subject("p1", "real text");
        real.author = Some(Author {
            id: "u-real".into(),
            handle: Some("@Real".into()),
            created_at: None,
        });
        real.countries = vec!["at".into()];
        let intake = token(s, "intake", Role::Admin);
        s.file_reports(
            Some(&intake),
            &[report(real, ReporterType::User, "spam")],
            now(),
        )
        .unwrap();
        let item = s.item("p1").unwrap().unwrap();
        assert_eq!(item.text.as_deref(), Some("real text"));
        assert_eq!(item.author.map(|a| a.id).as_deref(), Some("u-real"));
        assert_eq!(item.countries, ["AT"]);
        let record = item.author_record.expect("an author's record");
        assert_eq!(record.other_items, 0);
    });
}

// --- an item reported 100,000 times ---------------------------------------------------------

/// `n` reports on `id`, received one second apart from `first`, each with its number as its
/// comment, by `reporter` in the category `category(i)` names.
fn reports_on(
    id: &str,
    numbers: std::ops::Range<usize>,
    reporter: ReporterType,
    category: impl Fn(usize) -> String,
) -> Vec<NewReport> {
    numbers
        .map(|i| {
            let mut r = report(subject(id, "a viral post"), reporter, &category(i));
            r.comment = Some(format!("r{i}"));
            r.received_at = Some(now() - secs(7200) + secs(i64::try_from(i).unwrap()));
            r
        })
        .collect()
}

/// A moderator's day with a viral post: a trusted flagger and one user (CSAM) report it
/// first, a colleague notes it, a hundred reports pile on, it is escalated, and 120 more
/// follow. Every read of it carries the newest 100 reports and counts the rest; the
/// escalation and the note stay in its history however many reports come after; the
/// tally keeps the CSAM report in sight; and the take down's statement of reasons still
/// names the trusted flagger, whose report no read lists any more.
#[test]
fn an_item_reported_past_the_cap_reads_its_newest_reports_with_totals_and_decides_on_all() {
    use modq::model::{Media, ReporterTypeCount};
    use modq::server::{CATEGORIES_LISTED, REPORTS_LISTED};
    on_every_engine(|s| {
        let first = [
            reports_on("viral", 0..1, ReporterType::TrustedFlagger, |_| {
                "hate".into()
            }),
            reports_on("viral", 1..2, ReporterType::User, |_| "csam".into()),
        ]
        .concat();
        s.add_reports(&first, now()).unwrap();
        let alice = token(s, "alice", Role::Moderator);
        s.add_note(&alice, "viral", "watching this one", now())
            .unwrap()
            .unwrap();
        // A hundred more: 60 in categories of their own, 40 spam.
        let topics = reports_on("viral", 2..102, ReporterType::User, |i| {
            if i < 62 {
                format!("topic-{:02}", i - 2)
            } else {
                "spam".into()
            }
        });
        s.add_reports(&topics, now()).unwrap();

        // The queue's page and a claim carry the item as one read of it does.
        let page = s.queue_page(&open_queue(50)).unwrap();
        let paged = page.items.iter().find(|i| i.id == "viral").unwrap();
        assert_eq!(paged.reports.len(), REPORTS_LISTED);
        assert_eq!(paged.totals.as_ref().unwrap().reports, 102);
        let claimed = s.claim("bob", &open_queue(50), 300, now()).unwrap();
        let claimed = claimed.items.iter().find(|i| i.id == "viral").unwrap();
        assert_eq!(claimed.reports, paged.reports);
        assert_eq!(claimed.totals, paged.totals);
        assert_eq!(&s.item("viral").unwrap().unwrap().reports, &paged.reports);

        let mut escalate = decision("e1", "viral", DecisionAction::Escalate);
        escalate.escalation_target = Some(EscalationTier::Senior);
        assert_eq!(decide(s, &alice, escalate), DecisionOutcome::Applied);
        let hate = reports_on("viral", 102..222, ReporterType::User, |_| "hate".into());
        s.add_reports(&hate, now()).unwrap();

        let item = s.item("viral").unwrap().unwrap();
        // The newest hundred, oldest first.
        let comments: Vec<&str> = item
            .reports
            .iter()
            .map(|r| r.comment.as_deref().unwrap())
            .collect();
        let newest: Vec<String> = (122..222).map(|i| format!("r{i}")).collect();
        assert_eq!(comments, newest);
        let totals = item.totals.clone().unwrap();
        assert_eq!(totals.reports, 222);
        assert_eq!(item.report_total(), 222);
        assert_eq!(
            totals.by_reporter_type,
            [
                ReporterTypeCount {
                    reporter_type: ReporterType::User,
                    reports: 221
                },
                ReporterTypeCount {
                    reporter_type: ReporterType::TrustedFlagger,
                    reports: 1
                },
            ]
        );
        // CSAM first though reported once, then the most reported; 50 rows, the rest summed.
        let listed: Vec<(&str, u64)> = totals
            .by_category
            .iter()
            .map(|c| (c.category.as_str(), c.reports))
            .collect();
        assert_eq!(listed.len(), CATEGORIES_LISTED);
        assert_eq!(listed[..3], [("csam", 1), ("hate", 121), ("spam", 40)]);
        assert_eq!(listed[3], ("topic-00", 1));
        assert_eq!(listed[49], ("topic-46", 1));
        assert_eq!(totals.other_categories, 13, "topic-47 to topic-59");
        // Media of an item once reported as CSAM stay unseen, whatever buried the report.
        assert!(item.reports.iter().all(|r| r.category != "csam"));
        let image = Media {
            kind: "image".into(),
            ..Media::default()
        };
        assert!(modq::media::policy::never_shown(&item, &image).is_some());

        // The history: the newest reports, and the note and the escalation that 120 reports
        // came after; the total counts everything.
        let reported = item
            .history
            .iter()
            .filter(|h| h.event == HistoryEvent::Reported)
            .count();
        assert_eq!(reported, REPORTS_LISTED);
        let escalation = item
            .history
            .iter()
            .find(|h| h.event == HistoryEvent::Escalate)
            .expect("the escalation is in the history");
        assert_eq!(escalation.tier, Some(EscalationTier::Senior));
        assert!(
            item.history
                .iter()
                .any(|h| h.note.as_deref() == Some("watching this one"))
        );
        assert_eq!(item.history.len(), REPORTS_LISTED + 2);
        assert_eq!(totals.history, 222 + 2);

        // The senior tier decides it; the statement of reasons weighs every report.
        let senior = token(s, "sam", Role::Senior);
        let mut take_down = decision("t1", "viral", DecisionAction::TakeDown);
        take_down.scope = Some(Scope::Global);
        assert_eq!(decide(s, &senior, take_down), DecisionOutcome::Applied);
        let downs = s.take_downs_since(now() - secs(60), 0, 1000).unwrap();
        let basis = downs[0].basis.as_ref().unwrap();
        assert_eq!(basis.tally().total, 222);
        let statement =
            server::statements::statement(&downs[0], &PolicyCatalog::builtin()).unwrap();
        assert_eq!(statement.source_type, "SOURCE_TRUSTED_FLAGGER");
        let item = s.item("viral").unwrap().unwrap();
        assert_eq!(item.totals.unwrap().history, 222 + 3);
        assert_eq!(item.history.len(), REPORTS_LISTED + 3);
    });
}

/// Any token may report in any category. A flood in sixty spellings of "violence" (media
/// always grey) and a hundred more "GORE" reports must not push the one report that said
/// CSAM out of an item read, newest reports and tally alike: its media would be served and
/// drawn. The tally lists never-shown categories before grey ones.
#[test]
fn a_flood_of_grey_spellings_cannot_bring_csam_reported_media_into_view() {
    use modq::model::Media;
    on_every_engine(|s| {
        s.add_reports(
            &[report(
                subject("p1", "a post"),
                ReporterType::TrustedFlagger,
                "csam",
            )],
            now(),
        )
        .unwrap();
        let mallory = token(s, "mallory", Role::Moderator);
        let spellings: Vec<String> = (0..60u32)
            .map(|bits| {
                "violence"
                    .chars()
                    .enumerate()
                    .map(|(i, c)| {
                        if bits & (1 << i) != 0 {
                            c.to_ascii_uppercase()
                        } else {
                            c
                        }
                    })
                    .collect()
            })
            .collect();
        let mut flood: Vec<NewReport> = Vec::new();
        for spelling in &spellings {
            for _ in 0..2 {
                flood.push(report(
                    subject("p1", "a post"),
                    ReporterType::User,
                    spelling,
                ));
            }
        }
        for _ in 0..100 {
            flood.push(report(subject("p1", "a post"), ReporterType::User, "GORE"));
        }
        s.file_reports(Some(&mallory), &flood, now()).unwrap();
        let item = s.item("p1").unwrap().unwrap();
        assert!(item.reports.iter().all(|r| r.category != "csam"));
        let image = Media {
            kind: "image".into(),
            ..Media::default()
        };
        assert!(
            modq::media::policy::never_shown(&item, &image).is_some(),
            "{:?}",
            item.totals
        );
    });
}

/// A take down on an item reported 2,000 times in 2,000 categories (free text any token may
/// send) freezes its reports as a tally: a few kilobytes in the audit log, where a list of
/// every report was tens of kilobytes written under the audit log's lock, and the statement
/// still counts them all and names the trusted flagger behind the flood.
#[test]
fn a_take_down_freezes_a_flood_of_reports_as_a_bounded_tally() {
    on_every_engine(|s| {
        let mut flood = vec![report(
            subject("flooded", "a post"),
            ReporterType::TrustedFlagger,
            "terrorism",
        )];
        flood.extend((1..2000).map(|n| {
            report(
                subject("flooded", "a post"),
                ReporterType::User,
                &format!("category {n}"),
            )
        }));
        s.add_reports(&flood, now()).unwrap();
        let alice = token(s, "alice", Role::Moderator);
        let mut take_down = decision("t1", "flooded", DecisionAction::TakeDown);
        take_down.scope = Some(Scope::Global);
        assert_eq!(decide(s, &alice, take_down), DecisionOutcome::Applied);
        let downs = s.take_downs_since(now() - secs(60), 0, 1000).unwrap();
        let basis = downs[0].basis.as_ref().unwrap();
        let frozen = serde_json::to_string(basis).unwrap();
        assert!(frozen.len() < 4096, "{} bytes frozen", frozen.len());
        let tally = basis.tally();
        assert_eq!(tally.total, 2000);
        assert_eq!(tally.categories.len(), server::CATEGORIES_LISTED);
        assert_eq!(
            tally.other_categories,
            2000 - server::CATEGORIES_LISTED as u64
        );
        assert_eq!(tally.leading_category.as_deref(), Some("terrorism"));
        let statement =
            server::statements::statement(&downs[0], &PolicyCatalog::builtin()).unwrap();
        assert_eq!(statement.source_type, "SOURCE_TRUSTED_FLAGGER");
        assert!(
            statement
                .decision_facts
                .contains("after 2000 report(s) (1999 from user, 1 from trusted flagger)")
                && statement.decision_facts.contains(&format!(
                    "and {} report(s) in other categories; the most trusted report's category was \
                 terrorism",
                    2000 - server::CATEGORIES_LISTED
                )),
            "{}",
            statement.decision_facts
        );
    });
}

// --- the queue -----------------------------------------------------------------------------

/// Items of many priorities, lanes and deadlines, some urgent and some overdue, with
/// enough text that a byte budget cuts pages short.
fn varied(storage: &dyn Storage) -> Vec<String> {
    let reporters = [
        ReporterType::User,
        ReporterType::TrustedFlagger,
        ReporterType::Authority,
        ReporterType::Automated,
    ];
    let mut reports = Vec::new();
    for i in 0..40usize {
        let text = format!("item {i} {}", "words ".repeat(20 + i * 7));
        let mut r = report(
            subject(&format!("v{i:02}"), &text),
            reporters[i % 4],
            "spam",
        );
        r.received_at = Some(now() - secs(60 * (i as i64 % 9)));
        if i % 5 == 0 {
            r.lane = Some(Lane::Urgent);
        }
        if i % 3 == 0 {
            // Half of these are overdue.
            r.deadline = Some(now() + secs(if i % 2 == 0 { -600 } else { 600 }));
        }
        reports.push(r);
        if i % 4 == 1 {
            reports.push(report(
                subject(&format!("v{i:02}"), &text),
                ReporterType::User,
                "scam",
            ));
        }
    }
    storage.add_reports(&reports, now()).unwrap();
    (0..40).map(|i| format!("v{i:02}")).collect()
}

/// A backlog of overdue items in other lanes, more than one read of the walk takes, among
/// urgent and ordinary ones: a claim takes them in the priority order, the urgent and the
/// overdue merged by priority first, on every engine.
#[test]
fn a_claim_merges_a_long_overdue_backlog_with_the_urgent_lane_in_order() {
    on_every_engine(|s| {
        let mut reports = Vec::new();
        for i in 0..700usize {
            let mut r = report(
                subject(&format!("b{i:03}"), "text"),
                [ReporterType::User, ReporterType::TrustedFlagger][i % 2],
                "spam",
            );
            r.received_at = Some(now() - secs((i % 13) as i64 * 60));
            match i % 7 {
                0 => r.lane = Some(Lane::Urgent),
                1..=3 => r.deadline = Some(now() - secs(60 + i as i64)),
                _ => {}
            }
            reports.push(r);
        }
        s.add_reports(&reports, now()).unwrap();
        let mut expected: Vec<Item> = (0..700)
            .map(|i| s.item(&format!("b{i:03}")).unwrap().unwrap())
            .collect();
        let first = |i: &Item| server::sorts_first(i.lane, i.deadline, now());
        assert!(
            expected
                .iter()
                .filter(|i| first(i) && i.lane != Lane::Urgent)
                .count()
                > 256
        );
        expected.sort_by(|a, b| {
            (
                !first(a),
                std::cmp::Reverse(a.priority),
                a.created_at,
                &a.id,
            )
                .cmp(&(
                    !first(b),
                    std::cmp::Reverse(b.priority),
                    b.created_at,
                    &b.id,
                ))
        });
        let claimed = s.claim("alice", &open_queue(500), 300, now()).unwrap();
        assert_eq!(ids(&claimed.items), ids(&expected[..500]));
    });
}

#[test]
fn every_order_walked_in_pages_under_a_byte_budget_sees_each_item_once_in_its_order() {
    on_every_engine(|s| {
        let all = varied(s);
        for sort in [Sort::Priority, Sort::Age, Sort::Reports, Sort::Deadline] {
            let whole = QueueQuery {
                sort,
                ..open_queue(500)
            };
            let (one_page, _) = walk(s, &whole);
            let as_set: BTreeSet<&String> = one_page.iter().collect();
            assert_eq!(as_set, all.iter().collect(), "{sort:?}");
            assert_eq!(as_set.len(), one_page.len(), "{sort:?}: an item twice");

            let paged = QueueQuery {
                sort,
                max_bytes: 2500,
                ..open_queue(7)
            };
            let (pages, cut) = walk(s, &paged);
            assert_eq!(pages, one_page, "{sort:?}: pages in another order");
            assert!(cut > 0, "{sort:?}: the budget cut no page short");
        }
        // The priority order: urgent and overdue first, then by priority.
        let (order, _) = walk(s, &open_queue(500));
        let items: Vec<Item> = order
            .iter()
            .map(|id| s.item(id).unwrap().unwrap())
            .collect();
        let first = |i: &Item| server::sorts_first(i.lane, i.deadline, now());
        let groups: Vec<bool> = items.iter().map(first).collect();
        assert!(groups.windows(2).all(|w| w[0] >= w[1]), "{groups:?}");
        assert!(groups.contains(&true) && groups.contains(&false));
        for pair in items.windows(2) {
            if first(&pair[0]) == first(&pair[1]) {
                assert!(pair[0].priority >= pair[1].priority, "{order:?}");
            }
        }
        // A budget smaller than any item still gives one item a page.
        let tiny = QueueQuery {
            max_bytes: 1,
            ..open_queue(5)
        };
        let page = s.queue_page(&tiny).unwrap();
        assert_eq!(page.items.len(), 1);
        assert!(page.next_cursor.is_some());
        // A cursor of another order is refused, not misread.
        let age = QueueQuery {
            sort: Sort::Age,
            after: Cursor::decode(page.next_cursor.as_deref().unwrap()),
            ..open_queue(5)
        };
        assert!(matches!(s.queue_page(&age), Err(StorageError::Invalid(_))));
    });
}

#[test]
fn reports_arriving_mid_walk_are_neither_repeated_nor_skipped() {
    on_every_engine(|s| {
        let all = fill(s, 12);
        let mut query = QueueQuery {
            sort: Sort::Age,
            ..open_queue(5)
        };
        let first = s.queue_page(&query).unwrap();
        let seen = ids(&first.items);
        // Newer items arrive: they sort after everything in the age order.
        let late: Vec<NewReport> = (0..3)
            .map(|i| {
                let mut r = report(subject(&format!("z{i}"), "late"), ReporterType::User, "x");
                r.received_at = Some(now());
                r
            })
            .collect();
        s.add_reports(&late, now()).unwrap();
        query.after = Cursor::decode(first.next_cursor.as_deref().unwrap());
        let (rest, _) = walk(s, &query);
        let mut expected: Vec<String> = all.clone();
        expected.extend(["z0", "z1", "z2"].map(String::from));
        let mut got = seen;
        got.extend(rest);
        assert_eq!(got, expected);
    });
}

/// The sample queue, and the filters the TUI would apply to it in memory: the engine's
/// SQL must pick exactly the items `Query::matches` picks.
#[test]
fn every_kind_of_filter_picks_what_the_client_would_pick() {
    on_every_engine(|s| {
        let sample = modq::demo::shift_sample(modq::demo::SAMPLE_QUEUE, now()).unwrap();
        server::import_jsonl(s, sample.as_bytes()).unwrap();
        let mut all = Vec::new();
        let (order, _) = walk(s, &open_queue(500));
        for id in &order {
            all.push(s.item(id).unwrap().unwrap());
        }
        assert!(all.len() > 300, "{}", all.len());
        let author = all
            .iter()
            .find_map(|i| i.author.as_ref().map(|a| a.id.clone()))
            .unwrap();
        let handle = all
            .iter()
            .find_map(|i| i.author.as_ref().and_then(|a| a.handle.clone()))
            .unwrap();
        let filters = [
            "cat:spam".to_string(),
            "cat:SPAM lang:fr".into(),
            "cat:spam,scam".into(),
            "-cat:spam".into(),
            "country:de".into(),
            "country:de,fr -cat:spam".into(),
            "prio:>100".into(),
            "prio:>=50 reporter:trusted_flagger".into(),
            "prio:>50,<10".into(),
            "lane:urgent,authority".into(),
            "-lane:standard lang:de,fr".into(),
            "reporter:user,authority".into(),
            format!("from:{handle}"),
            format!("author:{author}"),
            "semaine".into(),
            "\"par semaine\"".into(),
            "ЗАРАБОТОК".into(),
            "link:quickcash-hub".into(),
            "link:quickcash-hub,t.me".into(),
            format!("similar:{}", all[0].id),
            format!("similar:{},{}", all[1].id, all[2].id),
            "-lang:ru prio:>50,<10 -word".into(),
            "nothing-matches-this-xyzzy".into(),
        ];
        let likeness = |id: &str| all.iter().find(|i| i.id == id).map(Likeness::of);
        let mut nonempty = 0;
        for q in &filters {
            let filter = Query::parse(q).unwrap();
            let expected: Vec<String> = all
                .iter()
                .filter(|i| filter.matches(i, &likeness))
                .map(|i| i.id.clone())
                .collect();
            let query = QueueQuery {
                filter: filter.clone(),
                ..open_queue(13)
            };
            let (got, _) = walk(s, &query);
            assert_eq!(got, expected, "filter {q:?}");
            nonempty += usize::from(!got.is_empty());
            // A selection walks the same filter, in the same order.
            let selected = s.select("nobody", &query, 100_000, now()).unwrap();
            assert_eq!(selected.ids, expected, "select {q:?}");
        }
        assert!(
            nonempty >= filters.len() - 2,
            "filters that match nothing prove little"
        );
    });
}

// --- claims --------------------------------------------------------------------------------

#[test]
fn claimers_at_once_never_share_an_item() {
    on_every_engine(|s| {
        let all = fill(s, 120);
        let mut handed: Vec<Vec<String>> = Vec::new();
        std::thread::scope(|scope| {
            let threads: Vec<_> = (0..6)
                .map(|n| {
                    scope.spawn(move || {
                        let holder = format!("mod{n}");
                        let mut query = open_queue(10);
                        let mut mine = Vec::new();
                        loop {
                            let page = s.claim(&holder, &query, 300, now()).expect("claim");
                            mine.extend(ids(&page.items));
                            match page.next_cursor.as_deref() {
                                Some(next) => query.after = Cursor::decode(next),
                                None => return mine,
                            }
                        }
                    })
                })
                .collect();
            for t in threads {
                handed.push(t.join().expect("claimer"));
            }
        });
        let mut seen = HashSet::new();
        for id in handed.iter().flatten() {
            assert!(seen.insert(id.clone()), "{id} was handed to two claimers");
        }
        assert_eq!(seen, all.into_iter().collect::<HashSet<_>>());
    });
}

#[test]
fn a_lease_holds_until_it_expires_and_then_goes_to_the_next_claimer() {
    on_every_engine(|s| {
        let all = fill(s, 3);
        assert_eq!(claimed(s, "alice", now()), all);
        assert!(claimed(s, "bob", now() + secs(299)).is_empty());
        let holders = s.live_holders(&all, now() + secs(299)).unwrap();
        assert!(holders.values().all(|h| h == "alice") && holders.len() == 3);
        // At the very instant of expiry the lease no longer counts.
        assert!(s.live_holders(&all, now() + secs(300)).unwrap().is_empty());
        assert_eq!(claimed(s, "bob", now() + secs(300)), all);

        // Alice comes back late: bob has them, so her renewal is lost and her release
        // releases nothing.
        let r = s
            .renew_leases("alice", &all, 300, now() + secs(301))
            .unwrap();
        assert!(r.renewed.is_empty());
        assert_eq!(r.lost, all);
        assert_eq!(s.release_leases("alice", &all).unwrap(), 0);
        // Bob's own claim again extends his leases rather than skipping them.
        assert_eq!(claimed(s, "bob", now() + secs(310)), all);
        let twice = [all[0].clone(), all[0].clone(), all[1].clone()];
        assert_eq!(s.release_leases("bob", &twice).unwrap(), 2);
        assert_eq!(claimed(s, "carol", now() + secs(311)), all[..2]);
    });
}

#[test]
fn a_claim_walk_passes_over_live_leases_and_takes_over_expired_ones() {
    on_every_engine(|s| {
        let all = fill(s, 4);
        // Bob claimed everything 290 s ago, so his leases end in 10 s; he has since renewed
        // the second and released the first.
        let bobs = s
            .claim("bob", &open_queue(50), 300, now() - secs(290))
            .unwrap();
        assert_eq!(ids(&bobs.items), all);
        assert_eq!(
            s.renew_leases("bob", &all[1..2], 300, now())
                .unwrap()
                .renewed,
            all[1..2]
        );
        assert_eq!(s.release_leases("bob", &all[..1]).unwrap(), 1);

        let at = now() + secs(20);
        let first = s.claim("alice", &open_queue(1), 300, at).unwrap();
        assert_eq!(ids(&first.items), all[..1]);
        let next = QueueQuery {
            after: first.next_cursor.as_deref().and_then(Cursor::decode),
            ..open_queue(1)
        };
        assert!(next.after.is_some());
        let second = s.claim("alice", &next, 300, at).unwrap();
        assert_eq!(ids(&second.items), all[2..3], "the renewed one skipped");
        assert!(second.next_cursor.is_some(), "the last is claimable too");
        let last = QueueQuery {
            after: second.next_cursor.as_deref().and_then(Cursor::decode),
            ..open_queue(1)
        };
        let third = s.claim("alice", &last, 300, at).unwrap();
        assert_eq!(ids(&third.items), all[3..]);
        assert_eq!(third.next_cursor, None);
    });
}

#[test]
fn an_expired_lease_nobody_took_can_still_be_renewed() {
    on_every_engine(|s| {
        let all = fill(s, 2);
        assert_eq!(claimed(s, "alice", now()), all);
        let later = now() + secs(301);
        let r = s.renew_leases("alice", &all[..1], 60, later).unwrap();
        assert_eq!(r.renewed, all[..1]);
        assert_eq!(r.lease_expires_at, later + secs(60));
        assert_eq!(claimed(s, "bob", later), all[1..]);
        assert!(claimed(s, "carol", later + secs(59)).is_empty());
        assert_eq!(claimed(s, "carol", later + secs(60)), all[..1]);
        // No renewal without a lease, nor of an unknown item.
        let r = s
            .renew_leases("dave", &["p00".into(), "nope".into()], 60, later)
            .unwrap();
        assert_eq!(r.lost, ["p00", "nope"]);
    });
}

#[test]
fn the_cap_on_live_leases_stops_a_claim_where_the_next_one_starts() {
    on_every_engine(|s| {
        let all = fill(s, 6);
        let capped = ClaimLimits {
            max_leases: 3,
            active_elsewhere: vec![],
        };
        let query = open_queue(10);
        let page = s
            .claim_within("alice", &query, 300, &capped, now())
            .unwrap();
        assert_eq!(ids(&page.items), all[..3]);
        assert_eq!(page.limited_by, [ClaimCap::MaxLeases]);
        assert_eq!((page.held, page.max_leases), (3, 3));
        let next = page.next_cursor.expect("the rest is claimable later");
        assert_eq!(s.release_leases("alice", &all[..1]).unwrap(), 1);
        let more = QueueQuery {
            after: Cursor::decode(&next),
            ..query
        };
        let page = s.claim_within("alice", &more, 300, &capped, now()).unwrap();
        assert_eq!(
            ids(&page.items),
            all[3..4],
            "room for one, from where it stopped"
        );
        assert_eq!(page.held, 3);
    });
}

#[test]
fn fair_share_splits_the_urgent_lane_among_the_active() {
    on_every_engine(|s| {
        let urgent: Vec<NewReport> = (0..6)
            .map(|i| {
                let mut r = report(subject(&format!("u{i}"), "urgent"), ReporterType::User, "x");
                r.lane = Some(Lane::Urgent);
                r
            })
            .collect();
        s.add_reports(&urgent, now()).unwrap();
        let standard = fill(s, 2);
        let limits = |others: &[&str]| ClaimLimits {
            max_leases: 50,
            active_elsewhere: others.iter().map(|o| o.to_string()).collect(),
        };
        // Three active: a share of ceil(6 / 3) = 2 urgent items each; the standard lane is
        // not shared out.
        let alice = s
            .claim_within(
                "alice",
                &open_queue(50),
                300,
                &limits(&["bob", "carol"]),
                now(),
            )
            .unwrap();
        let taken = ids(&alice.items);
        let urgent_taken = taken.iter().filter(|id| id.starts_with('u')).count();
        assert_eq!(urgent_taken, 2, "{taken:?}");
        assert!(standard.iter().all(|id| taken.contains(id)), "{taken:?}");
        assert!(alice.limited_by.contains(&ClaimCap::FairShare));
        // Bob: alice counts as active by her live leases.
        let bob = s
            .claim_within("bob", &open_queue(50), 300, &limits(&["carol"]), now())
            .unwrap();
        let bobs = ids(&bob.items);
        assert_eq!(bobs.len(), 2, "{bobs:?}");
        assert!(
            bobs.iter()
                .all(|id| id.starts_with('u') && !taken.contains(id))
        );
        // Named claims keep the same share.
        let rest: Vec<String> = (0..6)
            .map(|i| format!("u{i}"))
            .filter(|id| !taken.contains(id) && !bobs.contains(id))
            .collect();
        let carol = token(s, "carol", Role::Moderator);
        let grant = s
            .claim_items(&carol, &rest, 300, &limits(&[]), now())
            .unwrap();
        assert_eq!(grant.leased.len(), 2, "{grant:?}");
        assert!(grant.refused.is_empty(), "{grant:?}");
    });
}

#[test]
fn a_named_claim_leases_what_it_may_and_says_why_not_the_rest() {
    on_every_engine(|s| {
        let all = fill(s, 4);
        let admin = token(s, "admin", Role::Admin);
        let mut escalate = decision("e1", &all[3], DecisionAction::Escalate);
        escalate.escalation_target = Some(EscalationTier::Legal);
        escalate.note = Some("a court order".into());
        assert_eq!(decide(s, &admin, escalate), DecisionOutcome::Applied);
        assert_eq!(claimed(s, "alice", now()), all[..3]);
        assert_eq!(s.release_leases("alice", &all[1..3]).unwrap(), 2);

        let bob = token(s, "bob", Role::Moderator);
        let asked: Vec<String> = [&all[0], &all[1], &all[1], &all[3]]
            .into_iter()
            .cloned()
            .chain(["nope".to_string()])
            .collect();
        let limits = ClaimLimits {
            max_leases: 10,
            active_elsewhere: vec![],
        };
        let grant = s.claim_items(&bob, &asked, 300, &limits, now()).unwrap();
        assert_eq!(grant.leased, all[1..2]);
        let refused: Vec<(&str, RefusalReason, Option<&str>)> = grant
            .refused
            .iter()
            .map(|r| (r.item_id.as_str(), r.reason, r.leased_by.as_deref()))
            .collect();
        assert_eq!(
            refused,
            [
                (
                    all[0].as_str(),
                    RefusalReason::LeasedElsewhere,
                    Some("alice")
                ),
                (all[3].as_str(), RefusalReason::NotClaimable, None),
                ("nope", RefusalReason::NotClaimable, None),
            ]
        );
        let lawyer = token(s, "lee", Role::Legal);
        let grant = s
            .claim_items(&lawyer, &all[3..], 300, &limits, now())
            .unwrap();
        assert_eq!(grant.leased, all[3..]);
        let one = ClaimLimits {
            max_leases: 1,
            active_elsewhere: vec![],
        };
        let grant = s
            .claim_items(&lawyer, &all[2..3], 300, &one, now())
            .unwrap();
        assert_eq!(grant.refused[0].reason, RefusalReason::MaxLeases);
    });
}

#[test]
fn a_selection_passes_over_items_leased_elsewhere_and_stops_at_its_limit() {
    on_every_engine(|s| {
        let all = fill(s, 8);
        let alice = token(s, "alice", Role::Moderator);
        let limits = ClaimLimits::unlimited();
        s.claim_items(&alice, &all[..2], 300, &limits, now())
            .unwrap();
        let query = open_queue(50);
        let mine = s.select("alice", &query, 100, now()).unwrap();
        assert_eq!(mine.ids, all);
        let bobs = s.select("bob", &query, 100, now()).unwrap();
        assert_eq!(bobs.ids, all[2..]);
        assert_eq!(bobs.leased_elsewhere, 2);
        assert!(!bobs.truncated);
        let few = s.select("bob", &query, 3, now()).unwrap();
        assert_eq!(few.ids, all[2..5]);
        assert!(few.truncated);
        // Nothing was leased by selecting.
        assert_eq!(s.live_holders(&all, now()).unwrap().len(), 2);
    });
}

// --- decisions -----------------------------------------------------------------------------

#[test]
fn a_key_applies_once_and_a_reused_key_must_mean_the_same_decision() {
    on_every_engine(|s| {
        let all = fill(s, 3);
        let alice = token(s, "alice", Role::Moderator);
        let bob = token(s, "bob", Role::Moderator);
        let take_down = decision("k1", &all[0], DecisionAction::TakeDown);
        assert_eq!(
            decide(s, &alice, take_down.clone()),
            DecisionOutcome::Applied
        );
        assert_eq!(
            decide(s, &alice, take_down.clone()),
            DecisionOutcome::Duplicate
        );
        // The same key for another decision is the client's mistake, not a duplicate.
        let other = decision("k1", &all[1], DecisionAction::Keep);
        assert_eq!(decide(s, &alice, other.clone()), DecisionOutcome::Invalid);
        // Keys are each token's own.
        assert_eq!(decide(s, &bob, other), DecisionOutcome::Applied);
        // One batch: each result in order, a repeat inside it a duplicate.
        let batch = [
            decision("k2", &all[2], DecisionAction::Keep),
            decision("k2", &all[2], DecisionAction::Keep),
            decision("k3", "nope", DecisionAction::Keep),
            decision("k4", &all[0], DecisionAction::Keep),
        ];
        let results = s
            .apply_decisions(&alice, &batch, &PolicyCatalog::builtin(), now())
            .unwrap();
        let outcomes: Vec<DecisionOutcome> = results.iter().map(|r| r.outcome).collect();
        assert_eq!(
            outcomes,
            [
                DecisionOutcome::Applied,
                DecisionOutcome::Duplicate,
                DecisionOutcome::NotFound,
                DecisionOutcome::Conflict,
            ]
        );
        let keys: Vec<&str> = results.iter().map(|r| r.idempotency_key.as_str()).collect();
        assert_eq!(keys, ["k2", "k2", "k3", "k4"]);
        let log = s.audit(&everything()).unwrap();
        assert_eq!(log.len(), 3, "one row per applied decision");
    });
}

#[test]
fn a_decision_ends_whatever_lease_the_item_had() {
    on_every_engine(|s| {
        let all = fill(s, 2);
        assert_eq!(claimed(s, "alice", now()), all);
        let bob = token(s, "bob", Role::Moderator);
        assert_eq!(
            decide(s, &bob, decision("k", &all[0], DecisionAction::Keep)),
            DecisionOutcome::Applied
        );
        let holders = s.live_holders(&all, now()).unwrap();
        assert_eq!(holders.keys().collect::<Vec<_>>(), [&all[1]]);
        let r = s.renew_leases("alice", &all, 300, now()).unwrap();
        assert_eq!(r.lost, all[..1]);
    });
}

/// The transparency export's view of the last minute: each decision and whether it was
/// reversed since.
fn decided_and_reversed(s: &dyn Storage) -> Vec<(DecisionAction, bool)> {
    s.decisions_between(now() - secs(60), now() + secs(60))
        .unwrap()
        .iter()
        .map(|f| (f.action, f.reversed))
        .collect()
}

#[test]
fn a_reversal_restores_the_item_and_the_log_keeps_both() {
    on_every_engine(|s| {
        let all = fill(s, 2);
        let alice = token(s, "alice", Role::Moderator);
        let mut take_down = decision("k1", &all[0], DecisionAction::TakeDown);
        take_down.scope = Some(Scope::Countries(vec!["DE".into()]));
        assert_eq!(decide(s, &alice, take_down), DecisionOutcome::Applied);
        let item = s.item(&all[0]).unwrap().unwrap();
        assert_eq!(item.state, ReviewState::TakenDown);
        assert_eq!(
            item.restricted_in,
            Some(Scope::Countries(vec!["DE".into()]))
        );
        let downs = s.take_downs_since(now() - secs(60), 0, 1000).unwrap();
        assert_eq!(downs.len(), 1);
        assert_eq!(downs[0].item.id, all[0]);
        assert_eq!(downs[0].scope, Scope::Countries(vec!["DE".into()]));
        assert!(downs[0].basis.is_some());

        // Widening in more countries is a further take down; the same again is refused.
        let mut wider = decision("k2", &all[0], DecisionAction::TakeDown);
        wider.scope = Some(Scope::Countries(vec!["AT".into()]));
        assert_eq!(decide(s, &alice, wider.clone()), DecisionOutcome::Applied);
        wider.idempotency_key = "k3".into();
        assert_eq!(decide(s, &alice, wider), DecisionOutcome::Conflict);

        // Only the latest decision can be reversed.
        let mut undo_first = decision("r1", &all[0], DecisionAction::Reverse);
        undo_first.reverses = Some("k1".into());
        assert_eq!(decide(s, &alice, undo_first), DecisionOutcome::Conflict);
        let mut undo = decision("r2", &all[0], DecisionAction::Reverse);
        undo.reverses = Some("k2".into());
        assert_eq!(decide(s, &alice, undo), DecisionOutcome::Applied);
        let item = s.item(&all[0]).unwrap().unwrap();
        assert_eq!(
            item.restricted_in,
            Some(Scope::Countries(vec!["DE".into()]))
        );
        let mut undo = decision("r3", &all[0], DecisionAction::Reverse);
        undo.reverses = Some("k1".into());
        assert_eq!(
            decide(s, &alice, undo.clone()),
            DecisionOutcome::Conflict,
            "not latest"
        );

        assert_eq!(
            decided_and_reversed(s),
            [
                (DecisionAction::TakeDown, false),
                (DecisionAction::TakeDown, true),
                (DecisionAction::Reverse, false),
            ]
        );
        let downs = s.take_downs_since(now() - secs(60), 0, 1000).unwrap();
        assert_eq!(
            downs.len(),
            1,
            "the reversed widening is no longer in force"
        );
        assert!(
            s.decisions_between(now() + secs(60), now() + secs(120))
                .unwrap()
                .is_empty()
        );

        let history: Vec<HistoryEvent> = s
            .item(&all[0])
            .unwrap()
            .unwrap()
            .history
            .iter()
            .map(|h| h.event)
            .collect();
        assert_eq!(
            history,
            [
                HistoryEvent::Reported,
                HistoryEvent::TakeDown,
                HistoryEvent::TakeDown,
                HistoryEvent::Reversal
            ]
        );
    });
}

/// Idempotency keys are each token's own: two moderators' clients may pick the same one. The
/// transparency figures count as reversed only the decision a reversal undid, never another
/// moderator's that shares its key.
#[test]
fn a_reversal_counts_against_its_own_decision_only_when_keys_coincide() {
    on_every_engine(|s| {
        let all = fill(s, 2);
        let alice = token(s, "alice", Role::Moderator);
        let bob = token(s, "bob", Role::Moderator);
        let down = |item: &str| {
            let mut d = decision("same-key", item, DecisionAction::TakeDown);
            d.reason_code = Some("spam".into());
            d
        };
        assert_eq!(decide(s, &alice, down(&all[0])), DecisionOutcome::Applied);
        assert_eq!(decide(s, &bob, down(&all[1])), DecisionOutcome::Applied);
        let mut undo = decision("bob-undo", &all[1], DecisionAction::Reverse);
        undo.reverses = Some("same-key".into());
        assert_eq!(decide(s, &bob, undo), DecisionOutcome::Applied);

        assert_eq!(
            decided_and_reversed(s),
            [
                (DecisionAction::TakeDown, false),
                (DecisionAction::TakeDown, true),
                (DecisionAction::Reverse, false),
            ],
            "alice's take down stands; only bob's was undone"
        );
    });
}

/// The statements' export reads take downs in force a page at a time, in the order of their
/// audit rows: a reversed one is passed over without shortening the walk, and each page
/// starts after the last one the previous page gave.
#[test]
fn take_downs_in_force_are_read_a_page_at_a_time() {
    on_every_engine(|s| {
        let all = fill(s, 5);
        let alice = token(s, "alice", Role::Moderator);
        for id in &all {
            let key = format!("down-{id}");
            assert_eq!(
                decide(s, &alice, decision(&key, id, DecisionAction::TakeDown)),
                DecisionOutcome::Applied
            );
        }
        let mut undo = decision("undo-p01", &all[1], DecisionAction::Reverse);
        undo.reverses = Some("down-p01".into());
        assert_eq!(decide(s, &alice, undo), DecisionOutcome::Applied);

        let since = now() - secs(60);
        let mut seen = Vec::new();
        let mut after = 0;
        loop {
            let page = s.take_downs_since(since, after, 2).unwrap();
            assert!(page.len() <= 2);
            seen.extend(page.iter().map(|td| td.item.id.clone()));
            match page.last() {
                Some(last) if page.len() == 2 => after = last.audit_id,
                _ => break,
            }
        }
        assert_eq!(seen, ["p00", "p02", "p03", "p04"]);
        assert!(s.take_downs_since(since, i64::MAX, 2).unwrap().is_empty());
        assert!(
            s.take_downs_since(now() + secs(60), 0, 2)
                .unwrap()
                .is_empty()
        );
    });
}

/// The transparency figures file each decision under the report category of its item's most
/// trusted source, the earliest on a tie: the same choice as the one the decision's default
/// reason comes from, read by the export in its own statement.
#[test]
fn the_export_files_each_decision_under_its_most_trusted_reports_category() {
    on_every_engine(|s| {
        let alice = token(s, "alice", Role::Moderator);
        let reports = [
            ("mixed", ReporterType::User, "spam"),
            ("mixed", ReporterType::Automated, "scam"),
            ("mixed", ReporterType::TrustedFlagger, "hate"),
            ("mixed", ReporterType::User, "other"),
            ("mixed", ReporterType::TrustedFlagger, "csam"),
            ("users", ReporterType::User, "harassment"),
            ("users", ReporterType::User, "spam"),
            ("official", ReporterType::TrustedFlagger, "hate"),
            ("official", ReporterType::Authority, "terrorism"),
        ];
        for (id, reporter, category) in reports {
            s.add_report(&report(subject(id, id), reporter, category), now())
                .unwrap();
        }
        for id in ["mixed", "users", "official"] {
            let key = format!("keep-{id}");
            assert_eq!(
                decide(s, &alice, decision(&key, id, DecisionAction::Keep)),
                DecisionOutcome::Applied
            );
        }
        let filed: Vec<Option<String>> = s
            .decisions_between(now() - secs(60), now() + secs(60))
            .unwrap()
            .into_iter()
            .map(|f| f.report_category)
            .collect();
        let by_rule = |id: &str| {
            modq::server::leading_category(
                reports
                    .iter()
                    .filter(|(item, ..)| *item == id)
                    .map(|(_, reporter, category)| (*reporter, *category)),
            )
            .map(str::to_owned)
        };
        assert_eq!(
            filed,
            [by_rule("mixed"), by_rule("users"), by_rule("official")]
        );
        assert_eq!(
            filed,
            [
                Some("hate".to_owned()),
                Some("harassment".to_owned()),
                Some("terrorism".to_owned())
            ]
        );
    });
}

// --- tiers ---------------------------------------------------------------------------------

#[test]
fn an_escalated_item_is_its_tiers_to_decide_and_to_read() {
    on_every_engine(|s| {
        let all = fill(s, 3);
        let alice = token(s, "alice", Role::Moderator);
        let specialist = token(s, "cs", Role::ChildSafety);
        let mut escalate = decision("e1", &all[0], DecisionAction::Escalate);
        escalate.escalation_target = Some(EscalationTier::ChildSafety);
        assert_eq!(
            decide(s, &alice, escalate.clone()),
            DecisionOutcome::Invalid,
            "no note"
        );
        escalate.note = Some("the image matches the list".into());
        assert_eq!(decide(s, &alice, escalate), DecisionOutcome::Applied);
        let mut senior = decision("e2", &all[1], DecisionAction::Escalate);
        senior.note = Some("policy question".into());
        assert_eq!(decide(s, &alice, senior), DecisionOutcome::Applied);

        let counts = s.queue_counts(now()).unwrap();
        let escalated = |tier| {
            counts
                .tiers
                .iter()
                .find(|t| t.tier == tier)
                .map_or(0, |t| t.escalated)
        };
        assert_eq!(escalated(EscalationTier::ChildSafety), 1);
        assert_eq!(escalated(EscalationTier::Senior), 1);
        let standard = counts
            .lanes
            .iter()
            .find(|l| l.lane == Lane::Standard)
            .unwrap();
        assert_eq!(standard.open, 1);

        // The moderator's escalated queue leaves out the tiers they may not read.
        let escalated_queue = |hidden: Vec<EscalationTier>| QueueQuery {
            state: ReviewState::Escalated,
            hidden_tiers: hidden,
            ..open_queue(50)
        };
        let hidden = vec![EscalationTier::LawEnforcement, EscalationTier::ChildSafety];
        let (theirs, _) = walk(s, &escalated_queue(hidden));
        assert_eq!(theirs, all[1..2]);
        let (everyone, _) = walk(s, &escalated_queue(vec![]));
        assert_eq!(everyone.len(), 2);
        let child_safety = QueueQuery {
            tier: Some(EscalationTier::ChildSafety),
            ..escalated_queue(vec![])
        };
        assert_eq!(walk(s, &child_safety).0, all[..1]);

        // Only the tier decides; its take down stays its own.
        let take_down = decision("t1", &all[0], DecisionAction::TakeDown);
        assert_eq!(
            decide(s, &alice, take_down.clone()),
            DecisionOutcome::Conflict
        );
        assert_eq!(decide(s, &specialist, take_down), DecisionOutcome::Applied);
        let taken_down = QueueQuery {
            state: ReviewState::TakenDown,
            hidden_tiers: vec![EscalationTier::LawEnforcement, EscalationTier::ChildSafety],
            ..open_queue(50)
        };
        assert!(
            walk(s, &taken_down).0.is_empty(),
            "the decided item stays hidden"
        );
        let mut undo = decision("r1", &all[0], DecisionAction::Reverse);
        undo.reverses = Some("t1".into());
        assert_eq!(decide(s, &alice, undo), DecisionOutcome::Conflict);

        // A note on it belongs to the tier.
        let note = s
            .add_note(&specialist, &all[0], "evidence kept", now())
            .unwrap()
            .unwrap();
        assert_eq!(note.tier, Some(EscalationTier::ChildSafety));
        assert_eq!(note.visible_to, Some(EscalationTier::ChildSafety));
        let open_note = s
            .add_note(&alice, &all[2], "looked twice", now())
            .unwrap()
            .unwrap();
        assert_eq!((open_note.tier, open_note.visible_to), (None, None));
        assert!(s.add_note(&alice, "nope", "x", now()).unwrap().is_none());
        let item = s.item(&all[0]).unwrap().unwrap();
        assert!(
            item.history.iter().any(
                |h| h.event == HistoryEvent::Note && h.note.as_deref() == Some("evidence kept")
            )
        );
    });
}

// --- tokens --------------------------------------------------------------------------------

#[test]
fn tokens_are_found_by_hash_and_names_are_unique_whatever_their_case() {
    on_every_engine(|s| {
        let id = s.create_token("Alice", Role::Moderator, "h1").unwrap();
        let found = s.token_lookup("h1").unwrap().unwrap();
        assert_eq!(
            (found.id, found.name.as_str(), found.role),
            (id, "Alice", Role::Moderator)
        );
        assert!(s.token_lookup("h2").unwrap().is_none());
        let again = s.create_token("alice", Role::Admin, "h2");
        assert!(matches!(again, Err(StorageError::Invalid(_))), "{again:?}");
        let bob = s.create_token("bob", Role::Legal, "h3").unwrap();
        assert!(bob > id);

        let revoked = s.revoke_token("ALICE", now()).unwrap().unwrap();
        assert_eq!(revoked.revoked_at, Some(now()));
        assert!(s.token_lookup("h1").unwrap().is_none());
        // Revoking again keeps the first time; the name stays taken.
        let later = s
            .revoke_token(&id.to_string(), now() + secs(5))
            .unwrap()
            .unwrap();
        assert_eq!(later.revoked_at, Some(now()));
        assert!(s.create_token("alice", Role::Moderator, "h4").is_err());
        assert!(s.revoke_token("nobody", now()).unwrap().is_none());

        let listed: Vec<(String, Role, bool)> = s
            .tokens()
            .unwrap()
            .into_iter()
            .map(|t| (t.name, t.role, t.revoked_at.is_some()))
            .collect();
        assert_eq!(
            listed,
            [
                ("Alice".to_string(), Role::Moderator, true),
                ("bob".to_string(), Role::Legal, false)
            ]
        );
    });
}

// --- the audit log -------------------------------------------------------------------------

fn everything() -> AuditQuery {
    AuditQuery {
        after_id: 0,
        item: None,
        limit: 1000,
    }
}

#[test]
fn the_audit_log_only_grows_and_pages_in_order() {
    on_every_engine(|s| {
        let all = fill(s, 5);
        let alice = token(s, "alice", Role::Moderator);
        let boss = token(s, "boss", Role::Admin);
        for (i, id) in all.iter().enumerate() {
            let mut d = decision(&format!("k{i}"), id, DecisionAction::TakeDown);
            d.note = Some(format!("note {i}"));
            d.decided_at = now() - secs(30);
            assert_eq!(decide(s, &alice, d), DecisionOutcome::Applied);
        }
        let before = s.audit(&everything()).unwrap();
        assert_eq!(before.len(), 5);
        assert!(before.windows(2).all(|w| w[0].id < w[1].id));
        let first = &before[0];
        assert_eq!(first.actor, "alice");
        assert_eq!(first.actor_token_id, Some(alice.id));
        assert_eq!(first.role, "moderator");
        assert_eq!(first.decided_at, now() - secs(30));
        assert_eq!(first.at, now());
        assert_eq!(
            (first.from_state, first.to_state),
            (ReviewState::Open, ReviewState::TakenDown)
        );
        assert_eq!(first.scope, Some(Scope::Global));

        // A reversal and new decisions add rows; none already there changes.
        let mut undo = decision("r0", &all[0], DecisionAction::Reverse);
        undo.reverses = Some("k0".into());
        assert_eq!(decide(s, &boss, undo), DecisionOutcome::Applied);
        assert_eq!(
            decide(s, &boss, decision("k9", &all[0], DecisionAction::Keep)),
            DecisionOutcome::Applied
        );
        let after = s.audit(&everything()).unwrap();
        assert_eq!(after.len(), 7);
        assert_eq!(after[..5], before[..]);
        assert_eq!(after[5].reverses.as_deref(), Some("k0"));

        // Paged by `after_id`, and for one item.
        let mut paged = Vec::new();
        let mut query = AuditQuery {
            limit: 2,
            ..everything()
        };
        loop {
            let page = s.audit(&query).unwrap();
            let Some(last) = page.last() else { break };
            query.after_id = last.id;
            paged.extend(page);
        }
        assert_eq!(paged, after);
        let one = AuditQuery {
            item: Some(all[0].clone()),
            ..everything()
        };
        let keys: Vec<String> = s
            .audit(&one)
            .unwrap()
            .into_iter()
            .map(|e| e.idempotency_key)
            .collect();
        assert_eq!(keys, ["k0", "r0", "k9"]);
    });
}

// --- counts --------------------------------------------------------------------------------

#[test]
fn lane_counts_follow_reports_and_decisions() {
    on_every_engine(|s| {
        let all = varied(s);
        let counts = s.queue_counts(now()).unwrap();
        assert_eq!(counts.as_of, now());
        let total: u64 = counts.lanes.iter().map(|l| l.open).sum();
        assert_eq!(total, 40);
        let mut expected_overdue = 0;
        for id in &all {
            let item = s.item(id).unwrap().unwrap();
            expected_overdue += u64::from(item.deadline.is_some_and(|d| d <= now()));
        }
        let overdue: u64 = counts.lanes.iter().map(|l| l.overdue).sum();
        assert_eq!(overdue, expected_overdue);
        assert!(overdue > 0);
        let urgent = |c: &modq::model::QueueCounts| {
            c.lanes
                .iter()
                .find(|l| l.lane == Lane::Urgent)
                .unwrap()
                .open
        };
        assert_eq!(urgent(&counts), 8);

        let alice = token(s, "alice", Role::Moderator);
        let batch: Vec<Decision> = ["v00", "v05", "v01"]
            .iter()
            .map(|id| decision(&format!("k-{id}"), id, DecisionAction::Keep))
            .collect();
        s.apply_decisions(&alice, &batch, &PolicyCatalog::builtin(), now())
            .unwrap();
        let counts = s.queue_counts(now()).unwrap();
        assert_eq!(counts.lanes.iter().map(|l| l.open).sum::<u64>(), 37);
        assert_eq!(urgent(&counts), 6);
        // Later, more items are overdue.
        let later = s.queue_counts(now() + secs(3600)).unwrap();
        assert!(later.lanes.iter().map(|l| l.overdue).sum::<u64>() > overdue - 2);
        let facts = s.decisions_between(now(), now() + secs(1)).unwrap();
        assert_eq!(facts.len(), 3);
        assert!(
            facts
                .iter()
                .all(|f| f.report_category.is_some() && !f.reversed)
        );
        assert_eq!(facts[1].lane, Lane::Urgent);
    });
}

// --- appeals (EU DSA Article 20) -----------------------------------------------------------

fn appeal(decision: &str, statement: &str) -> modq::model::NewAppeal {
    modq::model::NewAppeal {
        decision: decision.into(),
        statement: statement.into(),
    }
}

/// A take down is appealed once, within six months; the appeal is an item of the appeals
/// lane; its first decider may not decide it; an overturn restores the content and a
/// replay changes nothing; an upheld appeal leaves the take down standing.
#[test]
fn an_appeal_is_lodged_once_and_decided_by_someone_else() {
    use modq::server::AppealRefusal;
    on_every_engine(|s| {
        fill(s, 3);
        let alice = token(s, "alice", Role::Moderator);
        let bob = token(s, "bob", Role::Moderator);
        let intake = token(s, "intake", Role::Admin);
        assert_eq!(
            decide(s, &alice, decision("a1", "p00", DecisionAction::TakeDown)),
            DecisionOutcome::Applied
        );
        assert_eq!(
            decide(s, &alice, decision("a2", "p01", DecisionAction::Keep)),
            DecisionOutcome::Applied
        );
        assert_eq!(
            decide(s, &alice, decision("a3", "p02", DecisionAction::TakeDown)),
            DecisionOutcome::Applied
        );
        let log = s.audit(&everything()).unwrap();
        let puid = |item: &str| {
            let row = log.iter().find(|e| e.item_id == item).unwrap();
            format!("modq-{}", row.id)
        };
        // Refusals change nothing.
        let lodge = |d: &str, at| {
            s.lodge_appeal(&intake, &appeal(d, "it was satire"), at)
                .unwrap()
        };
        assert!(matches!(
            lodge("modq-999", now()),
            Err(AppealRefusal::UnknownDecision(_))
        ));
        assert!(matches!(
            lodge(&puid("p01"), now()),
            Err(AppealRefusal::NotAppealable(_))
        ));
        let late = now() + TimeDelta::days(200);
        assert!(matches!(
            lodge(&puid("p00"), late),
            Err(AppealRefusal::TooLate(_))
        ));
        let blank = s
            .lodge_appeal(&intake, &appeal(&puid("p00"), "  "), now())
            .unwrap();
        assert!(matches!(blank, Err(AppealRefusal::Invalid(_))));

        let lodged = lodge(&puid("p00"), now()).expect("lodged");
        assert!(matches!(
            lodge(&puid("p00"), now()),
            Err(AppealRefusal::AlreadyAppealed(_))
        ));
        let item = s.item(&lodged.item_id).unwrap().expect("the appeal item");
        assert_eq!((item.lane, item.state), (Lane::Appeals, ReviewState::Open));
        assert_eq!(item.text.as_deref(), Some("post p00"));
        let records = s.appeals_of(std::slice::from_ref(&lodged.item_id)).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].decided_by, "alice");
        assert_eq!(records[0].statement, "it was satire");
        assert_eq!(records[0].original.item.id, "p00");
        assert!(records[0].original.appeal.is_none());

        // The one who decided first is never leased the appeal, by a walk or by name; the
        // others are.
        let appeals_lane = QueueQuery {
            lane: Some(Lane::Appeals),
            ..open_queue(50)
        };
        let walk_as = |who: &str| ids(&s.claim(who, &appeals_lane, 300, now()).unwrap().items);
        assert_eq!(walk_as("alice"), Vec::<String>::new());
        let named = s
            .claim_items(
                &alice,
                std::slice::from_ref(&lodged.item_id),
                300,
                &ClaimLimits::unlimited(),
                now(),
            )
            .unwrap();
        assert!(named.leased.is_empty(), "{named:?}");
        assert_eq!(named.refused[0].reason, RefusalReason::NotClaimable);
        assert_eq!(walk_as("bob"), vec![lodged.item_id.clone()]);

        // Article 20: not the one who decided first; nor with a plain decision.
        let overturn = decision("o1", &lodged.item_id, DecisionAction::Overturn);
        assert_eq!(
            decide(s, &alice, overturn.clone()),
            DecisionOutcome::Conflict
        );
        assert_eq!(
            decide(
                s,
                &bob,
                decision("k1", &lodged.item_id, DecisionAction::Keep)
            ),
            DecisionOutcome::Invalid
        );
        assert_eq!(
            decide(s, &bob, decision("u0", "p02", DecisionAction::Uphold)),
            DecisionOutcome::Invalid,
            "only appeals are upheld"
        );
        assert_eq!(decide(s, &bob, overturn.clone()), DecisionOutcome::Applied);
        assert_eq!(decide(s, &bob, overturn), DecisionOutcome::Duplicate);
        assert_eq!(
            decide(
                s,
                &bob,
                decision("u1", &lodged.item_id, DecisionAction::Uphold)
            ),
            DecisionOutcome::Conflict,
            "decided once"
        );
        let restored = s.item("p00").unwrap().unwrap();
        assert_eq!(restored.state, ReviewState::Kept);
        assert_eq!(restored.restricted_in, None);
        assert_eq!(
            restored.history.last().map(|h| h.event),
            Some(HistoryEvent::Reversal)
        );
        let records = s.appeals_of(std::slice::from_ref(&lodged.item_id)).unwrap();
        let outcome = records[0].original.appeal.clone().expect("outcome");
        assert_eq!(outcome.verdict, modq::model::AppealVerdict::Overturned);
        assert_eq!(outcome.decided_by, "bob");
        // The overturned take down keeps its statement, with its outcome.
        let kept = s
            .take_downs_since(now() - TimeDelta::days(1), 0, 1000)
            .unwrap();
        let overturned = kept
            .iter()
            .find(|t| t.item.id == "p00")
            .expect("still stated");
        assert_eq!(
            overturned.appeal.as_ref().map(|a| a.verdict),
            Some(outcome.verdict)
        );
        let log = s.audit(&everything()).unwrap();
        let reversal = log.iter().rev().find(|e| e.item_id == "p00").unwrap();
        assert_eq!(reversal.action, DecisionAction::Reverse);
        assert_eq!(reversal.actor, "bob");

        // An upheld appeal: the take down stands.
        let second = lodge(&puid("p02"), now()).expect("lodged");
        assert_eq!(
            decide(
                s,
                &bob,
                decision("u2", &second.item_id, DecisionAction::Uphold)
            ),
            DecisionOutcome::Applied
        );
        assert_eq!(
            s.item("p02").unwrap().unwrap().state,
            ReviewState::TakenDown
        );
        let upheld = s.item(&second.item_id).unwrap().unwrap();
        assert_eq!(upheld.state, ReviewState::TakenDown);
        assert_eq!(
            upheld.history.last().map(|h| h.event),
            Some(HistoryEvent::Upheld)
        );
        assert_eq!(
            s.queue_counts(now())
                .unwrap()
                .lanes
                .iter()
                .find(|l| l.lane == Lane::Appeals)
                .map(|l| l.open),
            Some(0)
        );
    });
}

// --- the thread around an item -------------------------------------------------------------

fn message(id: &str, text: &str) -> modq::model::ThreadMessage {
    modq::model::ThreadMessage {
        id: id.into(),
        author: Some(Author {
            id: format!("u-{id}"),
            handle: None,
            created_at: None,
        }),
        text: Some(text.into()),
        at: Some(now() - secs(600)),
    }
}

/// The intake's thread (parent, before, after) is kept and read back with the item; an
/// ordinary token's report cannot describe one; an oversized thread is refused whole.
#[test]
fn an_items_thread_is_the_intakes_bounded_and_read_back() {
    on_every_engine(|s| {
        let thread = modq::model::Thread {
            parent: Some(message("root", "what do you all think?")),
            before: vec![message("b1", "first reply")],
            after: vec![message("a1", "later reply"), message("a2", "\u{1b}[2J")],
        };
        let mut with_thread = report(subject("r1", "the reply"), ReporterType::User, "harassment");
        with_thread.subject.thread = Some(thread.clone());
        s.add_report(&with_thread, now()).unwrap();
        assert_eq!(s.item("r1").unwrap().unwrap().thread, Some(thread.clone()));
        let page = s.queue_page(&open_queue(10)).unwrap();
        assert_eq!(
            page.items[0].thread,
            Some(thread.clone()),
            "pages carry it too"
        );

        // A moderator's report describes no thread, on a new item or an existing one.
        let alice = token(s, "alice", Role::Moderator);
        let mut forged = with_thread.clone();
        forged.subject.thread = Some(modq::model::Thread {
            parent: Some(message("fake", "forged")),
            ..Default::default()
        });
        s.file_reports(Some(&alice), &[forged.clone()], now())
            .unwrap();
        assert_eq!(s.item("r1").unwrap().unwrap().thread, Some(thread));
        forged.subject.id = "r2".into();
        s.file_reports(Some(&alice), &[forged], now()).unwrap();
        assert_eq!(s.item("r2").unwrap().unwrap().thread, None);

        // Bounds: six on a side, or a text over 4000 characters, refuse the whole batch.
        let mut crowded = report(subject("r3", "x"), ReporterType::User, "spam");
        crowded.subject.thread = Some(modq::model::Thread {
            before: (0..6).map(|i| message(&format!("m{i}"), "hi")).collect(),
            ..Default::default()
        });
        assert!(matches!(
            s.add_report(&crowded, now()),
            Err(StorageError::Invalid(_))
        ));
        let mut long = report(subject("r3", "x"), ReporterType::User, "spam");
        long.subject.thread = Some(modq::model::Thread {
            parent: Some(message("p", &"y".repeat(4001))),
            ..Default::default()
        });
        assert!(matches!(
            s.add_report(&long, now()),
            Err(StorageError::Invalid(_))
        ));
        assert!(s.item("r3").unwrap().is_none(), "nothing stored");
    });
}

// --- account measures ----------------------------------------------------------------------

fn measure(
    action: modq::account::AccountAction,
    days: Option<u32>,
) -> modq::account::AccountMeasure {
    modq::account::AccountMeasure { action, days }
}

#[test]
fn account_measures_come_with_take_downs_and_go_with_their_reversal() {
    use modq::account::AccountAction::{Ban, Strike, Suspend};
    on_every_engine(|s| {
        let made: DateTime<Utc> = "2026-11-18T09:00:00Z".parse().expect("time");
        let by_author = |id: &str| {
            let mut sub = subject(id, &format!("post {id}"));
            sub.author = Some(Author {
                id: "u-7".into(),
                handle: Some("@seven".into()),
                created_at: Some(made),
            });
            report(sub, ReporterType::User, "harassment")
        };
        let reports = vec![
            by_author("a0"),
            by_author("a1"),
            by_author("a2"),
            by_author("a3"),
            report(subject("anon", "no author"), ReporterType::User, "spam"),
        ];
        s.add_reports(&reports, now()).expect("import");
        let alice = token(s, "alice", Role::Moderator);
        let sam = token(s, "sam", Role::Senior);
        let with = |key: &str, item: &str, m| Decision {
            account: Some(m),
            ..decision(key, item, DecisionAction::TakeDown)
        };

        // A strike with a take down: recorded once, however often the key is sent.
        let strike = with("k-strike", "a0", measure(Strike, None));
        assert_eq!(decide(s, &alice, strike.clone()), DecisionOutcome::Applied);
        assert_eq!(decide(s, &alice, strike), DecisionOutcome::Duplicate);
        let standing = s.item("a3").unwrap().unwrap().account.expect("a standing");
        assert_eq!(standing.account_id, "u-7");
        assert_eq!(standing.created_at, Some(made));
        assert_eq!(standing.recent.len(), 1, "{standing:?}");
        assert_eq!(standing.recent[0].measure, measure(Strike, None));
        assert_eq!(
            standing.recent[0].reason_code.as_deref(),
            Some("harassment")
        );

        // A suspension: its end is kept, the audit and the statement's record name it.
        let week = measure(Suspend, Some(7));
        assert_eq!(
            decide(s, &alice, with("k-susp", "a1", week)),
            DecisionOutcome::Applied
        );
        let standing = s.item("a3").unwrap().unwrap().account.expect("a standing");
        assert_eq!(standing.recent.len(), 2);
        assert_eq!(standing.recent[0].measure, week, "newest first");
        assert_eq!(standing.recent[0].until, Some(now() + TimeDelta::days(7)));
        let audit = s.audit(&everything()).unwrap();
        let row = audit
            .iter()
            .find(|e| e.idempotency_key == "k-susp")
            .expect("audited");
        assert_eq!(row.account, Some(week));
        let downs = s.take_downs_since(now() - secs(60), 0, 1000).unwrap();
        let record = downs
            .iter()
            .find(|d| d.item.id == "a1")
            .expect("a take down");
        assert_eq!(record.account, Some(week));

        // Reversing the take down lifts the suspension; the log still says what was done.
        let mut undo = decision("k-undo", "a1", DecisionAction::Reverse);
        undo.reverses = Some("k-susp".into());
        assert_eq!(decide(s, &alice, undo), DecisionOutcome::Applied);
        let standing = s.item("a3").unwrap().unwrap().account.expect("a standing");
        assert_eq!(
            standing.recent.len(),
            1,
            "the suspension is lifted: {standing:?}"
        );
        assert_eq!(standing.recent[0].measure, measure(Strike, None));
        let audit = s.audit(&everything()).unwrap();
        let row = audit
            .iter()
            .find(|e| e.idempotency_key == "k-susp")
            .expect("audited");
        assert_eq!(row.account, Some(week), "the audit keeps what was done");

        // Refused, and nothing recorded: no author to act on, a period out of range, a
        // measure on a keep, a ban by a moderator.
        let refused = [
            (&alice, with("k-anon", "anon", measure(Strike, None))),
            (&alice, with("k-long", "a2", measure(Suspend, Some(366)))),
            (&alice, with("k-none", "a2", measure(Suspend, None))),
            (
                &alice,
                Decision {
                    account: Some(measure(Strike, None)),
                    ..decision("k-keep", "a2", DecisionAction::Keep)
                },
            ),
            (&alice, with("k-ban", "a2", measure(Ban, None))),
        ];
        for (who, d) in refused {
            let key = d.idempotency_key.clone();
            assert_eq!(decide(s, who, d), DecisionOutcome::Invalid, "{key}");
        }
        assert_eq!(s.item("a2").unwrap().unwrap().state, ReviewState::Open);
        assert_eq!(s.item("anon").unwrap().unwrap().state, ReviewState::Open);
        let standing = s.item("a3").unwrap().unwrap().account.expect("a standing");
        assert_eq!(standing.recent.len(), 1, "nothing refused was recorded");

        // A senior may ban.
        assert_eq!(
            decide(s, &sam, with("k-ban", "a2", measure(Ban, None))),
            DecisionOutcome::Applied
        );
        let standing = s.item("a3").unwrap().unwrap().account.expect("a standing");
        assert_eq!(standing.recent[0].measure, measure(Ban, None));
        assert!(s.item("anon").unwrap().unwrap().account.is_none());
    });
}

#[test]
fn a_support_message_goes_once_to_each_reporter_and_decides_nothing() {
    use modq::model::ReporterAccount;
    on_every_engine(|s| {
        let by = |id: &str, category: &str, reporter: Option<(&str, Option<&str>)>| NewReport {
            reporter: reporter.map(|(id, country)| ReporterAccount {
                id: id.into(),
                country: country.map(str::to_string),
            }),
            ..report(subject(id, "text"), ReporterType::User, category)
        };
        s.add_reports(
            &[
                by("sh", "self_harm", Some(("r-1", Some("gb")))),
                by("sh", "self_harm", Some(("r-1", Some("GB")))),
                by("sh", "self_harm", Some(("r-2", Some("XX")))),
                by("sh", "self_harm", None),
                by("quiet", "self_harm", None),
                by("sp", "spam", Some(("r-3", Some("FR")))),
            ],
            now(),
        )
        .expect("import");
        // An ordinary token's report names no one the server would message.
        let alice = token(s, "alice", Role::Moderator);
        s.file_reports(
            Some(&alice),
            &[by("quiet", "self_harm", Some(("r-9", None)))],
            now(),
        )
        .expect("report");
        let send = |key: &str, item: &str| decision(key, item, DecisionAction::SendSupport);
        let bob = token(s, "bob", Role::Moderator);
        let sh = ["sh".to_owned()];
        s.claim_items(&bob, &sh, 300, &ClaimLimits::unlimited(), now())
            .unwrap();

        assert_eq!(
            decide(s, &alice, send("k1", "sh")),
            DecisionOutcome::Applied
        );
        // A support message decides nothing: whoever reviews the item keeps it.
        let holders = s.live_holders(&sh, now()).unwrap();
        assert_eq!(holders.keys().collect::<Vec<_>>(), [&sh[0]]);
        assert_eq!(
            decide(s, &alice, send("k1", "sh")),
            DecisionOutcome::Duplicate
        );
        assert_eq!(
            decide(s, &alice, send("k2", "sp")),
            DecisionOutcome::Invalid
        );
        assert_eq!(
            decide(s, &alice, send("k3", "quiet")),
            DecisionOutcome::Invalid
        );
        let messages = s.messages(0, 100).unwrap();
        let to: Vec<(&str, Option<&str>)> = messages
            .iter()
            .map(|m| (m.recipient.as_str(), m.country.as_deref()))
            .collect();
        assert_eq!(to, [("r-1", Some("GB")), ("r-2", None)], "{messages:#?}");
        let catalog = modq::support::SupportCatalog::builtin();
        assert_eq!(
            messages[0].resources,
            catalog.for_country(Some("GB")).resources
        );
        assert_eq!(messages[1].resources, catalog.fallback.resources);
        assert_eq!(
            s.messages(messages[0].id, 100).unwrap().len(),
            1,
            "pages by id"
        );

        // It decides nothing: the item is open, its take down is the latest decision and
        // undoable, and the message itself is never reversed.
        assert_eq!(s.item("sh").unwrap().unwrap().state, ReviewState::Open);
        assert_eq!(
            decide(s, &alice, decision("t1", "sh", DecisionAction::TakeDown)),
            DecisionOutcome::Applied
        );
        // A reporter hears once about an item: a second send, by anyone with any key, has no
        // one left to reach; one who reports it later is reached by the next, alone.
        let bob = token(s, "bob-senior", Role::Senior);
        assert_eq!(decide(s, &bob, send("k4", "sh")), DecisionOutcome::Conflict);
        s.add_reports(&[by("sh", "self_harm", Some(("r-4", Some("FR"))))], now())
            .expect("a later report");
        // Twice in one batch: the first reaches r-4, the second no one.
        let outcomes: Vec<DecisionOutcome> = s
            .apply_decisions(
                &bob,
                &[send("k4", "sh"), send("k4b", "sh")],
                &PolicyCatalog::builtin(),
                now(),
            )
            .expect("apply")
            .iter()
            .map(|r| r.outcome)
            .collect();
        assert_eq!(
            outcomes,
            [DecisionOutcome::Applied, DecisionOutcome::Conflict]
        );
        assert_eq!(
            decide(s, &alice, send("k5", "sh")),
            DecisionOutcome::Conflict
        );
        let mut undo = decision("u1", "sh", DecisionAction::Reverse);
        undo.reverses = Some("t1".into());
        assert_eq!(decide(s, &alice, undo), DecisionOutcome::Applied);
        let mut unsend = decision("u2", "sh", DecisionAction::Reverse);
        unsend.reverses = Some("k4".into());
        assert_eq!(decide(s, &alice, unsend), DecisionOutcome::Invalid);
        let to: Vec<String> = s
            .messages(0, 100)
            .unwrap()
            .into_iter()
            .map(|m| m.recipient)
            .collect();
        assert_eq!(to, ["r-1", "r-2", "r-4"], "each reporter once");
    });
}

/// A support message decides nothing, on either engine: sent after a take down, alone or in
/// the same batch as the overturn, it does not stop the take down's appeal being overturned.
#[test]
fn a_support_message_after_a_take_down_does_not_stand_in_the_way_of_its_appeal() {
    use modq::model::ReporterAccount;
    on_every_engine(|s| {
        let reported = |id: &str| NewReport {
            reporter: Some(ReporterAccount {
                id: format!("r-{id}"),
                country: Some("GB".into()),
            }),
            ..report(subject(id, "text"), ReporterType::User, "self_harm")
        };
        s.add_reports(&[reported("sh1"), reported("sh2")], now())
            .expect("import");
        let alice = token(s, "alice", Role::Moderator);
        let bob = token(s, "bob", Role::Moderator);
        let intake = token(s, "intake", Role::Admin);
        let log_before = s.audit(&everything()).unwrap().len();
        for item in ["sh1", "sh2"] {
            let key = format!("t-{item}");
            assert_eq!(
                decide(s, &alice, decision(&key, item, DecisionAction::TakeDown)),
                DecisionOutcome::Applied
            );
        }
        let log = s.audit(&everything()).unwrap();
        assert_eq!(log.len(), log_before + 2);
        let mut appeals = Vec::new();
        for item in ["sh1", "sh2"] {
            let row = log.iter().find(|e| e.item_id == item).unwrap();
            let lodged = s
                .lodge_appeal(
                    &intake,
                    &appeal(&format!("modq-{}", row.id), "I am safe"),
                    now(),
                )
                .unwrap()
                .expect("lodged");
            appeals.push(lodged.item_id);
        }
        let send = |key: &str, item: &str| decision(key, item, DecisionAction::SendSupport);

        // Sent before the overturn, in a batch of its own.
        assert_eq!(decide(s, &bob, send("m1", "sh1")), DecisionOutcome::Applied);
        assert_eq!(
            decide(
                s,
                &bob,
                decision("o1", &appeals[0], DecisionAction::Overturn)
            ),
            DecisionOutcome::Applied
        );
        // Sent in the same batch, just before the overturn.
        let results = s
            .apply_decisions(
                &bob,
                &[
                    send("m2", "sh2"),
                    decision("o2", &appeals[1], DecisionAction::Overturn),
                ],
                &PolicyCatalog::builtin(),
                now(),
            )
            .expect("apply");
        let outcomes: Vec<DecisionOutcome> = results.iter().map(|r| r.outcome).collect();
        assert_eq!(
            outcomes,
            [DecisionOutcome::Applied, DecisionOutcome::Applied],
            "{results:#?}"
        );
        for item in ["sh1", "sh2"] {
            assert_eq!(
                s.item(item).unwrap().unwrap().state,
                ReviewState::Kept,
                "{item} is restored: kept by the overturn's reversal"
            );
        }
    });
}

#[test]
fn an_account_is_known_from_the_intake_with_when_it_was_made() {
    on_every_engine(|s| {
        let made: DateTime<Utc> = "2019-02-01T00:00:00Z".parse().expect("time");
        let by = |id: &str, created_at: Option<DateTime<Utc>>| {
            let mut sub = subject(id, "text");
            sub.author = Some(Author {
                id: "u-old".into(),
                handle: None,
                created_at,
            });
            report(sub, ReporterType::User, "spam")
        };
        s.add_reports(&[by("first", Some(made))], now())
            .expect("import");
        // A later report that does not say when the account was made: the server knows.
        s.add_reports(&[by("later", None)], now()).expect("import");
        let standing = s.item("later").unwrap().unwrap().account.expect("standing");
        assert_eq!(standing.created_at, Some(made));
        // An ordinary token's report names no account.
        let alice = token(s, "alice", Role::Moderator);
        let mut forged = subject("forged", "text");
        forged.author = Some(Author {
            id: "u-new".into(),
            handle: None,
            created_at: Some(now()),
        });
        s.file_reports(
            Some(&alice),
            &[report(forged, ReporterType::User, "spam")],
            now(),
        )
        .expect("report");
        assert!(s.item("forged").unwrap().unwrap().account.is_none());
    });
}

// --- media ---------------------------------------------------------------------------------

/// A PNG of `side`×`side` pixels, its first pixel `shade`: a different image for each shade.
fn png(side: u32, shade: u8) -> Vec<u8> {
    let image = image::RgbImage::from_fn(side, side, |x, y| {
        if x == 0 && y == 0 {
            image::Rgb([shade, 0, 0])
        } else {
            image::Rgb([(x * 7) as u8, (y * 5) as u8, 90])
        }
    })
    .into_raw();
    let image = image::RgbImage::from_raw(side, side, image).expect("pixels");
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .expect("png");
    bytes
}

fn media_line(id: &str, category: &str, hash_match: Option<&str>, bytes: &[u8]) -> String {
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
    format!(
        "{}\n",
        serde_json::json!({
            "subject": {"id": id, "kind": "post", "text": "look",
                "media": [{"kind": "image", "hash_match": hash_match, "data": data}]},
            "reporter_type": "automated", "category": category,
            "received_at": "2026-11-23T11:00:00Z"
        })
    )
}

#[test]
fn media_bytes_are_kept_apart_by_their_hash_and_never_served_where_viewing_harms() {
    on_every_engine(|storage| {
        let photo = png(16, 1);
        let matched = png(8, 2);
        let file = [
            media_line("m-photo", "spam", None, &photo),
            media_line("m-again", "scam", None, &photo),
            media_line("m-csam", "child_safety", Some("csam-hashlist"), &matched),
        ]
        .concat();
        server::import_jsonl(storage, file.as_bytes()).expect("import");

        // The item lists the bytes by their SHA-256 and sniffed type; it never carries them.
        let item = storage.item("m-photo").unwrap().unwrap();
        let media = &item.media[0];
        let id = media.id.clone().expect("an id");
        assert_eq!(id.len(), 64);
        assert_eq!(media.content_type.as_deref(), Some("image/png"));
        assert_eq!(media.data, None);
        let json = serde_json::to_string(&item).unwrap();
        assert!(!json.contains("\"data\""), "{json}");
        // The same image on two items is one blob.
        let again = storage.item("m-again").unwrap().unwrap();
        assert_eq!(again.media[0].id.as_deref(), Some(id.as_str()));
        let blob = storage.media(&id).unwrap().expect("kept");
        assert_eq!(blob.bytes, photo);
        assert_eq!(blob.content_type, "image/png");
        assert_eq!(server::may_serve(&item, &id), Ok(()));
        // Another item's media id is not this item's to serve.
        let csam = storage.item("m-csam").unwrap().unwrap();
        let csam_id = csam.media[0].id.clone().expect("kept as evidence");
        assert!(matches!(
            server::may_serve(&item, &csam_id),
            Err(server::MediaRefusal::NotListed(_))
        ));
        // Where viewing harms, the bytes are kept but never served, to anyone.
        assert!(matches!(
            server::may_serve(&csam, &csam_id),
            Err(server::MediaRefusal::NeverShown(_))
        ));
        // A later report in a category where viewing harms closes an item's media too.
        let mut flagged = report(subject("m-photo", "look"), ReporterType::User, "csam");
        flagged.received_at = Some(now());
        storage.add_report(&flagged, now()).unwrap();
        let item = storage.item("m-photo").unwrap().unwrap();
        assert!(matches!(
            server::may_serve(&item, &id),
            Err(server::MediaRefusal::NeverShown(_))
        ));
    });
}

#[test]
fn an_import_with_a_bad_image_stores_nothing_and_names_the_line() {
    on_every_engine(|storage| {
        let good = png(16, 3);
        let too_big = {
            let mut b = png(8, 4);
            b.resize(server::MAX_MEDIA_BYTES + 1, 0);
            b
        };
        let cases: [(&[u8], &str); 3] = [
            (&too_big, "larger than 1048576 bytes"),
            (
                b"<svg xmlns='http://www.w3.org/2000/svg'/>",
                "not an image modq takes",
            ),
            (b"GIF8", "not an image modq takes"),
        ];
        for (bad, says) in cases {
            let file = [
                media_line("m-good", "spam", None, &good),
                media_line("m-bad", "spam", None, bad),
            ]
            .concat();
            let error = server::import_jsonl(storage, file.as_bytes()).unwrap_err();
            let text = format!("{error:#}");
            assert!(text.contains("line 2") && text.contains(says), "{text}");
            assert_eq!(storage.item("m-good").unwrap(), None);
            assert_eq!(storage.item("m-bad").unwrap(), None);
        }
        // The good image of the refused file was not kept either.
        use sha2::Digest;
        let id = hex::encode(sha2::Sha256::digest(&good));
        assert_eq!(storage.media(&id).unwrap(), None);
    });
}
