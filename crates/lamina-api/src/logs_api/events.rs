//! GetLogEvents (one stream, paged by position) and PutLogEvents (appending to a stream with
//! the engine's own writer, so the file format has one writer implementation).

use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::path::Path;

use lamina_engine::logs::{LogStream, StoredEvent};
use serde::Deserialize;
use serde_json::{Value, json};

use super::tokens::Position;
use super::{LogsError, blocking, files, group_name, groups, limit, now_ms, parse, required};
use crate::state::AppState;

/// AWS caps a page of events at 1 MB, counting each event as its message plus 26 bytes.
pub const PAGE_BYTES: usize = 1_048_576;
/// The per-event overhead AWS counts against size limits.
pub const EVENT_OVERHEAD: usize = 26;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetLogEventsRequest {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    next_token: Option<String>,
    limit: Option<i64>,
    start_from_head: Option<bool>,
}

/// A page of one stream.
#[derive(Debug)]
pub struct StreamPage {
    /// (line, event) in file order.
    pub events: Vec<(u64, StoredEvent)>,
    pub forward: Position,
    pub backward: Position,
}

/// Reads the page of `path` that `from` names: forward, the first `limit` events at or after
/// a line; backward, the last `limit` events before a line. Events outside `[start, end)` are
/// skipped. An empty page hands back tokens naming the same position, which is how clients
/// know they reached the end.
pub fn read_page(
    path: &Path,
    start: Option<i64>,
    end: Option<i64>,
    from: Position,
    limit: usize,
) -> std::io::Result<StreamPage> {
    let in_range = |e: &StoredEvent| {
        start.is_none_or(|s| e.timestamp >= s) && end.is_none_or(|t| e.timestamp < t)
    };
    let (events, at) = match from {
        Position::Forward(p) => {
            let mut events = Vec::new();
            let mut bytes = 0;
            let total = files::scan(path, |line, event| {
                if line < p || !in_range(&event) {
                    return ControlFlow::Continue(());
                }
                bytes += event.message.len() + EVENT_OVERHEAD;
                if events.len() >= limit || (bytes > PAGE_BYTES && !events.is_empty()) {
                    return ControlFlow::Break(());
                }
                events.push((line, event));
                ControlFlow::Continue(())
            })?;
            (events, p.min(total))
        }
        Position::Backward(p) => {
            let mut window: VecDeque<(u64, StoredEvent)> = VecDeque::new();
            let mut bytes = 0;
            let total = files::scan(path, |line, event| {
                if line >= p {
                    return ControlFlow::Break(());
                }
                if in_range(&event) {
                    bytes += event.message.len() + EVENT_OVERHEAD;
                    window.push_back((line, event));
                    while window.len() > limit || (bytes > PAGE_BYTES && window.len() > 1) {
                        if let Some((_, dropped)) = window.pop_front() {
                            bytes -= dropped.message.len() + EVENT_OVERHEAD;
                        }
                    }
                }
                ControlFlow::Continue(())
            })?;
            (window.into_iter().collect(), p.min(total))
        }
    };
    let (forward, backward) = match (events.first(), events.last()) {
        (Some((first, _)), Some((last, _))) => {
            (Position::Forward(last + 1), Position::Backward(*first))
        }
        _ => (Position::Forward(at), Position::Backward(at)),
    };
    Ok(StreamPage {
        events,
        forward,
        backward,
    })
}

