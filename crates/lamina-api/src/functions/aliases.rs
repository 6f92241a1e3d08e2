//! Aliases: CreateAlias, GetAlias, UpdateAlias, DeleteAlias, ListAliases, with weighted
//! routing to a second version.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use bytes::Bytes;
use lamina_store::StoreError;
use lamina_types::UserError;
use lamina_types::arn::NameUse;
use lamina_types::model::AliasRecord;
use regex::Regex;
use serde::Deserialize;
use serde_json::{Value, json};

use super::resolve::{load_version, version_number};
use super::versions::page_size;
use super::{arn, function_ref, load, new_revision, parse_body};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const ALIAS_PATTERN: &str = "(?!^[0-9]+$)([a-zA-Z0-9-_]+)";
static ALIAS_RE: LazyLock<Regex> = LazyLock::new(|| {
    // The `regex` crate has no look-ahead: "not all digits" is checked separately.
    #[allow(clippy::expect_used)]
    Regex::new("^[a-zA-Z0-9_-]+$").expect("static pattern compiles")
});

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoutingConfig {
    pub additional_version_weights: Option<BTreeMap<String, f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasRequest {
    pub name: Option<String>,
    pub function_version: Option<String>,
    pub description: Option<String>,
    pub routing_config: Option<RoutingConfig>,
    pub revision_id: Option<String>,
}

/// `AliasConfiguration` as AWS returns it.
fn alias_json(state: &AppState, a: &AliasRecord) -> Value {
    let mut v = json!({
        "AliasArn": format!("{}:{}", arn(state, &a.function_name), a.name),
        "Name": a.name,
        "FunctionVersion": a.function_version,
        "Description": a.description,
        "RevisionId": a.revision_id,
    });
    if a.has_routing {
        v["RoutingConfig"] = json!({ "AdditionalVersionWeights": a.routing });
    }
    v
}

fn check_name(name: &str) -> ApiResult<()> {
    let pattern_ok = ALIAS_RE.is_match(name) && !name.bytes().all(|b| b.is_ascii_digit());
    if name.chars().count() > 128 {
        return Err(UserError::validation(
            name,
            "name",
            "Member must have length less than or equal to 128",
        )
        .into());
    }
    if !pattern_ok {
        return Err(UserError::validation(
            name,
            "name",
            &format!("Member must satisfy regular expression pattern: {ALIAS_PATTERN}"),
        )
        .into());
    }
    Ok(())
}

/// Checks the target version and routing weights, as AWS does.
async fn check_target(
    state: &AppState,
    function: &str,
    version: &str,
    routing: &BTreeMap<String, f64>,
) -> ApiResult<()> {
    if version != "$LATEST" && version_number(version).is_none() {
        return Err(UserError::validation(
            version,
            "functionVersion",
            r"Member must satisfy regular expression pattern: (\$LATEST|[0-9]+)",
        )
        .into());
    }
    if routing.len() > 1 {
        return Err(ApiError::invalid(
            "Number of items in AdditionalVersionWeights cannot be greater than 1",
        ));
    }
    if let Some((v, w)) = routing.iter().next() {
        if !(0.0..=1.0).contains(w) {
            return Err(UserError::validation(
                &format!("{{{v}={w:?}}}"),
                "routingConfig.additionalVersionWeights",
                "Map value must satisfy constraint: [Member must have value less than or equal to 1.0, Member must have value greater than or equal to 0.0, Member must not be null]",
            )
            .into());
        }
        if version == "$LATEST" {
            return Err(ApiError::invalid(
                "$LATEST is not supported for an alias pointing to more than 1 version",
            ));
        }
        if v == version {
            return Err(ApiError::invalid(format!(
                "Invalid function version {v}. Function version {v} is already included in routing configuration."
            )));
        }
        if version_number(v).is_none() {
            return Err(UserError::validation(
                v,
                "routingConfig.additionalVersionWeights",
                "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [0-9]+]",
            )
            .into());
        }
    }
    for v in std::iter::once(version).chain(routing.keys().map(String::as_str)) {
        if load_version(state, function, v).await?.is_none() {
            return Err(ApiError::not_found(format!(
                "Function not found: {}:{v}",
                arn(state, function)
            )));
        }
    }
    Ok(())
}

fn alias_not_found(state: &AppState, function: &str, name: &str) -> ApiError {
    ApiError::not_found(format!("Alias not found: {}:{name}", arn(state, function)))
}

/// The unqualified function an alias operation targets.
async fn function_name(state: &AppState, raw: &str) -> ApiResult<String> {
    let fref = function_ref(state, raw, NameUse::Manage)?;
    if fref.qualifier.is_some() {
        return Err(ApiError::invalid(
            "Aliases belong to the unqualified function: pass the function name without a qualifier.",
        ));
    }
    Ok(load(state, &fref.name).await?.name)
}

pub async fn create_alias(
    State(state): State<AppState>,
    Path(function): Path<String>,
    body: Bytes,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: AliasRequest = parse_body(&body)?;
    let (Some(name), Some(version)) = (req.name.clone(), req.function_version.clone()) else {
        let missing = if req.name.is_none() {
            "name"
        } else {
            "functionVersion"
        };
        return Err(UserError::validation("null", missing, "Member must not be null").into());
    };
    check_name(&name)?;
    let function = function_name(&state, &function).await?;
    let routing = req
        .routing_config
        .as_ref()
        .and_then(|r| r.additional_version_weights.clone())
        .unwrap_or_default();
    check_target(&state, &function, &version, &routing).await?;
    let alias = AliasRecord {
        function_name: function.clone(),
        name: name.clone(),
        function_version: version,
        description: req.description.unwrap_or_default(),
        routing,
        has_routing: req.routing_config.is_some(),
        revision_id: new_revision(),
    };
    match state.store.put_alias(&alias, None).await {
        Ok(()) => Ok((StatusCode::CREATED, Json(alias_json(&state, &alias)))),
        Err(StoreError::AlreadyExists { .. }) => Err(ApiError::conflict(format!(
            "Alias already exists: {}:{name}",
            arn(&state, &function)
        ))),
        Err(StoreError::NotFound { .. }) => Err(super::not_found(&state, &function, None)),
        Err(e) => Err(e.into()),
    }
}

pub async fn get_alias(
    State(state): State<AppState>,
    Path((function, name)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let function = function_name(&state, &function).await?;
    let alias = state
        .store
        .get_alias(&function, &name)
        .await?
        .ok_or_else(|| alias_not_found(&state, &function, &name))?;
    Ok(Json(alias_json(&state, &alias)))
}

pub async fn update_alias(
    State(state): State<AppState>,
    Path((function, name)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    let req: AliasRequest = parse_body(&body)?;
    let function = function_name(&state, &function).await?;
    let current = state
        .store
        .get_alias(&function, &name)
        .await?
        .ok_or_else(|| alias_not_found(&state, &function, &name))?;
    if let Some(r) = &req.revision_id
        && r != &current.revision_id
    {
        return Err(ApiError::User(UserError::PreconditionFailed(
            "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id".into(),
        )));
    }
    let mut next = current.clone();
    if let Some(v) = req.function_version {
        next.function_version = v;
    }
    if let Some(d) = req.description {
        next.description = d;
    }
    if let Some(r) = &req.routing_config {
        next.routing = r.additional_version_weights.clone().unwrap_or_default();
        next.has_routing = true;
    }
    check_target(&state, &function, &next.function_version, &next.routing).await?;
    next.revision_id = new_revision();
    match state.store.put_alias(&next, Some(&current.revision_id)).await {
        Ok(()) => Ok(Json(alias_json(&state, &next))),
        Err(StoreError::RevisionMismatch { .. }) => Err(ApiError::User(
            UserError::PreconditionFailed("The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id".into()),
        )),
        Err(StoreError::NotFound { .. }) => Err(alias_not_found(&state, &function, &name)),
        Err(e) => Err(e.into()),
    }
}

pub async fn delete_alias(
    State(state): State<AppState>,
    Path((function, name)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let function = function_name(&state, &function).await?;
    // Deleting an alias that does not exist succeeds, as on AWS.
    state.store.delete_alias(&function, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(rename = "FunctionVersion")]
    function_version: Option<String>,
    #[serde(rename = "Marker")]
    marker: Option<String>,
    #[serde(rename = "MaxItems")]
    max_items: Option<i64>,
}

pub async fn list_aliases(
    State(state): State<AppState>,
    Path(function): Path<String>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let function = function_name(&state, &function).await?;
    let max = page_size(query.max_items)?;
    let marker = query.marker.unwrap_or_default();
    let mut aliases: Vec<AliasRecord> = state
        .store
        .list_aliases(&function)
        .await?
        .into_iter()
        .filter(|a| a.name > marker)
        .filter(|a| {
            query
                .function_version
                .as_ref()
                .is_none_or(|v| &a.function_version == v || a.routing.contains_key(v))
        })
        .collect();
    let next = (aliases.len() > max).then(|| {
        aliases.truncate(max);
        aliases.last().map(|a| a.name.clone()).unwrap_or_default()
    });
    let items: Vec<Value> = aliases.iter().map(|a| alias_json(&state, a)).collect();
    let mut body = json!({ "Aliases": items });
    if let Some(n) = next {
        body["NextMarker"] = json!(n);
    }
    Ok(Json(body))
}
