//! Parsing the authentication data of a request (header or presigned form) and its dates.

use super::*;

/// The credential scope `AKID/date/region/service/aws4_request`. `Display` prints the part after
/// the access key id, as used in the string to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CredentialScope {
    pub(super) access_key_id: String,
    pub(super) date: String,
    pub(super) region: String,
    pub(super) service: String,
}

impl std::fmt::Display for CredentialScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}/{TERMINATOR}",
            self.date, self.region, self.service
        )
    }
}

/// Everything parsed from the request's authentication data, before any key is involved.
#[derive(Debug)]
pub(super) struct AuthParams {
    pub(super) scope: CredentialScope,
    /// `X-Amz-Date` exactly as sent (it goes into the string to sign).
    pub(super) amz_date: String,
    pub(super) signed_at: OffsetDateTime,
    /// Lowercased signed header names, in the order given.
    pub(super) signed_headers: Vec<HeaderName>,
    /// Provided signature, hex-decoded; empty when it was not valid hex.
    pub(super) signature: Vec<u8>,
    /// Payload hashes the client may have signed.
    pub(super) payload_hashes: Vec<String>,
    /// False when a signed `x-amz-content-sha256` contradicts the body.
    pub(super) body_hash_ok: bool,
    /// `X-Amz-Expires` for the presigned form, `None` for the header form.
    pub(super) presigned_expires: Option<u32>,
}

