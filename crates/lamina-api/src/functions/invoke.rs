//! `POST /2015-03-31/functions/{name}/invocations`: Invoke (RequestResponse and DryRun).

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use bytes::Bytes;
use lamina_engine::{FunctionSnapshot, InvokeError, InvokeRequest, InvokeResponse};
use lamina_types::arn::NameUse;
use lamina_types::model::{FunctionRecord, State as FnState};
use lamina_types::{FunctionRef, UserError};
use sha2::{Digest, Sha256};

use super::get::QualifierQuery;
use super::resolve::{Resolved, load_version, resolve};
use super::{arn, code, function_ref, not_found, runtime_version_arn};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Largest `X-Amz-Client-Context` (base64), as on AWS.
const CLIENT_CONTEXT_MAX: usize = 3583;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn enum_error(value: &str, field: &str, allowed: &str) -> ApiError {
    UserError::validation(
        value,
        field,
        &format!("Member must satisfy enum value set: [{allowed}]"),
    )
    .into()
}

/// `Root=1-<8 hex time>-<24 hex>;Parent=<16 hex>;Sampled=0`, or the caller's `X-Amzn-Trace-Id`.
fn trace_id(headers: &HeaderMap) -> String {
    if let Some(t) = header(headers, "x-amzn-trace-id").filter(|t| t.starts_with("Root=")) {
        return t.to_owned();
    }
    let secs = lamina_types::time::now().unix_timestamp();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let parent = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "Root=1-{secs:08x}-{};Parent={};Sampled=0",
        &id[..24],
        &parent[..16]
    )
}

/// The frozen view of a function an environment runs.
pub(crate) fn snapshot(state: &AppState, rec: &FunctionRecord, version: &str) -> FunctionSnapshot {
    let mut h = Sha256::new();
    h.update(rec.code_sha256_hex.as_bytes());
    h.update(serde_json::to_vec(&rec.config).unwrap_or_default());
    h.update(serde_json::to_vec(&rec.environment).unwrap_or_default());
    // The layers, in order: new layers never reuse an old environment.
    for layer in &rec.config.layers {
        h.update(layer.code_sha256_hex.as_bytes());
    }
    FunctionSnapshot {
        name: rec.name.clone(),
        version: version.to_owned(),
        config: rec.config.clone(),
        environment: rec.environment.clone(),
        code_dir: code::unpacked_dir(&state.code_cache, &rec.code_sha256_hex),
        opt_dir: crate::layers::opt::merged_dir(&state.code_cache, &rec.config.layers),
        runtime_version_arn: runtime_version_arn(&state.config.region, &rec.config.runtime),
        key: format!("{}:{version}:{}", rec.name, hex::encode(h.finalize())),
    }
}

pub async fn invoke(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<QualifierQuery>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let fref = function_ref(&state, &name, NameUse::Read)?
        .with_query_qualifier(query.qualifier.as_deref())?;
    let invocation_type = header(&headers, "x-amz-invocation-type").unwrap_or("RequestResponse");
    if !["RequestResponse", "Event", "DryRun"].contains(&invocation_type) {
        return Err(enum_error(
            invocation_type,
            "invocationType",
            "Event, RequestResponse, DryRun",
        ));
    }
    let log_type = header(&headers, "x-amz-log-type").unwrap_or("None");
    if !["None", "Tail"].contains(&log_type) {
        return Err(enum_error(log_type, "logType", "None, Tail"));
    }
    super::policy::authorize_invoke(&state, &caller, &fref).await?;
    let payload = if body.iter().all(u8::is_ascii_whitespace) {
        Bytes::from_static(b"{}")
    } else {
        if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&body) {
            return Err(ApiError::InvalidRequestContent(format!(
                "Could not parse request body into json: Could not parse payload into json: {e}"
            )));
        }
        body
    };
    let client_context = match header(&headers, "x-amz-client-context") {
        None => None,
        Some(b64) => Some(decode_client_context(b64)?),
    };
    if invocation_type == "Event" {
        let limit = state.config.limits.async_payload_max_bytes;
        if payload.len() as u64 > limit {
            return Err(ApiError::User(UserError::EntityTooLarge(format!(
                "{} byte payload is too large for the Event invocation type (limit {limit} bytes)",
                payload.len()
            ))));
        }
        // Unknown functions and bad qualifiers fail now, not in the queue.
        resolve_target(&state, &fref).await?;
        let request_id =
            crate::async_invoke::enqueue(&state, &fref, &payload, &trace_id(&headers)).await?;
        let mut response = StatusCode::ACCEPTED.into_response();
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert("x-amzn-requestid", v);
        }
        return Ok(response);
    }
    if invocation_type == "DryRun" {
        resolve_target(&state, &fref).await?;
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let result = run(
        &state,
        &fref,
        payload,
        client_context,
        trace_id(&headers),
        log_type == "Tail",
    )
    .await?;
    let mut response = (StatusCode::OK, result.payload).into_response();
    let h = response.headers_mut();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(name, v);
        }
    };
    put(
        "content-type",
        result.content_type.as_deref().unwrap_or("application/json"),
    );
    put("x-amz-executed-version", &result.executed_version);
    put("x-amzn-requestid", &result.request_id);
    if result.function_error {
        put("x-amz-function-error", "Unhandled");
    }
    if let Some(log) = &result.log_result {
        put("x-amz-log-result", log);
    }
    Ok(response)
}

/// Largest `InvokeAsync` payload.
const INVOKE_ASYNC_MAX: usize = 262_144;

