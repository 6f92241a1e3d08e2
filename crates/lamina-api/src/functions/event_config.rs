//! Event invoke configs: Put (replace), Update (merge), Get, Delete and List, per function,
//! version or alias.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use bytes::Bytes;
use lamina_types::arn::NameUse;
use lamina_types::async_invoke::{
    Destination, DestinationConfig, EventInvokeConfig, EventInvokeConfigRequest, Target,
    check_config_request, parse_destination,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::get::QualifierQuery;
use super::resolve::resolve;
use super::versions::page_size;
use super::{arn, function_ref, parse_body};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The function and qualifier a config operation names (`$LATEST` when none is given).
async fn target(
    state: &AppState,
    raw: &str,
    query: &QualifierQuery,
) -> ApiResult<(String, String)> {
    let fref = function_ref(state, raw, NameUse::Manage)?
        .with_query_qualifier(query.qualifier.as_deref())?;
    if resolve(state, &fref).await.is_err() {
        return Err(ApiError::not_found("The function doesn't exist."));
    }
    Ok((
        fref.name,
        fref.qualifier.unwrap_or_else(|| "$LATEST".into()),
    ))
}

/// `FunctionEventInvokeConfig` as AWS returns it (`LastModified` in epoch seconds).
pub fn config_json(state: &AppState, c: &EventInvokeConfig) -> Value {
    let mut v = json!({
        "LastModified": c.last_modified,
        "FunctionArn": format!("{}:{}", arn(state, &c.function_name), c.qualifier),
        "DestinationConfig": {
            "OnSuccess": c.destinations.on_success,
            "OnFailure": c.destinations.on_failure,
        },
    });
    if let Some(n) = c.maximum_retry_attempts {
        v["MaximumRetryAttempts"] = json!(n);
    }
    if let Some(n) = c.maximum_event_age_seconds {
        v["MaximumEventAgeInSeconds"] = json!(n);
    }
    v
}

/// Checks destination ARNs as AWS does; SNS and EventBridge targets are refused clearly,
/// since Lamina cannot deliver to them.
fn check_destinations(d: &DestinationConfig) -> ApiResult<()> {
    for dest in [&d.on_success, &d.on_failure] {
        let Some(arn) = &dest.destination else {
            continue;
        };
        match parse_destination(arn)? {
            Target::Function { .. } | Target::Sqs => {}
            Target::Sns | Target::EventBridge => {
                return Err(ApiError::invalid(format!(
                    "Lamina delivers async invocation records to Lambda functions and SQS-compatible queues only; {arn} is not supported."
                )));
            }
        }
    }
    Ok(())
}

fn apply(
    mut config: EventInvokeConfig,
    req: EventInvokeConfigRequest,
) -> ApiResult<EventInvokeConfig> {
    check_config_request(&req)?;
    if let Some(n) = req.maximum_retry_attempts {
        config.maximum_retry_attempts = Some(u32::try_from(n).unwrap_or(0));
    }
    if let Some(n) = req.maximum_event_age_in_seconds {
        config.maximum_event_age_seconds = Some(u32::try_from(n).unwrap_or(0));
    }
    if let Some(d) = req.destination_config {
        check_destinations(&d)?;
        if d.on_success.destination.is_some() {
            config.destinations.on_success = d.on_success;
        }
        if d.on_failure.destination.is_some() {
            config.destinations.on_failure = d.on_failure;
        }
    }
    config.last_modified = lamina_types::time::now().unix_timestamp();
    Ok(config)
}

fn empty(function: &str, qualifier: &str) -> EventInvokeConfig {
    EventInvokeConfig {
        function_name: function.to_owned(),
        qualifier: qualifier.to_owned(),
        maximum_retry_attempts: None,
        maximum_event_age_seconds: None,
        destinations: DestinationConfig {
            on_success: Destination::default(),
            on_failure: Destination::default(),
        },
        last_modified: 0,
    }
}

/// `PUT`: replaces the whole configuration.
pub async fn put(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<QualifierQuery>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let req: EventInvokeConfigRequest = parse_body(&body)?;
    let (function, qualifier) = target(&state, &name, &query).await?;
    let nothing = req.maximum_retry_attempts.is_none()
        && req.maximum_event_age_in_seconds.is_none()
        && req.destination_config.as_ref().is_none_or(|d| {
            d.on_success.destination.is_none() && d.on_failure.destination.is_none()
        });
    if nothing {
        return Err(ApiError::invalid(
            "You must specify at least one of error handling or destination setting.",
        ));
    }
    let config = apply(empty(&function, &qualifier), req)?;
    state.store.put_event_invoke_config(&config).await?;
    Ok(Json(config_json(&state, &config)))
}

/// `POST`: merges into the existing configuration (or creates one).
pub async fn update(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<QualifierQuery>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let req: EventInvokeConfigRequest = parse_body(&body)?;
    let (function, qualifier) = target(&state, &name, &query).await?;
    let current = state
        .store
        .event_invoke_config(&function, &qualifier)
        .await?
        .unwrap_or_else(|| empty(&function, &qualifier));
    let config = apply(current, req)?;
    state.store.put_event_invoke_config(&config).await?;
    Ok(Json(config_json(&state, &config)))
}

fn missing(state: &AppState, function: &str, qualifier: &str) -> ApiError {
    ApiError::not_found(format!(
        "The function {}:{qualifier} doesn't have an EventInvokeConfig",
        arn(state, function)
    ))
}

pub async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<QualifierQuery>,
) -> ApiResult<Json<Value>> {
    let (function, qualifier) = target(&state, &name, &query).await?;
    let config = state
        .store
        .event_invoke_config(&function, &qualifier)
        .await?
        .ok_or_else(|| missing(&state, &function, &qualifier))?;
    Ok(Json(config_json(&state, &config)))
}

pub async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<QualifierQuery>,
) -> ApiResult<StatusCode> {
    let (function, qualifier) = target(&state, &name, &query).await?;
    if !state
        .store
        .delete_event_invoke_config(&function, &qualifier)
        .await?
    {
        return Err(missing(&state, &function, &qualifier));
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(rename = "Marker")]
    marker: Option<String>,
    #[serde(rename = "MaxItems")]
    max_items: Option<i64>,
}

pub async fn list(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let (function, _) = target(&state, &name, &QualifierQuery::default()).await?;
    let max = page_size(query.max_items)?;
    let marker = query.marker.unwrap_or_default();
    let mut configs: Vec<EventInvokeConfig> = state
        .store
        .list_event_invoke_configs(&function)
        .await?
        .into_iter()
        .filter(|c| c.qualifier > marker)
        .collect();
    let next = (configs.len() > max).then(|| {
        configs.truncate(max);
        configs
            .last()
            .map(|c| c.qualifier.clone())
            .unwrap_or_default()
    });
    let items: Vec<Value> = configs.iter().map(|c| config_json(&state, c)).collect();
    let mut body = json!({ "FunctionEventInvokeConfigs": items });
    if let Some(n) = next {
        body["NextMarker"] = json!(n);
    }
    Ok(Json(body))
}