pub(super) fn parse_header_form(
    value: &[u8],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<AuthParams, AuthError> {
    let value = std::str::from_utf8(value)
        .map_err(|_| AuthError::Malformed("Authorization header is not valid UTF-8".to_owned()))?;
    let Some(rest) = value
        .strip_prefix(ALGORITHM)
        .filter(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
    else {
        // Echo only the scheme: the rest may be a bearer token or another secret.
        let scheme = value.split([' ', '\t']).next().unwrap_or("");
        return Err(AuthError::Malformed(format!(
            "Unsupported Authorization Type '{scheme}'. Only {ALGORITHM} is supported."
        )));
    };

    let (mut credential, mut signed_headers, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let Some((name, field)) = part.split_once('=') else {
            return Err(AuthError::Malformed(format!(
                "'{part}' not a valid key=value pair (missing equal-sign) in Authorization \
                 header: '{value}'."
            )));
        };
        let slot = match name.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.replace(field.trim()).is_some() {
            return Err(AuthError::Malformed(format!(
                "Authorization header has a duplicate '{}' parameter. Authorization={value}",
                name.trim()
            )));
        }
    }
    let amz_date = headers.get("x-amz-date").map(|v| v.as_bytes());

    let mut missing = String::new();
    for (present, requirement) in [
        (credential.is_some(), "requires 'Credential' parameter"),
        (signature.is_some(), "requires 'Signature' parameter"),
        (
            signed_headers.is_some(),
            "requires 'SignedHeaders' parameter",
        ),
        (
            amz_date.is_some(),
            "requires existence of a 'X-Amz-Date' header",
        ),
    ] {
        if !present {
            missing.push_str("Authorization header ");
            missing.push_str(requirement);
            missing.push_str(". ");
        }
    }
    let (Some(credential), Some(signature), Some(signed_headers), Some(amz_date)) =
        (credential, signature, signed_headers, amz_date)
    else {
        return Err(AuthError::Malformed(format!(
            "{missing}Authorization={value}"
        )));
    };

    let amz_date = std::str::from_utf8(amz_date).map_err(|_| bad_date_error("<non-UTF-8>"))?;
    let (scope, signed_at) = parse_scope_and_date(credential, amz_date)?;
    let signed_headers = parse_signed_headers(signed_headers)?;

    let body_hash = hex_sha256(body);
    let (payload_hashes, body_hash_ok) = match headers.get("x-amz-content-sha256") {
        None => (vec![body_hash], true),
        Some(claimed) => {
            let claimed = std::str::from_utf8(claimed.as_bytes()).unwrap_or("").trim();
            let ok = check_content_sha256(claimed, &body_hash)?;
            (vec![claimed.to_owned()], ok)
        }
    };

    Ok(AuthParams {
        scope,
        amz_date: amz_date.to_owned(),
        signed_at,
        signed_headers,
        signature: hex::decode(signature).unwrap_or_default(),
        payload_hashes,
        body_hash_ok,
        presigned_expires: None,
    })
}

pub(super) fn parse_presigned_form(
    params: &[QueryParam<'_>],
    body: &[u8],
) -> Result<AuthParams, AuthError> {
    let algorithm = single_param(params, PARAM_ALGORITHM)?;
    if algorithm.as_deref() != Some(ALGORITHM) {
        return Err(AuthError::Malformed(format!(
            "X-Amz-Algorithm only supports \"{ALGORITHM}\""
        )));
    }
    let credential = single_param(params, PARAM_CREDENTIAL)?;
    let amz_date = single_param(params, PARAM_DATE)?;
    let expires = single_param(params, PARAM_EXPIRES)?;
    let signed_headers = single_param(params, PARAM_SIGNED_HEADERS)?;
    let signature = single_param(params, PARAM_SIGNATURE)?;
    let (Some(credential), Some(amz_date), Some(expires), Some(signed_headers), Some(signature)) =
        (credential, amz_date, expires, signed_headers, signature)
    else {
        let missing = [
            PARAM_CREDENTIAL,
            PARAM_DATE,
            PARAM_EXPIRES,
            PARAM_SIGNED_HEADERS,
            PARAM_SIGNATURE,
        ]
        .into_iter()
        .find(|name| !params.iter().any(|p| p.name() == *name))
        .unwrap_or(PARAM_CREDENTIAL);
        return Err(AuthError::Malformed(format!(
            "AWS query-string parameters must include '{missing}'. Re-examine the query-string \
             parameters."
        )));
    };

    let (scope, signed_at) = parse_scope_and_date(&credential, &amz_date)?;
    let expires = parse_expires(&expires)?;
    let signed_headers = parse_signed_headers(&signed_headers)?;

    let body_hash = hex_sha256(body);
    let claimed = params
        .iter()
        .find(|p| p.name().eq_ignore_ascii_case(PARAM_CONTENT_SHA256))
        .map(|p| p.value_lossy());
    let (payload_hashes, body_hash_ok) = match claimed {
        None => (vec![UNSIGNED_PAYLOAD.to_owned(), body_hash], true),
        Some(claimed) => {
            let ok = check_content_sha256(&claimed, &body_hash)?;
            (vec![claimed], ok)
        }
    };

    Ok(AuthParams {
        scope,
        amz_date,
        signed_at,
        signed_headers,
        signature: hex::decode(signature).unwrap_or_default(),
        payload_hashes,
        body_hash_ok,
        presigned_expires: Some(expires),
    })
}

/// The value of a query parameter that must appear at most once.
pub(super) fn single_param(
    params: &[QueryParam<'_>],
    name: &str,
) -> Result<Option<String>, AuthError> {
    let mut found = params.iter().filter(|p| p.name() == name);
    let first = found.next();
    if found.next().is_some() {
        return Err(AuthError::Malformed(format!(
            "Query-string parameter '{name}' must appear only once"
        )));
    }
    Ok(first.map(QueryParam::value_lossy))
}

pub(super) fn parse_expires(value: &str) -> Result<u32, AuthError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthError::Malformed(format!(
            "X-Amz-Expires should be a number, got '{value}'"
        )));
    }
    match value.parse::<u32>() {
        Ok(secs) if secs <= MAX_PRESIGN_EXPIRES_SECS => Ok(secs),
        _ => Err(AuthError::Malformed(format!(
            "X-Amz-Expires must be less than a week (in seconds) that is {MAX_PRESIGN_EXPIRES_SECS}"
        ))),
    }
}

/// Checks a claimed payload hash. `Ok(false)` means a well-formed hash that does not match the
/// body (reported as a signature mismatch once the signature itself has been checked).
pub(super) fn check_content_sha256(claimed: &str, body_hash: &str) -> Result<bool, AuthError> {
    if claimed == UNSIGNED_PAYLOAD {
        return Ok(true);
    }
    if claimed.len() == 64 && claimed.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(claimed.eq_ignore_ascii_case(body_hash));
    }
    Err(AuthError::Malformed(format!(
        "x-amz-content-sha256 must be {UNSIGNED_PAYLOAD} or the hex-encoded SHA-256 of the \
         request body, got '{claimed}'"
    )))
}

