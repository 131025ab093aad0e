//! Client for modq's own moderation API v1 (docs/api.md).

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;

use super::{Backend, BackendError, Capabilities, QueueQuery, Support};
use crate::backend::body::{Capped, read_capped};
use crate::model::{
    ApiError, ClaimRequest, ClaimedPage, DailyStats, Decision, DecisionBatch, DecisionOutcome,
    DecisionResult, DecisionResults, EscalationTier, HistoryEntry, Item, Lane, LeaseGrant,
    LeaseRelease, LeaseRenewal, LeaseRequest, Me, NewNote, QueueCounts, QueuePage, SelectRequest,
    Selection, StatementOfReasons, Statements,
};
use crate::policy::PolicyCatalog;
use crate::sanitize::clean_short;

/// Answers larger than this are refused rather than buffered (by default): a broken or
/// hostile server must not be able to exhaust a moderator's memory.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// How long one request may take in all, by default.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// How long opening a connection may take, by default.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an unused connection is kept for reuse: under `modq serve --header-timeout`.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(5);
/// The most decisions one `POST /v1/decisions` may carry (docs/api.md). The server's own
/// limit is the same number; a unit test holds them together, so the client depends on the
/// API's documented limit, not on the server's code.
pub const MAX_DECISIONS_PER_BATCH: usize = 5000;
/// Server-sent text in an error is cut to this many characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// How much modq accepts from an API and how long it waits for it (`--max-response-mb`,
/// `--timeout`, `--connect-timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Larger answers are refused, whether announced or streamed.
    pub max_response_bytes: usize,
    /// A request that has not been answered in full by then fails as a timeout.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_response_bytes: MAX_RESPONSE_BYTES,
            request_timeout: REQUEST_TIMEOUT,
            connect_timeout: CONNECT_TIMEOUT,
        }
    }
}

impl Limits {
    /// The cap in words: `16 MiB`, or bytes when it is not a whole number of MiB.
    fn size_label(&self) -> String {
        const MIB: usize = 1024 * 1024;
        if self.max_response_bytes.is_multiple_of(MIB) {
            format!("{} MiB", self.max_response_bytes / MIB)
        } else {
            format!("{} bytes", self.max_response_bytes)
        }
    }
}

pub struct ModqClient {
    http: reqwest::Client,
    base: Url,
    authorization: HeaderValue,
    limits: Limits,
}

impl ModqClient {
    /// `base` is the server's root, e.g. `http://127.0.0.1:8080`; the default limits apply.
    pub fn new(base: &str, token: &str) -> Result<ModqClient, BackendError> {
        ModqClient::with_limits(base, token, Limits::default())
    }

    pub fn with_limits(
        base: &str,
        token: &str,
        limits: Limits,
    ) -> Result<ModqClient, BackendError> {
        let mut base = Url::parse(base).map_err(|e| {
            BackendError::Config(format!(
                "the API address {:?} is not a URL ({e})",
                clean_short(base, MAX_MESSAGE_CHARS)
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(BackendError::Config(format!(
                "the API address {base} must start with http:// or https://"
            )));
        }
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                BackendError::Config(
                    "the API token contains characters a token cannot have (a line break, a space \
                 or a control character?); check MODQ_TOKEN or the token file"
                        .into(),
                )
            })?;
        // Keeps the token out of reqwest's debug output.
        authorization.set_sensitive(true);
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.request_timeout)
            .user_agent(concat!("modq/", env!("CARGO_PKG_VERSION")))
            // modq serve closes a kept-alive connection that sends no request within its
            // header timeout (10 s by default); a pooled connection older than that would
            // meet a closed socket, so it is not reused.
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            // An API that redirects is misconfigured; following it would send the token to
            // wherever the redirect points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BackendError::Config(e.to_string()))?;
        Ok(ModqClient {
            http,
            base,
            authorization,
            limits,
        })
    }

    fn url(&self, path: &str) -> Result<Url, BackendError> {
        self.base
            .join(path)
            .map_err(|e| BackendError::Malformed(format!("bad path {path}: {e}")))
    }

