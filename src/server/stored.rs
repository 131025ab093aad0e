//! How values are stored, on both engines: timestamps as RFC 3339 text with microseconds,
//! enums by their serde names, lists as JSON; and the error for a stored value that cannot
//! be read back. One form for both, so each reads the other's cursors and exports.

use anyhow::anyhow;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::model::{EscalationTier, Lane, ReviewState};
use crate::server::storage::StorageError;

pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn corrupt(what: &str, detail: impl std::fmt::Display) -> StorageError {
    StorageError::Backend(anyhow!("stored {what} is unreadable: {detail}"))
}

pub fn parse_ts(s: &str) -> Result<DateTime<Utc>, StorageError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt("timestamp", e))
}

pub fn parse_opt_ts(s: Option<&str>) -> Result<Option<DateTime<Utc>>, StorageError> {
    s.map(parse_ts).transpose()
}

/// The serde name of a unit enum value (e.g. `trusted_flagger`), as stored.
pub fn name_of<T: Serialize + std::fmt::Debug>(v: T) -> Result<String, StorageError> {
    match serde_json::to_value(&v) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(StorageError::Backend(anyhow!(
            "{v:?} has no plain name to store"
        ))),
    }
}

pub fn from_name<T: DeserializeOwned>(what: &str, s: &str) -> Result<T, StorageError> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|e| corrupt(what, e))
}

pub fn to_json<T: Serialize>(v: &T) -> Result<String, StorageError> {
    serde_json::to_string(v).map_err(|e| StorageError::Backend(anyhow::Error::new(e)))
}

pub fn from_json<T: DeserializeOwned>(what: &str, s: &str) -> Result<T, StorageError> {
    serde_json::from_str(s).map_err(|e| corrupt(what, e))
}

pub fn opt_json<T: DeserializeOwned>(
    what: &str,
    s: Option<&str>,
) -> Result<Option<T>, StorageError> {
    s.map(|s| from_json(what, s)).transpose()
}

pub fn opt_tier(s: Option<&str>) -> Result<Option<EscalationTier>, StorageError> {
    s.map(|s| from_name("escalation target", s)).transpose()
}

pub fn parse_lane(s: &str) -> Result<Lane, StorageError> {
    Lane::parse(s).ok_or_else(|| corrupt("lane", s))
}

pub fn parse_state(s: &str) -> Result<ReviewState, StorageError> {
    ReviewState::parse(s).ok_or_else(|| corrupt("review state", s))
}
