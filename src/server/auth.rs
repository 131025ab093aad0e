//! Bearer tokens: making them, storing only their hash, and checking them on each request.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::model::{NewReport, ReporterType, Role};

use super::error::Failure;
use super::storage::{Storage, StorageError, TokenInfo};

const TOKEN_PREFIX: &str = "modq_";
const MAX_NAME_CHARS: usize = 64;

/// A new token: "modq_" and 32 random bytes in hex. The prefix lets secret scanners and
/// people recognise a leaked modq token.
pub fn generate_token() -> String {
    // rand's thread RNG is a CSPRNG seeded from the OS, fit for secrets.
    let bytes: [u8; 32] = rand::random();
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// What the server keeps of a token. A plain hash suffices: the token has 256 random bits,
/// so there is nothing to guess that a slow hash would protect.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a token for `name` with `role` and returns it in plaintext, the only time it
/// exists outside the holder's hands.
pub fn add_token(storage: &dyn Storage, name: &str, role: Role) -> anyhow::Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(StorageError::Invalid("a token needs a name".into()).into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(StorageError::Invalid(format!(
            "a token name is at most {MAX_NAME_CHARS} characters"
        ))
        .into());
    }
    // The name is written into the audit log and shown in terminals as the actor.
    if name.chars().any(char::is_control) {
        return Err(
            StorageError::Invalid("a token name cannot contain control characters".into()).into(),
        );
    }
    let token = generate_token();
    storage.add_token(name, role, &hash_token(&token))?;
    Ok(token)
}

/// Admits a request with a known bearer token and hands its [`TokenInfo`] to the handler.
pub async fn require_token(
    State(storage): State<Arc<dyn Storage>>,
    mut request: Request,
    next: Next,
) -> Response {
    let token = match bearer(&request) {
        Ok(token) => token,
        Err(failure) => return failure.into_response(),
    };
    let hash = hash_token(token);
    let found = tokio::task::spawn_blocking(move || storage.token_lookup(&hash)).await;
    match found {
        Ok(Ok(Some(info))) => {
            request.extensions_mut().insert(info);
            next.run(request).await
        }
        Ok(Ok(None)) => Failure::unauthorized(
            "this token is not known to the server; check it, or ask an admin for a new one",
        )
        .into_response(),
        Ok(Err(e)) => Failure::from(e).into_response(),
        Err(e) => Failure::internal(&e).into_response(),
    }
}

/// Refuses (403) a token that is not an admin's.
pub fn require_admin(actor: &TokenInfo, what: &str) -> Result<(), Failure> {
    if actor.role == Role::Admin {
        return Ok(());
    }
    Err(Failure::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        format!(
            "only an admin token may {what}; this token ({}) is a {}",
            actor.name,
            actor.role.as_str()
        ),
    ))
}

/// Who may file a report as what. Anyone may file a report as a user, the way a platform's
/// report button would. Filing for others — as a trusted flagger, an authority or an
/// automated classifier — and choosing its lane, deadline or time of receipt are an intake's
/// job and need an admin token: otherwise any moderator could push items to the top of the
/// queue or forge an authority's order.
pub fn check_reporter(actor: &TokenInfo, report: &NewReport) -> Result<(), Failure> {
    if actor.role == Role::Admin {
        return Ok(());
    }
    let what = if report.reporter_type != ReporterType::User {
        Some(format!("file a report as {}", report.reporter_type.label()))
    } else if report.lane.is_some() {
        Some("choose a report's lane".to_string())
    } else if report.deadline.is_some() {
        Some("set a report's deadline".to_string())
    } else if report.received_at.is_some() {
        Some("set when a report was received".to_string())
    } else {
        None
    };
    match what {
        Some(what) => require_admin(actor, &what),
        None => Ok(()),
    }
}

fn bearer(request: &Request) -> Result<&str, Failure> {
    let missing = || {
        Failure::unauthorized(
            "this request needs a token: send the header `Authorization: Bearer <token>`",
        )
    };
    let value = request
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(missing)?;
    let value = value.to_str().map_err(|_| missing())?;
    let (scheme, token) = value.split_once(' ').ok_or_else(missing)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(missing());
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_hex() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert!(a.starts_with("modq_"));
        assert_eq!(a.len(), 5 + 64);
        assert!(a[5..].bytes().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn hash_is_hex_sha256() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
