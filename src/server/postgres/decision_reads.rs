//! What a batch of decisions reads on PostgreSQL, in as few statements as the rules allow
//! (issue 18: each statement is a round trip, and a decision made ~14). The statement that
//! locks the batch's items returns their rows, status and appeal; their reports are read
//! once for the batch, after the lock (a report locks its item first, so none can come in
//! between); the audit rows a decision is judged by (its key applied already, the item's
//! latest decision, the decision it reverses) come in one statement. The shared steps
//! (`decision_steps`) ask through [`Decide`], which answers from what is known and asks
//! PostgreSQL the rest, as before.

use std::collections::{HashMap, HashSet};

use ::postgres::Row;

use crate::account::AccountMeasure;
use crate::model::{AppealOutcome, AppealVerdict, Item, ItemTotals};
use crate::server::decision_steps::{
    APPLIED_COLUMNS, AppliedRow, MeasureRow, StepStore, SupportRow, stored_status,
};
use crate::server::rules::{AppliedDecision, ItemStatus};
use crate::server::storage::{CATEGORIES_LISTED, StorageError, TokenInfo};
use crate::server::stored::{CountedRecord, TALLY_CATEGORY, TALLY_REPORTER_TYPE, item_totals};

use super::db::Tx;
use super::items::Tallied;
use super::queue::{ITEM_COLUMNS, item_row};

/// An item of the batch as the lock found it.
struct Locked {
    /// Its status and place in the tallies; `None` once this batch has changed them.
    status: Option<(ItemStatus, Tallied)>,
    /// Its content without reports, for a take down's basis: no decision changes it.
    item: Item,
    /// The appeal this item is: (appeal id, audit id of the decision appealed).
    appeal: Option<(i64, i64)>,
    /// See `StepStore::leading_category`: the item is locked, and a report locks it first.
    leading_category: Option<String>,
}

/// What a batch of decisions knows of its locked items. An item it does not know (none
/// had that id when the batch locked) is asked of PostgreSQL, as before.
#[derive(Default)]
pub struct Known {
    items: HashMap<String, Locked>,
    /// Each locked item's report tally rows, once a take down needed them.
    tallies: Option<Tallies>,
    /// Items whose leases this batch has ended already (with the decision's own update):
    /// no lease can come back while the item is locked.
    leases_ended: HashSet<String>,
}

impl Known {
    /// Locks the rows of these items and of the items they appeal (those that exist), in id
    /// order, until the transaction ends; one statement, which returns what they are once
    /// locked (`FOR UPDATE` answers a row's latest version, even one committed while it
    /// waited). Its appeal columns are read in the statement's snapshot, which is enough: an
    /// appeal row is committed with its appeal item and never moves. Reports are not read
    /// here: one committed while the lock waited would be missed.
    ///
    /// The ids are one array, the appealed items' joined to the given: written as `id =
    /// ANY(?1) OR id IN (…)`, the condition could not use the primary key, and every
    /// decision scanned the whole queue (3.5 s a decision at 150,000 items under load).
    pub fn lock(tx: &mut Tx<'_>, ids: &[&str]) -> Result<Known, StorageError> {
        let mut sorted: Vec<&str> = ids.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        // Two NULLs where a queue walk has the lease's columns (see `queue::item_row`).
        let sql = format!(
            "SELECT {ITEM_COLUMNS}, NULL::TEXT, NULL::TEXT, hold_tier, author_id,
                    (SELECT a.id FROM appeals a WHERE a.appeal_item_id = items.id),
                    (SELECT a.decision_id FROM appeals a WHERE a.appeal_item_id = items.id),
                    leading_category
             FROM items
             WHERE id = ANY(?1::TEXT[] || ARRAY(SELECT a.item_id FROM appeals a
                                                  WHERE a.appeal_item_id = ANY(?1)))
             ORDER BY items.id FOR UPDATE OF items"
        );
        let mut known = Known::default();
        for r in tx.all(&sql, &[&sorted])? {
            let item = item_row(&r)?.into_item()?;
            let (status, tallied) = status_at(&r, [10, 11, 12, 8, 18, 17])?;
            let appeal_id: Option<i64> = r.try_get(19)?;
            let decision_id: Option<i64> = r.try_get(20)?;
            let leading_category: Option<String> = r.try_get(21)?;
            known.items.insert(
                item.id.clone(),
                Locked {
                    status: Some((status, tallied)),
                    item,
                    appeal: appeal_id.zip(decision_id),
                    leading_category,
                },
            );
        }
        Ok(known)
    }

