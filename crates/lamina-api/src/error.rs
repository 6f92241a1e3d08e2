//! The one error type at the Lambda API edge. Its variants *are* AWS error types; the match in
//! `into_response` is exhaustive so every new variant needs a decision about what the user sees.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use lamina_store::StoreError;
use lamina_types::UserError;
use serde_json::json;

use crate::sigv4::AuthError;

/// An error returned to the API client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    User(#[from] UserError),
    #[error("authentication failed: {0}")]
    Auth(AuthError),
    /// `InvalidRequestContentException`: a body that is not the JSON the operation takes.
    #[error("{0}")]
    InvalidRequestContent(String),
    /// `TooManyRequestsException` (429) with its throttle reason.
    #[error("throttled: {reason}")]
    TooManyRequests { reason: &'static str },
    /// `ProvisionedConcurrencyConfigNotFoundException` (404).
    #[error("{0}")]
    ProvisionedConcurrencyConfigNotFound(String),
    /// `ServiceException` (500) with a message the operator should see.
    #[error("{0}")]
    Service(String),
    /// `UnknownOperationException`: no operation has this method and path.
    #[error("unknown operation")]
    UnknownOperation,
    /// Anything else: logged in full once, shown as a generic `ServiceException`.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::User(UserError::NotFound(message.into()))
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::User(UserError::InvalidParameterValue(message.into()))
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::User(UserError::Conflict(message.into()))
    }
}

/// Store failures that mean something to the caller are decided where they happen (the
/// handler knows the function ARN for the message); everything else is internal.
impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        Self::Internal(anyhow::Error::new(e))
    }
}

impl From<lamina_blobs::BlobError> for ApiError {
    fn from(e: lamina_blobs::BlobError) -> Self {
        Self::Internal(anyhow::Error::new(e))
    }
}

/// How AWS shapes the error body of one error type.
enum Body {
    /// Modeled error: `{"Type":"User","<key>":"..."}`.
    Modeled(&'static str),
    /// Unmodeled error: just `{"<key>":"..."}`.
    Plain(&'static str),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, body, message) = match &self {
            ApiError::User(u) => {
                let (status, code, body) = match u {
                    UserError::InvalidParameterValue(_) => (
                        StatusCode::BAD_REQUEST,
                        "InvalidParameterValueException",
                        Body::Modeled("message"),
                    ),
                    UserError::Validation(_) => (
                        StatusCode::BAD_REQUEST,
                        "ValidationException",
                        Body::Plain("message"),
                    ),
                    UserError::NotFound(_) => (
                        StatusCode::NOT_FOUND,
                        "ResourceNotFoundException",
                        Body::Modeled("Message"),
                    ),
                    UserError::Conflict(_) => (
                        StatusCode::CONFLICT,
                        "ResourceConflictException",
                        Body::Modeled("message"),
                    ),
                    UserError::PreconditionFailed(_) => (
                        StatusCode::PRECONDITION_FAILED,
                        "PreconditionFailedException",
                        Body::Modeled("message"),
                    ),
                    UserError::EntityTooLarge(_) => (
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "RequestEntityTooLargeException",
                        Body::Plain("Message"),
                    ),
                    UserError::AccessDenied(_) => (
                        StatusCode::FORBIDDEN,
                        "AccessDeniedException",
                        Body::Plain("Message"),
                    ),
                    UserError::CodeStorageExceeded(_) => (
                        StatusCode::BAD_REQUEST,
                        "CodeStorageExceededException",
                        Body::Modeled("message"),
                    ),
                    UserError::PolicyLengthExceeded(_) => (
                        StatusCode::BAD_REQUEST,
                        "PolicyLengthExceededException",
                        Body::Modeled("message"),
                    ),
                };
                (status, code, body, u.to_string())
            }
            ApiError::Auth(a) => {
                let (code, message) = a.aws_error();
                (StatusCode::FORBIDDEN, code, Body::Plain("message"), message)
            }
            ApiError::InvalidRequestContent(m) => (
                StatusCode::BAD_REQUEST,
                "InvalidRequestContentException",
                Body::Modeled("message"),
                m.clone(),
            ),
            ApiError::TooManyRequests { reason } => {
                let mut response = (
                    StatusCode::TOO_MANY_REQUESTS,
                    axum::Json(
                        json!({ "Reason": reason, "Type": "User", "message": "Rate Exceeded." }),
                    ),
                )
                    .into_response();
                response.headers_mut().insert(
                    "x-amzn-errortype",
                    HeaderValue::from_static("TooManyRequestsException"),
                );
                return response;
            }
            ApiError::ProvisionedConcurrencyConfigNotFound(m) => (
                StatusCode::NOT_FOUND,
                "ProvisionedConcurrencyConfigNotFoundException",
                Body::Modeled("message"),
                m.clone(),
            ),
            ApiError::Service(m) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceException",
                Body::Modeled("Message"),
                m.clone(),
            ),
            ApiError::UnknownOperation => (
                StatusCode::NOT_FOUND,
                "UnknownOperationException",
                Body::Plain("message"),
                "Unknown operation".to_owned(),
            ),
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "ServiceException",
                    Body::Modeled("Message"),
                    "An internal error occurred in Lamina; see the server log.".to_owned(),
                )
            }
        };
        let json = match body {
            Body::Modeled(key) => {
                let kind = if status.is_server_error() {
                    "Service"
                } else {
                    "User"
                };
                json!({ "Type": kind, key: message })
            }
            Body::Plain(key) => json!({ key: message }),
        };
        let mut response = (status, axum::Json(json)).into_response();
        response
            .headers_mut()
            .insert("x-amzn-errortype", HeaderValue::from_static(code));
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
