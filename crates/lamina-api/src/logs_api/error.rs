//! Errors of the CloudWatch Logs API in the JSON 1.1 wire shape: status 400 (500 for ours),
//! body `{"__type":"<Code>","message":"…"}`. botocore's JSON parser reads the code from
//! `__type` only; the Rust SDK reads `x-amzn-errortype` first, so both carry it.
//!
//! The Lambda API's REST-JSON errors (`ApiError`) stay as they are; a Logs request that fails
//! before its handler (authentication, body limits) has that error reshaped by [`reshape`].

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lamina_store::StoreError;
use serde_json::json;

/// The content type of every Logs response.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// An error returned to a CloudWatch Logs client. Each variant is one AWS error type.
#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    /// `ResourceNotFoundException`: no such log group or stream.
    #[error("{0}")]
    ResourceNotFound(String),
    /// `ResourceAlreadyExistsException`.
    #[error("{0}")]
    ResourceAlreadyExists(String),
    /// `InvalidParameterException`: AWS uses it for constraint failures too.
    #[error("{0}")]
    InvalidParameter(String),
    /// `SerializationException`: a body that is not the JSON the operation takes.
    #[error("{0}")]
    Serialization(String),
    /// `UnknownOperationException`: an `X-Amz-Target` operation we do not serve.
    #[error("unknown operation {0}")]
    UnknownOperation(String),
    /// Anything else: logged in full once, shown as `ServiceUnavailableException` (500).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl LogsError {
    pub fn group_not_found() -> Self {
        Self::ResourceNotFound("The specified log group does not exist.".into())
    }

    pub fn stream_not_found() -> Self {
        Self::ResourceNotFound("The specified log stream does not exist.".into())
    }

    /// AWS's framework constraint message, `1 validation error detected: Value '…' at '…' …`.
    pub fn constraint(value: impl std::fmt::Display, field: &str, constraint: &str) -> Self {
        Self::InvalidParameter(format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
        ))
    }

    pub fn internal(context: &'static str, source: impl Into<anyhow::Error>) -> Self {
        Self::Internal(source.into().context(context))
    }
}

/// A store failure never means anything to a Logs client (missing groups are decided by the
/// handlers, which know the name): internal.
impl From<StoreError> for LogsError {
    fn from(e: StoreError) -> Self {
        Self::Internal(anyhow::Error::new(e))
    }
}

impl From<std::io::Error> for LogsError {
    fn from(e: std::io::Error) -> Self {
        Self::Internal(anyhow::Error::new(e).context("log stream files"))
    }
}

impl From<tokio::task::JoinError> for LogsError {
    fn from(e: tokio::task::JoinError) -> Self {
        Self::Internal(anyhow::Error::new(e).context("log reader task"))
    }
}

/// The JSON 1.1 error response.
fn render(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "__type": code, "message": message }).to_string();
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    if let Ok(v) = HeaderValue::from_str(code) {
        headers.insert("x-amzn-errortype", v);
    }
    response
}

impl IntoResponse for LogsError {
    fn into_response(self) -> Response {
        let (status, code, message) = match &self {
            LogsError::ResourceNotFound(m) => (
                StatusCode::BAD_REQUEST,
                "ResourceNotFoundException",
                m.clone(),
            ),
            LogsError::ResourceAlreadyExists(m) => (
                StatusCode::BAD_REQUEST,
                "ResourceAlreadyExistsException",
                m.clone(),
            ),
            LogsError::InvalidParameter(m) => (
                StatusCode::BAD_REQUEST,
                "InvalidParameterException",
                m.clone(),
            ),
            LogsError::Serialization(m) => {
                (StatusCode::BAD_REQUEST, "SerializationException", m.clone())
            }
            LogsError::UnknownOperation(_) => (
                StatusCode::BAD_REQUEST,
                "UnknownOperationException",
                String::new(),
            ),
            LogsError::Internal(e) => {
                tracing::error!(error = ?e, "internal error in the logs API");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "ServiceUnavailableException",
                    "An internal error occurred in Lamina; see the server log.".to_owned(),
                )
            }
        };
        render(status, code, &message)
    }
}

/// Reshapes a Lambda-style error response (`ApiError`, decided by the authentication layer)
/// into the JSON 1.1 shape: same code and message, status 400 for client errors except the
/// ones a client acts on by status (413, 429), server errors unchanged.
pub async fn reshape(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let code = parts
        .headers
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("ServiceUnavailableException")
        .to_owned();
    let bytes = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let message = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| {
            v.get("message")
                .or_else(|| v.get("Message"))
                .and_then(|m| m.as_str().map(str::to_owned))
        })
        .unwrap_or_default();
    let status = match parts.status {
        s if s.is_server_error() => s,
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::TOO_MANY_REQUESTS => parts.status,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut response = render(status, &code, &message);
    for (name, value) in &parts.headers {
        if name.as_str().eq_ignore_ascii_case("x-amzn-requestid") {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(r: Response) -> serde_json::Value {
        serde_json::from_slice(&axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap())
            .unwrap()
    }

    #[tokio::test]
    async fn errors_have_the_json_1_1_shape() {
        let r = LogsError::group_not_found().into_response();
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()["content-type"], CONTENT_TYPE);
        assert_eq!(
            body_of(r).await,
            json!({"__type": "ResourceNotFoundException", "message": "The specified log group does not exist."})
        );
    }

    #[tokio::test]
    async fn lambda_errors_are_reshaped_with_their_code_and_message() {
        let api = crate::error::ApiError::Auth(crate::sigv4::AuthError::UnknownAccessKey);
        let r = reshape(axum::response::IntoResponse::into_response(api)).await;
        assert_eq!(r.status(), 400);
        assert_eq!(
            r.headers()["x-amzn-errortype"],
            "UnrecognizedClientException"
        );
        assert_eq!(
            body_of(r).await,
            json!({"__type": "UnrecognizedClientException", "message": "The security token included in the request is invalid."})
        );
    }
}