    /// An item's status and place in the tallies, as they are now in this transaction.
    pub fn status(
        &self,
        tx: &mut Tx<'_>,
        item_id: &str,
    ) -> Result<Option<(ItemStatus, Tallied)>, StorageError> {
        match self.items.get(item_id).and_then(|l| l.status.clone()) {
            Some(known) => Ok(Some(known)),
            None => item_status(tx, item_id),
        }
    }

    /// This batch has changed the item's status: it is read again when asked.
    pub fn changed(&mut self, item_id: &str) {
        if let Some(locked) = self.items.get_mut(item_id) {
            locked.status = None;
        }
    }

    /// The item's leases are ended: asking again is not needed.
    pub fn leases_ended(&mut self, item_id: &str) {
        self.leases_ended.insert(item_id.to_owned());
    }

    /// A locked item's content with its report tally (`None`: not one the batch locked).
    pub fn item_with_totals(
        &mut self,
        tx: &mut Tx<'_>,
        item_id: &str,
    ) -> Result<Option<Item>, StorageError> {
        let Some(totals) = self.totals(tx, item_id)? else {
            return Ok(None);
        };
        Ok(self.items.get(item_id).map(|locked| Item {
            totals: Some(totals),
            ..locked.item.clone()
        }))
    }

    /// A locked item's report tally (`None`: not one the batch locked). The first ask reads
    /// those of every item locked, in one statement: every reporter type's row, and of the
    /// categories the ones an item read lists, however many reports there are.
    fn totals(
        &mut self,
        tx: &mut Tx<'_>,
        item_id: &str,
    ) -> Result<Option<ItemTotals>, StorageError> {
        let Some(locked) = self.items.get(item_id) else {
            return Ok(None);
        };
        let leading_category = locked.leading_category.clone();
        let tallies = match &mut self.tallies {
            Some(tallies) => tallies,
            None => {
                let ids: Vec<&str> = self.items.keys().map(String::as_str).collect();
                self.tallies.insert(tallies_of(tx, &ids)?)
            }
        };
        let (reporter_types, categories) = tallies.get(item_id).cloned().unwrap_or_default();
        // Decisions and notes are not counted: a basis states only the reports.
        Ok(Some(item_totals(CountedRecord {
            reporter_types,
            categories,
            decisions: 0,
            notes_by_tier: Vec::new(),
            leading_category,
        })?))
    }
}

/// Each item's report tally rows: (reporter types, listed categories).
type Tallies = HashMap<String, (Vec<(String, i64)>, Vec<(String, i64)>)>;

fn tallies_of(tx: &mut Tx<'_>, ids: &[&str]) -> Result<Tallies, StorageError> {
    let sql = format!(
        "SELECT i.id, t.dimension, t.name, t.reports
         FROM items i
         CROSS JOIN LATERAL (
             (SELECT dimension, name, reports FROM report_tally
              WHERE item_id = i.id AND dimension = '{TALLY_REPORTER_TYPE}')
             UNION ALL
             (SELECT dimension, name, reports FROM report_tally
              WHERE item_id = i.id AND dimension = '{TALLY_CATEGORY}'
              ORDER BY shown_first DESC, reports DESC, name LIMIT {CATEGORIES_LISTED})
         ) t
         WHERE i.id = ANY(?1)"
    );
    let mut tallies = Tallies::new();
    for r in tx.all(&sql, &[&ids])? {
        let (types, categories) = tallies.entry(r.try_get(0)?).or_default();
        let dimension: String = r.try_get(1)?;
        let row = (r.try_get(2)?, r.try_get(3)?);
        if dimension == TALLY_REPORTER_TYPE {
            types.push(row);
        } else {
            categories.push(row);
        }
    }
    Ok(tallies)
}

