//! The CloudWatch Logs API (JSON 1.1) on the Lambda port, so `boto3.client("logs")`, the
//! Rust SDK, `aws logs filter-log-events` and `aws logs tail` read function logs unchanged.
//!
//! Every call is `POST /` with `X-Amz-Target: Logs_20140328.<Operation>` and a JSON body,
//! signed for the SigV4 service `logs` (`auth.rs` checks the scope and, for callers other
//! than the root, refuses every Logs operation). Answers are JSON; errors have the JSON 1.1
//! shape ([`error`]).
//!
//! Where things live:
//! - log events: the files the engine appends to (`logs/<group>/<stream>.jsonl`, see
//!   `lamina_engine::logs`); [`files`] reads them, PutLogEvents appends with the engine's writer;
//! - group metadata (creation time, retention): the store's [`lamina_store::LogStore`]. A
//!   group exists once it has a row or a directory: an environment's first write creates the
//!   directory, and the first Logs call that meets a directory without a row records it
//!   ([`groups::resolve`]), so the engine needs no access to the store and a crash between
//!   the two cannot lose a group.
//!
//! One file per operation family: [`groups`] (Describe/Create/DeleteLogGroup), [`retention`]
//! (Put/DeleteRetentionPolicy and the background sweep), [`streams`]
//! (Describe/Create/DeleteLogStream), [`events`] (GetLogEvents, PutLogEvents), [`filter`]
//! (FilterLogEvents, with [`pattern`]); [`tokens`] holds event ids and paging tokens.

pub mod error;
mod events;
pub mod files;
mod filter;
mod groups;
pub mod pattern;
pub mod retention;
mod streams;
pub mod tokens;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use lamina_types::UserError;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use error::LogsError;

use crate::caller::Caller;
use crate::error::ApiError;
use crate::state::{ApiConfig, AppState};

/// The `X-Amz-Target` prefix of CloudWatch Logs operations.
pub const TARGET_PREFIX: &str = "Logs_20140328.";

/// The SigV4 service name of CloudWatch Logs.
pub const SERVICE: &str = "logs";

/// The Logs operation a request calls, if it is a CloudWatch Logs request (`POST /` with a
/// `Logs_20140328.` target).
pub fn operation<'h>(method: &Method, path: &str, headers: &'h HeaderMap) -> Option<&'h str> {
    if *method != Method::POST || path != "/" {
        return None;
    }
    headers
        .get("x-amz-target")?
        .to_str()
        .ok()?
        .strip_prefix(TARGET_PREFIX)
}

/// Only the root may call the Logs API: the principals an operator configures may only
/// Invoke (see `caller.rs`).
pub fn check_caller(caller: &Caller, op: &str) -> Result<(), ApiError> {
    if caller.is_root {
        return Ok(());
    }
    Err(ApiError::User(UserError::AccessDenied(format!(
        "User: {} is not authorized to perform: logs:{op} because no identity-based policy allows the logs:{op} action",
        caller.principal_arn
    ))))
}

/// `POST /`: runs the operation the `X-Amz-Target` header names.
pub async fn dispatch(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(op) = operation(&Method::POST, "/", &headers) else {
        return ApiError::UnknownOperation.into_response();
    };
    // Invocations are answered before their END/REPORT lines are written: let those land, so
    // a caller reads the logs of every invocation it has already seen answered.
    state.engine.settle().await;
    let result = match op {
        "DescribeLogGroups" => groups::describe_log_groups(&state, &body).await,
        "CreateLogGroup" => groups::create_log_group(&state, &body).await,
        "DeleteLogGroup" => groups::delete_log_group(&state, &body).await,
        "PutRetentionPolicy" => retention::put_retention_policy(&state, &body).await,
        "DeleteRetentionPolicy" => retention::delete_retention_policy(&state, &body).await,
        "DescribeLogStreams" => streams::describe_log_streams(&state, &body).await,
        "CreateLogStream" => streams::create_log_stream(&state, &body).await,
        "DeleteLogStream" => streams::delete_log_stream(&state, &body).await,
        "GetLogEvents" => events::get_log_events(&state, &body).await,
        "PutLogEvents" => events::put_log_events(&state, &body).await,
        "FilterLogEvents" => filter::filter_log_events(&state, &body).await,
        other => Err(LogsError::UnknownOperation(other.to_owned())),
    };
    match result {
        Ok(value) => {
            let mut response = value.to_string().into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(error::CONTENT_TYPE),
            );
            response
        }
        Err(e) => e.into_response(),
    }
}

/// Parses a request body; an empty body is `{}`. Unknown members are ignored.
fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, LogsError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| LogsError::Serialization(e.to_string()))
}

