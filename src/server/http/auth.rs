//! Bearer tokens: making them, storing only their hash, and checking them on each request.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::model::{NewReport, ReporterType, Role};

use super::error::Failure;
use crate::server::storage::{Storage, StorageError, TokenInfo};

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
    create_token(storage, name, role).map(|(_, token)| token)
}

/// [`add_token`], answering the new token's id too.
pub fn create_token(
    storage: &dyn Storage,
    name: &str,
    role: Role,
) -> anyhow::Result<(i64, String)> {
    let name = name.trim();
    check_token_name(name).map_err(StorageError::Invalid)?;
    let token = generate_token();
    let id = storage.create_token(name, role, &hash_token(&token))?;
    Ok((id, token))
}

/// Why a token name is refused. The name is the actor people read in the audit log, in
/// history and on every moderator's screen: two tokens must never read alike, so no
/// control, bidi, zero-width or other invisible character and no space but the plain one.
pub fn check_token_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a token needs a name".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "a token name is at most {MAX_NAME_CHARS} characters"
        ));
    }
    if name != name.trim() {
        return Err("a token name cannot begin or end with a space".into());
    }
    let hidden = |c: char| c.is_whitespace() && c != ' ';
    // The sanitizer names every character that could steer or hide text; a name it would
    // change is one that could pass for another.
    if name.chars().any(hidden) || crate::sanitize::clean_line(name) != name {
        return Err(format!(
            "a token name cannot contain control, bidi, invisible or unusual space \
             characters: {}",
            crate::sanitize::clean_line(name)
        ));
    }
    Ok(())
}

/// What checking tokens needs: the storage, and the count of each address's failures.
#[derive(Clone)]
pub struct Gate {
    pub storage: Arc<dyn Storage>,
    pub failures: FailedAuth,
}

/// Admits a request with a known bearer token and hands its [`TokenInfo`] to the handler.
///
/// An address that sent too many missing, unknown or revoked tokens is answered 429 before
/// its token is looked up, until its allowance refills: guessing goes no faster than that,
/// and a client stuck on a bad token cannot flood the log.
pub async fn require_token(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    let address = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip());
    if let Err(wait) = gate.failures.check(address, Instant::now()) {
        return gate.failures.refusal(wait);
    }
    let token = match bearer(&request) {
        Ok(token) => token,
        Err(failure) => {
            gate.failures.failed(address, Instant::now());
            return failure.into_response();
        }
    };
    let hash = hash_token(token);
    let storage = Arc::clone(&gate.storage);
    let found = tokio::task::spawn_blocking(move || storage.token_lookup(&hash)).await;
    match found {
        Ok(Ok(Some(info))) => {
            request.extensions_mut().insert(info);
            next.run(request).await
        }
        Ok(Ok(None)) => {
            gate.failures.failed(address, Instant::now());
            Failure::unauthorized(
                "this token is not known to the server (or was revoked); check it, or ask an \
                 admin for a new one",
            )
            .into_response()
        }
        Ok(Err(e)) => Failure::from(e).into_response(),
        Err(e) => Failure::internal(&e).into_response(),
    }
}

/// Failed authentications allowed per address per minute by default (`modq serve
/// --auth-failures`), in a burst of as many.
pub const DEFAULT_AUTH_FAILURES_PER_MINUTE: u32 = 30;
/// Addresses remembered at most; past it, those whose allowance is whole again are forgotten.
const MAX_ADDRESSES: usize = 10_000;

/// A small in-memory count of failed authentications per client address (an IPv6 address
/// by its /64, which one client can rotate through freely).
#[derive(Debug, Clone)]
pub struct FailedAuth {
    per_minute: u32,
    buckets: Arc<Mutex<HashMap<IpAddr, (f64, Instant)>>>,
}

impl FailedAuth {
    /// `per_minute` is clamped to at least 1.
    pub fn new(per_minute: u32) -> FailedAuth {
        FailedAuth {
            per_minute: per_minute.max(1),
            buckets: Arc::default(),
        }
    }

