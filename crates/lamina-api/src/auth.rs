//! Edge middleware: a request id on every response, body limits enforced before a body is read
//! whole, and SigV4 verification of every request before any handler runs.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lamina_types::UserError;

use crate::caller::Caller;
use crate::error::ApiError;
use crate::sigv4::{self, AuthError};
use crate::state::AppState;

/// Adds `x-amzn-RequestId` (uuid4) to every response, errors included.
pub async fn request_id(req: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    let mut response = next.run(req).await;
    // Invoke answers with the invocation's own request id.
    if !response.headers().contains_key("x-amzn-requestid")
        && let Ok(v) = HeaderValue::from_str(&id)
    {
        response.headers_mut().insert("x-amzn-requestid", v);
    }
    response
}

/// Largest synchronous Invoke payload.
pub const INVOKE_PAYLOAD_MAX: u64 = 6_291_456;

/// The AWS operation a method and path name (for messages that quote it), and its body limit.
fn operation(method: &Method, path: &str, request_max: u64) -> (&'static str, u64) {
    let trimmed = path.trim_end_matches('/');
    let name = if *method == Method::POST && trimmed.ends_with("/invocations") {
        return ("InvokeFunction", INVOKE_PAYLOAD_MAX);
    } else if *method == Method::POST && trimmed.ends_with("/functions") {
        "CreateFunction"
    } else if *method == Method::PUT && trimmed.ends_with("/code") {
        "UpdateFunctionCode"
    } else if *method == Method::PUT && trimmed.ends_with("/configuration") {
        "UpdateFunctionConfiguration"
    } else if *method == Method::POST
        && trimmed.starts_with("/2018-10-31/layers/")
        && trimmed.ends_with("/versions")
    {
        "PublishLayerVersion"
    } else {
        "requested"
    };
    (name, request_max)
}

fn too_large(limit: u64, operation: &str) -> ApiError {
    ApiError::User(UserError::EntityTooLarge(format!(
        "Request must be smaller than {limit} bytes for the {operation} operation"
    )))
}

/// Reads a body to its end without keeping it (bounded in time).
async fn discard(body: Body) {
    use http_body_util::BodyExt;
    let mut body = body;
    let drain = async {
        while let Some(frame) = body.frame().await {
            if frame.is_err() {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), drain).await;
}

/// Authenticates the request and buffers its body (bounded) for the handler.
pub async fn authenticate(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // Prometheus scrapes `/metrics` unsigned unless `[telemetry] metrics_auth` is set.
    if !state.config.telemetry.metrics_auth
        && req.method() == Method::GET
        && req.uri().path() == "/metrics"
    {
        return next.run(req).await;
    }
    // CloudWatch Logs clients read errors in the JSON 1.1 shape.
    let logs = crate::logs_api::operation(req.method(), req.uri().path(), req.headers()).is_some();
    match verified(&state, req).await {
        Ok(req) => next.run(req).await,
        Err(e) if logs => crate::logs_api::error::reshape(e.into_response()).await,
        Err(e) => e.into_response(),
    }
}

async fn verified(state: &AppState, req: Request) -> Result<Request, ApiError> {
    let (parts, body) = req.into_parts();
    // A CloudWatch Logs call (`POST /`, `X-Amz-Target: Logs_20140328.*`) is signed for `logs`.
    let logs_op = crate::logs_api::operation(&parts.method, parts.uri.path(), &parts.headers)
        .map(str::to_owned);
    let service = if logs_op.is_some() {
        crate::logs_api::SERVICE
    } else {
        "lambda"
    };
    let (op, limit) = operation(
        &parts.method,
        parts.uri.path(),
        state.config.limits.request_body_max_bytes,
    );
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let Some(n) = declared.filter(|n| *n > limit) {
        // Read and discard a body of plausible size first, so the client, still sending,
        // sees the 413 instead of a reset connection. Anything larger is refused unread.
        if n <= state.config.limits.request_body_max_bytes {
            discard(body).await;
        }
        return Err(too_large(limit, op));
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
        .map_err(|_| too_large(limit, op))?;
    let lookup = |key: &str| Caller::lookup(&state.config, key).map(|(_, secret)| secret);
    let verified = sigv4::verify(
        &parts.method,
        &parts.uri,
        &parts.headers,
        &bytes,
        lookup,
        lamina_types::time::now(),
    )
    .map_err(ApiError::Auth)?;
    if verified.service != service {
        return Err(ApiError::Auth(AuthError::Scope(format!(
            "Credential should be scoped to correct service: '{service}'. "
        ))));
    }
    if verified.region != state.config.region {
        return Err(ApiError::Auth(AuthError::Scope(format!(
            "Credential should be scoped to a valid region. This endpoint serves '{}', not '{}'.",
            state.config.region, verified.region
        ))));
    }
    let (caller, _) = Caller::lookup(&state.config, &verified.access_key_id)
        .ok_or(ApiError::Auth(AuthError::UnknownAccessKey))?;
    match &logs_op {
        Some(op) => crate::logs_api::check_caller(&caller, op)?,
        None => caller.check_operation(&state.config, &parts.method, parts.uri.path())?,
    }
    let mut req = Request::from_parts(parts, Body::from(bytes));
    req.extensions_mut().insert(caller);
    Ok(req)
}