/// `POST /2014-11-13/functions/{name}/invoke-async/`: the deprecated InvokeAsync, which queues
/// the event like `InvocationType: Event` on `$LATEST` and answers 202 `{"Status": 202}`.
pub async fn invoke_async(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let fref = function_ref(&state, &name, NameUse::Read)?;
    super::policy::authorize_invoke(&state, &caller, &fref).await?;
    if body.len() > INVOKE_ASYNC_MAX {
        return Err(ApiError::User(UserError::EntityTooLarge(format!(
            "Request must be smaller than {INVOKE_ASYNC_MAX} bytes for the InvokeAsync operation"
        ))));
    }
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&body) {
        return Err(ApiError::InvalidRequestContent(format!(
            "Could not parse request body into json: {e}"
        )));
    }
    resolve_target(&state, &fref).await?;
    let request_id =
        crate::async_invoke::enqueue(&state, &fref, &body, &trace_id(&headers)).await?;
    let mut response = (
        StatusCode::ACCEPTED,
        axum::Json(serde_json::json!({ "Status": 202 })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", v);
    }
    Ok(response)
}

/// Resolves the function and version an invocation of `fref` runs, refusing functions that
/// are not `Active`.
async fn resolve_target(
    state: &AppState,
    fref: &FunctionRef,
) -> ApiResult<(FunctionRecord, String)> {
    let target = match resolve(state, fref).await {
        Err(ApiError::User(UserError::NotFound(_))) if fref.qualifier.is_none() => {
            return Err(not_found(state, &fref.name, Some("$LATEST")));
        }
        other => other?,
    };
    let (rec, version) = route(state, target).await?;
    match rec.state {
        FnState::Active => {}
        other => {
            return Err(ApiError::conflict(format!(
                "The operation cannot be performed at this time. The function is currently in the following state: {other:?}"
            )));
        }
    }
    Ok((rec, version))
}

/// Runs one invocation synchronously (the Invoke API and the async workers).
pub(crate) async fn run(
    state: &AppState,
    fref: &FunctionRef,
    payload: Bytes,
    client_context: Option<String>,
    trace_id: String,
    tail: bool,
) -> ApiResult<InvokeResponse> {
    let (rec, version) = resolve_target(state, fref).await?;
    code::ensure_unpacked(state, &rec.code_sha256_hex)
        .await
        .map_err(ApiError::Internal)?;
    crate::layers::opt::ensure_merged(state, &rec.config.layers)
        .await
        .map_err(ApiError::Internal)?;
    let mut invoked_arn = arn(state, &rec.name);
    if let Some(q) = &fref.qualifier {
        invoked_arn.push(':');
        invoked_arn.push_str(q);
    }
    let request = InvokeRequest {
        function: Arc::new(snapshot(state, &rec, &version)),
        payload,
        invoked_function_arn: invoked_arn.clone(),
        client_context,
        trace_id: trace_id.clone(),
        tail,
        reserved_concurrency: state.store.reserved_concurrency(&rec.name).await?,
        on_complete: Some(record_completion(
            state,
            &rec.name,
            &version,
            invoked_arn,
            trace_id,
        )),
    };
    let result = {
        let _in_flight = state.observe.metrics.in_flight(&rec.name, &version);
        state.engine.invoke(request).await
    };
    if let Err(InvokeError::Throttled { .. }) = &result {
        state.observe.metrics.throttle(&rec.name, &version);
    }
    result.map_err(|e| match e {
        InvokeError::Throttled { reason } => ApiError::TooManyRequests { reason },
        InvokeError::Unavailable(m) => ApiError::Service(m),
        InvokeError::Internal(e) => ApiError::Internal(e),
    })
}

/// Reports a completed invocation to metrics, usage and traces (called by the engine once the
/// runtime has finished it).
fn record_completion(
    state: &AppState,
    function: &str,
    version: &str,
    invoked_arn: String,
    trace_id: String,
) -> Box<dyn FnOnce(lamina_engine::InvocationMetrics) + Send> {
    let state = state.clone();
    let (function, version) = (function.to_owned(), version.to_owned());
    let began = std::time::SystemTime::now();
    Box::new(move |metrics| {
        state.observe.invoked(
            &state.config.region,
            &crate::observe::Invoked {
                function: &function,
                version: &version,
                invoked_arn: &invoked_arn,
                request_id: metrics.request_id.as_str(),
                trace_header: &trace_id,
                began,
                ended: std::time::SystemTime::now(),
                function_error: metrics.status != lamina_engine::InvocationStatus::Success,
                metrics: &metrics,
            },
        );
    })
}

/// The record and version an invocation runs: an alias with `AdditionalVersionWeights` sends
/// that share of invocations to its second version.
async fn route(state: &AppState, target: Resolved) -> ApiResult<(FunctionRecord, String)> {
    if let Some(alias) = &target.alias
        && let Some((version, weight)) = alias.routing.iter().next()
        && rand::random::<f64>() < *weight
        && let Some(rec) = load_version(state, &alias.function_name, version).await?
    {
        return Ok((rec, version.clone()));
    }
    Ok((target.record, target.version))
}

/// Decodes `X-Amz-Client-Context` (base64 JSON) into the JSON text the runtime receives.
fn decode_client_context(b64: &str) -> ApiResult<String> {
    let invalid =
        || ApiError::invalid("Client context must be a valid Base64-encoded JSON object.");
    if b64.len() > CLIENT_CONTEXT_MAX {
        return Err(UserError::validation(
            b64,
            "clientContext",
            &format!("Member must have length less than or equal to {CLIENT_CONTEXT_MAX}"),
        )
        .into());
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(raw).map_err(|_| invalid())?;
    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text)
        .map_err(|_| invalid())?;
    Ok(text)
}
