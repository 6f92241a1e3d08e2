//! DescribeLogGroups, CreateLogGroup, DeleteLogGroup, and how a group comes to exist.

use std::collections::HashSet;

use lamina_store::LogGroupRecord;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{LogsError, blocking, empty, files, group_arn, limit, parse, required, tokens};
use crate::state::AppState;

/// The group's record. A group whose directory exists (an environment wrote to it) but that
/// has no row yet gets one now, dated by its directory.
pub(super) async fn resolve(state: &AppState, name: &str) -> Result<LogGroupRecord, LogsError> {
    if let Some(record) = state.store.get_log_group(name).await? {
        return Ok(record);
    }
    let logs_dir = state.engine.logs_dir().to_owned();
    let lookup = name.to_owned();
    let Some(dir) = blocking(move || Ok(files::group_dir(&logs_dir, &lookup))).await? else {
        return Err(LogsError::group_not_found());
    };
    state.store.create_log_group(name, dir.created_ms).await?;
    state
        .store
        .get_log_group(name)
        .await?
        .ok_or_else(LogsError::group_not_found)
}

/// Records the groups that have a directory but no row yet.
async fn record_disk_groups(state: &AppState) -> Result<(), LogsError> {
    let logs_dir = state.engine.logs_dir().to_owned();
    let on_disk = blocking(move || Ok(files::group_dirs(&logs_dir)?)).await?;
    if on_disk.is_empty() {
        return Ok(());
    }
    let known: HashSet<String> = state.store.log_group_names().await?.into_iter().collect();
    for dir in on_disk.into_iter().filter(|d| !known.contains(&d.name)) {
        state
            .store
            .create_log_group(&dir.name, dir.created_ms)
            .await?;
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeLogGroupsRequest {
    log_group_name_prefix: Option<String>,
    log_group_name_pattern: Option<String>,
    limit: Option<i64>,
    next_token: Option<String>,
}

pub(super) async fn describe_log_groups(state: &AppState, body: &[u8]) -> Result<Value, LogsError> {
    let req: DescribeLogGroupsRequest = parse(body)?;
    let limit = limit(req.limit, 50, 50)?;
    if req.log_group_name_prefix.is_some() && req.log_group_name_pattern.is_some() {
        return Err(LogsError::InvalidParameter(
            "LogGroup name prefix and LogGroup name pattern are mutually exclusive parameters."
                .into(),
        ));
    }
    let after = match &req.next_token {
        Some(t) => Some(tokens::parse_page_token::<String>(t).ok_or_else(invalid_token)?),
        None => None,
    };
    record_disk_groups(state).await?;
    let mut page = match &req.log_group_name_pattern {
        // A pattern is a case-insensitive substring of the name.
        Some(pattern) => {
            let needle = pattern.to_lowercase();
            let mut all = state
                .store
                .list_log_groups(None, after.as_deref(), usize::MAX)
                .await?;
            all.retain(|g| g.name.to_lowercase().contains(&needle));
            all.truncate(limit + 1);
            all
        }
        None => {
            state
                .store
                .list_log_groups(
                    req.log_group_name_prefix.as_deref(),
                    after.as_deref(),
                    limit + 1,
                )
                .await?
        }
    };
    let more = page.len() > limit;
    page.truncate(limit);
    let logs_dir = state.engine.logs_dir().to_owned();
    let names: Vec<String> = page.iter().map(|g| g.name.clone()).collect();
    let sizes = blocking(move || {
        Ok(names
            .iter()
            .map(|n| files::stored_bytes(&logs_dir, n))
            .collect::<Vec<_>>())
    })
    .await?;
    let groups: Vec<Value> = page
        .iter()
        .zip(sizes)
        .map(|(g, size)| {
            let arn = group_arn(&state.config, &g.name);
            let mut v = json!({
                "logGroupName": g.name,
                "creationTime": g.creation_time_ms,
                "metricFilterCount": 0,
                "arn": format!("{arn}:*"),
                "logGroupArn": arn,
                "storedBytes": size,
                "logGroupClass": "STANDARD",
            });
            if let Some(days) = g.retention_in_days {
                v["retentionInDays"] = json!(days);
            }
            v
        })
        .collect();
    let mut out = json!({ "logGroups": groups });
    if more && let Some(last) = page.last() {
        out["nextToken"] = json!(tokens::page_token(&last.name));
    }
    Ok(out)
}

fn invalid_token() -> LogsError {
    LogsError::InvalidParameter("The specified nextToken is invalid.".into())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupRequest {
    log_group_name: Option<String>,
}

pub(super) async fn create_log_group(state: &AppState, body: &[u8]) -> Result<Value, LogsError> {
    let req: GroupRequest = parse(body)?;
    let name = required(req.log_group_name, "logGroupName")?;
    if !files::valid_group_name(&name) {
        return Err(if name.is_empty() || name.len() > 512 {
            LogsError::constraint(
                &name,
                "logGroupName",
                "Member must have length between 1 and 512",
            )
        } else {
            LogsError::constraint(
                &name,
                "logGroupName",
                r"Member must satisfy regular expression pattern: [\.\-_/#A-Za-z0-9]+",
            )
        });
    }
    let logs_dir = state.engine.logs_dir().to_owned();
    let lookup = name.clone();
    let on_disk = blocking(move || Ok(files::group_dir(&logs_dir, &lookup).is_some())).await?;
    if on_disk || !state.store.create_log_group(&name, super::now_ms()).await? {
        return Err(LogsError::ResourceAlreadyExists(
            "The specified log group already exists".into(),
        ));
    }
    let dir = lamina_engine::logs::group_dir(state.engine.logs_dir(), &name);
    blocking(move || Ok(std::fs::create_dir_all(dir)?)).await?;
    Ok(empty())
}

pub(super) async fn delete_log_group(state: &AppState, body: &[u8]) -> Result<Value, LogsError> {
    let req: GroupRequest = parse(body)?;
    let name = required(req.log_group_name, "logGroupName")?;
    resolve(state, &name).await?;
    state.store.delete_log_group(&name).await?;
    let logs_dir = state.engine.logs_dir().to_owned();
    blocking(move || remove_group_dir(&logs_dir, &name)).await?;
    Ok(empty())
}

/// Removes a group's directory: renamed out of the way first (to a name no group can have),
/// so a reader never sees half a group.
fn remove_group_dir(logs_dir: &std::path::Path, name: &str) -> Result<(), LogsError> {
    let dir = lamina_engine::logs::group_dir(logs_dir, name);
    let trash = logs_dir.join(format!("+deleted-{}", uuid::Uuid::new_v4().simple()));
    match std::fs::rename(&dir, &trash) {
        Ok(()) => Ok(std::fs::remove_dir_all(&trash)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e.into()),
    }
}