/// The audit rows a decision by `token_id` with `key` on `item_id` is judged by, in one
/// statement: the row already applied with this key, the item's latest decision (a
/// support message decides nothing), and the row `reverses` names on the item.
#[derive(Default)]
pub struct Earlier {
    pub with_key: Option<AppliedDecision>,
    pub latest: Option<AppliedDecision>,
    pub reversed: Option<AppliedDecision>,
}

impl Earlier {
    pub fn read(
        tx: &mut Tx<'_>,
        token_id: i64,
        key: &str,
        item_id: &str,
        reverses: Option<&str>,
    ) -> Result<Earlier, StorageError> {
        // The tag is the last column: `applied` reads the row's first ones.
        let sql = format!(
            "(SELECT {APPLIED_COLUMNS}, 1 FROM audit
              WHERE actor_token_id = ?1 AND idempotency_key = ?2 LIMIT 1)
             UNION ALL
             (SELECT {APPLIED_COLUMNS}, 2 FROM audit
              WHERE item_id = ?3 AND action <> 'send_support' ORDER BY id DESC LIMIT 1)
             UNION ALL
             (SELECT {APPLIED_COLUMNS}, 3 FROM audit
              WHERE item_id = ?3 AND idempotency_key = ?4 ORDER BY id DESC LIMIT 1)"
        );
        let mut earlier = Earlier::default();
        for r in tx.all(&sql, &[&token_id, &key, &item_id, &reverses])? {
            let tag: i32 = r.try_get(12)?;
            let slot = match tag {
                1 => &mut earlier.with_key,
                2 => &mut earlier.latest,
                _ => &mut earlier.reversed,
            };
            *slot = Some(applied(&r)?);
        }
        Ok(earlier)
    }
}

/// The shared steps' store for a batch of decisions: what the batch knows is answered
/// from it, the rest is the transaction's (see `impl StepStore for Tx`).
pub struct Decide<'a, 'c> {
    pub tx: &'a mut Tx<'c>,
    pub known: &'a mut Known,
}

impl StepStore for Decide<'_, '_> {
    fn status_of(&mut self, item_id: &str) -> Result<Option<ItemStatus>, StorageError> {
        Ok(self
            .known
            .status(self.tx, item_id)?
            .map(|(status, _)| status))
    }

    fn leading_category(&mut self, item_id: &str) -> Result<Option<String>, StorageError> {
        match self.known.items.get(item_id) {
            Some(locked) => Ok(locked.leading_category.clone()),
            None => self.tx.leading_category(item_id),
        }
    }

    fn appeal_on(&mut self, appeal_item_id: &str) -> Result<Option<(i64, i64)>, StorageError> {
        match self.known.items.get(appeal_item_id) {
            Some(locked) => Ok(locked.appeal),
            None => self.tx.appeal_on(appeal_item_id),
        }
    }

    fn applied_by_id(&mut self, audit_id: i64) -> Result<Option<AppliedDecision>, StorageError> {
        self.tx.applied_by_id(audit_id)
    }

    fn is_reversed(&mut self, audit_id: i64) -> Result<bool, StorageError> {
        self.tx.is_reversed(audit_id)
    }

    fn decision_scope(&mut self, audit_id: i64) -> Result<Option<String>, StorageError> {
        self.tx.decision_scope(audit_id)
    }

    fn latest_audit_id(&mut self, item_id: &str) -> Result<Option<i64>, StorageError> {
        self.tx.latest_audit_id(item_id)
    }

    fn item_exists(&mut self, item_id: &str) -> Result<bool, StorageError> {
        self.tx.item_exists(item_id)
    }

    fn item(&mut self, item_id: &str) -> Result<Option<Item>, StorageError> {
        StepStore::item(self.tx, item_id)
    }

    fn reporter_texts(&mut self, item_id: &str) -> Result<Vec<String>, StorageError> {
        self.tx.reporter_texts(item_id)
    }

