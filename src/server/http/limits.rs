//! Requests per token: a token bucket each, so one runaway client (or a stolen token) cannot
//! starve everyone else. Over the rate, a request gets 429 with `Retry-After`.
//!
//! Also the other bounds on what one request may cost: the size of its head (414 and 431,
//! as JSON), how long its body may take to arrive, and how many bytes a page of the queue
//! may hold.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::Failure;
use crate::server::storage::TokenInfo;

/// Requests per second each token may make by default (`modq serve --rate`): far above what
/// a moderator's client needs, even catching up on a long backlog, yet a bound.
pub const DEFAULT_RATE_PER_SECOND: u32 = 500;

/// Longest request target (path and query) accepted; longer ones get 414.
pub const MAX_URI_BYTES: usize = 32 * 1024;
/// Largest header section accepted (names and values); larger ones get 431.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Default byte budget of one queue or claim page (`modq serve --page-bytes`): a quarter
/// of the 16 MiB a modq client accepts, so a page always fits with room to spare.
pub const DEFAULT_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// A request's `limit` on how many rows it reads: `default` when absent, `400` outside
/// `1..=max`.
pub fn rows_limit(asked: Option<u64>, default: usize, max: usize) -> Result<usize, Failure> {
    match asked.map(usize::try_from) {
        None => Ok(default),
        Some(Ok(n)) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(Failure::bad_request(format!("limit: outside 1 to {max}"))),
    }
}

/// The page budget the server runs with, for the handlers.
#[derive(Debug, Clone, Copy)]
pub struct PageBytes(pub usize);

/// Refuses a request whose target or header section is larger than any client of this API
/// needs, before it is routed. hyper refuses far larger heads on its own, without a body.
pub async fn request_head(request: Request, next: Next) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |pq| pq.as_str().len());
    if target > MAX_URI_BYTES {
        return Failure::new(
            StatusCode::URI_TOO_LONG,
            "uri_too_long",
            format!("a request target is at most {MAX_URI_BYTES} bytes; this one has {target}"),
        )
        .into_response();
    }
    let head: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if head > MAX_HEADER_BYTES {
        return Failure::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!(
                "the headers of a request are at most {MAX_HEADER_BYTES} bytes; these have {head}"
            ),
        )
        .into_response();
    }
    next.run(request).await
}

/// A bucket holds this many seconds' worth of requests, so short bursts pass.
const BURST_SECONDS: f64 = 2.0;

/// One bucket per token name.
#[derive(Debug, Clone)]
pub struct RateLimiter {
    rate: f64,
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// `per_second` is clamped to at least 1.
    pub fn new(per_second: u32) -> RateLimiter {
        RateLimiter {
            rate: f64::from(per_second.max(1)),
            buckets: Arc::default(),
        }
    }

    fn capacity(&self) -> f64 {
        (self.rate * BURST_SECONDS).max(1.0)
    }

    /// Takes one request from `who`'s bucket; `Err(seconds)` to wait when it is empty.
    pub fn take(&self, who: &str, now: Instant) -> Result<(), u64> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let capacity = self.capacity();
        let bucket = buckets.entry(who.to_string()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - bucket.tokens) / self.rate).ceil();
        // At least 1 s: Retry-After counts whole seconds.
        Err((wait as u64).max(1))
    }
}

/// Admits a request while its token's bucket has room. Runs after `require_token`, which has
/// put the token's [`TokenInfo`] on the request.
pub async fn per_token(
    State(limiter): State<RateLimiter>,
    request: Request,
    next: Next,
) -> Response {
    let Some(who) = request
        .extensions()
        .get::<TokenInfo>()
        .map(|t| t.name.clone())
    else {
        return next.run(request).await;
    };
    match limiter.take(&who, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(seconds) => {
            let mut response = Failure::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "this token made more than {} requests per second; retry in {seconds} s",
                    limiter.rate
                ),
            )
            .into_response();
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_the_rate() {
        let limiter = RateLimiter::new(2);
        let start = Instant::now();
        for _ in 0..4 {
            assert_eq!(limiter.take("alice", start), Ok(()));
        }
        assert_eq!(limiter.take("alice", start), Err(1));
        // Another token has its own bucket.
        assert_eq!(limiter.take("bob", start), Ok(()));
        // Half a second at 2 per second buys one more request.
        assert_eq!(
            limiter.take("alice", start + Duration::from_millis(500)),
            Ok(())
        );
        assert_eq!(
            limiter.take("alice", start + Duration::from_millis(500)),
            Err(1)
        );
    }
}
