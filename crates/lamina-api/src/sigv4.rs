//! AWS Signature Version 4: verification of incoming requests, presigned-URL creation, and
//! signing of outgoing requests.
//!
//! Two forms are accepted, as AWS clients send them:
//!
//! 1. the `Authorization: AWS4-HMAC-SHA256 Credential=.., SignedHeaders=.., Signature=..`
//!    header with an `X-Amz-Date` header (optionally `X-Amz-Security-Token` and
//!    `x-amz-content-sha256`);
//! 2. a presigned query string (`X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`,
//!    `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature`).
//!
//! The canonical request is rebuilt the way real clients build it. These facts were checked
//! against botocore 1.43 (`SigV4Auth`, `SigV4QueryAuth`) and aws-sigv4 1.6 (the signer of
//! aws-sdk-rust), and are pinned by vectors generated with both in the tests below:
//!
//! * **Canonical URI**: the path exactly as it arrived on the wire, with `.`/`..` and empty
//!   segments removed, then percent-encoded *once more* (every byte except `A-Z a-z 0-9 - _ . ~`
//!   and `/`), because non-S3 services double-encode. So the wire path
//!   `/functions/arn%3Aaws%3A...` is signed as `/functions/arn%253Aaws%253A...`. An empty path
//!   is `/`. The two clients disagree only on whether `/a/.` keeps its trailing slash, so both
//!   variants are tried.
//! * **Canonical query**: every parameter (in the presigned form, all except
//!   `X-Amz-Signature`), key and value percent-decoded and re-encoded with the unreserved set,
//!   sorted by encoded key then encoded value. aws-sigv4 decodes a raw `+` as a space while
//!   botocore keeps it literal (it never sends a raw `+` itself); when a raw `+` is present both
//!   readings are tried.
//! * **Canonical headers**: the signed headers, lowercased, each value with leading/trailing
//!   spaces trimmed and internal runs of spaces collapsed, repeated headers joined with `,`.
//!   `host` falls back to the request URI's authority (HTTP/2 `:authority`).
//! * **Payload hash**: header form: the `x-amz-content-sha256` value if present (which must then
//!   be `UNSIGNED-PAYLOAD` or the body's hash), else the hex SHA-256 of the body. Presigned form:
//!   an `X-Amz-Content-Sha256` query value if present, else `UNSIGNED-PAYLOAD` (S3-style and
//!   [`presign_get`]) or the hex SHA-256 of the body: botocore's non-S3 presigner signs the
//!   (empty) body hash, not `UNSIGNED-PAYLOAD`, so both are tried.
//!
//! Signatures are compared in constant time. Nothing here panics on request input.
//!
//! [`sign_request`] is the client side: it signs outgoing requests (to an SQS-compatible
//! server, see `sqs.rs`) with the same canonicalisation, checked against botocore vectors.

use hmac::{Hmac, Mac};
use http::header::{AUTHORIZATION, HOST};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::{Digest, Sha256};
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

type HmacSha256 = Hmac<Sha256>;

/// The only signing algorithm accepted.
const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Last element of a credential scope.
const TERMINATOR: &str = "aws4_request";
/// Payload hash placeholder for payloads the signer did not hash.
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
/// How far a header-signed request's `X-Amz-Date` may be from the server clock.
const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);
/// AWS caps `X-Amz-Expires` at one week.
const MAX_PRESIGN_EXPIRES_SECS: u32 = 604_800;

const PARAM_ALGORITHM: &str = "X-Amz-Algorithm";
const PARAM_CREDENTIAL: &str = "X-Amz-Credential";
const PARAM_DATE: &str = "X-Amz-Date";
const PARAM_EXPIRES: &str = "X-Amz-Expires";
const PARAM_SIGNED_HEADERS: &str = "X-Amz-SignedHeaders";
const PARAM_SIGNATURE: &str = "X-Amz-Signature";
const PARAM_CONTENT_SHA256: &str = "X-Amz-Content-Sha256";

/// SigV4 `UriEncode` set: everything except `A-Z a-z 0-9 - _ . ~` is encoded.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
/// Path variant of [`UNRESERVED`]: `/` separates segments and stays as is.
const PATH_UNRESERVED: &AsciiSet = &UNRESERVED.remove(b'/');

