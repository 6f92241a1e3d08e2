//! Function settings stored beside the configuration:
//! `/2024-08-31/functions/{name}/recursion-config` (Put/GetFunctionRecursionConfig, for the
//! whole function) and `/2021-07-20/functions/{name}/runtime-management-config`
//! (Put/GetRuntimeManagementConfig, per version). Lamina stores and returns them; neither
//! changes how functions run yet (there is no recursion across services to detect, and every
//! runtime has one version).

use axum::Json;
use axum::extract::{Path, Query, State};
use bytes::Bytes;
use lamina_store::StoreError;
use lamina_types::FunctionRef;
use lamina_types::arn::NameUse;
use lamina_types::settings::{
    RECURSIVE_LOOP_DEFAULT, RecursionConfigRequest, RuntimeManagement, RuntimeManagementRequest,
    check_unqualified_name,
};
use serde_json::{Value, json};

use super::get::QualifierQuery;
use super::resolve::resolve;
use super::{arn, function_ref, load, not_found, parse_body};
use crate::error::ApiResult;
use crate::state::AppState;

/// A function name the recursion config operations accept: unqualified, in any form.
fn unqualified(state: &AppState, raw: &str) -> ApiResult<FunctionRef> {
    check_unqualified_name(raw)?;
    function_ref(state, raw, NameUse::Manage)
}

/// `PUT .../recursion-config`: PutFunctionRecursionConfig.
pub async fn put_recursion_config(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let fref = unqualified(&state, &name)?;
    let req: RecursionConfigRequest = parse_body(&body)?;
    let value = req.recursive_loop()?;
    match state.store.put_recursion_config(&fref.name, &value).await {
        Ok(()) => Ok(Json(json!({ "RecursiveLoop": value }))),
        Err(StoreError::NotFound { .. }) => Err(not_found(&state, &fref.name, None)),
        Err(e) => Err(e.into()),
    }
}

/// `GET .../recursion-config`: GetFunctionRecursionConfig (`Terminate` unless put).
pub async fn get_recursion_config(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let fref = unqualified(&state, &name)?;
    load(&state, &fref.name).await?;
    let value = state
        .store
        .recursion_config(&fref.name)
        .await?
        .unwrap_or_else(|| RECURSIVE_LOOP_DEFAULT.to_owned());
    Ok(Json(json!({ "RecursiveLoop": value })))
}

/// The version a runtime management request is about (`$LATEST` or a number; an alias
/// stands for its version) and the ARN its response names.
async fn runtime_target(
    state: &AppState,
    raw: &str,
    query: &QualifierQuery,
) -> ApiResult<(FunctionRef, String, String)> {
    let fref = function_ref(state, raw, NameUse::Read)?
        .with_query_qualifier(query.qualifier.as_deref())?;
    let resolved = resolve(state, &fref).await?;
    let mut function_arn = arn(state, &fref.name);
    if let Some(q) = &fref.qualifier {
        function_arn.push(':');
        function_arn.push_str(q);
    }
    Ok((fref, resolved.version, function_arn))
}

fn runtime_body(config: &RuntimeManagement, function_arn: &str) -> Value {
    let mut body = json!({
        "UpdateRuntimeOn": config.update_runtime_on,
        "FunctionArn": function_arn,
    });
    if let Some(a) = &config.runtime_version_arn {
        body["RuntimeVersionArn"] = json!(a);
    }
    body
}

/// `PUT .../runtime-management-config`: PutRuntimeManagementConfig.
pub async fn put_runtime_management_config(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<QualifierQuery>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let req: RuntimeManagementRequest = parse_body(&body)?;
    let config = req.validate()?;
    let (fref, version, function_arn) = runtime_target(&state, &name, &query).await?;
    match state
        .store
        .put_runtime_management_config(&fref.name, &version, &config)
        .await
    {
        Ok(()) => Ok(Json(runtime_body(&config, &function_arn))),
        Err(StoreError::NotFound { .. }) => {
            Err(not_found(&state, &fref.name, fref.qualifier.as_deref()))
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET .../runtime-management-config`: GetRuntimeManagementConfig (`Auto` unless put).
pub async fn get_runtime_management_config(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<QualifierQuery>,
) -> ApiResult<Json<Value>> {
    let (fref, version, function_arn) = runtime_target(&state, &name, &query).await?;
    let config = state
        .store
        .runtime_management_config(&fref.name, &version)
        .await?
        .unwrap_or_default();
    Ok(Json(runtime_body(&config, &function_arn)))
}
