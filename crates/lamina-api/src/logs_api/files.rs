//! Reading the log stream files the engine writes (`lamina_engine::logs`): one directory per
//! group, one append-only JSON-lines file per stream. Everything here blocks; callers run it
//! on the blocking pool.
//!
//! A line still being written (no newline yet) is not an event yet: readers stop before it,
//! so line numbers, and the event ids built on them, never change once seen.

use std::fs::{File, Metadata};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use lamina_engine::logs::{self, StoredEvent};

/// Milliseconds since the epoch.
pub fn millis(t: SystemTime) -> i64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// When a file or directory was created: its birth time where the file system keeps one,
/// else its last modification.
pub fn created_ms(meta: &Metadata) -> i64 {
    millis(
        meta.created()
            .or_else(|_| meta.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH),
    )
}

/// Log group names AWS accepts: `[\.\-_/#A-Za-z0-9]+`, 1 to 512 characters.
pub fn valid_group_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 512
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/' | '#'))
}

/// A group directory on disk.
pub struct GroupDir {
    pub name: String,
    pub created_ms: i64,
}

/// The log groups that have a directory (every group an environment ever wrote to).
/// Entries that are not an encoded group name (trash being removed, say) are skipped.
pub fn group_dirs(logs_dir: &Path) -> std::io::Result<Vec<GroupDir>> {
    let entries = match std::fs::read_dir(logs_dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_dir() {
            continue;
        }
        let Some(name) = entry.file_name().to_str().and_then(logs::decode_name) else {
            continue;
        };
        if valid_group_name(&name) {
            out.push(GroupDir {
                name,
                created_ms: created_ms(&meta),
            });
        }
    }
    Ok(out)
}

/// A group's directory, if it has one.
pub fn group_dir(logs_dir: &Path, group: &str) -> Option<GroupDir> {
    let meta = std::fs::metadata(logs::group_dir(logs_dir, group)).ok()?;
    meta.is_dir().then(|| GroupDir {
        name: group.to_owned(),
        created_ms: created_ms(&meta),
    })
}

/// One stream file.
#[derive(Debug, Clone)]
pub struct StreamFile {
    pub name: String,
    pub path: PathBuf,
    pub size: u64,
    pub created_ms: i64,
    pub modified_ms: i64,
}

impl StreamFile {
    fn of(name: String, path: PathBuf, meta: &Metadata) -> Self {
        Self {
            name,
            path,
            size: meta.len(),
            created_ms: created_ms(meta),
            modified_ms: meta.modified().map(millis).unwrap_or(0),
        }
    }
}

/// A group's streams, in name order (none if the group has no directory).
pub fn streams(logs_dir: &Path, group: &str) -> std::io::Result<Vec<StreamFile>> {
    let dir = logs::group_dir(logs_dir, group);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let suffix = format!(".{}", logs::STREAM_EXTENSION);
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry?;
        let file_name = entry.file_name();
        let Some(name) = file_name
            .to_str()
            .and_then(|n| n.strip_suffix(&suffix))
            .and_then(logs::decode_name)
        else {
            continue;
        };
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_file() {
            out.push(StreamFile::of(name, entry.path(), &meta));
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// One stream, if it exists.
pub fn stream(logs_dir: &Path, group: &str, name: &str) -> std::io::Result<Option<StreamFile>> {
    let path = logs::stream_path(logs_dir, group, name);
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => Ok(Some(StreamFile::of(name.to_owned(), path, &meta))),
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Total bytes of a group's streams.
pub fn stored_bytes(logs_dir: &Path, group: &str) -> u64 {
    streams(logs_dir, group)
        .map(|s| s.iter().map(|f| f.size).sum())
        .unwrap_or(0)
}

/// Calls `visit` with each complete line's number and event, in file order, until it breaks.
/// Lines that do not parse keep their number but are not visited. Returns the number of
/// complete lines read. A file that disappeared (retention, DeleteLogStream) reads as empty.
pub fn scan(
    path: &Path,
    mut visit: impl FnMut(u64, StoredEvent) -> ControlFlow<()>,
) -> std::io::Result<u64> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            return Ok(number);
        }
        let parsed = serde_json::from_slice::<StoredEvent>(&line[..line.len() - 1]);
        let this = number;
        number += 1;
        if let Ok(event) = parsed
            && visit(this, event).is_break()
        {
            return Ok(number);
        }
    }
}

/// The first and last events of a stream (by position), without reading it all.
#[derive(Debug, Default)]
pub struct Ends {
    pub first: Option<StoredEvent>,
    pub last: Option<StoredEvent>,
}

