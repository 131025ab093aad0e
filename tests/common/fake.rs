//! A backend in memory, for the client's own tests: the App, the store and the background
//! sync run as in modq, on modq's event loop, against a queue held here instead of a server
//! over HTTP. Its [`Capabilities`] are whatever the test says (a platform without escalation,
//! a triage account, two lanes), and it keeps every call made and every decision received,
//! so a test can say what the client asked of the platform and what it never asked.
//!
//! It answers as a platform would: a decision it cannot take (one its capabilities say it
//! lacks, or a batch larger than `max_batch`) is refused, so a client that sent one fails
//! its test; a call it lacks answers `Unsupported` with the platform's sentence.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;

use modq::backend::{Backend, BackendError, Capabilities, QueueQuery, Support};
use modq::model::{
    Decision, DecisionAction, DecisionOutcome, DecisionResult, HistoryEntry, Item, Lane, LaneCount,
    LeaseGrant, LeaseRelease, LeaseRenewal, Me, QueueCounts, QueuePage, ReviewState, Role,
    SelectRequest, Selection,
};

/// The queue, and everything the client asked of the platform.
#[derive(Default)]
struct State {
    items: Vec<Item>,
    /// Every decision received, in the order received (repeats included).
    received: Vec<Decision>,
    /// Idempotency keys applied (a repeat is a duplicate).
    applied: HashSet<String>,
    /// The name of every call made, in order (`queue_page`, `claim_items`, …).
    calls: Vec<&'static str>,
}

pub struct FakeBackend {
    capabilities: Capabilities,
    me: Me,
    state: Mutex<State>,
}

