//! The moderation APIs modq speaks. Each backend translates its wire format to `model` types;
//! everything above this module sees only `Backend`.

pub mod body;
pub mod capabilities;
pub mod modq;
pub mod ozone;
pub mod synapse;

pub use capabilities::{Capabilities, Support};
pub use modq::Limits;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;

use crate::model::{
    DailyStats, Decision, DecisionResult, HistoryEntry, Item, Lane, LeaseGrant, LeaseRelease,
    LeaseRenewal, Me, QueuePage, ReviewState, SelectRequest, Selection,
};
use crate::query::Sort;

/// The platforms this build of modq speaks. A profile in the config file names one with
/// `backend = "..."`; [`open`] is the one place a backend is made from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BackendKind {
    /// modq's own API v1 (`modq serve`).
    Modq,
    /// A Matrix homeserver running Synapse, through its admin API ([`synapse`]).
    Synapse,
    /// Bluesky's Ozone, through the moderator's PDS (`ozone`).
    Ozone,
}

impl BackendKind {
    /// Every backend in this build, in the order error messages list them.
    pub const ALL: &'static [BackendKind] =
        &[BackendKind::Modq, BackendKind::Synapse, BackendKind::Ozone];

    /// The name a config file writes.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Modq => "modq",
            BackendKind::Synapse => "synapse",
            BackendKind::Ozone => "ozone",
        }
    }

    /// The server a profile of this kind points at, as a question's end: "Is this …?".
    pub fn server(self) -> &'static str {
        match self {
            BackendKind::Modq => "a modq API v1 server",
            BackendKind::Synapse => {
                "a Matrix homeserver running Synapse (with a server admin's token)"
            }
            BackendKind::Ozone => {
                "a Bluesky PDS in front of an Ozone service (with a team member's app password)"
            }
        }
    }

    /// A backend named in a config file; the error names the backends this build has.
    pub fn parse(name: &str) -> Result<BackendKind, String> {
        BackendKind::ALL
            .iter()
            .copied()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| {
                let known = BackendKind::ALL
                    .iter()
                    .map(|k| format!("{:?}", k.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ");
                format!(
                    "no backend {:?} in this build of modq (it has: {known})",
                    crate::sanitize::clean_short(name, 60)
                )
            })
    }
}

/// A profile's backend-specific settings (`[profile.NAME.options]`), handed to the backend as
/// written: each backend reads the names it knows and refuses the others, so a typo is not
/// silently ignored.
pub type BackendOptions = BTreeMap<String, String>;

/// Make the backend a profile names. `secret` is the token (or password) the profile's
/// credential source gave; `limits` bound every answer and wait. Nothing is sent yet: the
/// first call is [`Backend::me`].
pub fn open(
    kind: BackendKind,
    url: &str,
    secret: &str,
    options: &BackendOptions,
    limits: Limits,
) -> Result<Arc<dyn Backend>, BackendError> {
    match kind {
        BackendKind::Modq => {
            refuse_options(kind, options, &[])?;
            Ok(Arc::new(modq::ModqClient::with_limits(
                url, secret, limits,
            )?))
        }
        BackendKind::Synapse => {
            refuse_options(kind, options, &[synapse::MANAGEMENT_ROOM])?;
            Ok(Arc::new(synapse::SynapseBackend::new(
                synapse::SynapseOptions {
                    url: url.to_string(),
                    token: secret.to_string(),
                    management_room: options.get(synapse::MANAGEMENT_ROOM).cloned(),
                    limits,
                },
            )?))
        }
        BackendKind::Ozone => {
            refuse_options(kind, options, ozone::OPTIONS)?;
            let config = ozone::OzoneConfig::from_options(url, secret, options, limits)?;
            Ok(Arc::new(ozone::OzoneBackend::new(config)?))
        }
    }
}

/// A backend's options must all be ones it knows (`known`): a misspelt one is an error naming
/// the ones it takes.
pub fn refuse_options(
    kind: BackendKind,
    options: &BackendOptions,
    known: &[&str],
) -> Result<(), BackendError> {
    let Some(unknown) = options.keys().find(|k| !known.contains(&k.as_str())) else {
        return Ok(());
    };
    let takes = if known.is_empty() {
        "takes no options".to_string()
    } else {
        format!("takes {}", known.join(", "))
    };
    Err(BackendError::Config(format!(
        "the {} backend has no option {:?} (it {takes})",
        kind.as_str(),
        crate::sanitize::clean_short(unknown, 60)
    )))
}

/// Which slice of the queue to fetch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueQuery {
    pub lane: Option<Lane>,
    pub state: Option<ReviewState>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
    /// A filter in the syntax of [`crate::query`]. A backend evaluates the terms it lists in
    /// [`Capabilities::filter_terms`] and reads past the others: the client applies the whole
    /// filter again to what it reads, so a term the platform cannot evaluate narrows only
    /// what has been read.
    pub q: Option<String>,
    pub sort: Option<Sort>,
}

