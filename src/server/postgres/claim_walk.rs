//! Which of the rows a claim's walk reads it takes, on PostgreSQL.
//!
//! The walk reads without locking, so that it never holds up decisions on the items it
//! passes (most of them others' leases). The items it means to take are locked `FOR UPDATE
//! SKIP LOCKED` as many at a time as the claim still wants, in one statement, and their
//! leases read again under the lock in one more: an item another transaction holds (a claim
//! or a decision on another server) is passed over, not waited for. With many moderators at
//! the head of one queue a walk finds most of the items it meant to take gone by the time it
//! locks them; one round trip per item cost a claim of five some thirty under the load bench.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::convert::{parse_ts, ts};
use super::db::Tx;
use super::queue::ItemRow;
use crate::model::{ClaimCap, ReviewState};
use crate::server::claims::Allowance;
use crate::server::rules::{self, Lease};
use crate::server::storage::{Cursor, QueueQuery, StorageError};

/// One claim's walk: the rows it has read and not yet judged, and what it has taken.
pub struct ClaimWalk<'a> {
    holder: &'a str,
    query: &'a QueueQuery,
    now: DateTime<Utc>,
    withheld: &'a HashSet<String>,
    allowance: Allowance,
    /// Rows read and not yet judged, in walk order.
    pending: Vec<ItemRow>,
    /// How many of `pending` the claim means to lock.
    wanted: usize,
    pub taken: Vec<ItemRow>,
    pub taken_cursors: Vec<Cursor>,
    /// The last row judged, where a later page of the claim goes on from.
    pub last_examined: Option<Cursor>,
    /// Whether the walk stopped with items still there to take.
    pub more: bool,
}

