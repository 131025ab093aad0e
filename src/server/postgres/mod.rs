//! The storage for a team: PostgreSQL, which several `modq serve` processes share
//! (`modq serve --db postgres://…`). The rules are [`super::rules`]', as on SQLite, and the
//! storage suite proves both engines by the same tests.
//!
//! Where SQLite has one writer at a time, here transactions run side by side, from several
//! servers, and the database keeps them apart:
//! - a transaction that changes an item's state or lease locks its row first;
//! - a claim walks the queue without locks and locks the items it means to take `FOR UPDATE
//!   SKIP LOCKED`, as many at a time as it still wants, passing over items another claim or
//!   a decision holds at that moment (and never holding up decisions on the items it only
//!   passes);
//! - an idempotency key applies once by the audit table's unique key `(token, key)`;
//! - one holder's claims run one at a time (an advisory lock on the holder), so a cap on
//!   live leases holds across servers;
//! - audit ids become visible in order (a batch's rows are numbered and inserted last,
//!   under an advisory lock held to the commit), so paging the log by id never skips a row;
//! - the lane tallies every decision moves are kept in 64 stripes, so decisions do not queue
//!   on one hot row;
//! - a transaction that loses a race (a deadlock, a key taken first) is run again.
//!
//! The audit log and notes refuse UPDATE, DELETE and TRUNCATE in the database itself.

mod accounts;
mod appeals;
mod claim_walk;
mod convert;
mod db;
mod decision_reads;
mod decisions;
mod items;
mod messages;
mod queue;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};

use crate::model::{AppealLodged, NewAppeal};
use crate::model::{
    ClaimCap, ClaimedPage, Decision, DecisionMethod, DecisionResult, EscalationTier, HistoryEntry,
    Item, Lane, LaneCount, LeaseGrant, LeaseRefusal, LeaseRenewal, NewReport, QueueCounts,
    QueuePage, RefusalReason, ReportAccepted, Role, TierCount,
};
use crate::policy::PolicyCatalog;

use super::claims;
use super::decision_steps::TAKE_DOWN_COLUMNS;
use super::rules;
use super::storage::{AppealRecord, AppealRefusal};
use super::storage::{
    AuditEntry, AuditQuery, ClaimLimits, Cursor, DecisionFact, MAX_SELECTION, QueueQuery, Selected,
    Storage, StorageError, TakeDownRecord, TokenInfo, TokenRecord, within_budget,
};
use super::stored::{DECISIONS_BETWEEN, take_downs_sql};

use claim_walk::{ClaimWalk, put_leases};
use convert::{
    corrupt, count, from_json, from_name, opt_json, opt_tier, parse_lane, parse_opt_ts,
    parse_state, parse_ts, ts,
};
use db::{Pool, Tx, transaction};
use decisions::{
    AuditBatch, allowance_of, apply_one, distinct, lease_of, live_leases_of, lock_holder,
    lock_items, put_lease,
};
use items::{TallyChanges, add_report, fill_items, is_intake, search_columns};
use queue::{ItemRow, walk_queue};

/// Connections one server keeps open by default (`modq serve --db-connections`).
pub const DEFAULT_CONNECTIONS: u32 = 16;

pub struct PostgresStorage {
    pool: Pool,
    /// Statements sent, see [`PostgresStorage::statements_sent`].
    sent: Arc<AtomicU64>,
}

impl PostgresStorage {
    /// Connects to the database at `url` (`postgres://user@host:port/db`), runs the
    /// migrations it lacks, and refuses a database a newer modq has migrated.
    pub fn open(url: &str) -> anyhow::Result<PostgresStorage> {
        PostgresStorage::open_with(url, DEFAULT_CONNECTIONS)
    }

    /// [`PostgresStorage::open`] with a pool of at most `connections`.
    pub fn open_with(url: &str, connections: u32) -> anyhow::Result<PostgresStorage> {
        let sent = Arc::default();
        Ok(PostgresStorage {
            pool: db::open(url, connections.max(1), Arc::clone(&sent))?,
            sent,
        })
    }

