//! FilterLogEvents: the events of a group's streams that match a filter pattern and a time
//! range, merged in [`EventKey`] order (timestamp first), paged on the last key returned.
//! This is the only call `aws logs tail [--follow]` makes: it needs an inclusive `startTime`,
//! events sorted by time, stable `eventId`s and no `nextToken` once everything is read.

use std::ops::ControlFlow;

use lamina_engine::logs::StoredEvent;
use serde::Deserialize;
use serde_json::{Value, json};

use super::events::{EVENT_OVERHEAD, PAGE_BYTES};
use super::files::{self, StreamFile};
use super::pattern::FilterPattern;
use super::tokens::{self, EventKey};
use super::{LogsError, blocking, group_name, groups, limit, parse};
use crate::state::AppState;

/// How far past its ingestion (the file's last write) an event's timestamp can be: AWS
/// accepts events up to 2 hours in the future.
const FUTURE_SLACK_MS: i64 = 2 * 3_600_000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FilterLogEventsRequest {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_names: Option<Vec<String>>,
    log_stream_name_prefix: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    filter_pattern: Option<String>,
    next_token: Option<String>,
    limit: Option<i64>,
    // `interleaved` (deprecated; `aws logs tail` still sends it) and `unmask` are accepted and
    // ignored: results are always interleaved and never masked.
}

/// What to look for.
pub struct Query<'a> {
    pub pattern: &'a FilterPattern,
    /// Inclusive bounds, in milliseconds.
    pub start: Option<i64>,
    pub end: Option<i64>,
    /// Only events after this key (the previous page's last).
    pub after: Option<EventKey>,
    pub limit: usize,
}

/// One matching event.
#[derive(Debug)]
pub struct Found {
    pub key: EventKey,
    /// Index into the searched streams.
    pub stream: usize,
    pub event: StoredEvent,
}

/// Searches `streams`; returns the page (at most `limit` events and about 1 MB) and whether
/// more events match after it.
pub fn search(streams: &[StreamFile], query: &Query<'_>) -> std::io::Result<(Vec<Found>, bool)> {
    let keep = query.limit.saturating_add(1);
    let mut found: Vec<Found> = Vec::new();
    for (index, stream) in streams.iter().enumerate() {
        // A stream last written before the range can hold no event in it.
        if query
            .start
            .is_some_and(|s| stream.modified_ms.saturating_add(FUTURE_SLACK_MS) < s)
        {
            continue;
        }
        let hash = tokens::stream_hash(&stream.name);
        files::scan(&stream.path, |line, event| {
            let in_range = query.start.is_none_or(|s| event.timestamp >= s)
                && query.end.is_none_or(|e| event.timestamp <= e);
            if in_range {
                let key = EventKey::new(event.timestamp, hash, line);
                if query.after.is_none_or(|a| key > a) && query.pattern.matches(&event.message) {
                    found.push(Found {
                        key,
                        stream: index,
                        event,
                    });
                }
            }
            ControlFlow::Continue(())
        })?;
        // Bound memory: only the first `keep` keys can make it into the page.
        if found.len() > keep.saturating_mul(2) {
            found.sort_by_key(|f| f.key);
            found.truncate(keep);
        }
    }
    found.sort_by_key(|f| f.key);
    let mut bytes = 0;
    let mut take = 0;
    for f in &found {
        bytes += f.event.message.len() + EVENT_OVERHEAD;
        if take >= query.limit || (bytes > PAGE_BYTES && take > 0) {
            break;
        }
        take += 1;
    }
    let more = found.len() > take;
    found.truncate(take);
    Ok((found, more))
}

