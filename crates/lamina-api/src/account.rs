//! `GET /2016-08-19/account-settings`: GetAccountSettings.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::error::ApiResult;
use crate::state::AppState;

pub async fn get_account_settings(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let limits = &state.config.limits;
    let usage = state.store.code_usage().await?;
    let reserved = state.store.reserved_concurrency_total().await?;
    Ok(Json(json!({
        "AccountLimit": {
            "TotalCodeSize": limits.total_code_max_bytes,
            "CodeSizeUnzipped": limits.code_unzipped_max_bytes,
            "CodeSizeZipped": limits.code_zipped_max_bytes,
            "ConcurrentExecutions": limits.concurrent_executions,
            "UnreservedConcurrentExecutions": limits.concurrent_executions.saturating_sub(reserved),
        },
        "AccountUsage": {
            "TotalCodeSize": usage.total_code_size,
            "FunctionCount": usage.function_count,
        },
    })))
}
