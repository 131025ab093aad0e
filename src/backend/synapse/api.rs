//! HTTP to a Matrix homeserver: the admin API and the client API, with Matrix's error shape,
//! percent-encoded ids in paths, and the same answer-size and time limits as modq's own API.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::wire::MatrixError;
use crate::backend::BackendError;
use crate::backend::body::{Capped, read_capped};
use crate::backend::modq::Limits;
use crate::sanitize::clean_short;

/// Server text in an error is cut to this many characters.
const MAX_MESSAGE_CHARS: usize = 300;

/// Everything but the unreserved characters is encoded: room ids carry `!` and `:`, event ids
/// `$` (and `/` and `+` in old room versions), user ids `@`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// One path segment, percent-encoded.
pub fn seg(part: &str) -> String {
    utf8_percent_encode(part, SEGMENT).to_string()
}

/// A refusal's Matrix error code, when the homeserver gave one (`M_NOT_FOUND`...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub error: BackendError,
    pub errcode: Option<String>,
    pub status: Option<u16>,
}

impl Failure {
    pub fn is_not_found(&self) -> bool {
        self.status == Some(404)
    }
}

impl From<Failure> for BackendError {
    fn from(f: Failure) -> BackendError {
        f.error
    }
}

pub struct MatrixApi {
    http: reqwest::Client,
    base: Url,
    authorization: HeaderValue,
    limits: Limits,
}

impl MatrixApi {
    pub fn new(base: &str, token: &str, limits: Limits) -> Result<MatrixApi, BackendError> {
        let base = Url::parse(base).map_err(|e| {
            BackendError::Config(format!(
                "the homeserver address {:?} is not a URL ({e})",
                clean_short(base, MAX_MESSAGE_CHARS)
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(BackendError::Config(format!(
                "the homeserver address {base} must start with http:// or https://"
            )));
        }
        let mut authorization =
            HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                BackendError::Config(
                    "the Matrix access token contains characters a token cannot have".into(),
                )
            })?;
        authorization.set_sensitive(true);
        let http = reqwest::Client::builder()
            .connect_timeout(limits.connect_timeout)
            .timeout(limits.request_timeout)
            .user_agent(concat!("modq/", env!("CARGO_PKG_VERSION")))
            // Following a redirect would hand the admin token to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BackendError::Config(e.to_string()))?;
        Ok(MatrixApi {
            http,
            base,
            authorization,
            limits,
        })
    }

    /// `path` is already encoded (built with [`seg`]); `query` pairs are encoded here.
    fn url(&self, path: &str, query: &[(&str, String)]) -> Url {
        let mut url = self.base.clone();
        let root = self.base.path().trim_end_matches('/');
        url.set_path(&format!("{root}{path}"));
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        url
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, Failure> {
        self.call(Method::GET, path, query, None::<&()>).await
    }

    pub async fn send<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, Failure> {
        self.call(method, path, &[], Some(body)).await
    }

    async fn call<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&B>,
    ) -> Result<T, Failure> {
        let mut request = self
            .http
            .request(method, self.url(path, query))
            .header(AUTHORIZATION, self.authorization.clone());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| self.transport(e))?;
        let status = response.status();
        let bytes = self.read_limited(response).await?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| Failure {
                error: BackendError::Malformed(format!(
                    "{} (HTTP {status}, {} bytes, {})",
                    clean_short(&e.to_string(), MAX_MESSAGE_CHARS),
                    bytes.len(),
                    clean_short(path, 120)
                )),
                errcode: None,
                status: Some(status.as_u16()),
            });
        }
        let matrix = serde_json::from_slice::<MatrixError>(&bytes).ok();
        let errcode = matrix
            .as_ref()
            .map(|m| clean_short(&m.errcode, 64))
            .filter(|c| !c.is_empty());
        let message = match &matrix {
            Some(m) if !m.error.is_empty() || !m.errcode.is_empty() => clean_short(
                format!("{} {}", m.errcode, m.error).trim(),
                MAX_MESSAGE_CHARS,
            ),
            _ => format!("HTTP {status} without a Matrix error"),
        };
        let error = match status {
            StatusCode::UNAUTHORIZED => BackendError::Unauthorized(message),
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
        };
        Err(Failure {
            error,
            errcode,
            status: Some(status.as_u16()),
        })
    }

    fn transport(&self, e: reqwest::Error) -> Failure {
        let error = if e.is_timeout() {
            BackendError::Timeout(self.limits.request_timeout.as_secs())
        } else {
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
        };
        Failure {
            error,
            errcode: None,
            status: None,
        }
    }

    /// The body, counted as it arrives: past the cap it is dropped, never buffered.
    async fn read_limited(&self, response: reqwest::Response) -> Result<Vec<u8>, Failure> {
        let max = self.limits.max_response_bytes;
        read_capped(response, max).await.map_err(|e| match e {
            Capped::TooLarge => Failure {
                error: BackendError::Malformed(format!(
                    "answer larger than the {max}-byte limit (--max-response-mb)"
                )),
                errcode: None,
                status: None,
            },
            Capped::Transport(e) => self.transport(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_encoded_whole_in_a_path() {
        assert_eq!(seg("!abc:modq.test"), "%21abc%3Amodq.test");
        assert_eq!(seg("$a/b+c"), "%24a%2Fb%2Bc");
        assert_eq!(seg("@mallory:modq.test"), "%40mallory%3Amodq.test");
    }
}
