//! `--since` values: a duration back from now (`30s`, `10m`, `2h`, `7d`, `1w`), a date
//! (`2025-01-31`, midnight UTC) or an RFC 3339 time (`2025-01-31T12:00:00Z`).

use anyhow::{Context, bail};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// The instant `--since` names, relative to `now`.
pub fn parse(value: &str, now: OffsetDateTime) -> anyhow::Result<OffsetDateTime> {
    let v = value.trim();
    if let Ok(date) = time::Date::parse(v, format_description!("[year]-[month]-[day]")) {
        return Ok(date.midnight().assume_utc());
    }
    if let Ok(t) = OffsetDateTime::parse(v, &Rfc3339) {
        return Ok(t);
    }
    let split = v
        .find(|c: char| !c.is_ascii_digit())
        .with_context(|| format!("--since {value:?}: give a unit, as in 10m, 2h or 7d"))?;
    let (n, unit) = v.split_at(split);
    let n: i64 = n
        .parse()
        .with_context(|| format!("--since {value:?}: expected a number then a unit, as in 10m"))?;
    let seconds = match unit {
        "s" | "sec" | "secs" => 1,
        "m" | "min" | "mins" => 60,
        "h" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 7 * 86_400,
        _ => bail!(
            "--since {value:?}: unknown unit {unit:?} (use s, m, h, d or w; or a date like \
             2025-01-31)"
        ),
    };
    let back = n
        .checked_mul(seconds)
        .filter(|s| *s <= 100 * 365 * 86_400)
        .with_context(|| format!("--since {value:?} is too far back"))?;
    Ok(now - time::Duration::seconds(back))
}

/// Milliseconds since the epoch.
pub fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// `YYYY-MM-DD` of `t` in UTC.
pub fn day(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` of a millisecond timestamp.
pub fn timestamp(ms: i64) -> String {
    let Ok(t) = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) else {
        return ms.to_string();
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// A server time (`2025-01-31T12:00:00.000+0000` or RFC 3339) as `2025-01-31 12:00:00`.
pub fn short_time(s: &str) -> String {
    let s = s.trim();
    match (s.get(..10), s.get(11..19)) {
        (Some(date), Some(clock)) if s.as_bytes().get(10) == Some(&b'T') => {
            format!("{date} {clock}")
        }
        _ => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap() // 2026-01-01T00:00:00Z
    }

    #[test]
    fn durations_dates_and_times() {
        assert_eq!(
            parse("10m", now()).unwrap(),
            now() - time::Duration::minutes(10)
        );
        assert_eq!(parse("7d", now()).unwrap(), now() - time::Duration::days(7));
        assert_eq!(parse("1w", now()).unwrap(), now() - time::Duration::days(7));
        assert_eq!(day(parse("2025-12-30", now()).unwrap()), "2025-12-30");
        assert_eq!(
            millis(parse("2026-01-01T00:00:01Z", now()).unwrap()),
            1_767_225_601_000
        );
        assert!(parse("10", now()).is_err());
        assert!(parse("10y", now()).is_err());
        assert!(parse("m", now()).is_err());
        assert!(parse("999999999999w", now()).is_err());
    }

    #[test]
    fn formatting() {
        assert_eq!(timestamp(1_767_225_601_234), "2026-01-01T00:00:01.234Z");
        assert_eq!(
            short_time("2026-01-01T10:11:12.000+0000"),
            "2026-01-01 10:11:12"
        );
        assert_eq!(short_time("2026-01-01T10:11:12Z"), "2026-01-01 10:11:12");
        assert_eq!(short_time("yesterday"), "yesterday");
    }
}
