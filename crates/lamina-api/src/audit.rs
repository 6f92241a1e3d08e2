//! The audit log: every control-plane call that can change state (POST, PUT, PATCH and DELETE
//! on the API, except Invoke and InvokeAsync; Logs API mutations by `X-Amz-Target`) is
//! recorded with its time, the caller's access key id and ARN, the operation, the resource
//! (an ARN, or the path) and the outcome (HTTP status and AWS error type).
//!
//! The layer runs after authentication (a refused request changes nothing and has no verified
//! caller) and before the handler. It never stores request bodies, query strings, secrets or
//! environment values: the only part of a body it reads is the name of the function that
//! CreateFunction creates (and the log group of a Logs call).

use std::sync::atomic::{AtomicI64, Ordering};

use axum::Json;
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use lamina_store::AuditEntry;
use lamina_types::FunctionRef;
use lamina_types::arn::{NameUse, function_arn};
use lamina_types::layer::layer_arn;
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Longest resource kept (paths are bounded by the HTTP layer anyway).
const RESOURCE_MAX: usize = 1024;
/// Largest Logs API body read for its log group name.
const LOGS_BODY_MAX: usize = 1024 * 1024;

/// The Lambda operation a state-changing request calls (`Unknown` for paths the API does not
/// serve), or `None` when it is not audited: reads and invocations.
pub fn operation(method: &Method, path: &str, target: Option<&str>) -> Option<String> {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return None;
    }
    if let Some(target) = target {
        let action = target.rsplit('.').next().unwrap_or(target);
        let mutation = [
            "Create",
            "Delete",
            "Put",
            "Tag",
            "Untag",
            "Update",
            "Associate",
            "Disassociate",
        ]
        .iter()
        .any(|p| action.starts_with(p));
        // PutLogEvents is the data plane (functions writing logs), as on CloudTrail.
        return (mutation && action != "PutLogEvents").then(|| action.to_owned());
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let name = match (method.as_str(), &segments[..]) {
        ("POST", [_, "functions", _, "invocations" | "invoke-async"]) => return None,
        ("POST", [_, "functions"]) => "CreateFunction",
        ("DELETE", [_, "functions", _]) => "DeleteFunction",
        ("PUT", [_, "functions", _, "configuration"]) => "UpdateFunctionConfiguration",
        ("PUT", [_, "functions", _, "code"]) => "UpdateFunctionCode",
        ("POST", [_, "functions", _, "versions"]) => "PublishVersion",
        ("POST", [_, "functions", _, "aliases"]) => "CreateAlias",
        ("PUT", [_, "functions", _, "aliases", _]) => "UpdateAlias",
        ("DELETE", [_, "functions", _, "aliases", _]) => "DeleteAlias",
        ("PUT", [_, "functions", _, "concurrency"]) => "PutFunctionConcurrency",
        ("DELETE", [_, "functions", _, "concurrency"]) => "DeleteFunctionConcurrency",
        ("PUT", [_, "functions", _, "provisioned-concurrency"]) => {
            "PutProvisionedConcurrencyConfig"
        }
        ("DELETE", [_, "functions", _, "provisioned-concurrency"]) => {
            "DeleteProvisionedConcurrencyConfig"
        }
        ("POST", [_, "functions", _, "policy"]) => "AddPermission",
        ("DELETE", [_, "functions", _, "policy", _]) => "RemovePermission",
        ("PUT", [_, "functions", _, "recursion-config"]) => "PutFunctionRecursionConfig",
        ("PUT", [_, "functions", _, "runtime-management-config"]) => "PutRuntimeManagementConfig",
        ("PUT", [_, "functions", _, "event-invoke-config"]) => "PutFunctionEventInvokeConfig",
        ("POST", [_, "functions", _, "event-invoke-config"]) => "UpdateFunctionEventInvokeConfig",
        ("DELETE", [_, "functions", _, "event-invoke-config"]) => "DeleteFunctionEventInvokeConfig",
        ("POST", [_, "tags", _]) => "TagResource",
        ("DELETE", [_, "tags", _]) => "UntagResource",
        ("POST", [_, "layers", _, "versions"]) => "PublishLayerVersion",
        ("DELETE", [_, "layers", _, "versions", _]) => "DeleteLayerVersion",
        ("POST", [_, "layers", _, "versions", _, "policy"]) => "AddLayerVersionPermission",
        ("DELETE", [_, "layers", _, "versions", _, "policy", _]) => "RemoveLayerVersionPermission",
        _ => "Unknown",
    };
    Some(name.to_owned())
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// The value of a query parameter, decoded.
fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| decode(&v.replace('+', " ")))
}

