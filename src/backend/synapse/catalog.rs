//! What `T` offers on Matrix: each reason code names what modq does on the homeserver.
//! Every take down of a reported message redacts it and closes its reports; a code adds an
//! account action on the sender or a room action. On a user report (no message), the
//! account action alone.

use crate::policy::{Ground, Policy, PolicyCatalog};

/// The homeserver action a reason code asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Redact only (the default of `t` on a message).
    Redact,
    Suspend,
    ShadowBan,
    Deactivate,
    BlockRoom,
    DeleteRoom,
}

impl Action {
    pub const ALL: [Action; 6] = [
        Action::Redact,
        Action::Suspend,
        Action::ShadowBan,
        Action::Deactivate,
        Action::BlockRoom,
        Action::DeleteRoom,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Action::Redact => "redact",
            Action::Suspend => "suspend",
            Action::ShadowBan => "shadow_ban",
            Action::Deactivate => "deactivate",
            Action::BlockRoom => "block_room",
            Action::DeleteRoom => "delete_room",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Action::Redact => "Redact the message, close its reports",
            Action::Suspend => "…and suspend the sender (undo lifts it)",
            Action::ShadowBan => "…and shadow-ban the sender (undo lifts it)",
            Action::Deactivate => "…and deactivate the sender (cannot be undone)",
            Action::BlockRoom => "…and block the room (undo unblocks it)",
            Action::DeleteRoom => "Delete and block the whole room (cannot be undone)",
        }
    }

    /// An absent code: redact a message, suspend the account of a user report.
    pub fn parse(code: Option<&str>, on_user: bool) -> Option<Action> {
        match code {
            None if on_user => Some(Action::Suspend),
            None => Some(Action::Redact),
            Some(c) => Action::ALL.into_iter().find(|a| a.code() == c),
        }
    }

    pub fn is_account(self) -> bool {
        matches!(
            self,
            Action::Suspend | Action::ShadowBan | Action::Deactivate
        )
    }

    pub fn is_room(self) -> bool {
        matches!(self, Action::BlockRoom | Action::DeleteRoom)
    }
}

pub fn catalog() -> PolicyCatalog {
    PolicyCatalog {
        fallback: Action::Redact.code().to_string(),
        policies: Action::ALL
            .into_iter()
            .map(|a| Policy {
                code: a.code().to_string(),
                title: a.title().to_string(),
                ground: Ground::Incompatible,
                legal_ground: None,
                contractual_ground: Some("the homeserver's rules".into()),
                explanation: "The content breaches the homeserver's rules: {title}.".into(),
                category: "STATEMENT_CATEGORY_OTHER_VIOLATION_TC".into(),
                keyword: None,
                reports: Vec::new(),
            })
            .collect(),
        account: crate::policy::AccountPolicy::default(),
        support: crate::support::SupportCatalog::builtin(),
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_is_one_modq_accepts() {
        let text = toml::to_string(&catalog()).unwrap();
        PolicyCatalog::parse(&text).unwrap();
        assert_eq!(Action::parse(None, false), Some(Action::Redact));
        assert_eq!(Action::parse(None, true), Some(Action::Suspend));
        assert_eq!(Action::parse(Some("nonsense"), false), None);
    }
}
