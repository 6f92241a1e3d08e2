//! Edge middleware: a request id on every response, body limits enforced before a body is read
//! whole, and SigV4 verification of every request before any handler runs.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lamina_types::UserError;
use secrecy::ExposeSecret;

use crate::error::ApiError;
use crate::sigv4::{self, AuthError};
use crate::state::AppState;

/// Adds `x-amzn-RequestId` (uuid4) to every response, errors included.
pub async fn request_id(req: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    let mut response = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-amzn-requestid", v);
    }
    response
}

/// The AWS operation a method and path name, for messages that quote it.
fn operation_name(method: &Method, path: &str) -> &'static str {
    let trimmed = path.trim_end_matches('/');
    if *method == Method::POST && trimmed.ends_with("/functions") {
        "CreateFunction"
    } else if *method == Method::PUT && trimmed.ends_with("/code") {
        "UpdateFunctionCode"
    } else if *method == Method::PUT && trimmed.ends_with("/configuration") {
        "UpdateFunctionConfiguration"
    } else {
        "requested"
    }
}

fn too_large(limit: u64, method: &Method, path: &str) -> ApiError {
    ApiError::User(UserError::EntityTooLarge(format!(
        "Request must be smaller than {limit} bytes for the {} operation",
        operation_name(method, path)
    )))
}

/// Authenticates the request and buffers its body (bounded) for the handler.
pub async fn authenticate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match verified(&state, req).await {
        Ok(req) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

async fn verified(state: &AppState, req: Request) -> Result<Request, ApiError> {
    let limit = state.config.limits.request_body_max_bytes;
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit, &parts.method, parts.uri.path()));
    }
    let signed = parts.headers.contains_key(http::header::AUTHORIZATION)
        || parts
            .uri
            .query()
            .is_some_and(|q| q.contains("X-Amz-Algorithm="));
    if !signed {
        return Err(ApiError::Auth(AuthError::Missing));
    }
    let bytes = axum::body::to_bytes(body, usize::try_from(limit).unwrap_or(usize::MAX))
        .await
        .map_err(|_| too_large(limit, &parts.method, parts.uri.path()))?;
    let creds = &state.config.credentials;
    let lookup = |key: &str| {
        (key == creds.access_key_id).then(|| creds.secret_access_key.expose_secret().to_owned())
    };
    sigv4::verify(
        &parts.method,
        &parts.uri,
        &parts.headers,
        &bytes,
        lookup,
        lamina_types::time::now(),
    )
    .map_err(ApiError::Auth)?;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}