/// The ARN of a function named in any form, with its qualifier; the name as given if it
/// does not parse.
fn function_resource(region: &str, account: &str, name: &str, qualifier: Option<&str>) -> String {
    match FunctionRef::parse(name, NameUse::Read, region, account) {
        Ok(r) => {
            let mut arn = function_arn(region, account, &r.name);
            if let Some(q) = qualifier.map(str::to_owned).or(r.qualifier) {
                arn.push(':');
                arn.push_str(&q);
            }
            arn
        }
        Err(_) => name.to_owned(),
    }
}

/// The resource a Lambda API request acts on: a function, layer (version) or tagged ARN,
/// else the path. `new_function` is CreateFunction's `FunctionName`.
pub fn resource(
    region: &str,
    account: &str,
    path: &str,
    query: Option<&str>,
    new_function: Option<&str>,
) -> String {
    let segments: Vec<String> = path.trim_matches('/').split('/').map(decode).collect();
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let layer = |name: &str| {
        if name.starts_with("arn:") {
            name.to_owned()
        } else {
            layer_arn(region, account, name)
        }
    };
    let resource = match &s[..] {
        [_, "functions"] => match new_function {
            Some(name) => function_resource(region, account, name, None),
            None => path.to_owned(),
        },
        [_, "functions", name, "aliases", alias, ..] => {
            function_resource(region, account, name, Some(alias))
        }
        [_, "functions", name, ..] => function_resource(
            region,
            account,
            name,
            query_param(query, "Qualifier").as_deref(),
        ),
        [_, "tags", arn] => (*arn).to_owned(),
        [_, "layers", name, "versions"] => layer(name),
        [_, "layers", name, "versions", version, ..] => format!("{}:{version}", layer(name)),
        _ => path.to_owned(),
    };
    resource.chars().take(RESOURCE_MAX).collect()
}

#[derive(Deserialize)]
struct CreateName {
    #[serde(rename = "FunctionName")]
    function_name: Option<String>,
}

#[derive(Deserialize)]
struct LogGroupName {
    #[serde(rename = "logGroupName")]
    log_group_name: Option<String>,
}

/// Strictly increasing sequence numbers: microseconds since the epoch, bumped on ties.
fn next_seq() -> i64 {
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = i64::try_from(lamina_types::time::now().unix_timestamp_nanos() / 1000).unwrap_or(0);
    let mut seq = now;
    let _ = LAST.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |last| {
        seq = now.max(last + 1);
        Some(seq)
    });
    seq
}

/// Reads the (already buffered) body for a name in it and puts it back.
async fn peek<T: for<'de> Deserialize<'de>>(req: Request, max: usize) -> (Request, Option<T>) {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let parsed = if bytes.len() <= max {
        serde_json::from_slice::<T>(&bytes).ok()
    } else {
        None
    };
    (Request::from_parts(parts, Body::from(bytes)), parsed)
}

/// The audit layer (see the module documentation).
pub async fn record(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Some(operation) = operation(req.method(), req.uri().path(), target.as_deref()) else {
        return next.run(req).await;
    };
    let caller = req.extensions().get::<Caller>().cloned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let (region, account) = (&state.config.region, &state.config.account_id);
    let (req, resource) = if target.is_some() {
        let (req, named) = peek::<LogGroupName>(req, LOGS_BODY_MAX).await;
        let resource = match named.and_then(|n| n.log_group_name) {
            Some(g) => format!("arn:aws:logs:{region}:{account}:log-group:{g}"),
            None => path.clone(),
        };
        (req, resource)
    } else if operation == "CreateFunction" {
        let (req, named) = peek::<CreateName>(req, usize::MAX).await;
        let name = named.and_then(|n| n.function_name);
        let resource = resource(region, account, &path, None, name.as_deref());
        (req, resource)
    } else {
        let resource = resource(region, account, &path, query.as_deref(), None);
        (req, resource)
    };
    let mut response = next.run(req).await;
    let request_id = match response
        .headers()
        .get("x-amzn-requestid")
        .and_then(|v| v.to_str().ok())
    {
        Some(id) => id.to_owned(),
        None => {
            let id = uuid::Uuid::new_v4().to_string();
            if let Ok(v) = HeaderValue::from_str(&id) {
                response.headers_mut().insert("x-amzn-requestid", v);
            }
            id
        }
    };
    let status = response.status();
    let error_type = (status.is_client_error() || status.is_server_error())
        .then(|| {
            response
                .headers()
                .get("x-amzn-errortype")
                .and_then(|v| v.to_str().ok())
                .map(|t| t.split(':').next().unwrap_or(t).to_owned())
        })
        .flatten();
    let now = lamina_types::time::now();
    let entry = AuditEntry {
        seq: next_seq(),
        at_ms: i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0),
        request_id,
        access_key_id: caller
            .as_ref()
            .map(|c| c.access_key_id.clone())
            .unwrap_or_default(),
        principal: caller.map(|c| c.principal_arn).unwrap_or_default(),
        operation,
        resource,
        status: status.as_u16(),
        error_type,
    };
    if let Err(e) = state.store.append_audit(&entry).await {
        tracing::error!(error = %e, operation = %entry.operation, resource = %entry.resource, "cannot write the audit log");
    }
    response
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    limit: Option<usize>,
}

