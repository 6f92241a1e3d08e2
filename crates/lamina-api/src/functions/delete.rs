//! `DELETE /2015-03-31/functions/{name}`: DeleteFunction.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use lamina_types::arn::NameUse;

use super::get::QualifierQuery;
use super::resolve::version_number;
use super::{code, function_ref, not_found};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub async fn delete_function(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<QualifierQuery>,
) -> ApiResult<StatusCode> {
    let fref = function_ref(&state, &name, NameUse::Manage)?
        .with_query_qualifier(query.qualifier.as_deref())?;
    match fref.qualifier.as_deref() {
        Some("$LATEST") => {
            return Err(ApiError::invalid(
                "$LATEST version cannot be deleted without deleting the function.",
            ));
        }
        Some(q) => return delete_version(&state, &fref.name, q).await,
        None => {}
    }
    let versions = state.store.list_versions(&fref.name, 0, usize::MAX).await?;
    super::concurrency::deprovision_function(&state, &fref.name).await?;
    let guard = state.code_lock.lock().await;
    let Some(deleted) = state.store.delete_function(&fref.name).await? else {
        return Err(not_found(&state, &fref.name, None));
    };
    // The code of every version and of $LATEST, and the layers they used.
    let records = versions.iter().map(|v| &v.function).chain([&deleted]);
    let mut blobs: Vec<&str> = records
        .flat_map(|r| {
            std::iter::once(r.code_sha256_hex.as_str())
                .chain(r.config.layers.iter().map(|l| l.code_sha256_hex.as_str()))
        })
        .collect();
    blobs.sort_unstable();
    blobs.dedup();
    for sha in blobs {
        code::collect_if_unreferenced(&state, sha).await?;
    }
    drop(guard);
    super::concurrency::sync_reserved_total(&state).await?;
    state.engine.retire(&format!("{}:", fref.name)).await;
    tracing::info!(function = %fref.name, "function deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// `DeleteFunction` with a version qualifier. Deleting a version that does not exist is a
/// no-op on AWS, if the function exists; a version an alias uses cannot be deleted.
async fn delete_version(state: &AppState, name: &str, qualifier: &str) -> ApiResult<StatusCode> {
    if state.store.get_function(name).await?.is_none() {
        return Err(not_found(state, name, Some(qualifier)));
    }
    let Some(version) = version_number(qualifier) else {
        return Ok(StatusCode::NO_CONTENT);
    };
    let users: Vec<String> = state
        .store
        .list_aliases(name)
        .await?
        .into_iter()
        .filter(|a| a.function_version == qualifier || a.routing.contains_key(qualifier))
        .map(|a| a.name)
        .collect();
    if !users.is_empty() {
        return Err(ApiError::conflict(format!(
            "Unable to delete version because the following aliases reference it: [{}]",
            users.join(", ")
        )));
    }
    if state.store.delete_provisioned(name, qualifier).await? {
        state
            .engine
            .deprovision(&format!("{name}:{qualifier}"))
            .await;
    }
    let guard = state.code_lock.lock().await;
    if let Some(deleted) = state.store.delete_version(name, version).await? {
        code::collect_if_unreferenced(state, &deleted.function.code_sha256_hex).await?;
        for layer in &deleted.function.config.layers {
            code::collect_if_unreferenced(state, &layer.code_sha256_hex).await?;
        }
    }
    drop(guard);
    state.engine.retire(&format!("{name}:{version}:")).await;
    Ok(StatusCode::NO_CONTENT)
}