    /// `POST /v1/decisions`, one request.
    async fn post_decisions(
        &self,
        decisions: &[Decision],
    ) -> Result<Vec<DecisionResult>, BackendError> {
        let batch = DecisionBatch {
            decisions: decisions.to_vec(),
        };
        let answer: DecisionResults = self
            .send(self.http.post(self.url("v1/decisions")?).json(&batch))
            .await?;
        if answer.results.len() != decisions.len() {
            return Err(BackendError::Malformed(format!(
                "sent {} decisions, got {} results",
                decisions.len(),
                answer.results.len()
            )));
        }
        Ok(answer.results)
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, BackendError> {
        let response = request
            .header(AUTHORIZATION, self.authorization.clone())
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = self.read_limited(response).await?;
        if status.is_success() {
            // serde quotes pieces of the input in its messages: clean them like any server text.
            // serde_json stops at 128 levels of nesting, so deep JSON is an error, not a crash.
            return serde_json::from_slice(&body).map_err(|e| {
                BackendError::Malformed(format!(
                    "{} (HTTP {status}, {} bytes)",
                    clean_short(&e.to_string(), MAX_MESSAGE_CHARS),
                    body.len()
                ))
            });
        }
        if status.is_redirection() {
            let target = response_location(&headers);
            return Err(BackendError::Rejected {
                status: status.as_u16(),
                message: format!(
                    "the API redirects to {target}; give modq the final address with --api"
                ),
            });
        }
        let message = serde_json::from_slice::<ApiError>(&body)
            .map(|e| clean_short(&e.message, MAX_MESSAGE_CHARS))
            .unwrap_or_else(|_| format!("HTTP {status} without an error message"));
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => BackendError::Unauthorized(message),
            // Rate limited: the request is fine, only early; retried with backoff like a 5xx.
            StatusCode::TOO_MANY_REQUESTS => BackendError::Server {
                status: 429,
                message,
            },
            s if s.is_server_error() => BackendError::Server {
                status: s.as_u16(),
                message,
            },
            s => BackendError::Rejected {
                status: s.as_u16(),
                message,
            },
        })
    }

    fn transport_error(&self, e: reqwest::Error) -> BackendError {
        if e.is_timeout() {
            BackendError::Timeout(self.limits.request_timeout.as_secs())
        } else {
            // The innermost cause says what actually happened (refused, reset, DNS…).
            let mut cause: &dyn std::error::Error = &e;
            while let Some(next) = cause.source() {
                cause = next;
            }
            let cause = clean_short(&cause.to_string(), MAX_MESSAGE_CHARS);
            if e.is_connect() {
                BackendError::NoConnection(cause)
            } else {
                BackendError::Unreachable(cause)
            }
        }
    }

    /// The body, counted as it arrives: a body past the cap is dropped, never buffered.
    async fn read_limited(&self, response: reqwest::Response) -> Result<Vec<u8>, BackendError> {
        read_capped(response, self.limits.max_response_bytes)
            .await
            .map_err(|e| match e {
                Capped::TooLarge => self.too_large(),
                Capped::Transport(e) => self.transport_error(e),
            })
    }

    fn too_large(&self) -> BackendError {
        BackendError::Malformed(format!(
            "answer larger than the {} limit (--max-response-mb)",
            self.limits.size_label()
        ))
    }

    /// The byte budget modq asks a page to keep within: half its answer cap, leaving room for
    /// what the server adds after measuring (allowed actions, the page's own fields).
    fn page_bytes(&self) -> usize {
        (self.limits.max_response_bytes / 2).max(1024)
    }

    async fn queue_page_within(
        &self,
        query: &QueueQuery,
        max_bytes: usize,
    ) -> Result<QueuePage, BackendError> {
        let mut url = self.url("v1/queue")?;
        {
            url.query_pairs_mut()
                .append_pair("max_bytes", &max_bytes.to_string());
            let mut pairs = url.query_pairs_mut();
            if let Some(lane) = query.lane {
                pairs.append_pair("lane", lane.as_str());
            }
            if let Some(state) = query.state {
                pairs.append_pair("state", state.as_str());
            }
            if let Some(cursor) = &query.cursor {
                pairs.append_pair("cursor", cursor);
            }
            if let Some(limit) = query.limit {
                pairs.append_pair("limit", &limit.to_string());
            }
            if let Some(q) = &query.q {
                pairs.append_pair("q", q);
            }
            if let Some(sort) = query.sort {
                pairs.append_pair("sort", sort.as_str());
            }
        }
        self.send(self.http.get(url)).await
    }
}

