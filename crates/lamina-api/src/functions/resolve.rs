//! What a function name and qualifier name: `$LATEST`, a published version, or an alias.

use lamina_types::FunctionRef;
use lamina_types::model::{AliasRecord, FunctionRecord};

use super::not_found;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A resolved function reference.
pub struct Resolved {
    /// The configuration and code that run.
    pub record: FunctionRecord,
    /// `$LATEST` or the version number.
    pub version: String,
    /// The qualifier as the caller gave it (for qualified ARNs in responses).
    pub qualifier: Option<String>,
    /// The alias, when the qualifier is one.
    pub alias: Option<AliasRecord>,
}

/// Whether a qualifier is a version number (as opposed to `$LATEST` or an alias).
pub fn version_number(qualifier: &str) -> Option<u64> {
    if qualifier.bytes().all(|b| b.is_ascii_digit()) {
        qualifier.parse().ok()
    } else {
        None
    }
}

/// Loads `$LATEST` (`"$LATEST"`) or version `qualifier` of `name`.
pub async fn load_version(
    state: &AppState,
    name: &str,
    version: &str,
) -> ApiResult<Option<FunctionRecord>> {
    if version == "$LATEST" {
        return Ok(state.store.get_function(name).await?);
    }
    let Some(n) = version_number(version) else {
        return Ok(None);
    };
    Ok(state.store.get_version(name, n).await?.map(|v| v.function))
}

/// Resolves a parsed reference (the qualifier already merged with the `Qualifier` query).
pub async fn resolve(state: &AppState, fref: &FunctionRef) -> ApiResult<Resolved> {
    let missing = || not_found(state, &fref.name, fref.qualifier.as_deref());
    let Some(q) = fref.qualifier.clone() else {
        let record = state
            .store
            .get_function(&fref.name)
            .await?
            .ok_or_else(missing)?;
        return Ok(Resolved {
            record,
            version: "$LATEST".into(),
            qualifier: None,
            alias: None,
        });
    };
    if q == "$LATEST" || version_number(&q).is_some() {
        let record = load_version(state, &fref.name, &q)
            .await?
            .ok_or_else(missing)?;
        return Ok(Resolved {
            record,
            version: q.clone(),
            qualifier: Some(q),
            alias: None,
        });
    }
    let alias = state
        .store
        .get_alias(&fref.name, &q)
        .await?
        .ok_or_else(missing)?;
    let record = load_version(state, &fref.name, &alias.function_version)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Function not found: {}:{}",
                super::arn(state, &fref.name),
                alias.function_version
            ))
        })?;
    Ok(Resolved {
        record,
        version: alias.function_version.clone(),
        qualifier: Some(q),
        alias: Some(alias),
    })
}
