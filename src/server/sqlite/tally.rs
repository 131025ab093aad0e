//! The tallies the lane tabs and author records read (schema 7), kept by the writes.

use rusqlite::{Transaction, params};

use crate::server::storage::StorageError;

/// Where an item counts in the tallies (schema 7): in `queue_tally` by its state, lane and
/// escalation target, in `author_tally` by its author and state.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) struct Tallied {
    pub(super) state: String,
    pub(super) lane: String,
    pub(super) tier: Option<String>,
    pub(super) author: Option<String>,
}

/// A transaction's changes to the tallies, written once before it commits: a batch of 5,000
/// take downs updates a few `queue_tally` rows and one `author_tally` row per author, not a
/// row per decision each. (Triggers kept the tally first, but a statement that fires one
/// needs a statement journal, which copied every page the statement touched: queue fills ran
/// 40% slower and bulk take downs 12%.) Every write that creates an item or changes its
/// state, lane or escalation target goes through here;
/// `the_tally_agrees_with_counting_the_items_after_every_kind_of_change` holds them to it.
#[derive(Default)]
pub(super) struct TallyChanges {
    pub(super) queue: std::collections::HashMap<(String, String, String), i64>,
    pub(super) authors: std::collections::HashMap<(String, String), i64>,
}

impl TallyChanges {
    /// An item moved from `before` (`None`: it is new) to `after`.
    pub(super) fn moved(&mut self, before: Option<Tallied>, after: Tallied) {
        if before.as_ref() == Some(&after) {
            return;
        }
        if let Some(before) = before {
            self.count(before, -1);
        }
        self.count(after, 1);
    }

    pub(super) fn count(&mut self, at: Tallied, change: i64) {
        if let Some(author) = at.author {
            *self.authors.entry((author, at.state.clone())).or_default() += change;
        }
        let tier = at.tier.unwrap_or_default();
        *self.queue.entry((at.state, at.lane, tier)).or_default() += change;
    }

