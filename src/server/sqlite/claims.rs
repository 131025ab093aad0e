//! Leases: claiming walks and named claims under the caps (live leases, fair share),
//! renewing and releasing.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use crate::model::{ClaimCap, ClaimedPage, LeaseGrant, LeaseRefusal, LeaseRenewal, RefusalReason};

use super::SqliteStorage;
use super::convert::{name_of, opt_tier, parse_state, parse_ts, ts};
use super::items::{ItemRow, fill_item};
use super::queue::walk_queue;
use crate::server::claims::{self, Allowance, LaneHeld};
use crate::server::rules::{self, Lease};
use crate::server::storage::{
    ClaimLimits, Cursor, MAX_SELECTION, QueueQuery, Selected, StorageError, TokenInfo,
    within_budget,
};

pub(super) fn lease_of(conn: &Connection, item_id: &str) -> Result<Option<Lease>, StorageError> {
    let row = conn
        .prepare_cached("SELECT holder, expires_at FROM leases WHERE item_id = ?1")?
        .query_row([item_id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .optional()?;
    row.map(|(holder, expires_at)| {
        Ok(Lease {
            holder,
            expires_at: parse_ts(&expires_at)?,
        })
    })
    .transpose()
}

/// Gives `holder` the lease on an item, replacing whatever lease was there.
pub(super) fn put_lease(
    tx: &Transaction<'_>,
    item_id: &str,
    holder: &str,
    expires_at: DateTime<Utc>,
) -> Result<(), StorageError> {
    tx.prepare_cached(
        "INSERT INTO leases (item_id, holder, expires_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (item_id) DO UPDATE SET holder = excluded.holder,
                                             expires_at = excluded.expires_at",
    )?
    .execute(params![item_id, holder, ts(expires_at)])?;
    Ok(())
}

/// Each id once, in the order first given.
pub(super) fn distinct(ids: &[String]) -> Vec<&str> {
    let mut seen = std::collections::HashSet::new();
    ids.iter()
        .map(String::as_str)
        .filter(|id| seen.insert(*id))
        .collect()
}

/// What `holder` may still take in one claim, from this transaction's counts.
pub(super) fn allowance_of(
    tx: &Transaction<'_>,
    holder: &str,
    limits: &ClaimLimits,
    now: DateTime<Utc>,
) -> Result<Allowance, StorageError> {
    let now = ts(now);
    let held = live_leases_of(tx, holder, &now)?;
    let mut active: std::collections::HashSet<String> = limits
        .active_elsewhere
        .iter()
        .filter(|name| name.as_str() != holder)
        .cloned()
        .collect();
    let mut stmt = tx.prepare_cached(
        "SELECT DISTINCT holder FROM leases WHERE expires_at > ?1 AND holder <> ?2",
    )?;
    for name in stmt.query_map(params![now, holder], |r| r.get::<_, String>(0))? {
        active.insert(name?);
    }
    let active = active.len().saturating_add(1);
    let mut lanes = Vec::new();
    for lane in claims::SHARED_LANES {
        let lane = name_of(lane)?;
        let open: i64 = tx
            .prepare_cached(
                "SELECT COALESCE(SUM(items), 0) FROM queue_tally
                     WHERE state = 'open' AND lane = ?1",
            )?
            .query_row([&lane], |r| r.get(0))?;
        let mine: i64 = tx
            .prepare_cached(
                "SELECT COUNT(*) FROM leases JOIN items ON items.id = leases.item_id
                     WHERE leases.holder = ?1 AND leases.expires_at > ?2
                       AND items.state = 'open' AND items.lane = ?3",
            )?
            .query_row(params![holder, now, lane], |r| r.get(0))?;
        lanes.push(LaneHeld {
            lane,
            open: u64::try_from(open).unwrap_or_default(),
            mine: u64::try_from(mine).unwrap_or_default(),
        });
    }
    Ok(Allowance::new(limits.max_leases, held, lanes, active))
}

/// Live leases `holder` has at `now` (a stored timestamp).
pub(super) fn live_leases_of(
    conn: &Connection,
    holder: &str,
    now: &str,
) -> Result<usize, StorageError> {
    let n: i64 = conn
        .prepare_cached("SELECT COUNT(*) FROM leases WHERE holder = ?1 AND expires_at > ?2")?
        .query_row(params![holder, now], |r| r.get(0))?;
    Ok(usize::try_from(n).unwrap_or_default())
}

pub(super) fn claim_within(
    storage: &SqliteStorage,
    holder: &str,
    query: &QueueQuery,
    lease_seconds: u32,
    limits: &ClaimLimits,
    now: DateTime<Utc>,
) -> Result<ClaimedPage, StorageError> {
    let expires_at = rules::lease_expiry(now, lease_seconds);
    let (mut page, taken_cursors) = storage.write(|conn| {
        // IMMEDIATE takes the database's write lock before the first read, so no other
        // claim (from this process or another) can see an item as free between this walk
        // and the leases it writes. (PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED instead.)
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut allowance = allowance_of(&tx, holder, limits, now)?;
        let withheld = super::appeals::withheld_from(&tx, holder)?;
        let mut taken: Vec<ItemRow> = Vec::new();
        let mut taken_cursors: Vec<Cursor> = Vec::new();
        let mut last_examined: Option<Cursor> = None;
        let mut more = false;
        walk_queue(&tx, query, -1, |row| {
            let lease = lease_of(&tx, &row.id)?;
            let skip =
                rules::claim_skips(lease.as_ref(), holder, now) || withheld.contains(&row.id);
            let own = lease
                .as_ref()
                .is_some_and(|l| l.holder == holder && l.is_live(now));
            if taken.len() >= query.limit {
                if !skip {
                    // A claimable item beyond this page: the next claim starts here.
                    more = true;
                    return Ok(false);
                }
            } else if !skip {
                match allowance.take(&row.state, &row.lane, own) {
                    Ok(()) => {
                        last_examined = Some(row.cursor(query.sort, query.as_of)?);
                        taken_cursors.push(row.cursor(query.sort, query.as_of)?);
                        taken.push(row);
                        return Ok(true);
                    }
                    // At the cap: the next claim, once there is room, starts here.
                    Err(ClaimCap::MaxLeases) => {
                        more = true;
                        return Ok(false);
                    }
                    // Left for the others, and passed over like a leased item.
                    Err(ClaimCap::FairShare) => {}
                }
            }
            // Skipped items are passed over for good, so they do not come back next page.
            last_examined = Some(row.cursor(query.sort, query.as_of)?);
            Ok(true)
        })?;
        let mut items = Vec::with_capacity(taken.len());
        for row in taken {
            put_lease(&tx, &row.id, holder, expires_at)?;
            items.push(row.into_item()?);
        }
        let held = live_leases_of(&tx, holder, &ts(now))?;
        tx.commit()?;
        let page = ClaimedPage {
            items,
            next_cursor: last_examined.filter(|_| more).map(|c| c.encode()),
            lease_expires_at: expires_at,
            lease_seconds,
            held: u32::try_from(held).unwrap_or(u32::MAX),
            max_leases: u32::try_from(limits.max_leases).unwrap_or(u32::MAX),
            limited_by: allowance.limited_by,
        };
        Ok((page, taken_cursors))
    })?;
    // Reports, history and the author's record are read once the leases are committed,
    // on a reader: the write lock is held for the walk and the leases only, and the
    // items are this holder's, so nothing of theirs is in question meanwhile.
    storage.read(|conn| {
        for item in &mut page.items {
            fill_item(conn, item)?;
        }
        Ok(())
    })?;
    // Past the byte budget the page ends early: the leases of what it cannot carry are
    // given back at once, and the next claim starts right after the last item given.
    let fit = within_budget(&page.items, query.max_bytes);
    if fit < page.items.len() {
        let unsent: Vec<String> = page.items.drain(fit..).map(|i| i.id).collect();
        release_leases(storage, holder, &unsent)?;
        let given_back = u32::try_from(unsent.len()).unwrap_or(u32::MAX);
        page.held = page.held.saturating_sub(given_back);
        page.next_cursor = taken_cursors.get(fit.wrapping_sub(1)).map(Cursor::encode);
    }
    Ok(page)
}

pub(super) fn claim_items(
    storage: &SqliteStorage,
    actor: &TokenInfo,
    item_ids: &[String],
    lease_seconds: u32,
    limits: &ClaimLimits,
    now: DateTime<Utc>,
) -> Result<LeaseGrant, StorageError> {
    let expires_at = rules::lease_expiry(now, lease_seconds);
    let holder = actor.name.as_str();
    storage.write(|conn| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut allowance = allowance_of(&tx, holder, limits, now)?;
        let withheld = super::appeals::withheld_from(&tx, holder)?;
        let mut leased = Vec::new();
        let mut refused = Vec::new();
        let refusal = |id: &str, reason, leased_by| LeaseRefusal {
            item_id: id.to_owned(),
            reason,
            leased_by,
        };
        for id in distinct(item_ids) {
            let found: Option<(String, Option<String>, String)> = tx
                .prepare_cached("SELECT state, escalation_target, lane FROM items WHERE id = ?1")?
                .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            let Some((state, tier, lane)) = found else {
                refused.push(refusal(id, RefusalReason::NotClaimable, None));
                continue;
            };
            let tier = opt_tier(tier.as_deref())?;
            if !claims::may_claim(actor, parse_state(&state)?, tier) || withheld.contains(id) {
                refused.push(refusal(id, RefusalReason::NotClaimable, None));
                continue;
            }
            let lease = lease_of(&tx, id)?;
            if rules::claim_skips(lease.as_ref(), holder, now) {
                let by = lease.map(|l| l.holder);
                refused.push(refusal(id, RefusalReason::LeasedElsewhere, by));
                continue;
            }
            let own = lease.is_some_and(|l| l.holder == holder && l.is_live(now));
            match allowance.take(&state, &lane, own) {
                Ok(()) => {
                    put_lease(&tx, id, holder, expires_at)?;
                    leased.push(id.to_owned());
                }
                Err(ClaimCap::MaxLeases) => {
                    refused.push(refusal(id, RefusalReason::MaxLeases, None));
                }
                Err(ClaimCap::FairShare) => {
                    refused.push(refusal(id, RefusalReason::FairShare, None));
                }
            }
        }
        let held = live_leases_of(&tx, holder, &ts(now))?;
        tx.commit()?;
        Ok(LeaseGrant {
            leased,
            refused,
            lease_expires_at: expires_at,
            lease_seconds,
            held: u32::try_from(held).unwrap_or(u32::MAX),
            max_leases: u32::try_from(limits.max_leases).unwrap_or(u32::MAX),
        })
    })
}

pub(super) fn live_holders(
    storage: &SqliteStorage,
    item_ids: &[String],
    now: DateTime<Utc>,
) -> Result<std::collections::HashMap<String, String>, StorageError> {
    storage.read(|conn| {
        let mut holders = std::collections::HashMap::new();
        for id in distinct(item_ids) {
            if let Some(lease) = lease_of(conn, id)?.filter(|l| l.is_live(now)) {
                holders.insert(id.to_owned(), lease.holder);
            }
        }
        Ok(holders)
    })
}

pub(super) fn renew_leases(
    storage: &SqliteStorage,
    holder: &str,
    item_ids: &[String],
    lease_seconds: u32,
    now: DateTime<Utc>,
) -> Result<LeaseRenewal, StorageError> {
    let expires_at = rules::lease_expiry(now, lease_seconds);
    storage.write(|conn| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut renewed = Vec::new();
        let mut lost = Vec::new();
        for id in distinct(item_ids) {
            let state: Option<String> = tx
                .prepare_cached("SELECT state FROM items WHERE id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()?;
            let state = state.as_deref().map(parse_state).transpose()?;
            let lease = lease_of(&tx, id)?;
            if rules::may_renew(state, lease.as_ref(), holder) {
                put_lease(&tx, id, holder, expires_at)?;
                renewed.push(id.to_owned());
            } else {
                lost.push(id.to_owned());
            }
        }
        tx.commit()?;
        Ok(LeaseRenewal {
            renewed,
            lost,
            lease_expires_at: expires_at,
        })
    })
}

pub(super) fn release_leases(
    storage: &SqliteStorage,
    holder: &str,
    item_ids: &[String],
) -> Result<usize, StorageError> {
    storage.write(|conn| {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut released = 0;
        for id in distinct(item_ids) {
            released += tx
                .prepare_cached("DELETE FROM leases WHERE item_id = ?1 AND holder = ?2")?
                .execute([id, holder])?;
        }
        tx.commit()?;
        Ok(released)
    })
}

pub(super) fn select(
    storage: &SqliteStorage,
    holder: &str,
    query: &QueueQuery,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<Selected, StorageError> {
    storage.read(|conn| {
        let limit = limit.min(MAX_SELECTION);
        let query = QueueQuery {
            after: None,
            ..query.clone()
        };
        let mut selected = Selected {
            ids: Vec::new(),
            leased_elsewhere: 0,
            truncated: false,
        };
        walk_queue(conn, &query, -1, |row| {
            if rules::claim_skips(lease_of(conn, &row.id)?.as_ref(), holder, now) {
                selected.leased_elsewhere += 1;
            } else if selected.ids.len() == limit {
                selected.truncated = true;
                return Ok(false);
            } else {
                selected.ids.push(row.id);
            }
            Ok(true)
        })?;
        Ok(selected)
    })
}
