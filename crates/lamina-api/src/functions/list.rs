//! `GET /2015-03-31/functions`: ListFunctions, paginated with Marker/MaxItems.

use axum::Json;
use axum::extract::{Query, State};
use lamina_types::UserError;
use serde::Deserialize;
use serde_json::{Value, json};

use lamina_types::model::FunctionConfiguration;

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
    let (functions, next) = if all_versions {
        every_version(&state, marker, max_items).await?
    } else {
        let mut page = state.store.list_functions(marker, max_items + 1).await?;
        let next = (page.len() > max_items).then(|| {
            page.truncate(max_items);
            page.last().map(|f| f.name.clone()).unwrap_or_default()
        });
        let functions = page
            .iter()
            .map(|f| configuration(&state, f, None, "$LATEST", View::List))
            .collect();
        (functions, next)
    };
    let mut body = json!({ "Functions": functions });
    if let Some(n) = next {
        body["NextMarker"] = json!(n);
    }
    Ok(Json(body))
}

/// `FunctionVersion=ALL`: every function's `$LATEST` then its versions, in name order. The
/// marker is `<name>:<position>` of the last item returned (`$LATEST` is position 0).
async fn every_version(
    state: &AppState,
    marker: Option<&str>,
    max_items: usize,
) -> ApiResult<(Vec<FunctionConfiguration>, Option<String>)> {
    let (after_name, after_pos) = match marker.and_then(|m| m.rsplit_once(':')) {
        Some((n, p)) => (n.to_owned(), p.parse::<u64>().ok()),
        None => (String::new(), None),
    };
    let mut out = Vec::new();
    let mut first: Vec<_> = match (&after_pos, after_name.is_empty()) {
        (Some(_), false) => state
            .store
            .get_function(&after_name)
            .await?
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    let mut cursor = (!after_name.is_empty()).then(|| after_name.clone());
    loop {
        let page = if first.is_empty() {
            state.store.list_functions(cursor.as_deref(), 50).await?
        } else {
            std::mem::take(&mut first)
        };
        let Some(last) = page.last() else { break };
        cursor = Some(last.name.clone());
        for f in page {
            let skip_to = if f.name == after_name {
                after_pos.map(|p| p + 1)
            } else {
                Some(0)
            };
            let Some(start) = skip_to else { continue };
            let mut items = vec![(0u64, "$LATEST".to_owned(), f.clone())];
            for v in state.store.list_versions(&f.name, 0, usize::MAX).await? {
                items.push((v.version, v.version.to_string(), v.function));
            }
            for (pos, version, rec) in items.into_iter().filter(|(p, ..)| *p >= start) {
                if out.len() == max_items {
                    let next = out
                        .last()
                        .map(|(n, p, _): &(String, u64, FunctionConfiguration)| format!("{n}:{p}"));
                    return Ok((out.into_iter().map(|(.., c)| c).collect(), next));
                }
                let c = configuration(state, &rec, Some(&version), &version, View::List);
                out.push((f.name.clone(), pos, c));
            }
        }
    }
    Ok((out.into_iter().map(|(.., c)| c).collect(), None))
}