pub fn ends(path: &Path) -> std::io::Result<Ends> {
    let mut first = None;
    scan(path, |_, e| {
        first = Some(e);
        ControlFlow::Break(())
    })?;
    if first.is_none() {
        return Ok(Ends::default());
    }
    let last = last_event(path)?;
    Ok(Ends { first, last })
}

/// The last complete, parseable line of a file, read backwards in growing windows.
fn last_event(path: &Path) -> std::io::Result<Option<StoredEvent>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let mut window: u64 = 64 * 1024;
    loop {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::new();
        (&mut file).take(len - start).read_to_end(&mut buf)?;
        // Complete lines end with '\n'; ignore a partial one at the end.
        let Some(end) = buf.iter().rposition(|b| *b == b'\n') else {
            if start == 0 {
                return Ok(None);
            }
            window = window.saturating_mul(4);
            continue;
        };
        let body = &buf[..end];
        let mut cut = body.len();
        // Walk back over complete lines until one parses.
        loop {
            let line_start = body[..cut].iter().rposition(|b| *b == b'\n');
            let Some(line_start) = line_start.map(|i| i + 1).or((start == 0).then_some(0)) else {
                break; // the line may begin before this window
            };
            if let Ok(event) = serde_json::from_slice::<StoredEvent>(&body[line_start..cut]) {
                return Ok(Some(event));
            }
            if line_start == 0 {
                return Ok(None);
            }
            cut = line_start - 1;
        }
        if start == 0 {
            return Ok(None);
        }
        window = window.saturating_mul(4);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::File::create(path)
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }

    fn line(ts: i64, msg: &str) -> String {
        format!(
            "{}\n",
            serde_json::json!({"timestamp": ts, "ingestionTime": ts + 1, "message": msg})
        )
    }

    #[test]
    fn scanning_skips_bad_lines_but_keeps_numbering_and_stops_before_a_partial_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        write(
            &path,
            &format!("{}not json\n{}{{\"partial", line(1, "a"), line(3, "c")),
        );
        let mut seen = Vec::new();
        let n = scan(&path, |i, e| {
            seen.push((i, e.message));
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(n, 3);
        assert_eq!(seen, [(0, "a".to_owned()), (2, "c".to_owned())]);
        let ends = ends(&path).unwrap();
        assert_eq!(ends.first.unwrap().message, "a");
        assert_eq!(ends.last.unwrap().message, "c");
        assert_eq!(
            scan(&dir.path().join("gone"), |_, _| ControlFlow::Continue(())).unwrap(),
            0
        );
    }

    #[test]
    fn the_last_event_is_found_past_long_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let long = "x".repeat(300 * 1024);
        write(&path, &format!("{}{}", line(1, "first"), line(2, &long)));
        assert_eq!(last_event(&path).unwrap().unwrap().message, long);
        write(&path, &line(5, "only"));
        assert_eq!(last_event(&path).unwrap().unwrap().message, "only");
        write(&path, "");
        assert!(last_event(&path).unwrap().is_none());
    }

    #[test]
    fn groups_and_streams_are_listed_from_their_encoded_names() {
        let dir = tempfile::tempdir().unwrap();
        let logs_dir = dir.path();
        let stream = lamina_engine::logs::LogStream::create(
            logs_dir,
            "/aws/lambda/f",
            "2025/01/02/[$LATEST]ab",
        )
        .unwrap();
        stream.append(10, "hello");
        std::fs::create_dir_all(logs_dir.join("+trash")).unwrap();
        let groups = group_dirs(logs_dir).unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].name, "/aws/lambda/f");
        let streams = streams(logs_dir, "/aws/lambda/f").unwrap();
        assert_eq!(streams.len(), 1);
        assert_eq!(streams[0].name, "2025/01/02/[$LATEST]ab");
        assert!(streams[0].size > 0);
        assert!(stream_exists(logs_dir));
    }

    fn stream_exists(logs_dir: &Path) -> bool {
        super::stream(logs_dir, "/aws/lambda/f", "2025/01/02/[$LATEST]ab")
            .unwrap()
            .is_some()
    }

    #[test]
    fn group_names_follow_aws_pattern() {
        assert!(valid_group_name("/aws/lambda/my-fn_1.#x"));
        for bad in ["", "a b", "a:b", "a*", "é"] {
            assert!(!valid_group_name(bad), "{bad}");
        }
        assert!(!valid_group_name(&"a".repeat(513)));
    }
}