pub(super) async fn filter_log_events(state: &AppState, body: &[u8]) -> Result<Value, LogsError> {
    let req: FilterLogEventsRequest = parse(body)?;
    let group = group_name(req.log_group_name, req.log_group_identifier)?;
    let limit = limit(req.limit, 10_000, 10_000)?;
    if req.log_stream_names.is_some() && req.log_stream_name_prefix.is_some() {
        return Err(LogsError::InvalidParameter(
            "logStreamNames and logStreamNamePrefix are mutually exclusive parameters.".into(),
        ));
    }
    if let Some(names) = &req.log_stream_names
        && (names.is_empty() || names.len() > 100)
    {
        return Err(LogsError::constraint(
            format!("[{}]", names.join(", ")),
            "logStreamNames",
            "Member must have length between 1 and 100",
        ));
    }
    let pattern = FilterPattern::parse(req.filter_pattern.as_deref().unwrap_or_default())
        .map_err(|e| LogsError::InvalidParameter(format!("Invalid filter pattern: {e}")))?;
    let after = match &req.next_token {
        Some(t) => Some(tokens::parse_filter_token(t).ok_or_else(|| {
            LogsError::InvalidParameter("The specified nextToken is invalid.".into())
        })?),
        None => None,
    };
    groups::resolve(state, &group).await?;
    let logs_dir = state.engine.logs_dir().to_owned();
    let (start, end) = (req.start_time, req.end_time);
    let (names, prefix) = (req.log_stream_names, req.log_stream_name_prefix);
    let (streams, page, more) = blocking(move || {
        let mut streams = files::streams(&logs_dir, &group)?;
        if let Some(names) = &names {
            streams.retain(|s| names.contains(&s.name));
        }
        if let Some(prefix) = &prefix {
            streams.retain(|s| s.name.starts_with(prefix.as_str()));
        }
        let query = Query {
            pattern: &pattern,
            start,
            end,
            after,
            limit,
        };
        let (page, more) = search(&streams, &query)?;
        Ok((streams, page, more))
    })
    .await?;
    let events: Vec<Value> = page
        .iter()
        .map(|f| {
            json!({
                "logStreamName": streams[f.stream].name,
                "timestamp": f.event.timestamp,
                "message": f.event.message,
                "ingestionTime": f.event.ingestion_time,
                "eventId": f.key.event_id(),
            })
        })
        .collect();
    let searched: Vec<Value> = streams
        .iter()
        .map(|s| json!({ "logStreamName": s.name, "searchedCompletely": true }))
        .collect();
    let mut out = json!({ "events": events, "searchedLogStreams": searched });
    if more && let Some(last) = page.last() {
        out["nextToken"] = json!(tokens::filter_token(&last.key));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lamina_engine::logs::LogStream;

    fn setup() -> (tempfile::TempDir, Vec<StreamFile>) {
        let dir = tempfile::tempdir().unwrap();
        let a = LogStream::create(dir.path(), "/g", "a").unwrap();
        let b = LogStream::create(dir.path(), "/g", "b").unwrap();
        a.append(10, "START one");
        b.append(11, "ERROR two");
        a.append(12, "ERROR three");
        b.append(12, "INFO four");
        a.append(13, "ERROR five");
        let streams = files::streams(dir.path(), "/g").unwrap();
        (dir, streams)
    }

    fn messages(page: &[Found]) -> Vec<&str> {
        page.iter().map(|f| f.event.message.as_str()).collect()
    }

    fn query(pattern: &FilterPattern) -> Query<'_> {
        Query {
            pattern,
            start: None,
            end: None,
            after: None,
            limit: 100,
        }
    }

    #[test]
    fn events_of_all_streams_come_in_timestamp_order() {
        let (_dir, streams) = setup();
        let all = FilterPattern::All;
        let (page, more) = search(&streams, &query(&all)).unwrap();
        assert!(!more);
        assert_eq!(page.len(), 5);
        let times: Vec<i64> = page.iter().map(|f| f.event.timestamp).collect();
        assert_eq!(times, [10, 11, 12, 12, 13]);
        let ids: Vec<String> = page.iter().map(|f| f.key.event_id()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(ids, sorted, "event ids sort like the events");
    }

    #[test]
    fn the_pattern_and_inclusive_time_bounds_filter() {
        let (_dir, streams) = setup();
        let errors = FilterPattern::parse("ERROR").unwrap();
        let (page, _) = search(&streams, &query(&errors)).unwrap();
        assert_eq!(messages(&page), ["ERROR two", "ERROR three", "ERROR five"]);
        let bounded = Query {
            start: Some(12),
            end: Some(12),
            ..query(&errors)
        };
        let (page, _) = search(&streams, &bounded).unwrap();
        assert_eq!(messages(&page), ["ERROR three"]);
    }

    #[test]
    fn paging_resumes_after_the_last_key_without_gaps_or_repeats() {
        let (dir, streams) = setup();
        let all = FilterPattern::All;
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let q = Query {
                after,
                limit: 2,
                ..query(&all)
            };
            let (page, more) = search(&streams, &q).unwrap();
            seen.extend(page.iter().map(|f| f.event.message.clone()));
            if !more {
                break;
            }
            after = page.last().map(|f| f.key);
        }
        assert_eq!(seen.len(), 5);
        // Events appended since are found after the last key, and only they.
        LogStream::create(dir.path(), "/g", "a")
            .unwrap()
            .append(20, "late");
        let q = Query {
            after: Some(EventKey::new(13, u64::MAX, u64::MAX)),
            ..query(&all)
        };
        let (page, more) = search(&streams, &q).unwrap();
        assert_eq!(messages(&page), ["late"]);
        assert!(!more);
    }
}
