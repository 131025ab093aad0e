//! XRPC over HTTP: queries (GET) and procedures (POST) to `/xrpc/<nsid>` on the moderator's
//! PDS, which proxies `tools.ozone.*` to Ozone by the `atproto-proxy` header. Answers are read
//! within modq's size cap; failures are sorted into [`BackendError`] like modq's own API's.

use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::wire::XrpcError;
use crate::backend::BackendError;
use crate::backend::body::{Capped, read_capped};
use crate::backend::modq::Limits;
use crate::sanitize::clean_short;

/// Server-sent text in an error is cut to this many characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// Where and how to send: the PDS's root and the proxy header naming Ozone's service.
pub struct Xrpc {
    http: reqwest::Client,
    base: Url,
    proxy: HeaderValue,
    limits: Limits,
}

/// A refusal as XRPC words it: the error name (`ExpiredToken`, `DuplicateExternalId`,
/// `AuthRequired`…) beside the HTTP status, so callers can tell them apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub error: String,
    pub message: String,
}

/// What a call can end in: an answer, a refusal the caller may understand, or trouble.
#[derive(Debug)]
pub enum Failure {
    Refused(Refusal),
    Other(BackendError),
}

impl From<BackendError> for Failure {
    fn from(e: BackendError) -> Failure {
        Failure::Other(e)
    }
}

impl Failure {
    /// The error as the rest of modq sorts errors.
    pub fn into_backend(self) -> BackendError {
        match self {
            Failure::Other(e) => e,
            Failure::Refused(r) => refusal_error(&r),
        }
    }

    /// The session's access token ran out (or was revoked): a fresh session may help.
    pub fn is_expired_token(&self) -> bool {
        matches!(self, Failure::Refused(r) if r.error == "ExpiredToken" || r.error == "InvalidToken")
    }
}

/// A refusal as a [`BackendError`]: 401/403 and Ozone's `AuthRequired` are the account's
/// rights; 5xx and 429 the server's trouble; the rest this request's.
pub fn refusal_error(r: &Refusal) -> BackendError {
    let message = if r.error.is_empty() {
        r.message.clone()
    } else if r.message.is_empty() {
        r.error.clone()
    } else {
        format!("{}: {}", r.error, r.message)
    };
    match r.status {
        401 | 403 => BackendError::Unauthorized(message),
        429 => BackendError::Server {
            status: 429,
            message,
        },
        s if s >= 500 => BackendError::Server { status: s, message },
        s => BackendError::Rejected { status: s, message },
    }
}

impl Xrpc {
    /// `pds` is the moderator's PDS (`https://pds.example`), `ozone_did` Ozone's service DID.
    pub fn new(pds: &str, ozone_did: &str, limits: Limits) -> Result<Xrpc, BackendError> {
        let mut base = Url::parse(pds).map_err(|e| {
            BackendError::Config(format!(
                "the PDS address {:?} is not a URL ({e})",
                clean_short(pds, MAX_MESSAGE_CHARS)
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(BackendError::Config(format!(
                "the PDS address {base} must start with http:// or https://"
            )));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        if !ozone_did.starts_with("did:") {
            return Err(BackendError::Config(format!(
                "the Ozone service {:?} is not a DID (did:plc:… or did:web:…)",
                clean_short(ozone_did, MAX_MESSAGE_CHARS)
            )));
        }
        let proxy =
            HeaderValue::from_str(&format!("{ozone_did}#atproto_labeler")).map_err(|_| {
                BackendError::Config(
                    "the Ozone service DID holds characters a DID cannot have".into(),
                )
            })?;
        let http = reqwest::Client::builder()
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.request_timeout)
            .user_agent(concat!("modq/", env!("CARGO_PKG_VERSION")))
            // A redirect would carry the moderator's session token wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BackendError::Config(e.to_string()))?;
        Ok(Xrpc {
            http,
            base,
            proxy,
            limits,
        })
    }

    fn url(&self, nsid: &str) -> Result<Url, BackendError> {
        self.base
            .join(&format!("xrpc/{nsid}"))
            .map_err(|e| BackendError::Malformed(format!("bad method {nsid}: {e}")))
    }

    /// A query (`GET`), with `params` repeated as XRPC takes arrays.
    pub async fn query<T: DeserializeOwned>(
        &self,
        nsid: &str,
        params: &[(&str, String)],
        token: Option<&str>,
        proxied: bool,
    ) -> Result<T, Failure> {
        let mut url = self.url(nsid)?;
        if !params.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in params {
                pairs.append_pair(key, value);
            }
        }
        self.send(self.http.get(url), token, proxied).await
    }

    /// A procedure (`POST` with a JSON body).
    pub async fn procedure<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        nsid: &str,
        body: &B,
        token: Option<&str>,
        proxied: bool,
    ) -> Result<T, Failure> {
        let url = self.url(nsid)?;
        self.send(self.http.post(url).json(body), token, proxied)
            .await
    }

    async fn send<T: DeserializeOwned>(
        &self,
        mut request: reqwest::RequestBuilder,
        token: Option<&str>,
        proxied: bool,
    ) -> Result<T, Failure> {
        if let Some(token) = token {
            let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                BackendError::Malformed("the PDS gave a session token no header can carry".into())
            })?;
            value.set_sensitive(true);
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        if proxied {
            request = request.header(HeaderName::from_static("atproto-proxy"), self.proxy.clone());
        }
        let response = request.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let body = self.read_limited(response).await?;
        if status.is_success() {
            return serde_json::from_slice(&body).map_err(|e| {
                Failure::Other(BackendError::Malformed(format!(
                    "{} (HTTP {status}, {} bytes)",
                    clean_short(&e.to_string(), MAX_MESSAGE_CHARS),
                    body.len()
                )))
            });
        }
        if status.is_redirection() {
            return Err(Failure::Other(BackendError::Rejected {
                status: status.as_u16(),
                message: "the PDS redirects; give modq its final address".into(),
            }));
        }
        let (error, message) = match serde_json::from_slice::<XrpcError>(&body) {
            Ok(e) => (
                clean_short(e.error.as_deref().unwrap_or_default(), MAX_MESSAGE_CHARS),
                clean_short(e.message.as_deref().unwrap_or_default(), MAX_MESSAGE_CHARS),
            ),
            Err(_) => (
                String::new(),
                format!("HTTP {status} without an error message"),
            ),
        };
        let status = if status == StatusCode::TOO_MANY_REQUESTS {
            429
        } else {
            status.as_u16()
        };
        Err(Failure::Refused(Refusal {
            status,
            error,
            message,
        }))
    }

    fn transport_error(&self, e: reqwest::Error) -> BackendError {
        if e.is_timeout() {
            return BackendError::Timeout(self.limits.request_timeout.as_secs());
        }
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

    /// The body, counted as it arrives: past the cap it is dropped, never buffered.
    async fn read_limited(&self, response: reqwest::Response) -> Result<Vec<u8>, BackendError> {
        let max = self.limits.max_response_bytes;
        read_capped(response, max).await.map_err(|e| match e {
            Capped::TooLarge => BackendError::Malformed(format!(
                "answer larger than the {max}-byte limit (--max-response-mb)"
            )),
            Capped::Transport(e) => self.transport_error(e),
        })
    }
}
