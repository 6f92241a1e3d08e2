//! `POST .../versions` (PublishVersion) and `GET .../versions` (ListVersionsByFunction).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use bytes::Bytes;
use lamina_store::StoreError;
use lamina_types::UserError;
use lamina_types::arn::NameUse;
use lamina_types::model::{FunctionConfiguration, FunctionRecord};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    View, check_revision, check_settled, code_sha256_b64, configuration, function_ref, load,
    new_revision, parse_body,
};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishVersionRequest {
    pub code_sha256: Option<String>,
    pub description: Option<String>,
    pub revision_id: Option<String>,
}

/// Whether publishing `latest` would only repeat `published` (same code, configuration and
/// environment; the description does not count).
fn unchanged(latest: &FunctionRecord, published: &FunctionRecord) -> bool {
    let mut a = latest.config.clone();
    a.description = published.config.description.clone();
    a == published.config
        && latest.code_sha256_hex == published.code_sha256_hex
        && latest.environment == published.environment
}

/// Publishes `$LATEST` of `rec` (idempotent when nothing changed since the last version).
pub async fn publish(
    state: &AppState,
    rec: &FunctionRecord,
    description: Option<&str>,
) -> ApiResult<(u64, FunctionRecord)> {
    if let Some(last) = state.store.latest_version(&rec.name).await?
        && unchanged(rec, &last.function)
    {
        return Ok((last.version, last.function));
    }
    match state
        .store
        .publish_version(&rec.name, &rec.revision_id, description, &new_revision())
        .await
    {
        Ok(v) => {
            tracing::info!(function = %rec.name, version = v.version, "version published");
            Ok((v.version, v.function))
        }
        Err(StoreError::RevisionMismatch { .. }) => Err(ApiError::User(
            UserError::PreconditionFailed("The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id".into()),
        )),
        Err(StoreError::NotFound { .. }) => Err(super::not_found(state, &rec.name, None)),
        Err(e) => Err(e.into()),
    }
}

pub async fn publish_version(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<FunctionConfiguration>)> {
    let req: PublishVersionRequest = parse_body(&body)?;
    let fref = function_ref(&state, &name, NameUse::Manage)?;
    if fref.qualifier.is_some() {
        return Err(ApiError::invalid(
            "Versions can only be published from an unqualified function name.",
        ));
    }
    if let Some(d) = &req.description
        && d.chars().count() > 256
    {
        return Err(UserError::validation(
            d,
            "description",
            "Member must have length less than or equal to 256",
        )
        .into());
    }
    let rec = load(&state, &fref.name).await?;
    check_revision(&rec, req.revision_id.as_deref())?;
    let current = code_sha256_b64(&rec.code_sha256_hex);
    if let Some(given) = &req.code_sha256
        && given != &current
    {
        return Err(ApiError::invalid(format!(
            "CodeSHA256 ({given}) is different from current CodeSHA256 in $LATEST ({current}). Please try again with the CodeSHA256 in $LATEST."
        )));
    }
    check_settled(&state, &rec)?;
    let (version, published) = publish(&state, &rec, req.description.as_deref()).await?;
    let v = version.to_string();
    Ok((
        StatusCode::CREATED,
        Json(configuration(&state, &published, Some(&v), &v, View::Full)),
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(rename = "Marker")]
    marker: Option<String>,
    #[serde(rename = "MaxItems")]
    max_items: Option<i64>,
}

pub async fn list_versions(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let fref = function_ref(&state, &name, NameUse::Manage)?;
    let max = page_size(query.max_items)?;
    let rec = load(&state, &fref.name).await?;
    // Position 0 is $LATEST, then the versions in order; the marker is the last position sent.
    let after: Option<u64> = match query.marker.as_deref().filter(|m| !m.is_empty()) {
        None => None,
        Some("$LATEST") => Some(0),
        Some(m) => Some(
            m.parse()
                .map_err(|_| ApiError::invalid(format!("Invalid marker: {m}")))?,
        ),
    };
    let mut items: Vec<(u64, FunctionConfiguration)> = Vec::new();
    if after.is_none() {
        items.push((
            0,
            configuration(&state, &rec, Some("$LATEST"), "$LATEST", View::List),
        ));
    }
    for v in state
        .store
        .list_versions(&rec.name, after.unwrap_or(0), max + 1)
        .await?
    {
        let n = v.version.to_string();
        items.push((
            v.version,
            configuration(&state, &v.function, Some(&n), &n, View::List),
        ));
    }
    let next = (items.len() > max).then(|| {
        items.truncate(max);
        items.last().map(|(p, _)| p.to_string()).unwrap_or_default()
    });
    let versions: Vec<_> = items.into_iter().map(|(_, c)| c).collect();
    let mut body = json!({ "Versions": versions });
    if let Some(n) = next {
        body["NextMarker"] = json!(n);
    }
    Ok(Json(body))
}

/// `MaxItems` (1 to 10000); pages hold at most 50 items, as on AWS.
pub fn page_size(max_items: Option<i64>) -> ApiResult<usize> {
    match max_items {
        None => Ok(50),
        Some(n) if (1..=10_000).contains(&n) => Ok(usize::try_from(n).unwrap_or(50).min(50)),
        Some(n) => {
            let bound = if n < 1 {
                "greater than or equal to 1"
            } else {
                "less than or equal to 10000"
            };
            Err(UserError::validation(
                &n.to_string(),
                "maxItems",
                &format!("Member must have value {bound}"),
            )
            .into())
        }
    }
}
