//! Event ids and paging tokens.
//!
//! Stream files are append-only, so an event is identified for good by its stream and its
//! line number. FilterLogEvents orders events across streams by [`EventKey`] (timestamp,
//! then a hash of the stream name, then the line), renders that key as the 56-digit `eventId`
//! AWS clients expect, and pages on it: the next page starts after the last key returned, so
//! events appended between two calls are neither skipped nor repeated (`aws logs tail
//! --follow` de-duplicates on `eventId` and needs them stable). GetLogEvents pages on line
//! positions (`f/<line>`, `b/<line>`, AWS's token shape); DescribeLogGroups and
//! DescribeLogStreams page on the sort key of the last item returned.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

/// Where an event sorts in FilterLogEvents results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct EventKey {
    /// The event's timestamp (ms; negative timestamps count as 0).
    pub timestamp: u64,
    /// [`stream_hash`] of the stream name.
    pub stream: u64,
    /// The line of the event in its stream file.
    pub line: u64,
}

/// The largest line number an event id can carry (16 digits).
const MAX_LINE: u64 = 9_999_999_999_999_999;

impl EventKey {
    pub fn new(timestamp: i64, stream: u64, line: u64) -> Self {
        Self {
            timestamp: u64::try_from(timestamp).unwrap_or(0),
            stream,
            line: line.min(MAX_LINE),
        }
    }

    /// 56 decimal digits, like AWS's: timestamp (20), stream hash (20), line (16).
    pub fn event_id(&self) -> String {
        format!("{:020}{:020}{:016}", self.timestamp, self.stream, self.line)
    }

    pub fn parse_event_id(id: &str) -> Option<Self> {
        if id.len() != 56 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Self {
            timestamp: id[..20].parse().ok()?,
            stream: id[20..40].parse().ok()?,
            line: id[40..].parse().ok()?,
        })
    }
}

/// A stable 64-bit hash of a stream name (the first 8 bytes of its SHA-256).
pub fn stream_hash(name: &str) -> u64 {
    let digest = Sha256::digest(name.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// FilterLogEvents' `nextToken`: the key of the last event returned.
pub fn filter_token(last: &EventKey) -> String {
    URL_SAFE_NO_PAD.encode(format!("e1/{}", last.event_id()))
}

pub fn parse_filter_token(token: &str) -> Option<EventKey> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(token).ok()?).ok()?;
    EventKey::parse_event_id(raw.strip_prefix("e1/")?)
}

/// A GetLogEvents position: the next page forward starts at line `n`, the next page
/// backward ends before line `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    Forward(u64),
    Backward(u64),
}

impl Position {
    /// `f/<56 digits>` or `b/<56 digits>`.
    pub fn token(self) -> String {
        match self {
            Position::Forward(n) => format!("f/{n:056}"),
            Position::Backward(n) => format!("b/{n:056}"),
        }
    }

    pub fn parse(token: &str) -> Option<Self> {
        let (kind, digits) = token.split_once('/')?;
        if digits.is_empty() || digits.len() > 56 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let significant = digits.trim_start_matches('0');
        let n: u64 = if significant.is_empty() {
            0
        } else {
            significant.parse().ok()?
        };
        match kind {
            "f" => Some(Self::Forward(n)),
            "b" => Some(Self::Backward(n)),
            _ => None,
        }
    }
}

/// An opaque token carrying the sort key of the last item of a page.
pub fn page_token<K: Serialize>(key: &K) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).unwrap_or_default())
}

pub fn parse_page_token<K: DeserializeOwned>(token: &str) -> Option<K> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_are_56_digits_and_sort_like_their_keys() {
        let a = EventKey::new(1_764_037_614_123, stream_hash("s1"), 7);
        let b = EventKey::new(1_764_037_614_123, stream_hash("s1"), 8);
        let c = EventKey::new(1_764_037_614_124, 0, 0);
        for k in [a, b, c] {
            let id = k.event_id();
            assert_eq!(id.len(), 56);
            assert!(id.bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(EventKey::parse_event_id(&id), Some(k));
        }
        assert!(a < b && b < c);
        assert!(a.event_id() < b.event_id() && b.event_id() < c.event_id());
        assert_eq!(EventKey::new(-5, 1, 2).timestamp, 0);
        assert_eq!(EventKey::parse_event_id("12"), None);
    }

    #[test]
    fn stream_hashes_are_stable() {
        // Event ids must not change between releases or restarts.
        assert_eq!(
            stream_hash("2025/11/25/[$LATEST]abc"),
            stream_hash("2025/11/25/[$LATEST]abc")
        );
        assert_eq!(stream_hash(""), 0xe3b0_c442_98fc_1c14);
        assert_ne!(stream_hash("a"), stream_hash("b"));
    }

    #[test]
    fn filter_tokens_round_trip_and_reject_garbage() {
        let k = EventKey::new(42, stream_hash("s"), 3);
        assert_eq!(parse_filter_token(&filter_token(&k)), Some(k));
        assert_eq!(parse_filter_token("not a token"), None);
        assert_eq!(parse_filter_token(&URL_SAFE_NO_PAD.encode("e1/123")), None);
    }

    #[test]
    fn stream_positions_use_aws_token_shapes() {
        assert_eq!(
            Position::Forward(12).token(),
            format!("f/{}12", "0".repeat(54))
        );
        assert_eq!(
            Position::parse(&Position::Backward(0).token()),
            Some(Position::Backward(0))
        );
        assert_eq!(
            Position::parse(&Position::Forward(99).token()),
            Some(Position::Forward(99))
        );
        assert_eq!(Position::parse("f/37584"), Some(Position::Forward(37584)));
        for bad in ["x/1", "f/", "f/12a", "f1", ""] {
            assert_eq!(Position::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn page_tokens_round_trip() {
        let key = (12_i64, "name".to_owned());
        assert_eq!(
            parse_page_token::<(i64, String)>(&page_token(&key)),
            Some(key)
        );
        assert_eq!(parse_page_token::<(i64, String)>("%%%"), None);
    }
}
