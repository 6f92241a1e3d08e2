//! `/2015-03-31/functions/{name}/policy`: AddPermission (POST), GetPolicy (GET) and
//! RemovePermission (DELETE `.../policy/{StatementId}`), and the resource-policy check Invoke
//! runs for callers that are not the account's root.
//!
//! A policy belongs to the function (stored as `$LATEST`), a published version or an alias,
//! and is versioned with that target's RevisionId: GetPolicy reports it, and AddPermission and
//! RemovePermission replace it, as on AWS.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use bytes::Bytes;
use lamina_store::{LATEST, PolicyChange, StoreError, StoredStatement};
use lamina_types::arn::NameUse;
use lamina_types::policy::{
    AddPermissionRequest, Identity, PolicyDocument, Statement, check_namespaced_statement_id,
    check_policy_size,
};
use lamina_types::{FunctionRef, UserError};
use serde::Deserialize;
use serde_json::{Value, json};

use super::get::QualifierQuery;
use super::resolve::resolve;
use super::{arn, function_ref, new_revision, not_found, parse_body};
use crate::caller::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// How often a policy change is retried when its target changes under it (without a
/// caller-given RevisionId).
const CAS_ATTEMPTS: usize = 16;

/// The RevisionId message AWS gives for a stale `RevisionId`.
const STALE_REVISION: &str = "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id";

/// What a policy is attached to.
struct Target {
    /// Qualifier the policy is stored under (`$LATEST` for the function itself).
    key: String,
    /// RevisionId of the function, version or alias.
    revision: String,
}

/// `arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`.
fn resource_arn(state: &AppState, fref: &FunctionRef) -> String {
    let mut a = arn(state, &fref.name);
    if let Some(q) = &fref.qualifier {
        a.push(':');
        a.push_str(q);
    }
    a
}

/// Resolves the function, version or alias a policy request names (404 if it does not exist).
async fn target(state: &AppState, fref: &FunctionRef) -> ApiResult<Target> {
    let resolved = match resolve(state, fref).await {
        Err(ApiError::User(UserError::NotFound(m))) => {
            // An alias that does not exist on a function that does: AWS names the alias.
            let alias_like = fref
                .qualifier
                .as_deref()
                .is_some_and(|q| q != LATEST && !q.bytes().all(|b| b.is_ascii_digit()));
            if alias_like && state.store.get_function(&fref.name).await?.is_some() {
                return Err(ApiError::not_found(format!(
                    "Cannot find alias arn: {}",
                    resource_arn(state, fref)
                )));
            }
            return Err(ApiError::not_found(m));
        }
        other => other?,
    };
    Ok(match (&resolved.qualifier, &resolved.alias) {
        (_, Some(alias)) => Target {
            key: alias.name.clone(),
            revision: alias.revision_id.clone(),
        },
        (Some(q), None) => Target {
            key: q.clone(),
            revision: resolved.record.revision_id.clone(),
        },
        (None, None) => Target {
            key: LATEST.to_owned(),
            revision: resolved.record.revision_id.clone(),
        },
    })
}

fn parse_statements(stored: &[StoredStatement]) -> ApiResult<Vec<Statement>> {
    stored
        .iter()
        .map(|s| {
            serde_json::from_str(&s.json).map_err(|e| {
                ApiError::Internal(
                    anyhow::Error::new(e)
                        .context(format!("stored policy statement {} is corrupt", s.sid)),
                )
            })
        })
        .collect()
}

fn precondition_failed() -> ApiError {
    ApiError::User(UserError::PreconditionFailed(STALE_REVISION.into()))
}

