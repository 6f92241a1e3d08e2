//! PutRetentionPolicy, DeleteRetentionPolicy, and the sweep that applies retention.
//!
//! Stream files are append-only (event ids are line positions), so retention works on whole
//! streams: a stream goes once its newest event is older than the group's retention. One
//! execution environment writes one stream and environments live minutes to hours, so this is
//! close to AWS, which also deletes expired events lazily (up to 72 hours late). Should a
//! stream be deleted while its environment still runs, the engine's writer starts the file
//! again on its next line.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::{LogsError, blocking, empty, files, groups, parse, required};
use crate::state::AppState;

/// The retention periods AWS accepts, in days.
pub const ALLOWED_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// How often the sweep runs (it also runs once at start-up, before the server serves).
pub const SWEEP_PERIOD: Duration = Duration::from_secs(3600);

const DAY_MS: i64 = 86_400_000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutRetentionRequest {
    log_group_name: Option<String>,
    retention_in_days: Option<i64>,
}

fn retention_days(days: Option<i64>) -> Result<u32, LogsError> {
    let Some(days) = days else {
        return Err(LogsError::InvalidParameter(
            "1 validation error detected: Value null at 'retentionInDays' failed to satisfy constraint: Member must not be null".into(),
        ));
    };
    match u32::try_from(days) {
        Ok(d) if ALLOWED_DAYS.contains(&d) => Ok(d),
        _ => {
            let set: Vec<String> = ALLOWED_DAYS.iter().map(u32::to_string).collect();
            Err(LogsError::constraint(
                days,
                "retentionInDays",
                &format!("Member must satisfy enum value set: [{}]", set.join(", ")),
            ))
        }
    }
}

