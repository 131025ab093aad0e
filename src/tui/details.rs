//! What a decision carries beyond its action. Its own module, so that the pickers that fill
//! it in and the App that journals it need not import each other.

use crate::model::{EscalationTier, Scope};

/// What a decision carries beyond its action; `Default` is what one key gives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Details {
    pub reason_code: Option<String>,
    pub scope: Option<Scope>,
    pub note: Option<String>,
    pub tier: Option<EscalationTier>,
}