/// `GET /_lamina/admin/audit?limit=N`: the newest N entries (default 100), newest first.
pub async fn admin(
    State(state): State<AppState>,
    Query(query): Query<AuditQuery>,
) -> ApiResult<Json<Value>> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::invalid(format!(
            "limit must be between 1 and 10000, got {limit}"
        )));
    }
    let entries = state.store.recent_audit(limit).await?;
    let entries: Vec<Value> = entries
        .into_iter()
        .map(|e| {
            let time =
                time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(e.at_ms) * 1_000_000)
                    .ok()
                    .and_then(|t| {
                        t.format(&time::format_description::well_known::Rfc3339)
                            .ok()
                    })
                    .unwrap_or_default();
            json!({
                "Time": time,
                "RequestId": e.request_id,
                "AccessKeyId": e.access_key_id,
                "Principal": e.principal,
                "Operation": e.operation,
                "Resource": e.resource,
                "StatusCode": e.status,
                "ErrorType": e.error_type,
            })
        })
        .collect();
    Ok(Json(json!({ "Entries": entries })))
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "us-east-1";
    const A: &str = "000000000000";

    fn op(m: Method, p: &str) -> Option<String> {
        operation(&m, p, None)
    }

    #[test]
    fn mutations_are_named_and_reads_and_invokes_are_not_audited() {
        assert_eq!(
            op(Method::POST, "/2015-03-31/functions").as_deref(),
            Some("CreateFunction")
        );
        assert_eq!(
            op(Method::POST, "/2015-03-31/functions/").as_deref(),
            Some("CreateFunction")
        );
        assert_eq!(op(Method::GET, "/2015-03-31/functions/"), None);
        assert_eq!(
            op(Method::POST, "/2015-03-31/functions/f/invocations"),
            None
        );
        assert_eq!(
            op(Method::POST, "/2014-11-13/functions/f/invoke-async/"),
            None
        );
        assert_eq!(
            op(Method::PUT, "/2015-03-31/functions/f/configuration").as_deref(),
            Some("UpdateFunctionConfiguration")
        );
        assert_eq!(
            op(Method::DELETE, "/2015-03-31/functions/f/aliases/live").as_deref(),
            Some("DeleteAlias")
        );
        assert_eq!(
            op(Method::DELETE, "/2018-10-31/layers/l/versions/1/policy/s").as_deref(),
            Some("RemoveLayerVersionPermission")
        );
        assert_eq!(op(Method::POST, "/nope").as_deref(), Some("Unknown"));
        assert_eq!(
            operation(&Method::POST, "/", Some("Logs_20140328.CreateLogGroup")).as_deref(),
            Some("CreateLogGroup")
        );
        assert_eq!(
            operation(&Method::POST, "/", Some("Logs_20140328.PutLogEvents")),
            None
        );
        assert_eq!(
            operation(&Method::POST, "/", Some("Logs_20140328.FilterLogEvents")),
            None
        );
    }

    #[test]
    fn resources_are_arns_with_qualifiers() {
        assert_eq!(
            resource(R, A, "/2015-03-31/functions", None, Some("f")),
            "arn:aws:lambda:us-east-1:000000000000:function:f"
        );
        assert_eq!(
            resource(R, A, "/2015-03-31/functions/f/aliases/live", None, None),
            "arn:aws:lambda:us-east-1:000000000000:function:f:live"
        );
        assert_eq!(
            resource(
                R,
                A,
                "/2019-09-30/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af/provisioned-concurrency",
                Some("Qualifier=2"),
                None
            ),
            "arn:aws:lambda:us-east-1:000000000000:function:f:2"
        );
        assert_eq!(
            resource(R, A, "/2018-10-31/layers/l/versions/3", None, None),
            "arn:aws:lambda:us-east-1:000000000000:layer:l:3"
        );
        assert_eq!(
            resource(
                R,
                A,
                "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af",
                Some("tagKeys=secret"),
                None
            ),
            "arn:aws:lambda:us-east-1:000000000000:function:f"
        );
        assert_eq!(resource(R, A, "/nope", None, None), "/nope");
    }

    #[test]
    fn sequence_numbers_strictly_increase() {
        let a = next_seq();
        let b = next_seq();
        assert!(b > a);
    }
}
