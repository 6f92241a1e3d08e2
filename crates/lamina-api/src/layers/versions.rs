//! PublishLayerVersion, GetLayerVersion, GetLayerVersionByArn, ListLayers, ListLayerVersions
//! and DeleteLayerVersion.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use bytes::Bytes;
use lamina_types::UserError;
use lamina_types::layer::{
    LayerVersionArn, LayerVersionRecord, ListLayersQuery, PublishLayerVersionRequest,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{layer_arn, list_item, local_name, version_json, version_number};
use crate::error::{ApiError, ApiResult};
use crate::functions::{code, new_revision, parse_body};
use crate::state::AppState;

fn resource_not_found() -> ApiError {
    ApiError::not_found("The resource you requested does not exist.")
}

/// `POST /2018-10-31/layers/{LayerName}/versions`.
pub async fn publish_layer_version(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: PublishLayerVersionRequest = parse_body(&body)?;
    let (_, local) = local_name(&state, &name)?;
    let Some(layer) = local else {
        return Err(ApiError::User(UserError::AccessDenied(format!(
            "The layer {name} is not in this Lamina's region and account ({}, {}): layers can only be published here.",
            state.config.region, state.config.account_id
        ))));
    };
    let new = req.validate(&state.config.limits)?;

    let guard = state.code_lock.lock().await;
    let stored = code::store_zip(&state, new.zip, 0, &[]).await?;
    let draft = LayerVersionRecord {
        layer_name: layer.clone(),
        version: 0,
        description: new.description,
        license_info: new.license_info,
        compatible_runtimes: new.compatible_runtimes,
        compatible_architectures: new.compatible_architectures,
        code_sha256_hex: stored.sha256_hex.clone(),
        code_size: stored.size,
        unzipped_size: stored.unzipped_size,
        created_date: lamina_types::time::lambda_timestamp(lamina_types::time::now()),
        policy_revision_id: new_revision(),
    };
    let published = match state.store.publish_layer_version(&draft).await {
        Ok(rec) => rec,
        Err(e) => {
            code::collect_if_unreferenced(&state, &stored.sha256_hex).await?;
            return Err(e.into());
        }
    };
    drop(guard);
    tracing::info!(layer = %layer, version = published.version, "layer version published");
    Ok((
        StatusCode::CREATED,
        Json(version_json(&state, &headers, &published)),
    ))
}

/// `GET /2018-10-31/layers/{LayerName}/versions/{VersionNumber}`.
pub async fn get_layer_version(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    let (_, local) = local_name(&state, &name)?;
    let version = version_number(&version)?;
    let Some(layer) = local else {
        return Err(resource_not_found());
    };
    let rec = state
        .store
        .get_layer_version(&layer, version)
        .await?
        .ok_or_else(resource_not_found)?;
    Ok(Json(version_json(&state, &headers, &rec)))
}

/// The query of `GET /2018-10-31/layers`: ListLayers, or GetLayerVersionByArn with
/// `find=LayerVersion`.
#[derive(Debug, Default, Deserialize)]
pub struct LayersQuery {
    find: Option<String>,
    #[serde(rename = "Arn")]
    arn: Option<String>,
    #[serde(rename = "CompatibleRuntime")]
    compatible_runtime: Option<String>,
    #[serde(rename = "CompatibleArchitecture")]
    compatible_architecture: Option<String>,
    #[serde(rename = "Marker")]
    marker: Option<String>,
    #[serde(rename = "MaxItems")]
    max_items: Option<String>,
}

/// `GET /2018-10-31/layers`: one path, two operations told apart by the `find` query key.
pub async fn layers_root(
    State(state): State<AppState>,
    Query(query): Query<LayersQuery>,
    headers: HeaderMap,
) -> ApiResult<Json<Value>> {
    if query.find.is_some() {
        return get_layer_version_by_arn(&state, &headers, query.arn.as_deref()).await;
    }
    let list = ListLayersQuery {
        compatible_runtime: query.compatible_runtime,
        compatible_architecture: query.compatible_architecture,
        marker: query.marker,
        max_items: query.max_items,
    };
    list_layers(&state, &list).await
}

/// `GET /2018-10-31/layers?find=LayerVersion&Arn=…`: GetLayerVersionByArn.
async fn get_layer_version_by_arn(
    state: &AppState,
    headers: &HeaderMap,
    arn: Option<&str>,
) -> ApiResult<Json<Value>> {
    let Some(arn) = arn else {
        return Err(UserError::Validation(vec![
            "Value null at 'arn' failed to satisfy constraint: Member must not be null".into(),
        ])
        .into());
    };
    let parsed = LayerVersionArn::parse_query(arn)?;
    let version = lamina_types::layer::check_version_number(
        i64::try_from(parsed.version).unwrap_or(i64::MAX),
    )?;
    if parsed.region != state.config.region || parsed.account != state.config.account_id {
        return Err(resource_not_found());
    }
    let rec = state
        .store
        .get_layer_version(&parsed.name, version)
        .await?
        .ok_or_else(resource_not_found)?;
    Ok(Json(version_json(state, headers, &rec)))
}

/// ListLayers: every layer with a version matching the filters, with its latest such version.
async fn list_layers(state: &AppState, query: &ListLayersQuery) -> ApiResult<Json<Value>> {
    let max = query.page_size()?;
    let runtime = query.compatible_runtime.as_deref();
    let architecture = query.compatible_architecture.as_deref();
    let marker = query.marker().unwrap_or_default();
    // Newest first within each layer, so the first match of a layer is its latest one.
    let mut items: Vec<(String, Value)> = Vec::new();
    for rec in state.store.list_layer_versions(None).await? {
        if rec.layer_name.as_str() <= marker
            || items.last().is_some_and(|(n, _)| *n == rec.layer_name)
            || !rec.matches(runtime, architecture)
        {
            continue;
        }
        let item = json!({
            "LayerName": rec.layer_name,
            "LayerArn": layer_arn(state, &rec.layer_name),
            "LatestMatchingVersion": list_item(state, &rec),
        });
        items.push((rec.layer_name.clone(), item));
        if items.len() > max {
            break;
        }
    }
    let next = (items.len() > max).then(|| {
        items.truncate(max);
        items.last().map(|(n, _)| n.clone()).unwrap_or_default()
    });
    let layers: Vec<Value> = items.into_iter().map(|(_, v)| v).collect();
    let mut body = json!({ "Layers": layers });
    if let Some(n) = next {
        body["NextMarker"] = json!(n);
    }
    Ok(Json(body))
}

/// `GET /2018-10-31/layers/{LayerName}/versions`: ListLayerVersions, newest first.
pub async fn list_layer_versions(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<ListLayersQuery>,
) -> ApiResult<Json<Value>> {
    let (_, local) = local_name(&state, &name)?;
    let max = query.page_size()?;
    let after: Option<u64> = match query.marker() {
        None => None,
        Some(m) => Some(
            m.parse()
                .map_err(|_| ApiError::invalid(format!("Invalid marker: {m}")))?,
        ),
    };
    let versions = match &local {
        Some(layer) => state.store.list_layer_versions(Some(layer)).await?,
        None => Vec::new(),
    };
    let mut page: Vec<LayerVersionRecord> = versions
        .into_iter()
        .filter(|v| after.is_none_or(|a| v.version < a))
        .filter(|v| {
            v.matches(
                query.compatible_runtime.as_deref(),
                query.compatible_architecture.as_deref(),
            )
        })
        .take(max + 1)
        .collect();
    let next = (page.len() > max).then(|| {
        page.truncate(max);
        page.last()
            .map(|v| v.version.to_string())
            .unwrap_or_default()
    });
    let items: Vec<Value> = page.iter().map(|v| list_item(&state, v)).collect();
    let mut body = json!({ "LayerVersions": items });
    if let Some(n) = next {
        body["NextMarker"] = json!(n);
    }
    Ok(Json(body))
}

/// `DELETE /2018-10-31/layers/{LayerName}/versions/{VersionNumber}`: 204 even when there is
/// no such version. Functions that use the version keep it (and its blob).
pub async fn delete_layer_version(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let (_, local) = local_name(&state, &name)?;
    let version = version_number(&version)?;
    let Some(layer) = local else {
        return Ok(StatusCode::NO_CONTENT);
    };
    let guard = state.code_lock.lock().await;
    if let Some(deleted) = state.store.delete_layer_version(&layer, version).await? {
        code::collect_if_unreferenced(&state, &deleted.code_sha256_hex).await?;
        tracing::info!(layer = %layer, version, "layer version deleted");
    }
    drop(guard);
    Ok(StatusCode::NO_CONTENT)
}
