//! Log streams: one per execution environment, named as AWS names them, stored as JSON lines
//! under the data dir (`logs/<group>/<stream>.jsonl`), and the platform's records
//! ([`PlatformRecord`]: INIT_START, START, END, REPORT and the rest), written as AWS writes them
//! for the function's `LogFormat` and filtered by its `SystemLogLevel` ([`PlatformLog`]).
//!
//! The file format is shared with the CloudWatch Logs API (`lamina-api`'s `logs_api`), which
//! reads these files and appends to them (PutLogEvents): one [`StoredEvent`] per line, in the
//! order written. Lines are only ever appended, never rewritten, so a line's position is a
//! stable identity for the event (the API's event ids and paging tokens rely on it).

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine;
use serde::{Deserialize, Serialize};

mod platform;

pub use platform::{LogFormat, LogLevel, PlatformLog, PlatformRecord, Report, instance_id};

/// `YYYY/MM/DD/[<version>]<32 lowercase hex>`, dated with the environment's creation (UTC).
pub fn stream_name(version: &str) -> String {
    let now = lamina_types::time::now();
    let hex: String = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "{:04}/{:02}/{:02}/[{version}]{hex}",
        now.year(),
        u8::from(now.month()),
        now.day()
    )
}

/// A file-system-safe name for a log group or stream (`/` and `%` escaped).
pub fn encode_name(name: &str) -> String {
    name.replace('%', "%25").replace('/', "%2F")
}

/// The name [`encode_name`] encoded, or `None` if `encoded` is not such a name.
pub fn decode_name(encoded: &str) -> Option<String> {
    let mut out = String::with_capacity(encoded.len());
    let mut rest = encoded;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("%25") => out.push('%'),
            Some("%2F") => out.push('/'),
            _ => return None,
        }
        rest = &rest[i + 3..];
    }
    if rest.contains('/') {
        return None;
    }
    out.push_str(rest);
    Some(out)
}

/// The extension of stream files.
pub const STREAM_EXTENSION: &str = "jsonl";

/// The directory of a log group's streams.
pub fn group_dir(logs_dir: &Path, group: &str) -> PathBuf {
    logs_dir.join(encode_name(group))
}

/// Where a stream's events are stored.
pub fn stream_path(logs_dir: &Path, group: &str, stream: &str) -> PathBuf {
    group_dir(logs_dir, group).join(format!("{}.{STREAM_EXTENSION}", encode_name(stream)))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Event<'a> {
    timestamp: i64,
    ingestion_time: i64,
    message: &'a str,
}

/// One line of a stream file, as readers see it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredEvent {
    /// When the event happened, in milliseconds since the epoch.
    pub timestamp: i64,
    /// When it was written, in milliseconds since the epoch.
    pub ingestion_time: i64,
    pub message: String,
}

/// One environment's log stream.
pub struct LogStream {
    pub group: String,
    pub name: String,
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

/// Opens a stream file for appending, creating it and its group directory. A group directory
/// removed concurrently (DeleteLogGroup) is created again.
fn open_append(path: &Path) -> std::io::Result<std::fs::File> {
    let mut attempts = 0;
    loop {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && attempts < 3 => attempts += 1,
            other => return other,
        }
    }
}

impl LogStream {
    pub fn create(logs_dir: &Path, group: &str, name: &str) -> std::io::Result<Self> {
        let path = stream_path(logs_dir, group, name);
        let file = open_append(&path)?;
        Ok(Self {
            group: group.to_owned(),
            name: name.to_owned(),
            path,
            file: Mutex::new(file),
        })
    }

    /// Appends one event. A failure to log never fails an invocation; it is reported once here.
    pub fn append(&self, timestamp_ms: i64, message: &str) {
        let event = Event {
            timestamp: timestamp_ms,
            ingestion_time: now_ms(),
            message,
        };
        let Ok(mut line) = serde_json::to_vec(&event) else {
            return;
        };
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // The stream was deleted under us (DeleteLogGroup, DeleteLogStream, retention): start it
        // again, as AWS's log agent would, rather than write into an unlinked file.
        if file.metadata().is_ok_and(|m| m.nlink() == 0) {
            match open_append(&self.path) {
                Ok(f) => *file = f,
                Err(e) => {
                    tracing::warn!(stream = %self.name, error = %e, "failed to reopen log stream");
                }
            }
        }
        if let Err(e) = file.write_all(&line) {
            tracing::warn!(stream = %self.name, error = %e, "failed to write log event");
        }
    }
}

pub fn now_ms() -> i64 {
    i64::try_from(lamina_types::time::now().unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

/// The log lines of one invocation, for `X-Amz-Log-Result`.
#[derive(Default)]
pub struct Tail {
    lines: Vec<String>,
}

impl Tail {
    pub fn push(&mut self, line: &str) {
        self.lines.push(line.to_owned());
    }

    /// Base64 of the last 4 KB of the invocation's log.
    pub fn encode(&self) -> String {
        let mut all = String::new();
        for l in &self.lines {
            all.push_str(l);
            if !l.ends_with('\n') {
                all.push('\n');
            }
        }
        let bytes = all.as_bytes();
        let start = bytes.len().saturating_sub(4096);
        base64::engine::general_purpose::STANDARD.encode(&bytes[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_look_like_aws() {
        let n = stream_name("$LATEST");
        let (date, rest) = n.split_at(11);
        assert_eq!(date.len(), 11);
        assert!(rest.starts_with("[$LATEST]"));
        assert_eq!(rest.len(), "[$LATEST]".len() + 32);
    }

    #[test]
    fn names_round_trip_through_their_file_names() {
        for name in [
            "/aws/lambda/f",
            "2025/11/25/[$LATEST]abc",
            "100%/x%2F",
            "plain",
        ] {
            let encoded = encode_name(name);
            assert!(!encoded.contains('/'));
            assert_eq!(decode_name(&encoded).as_deref(), Some(name));
        }
        assert_eq!(decode_name("bad%zz"), None);
        assert_eq!(decode_name("bad%2"), None);
    }

    #[test]
    fn a_deleted_stream_is_started_again_on_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let stream = LogStream::create(dir.path(), "/g", "s").unwrap();
        stream.append(1, "first");
        std::fs::remove_dir_all(group_dir(dir.path(), "/g")).unwrap();
        stream.append(2, "second");
        let text = std::fs::read_to_string(stream_path(dir.path(), "/g", "s")).unwrap();
        let events: Vec<StoredEvent> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].message, "second");
        assert_eq!(events[0].timestamp, 2);
    }

    #[test]
    fn tail_keeps_the_last_4kb() {
        let mut t = Tail::default();
        for i in 0..1000 {
            t.push(&format!("line {i}"));
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(t.encode())
            .unwrap();
        assert_eq!(decoded.len(), 4096);
        assert!(String::from_utf8_lossy(&decoded).ends_with("line 999\n"));
    }
}