/// Why a call to the API failed, sorted by what the caller should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    /// modq's own settings are wrong (API URL, token): nothing to retry.
    #[error("{0}")]
    Config(String),
    /// The token was refused: retrying will not help.
    #[error("the API refused the token: {0}")]
    Unauthorized(String),
    /// No connection could be made (refused, no route, no such host, TLS failed): the request
    /// never left, so the server holds nothing it carried.
    #[error("cannot reach the API: {0}")]
    NoConnection(String),
    /// The connection broke once made: the server may have acted on the request.
    #[error("lost the connection to the API: {0}")]
    Unreachable(String),
    #[error("the API did not answer within {0} s")]
    Timeout(u64),
    /// 5xx: the server's trouble, worth retrying.
    #[error("the API failed (HTTP {status}): {message}")]
    Server { status: u16, message: String },
    /// 4xx other than 401: this request is wrong and will stay wrong.
    #[error("the API rejected the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    /// The answer could not be understood.
    #[error("the API sent an answer modq cannot read: {0}")]
    Malformed(String),
    /// The backend does not have this feature (see [`Capabilities`]); the sentence says why.
    #[error("{0}")]
    Unsupported(String),
}

/// The error of an optional call a backend does not honour.
fn unsupported(feature: &Support, what: &str) -> BackendError {
    BackendError::Unsupported(
        feature
            .why_not()
            .map(str::to_string)
            .unwrap_or_else(|| format!("this backend cannot {what}")),
    )
}

impl BackendError {
    /// Network trouble and server errors pass; everything else will fail the same way again.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            BackendError::NoConnection(_)
                | BackendError::Unreachable(_)
                | BackendError::Timeout(_)
                | BackendError::Server { .. }
        )
    }
}

/// A moderation API. The core (`me`, `queue_page`, `item`, `send_decisions`) is what every
/// platform honours; everything else is optional, announced by [`Backend::capabilities`], and
/// answers [`BackendError::Unsupported`] where the platform lacks it.
#[async_trait]
pub trait Backend: Send + Sync {
    /// What this backend can do for the account `me` named. Call after `me`: what an account
    /// may do depends on its role.
    fn capabilities(&self) -> Capabilities;

    /// Who the token belongs to; also proves the token works.
    async fn me(&self) -> Result<Me, BackendError>;
    /// A read of the queue, leasing nothing.
    async fn queue_page(&self, query: &QueueQuery) -> Result<QueuePage, BackendError>;
    async fn item(&self, id: &str) -> Result<Item, BackendError>;
    /// Send a batch; one result per decision, in order, for the whole batch or for a leading
    /// part of it (never none): a batch sent in parts stops at a part the server did not
    /// take, and the caller sends the rest again. An error means no decision was answered.
    async fn send_decisions(
        &self,
        decisions: &[Decision],
    ) -> Result<Vec<DecisionResult>, BackendError>;

    async fn renew_leases(
        &self,
        _item_ids: &[String],
        _lease_seconds: u32,
    ) -> Result<LeaseRenewal, BackendError> {
        Err(unsupported(&self.capabilities().claims, "claim items"))
    }
    /// Lease these items (the ones at and just after the moderator's selection): each is
    /// leased or refused with a reason.
    async fn claim_items(
        &self,
        _item_ids: &[String],
        _lease_seconds: Option<u32>,
    ) -> Result<LeaseGrant, BackendError> {
        Err(unsupported(&self.capabilities().claims, "claim items"))
    }
    async fn release_leases(&self, _item_ids: &[String]) -> Result<LeaseRelease, BackendError> {
        Err(unsupported(&self.capabilities().claims, "claim items"))
    }
    /// The policy catalog: reason codes a take down may cite.
    async fn policies(&self) -> Result<crate::policy::PolicyCatalog, BackendError> {
        Err(unsupported(&self.capabilities().policies, "list policies"))
    }
    /// Open work per lane and escalated work per tier.
    async fn queue_counts(&self) -> Result<crate::model::QueueCounts, BackendError> {
        Err(unsupported(&self.capabilities().counts, "count the queue"))
    }
    /// The ids of every item matching a filter, for a bulk action; leases nothing.
    async fn select(&self, _request: &SelectRequest) -> Result<Selection, BackendError> {
        Err(unsupported(
            &self.capabilities().bulk_select,
            "select by filter",
        ))
    }
    /// Add a note to the item's history; the entry as the server recorded it.
    async fn add_note(&self, _item_id: &str, _note: &str) -> Result<HistoryEntry, BackendError> {
        Err(unsupported(&self.capabilities().notes, "add notes"))
    }
    /// One UTC day's transparency counts (the server's today when `date` is absent).
    async fn daily_stats(&self, _date: Option<&str>) -> Result<DailyStats, BackendError> {
        Err(unsupported(&self.capabilities().stats, "count the day"))
    }
    /// The bytes of one image the item lists (its [`Media::id`](crate::model::Media::id)),
    /// at most `max_bytes` (a larger answer is dropped as it arrives, never buffered). Held
    /// in memory only by the caller. A platform whose media modq does not fetch yet says so.
    async fn media(
        &self,
        _item_id: &str,
        _media_id: &str,
        _max_bytes: usize,
    ) -> Result<Vec<u8>, BackendError> {
        Err(BackendError::Unsupported(
            "modq does not fetch this platform's media yet: only its description is shown".into(),
        ))
    }
}