    pub(super) fn write(self, tx: &Transaction<'_>) -> Result<(), StorageError> {
        let mut queue = tx.prepare_cached(
            "INSERT INTO queue_tally (state, lane, tier, items) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (state, lane, tier) DO UPDATE SET items = items + excluded.items",
        )?;
        for ((state, lane, tier), change) in self.queue {
            if change != 0 {
                queue.execute(params![state, lane, tier, change])?;
            }
        }
        let mut authors = tx.prepare_cached(
            "INSERT INTO author_tally (author_id, state, items) VALUES (?1, ?2, ?3)
             ON CONFLICT (author_id, state) DO UPDATE SET items = items + excluded.items",
        )?;
        for ((author, state), change) in self.authors {
            if change != 0 {
                authors.execute(params![author, state, change])?;
            }
        }
        Ok(())
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use crate::model::Role;
    use crate::policy::PolicyCatalog;
    use crate::server::sqlite::SqliteStorage;
    use crate::server::sqlite::convert::ts;
    use crate::server::sqlite::stats::LANE_COUNTS;
    use crate::server::storage::{Storage, TokenInfo};

    /// The lane tabs and the author record read tallies the writes keep (schema 7). They must
    /// agree with counting the items themselves, through new reports, a later report that
    /// moves an item's lane, take downs, keeps, escalations to every tier and a reversal.
    #[test]
    fn the_tally_agrees_with_counting_the_items_after_every_kind_of_change() {
        use crate::model::{
            Decision, DecisionAction, DecisionOutcome, EscalationTier, ItemKind, NewReport,
            ReporterType, Subject,
        };
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(&dir.path().join("modq.db")).unwrap();
        let now: DateTime<Utc> = "2026-11-23T12:00:00Z".parse().unwrap();
        let report = |i: usize, reporter: ReporterType| NewReport {
            subject: Subject {
                id: format!("p{i}"),
                kind: ItemKind::Post,
                text: Some(format!("post {i}")),
                // Five authors, and every sixth item by nobody known.
                author: (!i.is_multiple_of(6)).then(|| crate::model::Author {
                    id: format!("u{}", i % 5),
                    handle: None,
                    created_at: None,
                }),
                language: None,
                countries: vec![],
                media: vec![],
                thread: None,
            },
            reporter_type: reporter,
            category: "spam".into(),
            comment: None,
            lane: None,
            // Every third has a deadline, half of those already passed.
            deadline: i
                .is_multiple_of(3)
                .then(|| now + chrono::TimeDelta::hours(i as i64 % 2 * 48 - 24)),
            received_at: Some(now),
            reporter: None,
        };
        let reporters = [
            ReporterType::User,
            ReporterType::TrustedFlagger,
            ReporterType::Authority,
            ReporterType::Automated,
        ];
        let first: Vec<NewReport> = (0..60).map(|i| report(i, reporters[i % 4])).collect();
        storage.add_reports(&first, now).unwrap();
        // A later report from an authority moves some items to a more urgent lane.
        let later: Vec<NewReport> = (0..60)
            .step_by(7)
            .map(|i| report(i, ReporterType::Authority))
            .collect();
        storage.add_reports(&later, now).unwrap();

        let admin = TokenInfo {
            id: 1,
            name: "ad".into(),
            role: Role::Admin,
        };
        let decide =
            |i: usize, action, target: Option<EscalationTier>, reverses: Option<String>| Decision {
                idempotency_key: format!("k{i}-{action:?}"),
                item_id: format!("p{i}"),
                action,
                reason_code: None,
                note: Some("see the report".into()),
                scope: None,
                escalation_target: target,
                reverses,
                decided_at: now,
                method: crate::model::DecisionMethod::Single,
                account: None,
            };
        let mut decisions: Vec<Decision> = (0..8)
            .map(|i| decide(i, DecisionAction::TakeDown, None, None))
            .chain((8..16).map(|i| decide(i, DecisionAction::Keep, None, None)))
            .chain((16..32).map(|i| {
                let tier = EscalationTier::ALL[i % EscalationTier::ALL.len()];
                decide(i, DecisionAction::Escalate, Some(tier), None)
            }))
            .collect();
        let taken_down = decisions[0].idempotency_key.clone();
        decisions.push(decide(0, DecisionAction::Reverse, None, Some(taken_down)));
        let results = storage
            .apply_decisions(&admin, &decisions, &PolicyCatalog::builtin(), now)
            .unwrap();
        for r in &results {
            assert_eq!(r.outcome, DecisionOutcome::Applied, "{r:?}");
        }

        let tallied = storage.queue_counts(now).unwrap();
        let conn = storage.writer.lock().unwrap();
        for lane in &tallied.lanes {
            let (open, overdue): (i64, i64) = conn
                .query_row(
                    "SELECT COUNT(*), COALESCE(SUM(deadline <= ?2), 0) FROM items
                     WHERE state = 'open' AND lane = ?1",
                    [lane.lane.as_str(), &ts(now)],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            let counted = (
                u64::try_from(open).unwrap(),
                u64::try_from(overdue).unwrap(),
            );
            assert_eq!((lane.open, lane.overdue), counted, "{lane:?}");
        }
        for tier in &tallied.tiers {
            let escalated: i64 = conn
                .query_row(
                    "SELECT COUNT(*) FROM items
                     WHERE state = 'escalated' AND COALESCE(escalation_target, 'senior') = ?1",
                    [tier.tier.as_str()],
                    |r| r.get(0),
                )
                .unwrap();
            assert_eq!(
                tier.escalated,
                u64::try_from(escalated).unwrap(),
                "{tier:?}"
            );
        }
        // Not a comparison of zeros: the changes left something in every column.
        assert!(tallied.lanes.iter().filter(|l| l.open > 0).count() >= 3);
        assert!(tallied.lanes.iter().any(|l| l.overdue > 0));
        assert!(tallied.tiers.iter().all(|t| t.escalated > 0));
        let by_author = |sql: &str| -> Vec<(String, String, i64)> {
            conn.prepare(sql)
                .unwrap()
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        let counted = by_author(
            "SELECT author_id, state, COUNT(*) FROM items WHERE author_id IS NOT NULL
             GROUP BY 1, 2 ORDER BY 1, 2",
        );
        let tallied = by_author(
            "SELECT author_id, state, items FROM author_tally WHERE items != 0 ORDER BY 1, 2",
        );
        assert_eq!(tallied, counted);
        assert!(counted.len() > 10, "{counted:?}");
        // And it reads no item but the overdue ones.
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {LANE_COUNTS}"))
            .unwrap()
            .query_map([ts(now)], |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|l| l.contains("COVERING INDEX items_overdue")),
            "{plan:?}"
        );
        assert!(
            !plan.iter().any(|l| l.starts_with("SCAN items")),
            "{plan:?}"
        );
    }
}
