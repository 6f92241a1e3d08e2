//! `POST /2015-03-31/functions`: CreateFunction.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use lamina_store::StoreError;
use lamina_types::arn::NameUse;
use lamina_types::model::{
    CreateFunctionRequest, FunctionConfiguration, FunctionRecord, State as FnState, UpdateStatus,
};
use lamina_types::validate;

use super::{View, code, configuration, function_ref, new_revision, parse_body};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub async fn create_function(
    State(state): State<AppState>,
    _headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<FunctionConfiguration>)> {
    let req: CreateFunctionRequest = parse_body(&body)?;
    let Some(raw_name) = req.function_name.clone() else {
        return Err(ApiError::User(lamina_types::UserError::validation(
            "null",
            "functionName",
            "Member must not be null",
        )));
    };
    let fref = function_ref(&state, &raw_name, NameUse::Create)?;
    if fref.qualifier.is_some() {
        return Err(ApiError::invalid(
            "A function name given to CreateFunction cannot carry a version or alias qualifier.",
        ));
    }
    let name = fref.name;
    let new = validate::create(req, &name, &state.config.limits)?;
    let publish = new.publish;
    if state.store.get_function(&name).await?.is_some() {
        return Err(already_exists(&name));
    }

    let _guard = state.code_lock.lock().await;
    let mut config = new.config;
    config.layers = crate::layers::resolve_for_function(&state, &new.layers).await?;
    let stored = code::store_zip(&state, new.zip, 0, &config.layers).await?;
    let rec = FunctionRecord {
        name: name.clone(),
        config,
        environment: new.environment,
        code_sha256_hex: stored.sha256_hex,
        code_size: stored.size,
        revision_id: new_revision(),
        last_modified: lamina_types::time::lambda_timestamp(lamina_types::time::now()),
        state: FnState::Pending,
        last_update_status: UpdateStatus::Successful,
        tags: new.tags,
    };
    match state.store.create_function(&rec).await {
        Ok(()) => {}
        Err(StoreError::AlreadyExists { .. }) => {
            code::collect_if_unreferenced(&state, &rec.code_sha256_hex).await?;
            return Err(already_exists(&name));
        }
        Err(e) => {
            code::collect_if_unreferenced(&state, &rec.code_sha256_hex).await?;
            return Err(e.into());
        }
    }
    drop(_guard);
    tracing::info!(function = %name, code_sha256 = %rec.code_sha256_hex, "function created");
    let version = if publish {
        super::versions::publish(&state, &rec, None)
            .await?
            .0
            .to_string()
    } else {
        "$LATEST".to_owned()
    };
    code::spawn_settle(state.clone(), name);
    Ok((
        StatusCode::CREATED,
        Json(configuration(&state, &rec, None, &version, View::Full)),
    ))
}

fn already_exists(name: &str) -> ApiError {
    ApiError::conflict(format!("Function already exist: {name}"))
}
