//! `GET /2015-03-31/functions/{name}` (GetFunction) and `.../configuration`
//! (GetFunctionConfiguration).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use lamina_types::arn::NameUse;
use lamina_types::model::FunctionConfiguration;
use serde::Deserialize;
use serde_json::{Value, json};

use super::resolve::Resolved;
use super::{View, code, configuration, function_ref};
use crate::error::ApiResult;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct QualifierQuery {
    #[serde(rename = "Qualifier")]
    pub qualifier: Option<String>,
}

/// Resolves a readable function and qualifier.
async fn resolve(state: &AppState, raw: &str, query: &QualifierQuery) -> ApiResult<Resolved> {
    let fref = function_ref(state, raw, NameUse::Read)?
        .with_query_qualifier(query.qualifier.as_deref())?;
    super::resolve::resolve(state, &fref).await
}

pub async fn get_function(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<QualifierQuery>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let r = resolve(&state, &name, &query).await?;
    let rec = &r.record;
    let mut body = json!({
        "Configuration": configuration(&state, rec, r.qualifier.as_deref(), &r.version, View::Full),
        "Code": {
            "RepositoryType": "S3",
            "Location": code::location(&state, &headers, &rec.code_sha256_hex),
        },
    });
    if let Some(n) = state.store.reserved_concurrency(&rec.name).await? {
        body["Concurrency"] = json!({ "ReservedConcurrentExecutions": n });
    }
    if r.qualifier.is_none() && !rec.tags.is_empty() {
        body["Tags"] = json!(rec.tags);
    }
    Ok(Json(body))
}

pub async fn get_function_configuration(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<QualifierQuery>,
) -> ApiResult<Json<FunctionConfiguration>> {
    let r = resolve(&state, &name, &query).await?;
    Ok(Json(configuration(
        &state,
        &r.record,
        r.qualifier.as_deref(),
        &r.version,
        View::Full,
    )))
}
