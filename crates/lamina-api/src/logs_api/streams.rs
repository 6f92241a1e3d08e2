//! DescribeLogStreams, CreateLogStream, DeleteLogStream.

use std::cmp::Ordering;

use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    LogsError, blocking, empty, files, group_arn, group_name, groups, limit, parse, required,
    tokens,
};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeLogStreamsRequest {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name_prefix: Option<String>,
    order_by: Option<String>,
    descending: Option<bool>,
    limit: Option<i64>,
    next_token: Option<String>,
}

/// A stream and what DescribeLogStreams reports about it.
struct Described {
    file: files::StreamFile,
    ends: files::Ends,
}

impl Described {
    fn last_event_ms(&self) -> Option<i64> {
        self.ends.last.as_ref().map(|e| e.timestamp)
    }

    /// The sort key: (last event time, name) or (0, name).
    fn key(&self, by_time: bool) -> (i64, String) {
        let time = if by_time {
            self.last_event_ms().unwrap_or(0)
        } else {
            0
        };
        (time, self.file.name.clone())
    }
}

pub(super) async fn describe_log_streams(
    state: &AppState,
    body: &[u8],
) -> Result<Value, LogsError> {
    let req: DescribeLogStreamsRequest = parse(body)?;
    let group = group_name(req.log_group_name, req.log_group_identifier)?;
    let limit = limit(req.limit, 50, 50)?;
    let by_time = match req.order_by.as_deref() {
        None | Some("LogStreamName") => false,
        Some("LastEventTime") => true,
        Some(other) => {
            return Err(LogsError::constraint(
                other,
                "orderBy",
                "Member must satisfy enum value set: [LogStreamName, LastEventTime]",
            ));
        }
    };
    if by_time && req.log_stream_name_prefix.is_some() {
        return Err(LogsError::InvalidParameter(
            "Cannot order by LastEventTime with a logStreamNamePrefix.".into(),
        ));
    }
    let descending = req.descending.unwrap_or(false);
    let after: Option<(i64, String)> = match &req.next_token {
        Some(t) => Some(tokens::parse_page_token(t).ok_or_else(|| {
            LogsError::InvalidParameter("The specified nextToken is invalid.".into())
        })?),
        None => None,
    };
    groups::resolve(state, &group).await?;
    let logs_dir = state.engine.logs_dir().to_owned();
    let prefix = req.log_stream_name_prefix.clone().unwrap_or_default();
    let lookup = group.clone();
    let (page, more) = blocking(move || {
        let mut all = Vec::new();
        for file in files::streams(&logs_dir, &lookup)? {
            if file.name.starts_with(&prefix) {
                let ends = files::ends(&file.path)?;
                all.push(Described { file, ends });
            }
        }
        let order = |a: &Described, b: &Described| -> Ordering {
            let o = a.key(by_time).cmp(&b.key(by_time));
            if descending { o.reverse() } else { o }
        };
        all.sort_by(order);
        if let Some(after) = &after {
            all.retain(|d| {
                let o = d.key(by_time).cmp(after);
                if descending {
                    o == Ordering::Less
                } else {
                    o == Ordering::Greater
                }
            });
        }
        let more = all.len() > limit;
        all.truncate(limit);
        Ok((all, more))
    })
    .await?;
    let arn = group_arn(&state.config, &group);
    let streams: Vec<Value> = page
        .iter()
        .map(|d| {
            let mut v = json!({
                "logStreamName": d.file.name,
                "creationTime": d
                    .ends
                    .first
                    .as_ref()
                    .map_or(d.file.created_ms, |e| d.file.created_ms.min(e.ingestion_time)),
                "arn": format!("{arn}:log-stream:{}", d.file.name),
                "storedBytes": d.file.size,
            });
            if let Some(first) = &d.ends.first {
                v["firstEventTimestamp"] = json!(first.timestamp);
            }
            if let Some(last) = &d.ends.last {
                v["lastEventTimestamp"] = json!(last.timestamp);
                v["lastIngestionTime"] = json!(last.ingestion_time);
            }
            v
        })
        .collect();
    let mut out = json!({ "logStreams": streams });
    if more && let Some(last) = page.last() {
        out["nextToken"] = json!(tokens::page_token(&last.key(by_time)));
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StreamRequest {
    log_group_name: Option<String>,
    log_stream_name: Option<String>,
}

/// AWS's stream name rule (`[^:*]*`, 1 to 512 characters), plus ours: the name is a file
/// name, which the file system bounds to 255 bytes once encoded.
fn check_stream_name(name: &str) -> Result<(), LogsError> {
    if name.is_empty() || name.chars().count() > 512 {
        return Err(LogsError::constraint(
            name,
            "logStreamName",
            "Member must have length between 1 and 512",
        ));
    }
    if name.contains([':', '*']) {
        return Err(LogsError::constraint(
            name,
            "logStreamName",
            "Member must satisfy regular expression pattern: [^:*]*",
        ));
    }
    let encoded = lamina_engine::logs::encode_name(name);
    if encoded.len() + 1 + lamina_engine::logs::STREAM_EXTENSION.len() > 255 {
        return Err(LogsError::InvalidParameter(format!(
            "Log stream name '{name}' is too long for Lamina's log store (at most about 240 bytes)."
        )));
    }
    Ok(())
}

pub(super) async fn create_log_stream(state: &AppState, body: &[u8]) -> Result<Value, LogsError> {
    let req: StreamRequest = parse(body)?;
    let group = required(req.log_group_name, "logGroupName")?;
    let stream = required(req.log_stream_name, "logStreamName")?;
    check_stream_name(&stream)?;
    groups::resolve(state, &group).await?;
    let path = lamina_engine::logs::stream_path(state.engine.logs_dir(), &group, &stream);
    blocking(move || {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        match std::fs::OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(
                LogsError::ResourceAlreadyExists("The specified log stream already exists".into()),
            ),
            Err(e) => Err(e.into()),
        }
    })
    .await?;
    Ok(empty())
}

pub(super) async fn delete_log_stream(state: &AppState, body: &[u8]) -> Result<Value, LogsError> {
    let req: StreamRequest = parse(body)?;
    let group = required(req.log_group_name, "logGroupName")?;
    let stream = required(req.log_stream_name, "logStreamName")?;
    groups::resolve(state, &group).await?;
    let path = lamina_engine::logs::stream_path(state.engine.logs_dir(), &group, &stream);
    blocking(move || match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(LogsError::stream_not_found()),
        Err(e) => Err(e.into()),
    })
    .await?;
    Ok(empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_follow_aws_rules_and_fit_a_file_name() {
        assert!(check_stream_name("2025/11/25/[$LATEST]0123456789abcdef0123456789abcdef").is_ok());
        assert!(check_stream_name("").is_err());
        assert!(check_stream_name("a:b").is_err());
        assert!(check_stream_name("a*").is_err());
        assert!(check_stream_name(&"a".repeat(250)).is_err());
        assert!(check_stream_name(&"a".repeat(240)).is_ok());
    }
}
