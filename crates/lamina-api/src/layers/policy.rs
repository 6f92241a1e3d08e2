//! AddLayerVersionPermission, RemoveLayerVersionPermission and GetLayerVersionPolicy: the
//! resource-based policy of one layer version, with its own RevisionId.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use bytes::Bytes;
use lamina_store::{PolicyChange, StoreError, StoredStatement};
use lamina_types::UserError;
use lamina_types::layer::{self, AddLayerVersionPermissionRequest};
use lamina_types::policy::{PolicyDocument, Statement, check_policy_size};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{arn_of, local_name, version_number};
use crate::error::{ApiError, ApiResult};
use crate::functions::{new_revision, parse_body};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct RevisionQuery {
    #[serde(rename = "RevisionId")]
    revision_id: Option<String>,
}

fn stale_revision() -> ApiError {
    ApiError::User(UserError::PreconditionFailed(
        "The Revision Id provided does not match the latest Revision Id. Call the GetLayerPolicy API to retrieve the latest Revision Id".into(),
    ))
}

/// The layer version a policy operation targets: its stored record, or AWS's
/// `Layer version <arn> does not exist.` (404).
async fn target(
    state: &AppState,
    name: &str,
    version: &str,
) -> ApiResult<lamina_types::layer::LayerVersionRecord> {
    let (parsed, local) = local_name(state, name)?;
    let version = version_number(version)?;
    let missing = || {
        ApiError::not_found(layer::does_not_exist(&format!(
            "{}:{version}",
            arn_of(state, &parsed)
        )))
    };
    let Some(layer) = local else {
        return Err(missing());
    };
    state
        .store
        .get_layer_version(&layer, version)
        .await?
        .ok_or_else(missing)
}

/// Maps the store's refusals to AWS's errors (`version_arn`: the layer version's ARN).
fn policy_error(e: StoreError, version_arn: &str) -> ApiError {
    match e {
        StoreError::LayerVersionNotFound { .. } => {
            ApiError::not_found(layer::does_not_exist(version_arn))
        }
        StoreError::LayerPolicyRevisionMismatch { .. } => stale_revision(),
        StoreError::LayerStatementExists { sid, .. } => ApiError::conflict(format!(
            "The statement id ({sid}) provided already exists. Please provide a new statement id, or remove the existing statement."
        )),
        StoreError::LayerStatementNotFound { sid, .. } => {
            ApiError::not_found(format!("Statement {sid} is not found in resource policy."))
        }
        other => other.into(),
    }
}

fn statements(stored: &[StoredStatement]) -> ApiResult<Vec<Statement>> {
    stored
        .iter()
        .map(|s| {
            serde_json::from_str(&s.json).map_err(|e| ApiError::Internal(anyhow::Error::new(e)))
        })
        .collect()
}

/// `POST /2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy` (201).
pub async fn add_layer_version_permission(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
    Query(query): Query<RevisionQuery>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: AddLayerVersionPermissionRequest = parse_body(&body)?;
    // The framework checks the request before anything is looked up.
    req.statement("")?;
    let rec = target(&state, &name, &version).await?;
    let resource = super::version_arn(&state, &rec.layer_name, rec.version);
    let statement = req.statement(&resource)?;
    let json_text =
        serde_json::to_string(&statement).map_err(|e| ApiError::Internal(anyhow::Error::new(e)))?;
    let mut all = statements(
        &state
            .store
            .layer_policy_statements(&rec.layer_name, rec.version)
            .await?,
    )?;
    all.push(statement.clone());
    check_policy_size(&PolicyDocument::render(&all))?;
    let revision = new_revision();
    state
        .store
        .change_layer_policy(
            &rec.layer_name,
            rec.version,
            PolicyChange::Add(StoredStatement {
                sid: statement.sid.clone(),
                json: json_text.clone(),
            }),
            query.revision_id.as_deref(),
            &revision,
        )
        .await
        .map_err(|e| policy_error(e, &resource))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "Statement": json_text, "RevisionId": revision })),
    ))
}

/// `DELETE /2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy/{StatementId}` (204).
pub async fn remove_layer_version_permission(
    State(state): State<AppState>,
    Path((name, version, sid)): Path<(String, String, String)>,
    Query(query): Query<RevisionQuery>,
) -> ApiResult<StatusCode> {
    layer::check_statement_id(&sid)?;
    let rec = target(&state, &name, &version).await?;
    state
        .store
        .change_layer_policy(
            &rec.layer_name,
            rec.version,
            PolicyChange::Remove { sid },
            query.revision_id.as_deref(),
            &new_revision(),
        )
        .await
        .map_err(|e| policy_error(e, &super::version_arn(&state, &rec.layer_name, rec.version)))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy`.
pub async fn get_layer_version_policy(
    State(state): State<AppState>,
    Path((name, version)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let rec = target(&state, &name, &version).await?;
    let stored = state
        .store
        .layer_policy_statements(&rec.layer_name, rec.version)
        .await?;
    if stored.is_empty() {
        return Err(ApiError::not_found(
            "No policy is associated with the given resource.",
        ));
    }
    Ok(Json(json!({
        "Policy": PolicyDocument::render(&statements(&stored)?),
        "RevisionId": rec.policy_revision_id,
    })))
}