/// Who signed a request that passed [`verify`], and for which scope.
///
/// The caller decides whether `region` and `service` are acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedRequest {
    /// Access key id from the credential scope.
    pub access_key_id: String,
    /// Region from the credential scope, e.g. `us-east-1`.
    pub region: String,
    /// Service from the credential scope, e.g. `lambda`.
    pub service: String,
}

/// Which time check an [`AuthError::Expired`] request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExpiryKind {
    /// Header-signed request whose `X-Amz-Date` is more than 5 minutes before now.
    Stale,
    /// `X-Amz-Date` more than 5 minutes after now (either form).
    NotYetCurrent,
    /// Presigned URL used after `X-Amz-Date + X-Amz-Expires`.
    PresignedExpired,
}

/// Why a request failed SigV4 verification. Every variant maps to HTTP 403 through
/// [`AuthError::aws_error`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Authorization` header and no `X-Amz-Algorithm` query parameter.
    #[error("request has no authorization header and no x-amz-algorithm query parameter")]
    Missing,
    /// Unparsable authorization header, query parameters, credential scope or date. The
    /// string is the AWS-style message returned to the client.
    #[error("malformed sigv4 authentication: {0}")]
    Malformed(String),
    /// The access key id is not known to the lookup.
    #[error("unknown access key id")]
    UnknownAccessKey,
    /// The computed signature differs from the provided one, or the signed
    /// `x-amz-content-sha256` does not match the body.
    #[error("sigv4 signature does not match")]
    SignatureMismatch,
    /// Correctly signed, but for another service or region than this endpoint's.
    #[error("sigv4 credential scope refused: {0}")]
    Scope(String),
    /// The request's date is outside its validity window.
    #[error("sigv4 signature expired ({kind:?}): signed at {signed_at}, now {now}")]
    Expired {
        /// Which window was violated.
        kind: ExpiryKind,
        /// The request's `X-Amz-Date`.
        signed_at: OffsetDateTime,
        /// The server time the request was checked at.
        now: OffsetDateTime,
    },
}

impl AuthError {
    /// AWS error type and message to return with status 403.
    ///
    /// * `Missing` → `MissingAuthenticationTokenException`, `Missing Authentication Token`.
    /// * `Malformed` → `IncompleteSignatureException` with the specific message, e.g.
    ///   `Authorization header requires 'Credential' parameter. Authorization=...`.
    /// * `UnknownAccessKey` → `UnrecognizedClientException`.
    /// * `SignatureMismatch` → `InvalidSignatureException`.
    /// * `Expired` (header form) → `InvalidSignatureException` with AWS's wording:
    ///   `Signature expired: 20260101T000000Z is now earlier than 20260101T000500Z
    ///   (20260101T001000Z - 5 min.)`, or for a date in the future
    ///   `Signature not yet current: 20260101T002000Z is still later than 20260101T001500Z
    ///   (20260101T001000Z + 5 min.)`.
    /// * `Expired` (presigned URL past its expiry) → `AccessDeniedException`,
    ///   `Request has expired`. This is what AWS returns for expired presigned URLs (S3's
    ///   `AccessDenied` / `Request has expired`), with the `…Exception` suffix that JSON
    ///   services such as Lambda use for their error types.
    pub fn aws_error(&self) -> (&'static str, String) {
        match self {
            Self::Missing => (
                "MissingAuthenticationTokenException",
                "Missing Authentication Token".to_owned(),
            ),
            Self::Malformed(message) => ("IncompleteSignatureException", message.clone()),
            Self::Scope(message) => ("InvalidSignatureException", message.clone()),
            Self::UnknownAccessKey => (
                "UnrecognizedClientException",
                "The security token included in the request is invalid.".to_owned(),
            ),
            Self::SignatureMismatch => (
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. \
                 Check your AWS Secret Access Key and signing method. Consult the service \
                 documentation for details."
                    .to_owned(),
            ),
            Self::Expired {
                kind: ExpiryKind::Stale,
                signed_at,
                now,
            } => (
                "InvalidSignatureException",
                format!(
                    "Signature expired: {} is now earlier than {} ({} - 5 min.)",
                    format_amz_date(*signed_at),
                    format_amz_date(now.checked_sub(MAX_CLOCK_SKEW).unwrap_or(*now)),
                    format_amz_date(*now),
                ),
            ),
            Self::Expired {
                kind: ExpiryKind::NotYetCurrent,
                signed_at,
                now,
            } => (
                "InvalidSignatureException",
                format!(
                    "Signature not yet current: {} is still later than {} ({} + 5 min.)",
                    format_amz_date(*signed_at),
                    format_amz_date(now.checked_add(MAX_CLOCK_SKEW).unwrap_or(*now)),
                    format_amz_date(*now),
                ),
            ),
            Self::Expired {
                kind: ExpiryKind::PresignedExpired,
                ..
            } => ("AccessDeniedException", "Request has expired".to_owned()),
        }
    }
}