    /// Statements this storage has sent PostgreSQL so far, BEGIN and COMMIT included: each
    /// a round trip. Tests bound what a request costs with it.
    pub fn statements_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// PostgreSQL's plan for reading item `id` (`Storage::item`), one line a row, with
    /// scans of whole tables and sorts priced out: whether an index can serve each of the
    /// item's capped lists in its order, however few rows the test's tables hold. Tests
    /// read it.
    pub fn item_read_plan(&self, id: &str) -> Result<Vec<String>, StorageError> {
        self.run(|tx| {
            for off in ["enable_seqscan", "enable_bitmapscan", "enable_sort"] {
                tx.exec(&format!("SET LOCAL {off} = off"), &[])?;
            }
            let explain = format!("EXPLAIN {}", *items::ITEM_WHOLE);
            tx.all(&explain, &[&id])?
                .iter()
                .map(|r| Ok(r.try_get::<_, String>(0)?))
                .collect()
        })
    }

    fn run<T>(
        &self,
        work: impl FnMut(&mut Tx<'_>) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        transaction(&self.pool, work)
    }
}

/// Whether `db` names a PostgreSQL database rather than a SQLite file.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

fn token_record(r: &::postgres::Row) -> Result<TokenRecord, StorageError> {
    let role: String = r.try_get(2)?;
    let created_at: String = r.try_get(3)?;
    let revoked_at: Option<String> = r.try_get(4)?;
    Ok(TokenRecord {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        created_at: parse_ts(&created_at)?,
        revoked_at: parse_opt_ts(revoked_at.as_deref())?,
    })
}

fn audit_entry(r: &::postgres::Row) -> Result<AuditEntry, StorageError> {
    let at: String = r.try_get(1)?;
    let action: String = r.try_get(4)?;
    let scope: Option<String> = r.try_get(7)?;
    let target: Option<String> = r.try_get(9)?;
    let decided_at: String = r.try_get(12)?;
    let from_state: String = r.try_get(13)?;
    let to_state: String = r.try_get(14)?;
    let method: Option<String> = r.try_get(16)?;
    let tier: Option<String> = r.try_get(17)?;
    Ok(AuditEntry {
        id: r.try_get(0)?,
        at: parse_ts(&at)?,
        actor: r.try_get(2)?,
        role: r.try_get(3)?,
        action: from_name("action", &action)?,
        item_id: r.try_get(5)?,
        reason_code: r.try_get(6)?,
        scope: opt_json("scope", scope.as_deref())?,
        note: r.try_get(8)?,
        escalation_target: opt_tier(target.as_deref())?,
        reverses: r.try_get(10)?,
        idempotency_key: r.try_get(11)?,
        decided_at: parse_ts(&decided_at)?,
        from_state: parse_state(&from_state)?,
        to_state: parse_state(&to_state)?,
        actor_token_id: r.try_get(15)?,
        method: method
            .map(|m| DecisionMethod::parse(&m).ok_or_else(|| corrupt("method", m)))
            .transpose()?,
        tier: opt_tier(tier.as_deref())?,
        account: None,
    })
}

impl Storage for PostgresStorage {
    fn file_reports(
        &self,
        filer: Option<&TokenInfo>,
        reports: &[NewReport],
        now: DateTime<Utc>,
    ) -> Result<Vec<ReportAccepted>, StorageError> {
        for report in reports {
            rules::check_report(report).map_err(StorageError::Invalid)?;
        }
        let intake = is_intake(filer);
        let columns = reports
            .iter()
            .map(|r| {
                let author = r.subject.author.as_ref().filter(|_| intake);
                search_columns(r.subject.text.as_deref(), author)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.run(|tx| {
            let mut tally = TallyChanges::default();
            let mut accepted = Vec::with_capacity(reports.len());
            for (report, columns) in reports.iter().zip(&columns) {
                accepted.push(add_report(tx, &mut tally, filer, (report, columns), now)?);
            }
            tally.write(tx)?;
            Ok(accepted)
        })
    }

    fn queue_page(&self, query: &QueueQuery) -> Result<QueuePage, StorageError> {
        self.run(|tx| {
            // One more row than asked tells whether a next page exists.
            let fetch = i64::try_from(query.limit.saturating_add(1)).unwrap_or(i64::MAX);
            let mut rows = Vec::new();
            walk_queue(tx, query, Some(fetch), |_, row| {
                rows.push(row);
                Ok(true)
            })?;
            let mut more = rows.len() > query.limit;
            rows.truncate(query.limit);
            let mut cursors = Vec::with_capacity(rows.len());
            let mut items = Vec::with_capacity(rows.len());
            for row in rows {
                cursors.push(row.cursor(query.sort, query.as_of)?);
                items.push(row.into_item()?);
            }
            fill_items(tx, &mut items)?;
            let fit = within_budget(&items, query.max_bytes);
            if fit < items.len() {
                items.truncate(fit);
                more = true;
            }
            let next_cursor = if more {
                cursors.get(fit.wrapping_sub(1)).map(Cursor::encode)
            } else {
                None
            };
            Ok(QueuePage { items, next_cursor })
        })
    }

    fn item(&self, id: &str) -> Result<Option<Item>, StorageError> {
        // One statement, one snapshot: no transaction needed around it.
        db::read_one(&self.pool, &items::ITEM_WHOLE, &[&id])?
            .as_ref()
            .map(items::item_whole)
            .transpose()
    }

    fn claim_within(
        &self,
        holder: &str,
        query: &QueueQuery,
        lease_seconds: u32,
        limits: &ClaimLimits,
        now: DateTime<Utc>,
    ) -> Result<ClaimedPage, StorageError> {
        let expires_at = rules::lease_expiry(now, lease_seconds);
        let (mut page, taken_cursors) = self.run(|tx| {
            lock_holder(tx, holder)?;
            let allowance = allowance_of(tx, holder, limits, now)?;
            let withheld = appeals::withheld_from(tx, holder)?;
            let mut walk = ClaimWalk::new(holder, query, now, &withheld, allowance);
            walk_queue(tx, query, None, |tx, row| walk.visit(tx, row))?;
            walk.finish(tx)?;
            let ids: Vec<&str> = walk.taken.iter().map(|r| r.id.as_str()).collect();
            put_leases(tx, &ids, holder, expires_at)?;
            let limited_by = walk.limited_by();
            let next_cursor = walk.last_examined.filter(|_| walk.more).map(|c| c.encode());
            let items = walk
                .taken
                .into_iter()
                .map(ItemRow::into_item)
                .collect::<Result<Vec<Item>, StorageError>>()?;
            let held = live_leases_of(tx, holder, &ts(now))?;
            let page = ClaimedPage {
                items,
                next_cursor,
                lease_expires_at: expires_at,
                lease_seconds,
                held: u32::try_from(held).unwrap_or(u32::MAX),
                max_leases: u32::try_from(limits.max_leases).unwrap_or(u32::MAX),
                limited_by,
            };
            let taken_cursors = walk.taken_cursors;
            Ok((page, taken_cursors))
        })?;
        // Reports, history and the author's record are read once the leases are committed:
        // the items are this holder's now.
        self.run(|tx| fill_items(tx, &mut page.items))?;
        let fit = within_budget(&page.items, query.max_bytes);
        if fit < page.items.len() {
            let unsent: Vec<String> = page.items.drain(fit..).map(|i| i.id).collect();
            self.release_leases(holder, &unsent)?;
            let given_back = u32::try_from(unsent.len()).unwrap_or(u32::MAX);
            page.held = page.held.saturating_sub(given_back);
            page.next_cursor = taken_cursors.get(fit.wrapping_sub(1)).map(Cursor::encode);
        }
        Ok(page)
    }

    fn claim_items(
        &self,
        actor: &TokenInfo,
        item_ids: &[String],
        lease_seconds: u32,
        limits: &ClaimLimits,
        now: DateTime<Utc>,
    ) -> Result<LeaseGrant, StorageError> {
        let expires_at = rules::lease_expiry(now, lease_seconds);
        let holder = actor.name.as_str();
        self.run(|tx| {
            lock_holder(tx, holder)?;
            let ids = distinct(item_ids);
            lock_items(tx, &ids)?;
            let mut allowance = allowance_of(tx, holder, limits, now)?;
            let withheld = appeals::withheld_from(tx, holder)?;
            let mut leased = Vec::new();
            let mut refused = Vec::new();
            let refusal = |id: &str, reason, leased_by| LeaseRefusal {
                item_id: id.to_owned(),
                reason,
                leased_by,
            };
            for id in ids {
                let found = tx.opt(
                    "SELECT state, escalation_target, lane FROM items WHERE id = ?1",
                    &[&id],
                )?;
                let Some(r) = found else {
                    refused.push(refusal(id, RefusalReason::NotClaimable, None));
                    continue;
                };
                let state: String = r.try_get(0)?;
                let tier: Option<String> = r.try_get(1)?;
                let lane: String = r.try_get(2)?;
                let tier = opt_tier(tier.as_deref())?;
                if !claims::may_claim(actor, parse_state(&state)?, tier) || withheld.contains(id) {
                    refused.push(refusal(id, RefusalReason::NotClaimable, None));
                    continue;
                }
                let lease = lease_of(tx, id)?;
                if rules::claim_skips(lease.as_ref(), holder, now) {
                    let by = lease.map(|l| l.holder);
                    refused.push(refusal(id, RefusalReason::LeasedElsewhere, by));
                    continue;
                }
                let own = lease.is_some_and(|l| l.holder == holder && l.is_live(now));
                match allowance.take(&state, &lane, own) {
                    Ok(()) => {
                        put_lease(tx, id, holder, expires_at)?;
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
            let held = live_leases_of(tx, holder, &ts(now))?;
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

    fn live_holders(
        &self,
        item_ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<std::collections::HashMap<String, String>, StorageError> {
        let ids = distinct(item_ids);
        self.run(|tx| {
            let mut holders = std::collections::HashMap::new();
            // One statement for a page's items.
            for r in tx.all(
                "SELECT item_id, holder, expires_at FROM leases WHERE item_id = ANY(?1)",
                &[&ids],
            )? {
                let expires_at: String = r.try_get(2)?;
                let lease = rules::Lease {
                    holder: r.try_get(1)?,
                    expires_at: parse_ts(&expires_at)?,
                };
                if lease.is_live(now) {
                    holders.insert(r.try_get(0)?, lease.holder);
                }
            }
            Ok(holders)
        })
    }

    fn renew_leases(
        &self,
        holder: &str,
        item_ids: &[String],
        lease_seconds: u32,
        now: DateTime<Utc>,
    ) -> Result<LeaseRenewal, StorageError> {
        let expires_at = rules::lease_expiry(now, lease_seconds);
        self.run(|tx| {
            let ids = distinct(item_ids);
            lock_items(tx, &ids)?;
            let mut renewed = Vec::new();
            let mut lost = Vec::new();
            for id in ids {
                let state: Option<String> = tx
                    .opt("SELECT state FROM items WHERE id = ?1", &[&id])?
                    .map(|r| r.try_get(0))
                    .transpose()?;
                let state = state.as_deref().map(parse_state).transpose()?;
                let lease = lease_of(tx, id)?;
                if rules::may_renew(state, lease.as_ref(), holder) {
                    put_lease(tx, id, holder, expires_at)?;
                    renewed.push(id.to_owned());
                } else {
                    lost.push(id.to_owned());
                }
            }
            Ok(LeaseRenewal {
                renewed,
                lost,
                lease_expires_at: expires_at,
            })
        })
    }

    fn release_leases(&self, holder: &str, item_ids: &[String]) -> Result<usize, StorageError> {
        self.run(|tx| {
            let ids = distinct(item_ids);
            lock_items(tx, &ids)?;
            let mut released = 0;
            for id in ids {
                released += tx.exec(
                    "DELETE FROM leases WHERE item_id = ?1 AND holder = ?2",
                    &[&id, &holder],
                )?;
            }
            Ok(usize::try_from(released).unwrap_or(usize::MAX))
        })
    }

    fn select(
        &self,
        holder: &str,
        query: &QueueQuery,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<Selected, StorageError> {
        self.run(|tx| {
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
            walk_queue(tx, &query, None, |_, row| {
                if rules::claim_skips(row.lease.as_ref(), holder, now) {
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

    fn apply_decisions(
        &self,
        actor: &TokenInfo,
        decisions: &[Decision],
        policies: &PolicyCatalog,
        now: DateTime<Utc>,
    ) -> Result<Vec<DecisionResult>, StorageError> {
        self.run(|tx| {
            let ids: Vec<&str> = decisions.iter().map(|d| d.item_id.as_str()).collect();
            // An overturned appeal changes its appealed item too: locked with the others.
            let mut known = decision_reads::Known::lock(tx, &ids)?;
            let mut tally = TallyChanges::default();
            let mut log = AuditBatch::default();
            let mut results = Vec::with_capacity(decisions.len());
            for d in decisions {
                results.push(apply_one(
                    tx, &mut known, &mut tally, &mut log, actor, d, policies, now,
                )?);
            }
            tally.write(tx)?;
            // Last: the audit lock is held from here to the commit.
            log.write(tx)?;
            Ok(results)
        })
    }

    fn add_note(
        &self,
        actor: &TokenInfo,
        item_id: &str,
        note: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<HistoryEntry>, StorageError> {
        self.run(|tx| {
            lock_items(tx, &[item_id])?;
            super::decision_steps::add_note(tx, actor, item_id, note, now)
        })
    }

    fn queue_counts(&self, now: DateTime<Utc>) -> Result<QueueCounts, StorageError> {
        self.run(|tx| {
            let mut lanes: Vec<LaneCount> = Lane::ALL
                .into_iter()
                .map(|lane| LaneCount {
                    lane,
                    open: 0,
                    overdue: 0,
                })
                .collect();
            let rows = tx.all(
                "SELECT lane, SUM(items)::BIGINT, 0::BIGINT FROM queue_tally
                 WHERE state = 'open' GROUP BY lane
                 UNION ALL
                 SELECT lane, 0::BIGINT, COUNT(*) FROM items
                 WHERE state = 'open' AND deadline IS NOT NULL AND deadline <= ?1 GROUP BY lane",
                &[&ts(now)],
            )?;
            for r in rows {
                let lane: String = r.try_get(0)?;
                let lane = parse_lane(&lane)?;
                if let Some(c) = lanes.iter_mut().find(|c| c.lane == lane) {
                    c.open += count(r.try_get(1)?);
                    c.overdue += count(r.try_get(2)?);
                }
            }
            let mut tiers: Vec<TierCount> = EscalationTier::ALL
                .into_iter()
                .map(|tier| TierCount { tier, escalated: 0 })
                .collect();
            let rows = tx.all(
                "SELECT CASE tier WHEN '' THEN 'senior' ELSE tier END, SUM(items)::BIGINT
                 FROM queue_tally WHERE state = 'escalated' GROUP BY 1",
                &[],
            )?;
            for r in rows {
                let tier: String = r.try_get(0)?;
                let tier: EscalationTier = from_name("escalation target", &tier)?;
                if let Some(c) = tiers.iter_mut().find(|c| c.tier == tier) {
                    c.escalated += count(r.try_get(1)?);
                }
            }
            Ok(QueueCounts {
                lanes,
                tiers,
                as_of: now,
            })
        })
    }

    fn decisions_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<DecisionFact>, StorageError> {
        self.run(|tx| {
            let rows = tx.all(DECISIONS_BETWEEN, &[&ts(from), &ts(to)])?;
            let mut facts = Vec::with_capacity(rows.len());
            for r in rows {
                let action: String = r.try_get(0)?;
                let at: String = r.try_get(1)?;
                let lane: String = r.try_get(3)?;
                let countries: String = r.try_get(4)?;
                let created: String = r.try_get(5)?;
                let deadline: Option<String> = r.try_get(6)?;
                facts.push(DecisionFact {
                    action: from_name("action", &action)?,
                    applied_at: parse_ts(&at)?,
                    reason_code: r.try_get(2)?,
                    lane: parse_lane(&lane)?,
                    countries: from_json("countries", &countries)?,
                    reported_at: parse_ts(&created)?,
                    deadline: parse_opt_ts(deadline.as_deref())?,
                    report_category: r.try_get(7)?,
                    reversed: r.try_get(8)?,
                });
            }
            Ok(facts)
        })
    }

    fn take_downs_since(
        &self,
        since: DateTime<Utc>,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<TakeDownRecord>, StorageError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.run(|tx| {
            let rows = tx.all(
                &take_downs_sql(TAKE_DOWN_COLUMNS),
                &[&ts(since), &after_id, &limit],
            )?;
            let mut records = Vec::with_capacity(rows.len());
            for r in rows {
                records.push(appeals::take_down_row(&r, 0)?.read(tx, "audit row")?);
            }
            Ok(records)
        })
    }

    fn token_lookup(&self, hash: &str) -> Result<Option<TokenInfo>, StorageError> {
        let Some(r) = db::read_one(
            &self.pool,
            "SELECT id, name, role FROM tokens WHERE hash = ?1 AND revoked_at IS NULL",
            &[&hash],
        )?
        else {
            return Ok(None);
        };
        let role: String = r.try_get(2)?;
        Ok(Some(TokenInfo {
            id: r.try_get(0)?,
            name: r.try_get(1)?,
            role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        }))
    }

    fn put_media(
        &self,
        blobs: &[crate::server::storage::MediaBlob],
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        if blobs.is_empty() {
            return Ok(());
        }
        let created_at = ts(now);
        self.run(|tx| {
            for blob in blobs {
                tx.exec(
                    "INSERT INTO media_blobs (id, content_type, bytes, created_at)
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (id) DO NOTHING",
                    &[&blob.id, &blob.content_type, &blob.bytes, &created_at],
                )?;
            }
            Ok(())
        })
    }

    fn media(&self, id: &str) -> Result<Option<crate::server::storage::MediaBlob>, StorageError> {
        let Some(r) = db::read_one(
            &self.pool,
            "SELECT id, content_type, bytes FROM media_blobs WHERE id = ?1",
            &[&id],
        )?
        else {
            return Ok(None);
        };
        Ok(Some(crate::server::storage::MediaBlob {
            id: r.try_get(0)?,
            content_type: r.try_get(1)?,
            bytes: r.try_get(2)?,
        }))
    }

    fn create_token(&self, name: &str, role: Role, hash: &str) -> Result<i64, StorageError> {
        self.run(|tx| {
            let taken = tx.opt(
                "SELECT name FROM tokens WHERE lower(name) = lower(?1)",
                &[&name],
            )?;
            if let Some(r) = taken {
                let taken: String = r.try_get(0)?;
                return Err(StorageError::Invalid(format!(
                    "a token named {taken:?} exists already (names are unique, revoked tokens' \
                     included, whatever their case): choose another name"
                )));
            }
            let id: i64 = tx
                .one(
                    "INSERT INTO tokens (hash, name, role, created_at) VALUES (?1, ?2, ?3, ?4)
                     RETURNING id",
                    &[&hash, &name, &role.as_str(), &ts(Utc::now())],
                )?
                .try_get(0)?;
            Ok(id)
        })
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>, StorageError> {
        self.run(|tx| {
            tx.all(
                "SELECT id, name, role, created_at, revoked_at FROM tokens ORDER BY id",
                &[],
            )?
            .iter()
            .map(token_record)
            .collect()
        })
    }

    fn revoke_token(
        &self,
        id_or_name: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<TokenRecord>, StorageError> {
        self.run(|tx| {
            // An id first: a name that is all digits is still found by its id's number.
            let id: Option<i64> = tx
                .opt(
                    "(SELECT id FROM tokens WHERE id = ?1
                      UNION ALL SELECT id FROM tokens WHERE lower(name) = lower(?2)) LIMIT 1",
                    &[&id_or_name.parse::<i64>().ok(), &id_or_name],
                )?
                .map(|r| r.try_get(0))
                .transpose()?;
            let Some(id) = id else {
                return Ok(None);
            };
            let r = tx.one(
                "UPDATE tokens SET revoked_at = COALESCE(revoked_at, ?2) WHERE id = ?1
                 RETURNING id, name, role, created_at, revoked_at",
                &[&id, &ts(now)],
            )?;
            token_record(&r).map(Some)
        })
    }

    fn lodge_appeal(
        &self,
        filer: &TokenInfo,
        appeal: &NewAppeal,
        now: DateTime<Utc>,
    ) -> Result<Result<AppealLodged, AppealRefusal>, StorageError> {
        self.run(|tx| appeals::lodge_appeal(tx, filer, appeal, now))
    }

    fn appeals_of(&self, item_ids: &[String]) -> Result<Vec<AppealRecord>, StorageError> {
        self.run(|tx| appeals::appeals_of(tx, item_ids))
    }

    fn messages(
        &self,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<crate::support::UserMessage>, StorageError> {
        self.run(|tx| messages::read(tx, after_id, limit))
    }

    fn audit(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StorageError> {
        let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
        self.run(|tx| {
            tx.all(
                "SELECT id, at, actor, role, action, item_id, reason_code, scope, note,
                        escalation_target, reverses, idempotency_key, decided_at, from_state,
                        to_state, actor_token_id, method, from_tier
                 FROM audit WHERE id > ?1 AND (?2::TEXT IS NULL OR item_id = ?2)
                 ORDER BY id LIMIT ?3",
                &[&query.after_id, &query.item, &limit],
            )?
            .iter()
            .map(audit_entry)
            .collect::<Result<Vec<_>, _>>()
            .and_then(|mut entries| {
                // The measures of the take downs on this page (one lookup each by its key).
                for e in entries
                    .iter_mut()
                    .filter(|e| e.action == crate::model::DecisionAction::TakeDown)
                {
                    e.account = accounts::measure_of(tx, e.actor_token_id, &e.idempotency_key)?;
                }
                Ok(entries)
            })
        })
    }
}