impl<'a> ClaimWalk<'a> {
    pub fn new(
        holder: &'a str,
        query: &'a QueueQuery,
        now: DateTime<Utc>,
        withheld: &'a HashSet<String>,
        allowance: Allowance,
    ) -> ClaimWalk<'a> {
        ClaimWalk {
            holder,
            query,
            now,
            withheld,
            allowance,
            pending: Vec::new(),
            wanted: 0,
            taken: Vec::new(),
            taken_cursors: Vec::new(),
            last_examined: None,
            more: false,
        }
    }

    /// Why the claim was held back (fair share, lease cap), for the answer.
    pub fn limited_by(&mut self) -> Vec<ClaimCap> {
        std::mem::take(&mut self.allowance.limited_by)
    }

    fn full(&self) -> bool {
        self.taken.len() >= self.query.limit
    }

    /// Whether the row, as the walk read it, is passed over without a lock.
    fn passed_over(&self, row: &ItemRow) -> bool {
        rules::claim_skips(row.lease.as_ref(), self.holder, self.now)
            || self.withheld.contains(&row.id)
    }

    /// The walk hands over its next row; false once the claim has what it wants.
    pub fn visit(&mut self, tx: &mut Tx<'_>, row: ItemRow) -> Result<bool, StorageError> {
        if self.full() {
            // Only whether anything is left to take is still open: nothing to lock.
            return self.judge(row, None);
        }
        if !self.passed_over(&row) {
            self.wanted += 1;
        }
        self.pending.push(row);
        if self.wanted >= self.query.limit - self.taken.len() {
            return self.judge_pending(tx);
        }
        Ok(true)
    }

    /// The walk has ended: judges the rows it read last.
    pub fn finish(&mut self, tx: &mut Tx<'_>) -> Result<(), StorageError> {
        if !self.pending.is_empty() {
            self.judge_pending(tx)?;
        }
        Ok(())
    }

    /// Locks the pending rows the claim means to take, reads their leases again, and judges
    /// every pending row in walk order.
    fn judge_pending(&mut self, tx: &mut Tx<'_>) -> Result<bool, StorageError> {
        let ids: Vec<&str> = self
            .pending
            .iter()
            .filter(|r| !self.passed_over(r))
            .map(|r| r.id.as_str())
            .collect();
        let locked = lock_claimable(tx, &ids, self.query.state)?;
        self.wanted = 0;
        for row in std::mem::take(&mut self.pending) {
            if !self.judge(row, Some(&locked))? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Judges one row: taken, passed over, or the end of the claim. `locked` holds the rows
    /// locked for it, with their leases read under the lock (`None`: nothing was locked,
    /// the claim being full).
    fn judge(
        &mut self,
        row: ItemRow,
        locked: Option<&HashMap<String, Option<Lease>>>,
    ) -> Result<bool, StorageError> {
        let mut lease = row.lease.clone();
        let mut skip = self.passed_over(&row);
        if !skip && !self.full() {
            match locked.and_then(|l| l.get(&row.id)) {
                Some(fresh) => {
                    lease = fresh.clone();
                    skip = rules::claim_skips(lease.as_ref(), self.holder, self.now);
                }
                None => skip = true,
            }
        }
        let own = lease
            .as_ref()
            .is_some_and(|l| l.holder == self.holder && l.is_live(self.now));
        if self.full() {
            if !skip {
                self.more = true;
                return Ok(false);
            }
        } else if !skip {
            match self.allowance.take(&row.state, &row.lane, own) {
                Ok(()) => {
                    let cursor = row.cursor(self.query.sort, self.query.as_of)?;
                    self.last_examined = Some(cursor.clone());
                    self.taken_cursors.push(cursor);
                    self.taken.push(row);
                    return Ok(true);
                }
                Err(ClaimCap::MaxLeases) => {
                    self.more = true;
                    return Ok(false);
                }
                Err(ClaimCap::FairShare) => {}
            }
        }
        self.last_examined = Some(row.cursor(self.query.sort, self.query.as_of)?);
        Ok(true)
    }
}

/// Locks the items among `ids` that no other transaction holds and that are still in
/// `state`, and reads their leases: two statements for any number of items.
///
/// The leases are read by a statement of their own, after the lock: a statement sees what
/// was committed when it began, so a lease written by a claim that committed while this one
/// waited for its turn on the row would be invisible to the locking statement itself.
fn lock_claimable(
    tx: &mut Tx<'_>,
    ids: &[&str],
    state: ReviewState,
) -> Result<HashMap<String, Option<Lease>>, StorageError> {
    let mut locked = HashMap::new();
    if ids.is_empty() {
        return Ok(locked);
    }
    for r in tx.all(
        "SELECT id FROM items WHERE id = ANY(?1) AND state = ?2 FOR UPDATE SKIP LOCKED",
        &[&ids, &state.as_str()],
    )? {
        locked.insert(r.try_get::<_, String>(0)?, None);
    }
    if locked.is_empty() {
        return Ok(locked);
    }
    let held: Vec<&str> = locked.keys().map(String::as_str).collect();
    let rows = tx.all(
        "SELECT item_id, holder, expires_at FROM leases WHERE item_id = ANY(?1)",
        &[&held],
    )?;
    for r in rows {
        let expires_at: String = r.try_get(2)?;
        let lease = Lease {
            holder: r.try_get(1)?,
            expires_at: parse_ts(&expires_at)?,
        };
        locked.insert(r.try_get(0)?, Some(lease));
    }
    Ok(locked)
}

/// Gives `holder` the lease on each of `ids`, replacing whatever lease was there: one
/// statement.
pub fn put_leases(
    tx: &mut Tx<'_>,
    ids: &[&str],
    holder: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), StorageError> {
    if ids.is_empty() {
        return Ok(());
    }
    tx.exec(
        "INSERT INTO leases (item_id, holder, expires_at)
         SELECT id, ?2, ?3 FROM UNNEST(?1::TEXT[]) AS id
         ON CONFLICT (item_id) DO UPDATE SET holder = excluded.holder,
                                             expires_at = excluded.expires_at",
        &[&ids, &holder, &ts(expires_at)],
    )?;
    Ok(())
}