/// Verifies the SigV4 signature of a request, in either the header or the presigned form.
///
/// `uri` must carry the path and query exactly as received; `lookup` returns the secret access
/// key for an access key id. Time checks run before the key lookup, so a stale request is
/// reported as [`AuthError::Expired`] whatever its key.
pub fn verify(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    lookup: impl Fn(&str) -> Option<String>,
    now: OffsetDateTime,
) -> Result<VerifiedRequest, AuthError> {
    let params = parse_query(uri.query().unwrap_or(""));
    let has_algorithm_param = params.iter().any(|p| p.name() == PARAM_ALGORITHM);
    let mut authorizations = headers.get_all(AUTHORIZATION).iter();
    let auth = match (authorizations.next(), has_algorithm_param) {
        (None, false) => return Err(AuthError::Missing),
        (Some(_), true) => {
            return Err(AuthError::Malformed(
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, \
                 Signature query string parameter or the Authorization header should be specified"
                    .to_owned(),
            ));
        }
        (Some(value), false) => {
            if authorizations.next().is_some() {
                return Err(AuthError::Malformed(
                    "Only one Authorization header is allowed".to_owned(),
                ));
            }
            parse_header_form(value.as_bytes(), headers, body)?
        }
        (None, true) => parse_presigned_form(&params, body)?,
    };

    check_clock(&auth, now)?;
    let secret = lookup(&auth.scope.access_key_id).ok_or(AuthError::UnknownAccessKey)?;

    let signed_headers = canonical_signed_headers(&auth.signed_headers);
    let header_block = canonical_header_block(&auth.signed_headers, headers, uri);
    let paths = canonical_uri_candidates(uri.path());
    let queries = canonical_query_candidates(&params, auth.presigned_expires.is_some());
    let key = signing_key(&secret, &auth.scope);
    let scope = auth.scope.to_string();

    let mut matched = false;
    'search: for path in &paths {
        for query in &queries {
            for payload in &auth.payload_hashes {
                let creq = canonical_request(
                    method.as_str(),
                    path,
                    query,
                    &header_block,
                    &signed_headers,
                    payload,
                );
                let sts = string_to_sign(&auth.amz_date, &scope, &creq);
                if signature_matches(&key, sts.as_bytes(), &auth.signature) {
                    matched = true;
                    break 'search;
                }
            }
        }
    }
    if !matched || !auth.body_hash_ok {
        return Err(AuthError::SignatureMismatch);
    }
    Ok(VerifiedRequest {
        access_key_id: auth.scope.access_key_id,
        region: auth.scope.region,
        service: auth.scope.service,
    })
}