/// The pages of `GET /v1/statements`, read one at a time as the caller takes them: an
/// export of a million take downs is never held whole, and a server whose cursor never ends
/// costs the caller one page at a time, never all of its memory.
pub struct StatementPages<'a> {
    client: &'a ModqClient,
    since: Option<&'a str>,
    after: Option<i64>,
    done: bool,
}

impl StatementPages<'_> {
    /// The next page's statements; `None` after the last page.
    pub async fn next(&mut self) -> Result<Option<Vec<StatementOfReasons>>, BackendError> {
        if self.done {
            return Ok(None);
        }
        let mut url = self.client.url("v1/statements")?;
        if let Some(since) = self.since {
            url.query_pairs_mut().append_pair("since", since);
        }
        if let Some(after) = self.after {
            url.query_pairs_mut()
                .append_pair("after", &after.to_string());
        }
        let page: Statements = self.client.send(self.client.http.get(url)).await?;
        match page.next_after {
            // A server answering a cursor that does not move on would page forever.
            Some(next) if self.after.is_none_or(|before| next > before) => {
                self.after = Some(next);
            }
            Some(next) => {
                return Err(BackendError::Malformed(format!(
                    "the statements' next page starts at {next}, not after {}",
                    self.after.unwrap_or_default()
                )));
            }
            None => self.done = true,
        }
        Ok(Some(page.statements))
    }
}

fn response_location(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| clean_short(v, MAX_MESSAGE_CHARS))
        .unwrap_or_else(|| "an unnamed address".into())
}

/// The trust & safety reads only modq's own API has (notes and daily stats are in `Backend`).
impl ModqClient {
    /// `GET /v1/statements`: statements of reasons for take downs on or after `since`, a
    /// page at a time (see [`StatementPages`]).
    pub fn statements<'a>(&'a self, since: Option<&'a str>) -> StatementPages<'a> {
        StatementPages {
            client: self,
            since,
            after: None,
            done: false,
        }
    }

    pub async fn policies(&self) -> Result<PolicyCatalog, BackendError> {
        self.send(self.http.get(self.url("v1/policies")?)).await
    }

    pub async fn queue_counts(&self) -> Result<QueueCounts, BackendError> {
        self.send(self.http.get(self.url("v1/queue/counts")?)).await
    }

    /// `POST /v1/queue/claim`: the next page of the queue, leased to this moderator. modq's
    /// own call (the session reads pages and leases a few items at a time instead).
    pub async fn claim_page(&self, request: &ClaimRequest) -> Result<ClaimedPage, BackendError> {
        let mut request = request.clone();
        let ours = self.page_bytes() as u64;
        request.max_bytes = Some(request.max_bytes.map_or(ours, |n| n.min(ours)));
        loop {
            let sent = self
                .send(self.http.post(self.url("v1/queue/claim")?).json(&request))
                .await;
            match sent {
                Err(e) if e == self.too_large() => {
                    // A server that ignores max_bytes leased a page too large to read. The
                    // same claim for fewer items gives back the first of them (a claim
                    // returns what the caller already holds), and the next claims the rest,
                    // so none stays leased out of reach while modq runs.
                    let limit = request.limit.unwrap_or(50);
                    if limit <= 1 {
                        return Err(e);
                    }
                    request.limit = Some(limit / 2);
                    request.max_bytes = request.max_bytes.map(|n| (n / 2).max(1024));
                }
                answer => return answer,
            }
        }
    }
}

