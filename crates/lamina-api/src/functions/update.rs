//! `PUT .../code` (UpdateFunctionCode) and `PUT .../configuration` (UpdateFunctionConfiguration).

use axum::Json;
use axum::extract::{Path, State};
use bytes::Bytes;
use lamina_store::StoreError;
use lamina_types::arn::NameUse;
use lamina_types::model::{
    FunctionConfiguration, FunctionRecord, UpdateFunctionCodeRequest,
    UpdateFunctionConfigurationRequest, UpdateStatus,
};
use lamina_types::validate;

use super::{
    View, check_revision, check_settled, code, configuration, function_ref, load, new_revision,
    parse_body,
};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Resolves the unqualified function an update targets.
async fn target(state: &AppState, raw: &str) -> ApiResult<FunctionRecord> {
    let fref = function_ref(state, raw, NameUse::Manage)?;
    if fref.qualifier.is_some() {
        return Err(ApiError::invalid(
            "Versions and aliases cannot be updated: pass the unqualified function name.",
        ));
    }
    load(state, &fref.name).await
}

/// Writes `next` over `current` (compare-and-swap), mapping a lost race to AWS's errors.
async fn save(state: &AppState, current: &FunctionRecord, next: &FunctionRecord) -> ApiResult<()> {
    match state
        .store
        .update_function(next, &current.revision_id)
        .await
    {
        Ok(()) => Ok(()),
        Err(StoreError::RevisionMismatch { .. }) => Err(ApiError::conflict(format!(
            "The operation cannot be performed at this time. An update is in progress for resource: {}",
            super::arn(state, &current.name)
        ))),
        Err(StoreError::NotFound { .. }) => Err(super::not_found(state, &current.name, None)),
        Err(e) => Err(e.into()),
    }
}

fn updated(current: &FunctionRecord) -> FunctionRecord {
    let mut next = current.clone();
    next.revision_id = new_revision();
    next.last_modified = lamina_types::time::lambda_timestamp(lamina_types::time::now());
    next.last_update_status = UpdateStatus::InProgress;
    next
}

pub async fn update_function_code(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Json<FunctionConfiguration>> {
    let req: UpdateFunctionCodeRequest = parse_body(&body)?;
    let current = target(&state, &name).await?;
    check_revision(&current, req.revision_id.as_deref())?;
    validate::code_architectures(req.architectures.as_deref())?;
    validate::check_code_source(
        req.zip_file.as_deref(),
        req.s3_bucket.as_deref(),
        req.s3_key.as_deref(),
        req.image_uri.as_deref(),
    )?;
    let zip = validate::decode_zip(
        req.zip_file.as_deref().unwrap_or_default(),
        &state.config.limits,
    )?;
    if req.dry_run == Some(true) {
        let checked =
            lamina_blobs::zipsafe::inspect(&zip, state.config.limits.code_unzipped_max_bytes);
        if checked.is_err() {
            return Err(ApiError::User(validate::unzip_error()));
        }
        return Ok(Json(configuration(
            &state,
            &current,
            None,
            "$LATEST",
            View::Full,
        )));
    }
    check_settled(&state, &current)?;

    let guard = state.code_lock.lock().await;
    let stored = code::store_zip(&state, zip, current.code_size, &current.config.layers).await?;
    let mut next = updated(&current);
    next.code_sha256_hex = stored.sha256_hex;
    next.code_size = stored.size;
    if let Some(archs) = req.architectures {
        next.config.architectures = archs;
    }
    let saved = save(&state, &current, &next).await;
    // Whichever blob lost its last reference (the old one, or the new one if the save failed).
    for sha in [&current.code_sha256_hex, &next.code_sha256_hex] {
        code::collect_if_unreferenced(&state, sha).await?;
    }
    drop(guard);
    saved?;
    state
        .engine
        .retire(&format!("{}:$LATEST:", next.name))
        .await;
    let version = if req.publish == Some(true) {
        super::versions::publish(&state, &next, None)
            .await?
            .0
            .to_string()
    } else {
        "$LATEST".to_owned()
    };
    code::spawn_settle(state.clone(), next.name.clone());
    Ok(Json(configuration(
        &state,
        &next,
        None,
        &version,
        View::Full,
    )))
}

pub async fn update_function_configuration(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<Json<FunctionConfiguration>> {
    let req: UpdateFunctionConfigurationRequest = parse_body(&body)?;
    let current = target(&state, &name).await?;
    check_revision(&current, req.revision_id.as_deref())?;
    let (config, environment) =
        validate::update_configuration(&current, &req, &state.config.limits)?;
    check_settled(&state, &current)?;
    let mut next = updated(&current);
    next.config = config;
    next.environment = environment;
    match &req.layers {
        None => save(&state, &current, &next).await?,
        Some(arns) => {
            // Resolved and saved under the code lock, so none of the layers' blobs can be
            // collected in between; the blobs of dropped layers are collected after.
            let guard = state.code_lock.lock().await;
            next.config.layers = crate::layers::resolve_for_function(&state, arns).await?;
            if !next.config.layers.is_empty() {
                let code = code::unzipped_size(&state, &current.code_sha256_hex).await?;
                crate::layers::check_combined_size(&state, code, &next.config.layers)?;
            }
            save(&state, &current, &next).await?;
            crate::layers::collect_dropped(&state, &current.config.layers, &next.config.layers)
                .await?;
            drop(guard);
        }
    }
    state
        .engine
        .retire(&format!("{}:$LATEST:", next.name))
        .await;
    code::spawn_settle(state.clone(), next.name.clone());
    Ok(Json(configuration(
        &state,
        &next,
        None,
        "$LATEST",
        View::Full,
    )))
}