/// Builds a presigned GET URL: `{base_url}{path}?{query&}X-Amz-Algorithm=...&X-Amz-Signature=...`.
///
/// `path_and_query` is used exactly as it will appear on the wire (already percent-encoded).
/// The signed `host` is the authority of `base_url`, without a default port (`:80` for `http`,
/// `:443` for `https`), as HTTP clients send it. The payload hash is `UNSIGNED-PAYLOAD`.
/// `expires_secs` is capped at 604800 (one week), the most [`verify`] accepts.
#[allow(clippy::too_many_arguments)] // the signature is fixed by the API contract
pub fn presign_get(
    base_url: &str,
    path_and_query: &str,
    access_key_id: &str,
    secret: &str,
    region: &str,
    service: &str,
    now: OffsetDateTime,
    expires_secs: u32,
) -> String {
    let base = base_url.trim_end_matches('/');
    let (scheme, rest) = base.split_once("://").unwrap_or(("", base));
    let (authority, base_path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    let host = host_for_authority(scheme, authority);

    let path_and_query = path_and_query.split('#').next().unwrap_or("");
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let path = if path.is_empty() {
        if base_path.is_empty() { "/" } else { "" }.to_owned()
    } else if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };

    let amz_date = format_amz_date(now);
    let scope = CredentialScope {
        access_key_id: access_key_id.to_owned(),
        date: amz_date.get(..8).unwrap_or("").to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
    };
    let credential = format!("{access_key_id}/{scope}");
    let auth_query = format!(
        "{PARAM_ALGORITHM}={ALGORITHM}&{PARAM_CREDENTIAL}={}&{PARAM_DATE}={amz_date}\
         &{PARAM_EXPIRES}={}&{PARAM_SIGNED_HEADERS}=host",
        utf8_percent_encode(&credential, UNRESERVED),
        expires_secs.min(MAX_PRESIGN_EXPIRES_SECS),
    );
    let full_query = if query.is_empty() {
        auth_query
    } else {
        format!("{query}&{auth_query}")
    };

    let full_path = format!("{base_path}{path}");
    let canonical_uri = canonical_uri_candidates(&full_path)
        .into_iter()
        .next()
        .unwrap_or_else(|| "/".to_owned());
    let canonical_query = canonical_query_candidates(&parse_query(&full_query), true)
        .into_iter()
        .next()
        .unwrap_or_default();
    let mut header_block = b"host:".to_vec();
    header_block.extend_from_slice(&trim_all(host.as_bytes()));
    header_block.push(b'\n');
    let creq = canonical_request(
        "GET",
        &canonical_uri,
        &canonical_query,
        &header_block,
        "host",
        UNSIGNED_PAYLOAD,
    );
    let sts = string_to_sign(&amz_date, &scope.to_string(), &creq);
    let signature = hex::encode(hmac_sha256(&signing_key(secret, &scope), sts.as_bytes()));
    format!("{base}{path}?{full_query}&{PARAM_SIGNATURE}={signature}")
}

/// Headers that botocore never signs (its `SIGNED_HEADERS_BLACKLIST`): hop-by-hop headers,
/// tracing headers and `user-agent`, which proxies and HTTP clients may add or rewrite.
const UNSIGNED_HEADERS: [&str; 14] = [
    "baggage",
    "connection",
    "expect",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "traceparent",
    "tracestate",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "x-amzn-trace-id",
];

