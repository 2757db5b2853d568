//! The API's error answer: a status code and `{"error": "<what went wrong and what to do>"}`. Every rejection of
//! axum's extractors (bad path, bad query, oversized body) is turned into one, so clients never see plain text.

use axum::Json;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::rpc::json::ErrorJson;
use crate::rpc::node_api::{ApiError, SubmitError};

/// An error answer of the HTTP API: a status code and a message sent as [`ErrorJson`](crate::rpc::json::ErrorJson).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, for the client.
    pub message: String,
}

impl HttpError {
    /// An error with any status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// A 400: the request is malformed or cannot be served.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    /// A 404: the height, transaction, manuscript or record does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    /// A 500: the node failed.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::warn!(status = %self.status, error = %self.message, "rpc request failed");
        } else {
            tracing::debug!(status = %self.status, error = %self.message, "rpc request refused");
        }
        (
            self.status,
            Json(ErrorJson {
                error: self.message,
            }),
        )
            .into_response()
    }
}

impl From<ApiError> for HttpError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::NotFound(m) => Self::not_found(m),
            ApiError::BadRequest(m) => Self::bad_request(m),
            ApiError::Internal(m) => Self::internal(format!("internal error: {m}")),
        }
    }
}

impl From<SubmitError> for HttpError {
    fn from(e: SubmitError) -> Self {
        Self::bad_request(e.message)
    }
}

impl From<PathRejection> for HttpError {
    fn from(r: PathRejection) -> Self {
        Self::new(r.status(), format!("bad path: {}", r.body_text()))
    }
}

impl From<QueryRejection> for HttpError {
    fn from(r: QueryRejection) -> Self {
        Self::new(r.status(), format!("bad query string: {}", r.body_text()))
    }
}

impl From<BytesRejection> for HttpError {
    fn from(r: BytesRejection) -> Self {
        let status = r.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            Self::new(status, "request body too large")
        } else {
            Self::new(
                status,
                format!("cannot read the request body: {}", r.body_text()),
            )
        }
    }
}