/// `POST .../policy`: AddPermission (201 with the statement as a JSON string).
pub async fn add_permission(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<QualifierQuery>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let fref = function_ref(&state, &name, NameUse::Read)?
        .with_query_qualifier(query.qualifier.as_deref())?;
    let req: AddPermissionRequest = parse_body(&body)?;
    let statement = req.statement(&resource_arn(&state, &fref))?;
    if fref.qualifier.as_deref() == Some(LATEST) {
        return Err(ApiError::invalid(
            "We currently do not support adding policies for $LATEST.",
        ));
    }
    let json = serde_json::to_string(&statement).map_err(|e| ApiError::Internal(e.into()))?;
    for _ in 0..CAS_ATTEMPTS {
        let target = target(&state, &fref).await?;
        if let Some(given) = &req.revision_id
            && *given != target.revision
        {
            return Err(precondition_failed());
        }
        let existing = state
            .store
            .policy_statements(&fref.name, &target.key)
            .await?;
        if existing.iter().any(|s| s.sid == statement.sid) {
            return Err(sid_exists(&statement.sid));
        }
        let mut all = parse_statements(&existing)?;
        all.push(statement.clone());
        check_policy_size(&PolicyDocument::render(&all))?;
        let change = PolicyChange::Add(StoredStatement {
            sid: statement.sid.clone(),
            json: json.clone(),
        });
        match state
            .store
            .change_policy(
                &fref.name,
                &target.key,
                change,
                &target.revision,
                &new_revision(),
            )
            .await
        {
            Ok(()) => {
                tracing::info!(function = %fref.name, qualifier = %target.key, sid = %statement.sid, "permission added");
                return Ok((StatusCode::CREATED, Json(json!({ "Statement": json }))));
            }
            Err(StoreError::RevisionMismatch { .. }) if req.revision_id.is_some() => {
                return Err(precondition_failed());
            }
            Err(StoreError::RevisionMismatch { .. }) => continue,
            Err(StoreError::StatementExists { sid, .. }) => return Err(sid_exists(&sid)),
            Err(StoreError::NotFound { .. }) => {
                return Err(not_found(&state, &fref.name, fref.qualifier.as_deref()));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(busy(&state, &fref))
}

fn sid_exists(sid: &str) -> ApiError {
    ApiError::conflict(format!(
        "The statement id ({sid}) provided already exists. Please provide a new statement id, or remove the existing statement."
    ))
}

fn busy(state: &AppState, fref: &FunctionRef) -> ApiError {
    ApiError::conflict(format!(
        "The operation cannot be performed at this time. An update is in progress for resource: {}",
        resource_arn(state, fref)
    ))
}

/// Query of RemovePermission.
#[derive(Debug, Default, Deserialize)]
pub struct RemovePermissionQuery {
    #[serde(rename = "Qualifier")]
    pub qualifier: Option<String>,
    #[serde(rename = "RevisionId")]
    pub revision_id: Option<String>,
}

/// `DELETE .../policy/{StatementId}`: RemovePermission (204).
pub async fn remove_permission(
    State(state): State<AppState>,
    Path((name, sid)): Path<(String, String)>,
    Query(query): Query<RemovePermissionQuery>,
) -> ApiResult<StatusCode> {
    let fref = function_ref(&state, &name, NameUse::Read)?
        .with_query_qualifier(query.qualifier.as_deref())?;
    check_namespaced_statement_id(&sid)?;
    if state.store.get_function(&fref.name).await?.is_none() {
        return Err(ApiError::not_found(format!(
            "No policy found for: {}",
            arn(&state, &fref.name)
        )));
    }
    for _ in 0..CAS_ATTEMPTS {
        let target = target(&state, &fref).await?;
        let existing = state
            .store
            .policy_statements(&fref.name, &target.key)
            .await?;
        if existing.is_empty() {
            return Err(no_policy());
        }
        if !existing.iter().any(|s| s.sid == sid) {
            return Err(sid_not_found(&sid));
        }
        if let Some(given) = &query.revision_id
            && *given != target.revision
        {
            return Err(precondition_failed());
        }
        let change = PolicyChange::Remove { sid: sid.clone() };
        match state
            .store
            .change_policy(
                &fref.name,
                &target.key,
                change,
                &target.revision,
                &new_revision(),
            )
            .await
        {
            Ok(()) => {
                tracing::info!(function = %fref.name, qualifier = %target.key, sid = %sid, "permission removed");
                return Ok(StatusCode::NO_CONTENT);
            }
            Err(StoreError::RevisionMismatch { .. }) if query.revision_id.is_some() => {
                return Err(precondition_failed());
            }
            Err(StoreError::RevisionMismatch { .. }) => continue,
            Err(StoreError::StatementNotFound { sid, .. }) => return Err(sid_not_found(&sid)),
            Err(StoreError::NotFound { .. }) => {
                return Err(not_found(&state, &fref.name, fref.qualifier.as_deref()));
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(busy(&state, &fref))
}

fn no_policy() -> ApiError {
    ApiError::not_found("No policy is associated with the given resource.")
}

fn sid_not_found(sid: &str) -> ApiError {
    ApiError::not_found(format!("Statement {sid} is not found in resource policy."))
}

/// `GET .../policy`: GetPolicy (the document as a JSON string, and the RevisionId).
pub async fn get_policy(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<QualifierQuery>,
) -> ApiResult<Json<Value>> {
    let fref = function_ref(&state, &name, NameUse::Read)?
        .with_query_qualifier(query.qualifier.as_deref())?;
    if state.store.get_function(&fref.name).await?.is_none() {
        return Err(not_found(&state, &fref.name, None));
    }
    let key = fref.qualifier.as_deref().unwrap_or(LATEST);
    let stored = state.store.policy_statements(&fref.name, key).await?;
    if stored.is_empty() {
        return Err(ApiError::not_found(
            "The resource you requested does not exist.",
        ));
    }
    let statements = parse_statements(&stored)?;
    let revision = target(&state, &fref).await?.revision;
    Ok(Json(json!({
        "Policy": PolicyDocument::render(&statements),
        "RevisionId": revision,
    })))
}

/// Lets a caller that is not the root invoke `fref` only if the policy of what it names
/// (the function, a version or an alias) has a statement allowing `lambda:InvokeFunction` to
/// it. The function's own policy does not cover its versions and aliases, as on AWS. A
/// function that does not exist has no policy, so such callers learn nothing about it.
pub async fn authorize_invoke(
    state: &AppState,
    caller: &Caller,
    fref: &FunctionRef,
) -> ApiResult<()> {
    if caller.is_root {
        return Ok(());
    }
    let key = fref.qualifier.as_deref().unwrap_or(LATEST);
    let stored = state.store.policy_statements(&fref.name, key).await?;
    let who = Identity {
        arn: &caller.principal_arn,
        account: &caller.account_id,
    };
    let allowed = parse_statements(&stored)?
        .iter()
        .any(|s| s.allows(who, "InvokeFunction"));
    if allowed {
        return Ok(());
    }
    Err(ApiError::User(UserError::AccessDenied(format!(
        "User: {} is not authorized to perform: lambda:InvokeFunction on resource: {} because no resource-based policy allows the lambda:InvokeFunction action",
        caller.principal_arn,
        resource_arn(state, fref)
    ))))
}
