//! Lamina's own operator endpoints (not part of the Lambda API), under `/_lamina/admin`,
//! authenticated like every other request.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::state::AppState;

/// `GET /_lamina/admin/environments`: how many execution environments exist and are busy.
pub async fn environments(State(state): State<AppState>) -> Json<Value> {
    state.engine.settle().await;
    let s = state.engine.stats();
    Json(json!({
        "Live": s.live_environments,
        "Idle": s.idle_environments,
        "InFlight": s.in_flight,
    }))
}

/// `GET /_lamina/admin/async`: the async queue's depth, oldest event age and failures.
pub async fn async_queue(State(state): State<AppState>) -> crate::error::ApiResult<Json<Value>> {
    Ok(Json(crate::async_invoke::stats(&state).await?))
}