/// Signs an outgoing request in the SigV4 header form, as botocore's `SigV4Auth` does, for a
/// client of another AWS-compatible service (the SQS delivery of async invocations).
///
/// `url` is the absolute URL the request goes to, with its path and query exactly as they will
/// be sent (already percent-encoded). The function:
///
/// * removes any `authorization` header (a retry re-signs) and sets `x-amz-date` to `now`;
/// * signs every header in `headers` except the ones botocore leaves out (`user-agent`,
///   `connection`, `expect`, `transfer-encoding`, tracing headers, ...), plus `host`: the
///   `Host` header when present, else the URL's authority lowercased, without userinfo and
///   without a default port (`:80` for `http`, `:443` for `https`), which is what HTTP clients
///   send. Headers added after signing (`content-length`, `user-agent`) are not signed;
/// * uses as payload hash the `x-amz-content-sha256` header when the caller set one (for
///   example `UNSIGNED-PAYLOAD`, or the body hash to have it sent and signed, as S3 wants),
///   else the hex SHA-256 of `body`, like botocore for non-S3 services (which sends no such
///   header);
/// * adds `authorization: AWS4-HMAC-SHA256 Credential=.., SignedHeaders=.., Signature=..`.
///
/// The canonical request is built by the same code [`verify`] uses, so [`verify`] accepts what
/// this produces. Header values are canonicalised with spaces trimmed and collapsed (tabs are
/// kept, where botocore would collapse them too). Inputs that cannot appear in a header value
/// (control characters in the access key id, region or service) leave the request without an
/// `authorization` header rather than panicking; the server then refuses it as unsigned.
#[allow(clippy::too_many_arguments)] // the signature is fixed by the API contract
pub fn sign_request(
    method: &Method,
    url: &str,
    headers: &mut HeaderMap,
    body: &[u8],
    access_key_id: &str,
    secret: &str,
    region: &str,
    service: &str,
    now: OffsetDateTime,
) {
    let (scheme, authority, path, query) = split_url(url);
    headers.remove(AUTHORIZATION);
    let amz_date = format_amz_date(now);
    let x_amz_date = HeaderName::from_static("x-amz-date");
    // `format_amz_date` only produces ASCII digits, `T` and `Z`.
    if let Ok(value) = HeaderValue::from_str(&amz_date) {
        headers.insert(x_amz_date, value);
    }

    let mut names: Vec<HeaderName> = headers
        .keys()
        .filter(|name| !UNSIGNED_HEADERS.contains(&name.as_str()))
        .cloned()
        .collect();
    let mut with_host;
    let signed_view: &HeaderMap = if headers.contains_key(HOST) {
        headers
    } else {
        with_host = headers.clone();
        let host = host_for_authority(scheme, authority).to_ascii_lowercase();
        if let Ok(value) = HeaderValue::from_str(&host) {
            with_host.insert(HOST, value);
        }
        names.push(HOST);
        &with_host
    };
    names.sort_by(|a, b| a.as_str().cmp(b.as_str()));

    let payload_hash = match headers.get("x-amz-content-sha256") {
        Some(claimed) => String::from_utf8_lossy(&trim_all(claimed.as_bytes())).into_owned(),
        None => hex_sha256(body),
    };
    let signed_headers = canonical_signed_headers(&names);
    let header_block = canonical_header_block(&names, signed_view, &Uri::default());
    // botocore's reading of a final `/.` (the last candidate); `verify` accepts both.
    let canonical_uri = canonical_uri_candidates(path)
        .pop()
        .unwrap_or_else(|| "/".to_owned());
    let canonical_query = canonical_query_candidates(&parse_query(query), false)
        .into_iter()
        .next()
        .unwrap_or_default();
    let creq = canonical_request(
        method.as_str(),
        &canonical_uri,
        &canonical_query,
        &header_block,
        &signed_headers,
        &payload_hash,
    );
    let scope = CredentialScope {
        access_key_id: access_key_id.to_owned(),
        date: amz_date.get(..8).unwrap_or("").to_owned(),
        region: region.to_owned(),
        service: service.to_owned(),
    };
    let sts = string_to_sign(&amz_date, &scope.to_string(), &creq);
    let signature = hex::encode(hmac_sha256(&signing_key(secret, &scope), sts.as_bytes()));
    let authorization = format!(
        "{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={signed_headers}, \
         Signature={signature}"
    );
    if let Ok(value) = HeaderValue::from_str(&authorization) {
        headers.insert(AUTHORIZATION, value);
    }
}

/// Splits an absolute URL into scheme, authority, path and query; a fragment is dropped.
fn split_url(url: &str) -> (&str, &str, &str, &str) {
    let url = url.split('#').next().unwrap_or("");
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path_and_query) = rest.split_at(authority_end);
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    (scheme, authority, path, query)
}

/// The credential scope `AKID/date/region/service/aws4_request`. `Display` prints the part after
/// the access key id, as used in the string to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CredentialScope {
    access_key_id: String,
    date: String,
    region: String,
    service: String,
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
struct AuthParams {
    scope: CredentialScope,
    /// `X-Amz-Date` exactly as sent (it goes into the string to sign).
    amz_date: String,
    signed_at: OffsetDateTime,
    /// Lowercased signed header names, in the order given.
    signed_headers: Vec<HeaderName>,
    /// Provided signature, hex-decoded; empty when it was not valid hex.
    signature: Vec<u8>,
    /// Payload hashes the client may have signed.
    payload_hashes: Vec<String>,
    /// False when a signed `x-amz-content-sha256` contradicts the body.
    body_hash_ok: bool,
    /// `X-Amz-Expires` for the presigned form, `None` for the header form.
    presigned_expires: Option<u32>,
}