/// A required member, or AWS's message for a missing one.
fn required<T>(value: Option<T>, field: &str) -> Result<T, LogsError> {
    value.ok_or_else(|| {
        LogsError::InvalidParameter(format!(
            "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

/// A `limit` member within `1..=max`, or `default`.
fn limit(value: Option<i64>, max: i64, default: usize) -> Result<usize, LogsError> {
    match value {
        None => Ok(default),
        Some(n) if n < 1 => Err(LogsError::constraint(
            n,
            "limit",
            "Member must have value greater than or equal to 1",
        )),
        Some(n) if n > max => Err(LogsError::constraint(
            n,
            "limit",
            &format!("Member must have value less than or equal to {max}"),
        )),
        Some(n) => Ok(usize::try_from(n).unwrap_or(default)),
    }
}

/// The group a request names with `logGroupName` or `logGroupIdentifier` (a name or an ARN,
/// `arn:aws:logs:<region>:<account>:log-group:<name>[:*]`).
fn group_name(name: Option<String>, identifier: Option<String>) -> Result<String, LogsError> {
    match (name, identifier) {
        (Some(_), Some(_)) => Err(LogsError::InvalidParameter(
            "LogGroup name and LogGroup ARN are mutually exclusive parameters.".into(),
        )),
        (Some(name), None) => Ok(name),
        (None, Some(id)) => Ok(group_of_identifier(&id)),
        (None, None) => Err(LogsError::InvalidParameter(
            "Either the logGroupName or the logGroupIdentifier parameter is required.".into(),
        )),
    }
}

fn group_of_identifier(id: &str) -> String {
    match id.split_once(":log-group:") {
        Some((prefix, rest)) if prefix.starts_with("arn:") => {
            rest.strip_suffix(":*").unwrap_or(rest).to_owned()
        }
        _ => id.to_owned(),
    }
}

/// `arn:aws:logs:<region>:<account>:log-group:<name>`.
fn group_arn(config: &ApiConfig, group: &str) -> String {
    format!(
        "arn:aws:logs:{}:{}:log-group:{group}",
        config.region, config.account_id
    )
}

/// Runs file-system work on the blocking pool.
async fn blocking<T, F>(f: F) -> Result<T, LogsError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, LogsError> + Send + 'static,
{
    tokio::task::spawn_blocking(f).await?
}

/// Milliseconds since the epoch, now.
fn now_ms() -> i64 {
    lamina_engine::logs::now_ms()
}

/// An empty `{}` answer.
fn empty() -> Value {
    Value::Object(serde_json::Map::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_post_slash_with_a_logs_target_is_a_logs_request() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-amz-target",
            HeaderValue::from_static("Logs_20140328.FilterLogEvents"),
        );
        assert_eq!(operation(&Method::POST, "/", &h), Some("FilterLogEvents"));
        assert_eq!(operation(&Method::GET, "/", &h), None);
        assert_eq!(operation(&Method::POST, "/2015-03-31/functions", &h), None);
        h.insert(
            "x-amz-target",
            HeaderValue::from_static("AmazonSQS.SendMessage"),
        );
        assert_eq!(operation(&Method::POST, "/", &h), None);
    }

    #[test]
    fn only_the_root_may_call_logs_operations() {
        let mut caller = Caller {
            access_key_id: "AKIA".into(),
            principal_arn: "arn:aws:iam::000000000000:root".into(),
            account_id: "000000000000".into(),
            is_root: true,
        };
        assert!(check_caller(&caller, "FilterLogEvents").is_ok());
        caller.is_root = false;
        caller.principal_arn = "arn:aws:iam::111122223333:user/alice".into();
        let Err(ApiError::User(UserError::AccessDenied(m))) =
            check_caller(&caller, "FilterLogEvents")
        else {
            panic!("not refused")
        };
        assert_eq!(
            m,
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: logs:FilterLogEvents because no identity-based policy allows the logs:FilterLogEvents action"
        );
    }

    #[test]
    fn groups_are_named_by_name_or_arn_but_not_both() {
        assert_eq!(group_name(Some("/g".into()), None).unwrap(), "/g");
        assert_eq!(
            group_name(
                None,
                Some("arn:aws:logs:us-east-1:1:log-group:/aws/lambda/f:*".into())
            )
            .unwrap(),
            "/aws/lambda/f"
        );
        assert_eq!(
            group_name(None, Some("arn:aws:logs:us-east-1:1:log-group:/x".into())).unwrap(),
            "/x"
        );
        assert_eq!(group_name(None, Some("/plain".into())).unwrap(), "/plain");
        assert!(group_name(Some("/a".into()), Some("/a".into())).is_err());
        assert!(group_name(None, None).is_err());
    }

    #[test]
    fn limits_are_checked_with_aws_messages() {
        assert_eq!(limit(None, 50, 50).unwrap(), 50);
        assert_eq!(limit(Some(7), 50, 50).unwrap(), 7);
        let LogsError::InvalidParameter(m) = limit(Some(51), 50, 50).unwrap_err() else {
            panic!()
        };
        assert_eq!(
            m,
            "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50"
        );
        assert!(limit(Some(0), 50, 50).is_err());
    }
}