impl FakeBackend {
    /// A platform with these capabilities holding `items` (in queue order), for a moderator
    /// named `mod-alice`. Policies and daily statistics are not kept here: capabilities
    /// saying a fake has them are a mistake in the test.
    pub fn new(capabilities: Capabilities, items: Vec<Item>) -> Arc<FakeBackend> {
        assert!(
            !capabilities.policies.is_yes() && !capabilities.stats.is_yes(),
            "the fake backend keeps no policy catalog and no daily statistics"
        );
        Arc::new(FakeBackend {
            capabilities,
            me: Me {
                name: "mod-alice".into(),
                role: Role::Moderator,
            },
            state: Mutex::new(State {
                items,
                ..State::default()
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn call(&self, name: &'static str) -> MutexGuard<'_, State> {
        let mut state = self.state();
        state.calls.push(name);
        state
    }

    /// The answer of a call the platform lacks.
    fn lacks(support: &Support) -> Result<(), BackendError> {
        match support.why_not() {
            Some(why) => Err(BackendError::Unsupported(why.to_string())),
            None => Ok(()),
        }
    }

    /// Every decision received, in order, repeats included.
    pub fn received(&self) -> Vec<Decision> {
        self.state().received.clone()
    }

    /// The name of every call made, in order.
    pub fn calls(&self) -> Vec<&'static str> {
        self.state().calls.clone()
    }

    /// Whether any of these calls was made.
    pub fn called_any(&self, names: &[&str]) -> Vec<&'static str> {
        self.calls()
            .into_iter()
            .filter(|c| names.contains(c))
            .collect()
    }

    /// Where the item stands on the platform now.
    pub fn state_of(&self, id: &str) -> Option<ReviewState> {
        self.state()
            .items
            .iter()
            .find(|i| i.id == id)
            .map(|i| i.state)
    }

    /// Apply one decision as a platform would, or say why not.
    fn apply(&self, state: &mut State, d: &Decision) -> DecisionResult {
        let result = |outcome, message: Option<String>| DecisionResult {
            idempotency_key: d.idempotency_key.clone(),
            outcome,
            message,
        };
        if !state.applied.insert(d.idempotency_key.clone()) {
            return result(DecisionOutcome::Duplicate, None);
        }
        let lacking = match d.action {
            DecisionAction::TakeDown => &self.capabilities.take_down,
            DecisionAction::Keep => &self.capabilities.keep,
            DecisionAction::Escalate => &self.capabilities.escalate,
            DecisionAction::Reverse => &self.capabilities.undo,
            DecisionAction::Uphold | DecisionAction::Overturn => &self.capabilities.appeals,
            DecisionAction::SendSupport => &self.capabilities.support_resources,
        };
        if let Some(why) = lacking.why_not() {
            state.applied.remove(&d.idempotency_key);
            return result(DecisionOutcome::Invalid, Some(why.to_string()));
        }
        if d.action == DecisionAction::Reverse {
            let reversed = d.reverses.clone().unwrap_or_default();
            let Some(item_id) = state
                .received
                .iter()
                .find(|r| r.idempotency_key == reversed)
                .map(|r| r.item_id.clone())
            else {
                return result(DecisionOutcome::Invalid, Some("nothing to reverse".into()));
            };
            if let Some(item) = state.items.iter_mut().find(|i| i.id == item_id) {
                item.state = ReviewState::Open;
                item.escalation_target = None;
            }
            return result(DecisionOutcome::Applied, None);
        }
        let Some(item) = state.items.iter_mut().find(|i| i.id == d.item_id) else {
            return result(DecisionOutcome::NotFound, None);
        };
        if item.state != ReviewState::Open && item.state != ReviewState::Escalated {
            return result(DecisionOutcome::Conflict, Some("already decided".into()));
        }
        item.state = match d.action {
            DecisionAction::TakeDown => ReviewState::TakenDown,
            DecisionAction::Keep => ReviewState::Kept,
            _ => ReviewState::Escalated,
        };
        if d.action == DecisionAction::Escalate {
            item.escalation_target =
                d.escalation_target
                    .or(self.capabilities.tiers.first().copied());
        }
        result(DecisionOutcome::Applied, None)
    }
}

#[async_trait]
impl Backend for FakeBackend {
    fn capabilities(&self) -> Capabilities {
        self.capabilities.clone()
    }

    async fn me(&self) -> Result<Me, BackendError> {
        let _state = self.call("me");
        Ok(self.me.clone())
    }

    async fn queue_page(&self, query: &QueueQuery) -> Result<QueuePage, BackendError> {
        let state = self.call("queue_page");
        let wanted = query.state.unwrap_or(ReviewState::Open);
        let matching: Vec<&Item> = state
            .items
            .iter()
            .filter(|i| i.state == wanted && query.lane.is_none_or(|l| l == i.lane))
            .collect();
        let from: usize = query
            .cursor
            .as_deref()
            .map_or(Ok(0), str::parse)
            .map_err(|_| BackendError::Rejected {
                status: 400,
                message: "bad cursor".into(),
            })?;
        let limit = query.limit.unwrap_or(50) as usize;
        let items: Vec<Item> = matching
            .iter()
            .skip(from)
            .take(limit)
            .map(|i| (*i).clone())
            .collect();
        let next = from + items.len();
        Ok(QueuePage {
            items,
            next_cursor: (next < matching.len()).then(|| next.to_string()),
        })
    }

    async fn item(&self, id: &str) -> Result<Item, BackendError> {
        let state = self.call("item");
        state
            .items
            .iter()
            .find(|i| i.id == id)
            .cloned()
            .ok_or(BackendError::Rejected {
                status: 404,
                message: format!("no item {id}"),
            })
    }

    async fn send_decisions(
        &self,
        decisions: &[Decision],
    ) -> Result<Vec<DecisionResult>, BackendError> {
        let mut state = self.call("send_decisions");
        if decisions.len() > self.capabilities.max_batch {
            return Err(BackendError::Rejected {
                status: 400,
                message: format!(
                    "at most {} decisions a call; this one has {}",
                    self.capabilities.max_batch,
                    decisions.len()
                ),
            });
        }
        let mut results = Vec::new();
        for d in decisions {
            let result = self.apply(&mut state, d);
            state.received.push(d.clone());
            results.push(result);
        }
        Ok(results)
    }

    async fn claim_items(
        &self,
        item_ids: &[String],
        lease_seconds: Option<u32>,
    ) -> Result<LeaseGrant, BackendError> {
        let _state = self.call("claim_items");
        Self::lacks(&self.capabilities.claims)?;
        let seconds = lease_seconds.unwrap_or(300);
        Ok(LeaseGrant {
            leased: item_ids.to_vec(),
            refused: Vec::new(),
            lease_expires_at: Utc::now() + chrono::Duration::seconds(i64::from(seconds)),
            lease_seconds: seconds,
            held: u32::try_from(item_ids.len()).unwrap_or(u32::MAX),
            max_leases: 1000,
        })
    }

    async fn renew_leases(
        &self,
        item_ids: &[String],
        lease_seconds: u32,
    ) -> Result<LeaseRenewal, BackendError> {
        let _state = self.call("renew_leases");
        Self::lacks(&self.capabilities.claims)?;
        Ok(LeaseRenewal {
            renewed: item_ids.to_vec(),
            lost: Vec::new(),
            lease_expires_at: Utc::now() + chrono::Duration::seconds(i64::from(lease_seconds)),
        })
    }

    async fn release_leases(&self, item_ids: &[String]) -> Result<LeaseRelease, BackendError> {
        let _state = self.call("release_leases");
        Self::lacks(&self.capabilities.claims)?;
        Ok(LeaseRelease {
            released: item_ids.len(),
        })
    }

    async fn policies(&self) -> Result<modq::policy::PolicyCatalog, BackendError> {
        let _state = self.call("policies");
        Self::lacks(&self.capabilities.policies)?;
        Err(BackendError::Unsupported(
            "the fake keeps no policy catalog".into(),
        ))
    }

    async fn daily_stats(
        &self,
        _date: Option<&str>,
    ) -> Result<modq::model::DailyStats, BackendError> {
        let _state = self.call("daily_stats");
        Self::lacks(&self.capabilities.stats)?;
        Err(BackendError::Unsupported(
            "the fake keeps no statistics".into(),
        ))
    }

    async fn queue_counts(&self) -> Result<QueueCounts, BackendError> {
        let state = self.call("queue_counts");
        Self::lacks(&self.capabilities.counts)?;
        let lanes = self
            .capabilities
            .lanes
            .iter()
            .map(|&lane| LaneCount {
                lane,
                open: state
                    .items
                    .iter()
                    .filter(|i| i.lane == lane && i.state == ReviewState::Open)
                    .count() as u64,
                overdue: 0,
            })
            .collect();
        Ok(QueueCounts {
            lanes,
            tiers: Vec::new(),
            as_of: Utc::now(),
        })
    }

    async fn select(&self, _request: &SelectRequest) -> Result<Selection, BackendError> {
        let state = self.call("select");
        Self::lacks(&self.capabilities.bulk_select)?;
        Ok(Selection {
            ids: state
                .items
                .iter()
                .filter(|i| i.state == ReviewState::Open)
                .map(|i| i.id.clone())
                .collect(),
            leased_elsewhere: 0,
            truncated: false,
        })
    }

    async fn add_note(&self, item_id: &str, note: &str) -> Result<HistoryEntry, BackendError> {
        let mut state = self.call("add_note");
        Self::lacks(&self.capabilities.notes)?;
        let entry: HistoryEntry = serde_json::from_value(json!({
            "at": Utc::now(),
            "actor": self.me.name,
            "event": "note",
            "note": note,
        }))
        .map_err(|e| BackendError::Malformed(e.to_string()))?;
        if let Some(item) = state.items.iter_mut().find(|i| i.id == item_id) {
            item.history.push(entry.clone());
        }
        Ok(entry)
    }
}

/// A post in `lane`, open, reported once as `category`, made at `at`.
pub fn post(id: &str, lane: Lane, category: &str, text: &str, at: DateTime<Utc>) -> Item {
    serde_json::from_value(json!({
        "id": id,
        "kind": "post",
        "text": text,
        "author": {"id": format!("author-{id}"), "handle": format!("@{id}")},
        "reports": [{
            "id": 1,
            "reporter_type": "user",
            "category": category,
            "lane": lane,
            "received_at": at,
        }],
        "priority": 50,
        "lane": lane,
        "state": "open",
        "created_at": at,
    }))
    .expect("a post")
}