/// modq's own API has every feature; what a role may not do the server refuses per item.
pub fn capabilities() -> Capabilities {
    Capabilities {
        platform: "modq".to_string(),
        lanes: Lane::ALL.to_vec(),
        tiers: EscalationTier::ALL.to_vec(),
        take_down: Support::Yes,
        keep: Support::Yes,
        escalate: Support::Yes,
        country_scope: Support::Yes,
        undo: Support::Yes,
        claims: Support::Yes,
        notes: Support::Yes,
        filter_terms: crate::query::KEYS.iter().map(|(key, _)| *key).collect(),
        bulk_select: Support::Yes,
        policies: Support::Yes,
        counts: Support::Yes,
        stats: Support::Yes,
        max_batch: MAX_DECISIONS_PER_BATCH,
        appeals: Support::Yes,
        account_measures: Support::Yes,
        support_resources: Support::Yes,
    }
}

#[async_trait]
impl Backend for ModqClient {
    fn capabilities(&self) -> Capabilities {
        capabilities()
    }

    async fn me(&self) -> Result<Me, BackendError> {
        self.send(self.http.get(self.url("v1/me")?)).await
    }

    async fn queue_page(&self, query: &QueueQuery) -> Result<QueuePage, BackendError> {
        let mut query = query.clone();
        let mut max_bytes = self.page_bytes();
        loop {
            match self.queue_page_within(&query, max_bytes).await {
                Err(e) if e == self.too_large() => {
                    // A server that ignores max_bytes: ask again for half as many items.
                    let limit = query.limit.unwrap_or(50);
                    if limit <= 1 {
                        return Err(e);
                    }
                    query.limit = Some(limit / 2);
                    max_bytes = (max_bytes / 2).max(1024);
                }
                answer => return answer,
            }
        }
    }

    async fn renew_leases(
        &self,
        item_ids: &[String],
        lease_seconds: u32,
    ) -> Result<LeaseRenewal, BackendError> {
        let body = LeaseRequest {
            item_ids: item_ids.to_vec(),
            lease_seconds: Some(lease_seconds),
        };
        self.send(self.http.post(self.url("v1/leases/renew")?).json(&body))
            .await
    }

    async fn claim_items(
        &self,
        item_ids: &[String],
        lease_seconds: Option<u32>,
    ) -> Result<LeaseGrant, BackendError> {
        let body = LeaseRequest {
            item_ids: item_ids.to_vec(),
            lease_seconds,
        };
        self.send(self.http.post(self.url("v1/leases/claim")?).json(&body))
            .await
    }

    async fn release_leases(&self, item_ids: &[String]) -> Result<LeaseRelease, BackendError> {
        let body = LeaseRequest {
            item_ids: item_ids.to_vec(),
            lease_seconds: None,
        };
        self.send(self.http.post(self.url("v1/leases/release")?).json(&body))
            .await
    }

    async fn policies(&self) -> Result<PolicyCatalog, BackendError> {
        ModqClient::policies(self).await
    }

    async fn queue_counts(&self) -> Result<QueueCounts, BackendError> {
        ModqClient::queue_counts(self).await
    }

    async fn select(&self, request: &SelectRequest) -> Result<Selection, BackendError> {
        self.send(self.http.post(self.url("v1/queue/select")?).json(request))
            .await
    }

    async fn media(
        &self,
        item_id: &str,
        media_id: &str,
        max_bytes: usize,
    ) -> Result<Vec<u8>, BackendError> {
        let mut url = self.url("v1/items/")?;
        url.path_segments_mut()
            .map_err(|_| BackendError::Malformed("base URL cannot take a path".into()))?
            .pop_if_empty()
            .push(item_id)
            .push("media")
            .push(media_id);
        let response = self
            .http
            .get(url)
            .header(AUTHORIZATION, self.authorization.clone())
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status();
        // Error bodies are small JSON: read within the same cap.
        let body = read_capped(response, max_bytes)
            .await
            .map_err(|e| match e {
                Capped::TooLarge => {
                    BackendError::Malformed(format!("image larger than {max_bytes} bytes"))
                }
                Capped::Transport(e) => self.transport_error(e),
            })?;
        if status.is_success() {
            return Ok(body);
        }
        let message = serde_json::from_slice::<ApiError>(&body)
            .map(|e| clean_short(&e.message, MAX_MESSAGE_CHARS))
            .unwrap_or_else(|_| format!("HTTP {status} without an error message"));
        Err(if status.is_server_error() {
            BackendError::Server {
                status: status.as_u16(),
                message,
            }
        } else {
            BackendError::Rejected {
                status: status.as_u16(),
                message,
            }
        })
    }

