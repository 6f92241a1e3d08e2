//! Lamina's own operator endpoints (not part of the Lambda API), under `/_lamina/admin`,
//! authenticated like every other request.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::state::AppState;

/// `GET /_lamina/admin/environments`: how many execution environments exist and are busy.
pub async fn environments(State(state): State<AppState>) -> Json<Value> {
    let s = state.engine.stats();
    Json(json!({
        "Live": s.live_environments,
        "Idle": s.idle_environments,
        "InFlight": s.in_flight,
    }))
}
