//! Timestamps in the formats the Lambda API uses.

use time::OffsetDateTime;
use time::macros::format_description;

/// `2025-11-25T02:26:54.123+0000`: AWS's `LastModified` format (milliseconds, `+0000`).
pub fn lambda_timestamp(t: OffsetDateTime) -> String {
    let fmt = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00.000+0000"))
}

/// Current time in UTC.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_aws_last_modified() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_764_037_614_123_456_789).unwrap();
        assert_eq!(lambda_timestamp(t), "2025-11-25T02:26:54.123+0000");
    }
}
