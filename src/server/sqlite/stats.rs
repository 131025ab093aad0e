//! What the lane tabs, the daily report and the statements of reasons read.

use chrono::{DateTime, Utc};

use crate::model::{EscalationTier, Lane, LaneCount, QueueCounts, TierCount};

use super::SqliteStorage;
use super::appeals::take_down_row;
use super::convert::{from_json, from_name, parse_lane, parse_opt_ts, parse_ts, ts};
use super::decisions::Sql;
use crate::server::decision_steps::TAKE_DOWN_COLUMNS;
use crate::server::storage::{DecisionFact, StorageError, TakeDownRecord};
use crate::server::stored::{DECISIONS_BETWEEN, take_downs_sql};

/// Open and overdue items per lane, from the tally (schema 7) and from the overdue items
/// alone: never a walk over the queue, whatever its size.
pub(super) const LANE_COUNTS: &str =
    "SELECT lane, SUM(items), 0 FROM queue_tally WHERE state = 'open' GROUP BY lane
     UNION ALL
     SELECT lane, 0, COUNT(*) FROM items
     WHERE state = 'open' AND deadline IS NOT NULL AND deadline <= ?1 GROUP BY lane";

pub(super) fn queue_counts(
    storage: &SqliteStorage,
    now: DateTime<Utc>,
) -> Result<QueueCounts, StorageError> {
    storage.read(|conn| {
        let mut lanes: Vec<LaneCount> = Lane::ALL
            .into_iter()
            .map(|lane| LaneCount {
                lane,
                open: 0,
                overdue: 0,
            })
            .collect();
        let mut stmt = conn.prepare_cached(LANE_COUNTS)?;
        let rows = stmt.query_map([ts(now)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
        for row in rows {
            let (lane, open, overdue) = row?;
            let lane = parse_lane(&lane)?;
            if let Some(count) = lanes.iter_mut().find(|c| c.lane == lane) {
                count.open += u64::try_from(open).unwrap_or_default();
                count.overdue += u64::try_from(overdue).unwrap_or_default();
            }
        }
        let mut tiers: Vec<TierCount> = EscalationTier::ALL
            .into_iter()
            .map(|tier| TierCount { tier, escalated: 0 })
            .collect();
        let mut stmt = conn.prepare_cached(
            "SELECT CASE tier WHEN '' THEN 'senior' ELSE tier END, SUM(items)
             FROM queue_tally WHERE state = 'escalated' GROUP BY 1",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (tier, n) = row?;
            let tier: EscalationTier = from_name("escalation target", &tier)?;
            if let Some(count) = tiers.iter_mut().find(|c| c.tier == tier) {
                count.escalated += u64::try_from(n).unwrap_or_default();
            }
        }
        Ok(QueueCounts {
            lanes,
            tiers,
            as_of: now,
        })
    })
}

pub(super) fn decisions_between(
    storage: &SqliteStorage,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<DecisionFact>, StorageError> {
    storage.read(|conn| {
        let mut stmt = conn.prepare_cached(DECISIONS_BETWEEN)?;
        let rows = stmt.query_map([ts(from), ts(to)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, bool>(8)?,
            ))
        })?;
        let mut facts = Vec::new();
        for row in rows {
            let (action, at, reason_code, lane, countries, created, deadline, category, reversed) =
                row?;
            facts.push(DecisionFact {
                action: from_name("action", &action)?,
                applied_at: parse_ts(&at)?,
                reason_code,
                lane: parse_lane(&lane)?,
                countries: from_json("countries", &countries)?,
                reported_at: parse_ts(&created)?,
                deadline: parse_opt_ts(deadline.as_deref())?,
                report_category: category,
                reversed,
            });
        }
        Ok(facts)
    })
}

pub(super) fn take_downs_since(
    storage: &SqliteStorage,
    since: DateTime<Utc>,
    after_id: i64,
    limit: usize,
) -> Result<Vec<TakeDownRecord>, StorageError> {
    let sql = take_downs_sql(TAKE_DOWN_COLUMNS);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    storage.read(|conn| {
        let mut stmt = conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(rusqlite::params![ts(since), after_id, limit], |r| {
            take_down_row(r, 0)
        })?;
        let mut found = Vec::new();
        for row in rows {
            found.push(row?);
        }
        drop(stmt);
        let mut records = Vec::with_capacity(found.len());
        for row in found {
            records.push(row.read(&mut Sql(conn), "audit row")?);
        }
        Ok(records)
    })
}