    fn capacity(&self) -> f64 {
        f64::from(self.per_minute)
    }

    /// The allowance `address` has left at `now` (refilled since its last failure).
    fn left(&self, bucket: (f64, Instant), now: Instant) -> f64 {
        let (left, at) = bucket;
        let refill = now.saturating_duration_since(at).as_secs_f64() * self.capacity() / 60.0;
        (left + refill).min(self.capacity())
    }

    /// `Err(seconds)` while `address` has used up its failures.
    pub fn check(&self, address: Option<IpAddr>, now: Instant) -> Result<(), u64> {
        let key = bucket_key(address);
        let buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        match buckets.get(&key) {
            Some(bucket) if self.left(*bucket, now) < 1.0 => {
                let missing = 1.0 - self.left(*bucket, now);
                let seconds = (missing * 60.0 / self.capacity()).ceil();
                // At least 1 s: Retry-After counts whole seconds.
                Err((seconds as u64).max(1))
            }
            _ => Ok(()),
        }
    }

    /// Counts one failure from `address` at `now`.
    pub fn failed(&self, address: Option<IpAddr>, now: Instant) {
        let key = bucket_key(address);
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_ADDRESSES && !buckets.contains_key(&key) {
            let full = self.capacity();
            buckets.retain(|_, b| {
                let (left, at) = *b;
                let refill = now.saturating_duration_since(at).as_secs_f64() * full / 60.0;
                left + refill < full
            });
        }
        let bucket = buckets.get(&key).copied();
        let left = bucket.map_or(self.capacity(), |b| self.left(b, now));
        buckets.insert(key, ((left - 1.0).max(0.0), now));
    }

    fn refusal(&self, seconds: u64) -> Response {
        let mut response = Failure::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "too many failed authentications from this address (more than {} a minute); \
                 retry in {seconds} s with a valid token",
                self.per_minute
            ),
        )
        .into_response();
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// An IPv4 address as it is; an IPv6 address by its /64 prefix. Without an address (a
/// server run without connection info) every client shares one allowance.
fn bucket_key(address: Option<IpAddr>) -> IpAddr {
    match address {
        Some(IpAddr::V6(v6)) => {
            let mut segments = v6.segments();
            for s in segments.iter_mut().skip(4) {
                *s = 0;
            }
            IpAddr::V6(segments.into())
        }
        Some(v4) => v4,
        None => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
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
    fn failed_authentications_are_counted_per_address_and_refill() {
        let failures = FailedAuth::new(3);
        let start = Instant::now();
        let one: Option<IpAddr> = "192.0.2.1".parse().ok();
        let other: Option<IpAddr> = "192.0.2.2".parse().ok();
        for _ in 0..3 {
            assert_eq!(failures.check(one, start), Ok(()));
            failures.failed(one, start);
        }
        assert_eq!(failures.check(one, start), Err(20));
        assert_eq!(failures.check(other, start), Ok(()));
        // A third of the window gives one more try back.
        let later = start + std::time::Duration::from_secs(20);
        assert_eq!(failures.check(one, later), Ok(()));
        // One client's IPv6 addresses share a /64.
        let a: Option<IpAddr> = "2001:db8::1".parse().ok();
        let b: Option<IpAddr> = "2001:db8::ffff:2".parse().ok();
        for _ in 0..3 {
            failures.failed(a, start);
        }
        assert!(failures.check(b, start).is_err());
    }

    #[test]
    fn token_names_cannot_hide_or_pass_for_another() {
        assert_eq!(check_token_name("mod-alice"), Ok(()));
        assert_eq!(check_token_name("Zoë Ünal 👩‍💻"), Ok(()));
        for bad in [
            "",
            " alice",
            "ali\u{200b}ce",
            "alice\u{202e}",
            "ali\u{2066}ce",
            "al\u{00a0}ice",
            "alice\u{feff}",
            "a\u{1b}[31mlice",
            "alice\u{e0041}",
        ] {
            assert!(check_token_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_token_name(&"a".repeat(65)).is_err());
    }

    #[test]
    fn hash_is_hex_sha256() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
