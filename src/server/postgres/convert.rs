//! Stored text to model values and back: the same forms SQLite keeps (see
//! [`crate::server::stored`]), so both engines read one another's cursors.

pub use crate::server::stored::*;

/// A count as stored (BIGINT) as a count in memory.
pub fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or_default()
}