pub(super) async fn put_retention_policy(
    state: &AppState,
    body: &[u8],
) -> Result<Value, LogsError> {
    let req: PutRetentionRequest = parse(body)?;
    let name = required(req.log_group_name, "logGroupName")?;
    let days = retention_days(req.retention_in_days)?;
    groups::resolve(state, &name).await?;
    if !state.store.put_log_retention(&name, Some(days)).await? {
        return Err(LogsError::group_not_found());
    }
    Ok(empty())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteRetentionRequest {
    log_group_name: Option<String>,
}

pub(super) async fn delete_retention_policy(
    state: &AppState,
    body: &[u8],
) -> Result<Value, LogsError> {
    let req: DeleteRetentionRequest = parse(body)?;
    let name = required(req.log_group_name, "logGroupName")?;
    groups::resolve(state, &name).await?;
    if !state.store.put_log_retention(&name, None).await? {
        return Err(LogsError::group_not_found());
    }
    Ok(empty())
}

/// Deletes the streams of `group` whose events are all older than `retention_days` before
/// `now_ms` (an empty stream counts from its last write). Returns the deleted stream names.
pub fn sweep_group(
    logs_dir: &Path,
    group: &str,
    retention_days: u32,
    now_ms: i64,
) -> std::io::Result<Vec<String>> {
    let cutoff = now_ms.saturating_sub(i64::from(retention_days).saturating_mul(DAY_MS));
    let mut deleted = Vec::new();
    for stream in files::streams(logs_dir, group)? {
        let ends = files::ends(&stream.path)?;
        let newest = match (&ends.first, &ends.last) {
            (Some(f), Some(l)) => f.timestamp.max(l.timestamp),
            (Some(e), None) | (None, Some(e)) => e.timestamp,
            (None, None) => stream.modified_ms,
        };
        if newest < cutoff {
            match std::fs::remove_file(&stream.path) {
                Ok(()) => deleted.push(stream.name),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(deleted)
}

/// Applies every group's retention as of `now_ms`. Returns how many streams went.
pub async fn sweep(state: &AppState, now_ms: i64) -> Result<usize, LogsError> {
    let mut deleted = 0;
    let mut after: Option<String> = None;
    loop {
        let page = state
            .store
            .list_log_groups(None, after.as_deref(), 500)
            .await?;
        let Some(last) = page.last() else { break };
        after = Some(last.name.clone());
        for group in page {
            let Some(days) = group.retention_in_days else {
                continue;
            };
            let logs_dir = state.engine.logs_dir().to_owned();
            let name = group.name.clone();
            let gone = blocking(move || Ok(sweep_group(&logs_dir, &name, days, now_ms)?)).await?;
            if !gone.is_empty() {
                tracing::info!(log_group = %group.name, streams = gone.len(), retention_days = days, "expired log streams deleted");
            }
            deleted += gone.len();
        }
    }
    Ok(deleted)
}

/// Sweeps once now (so what expired while the server was down is gone before it serves),
/// then every [`SWEEP_PERIOD`] in the background for the life of the server.
pub async fn start_sweeper(state: AppState) {
    if let Err(e) = sweep(&state, super::now_ms()).await {
        tracing::warn!(error = %e, "log retention sweep failed");
    }
    tokio::spawn(async move {
        let first = tokio::time::Instant::now() + SWEEP_PERIOD;
        let mut tick = tokio::time::interval_at(first, SWEEP_PERIOD);
        loop {
            tick.tick().await;
            if let Err(e) = sweep(&state, super::now_ms()).await {
                tracing::warn!(error = %e, "log retention sweep failed");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use lamina_engine::logs::{LogStream, stream_path};

    #[test]
    fn retention_must_be_one_of_aws_values() {
        assert_eq!(retention_days(Some(7)).unwrap(), 7);
        assert_eq!(retention_days(Some(3653)).unwrap(), 3653);
        let LogsError::InvalidParameter(m) = retention_days(Some(2)).unwrap_err() else {
            panic!()
        };
        assert_eq!(
            m,
            "1 validation error detected: Value '2' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]"
        );
        assert!(retention_days(Some(-1)).is_err());
        assert!(retention_days(None).is_err());
    }

    #[test]
    fn the_sweep_deletes_streams_whose_newest_event_is_past_retention() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path();
        let now = 1_800_000_000_000_i64;
        let old = LogStream::create(logs, "/g", "old").unwrap();
        old.append(now - 3 * DAY_MS, "a");
        old.append(now - 2 * DAY_MS, "b");
        let mixed = LogStream::create(logs, "/g", "mixed").unwrap();
        mixed.append(now - 3 * DAY_MS, "a");
        mixed.append(now - 1000, "b");
        let other = LogStream::create(logs, "/other", "old").unwrap();
        other.append(now - 30 * DAY_MS, "a");

        // One day of retention: only "old" has nothing left to keep.
        assert_eq!(sweep_group(logs, "/g", 1, now).unwrap(), ["old"]);
        assert!(!stream_path(logs, "/g", "old").exists());
        assert!(stream_path(logs, "/g", "mixed").exists());
        assert!(stream_path(logs, "/other", "old").exists());
        // A clock three days on expires the rest; a sweep of nothing is fine.
        assert_eq!(
            sweep_group(logs, "/g", 1, now + 3 * DAY_MS).unwrap(),
            ["mixed"]
        );
        assert!(
            sweep_group(logs, "/g", 1, now + 3 * DAY_MS)
                .unwrap()
                .is_empty()
        );
        assert!(sweep_group(logs, "/none", 1, now).unwrap().is_empty());
    }

    #[test]
    fn a_longer_retention_keeps_the_streams() {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path();
        let now = 1_800_000_000_000_i64;
        let s = LogStream::create(logs, "/g", "s").unwrap();
        s.append(now - 3 * DAY_MS, "a");
        assert!(sweep_group(logs, "/g", 5, now).unwrap().is_empty());
        assert_eq!(sweep_group(logs, "/g", 3, now + 1).unwrap(), ["s"]);
    }
}
