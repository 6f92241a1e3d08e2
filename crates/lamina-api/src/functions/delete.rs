//! `DELETE /2015-03-31/functions/{name}`: DeleteFunction.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use lamina_types::arn::NameUse;

use super::get::QualifierQuery;
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
        Some(q) => {
            // Deleting a version that does not exist is a no-op on AWS, if the function exists.
            return match state.store.get_function(&fref.name).await? {
                Some(_) => Ok(StatusCode::NO_CONTENT),
                None => Err(not_found(&state, &fref.name, Some(q))),
            };
        }
        None => {}
    }
    let guard = state.code_lock.lock().await;
    let Some(deleted) = state.store.delete_function(&fref.name).await? else {
        return Err(not_found(&state, &fref.name, None));
    };
    code::collect_if_unreferenced(&state, &deleted.code_sha256_hex).await?;
    drop(guard);
    state.engine.retire(&fref.name).await;
    tracing::info!(function = %fref.name, "function deleted");
    Ok(StatusCode::NO_CONTENT)
}
