//! Lambda layers: the layer operations (`versions.rs`, `policy.rs`), how functions reference
//! layer versions, and the merged `/opt` directories environments mount (`opt.rs`).

pub mod opt;
pub mod policy;
pub mod versions;

use axum::http::HeaderMap;
use lamina_types::UserError;
use lamina_types::layer::{self, LayerName, LayerVersionArn, LayerVersionRecord};
use lamina_types::model::LayerRef;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::functions::{code, code_sha256_b64};
use crate::state::AppState;

/// Parses a `LayerName` path parameter and returns the layer's name if it is a layer of this
/// region and account (`None`: a layer this server cannot have).
fn local_name(state: &AppState, raw: &str) -> ApiResult<(LayerName, Option<String>)> {
    let parsed = LayerName::parse(raw)?;
    let local = parsed
        .is_local(&state.config.region, &state.config.account_id)
        .then(|| parsed.name.clone());
    Ok((parsed, local))
}

/// The ARN of a layer named by `parsed` (in its own region and account when it was an ARN).
fn arn_of(state: &AppState, parsed: &LayerName) -> String {
    layer::layer_arn(
        parsed.region.as_deref().unwrap_or(&state.config.region),
        parsed
            .account
            .as_deref()
            .unwrap_or(&state.config.account_id),
        &parsed.name,
    )
}

/// Parses a `VersionNumber` path parameter (`Layer Version Cannot be less than 1`).
fn version_number(raw: &str) -> ApiResult<u64> {
    let n: i64 = raw.parse().map_err(|_| {
        ApiError::User(UserError::validation(
            raw,
            "versionNumber",
            "Member must be a number",
        ))
    })?;
    Ok(layer::check_version_number(n)?)
}

fn layer_arn(state: &AppState, name: &str) -> String {
    layer::layer_arn(&state.config.region, &state.config.account_id, name)
}

fn version_arn(state: &AppState, name: &str, version: u64) -> String {
    layer::layer_version_arn(
        &state.config.region,
        &state.config.account_id,
        name,
        version,
    )
}

/// The members a layer version shares in every view.
fn common(state: &AppState, rec: &LayerVersionRecord) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert(
        "LayerVersionArn".into(),
        json!(version_arn(state, &rec.layer_name, rec.version)),
    );
    m.insert("Version".into(), json!(rec.version));
    m.insert("Description".into(), json!(rec.description));
    m.insert("CreatedDate".into(), json!(rec.created_date));
    if let Some(r) = &rec.compatible_runtimes {
        m.insert("CompatibleRuntimes".into(), json!(r));
    }
    if let Some(a) = &rec.compatible_architectures {
        m.insert("CompatibleArchitectures".into(), json!(a));
    }
    if let Some(l) = &rec.license_info {
        m.insert("LicenseInfo".into(), json!(l));
    }
    m
}

/// `PublishLayerVersionResponse` / `GetLayerVersionResponse`, with a presigned download of the
/// layer's zip in `Content.Location` (like GetFunction's `Code.Location`).
fn version_json(state: &AppState, headers: &HeaderMap, rec: &LayerVersionRecord) -> Value {
    let mut m = common(state, rec);
    m.insert("LayerArn".into(), json!(layer_arn(state, &rec.layer_name)));
    m.insert(
        "Content".into(),
        json!({
            "Location": code::location(state, headers, &rec.code_sha256_hex),
            "CodeSha256": code_sha256_b64(&rec.code_sha256_hex),
            "CodeSize": rec.code_size,
        }),
    );
    Value::Object(m)
}

/// `LayerVersionsListItem`.
fn list_item(state: &AppState, rec: &LayerVersionRecord) -> Value {
    Value::Object(common(state, rec))
}

/// Resolves a function's `Layers` against the store, in order, with AWS's rules and
/// messages: same region, the version exists, never two versions of one layer. Call with
/// `state.code_lock` held until the function referencing the layers is saved, so a layer
/// version deleted meanwhile cannot lose its blob.
pub async fn resolve_for_function(state: &AppState, arns: &[String]) -> ApiResult<Vec<LayerRef>> {
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut resolved = Vec::with_capacity(arns.len());
    for given in arns {
        let missing = || ApiError::invalid(layer::does_not_exist(given));
        // AWS-managed `awslayer` ARNs have no version this server could have.
        let Some(arn) = LayerVersionArn::split(given) else {
            return Err(missing());
        };
        if arn.region != state.config.region {
            return Err(ApiError::invalid(layer::other_region(&state.config.region)));
        }
        let rec = if arn.account == state.config.account_id {
            state
                .store
                .get_layer_version(&arn.name, arn.version)
                .await?
        } else {
            None
        };
        let Some(rec) = rec else {
            return Err(missing());
        };
        let canonical = version_arn(state, &arn.name, arn.version);
        if let Some((_, first)) = seen.iter().find(|(name, _)| *name == arn.name) {
            return Err(ApiError::invalid(layer::same_layer_twice(
                first, &canonical,
            )));
        }
        seen.push((arn.name.clone(), canonical.clone()));
        resolved.push(LayerRef {
            arn: canonical,
            code_sha256_hex: rec.code_sha256_hex,
            code_size: rec.code_size,
            unzipped_size: rec.unzipped_size,
        });
    }
    Ok(resolved)
}

/// Bytes the layers unpack to, together.
pub fn unzipped_total(layers: &[LayerRef]) -> u64 {
    layers.iter().map(|l| l.unzipped_size).sum()
}

/// Refuses a function whose code and layers unzip to more than the limit.
pub fn check_combined_size(
    state: &AppState,
    code_unzipped: u64,
    layers: &[LayerRef],
) -> ApiResult<()> {
    let total = code_unzipped.saturating_add(unzipped_total(layers));
    if !layers.is_empty() && total > state.config.limits.code_unzipped_max_bytes {
        return Err(ApiError::User(layer::combined_too_large(
            &state.config.limits,
            total,
        )));
    }
    Ok(())
}

/// Collects the blobs of `dropped` layers that nothing references any more. Call with
/// `state.code_lock` held.
pub async fn collect_dropped(
    state: &AppState,
    before: &[LayerRef],
    after: &[LayerRef],
) -> ApiResult<()> {
    for old in before {
        if !after
            .iter()
            .any(|l| l.code_sha256_hex == old.code_sha256_hex)
        {
            code::collect_if_unreferenced(state, &old.code_sha256_hex).await?;
        }
    }
    Ok(())
}