pub(super) async fn get_log_events(state: &AppState, body: &[u8]) -> Result<Value, LogsError> {
    let req: GetLogEventsRequest = parse(body)?;
    let group = group_name(req.log_group_name, req.log_group_identifier)?;
    let stream = required(req.log_stream_name, "logStreamName")?;
    let limit = limit(req.limit, 10_000, 10_000)?;
    let from = match &req.next_token {
        Some(t) => Position::parse(t).ok_or_else(|| {
            LogsError::InvalidParameter("The specified nextToken is invalid.".into())
        })?,
        None if req.start_from_head.unwrap_or(false) => Position::Forward(0),
        None => Position::Backward(u64::MAX),
    };
    groups::resolve(state, &group).await?;
    let logs_dir = state.engine.logs_dir().to_owned();
    let (start, end) = (req.start_time, req.end_time);
    let page = blocking(move || {
        let file =
            files::stream(&logs_dir, &group, &stream)?.ok_or_else(LogsError::stream_not_found)?;
        Ok(read_page(&file.path, start, end, from, limit)?)
    })
    .await?;
    let events: Vec<Value> = page
        .events
        .into_iter()
        .map(|(_, e)| {
            json!({
                "timestamp": e.timestamp,
                "message": e.message,
                "ingestionTime": e.ingestion_time,
            })
        })
        .collect();
    Ok(json!({
        "events": events,
        "nextForwardToken": page.forward.token(),
        "nextBackwardToken": page.backward.token(),
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PutLogEventsRequest {
    log_group_name: Option<String>,
    log_stream_name: Option<String>,
    log_events: Option<Vec<InputEvent>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InputEvent {
    timestamp: i64,
    message: String,
}

/// How far from now AWS accepts events: 14 days back, 2 hours ahead.
const TOO_OLD_MS: i64 = 14 * 86_400_000;
const TOO_NEW_MS: i64 = 2 * 3_600_000;
const BATCH_SPAN_MS: i64 = 86_400_000;

/// Which events of a batch AWS would store, and why the others are rejected.
#[derive(Debug, Default, PartialEq, Eq)]
struct Accepted {
    /// Index range of the events to store.
    range: std::ops::Range<usize>,
    too_old_end: Option<usize>,
    expired_end: Option<usize>,
    too_new_start: Option<usize>,
}

/// Checks a batch (in chronological order, within 24 hours) and splits off events too old,
/// past the group's retention, or too far in the future.
fn accept(
    timestamps: &[i64],
    now_ms: i64,
    retention_days: Option<u32>,
) -> Result<Accepted, LogsError> {
    if timestamps.windows(2).any(|w| w[1] < w[0]) {
        return Err(LogsError::InvalidParameter(
            "Log events in a single PutLogEvents request must be in chronological order.".into(),
        ));
    }
    if let (Some(first), Some(last)) = (timestamps.first(), timestamps.last())
        && last - first > BATCH_SPAN_MS
    {
        return Err(LogsError::InvalidParameter(
            "The batch of log events in a single PutLogEvents request cannot span more than 24 hours."
                .into(),
        ));
    }
    let too_old = timestamps
        .iter()
        .take_while(|t| **t < now_ms - TOO_OLD_MS)
        .count();
    let expired = retention_days.map_or(0, |d| {
        let cutoff = now_ms - i64::from(d) * 86_400_000;
        timestamps.iter().take_while(|t| **t < cutoff).count()
    });
    let too_new = timestamps
        .iter()
        .rev()
        .take_while(|t| **t > now_ms + TOO_NEW_MS)
        .count();
    let start = too_old.max(expired);
    let end = (timestamps.len() - too_new).max(start);
    Ok(Accepted {
        range: start..end,
        too_old_end: (too_old > 0).then(|| too_old - 1),
        expired_end: (expired > 0).then(|| expired - 1),
        too_new_start: (too_new > 0).then(|| timestamps.len() - too_new),
    })
}

pub(super) async fn put_log_events(state: &AppState, body: &[u8]) -> Result<Value, LogsError> {
    let req: PutLogEventsRequest = parse(body)?;
    let group = required(req.log_group_name, "logGroupName")?;
    let stream = required(req.log_stream_name, "logStreamName")?;
    let events = required(req.log_events, "logEvents")?;
    if events.is_empty() || events.len() > 10_000 {
        return Err(LogsError::constraint(
            events.len(),
            "logEvents",
            "Member must have length between 1 and 10000",
        ));
    }
    let bytes: usize = events
        .iter()
        .map(|e| e.message.len() + EVENT_OVERHEAD)
        .sum();
    if bytes > PAGE_BYTES {
        return Err(LogsError::InvalidParameter(format!(
            "Log event batch is {bytes} bytes, more than the maximum of {PAGE_BYTES} bytes."
        )));
    }
    let record = groups::resolve(state, &group).await?;
    let timestamps: Vec<i64> = events.iter().map(|e| e.timestamp).collect();
    let now = now_ms();
    let accepted = accept(&timestamps, now, record.retention_in_days)?;
    let logs_dir = state.engine.logs_dir().to_owned();
    let range = accepted.range.clone();
    blocking(move || {
        if files::stream(&logs_dir, &group, &stream)?.is_none() {
            return Err(LogsError::stream_not_found());
        }
        let writer = LogStream::create(&logs_dir, &group, &stream)?;
        for event in &events[range] {
            writer.append(event.timestamp, &event.message);
        }
        Ok(())
    })
    .await?;
    let mut out = json!({ "nextSequenceToken": format!("{now:056}") });
    let mut rejected = serde_json::Map::new();
    if let Some(i) = accepted.too_new_start {
        rejected.insert("tooNewLogEventStartIndex".into(), json!(i));
    }
    if let Some(i) = accepted.too_old_end {
        rejected.insert("tooOldLogEventEndIndex".into(), json!(i));
    }
    if let Some(i) = accepted.expired_end {
        rejected.insert("expiredLogEventEndIndex".into(), json!(i));
    }
    if !rejected.is_empty() {
        out["rejectedLogEventsInfo"] = Value::Object(rejected);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream_of(n: u64) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let s = LogStream::create(dir.path(), "/g", "s").unwrap();
        for i in 0..n {
            s.append(1000 + i64::try_from(i).unwrap(), &format!("m{i}"));
        }
        let path = lamina_engine::logs::stream_path(dir.path(), "/g", "s");
        (dir, path)
    }

    fn lines(page: &StreamPage) -> Vec<u64> {
        page.events.iter().map(|(l, _)| *l).collect()
    }

    #[test]
    fn forward_pages_end_with_the_same_token() {
        let (_dir, path) = stream_of(5);
        let p1 = read_page(&path, None, None, Position::Forward(0), 2).unwrap();
        assert_eq!(lines(&p1), [0, 1]);
        assert_eq!(p1.forward, Position::Forward(2));
        assert_eq!(p1.backward, Position::Backward(0));
        let p2 = read_page(&path, None, None, p1.forward, 2).unwrap();
        assert_eq!(lines(&p2), [2, 3]);
        let p3 = read_page(&path, None, None, p2.forward, 2).unwrap();
        assert_eq!(lines(&p3), [4]);
        let end = read_page(&path, None, None, p3.forward, 2).unwrap();
        assert!(end.events.is_empty());
        assert_eq!(end.forward, p3.forward, "the same token back means the end");
        // New events appended later are picked up from that same token.
        LogStream::create(path.parent().unwrap().parent().unwrap(), "/g", "s")
            .unwrap()
            .append(2000, "late");
        let more = read_page(&path, None, None, end.forward, 2).unwrap();
        assert_eq!(more.events[0].1.message, "late");
    }

    #[test]
    fn the_default_page_is_the_newest_and_pages_backward() {
        let (_dir, path) = stream_of(5);
        let newest = read_page(&path, None, None, Position::Backward(u64::MAX), 2).unwrap();
        assert_eq!(lines(&newest), [3, 4]);
        assert_eq!(newest.forward, Position::Forward(5));
        let older = read_page(&path, None, None, newest.backward, 2).unwrap();
        assert_eq!(lines(&older), [1, 2]);
        let oldest = read_page(&path, None, None, older.backward, 2).unwrap();
        assert_eq!(lines(&oldest), [0]);
        let end = read_page(&path, None, None, oldest.backward, 2).unwrap();
        assert!(end.events.is_empty());
        assert_eq!(end.backward, oldest.backward);
    }

    #[test]
    fn time_bounds_are_start_inclusive_end_exclusive() {
        let (_dir, path) = stream_of(5);
        let page = read_page(&path, Some(1001), Some(1003), Position::Forward(0), 100).unwrap();
        assert_eq!(lines(&page), [1, 2]);
        let empty = tempfile::tempdir().unwrap();
        let none = read_page(
            &empty.path().join("x"),
            None,
            None,
            Position::Backward(u64::MAX),
            10,
        )
        .unwrap();
        assert_eq!(none.forward, Position::Forward(0));
        assert_eq!(none.backward, Position::Backward(0));
    }

    #[test]
    fn batches_must_be_chronological_and_within_a_day() {
        assert!(accept(&[2, 1], 10, None).is_err());
        assert!(accept(&[0, BATCH_SPAN_MS + 1], BATCH_SPAN_MS, None).is_err());
        assert_eq!(accept(&[5, 5, 6], 10, None).unwrap().range, 0..3);
    }

    #[test]
    fn old_expired_and_future_events_are_rejected_by_index() {
        let now = 100 * 86_400_000;
        let hour = 3_600_000;
        let old = accept(
            &[now - 15 * 24 * hour, now - 15 * 24 * hour + hour],
            now,
            None,
        )
        .unwrap();
        assert_eq!(old.range.len(), 0);
        assert_eq!(old.too_old_end, Some(1));
        let expired = accept(&[now - 25 * hour, now - hour], now, Some(1)).unwrap();
        assert_eq!(expired.range, 1..2);
        assert_eq!(expired.expired_end, Some(0));
        assert_eq!(expired.too_old_end, None);
        let future = accept(&[now, now + 3 * hour], now, None).unwrap();
        assert_eq!(future.range, 0..1);
        assert_eq!(future.too_new_start, Some(1));
    }
}
