//! Client for modq's own moderation API v1 (docs/api.md).

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;

use super::{Backend, BackendError, QueueQuery};
use crate::model::{
    ApiError, ClaimRequest, ClaimedPage, Decision, DecisionBatch, DecisionResult, DecisionResults,
    Item, LeaseRelease, LeaseRenewal, LeaseRequest, Me, QueuePage, SelectRequest, Selection,
};
use crate::sanitize::clean_short;

/// Answers larger than this are refused rather than buffered: a broken or hostile server
/// must not be able to exhaust a moderator's memory.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Server-sent text in an error is cut to this many characters.
const MAX_MESSAGE_CHARS: usize = 300;

pub struct ModqClient {
    http: reqwest::Client,
    base: Url,
    authorization: HeaderValue,
}

impl ModqClient {
    /// `base` is the server's root, e.g. `http://127.0.0.1:8080`.
    pub fn new(base: &str, token: &str) -> Result<ModqClient, BackendError> {
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
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("modq/", env!("CARGO_PKG_VERSION")))
            // An API that redirects is misconfigured; following it would send the token to
            // wherever the redirect points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BackendError::Config(e.to_string()))?;
        Ok(ModqClient {
            http,
            base,
            authorization,
        })
    }

    fn url(&self, path: &str) -> Result<Url, BackendError> {
        self.base
            .join(path)
            .map_err(|e| BackendError::Malformed(format!("bad path {path}: {e}")))
    }

    async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, BackendError> {
        let response = request
            .header(AUTHORIZATION, self.authorization.clone())
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_limited(response).await?;
        if status.is_success() {
            // serde quotes pieces of the input in its messages: clean them like any server text.
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
}

fn transport_error(e: reqwest::Error) -> BackendError {
    if e.is_timeout() {
        BackendError::Timeout(REQUEST_TIMEOUT.as_secs())
    } else {
        // The innermost cause says what actually happened (refused, reset, DNS…).
        let mut cause: &dyn std::error::Error = &e;
        while let Some(next) = cause.source() {
            cause = next;
        }
        BackendError::Unreachable(clean_short(&cause.to_string(), MAX_MESSAGE_CHARS))
    }
}

fn response_location(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| clean_short(v, MAX_MESSAGE_CHARS))
        .unwrap_or_else(|| "an unnamed address".into())
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, BackendError> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn too_large() -> BackendError {
    BackendError::Malformed(format!(
        "answer larger than the {} MiB limit",
        MAX_RESPONSE_BYTES / (1024 * 1024)
    ))
}

#[async_trait]
impl Backend for ModqClient {
    async fn me(&self) -> Result<Me, BackendError> {
        self.send(self.http.get(self.url("v1/me")?)).await
    }

    async fn queue_page(&self, query: &QueueQuery) -> Result<QueuePage, BackendError> {
        let mut url = self.url("v1/queue")?;
        {
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

    async fn claim_page(&self, request: &ClaimRequest) -> Result<ClaimedPage, BackendError> {
        self.send(self.http.post(self.url("v1/queue/claim")?).json(request))
            .await
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

    async fn release_leases(&self, item_ids: &[String]) -> Result<LeaseRelease, BackendError> {
        let body = LeaseRequest {
            item_ids: item_ids.to_vec(),
            lease_seconds: None,
        };
        self.send(self.http.post(self.url("v1/leases/release")?).json(&body))
            .await
    }

    async fn select(&self, request: &SelectRequest) -> Result<Selection, BackendError> {
        self.send(self.http.post(self.url("v1/queue/select")?).json(request))
            .await
    }

    async fn item(&self, id: &str) -> Result<Item, BackendError> {
        let mut url = self.url("v1/items/")?;
        url.path_segments_mut()
            .map_err(|_| BackendError::Malformed("base URL cannot take a path".into()))?
            .pop_if_empty()
            .push(id);
        self.send(self.http.get(url)).await
    }

    async fn send_decisions(
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
}