    fn messaged(&mut self, item_id: &str) -> Result<Vec<String>, StorageError> {
        self.tx.messaged(item_id)
    }

    fn appeal_against(
        &mut self,
        audit_id: i64,
    ) -> Result<Option<(i64, Option<String>)>, StorageError> {
        self.tx.appeal_against(audit_id)
    }

    fn insert_measure(&mut self, row: &MeasureRow<'_>) -> Result<(), StorageError> {
        self.tx.insert_measure(row)
    }

    fn lift_measure(&mut self, token_id: i64, key: &str, at: &str) -> Result<(), StorageError> {
        self.tx.lift_measure(token_id, key, at)
    }

    fn queue_support(&mut self, row: &SupportRow<'_>) -> Result<(), StorageError> {
        self.tx.queue_support(row)
    }

    fn end_leases(&mut self, item_id: &str) -> Result<(), StorageError> {
        if self.known.leases_ended.contains(item_id) {
            return Ok(());
        }
        self.tx.end_leases(item_id)
    }

    fn appeal_outcome(&mut self, audit_id: i64) -> Result<Option<AppealOutcome>, StorageError> {
        self.tx.appeal_outcome(audit_id)
    }

    fn measure_of(
        &mut self,
        token_id: Option<i64>,
        key: &str,
    ) -> Result<Option<AccountMeasure>, StorageError> {
        self.tx.measure_of(token_id, key)
    }

    fn insert_note(
        &mut self,
        actor: &TokenInfo,
        item_id: &str,
        note: &str,
        tier: Option<String>,
        at: &str,
    ) -> Result<(), StorageError> {
        self.tx.insert_note(actor, item_id, note, tier, at)
    }

    fn set_appeal_verdict(
        &mut self,
        appeal_id: i64,
        verdict: AppealVerdict,
        actor: &TokenInfo,
        at: &str,
    ) -> Result<(), StorageError> {
        self.tx.set_appeal_verdict(appeal_id, verdict, actor, at)
    }
}

/// An audit row of [`APPLIED_COLUMNS`] (its first columns) as judging needs it.
pub fn applied(r: &Row) -> Result<AppliedDecision, StorageError> {
    AppliedRow {
        id: r.try_get(0)?,
        key: r.try_get(1)?,
        item_id: r.try_get(2)?,
        action: r.try_get(3)?,
        actor: r.try_get(4)?,
        actor_token_id: r.try_get(5)?,
        at: r.try_get(6)?,
        body_hash: r.try_get(7)?,
        from_state: r.try_get(8)?,
        from_scope: r.try_get(9)?,
        from_target: r.try_get(10)?,
        from_tier: r.try_get(11)?,
    }
    .into_applied()
}

/// An item's status, and where it is counted in the tallies.
pub fn item_status(
    tx: &mut Tx<'_>,
    item_id: &str,
) -> Result<Option<(ItemStatus, Tallied)>, StorageError> {
    let Some(r) = tx.opt(
        "SELECT state, restricted_in, escalation_target, lane, author_id, hold_tier
         FROM items WHERE id = ?1",
        &[&item_id],
    )?
    else {
        return Ok(None);
    };
    status_at(&r, [0, 1, 2, 3, 4, 5]).map(Some)
}

/// An item's status and tally key from a row, its columns at `at`: state, restricted_in,
/// escalation_target, lane, author_id, hold_tier.
fn status_at(r: &::postgres::Row, at: [usize; 6]) -> Result<(ItemStatus, Tallied), StorageError> {
    let [state, scope, tier, lane, author, hold] = at;
    let scope: Option<String> = r.try_get(scope)?;
    let hold: Option<String> = r.try_get(hold)?;
    let tallied = Tallied {
        state: r.try_get(state)?,
        lane: r.try_get(lane)?,
        tier: r.try_get(tier)?,
        author: r.try_get(author)?,
    };
    let status = stored_status(
        &tallied.state,
        scope.as_deref(),
        tallied.tier.as_deref(),
        hold.as_deref(),
    )?;
    Ok((status, tallied))
}
