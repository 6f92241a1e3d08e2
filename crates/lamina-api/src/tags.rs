//! `/2017-03-31/tags/{Resource}`: TagResource (POST), UntagResource (DELETE) and ListTags
//! (GET). The resource is an ARN ([`TaggableResource`]); functions are the only taggable
//! resources Lamina has, and only unqualified: tags belong to the function, not to a version
//! or alias. Tag changes give the function a new RevisionId, as on AWS.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use bytes::Bytes;
use lamina_store::StoreError;
use lamina_types::arn::NameUse;
use lamina_types::resource::{Taggable, TaggableResource};
use lamina_types::{FunctionRef, UserError, validate};
use percent_encoding::percent_decode_str;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::functions::{load, new_revision, not_found, parse_body};
use crate::state::AppState;

/// How often a tag change is retried when the function changes under it.
const CAS_ATTEMPTS: usize = 16;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceRequest {
    pub tags: Option<BTreeMap<String, String>>,
}

/// The taggable resource a path names, before any lookup.
enum Target {
    Function { name: String, qualified: bool },
}

fn target(state: &AppState, raw: &str) -> ApiResult<Target> {
    let resource = TaggableResource::parse(raw)?;
    match resource.target {
        Taggable::Function { qualifier, .. } => {
            // Region and account checks (and their messages) are the function name's.
            let fref = FunctionRef::parse(
                raw,
                NameUse::Manage,
                &state.config.region,
                &state.config.account_id,
            )?;
            Ok(Target::Function {
                name: fref.name,
                qualified: qualifier.is_some(),
            })
        }
        // Code signing configs, event source mappings, capacity providers and network
        // connectors do not exist in Lamina (yet), so none of these ARNs names anything.
        Taggable::CodeSigningConfig { .. }
        | Taggable::EventSourceMapping { .. }
        | Taggable::CapacityProvider { .. }
        | Taggable::NetworkConnector { .. } => Err(ApiError::not_found(
            "The resource you requested does not exist.",
        )),
    }
}

fn unqualified(target: Target) -> ApiResult<String> {
    match target {
        Target::Function {
            qualified: true, ..
        } => Err(ApiError::invalid(
            "Tags on function aliases and versions are not supported. Please specify a function ARN.",
        )),
        Target::Function { name, .. } => Ok(name),
    }
}

/// Applies `change` to a function's tags with a new RevisionId (compare-and-swap, retried
/// when something else changed the function meanwhile).
async fn change_tags(
    state: &AppState,
    name: &str,
    change: impl Fn(&mut BTreeMap<String, String>) -> ApiResult<()>,
) -> ApiResult<()> {
    for _ in 0..CAS_ATTEMPTS {
        let current = load(state, name).await?;
        let mut next = current.clone();
        change(&mut next.tags)?;
        next.revision_id = new_revision();
        match state
            .store
            .update_function(&next, &current.revision_id)
            .await
        {
            Ok(()) => return Ok(()),
            Err(StoreError::RevisionMismatch { .. }) => continue,
            Err(StoreError::NotFound { .. }) => return Err(not_found(state, name, None)),
            Err(e) => return Err(e.into()),
        }
    }
    Err(ApiError::conflict(format!(
        "The operation cannot be performed at this time. An update is in progress for resource: {}",
        crate::functions::arn(state, name)
    )))
}

pub async fn tag_resource(
    State(state): State<AppState>,
    Path(resource): Path<String>,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let target = target(&state, &resource)?;
    let req: TagResourceRequest = parse_body(&body)?;
    let Some(tags) = req.tags else {
        return Err(UserError::Validation(vec![
            "Value null at 'tags' failed to satisfy constraint: Member must not be null".into(),
        ])
        .into());
    };
    let name = unqualified(target)?;
    if tags.is_empty() {
        return Err(ApiError::invalid(
            "An error occurred and the request cannot be processed.",
        ));
    }
    load(&state, &name).await?;
    let limits = &state.config.limits;
    validate::check_tags(&tags, limits)?;
    change_tags(&state, &name, |current| {
        current.extend(tags.iter().map(|(k, v)| (k.clone(), v.clone())));
        if current.len() > limits.tags_max {
            return Err(ApiError::invalid(
                "Number of tags exceeds resource tag limit.",
            ));
        }
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every `tagKeys` value of a query string (the SDKs repeat the key per tag).
fn tag_keys(query: Option<&str>) -> Vec<String> {
    query
        .unwrap_or_default()
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .filter(|(k, _)| *k == "tagKeys")
        .map(|(_, v)| {
            percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

pub async fn untag_resource(
    State(state): State<AppState>,
    Path(resource): Path<String>,
    RawQuery(query): RawQuery,
) -> ApiResult<StatusCode> {
    let target = target(&state, &resource)?;
    let keys = tag_keys(query.as_deref());
    if keys.is_empty() {
        return Err(UserError::Validation(vec![
            "Value null at 'tagKeys' failed to satisfy constraint: Member must not be null".into(),
        ])
        .into());
    }
    let name = unqualified(target)?;
    change_tags(&state, &name, |current| {
        for k in &keys {
            current.remove(k);
        }
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_tags(
    State(state): State<AppState>,
    Path(resource): Path<String>,
) -> ApiResult<Json<Value>> {
    let name = unqualified(target(&state, &resource)?)?;
    let rec = load(&state, &name).await?;
    Ok(Json(json!({ "Tags": rec.tags })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_keys_are_read_from_repeated_query_parameters() {
        assert_eq!(
            tag_keys(Some("tagKeys=a&tagKeys=b%20c&other=x&tagKeys=d%3Ae")),
            vec!["a", "b c", "d:e"]
        );
        assert!(tag_keys(None).is_empty());
        assert!(tag_keys(Some("x=1")).is_empty());
    }
}