    async fn item(&self, id: &str) -> Result<Item, BackendError> {
        let mut url = self.url("v1/items/")?;
        url.path_segments_mut()
            .map_err(|_| BackendError::Malformed("base URL cannot take a path".into()))?
            .pop_if_empty()
            .push(id);
        self.send(self.http.get(url)).await
    }

    /// Sends the batch in one request, or, when the server refuses it as too large, in
    /// halves, quarters and so on, in order: a server that takes fewer decisions per request
    /// than modq sends (an older modq took 1,000) or smaller bodies never turns a bulk action
    /// into thousands of refusals.
    async fn send_decisions(
        &self,
        decisions: &[Decision],
    ) -> Result<Vec<DecisionResult>, BackendError> {
        let mut results = Vec::with_capacity(decisions.len());
        let mut rest = decisions;
        let mut size = decisions.len();
        while !rest.is_empty() {
            let (chunk, after) = rest.split_at(size.min(rest.len()));
            match self.post_decisions(chunk).await {
                Ok(answered) => {
                    results.extend(answered);
                    rest = after;
                }
                Err(e) if chunk.len() > 1 && too_large(&e) => size = chunk.len().div_ceil(2),
                // Once the batch goes in parts, a refusal for another reason is this part's
                // alone: its decisions are refused with the server's reason, as a whole
                // batch would be, and the parts after it still go.
                Err(BackendError::Rejected { status, message }) if size < decisions.len() => {
                    results.extend(chunk.iter().map(|d| DecisionResult {
                        idempotency_key: d.idempotency_key.clone(),
                        outcome: DecisionOutcome::Invalid,
                        message: Some(format!(
                            "the API rejected the request holding this decision (HTTP {status}): {message}"
                        )),
                    }));
                    rest = after;
                }
                // The parts before were applied: answer for them, and leave the rest to be
                // sent again (after a network error, say).
                Err(e) if !results.is_empty() => {
                    tracing::warn!(error = %e, answered = results.len(), "a part of a split batch was not taken");
                    return Ok(results);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(results)
    }

    /// `GET /v1/stats`: one UTC day's transparency counts (today when `date` is absent).
    async fn daily_stats(&self, date: Option<&str>) -> Result<DailyStats, BackendError> {
        let mut url = self.url("v1/stats")?;
        if let Some(date) = date {
            url.query_pairs_mut().append_pair("date", date);
        }
        self.send(self.http.get(url)).await
    }

    /// `POST /v1/items/{id}/notes`.
    async fn add_note(&self, item_id: &str, note: &str) -> Result<HistoryEntry, BackendError> {
        let mut url = self.url("v1/items/")?;
        url.path_segments_mut()
            .map_err(|_| BackendError::Malformed("base URL cannot take a path".into()))?
            .pop_if_empty()
            .push(item_id)
            .push("notes");
        let body = NewNote {
            note: note.to_string(),
        };
        self.send(self.http.post(url).json(&body)).await
    }
}

/// A refusal of a decision batch for its size: 413 for the body, or modq's own 400 for the
/// count ("a batch holds at most N decisions"). Any other 400 stays a refusal: splitting a
/// batch that is wrong for another reason would only send it again and again.
fn too_large(e: &BackendError) -> bool {
    match e {
        BackendError::Rejected { status: 413, .. } => true,
        BackendError::Rejected {
            status: 400,
            message,
        } => message.contains("a batch holds at most"),
        _ => false,
    }
}

// Tests: an unwrap or expect that fails here fails the test; none of this runs in modq.
#[cfg(test)]
mod batch_limit_tests {
    #[test]
    fn the_client_batches_no_more_than_the_server_takes() {
        assert_eq!(
            super::MAX_DECISIONS_PER_BATCH,
            crate::server::MAX_DECISIONS_PER_BATCH
        );
    }
}
