//! `GET /2015-03-31/functions/{name}` (GetFunction) and `.../configuration`
//! (GetFunctionConfiguration).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use lamina_types::arn::NameUse;
use lamina_types::model::{FunctionConfiguration, FunctionRecord};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{View, code, configuration, function_ref, not_found};
use crate::error::ApiResult;
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct QualifierQuery {
    #[serde(rename = "Qualifier")]
    pub qualifier: Option<String>,
}

/// Resolves a readable function and qualifier. Only `$LATEST` exists until versions land.
async fn resolve(
    state: &AppState,
    raw: &str,
    query: &QualifierQuery,
) -> ApiResult<(FunctionRecord, Option<String>)> {
    let fref = function_ref(state, raw, NameUse::Read)?
        .with_query_qualifier(query.qualifier.as_deref())?;
    let rec = state.store.get_function(&fref.name).await?;
    match (rec, fref.qualifier) {
        (Some(rec), None) => Ok((rec, None)),
        (Some(rec), Some(q)) if q == "$LATEST" => Ok((rec, Some(q))),
        (_, q) => Err(not_found(state, &fref.name, q.as_deref())),
    }
}

pub async fn get_function(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<QualifierQuery>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let (rec, qualifier) = resolve(&state, &name, &query).await?;
    let mut body = json!({
        "Configuration": configuration(&state, &rec, qualifier.as_deref(), View::Full),
        "Code": {
            "RepositoryType": "S3",
            "Location": code::location(&state, &headers, &rec.code_sha256_hex),
        },
    });
    if !rec.tags.is_empty() {
        body["Tags"] = json!(rec.tags);
    }
    Ok(Json(body))
}

pub async fn get_function_configuration(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<QualifierQuery>,
) -> ApiResult<Json<FunctionConfiguration>> {
    let (rec, qualifier) = resolve(&state, &name, &query).await?;
    Ok(Json(configuration(
        &state,
        &rec,
        qualifier.as_deref(),
        View::Full,
    )))
}
