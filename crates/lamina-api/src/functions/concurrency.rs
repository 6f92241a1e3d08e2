//! Reserved concurrency (Put/Get/DeleteFunctionConcurrency) and provisioned concurrency
//! (Put/Get/Delete/ListProvisionedConcurrencyConfigs), which really pre-initialises
//! environments.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use bytes::Bytes;
use lamina_types::UserError;
use lamina_types::arn::NameUse;
use lamina_types::model::ProvisionedConfig;
use serde::Deserialize;
use serde_json::{Value, json};

use super::invoke::snapshot;
use super::resolve::resolve;
use super::{arn, function_ref, load, parse_body};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

fn unqualified_only() -> ApiError {
    ApiError::invalid(
        "This operation is permitted on Lambda functions only. Aliases and versions do not support this operation. Please specify either a function name or an unqualified function ARN.",
    )
}

/// The function a reserved-concurrency operation targets (must be unqualified).
async fn function_name(state: &AppState, raw: &str) -> ApiResult<String> {
    let fref = function_ref(state, raw, NameUse::Manage)?;
    if fref.qualifier.is_some() {
        return Err(unqualified_only());
    }
    Ok(load(state, &fref.name).await?.name)
}

/// Tells the engine how much concurrency is reserved in all.
pub async fn sync_reserved_total(state: &AppState) -> ApiResult<()> {
    let total = state.store.reserved_concurrency_total().await?;
    state.engine.set_reserved_total(total);
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutConcurrency {
    reserved_concurrent_executions: Option<i64>,
}

pub async fn put_function_concurrency(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let req: PutConcurrency = parse_body(&body)?;
    let Some(n) = req.reserved_concurrent_executions else {
        return Err(UserError::validation(
            "null",
            "reservedConcurrentExecutions",
            "Member must not be null",
        )
        .into());
    };
    if n < 0 {
        return Err(UserError::validation(
            &n.to_string(),
            "reservedConcurrentExecutions",
            "Member must have value greater than or equal to 0",
        )
        .into());
    }
    let name = function_name(&state, &name).await?;
    let limits = &state.config.limits;
    let others = state.store.reserved_concurrency_total().await?
        - state.store.reserved_concurrency(&name).await?.unwrap_or(0);
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    if u64::from(others) + u64::from(n) + u64::from(limits.min_unreserved_concurrency)
        > u64::from(limits.concurrent_executions)
    {
        return Err(ApiError::invalid(format!(
            "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{}].",
            limits.min_unreserved_concurrency
        )));
    }
    state.store.put_reserved_concurrency(&name, Some(n)).await?;
    sync_reserved_total(&state).await?;
    Ok(Json(json!({ "ReservedConcurrentExecutions": n })))
}

pub async fn get_function_concurrency(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let name = function_name(&state, &name).await?;
    Ok(Json(
        match state.store.reserved_concurrency(&name).await? {
            Some(n) => json!({ "ReservedConcurrentExecutions": n }),
            None => json!({}),
        },
    ))
}

pub async fn delete_function_concurrency(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    let name = function_name(&state, &name).await?;
    state.store.put_reserved_concurrency(&name, None).await?;
    sync_reserved_total(&state).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
pub struct ProvisionedQuery {
    #[serde(rename = "Qualifier")]
    qualifier: Option<String>,
    #[serde(rename = "List")]
    list: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutProvisioned {
    provisioned_concurrent_executions: Option<i64>,
}

fn config_not_found() -> ApiError {
    ApiError::ProvisionedConcurrencyConfigNotFound(
        "No Provisioned Concurrency Config found for this function".into(),
    )
}

/// The engine's key for a provisioned target.
fn target(name: &str, qualifier: &str) -> String {
    format!("{name}:{qualifier}")
}

/// Starts (in the background) the environments of one configuration.
pub async fn start_provisioning(state: &AppState, config: &ProvisionedConfig) -> ApiResult<()> {
    let fref = lamina_types::FunctionRef {
        name: config.function_name.clone(),
        qualifier: Some(config.qualifier.clone()),
        region: None,
        account: None,
    };
    let resolved = resolve(state, &fref).await?;
    super::code::ensure_unpacked(state, &resolved.record.code_sha256_hex)
        .await
        .map_err(ApiError::Internal)?;
    crate::layers::opt::ensure_merged(state, &resolved.record.config.layers)
        .await
        .map_err(ApiError::Internal)?;
    let function = Arc::new(snapshot(state, &resolved.record, &resolved.version));
    let engine = Arc::clone(&state.engine);
    let (t, count) = (
        target(&config.function_name, &config.qualifier),
        config.requested,
    );
    tokio::spawn(async move { engine.provision(&t, function, count).await });
    Ok(())
}

fn config_json(state: &AppState, c: &ProvisionedConfig, with_arn: bool) -> Value {
    let status = state
        .engine
        .provision_status(&target(&c.function_name, &c.qualifier))
        .unwrap_or_default();
    let ready = status.allocated >= c.requested;
    let mut v = json!({
        "RequestedProvisionedConcurrentExecutions": c.requested,
        "AvailableProvisionedConcurrentExecutions": status.allocated.min(c.requested),
        "AllocatedProvisionedConcurrentExecutions": status.allocated.min(c.requested),
        "Status": if ready { "READY" } else { "IN_PROGRESS" },
        "LastModified": c.last_modified,
    });
    if with_arn {
        v["FunctionArn"] = json!(format!("{}:{}", arn(state, &c.function_name), c.qualifier));
    }
    v
}

/// The function and the qualifier (a version or alias that exists) a provisioned
/// configuration operation names.
async fn provisioned_target(
    state: &AppState,
    raw: &str,
    qualifier: Option<&str>,
) -> ApiResult<(String, String)> {
    let fref = function_ref(state, raw, NameUse::Manage)?.with_query_qualifier(qualifier)?;
    let Some(q) = fref.qualifier.clone() else {
        return Err(UserError::validation("null", "qualifier", "Member must not be null").into());
    };
    if q == "$LATEST" {
        return Err(ApiError::invalid(
            "Provisioned Concurrency Configs cannot be applied to unpublished function versions.",
        ));
    }
    resolve(state, &fref).await?;
    Ok((fref.name, q))
}

pub async fn put_provisioned(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<ProvisionedQuery>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: PutProvisioned = parse_body(&body)?;
    let (name, qualifier) = provisioned_target(&state, &name, query.qualifier.as_deref()).await?;
    let n = match req.provisioned_concurrent_executions {
        None => {
            return Err(UserError::validation(
                "null",
                "provisionedConcurrentExecutions",
                "Member must not be null",
            )
            .into());
        }
        Some(n) if n < 1 => {
            return Err(UserError::validation(
                &n.to_string(),
                "provisionedConcurrentExecutions",
                "Member must have value greater than or equal to 1",
            )
            .into());
        }
        Some(n) => u32::try_from(n).unwrap_or(u32::MAX),
    };
    if let Some(reserved) = state.store.reserved_concurrency(&name).await?
        && n > reserved
    {
        return Err(ApiError::invalid(
            "Requested Provisioned Concurrency should not be greater than the reservedConcurrentExecution for function",
        ));
    }
    let config = ProvisionedConfig {
        function_name: name,
        qualifier,
        requested: n,
        last_modified: lamina_types::time::lambda_timestamp(lamina_types::time::now()),
    };
    state.store.put_provisioned(&config).await?;
    start_provisioning(&state, &config).await?;
    let mut body = config_json(&state, &config, false);
    body["Status"] = json!("IN_PROGRESS");
    Ok((StatusCode::ACCEPTED, Json(body)))
}

pub async fn get_provisioned(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<ProvisionedQuery>,
) -> ApiResult<Json<Value>> {
    if query.list.as_deref() == Some("ALL") {
        return list_provisioned(&state, &name).await;
    }
    let (name, qualifier) = provisioned_target(&state, &name, query.qualifier.as_deref()).await?;
    let config = state
        .store
        .get_provisioned(&name, &qualifier)
        .await?
        .ok_or_else(config_not_found)?;
    Ok(Json(config_json(&state, &config, false)))
}

async fn list_provisioned(state: &AppState, raw: &str) -> ApiResult<Json<Value>> {
    let name = function_name(state, raw).await?;
    let configs: Vec<Value> = state
        .store
        .list_provisioned(Some(&name))
        .await?
        .iter()
        .map(|c| config_json(state, c, true))
        .collect();
    Ok(Json(json!({ "ProvisionedConcurrencyConfigs": configs })))
}

pub async fn delete_provisioned(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<ProvisionedQuery>,
) -> ApiResult<StatusCode> {
    let (name, qualifier) = provisioned_target(&state, &name, query.qualifier.as_deref()).await?;
    if !state.store.delete_provisioned(&name, &qualifier).await? {
        return Err(config_not_found());
    }
    state.engine.deprovision(&target(&name, &qualifier)).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Stops every provisioned target of a function (before it is deleted).
pub async fn deprovision_function(state: &AppState, name: &str) -> ApiResult<()> {
    for c in state.store.list_provisioned(Some(name)).await? {
        state.engine.deprovision(&target(name, &c.qualifier)).await;
    }
    Ok(())
}
