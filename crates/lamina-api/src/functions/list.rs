//! `GET /2015-03-31/functions`: ListFunctions, paginated with Marker/MaxItems.

use axum::Json;
use axum::extract::{Query, State};
use lamina_types::UserError;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{View, configuration};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// AWS returns at most 50 functions a page, whatever MaxItems says.
const PAGE_MAX: usize = 50;

#[derive(Debug, Default, Deserialize)]
pub struct ListQuery {
    #[serde(rename = "Marker")]
    marker: Option<String>,
    #[serde(rename = "MaxItems")]
    max_items: Option<String>,
    #[serde(rename = "FunctionVersion")]
    function_version: Option<String>,
    #[serde(rename = "MasterRegion")]
    master_region: Option<String>,
}

pub async fn list_functions(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> ApiResult<Json<Value>> {
    let mut errors = Vec::new();
    let max_items = match query.max_items.as_deref().map(str::parse::<i64>) {
        None => PAGE_MAX,
        Some(Ok(n)) if (1..=10_000).contains(&n) => {
            usize::try_from(n).unwrap_or(PAGE_MAX).min(PAGE_MAX)
        }
        Some(Ok(n)) => {
            let bound = if n < 1 {
                "greater than or equal to 1"
            } else {
                "less than or equal to 10000"
            };
            errors.push(UserError::constraint(
                &n.to_string(),
                "maxItems",
                &format!("Member must have value {bound}"),
            ));
            PAGE_MAX
        }
        Some(Err(_)) => {
            return Err(ApiError::invalid("MaxItems must be an integer."));
        }
    };
    let all_versions = match query.function_version.as_deref() {
        None => false,
        Some("ALL") => true,
        Some(other) => {
            errors.push(UserError::constraint(
                other,
                "functionVersion",
                "Member must satisfy enum value set: [ALL]",
            ));
            false
        }
    };
    if !errors.is_empty() {
        return Err(UserError::Validation(errors).into());
    }
    if let Some(r) = &query.master_region
        && r != &state.config.region
    {
        return Err(ApiError::invalid(format!(
            "MasterRegion {r} is not served by this Lamina (region {}).",
            state.config.region
        )));
    }
    let marker = query.marker.as_deref().filter(|m| !m.is_empty());
    let mut page = state.store.list_functions(marker, max_items + 1).await?;
    let next = (page.len() > max_items).then(|| {
        page.truncate(max_items);
        page.last().map(|f| f.name.clone())
    });
    let qualifier = all_versions.then_some("$LATEST");
    let functions: Vec<_> = page
        .iter()
        .map(|f| configuration(&state, f, qualifier, View::List))
        .collect();
    let mut body = json!({ "Functions": functions });
    if let Some(Some(n)) = next {
        body["NextMarker"] = json!(n);
    }
    Ok(Json(body))
}
