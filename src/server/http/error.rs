//! Every failure leaves the server as an `ApiError` JSON body, including the ones axum's
//! extractors would otherwise answer in plain text.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::model::ApiError;

use super::request_schema::RequestSchemas;
use crate::server::storage::{Storage, StorageError};

/// A handler's answer: its value, or the failure to send instead.
pub type Answer<T> = Result<T, Failure>;

/// Runs a storage call on the blocking pool: storage is synchronous and may wait on disk.
pub async fn blocking<T, F>(storage: &Arc<dyn Storage>, call: F) -> Answer<T>
where
    T: Send + 'static,
    F: FnOnce(&dyn Storage) -> Result<T, StorageError> + Send + 'static,
{
    let storage = Arc::clone(storage);
    match tokio::task::spawn_blocking(move || call(storage.as_ref())).await {
        Ok(result) => result.map_err(Failure::from),
        Err(join) => Err(Failure::internal(&join)),
    }
}

/// How long a request body may take to arrive, for the body extractor.
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

/// An error answer: a status and the `ApiError` body that explains it.
#[derive(Debug)]
pub struct Failure {
    pub status: StatusCode,
    pub body: ApiError,
}

impl Failure {
    pub fn new(status: StatusCode, error: &str, message: impl Into<String>) -> Failure {
        Failure {
            status,
            body: ApiError {
                error: error.to_string(),
                message: message.into(),
            },
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Failure {
        Failure::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// Logs the cause and answers without it: internals are not the client's business.
    pub fn internal(cause: &dyn std::fmt::Display) -> Failure {
        tracing::error!(error = %cause, "request failed");
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the server failed to handle this request; it has been logged",
        )
    }

    /// Maps a rejection from one of axum's extractors, keeping its status (400, 413, 415…)
    /// and its explanation, which for JSON names the field and position serde choked on.
    fn from_rejection(status: StatusCode, text: String) -> Failure {
        let (status, error) = match status {
            StatusCode::PAYLOAD_TOO_LARGE => (status, "payload_too_large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => (status, "unsupported_media_type"),
            StatusCode::REQUEST_TIMEOUT => (status, "body_timeout"),
            // Syntax and shape errors alike are the client's bad request.
            s if s.is_client_error() => (StatusCode::BAD_REQUEST, "bad_request"),
            s => (s, "internal"),
        };
        Failure::new(status, error, text)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"modq\""),
            );
        }
        response
    }
}

impl From<StorageError> for Failure {
    fn from(e: StorageError) -> Failure {
        match e {
            StorageError::Invalid(message) => Failure::bad_request(message),
            StorageError::Backend(cause) => Failure::internal(&format!("{cause:#}")),
        }
    }
}

impl From<JsonRejection> for Failure {
    fn from(r: JsonRejection) -> Failure {
        Failure::from_rejection(r.status(), r.body_text())
    }
}

impl From<QueryRejection> for Failure {
    fn from(r: QueryRejection) -> Failure {
        Failure::from_rejection(r.status(), r.body_text())
    }
}

impl From<PathRejection> for Failure {
    fn from(r: PathRejection) -> Failure {
        Failure::from_rejection(r.status(), r.body_text())
    }
}

/// A JSON request body, checked against its schema in the OpenAPI document before it is read
/// into `T` (see `request_schema`), rejecting with an `ApiError` body: 415 for another media
/// type, 413 past the body limit, 408 when it arrives too slowly, 400 for anything the
/// document refuses.
pub struct Json<T>(pub T);

/// `application/json`, or any `application/…+json`, with or without parameters.
fn is_json(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.split_once('/') {
        Some(("application", sub)) => sub == "json" || sub.ends_with("+json"),
        _ => false,
    }
}

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned + utoipa::ToSchema,
    S: Send + Sync,
{
    type Rejection = Failure;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(Failure::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "this endpoint takes a JSON body: send Content-Type: application/json",
            ));
        }
        let schemas = req.extensions().get::<&'static RequestSchemas>().copied();
        let timeout = req
            .extensions()
            .get::<BodyTimeout>()
            .map_or(crate::server::DEFAULT_BODY_TIMEOUT, |t| t.0);
        let bytes = match tokio::time::timeout(timeout, Bytes::from_request(req, state)).await {
            Ok(read) => read.map_err(|r| Failure::from_rejection(r.status(), r.body_text()))?,
            Err(_) => {
                return Err(Failure::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "body_timeout",
                    format!(
                        "the request body did not arrive within {} s",
                        timeout.as_secs()
                    ),
                ));
            }
        };
        let mut value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| Failure::bad_request(format!("the body is not JSON: {e}")))?;
        let name = T::name();
        let schemas = schemas.ok_or_else(|| {
            Failure::internal(&"the router holds no request schemas to check bodies against")
        })?;
        schemas
            .check(&name, &value)
            .map_err(|problem| match problem {
                Ok(message) => Failure::bad_request(message),
                Err(cause) => Failure::internal(&cause),
            })?;
        super::request_schema::integral_floats_as_integers(&mut value);
        let typed = serde_json::from_value(value)
            .map_err(|e| Failure::bad_request(format!("the body does not fit {name}: {e}")))?;
        Ok(Json(typed))
    }
}

/// `axum::extract::Query`, rejecting with an `ApiError` body.
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(value) =
            axum::extract::Query::<T>::from_request_parts(parts, state).await?;
        Ok(Query(value))
    }
}

/// `axum::extract::Path`, rejecting with an `ApiError` body.
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(value) =
            axum::extract::Path::<T>::from_request_parts(parts, state).await?;
        Ok(Path(value))
    }
}