fn parse_header_form(
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

fn parse_presigned_form(params: &[QueryParam<'_>], body: &[u8]) -> Result<AuthParams, AuthError> {
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
fn single_param(params: &[QueryParam<'_>], name: &str) -> Result<Option<String>, AuthError> {
    let mut found = params.iter().filter(|p| p.name() == name);
    let first = found.next();
    if found.next().is_some() {
        return Err(AuthError::Malformed(format!(
            "Query-string parameter '{name}' must appear only once"
        )));
    }
    Ok(first.map(QueryParam::value_lossy))
}

fn parse_expires(value: &str) -> Result<u32, AuthError> {
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
fn check_content_sha256(claimed: &str, body_hash: &str) -> Result<bool, AuthError> {
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
fn parse_scope_and_date(
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

fn bad_date_error(value: &str) -> AuthError {
    AuthError::Malformed(format!(
        "Date must be in ISO-8601 'basic format'. Got '{value}'. See \
         http://en.wikipedia.org/wiki/ISO_8601"
    ))
}

/// Parses `host;x-amz-date` into lowercased header names; `host` must be among them.
fn parse_signed_headers(value: &str) -> Result<Vec<HeaderName>, AuthError> {
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

fn check_clock(auth: &AuthParams, now: OffsetDateTime) -> Result<(), AuthError> {
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
fn parse_amz_date(value: &str) -> Option<OffsetDateTime> {
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
fn format_amz_date(t: OffsetDateTime) -> String {
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

/// One `key=value` piece of a raw query string, still percent-encoded.
#[derive(Debug, Clone, Copy)]
struct QueryParam<'a> {
    raw_key: &'a str,
    raw_value: &'a str,
}

impl QueryParam<'_> {
    /// Percent-decoded key (a raw `+` stays `+`), lossily as UTF-8, for matching names.
    fn name(&self) -> std::borrow::Cow<'_, str> {
        percent_decode_str(self.raw_key).decode_utf8_lossy()
    }

    /// Percent-decoded value (a raw `+` stays `+`), lossily as UTF-8.
    fn value_lossy(&self) -> String {
        percent_decode_str(self.raw_value)
            .decode_utf8_lossy()
            .into_owned()
    }
}

fn parse_query(raw: &str) -> Vec<QueryParam<'_>> {
    raw.split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (raw_key, raw_value) = piece.split_once('=').unwrap_or((piece, ""));
            QueryParam { raw_key, raw_value }
        })
        .collect()
}

/// Canonical URIs the client may have signed for a wire path (usually exactly one).
fn canonical_uri_candidates(raw_path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(2);
    for dot_suffix_keeps_slash in [true, false] {
        let encoded = utf8_percent_encode(
            &normalize_path(raw_path, dot_suffix_keeps_slash),
            PATH_UNRESERVED,
        )
        .to_string();
        if !out.contains(&encoded) {
            out.push(encoded);
        }
    }
    out
}

/// Removes `.`, `..` and empty segments (RFC 3986 5.2.4 plus AWS's `//` rule). A trailing
/// slash survives; with `dot_suffix_keeps_slash` (aws-sigv4) so does the one implied by a
/// final `/.` or `/..`, without it (botocore) it does not.
fn normalize_path(raw_path: &str, dot_suffix_keeps_slash: bool) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in raw_path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = String::with_capacity(raw_path.len() + 1);
    out.push('/');
    out.push_str(&segments.join("/"));
    let trailing = if dot_suffix_keeps_slash {
        ["/", "/.", "/..", "/./", "/../"]
            .iter()
            .any(|suffix| raw_path.ends_with(suffix))
    } else {
        raw_path.ends_with('/')
    };
    if trailing && !out.ends_with('/') {
        out.push('/');
    }
    out
}

/// Canonical query strings the client may have signed (usually exactly one).
fn canonical_query_candidates(params: &[QueryParam<'_>], presigned: bool) -> Vec<String> {
    let params: Vec<&QueryParam<'_>> = params
        .iter()
        .filter(|p| !(presigned && p.name() == PARAM_SIGNATURE))
        .collect();
    let has_raw_plus = params
        .iter()
        .any(|p| p.raw_key.contains('+') || p.raw_value.contains('+'));
    let readings: &[bool] = if has_raw_plus {
        &[true, false]
    } else {
        &[false]
    };
    let mut out: Vec<String> = Vec::with_capacity(readings.len());
    for &plus_is_space in readings {
        let mut pairs: Vec<(String, String)> = params
            .iter()
            .map(|p| {
                (
                    encode_query_component(p.raw_key, plus_is_space),
                    encode_query_component(p.raw_value, plus_is_space),
                )
            })
            .collect();
        pairs.sort();
        let joined = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        if !out.contains(&joined) {
            out.push(joined);
        }
    }
    out
}

/// Percent-decodes a raw query component and re-encodes it with the SigV4 unreserved set.
fn encode_query_component(raw: &str, plus_is_space: bool) -> String {
    let decoded: Vec<u8> = if plus_is_space {
        percent_decode_str(&raw.replace('+', " ")).collect()
    } else {
        percent_decode_str(raw).collect()
    };
    percent_encoding::percent_encode(&decoded, UNRESERVED).to_string()
}

/// `SignedHeaders` line of the canonical request.
fn canonical_signed_headers(names: &[HeaderName]) -> String {
    names
        .iter()
        .map(HeaderName::as_str)
        .collect::<Vec<_>>()
        .join(";")
}

/// `name:value\n` for each signed header. Values stay bytes: a header may hold non-UTF-8 octets
/// and the client signed exactly those.
fn canonical_header_block(names: &[HeaderName], headers: &HeaderMap, uri: &Uri) -> Vec<u8> {
    let mut block = Vec::new();
    for name in names {
        block.extend_from_slice(name.as_str().as_bytes());
        block.push(b':');
        let mut values = headers.get_all(name).iter().peekable();
        if values.peek().is_none() && *name == HOST {
            if let Some(authority) = uri.authority() {
                block.extend_from_slice(&trim_all(authority.as_str().as_bytes()));
            }
        } else {
            for (i, value) in values.enumerate() {
                if i > 0 {
                    block.push(b',');
                }
                block.extend_from_slice(&trim_all(value.as_bytes()));
            }
        }
        block.push(b'\n');
    }
    block
}

/// Trims leading and trailing spaces and collapses internal runs of spaces to one.
fn trim_all(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for word in value.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(word);
    }
    out
}

fn canonical_request(
    method: &str,
    path: &str,
    query: &str,
    header_block: &[u8],
    signed_headers: &str,
    payload_hash: &str,
) -> Vec<u8> {
    let mut creq = Vec::with_capacity(256 + header_block.len());
    for line in [method, path, query] {
        creq.extend_from_slice(line.as_bytes());
        creq.push(b'\n');
    }
    creq.extend_from_slice(header_block);
    creq.push(b'\n');
    creq.extend_from_slice(signed_headers.as_bytes());
    creq.push(b'\n');
    creq.extend_from_slice(payload_hash.as_bytes());
    creq
}

fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &[u8]) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex_sha256(canonical_request)
    )
}

fn signing_key(secret: &str, scope: &CredentialScope) -> [u8; 32] {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), scope.date.as_bytes());
    let k_region = hmac_sha256(&k_date, scope.region.as_bytes());
    let k_service = hmac_sha256(&k_region, scope.service.as_bytes());
    hmac_sha256(&k_service, TERMINATOR.as_bytes())
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    // HMAC is defined for keys of any length (long keys are hashed first), so this cannot fail.
    #[allow(clippy::expect_used)]
    HmacSha256::new_from_slice(key).expect("hmac accepts keys of any length")
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = new_mac(key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Constant-time comparison of the expected signature with the provided one.
fn signature_matches(key: &[u8], string_to_sign: &[u8], provided: &[u8]) -> bool {
    let mut mac = new_mac(key);
    mac.update(string_to_sign);
    mac.verify_slice(provided).is_ok()
}

fn hex_sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The `Host` header value an HTTP client sends for a URL authority: no userinfo and no
/// default port.
fn host_for_authority(scheme: &str, authority: &str) -> String {
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => Some(":80"),
        "https" => Some(":443"),
        _ => None,
    };
    match default_port.and_then(|port| authority.strip_suffix(port)) {
        Some(host) => host.to_owned(),
        None => authority.to_owned(),
    }
}

#[cfg(test)]
mod tests;