/// Parses `AKID/YYYYMMDD/region/service/aws4_request` plus `X-Amz-Date`, and checks that they
/// name the same day.
pub(super) fn parse_scope_and_date(
    credential: &str,
    amz_date: &str,
) -> Result<(CredentialScope, OffsetDateTime), AuthError> {
    let parts: Vec<&str> = credential.split('/').collect();
    let [access_key_id, date, region, service, terminator] = parts[..] else {
        return Err(AuthError::Malformed(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. \
             keyid/date/region/service/term, got '{credential}'"
        )));
    };
    if access_key_id.is_empty() {
        return Err(AuthError::Malformed(format!(
            "Credential must name an access key id, got '{credential}'"
        )));
    }
    if terminator != TERMINATOR {
        return Err(AuthError::Malformed(format!(
            "Credential should be scoped with a valid terminator: '{TERMINATOR}', not \
             '{terminator}'. "
        )));
    }
    if region.is_empty() {
        return Err(AuthError::Malformed(format!(
            "Credential should be scoped to a valid region, not '{region}'. "
        )));
    }
    if service.is_empty() {
        return Err(AuthError::Malformed(format!(
            "Credential should be scoped to a valid service, not '{service}'. "
        )));
    }
    let signed_at = parse_amz_date(amz_date).ok_or_else(|| bad_date_error(amz_date))?;
    let day = amz_date.get(..8).unwrap_or("");
    if date != day {
        return Err(AuthError::Malformed(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date \
             from HTTP: '{date}' != '{day}', from '{amz_date}'."
        )));
    }
    let scope = CredentialScope {
        access_key_id: access_key_id.to_owned(),
        date: date.to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
    };
    Ok((scope, signed_at))
}

pub(super) fn bad_date_error(value: &str) -> AuthError {
    AuthError::Malformed(format!(
        "Date must be in ISO-8601 'basic format'. Got '{value}'. See \
         http://en.wikipedia.org/wiki/ISO_8601"
    ))
}

/// Parses `host;x-amz-date` into lowercased header names; `host` must be among them.
pub(super) fn parse_signed_headers(value: &str) -> Result<Vec<HeaderName>, AuthError> {
    let mut names = Vec::new();
    for raw in value.split(';') {
        let lower = raw.trim().to_ascii_lowercase();
        let name = HeaderName::from_bytes(lower.as_bytes()).map_err(|_| {
            AuthError::Malformed(format!(
                "SignedHeaders contains an invalid header name '{raw}': '{value}'"
            ))
        })?;
        names.push(name);
    }
    if !names.contains(&HOST) {
        return Err(AuthError::Malformed(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".to_owned(),
        ));
    }
    Ok(names)
}

pub(super) fn check_clock(auth: &AuthParams, now: OffsetDateTime) -> Result<(), AuthError> {
    let signed_at = auth.signed_at;
    let expired = |kind| AuthError::Expired {
        kind,
        signed_at,
        now,
    };
    if let Some(latest) = now.checked_add(MAX_CLOCK_SKEW)
        && signed_at > latest
    {
        return Err(expired(ExpiryKind::NotYetCurrent));
    }
    match auth.presigned_expires {
        None => {
            if let Some(earliest) = now.checked_sub(MAX_CLOCK_SKEW)
                && signed_at < earliest
            {
                return Err(expired(ExpiryKind::Stale));
            }
        }
        Some(secs) => {
            if let Some(deadline) = signed_at.checked_add(Duration::seconds(i64::from(secs)))
                && now > deadline
            {
                return Err(expired(ExpiryKind::PresignedExpired));
            }
        }
    }
    Ok(())
}

/// Parses `YYYYMMDDTHHMMSSZ`.
pub(super) fn parse_amz_date(value: &str) -> Option<OffsetDateTime> {
    let bytes = value.as_bytes();
    if bytes.len() != 16 || bytes[8] != b'T' || bytes[15] != b'Z' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u16> {
        let digits = bytes.get(range)?;
        digits.iter().try_fold(0u16, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + u16::from(b - b'0'))
        })
    };
    let year = i32::from(number(0..4)?);
    let month = Month::try_from(u8::try_from(number(4..6)?).ok()?).ok()?;
    let day = u8::try_from(number(6..8)?).ok()?;
    let hour = u8::try_from(number(9..11)?).ok()?;
    let minute = u8::try_from(number(11..13)?).ok()?;
    let second = u8::try_from(number(13..15)?).ok()?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms(hour, minute, second).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

/// Formats a time as `YYYYMMDDTHHMMSSZ` in UTC.
pub(super) fn format_amz_date(t: OffsetDateTime) -> String {
    let t = t.checked_to_offset(UtcOffset::UTC).unwrap_or(t);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
