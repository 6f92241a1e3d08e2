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
mod tests {
    use super::*;

    const AKID: &str = "AKIDEXAMPLE";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const SUITE_DATE: &str = "20150830T123600Z";
    const LAMBDA_DATE: &str = "20260101T000000Z";
    const LAMBDA_HOST: &str = "lambda.us-east-1.amazonaws.com";
    const ARN_PATH: &str =
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af";

    fn at(amz_date: &str) -> OffsetDateTime {
        parse_amz_date(amz_date).expect("test dates are valid")
    }

    fn lookup(id: &str) -> Option<String> {
        (id == AKID).then(|| SECRET.to_owned())
    }

    fn header_map(headers: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    fn check(
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        now: &str,
    ) -> Result<VerifiedRequest, AuthError> {
        verify(
            &Method::from_bytes(method.as_bytes()).unwrap(),
            &uri.parse::<Uri>().unwrap(),
            &header_map(headers),
            body,
            lookup,
            at(now),
        )
    }

    fn suite_auth(signed_headers: &str, signature: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential={AKID}/20150830/us-east-1/service/aws4_request, \
             SignedHeaders={signed_headers}, Signature={signature}"
        )
    }

    fn lambda_auth(signed_headers: &str, signature: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential={AKID}/20260101/us-east-1/lambda/aws4_request, \
             SignedHeaders={signed_headers}, Signature={signature}"
        )
    }

    /// Requests of the AWS SigV4 test suite (example.amazonaws.com, 20150830T123600Z,
    /// us-east-1, service `service`). The signatures are the suite's; botocore 1.43 reproduces
    /// each of them.
    #[test]
    fn aws_test_suite_vectors_verify() {
        let token = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";
        let unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let unreserved_uri = format!("/?{unreserved}={unreserved}");
        /// Name, method, path and query, extra headers, body, signed headers, signature.
        type Case<'a> = (
            &'a str,
            &'a str,
            &'a str,
            Vec<(&'a str, &'a str)>,
            &'a [u8],
            &'a str,
            &'a str,
        );
        #[rustfmt::skip]
        let cases: Vec<Case<'_>> = vec![
            ("get-vanilla", "GET", "/", vec![], b"", "host;x-amz-date",
             "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
            ("get-vanilla-query-order-key-case", "GET", "/?Param2=value2&Param1=value1", vec![], b"",
             "host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
            ("get-vanilla-query-unreserved", "GET", &unreserved_uri, vec![], b"", "host;x-amz-date",
             "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"),
            ("get-vanilla-empty-query-key", "GET", "/?Param1=value1", vec![], b"", "host;x-amz-date",
             "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"),
            ("post-vanilla", "POST", "/", vec![], b"", "host;x-amz-date",
             "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
            ("post-x-www-form-urlencoded", "POST", "/",
             vec![("Content-Type", "application/x-www-form-urlencoded")], b"Param1=value1",
             "content-type;host;x-amz-date",
             "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
            ("post-sts-header-before", "POST", "/", vec![("X-Amz-Security-Token", token)], b"",
             "host;x-amz-date;x-amz-security-token",
             "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"),
            // get-relative-relative / get-slashes: dot and empty segments are normalised away.
            ("get-relative-relative", "GET", "/example1/example2/../..", vec![], b"",
             "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
            // get-header-value-trim, with the signature botocore computes for these values.
            ("get-header-value-trim", "GET", "/",
             vec![("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")], b"",
             "host;my-header1;my-header2;x-amz-date",
             "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
        ];
        for (name, method, uri, extra, body, signed, signature) in cases {
            let auth = suite_auth(signed, signature);
            let mut headers = vec![
                ("Host", "example.amazonaws.com"),
                ("X-Amz-Date", SUITE_DATE),
                ("Authorization", auth.as_str()),
            ];
            headers.extend(extra);
            let verified = check(method, uri, &headers, body, SUITE_DATE)
                .unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(
                verified,
                VerifiedRequest {
                    access_key_id: AKID.to_owned(),
                    region: "us-east-1".to_owned(),
                    service: "service".to_owned(),
                },
                "{name}"
            );
        }
    }

    /// botocore 1.43 `lambda.get_function_configuration(FunctionName=<arn>, Qualifier="$LATEST")`;
    /// aws-sigv4 1.6 signs the same request identically.
    #[test]
    fn botocore_lambda_get_with_arn_in_path_is_double_encoded() {
        let uri = format!("{ARN_PATH}/configuration?Qualifier=%24LATEST");
        let auth = lambda_auth(
            "host;x-amz-date",
            "71a5e5e93e8006b151888bb4a015446be320c9542a1f1c8bd367271b131b1b44",
        );
        let headers = [
            ("Host", LAMBDA_HOST),
            ("X-Amz-Date", LAMBDA_DATE),
            ("Authorization", auth.as_str()),
            // botocore adds these after signing; they are not signed.
            ("User-Agent", "Botocore/1.43.11"),
            (
                "amz-sdk-invocation-id",
                "df927782-f88c-40c2-b06c-63e5c39cd578",
            ),
            ("amz-sdk-request", "attempt=1"),
        ];
        let verified = check("GET", &uri, &headers, b"", LAMBDA_DATE).unwrap();
        assert_eq!(verified.service, "lambda");
        assert_eq!(verified.region, "us-east-1");

        assert_eq!(
            canonical_uri_candidates(&format!("{ARN_PATH}/configuration")),
            vec![
                "/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1%253A000000000000\
                 %253Afunction%253Af/configuration"
                    .to_owned()
            ]
        );
    }

    /// botocore 1.43 `lambda.invoke(FunctionName=<arn>, Payload=b'{"k": "v w"}')`.
    #[test]
    fn botocore_lambda_invoke_with_body_verifies_and_detects_tampering() {
        let uri = format!("{ARN_PATH}/invocations");
        let auth = lambda_auth(
            "host;x-amz-date;x-amz-invocation-type",
            "040e951a2d580d00ace2996b085b4bab310fd12b00010f61827a3ff7b6381879",
        );
        let headers = [
            ("Host", LAMBDA_HOST),
            ("X-Amz-Invocation-Type", "RequestResponse"),
            ("X-Amz-Date", LAMBDA_DATE),
            ("Authorization", auth.as_str()),
            ("Content-Length", "12"),
        ];
        let body = br#"{"k": "v w"}"#;
        check("POST", &uri, &headers, body, LAMBDA_DATE).unwrap();

        let tampered_body = check("POST", &uri, &headers, br#"{"k": "v x"}"#, LAMBDA_DATE);
        assert!(matches!(tampered_body, Err(AuthError::SignatureMismatch)));

        let mut tampered_header = headers;
        tampered_header[1] = ("X-Amz-Invocation-Type", "Event");
        let result = check("POST", &uri, &tampered_header, body, LAMBDA_DATE);
        assert!(matches!(result, Err(AuthError::SignatureMismatch)));

        let other_path = uri.replace("function%3Af", "function%3Ag");
        let result = check("POST", &other_path, &headers, body, LAMBDA_DATE);
        assert!(matches!(result, Err(AuthError::SignatureMismatch)));

        let result = check("PUT", &uri, &headers, body, LAMBDA_DATE);
        assert!(matches!(result, Err(AuthError::SignatureMismatch)));
    }

    /// botocore 1.43 `lambda.list_functions(Marker="a b+c/d:e", MaxItems=5)`.
    #[test]
    fn botocore_query_with_reserved_characters_verifies() {
        let uri = "/2015-03-31/functions?Marker=a%20b%2Bc%2Fd%3Ae&MaxItems=5";
        let auth = lambda_auth(
            "host;x-amz-date",
            "b5810fdc839880e4760c86eeafb498ee696c9d988e2f4107b6c01d6cda72d90a",
        );
        let headers = [
            ("Host", LAMBDA_HOST),
            ("X-Amz-Date", LAMBDA_DATE),
            ("Authorization", auth.as_str()),
        ];
        check("GET", uri, &headers, b"", LAMBDA_DATE).unwrap();

        let tampered = uri.replace("MaxItems=5", "MaxItems=6");
        let result = check("GET", &tampered, &headers, b"", LAMBDA_DATE);
        assert!(matches!(result, Err(AuthError::SignatureMismatch)));
    }

    /// Signed identically by botocore 1.43 and aws-sigv4 1.6: both drop `.` and empty path
    /// segments and sort the query by encoded key.
    #[test]
    fn dot_and_empty_segments_are_normalised_like_the_sdks() {
        let uri = "/2015-03-31//functions/f/./configuration?b=2&a=x%2By";
        let auth = lambda_auth(
            "host;x-amz-date",
            "7e2259ecb4523e2afbabf0149415778250b0c2d6ada8db387bca62e465f32e9c",
        );
        let headers = [
            ("Host", LAMBDA_HOST),
            ("X-Amz-Date", LAMBDA_DATE),
            ("Authorization", auth.as_str()),
        ];
        check("GET", uri, &headers, b"", LAMBDA_DATE).unwrap();
    }

    /// botocore 1.43 `generate_presigned_url('get_function', ExpiresIn=600)`: the non-S3
    /// presigner signs the SHA-256 of the empty body, not `UNSIGNED-PAYLOAD`.
    #[test]
    fn botocore_presigned_url_verifies() {
        let uri = format!(
            "{ARN_PATH}?Qualifier=%24LATEST&X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Fus-east-1%2Flambda%2Faws4_request\
             &X-Amz-Date=20260101T000000Z&X-Amz-Expires=600&X-Amz-SignedHeaders=host\
             &X-Amz-Signature=12dbeb7ed19fcf249755c97e1260485a239e56a668106fc811c20c69e19ebb18"
        );
        let verified = check(
            "GET",
            &uri,
            &[("Host", LAMBDA_HOST)],
            b"",
            "20260101T000500Z",
        )
        .unwrap();
        assert_eq!(verified.access_key_id, AKID);
    }

    /// aws-sigv4 1.6 presigning (`SignatureLocation::QueryParams`, `UnsignedPayload`, 600 s).
    #[test]
    fn aws_sigv4_presigned_url_verifies_and_matches_presign_get() {
        let signature = "50dbf4e1e28f331c2a5e687016827db94937b32f078ba345aa457291957e311a";
        let uri = format!(
            "{ARN_PATH}/configuration?Qualifier=%24LATEST&X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIDEXAMPLE%2F20260101%2Fus-east-1%2Flambda%2Faws4_request\
             &X-Amz-Date=20260101T000000Z&X-Amz-Expires=600&X-Amz-SignedHeaders=host\
             &X-Amz-Signature={signature}"
        );
        check("GET", &uri, &[("Host", LAMBDA_HOST)], b"", LAMBDA_DATE).unwrap();

        let url = presign_get(
            "https://lambda.us-east-1.amazonaws.com",
            &format!("{ARN_PATH}/configuration?Qualifier=%24LATEST"),
            AKID,
            SECRET,
            "us-east-1",
            "lambda",
            at(LAMBDA_DATE),
            600,
        );
        assert_eq!(url, format!("https://{LAMBDA_HOST}{uri}"));
    }

    /// aws-sigv4 1.6 with `PayloadChecksumKind::XAmzSha256`.
    #[test]
    fn signed_content_sha256_must_match_body() {
        let uri = "/2015-03-31/functions/f/invocations";
        let auth = lambda_auth(
            "content-type;host;x-amz-content-sha256;x-amz-date",
            "b396851fb08d0eb142c00a09b8c7186f24470f7016702a1b9b1ac27b17b70562",
        );
        let headers = [
            ("Host", LAMBDA_HOST),
            ("Content-Type", "application/json"),
            ("X-Amz-Date", LAMBDA_DATE),
            (
                "x-amz-content-sha256",
                "666c1aa02e8068c6d5cc1d3295009432c16790bec28ec8ce119d0d1a18d61319",
            ),
            ("Authorization", auth.as_str()),
        ];
        check("POST", uri, &headers, br#"{"k":"v"}"#, LAMBDA_DATE).unwrap();
        // The signature covers the header, not the body: only the hash check catches this.
        let result = check("POST", uri, &headers, br#"{"k":"w"}"#, LAMBDA_DATE);
        assert!(matches!(result, Err(AuthError::SignatureMismatch)));
    }

    /// botocore 1.43 with payload signing disabled sends `X-Amz-Content-SHA256: UNSIGNED-PAYLOAD`.
    #[test]
    fn unsigned_payload_header_verifies_any_body() {
        let uri = "/2015-03-31/functions/f/invocations";
        let auth = lambda_auth(
            "host;x-amz-content-sha256;x-amz-date",
            "1dd1e6444aac8dd5debc2adf10a1ded6e66fe2826254b04aafaa647840d42297",
        );
        let headers = [
            ("Host", LAMBDA_HOST),
            ("X-Amz-Date", LAMBDA_DATE),
            ("X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD"),
            ("Authorization", auth.as_str()),
        ];
        check("POST", uri, &headers, br#"{"k":"v"}"#, LAMBDA_DATE).unwrap();
        check("POST", uri, &headers, b"anything", LAMBDA_DATE).unwrap();
    }

    #[test]
    fn presign_get_round_trips_through_verify() {
        let now = at("20260101T120000Z");
        for (base, host) in [
            ("http://127.0.0.1:9001", "127.0.0.1:9001"),
            ("http://localhost:80/", "localhost"),
            ("https://lamina.example.com:443", "lamina.example.com"),
        ] {
            for path in [
                "/2015-03-31/functions/f/invocations",
                "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af?Qualifier=%24LATEST&x=a+b",
                "/a//b/./c/",
            ] {
                let url = presign_get(base, path, AKID, SECRET, "us-east-1", "lambda", now, 300);
                let path_and_query = url.strip_prefix(base.trim_end_matches('/')).unwrap();
                let verified = check(
                    "GET",
                    path_and_query,
                    &[("Host", host)],
                    b"",
                    "20260101T120400Z",
                )
                .unwrap_or_else(|e| panic!("{url}: {e:?}"));
                assert_eq!(verified.region, "us-east-1");
                assert_eq!(verified.service, "lambda");
                assert_eq!(verified.access_key_id, AKID);

                let tampered = path_and_query
                    .replacen("/2015", "/2016", 1)
                    .replacen("/a/", "/z/", 1);
                let result = check("GET", &tampered, &[("Host", host)], b"", "20260101T120400Z");
                assert!(
                    matches!(result, Err(AuthError::SignatureMismatch)),
                    "{tampered}"
                );

                let result = check(
                    "GET",
                    path_and_query,
                    &[("Host", "evil.example")],
                    b"",
                    "20260101T120400Z",
                );
                assert!(matches!(result, Err(AuthError::SignatureMismatch)));
            }
        }
    }

    #[test]
    fn presign_get_url_has_the_aws_shape() {
        let url = presign_get(
            "http://127.0.0.1:9001",
            "/2015-03-31/functions/f",
            "AKID",
            "secret",
            "eu-west-1",
            "lambda",
            at("20260101T000000Z"),
            700_000,
        );
        let prefix = "http://127.0.0.1:9001/2015-03-31/functions/f?X-Amz-Algorithm=AWS4-HMAC-SHA256\
                      &X-Amz-Credential=AKID%2F20260101%2Feu-west-1%2Flambda%2Faws4_request\
                      &X-Amz-Date=20260101T000000Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host\
                      &X-Amz-Signature=";
        let signature = url.strip_prefix(prefix).unwrap();
        assert_eq!(signature.len(), 64);
        assert!(signature.bytes().all(|b| b.is_ascii_hexdigit()));
    }

    #[test]
    fn presigned_url_expires_after_x_amz_expires() {
        let url = presign_get(
            "http://127.0.0.1:9001",
            "/2015-03-31/functions/f",
            AKID,
            SECRET,
            "us-east-1",
            "lambda",
            at("20260101T000000Z"),
            60,
        );
        let path = url.strip_prefix("http://127.0.0.1:9001").unwrap();
        let host = [("Host", "127.0.0.1:9001")];
        check("GET", path, &host, b"", "20260101T000100Z").unwrap();

        let err = check("GET", path, &host, b"", "20260101T000101Z").unwrap_err();
        assert!(matches!(
            err,
            AuthError::Expired {
                kind: ExpiryKind::PresignedExpired,
                ..
            }
        ));
        assert_eq!(
            err.aws_error(),
            ("AccessDeniedException", "Request has expired".to_owned())
        );

        let err = check("GET", path, &host, b"", "20251231T235400Z").unwrap_err();
        assert!(matches!(
            err,
            AuthError::Expired {
                kind: ExpiryKind::NotYetCurrent,
                ..
            }
        ));
    }

    #[test]
    fn header_signed_request_expires_after_five_minutes_either_way() {
        let auth = suite_auth(
            "host;x-amz-date",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        );
        let headers = [
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", SUITE_DATE),
            ("Authorization", auth.as_str()),
        ];
        check("GET", "/", &headers, b"", "20150830T124100Z").unwrap();
        check("GET", "/", &headers, b"", "20150830T123100Z").unwrap();

        let err = check("GET", "/", &headers, b"", "20150830T124200Z").unwrap_err();
        assert!(matches!(
            err,
            AuthError::Expired {
                kind: ExpiryKind::Stale,
                ..
            }
        ));
        assert_eq!(
            err.aws_error(),
            (
                "InvalidSignatureException",
                "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z \
                 (20150830T124200Z - 5 min.)"
                    .to_owned()
            )
        );

        let err = check("GET", "/", &headers, b"", "20150830T123000Z").unwrap_err();
        assert_eq!(
            err.aws_error(),
            (
                "InvalidSignatureException",
                "Signature not yet current: 20150830T123600Z is still later than \
                 20150830T123500Z (20150830T123000Z + 5 min.)"
                    .to_owned()
            )
        );
    }

    #[test]
    fn unsigned_request_is_missing() {
        let err = check("GET", "/?a=b", &[("Host", "h")], b"", SUITE_DATE).unwrap_err();
        assert!(matches!(err, AuthError::Missing));
        assert_eq!(
            err.aws_error(),
            (
                "MissingAuthenticationTokenException",
                "Missing Authentication Token".to_owned()
            )
        );
    }

    #[test]
    fn unknown_access_key_is_reported() {
        let auth = "AWS4-HMAC-SHA256 Credential=NOPE/20150830/us-east-1/service/aws4_request, \
                    SignedHeaders=host;x-amz-date, Signature=00";
        let headers = [
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", SUITE_DATE),
            ("Authorization", auth),
        ];
        let err = check("GET", "/", &headers, b"", SUITE_DATE).unwrap_err();
        assert!(matches!(err, AuthError::UnknownAccessKey));
        assert_eq!(err.aws_error().0, "UnrecognizedClientException");
    }

    #[test]
    fn wrong_secret_or_bad_signature_is_a_mismatch() {
        for signature in [
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf30",
            "5fa00f",
            "not-hex",
            "",
        ] {
            let auth = suite_auth("host;x-amz-date", signature);
            let headers = [
                ("Host", "example.amazonaws.com"),
                ("X-Amz-Date", SUITE_DATE),
                ("Authorization", auth.as_str()),
            ];
            let err = check("GET", "/", &headers, b"", SUITE_DATE).unwrap_err();
            assert!(matches!(err, AuthError::SignatureMismatch), "{signature}");
            assert_eq!(err.aws_error().0, "InvalidSignatureException");
        }
    }

    fn malformed_message(headers: &[(&str, &str)], uri: &str) -> String {
        match check("GET", uri, headers, b"", SUITE_DATE) {
            Err(err @ AuthError::Malformed(_)) => {
                let (kind, message) = err.aws_error();
                assert_eq!(kind, "IncompleteSignatureException");
                message
            }
            other => panic!("expected malformed, got {other:?}"),
        }
    }

    #[test]
    fn malformed_authorization_headers_are_described() {
        let host = ("Host", "example.amazonaws.com");
        let date = ("X-Amz-Date", SUITE_DATE);

        let auth = "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=abc";
        assert_eq!(
            malformed_message(&[host, date, ("Authorization", auth)], "/"),
            format!("Authorization header requires 'Credential' parameter. Authorization={auth}")
        );

        let auth = suite_auth("host;x-amz-date", "00");
        let message = malformed_message(&[host, ("Authorization", &auth)], "/");
        assert!(message.starts_with("Authorization header requires existence of a 'X-Amz-Date'"));

        let message = malformed_message(&[host, date, ("Authorization", "Bearer s3cr3t")], "/");
        assert!(
            message.contains("'Bearer'") && !message.contains("s3cr3t"),
            "{message}"
        );

        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service, \
                    SignedHeaders=host;x-amz-date, Signature=00";
        let message = malformed_message(&[host, date, ("Authorization", auth)], "/");
        assert!(message.starts_with("Credential must have exactly 5 slash-delimited elements"));

        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws5, \
                    SignedHeaders=host;x-amz-date, Signature=00";
        let message = malformed_message(&[host, date, ("Authorization", auth)], "/");
        assert!(message.starts_with("Credential should be scoped with a valid terminator"));

        let auth = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150831/us-east-1/service/aws4_request, \
                    SignedHeaders=host;x-amz-date, Signature=00";
        assert_eq!(
            malformed_message(&[host, date, ("Authorization", auth)], "/"),
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
             HTTP: '20150831' != '20150830', from '20150830T123600Z'."
        );

        let auth = suite_auth("host;x-amz-date", "00");
        for bad_date in [
            "2015-08-30T12:36:00Z",
            "20150830T123600",
            "20151330T123600Z",
            "20150830T256000Z",
        ] {
            let message = malformed_message(
                &[host, ("X-Amz-Date", bad_date), ("Authorization", &auth)],
                "/",
            );
            assert!(
                message.starts_with("Date must be in ISO-8601 'basic format'"),
                "{bad_date}"
            );
        }

        let auth = suite_auth("x-amz-date", "00");
        let message = malformed_message(&[host, date, ("Authorization", &auth)], "/");
        assert!(message.contains("'Host' or ':authority' must be a 'SignedHeader'"));

        let auth = suite_auth("host;x amz", "00");
        let message = malformed_message(&[host, date, ("Authorization", &auth)], "/");
        assert!(message.starts_with("SignedHeaders contains an invalid header name"));

        let auth = "AWS4-HMAC-SHA256 Credential";
        let message = malformed_message(&[host, date, ("Authorization", auth)], "/");
        assert!(message.contains("missing equal-sign"));

        let auth = suite_auth("host;x-amz-date", "00");
        let message = malformed_message(
            &[
                host,
                date,
                ("Authorization", &auth),
                ("x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"),
            ],
            "/",
        );
        assert!(message.starts_with("x-amz-content-sha256 must be UNSIGNED-PAYLOAD"));

        let message = malformed_message(
            &[host, date, ("Authorization", &auth)],
            "/?X-Amz-Algorithm=AWS4-HMAC-SHA256",
        );
        assert!(message.starts_with("Only one auth mechanism allowed"));
    }

    #[test]
    fn malformed_presigned_queries_are_described() {
        let host = [("Host", "example.amazonaws.com")];
        let full = "X-Amz-Algorithm=AWS4-HMAC-SHA256\
                    &X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request\
                    &X-Amz-Date=20150830T123600Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host\
                    &X-Amz-Signature=00";
        let result = check("GET", &format!("/?{full}"), &host, b"", SUITE_DATE);
        assert!(matches!(result, Err(AuthError::SignatureMismatch)));

        for param in [
            "X-Amz-Credential",
            "X-Amz-Date",
            "X-Amz-Expires",
            "X-Amz-SignedHeaders",
            "X-Amz-Signature",
        ] {
            let query: Vec<&str> = full.split('&').filter(|p| !p.starts_with(param)).collect();
            let message = malformed_message(&host, &format!("/?{}", query.join("&")));
            assert_eq!(
                message,
                format!(
                    "AWS query-string parameters must include '{param}'. Re-examine the \
                     query-string parameters."
                )
            );
        }

        let other = full.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512");
        let message = malformed_message(&host, &format!("/?{other}"));
        assert_eq!(
            message,
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\""
        );

        for expires in ["-1", "abc", "604801", "99999999999999999999"] {
            let bad = full.replace("X-Amz-Expires=60", &format!("X-Amz-Expires={expires}"));
            let message = malformed_message(&host, &format!("/?{bad}"));
            assert!(message.starts_with("X-Amz-Expires"), "{expires}: {message}");
        }

        let message = malformed_message(&host, &format!("/?{full}&X-Amz-Date=20150830T123600Z"));
        assert!(message.contains("must appear only once"));
    }

    #[test]
    fn canonical_uri_rules() {
        assert_eq!(canonical_uri_candidates(""), vec!["/".to_owned()]);
        assert_eq!(canonical_uri_candidates("/"), vec!["/".to_owned()]);
        assert_eq!(canonical_uri_candidates("//"), vec!["/".to_owned()]);
        assert_eq!(
            canonical_uri_candidates("/a//b/./c/../d/"),
            vec!["/a/b/d/".to_owned()]
        );
        assert_eq!(canonical_uri_candidates("/../a"), vec!["/a".to_owned()]);
        // aws-sigv4 keeps the slash implied by a final `/.`; botocore does not.
        assert_eq!(
            canonical_uri_candidates("/a/."),
            vec!["/a/".to_owned(), "/a".to_owned()]
        );
        // `%2F` inside a segment is not a separator; everything is encoded again.
        assert_eq!(
            canonical_uri_candidates("/a%2F..%2Fb/~x_y-z.1/%E1%88%B4"),
            vec!["/a%252F..%252Fb/~x_y-z.1/%25E1%2588%25B4".to_owned()]
        );
    }

    #[test]
    fn canonical_query_rules() {
        let q =
            |raw: &str, presigned: bool| canonical_query_candidates(&parse_query(raw), presigned);
        assert_eq!(q("", false), vec![String::new()]);
        assert_eq!(
            q("b=2&a=x%2By&a=1", false),
            vec!["a=1&a=x%2By&b=2".to_owned()]
        );
        assert_eq!(q("flag&k=", false), vec!["flag=&k=".to_owned()]);
        assert_eq!(
            q("%7e=%41%3a&x=%e1%88%b4", false),
            vec!["x=%E1%88%B4&~=A%3A".to_owned()]
        );
        assert_eq!(
            q("a=b c".replace(' ', "%20").as_str(), false),
            vec!["a=b%20c".to_owned()]
        );
        assert_eq!(
            q("a=b+c", false),
            vec!["a=b%20c".to_owned(), "a=b%2Bc".to_owned()]
        );
        assert_eq!(
            q("X-Amz-Signature=abc&X-Amz-Date=1", true),
            vec!["X-Amz-Date=1".to_owned()]
        );
        assert_eq!(
            q("X-Amz-Signature=abc&X-Amz-Date=1", false),
            vec!["X-Amz-Date=1&X-Amz-Signature=abc".to_owned()]
        );
    }

    #[test]
    fn header_values_are_trimmed_and_repeated_headers_joined() {
        let names = [HOST, HeaderName::from_static("x-multi")];
        let headers = header_map(&[("x-multi", "  a   b  "), ("x-multi", "c")]);
        let uri: Uri = "http://example.com:8080/p".parse().unwrap();
        assert_eq!(
            canonical_header_block(&names, &headers, &uri),
            b"host:example.com:8080\nx-multi:a b,c\n".to_vec()
        );
    }

    #[test]
    fn amz_dates_parse_and_format() {
        assert_eq!(format_amz_date(at(SUITE_DATE)), SUITE_DATE);
        let offset = at(SUITE_DATE).to_offset(UtcOffset::from_hms(2, 0, 0).unwrap());
        assert_eq!(format_amz_date(offset), SUITE_DATE);
        for bad in [
            "",
            "20150830T123600ZZ",
            "2015083OT123600Z",
            "20150230T000000Z",
            "+0150830T123600Z",
        ] {
            assert!(parse_amz_date(bad).is_none(), "{bad}");
        }
    }

    /// Arbitrary bytes in every input position must produce an error, never a panic.
    #[test]
    fn garbage_input_never_panics() {
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let alphabet = b"AWS4-HMAC-SHA256 Credential=/,;=%+&?.x-amz-date20150830T123600Zaws4_request\x00\x7f\xff\t ";
        let mut garbage = |len: usize| -> Vec<u8> {
            (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect()
        };
        let valid_query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Signature=";
        let extremes = [
            at(SUITE_DATE),
            PrimitiveDateTime::MAX.assume_utc(),
            PrimitiveDateTime::MIN.assume_utc(),
        ];
        for round in 0..2000 {
            let mut headers = HeaderMap::new();
            headers.insert(HOST, HeaderValue::from_static("example.amazonaws.com"));
            if round % 2 == 0 {
                headers.insert("x-amz-date", HeaderValue::from_static(SUITE_DATE));
            } else if let Ok(value) = HeaderValue::from_bytes(&garbage(round % 40)) {
                headers.insert("x-amz-date", value);
            }
            let mut auth = match round % 3 {
                0 => Vec::new(),
                1 => b"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host".to_vec(),
                _ => b"AWS4-HMAC-SHA256 ".to_vec(),
            };
            auth.extend(garbage(round % 120));
            if let Ok(value) = HeaderValue::from_bytes(&auth) {
                headers.insert(AUTHORIZATION, value);
            }
            if round % 5 == 0
                && let Ok(value) = HeaderValue::from_bytes(&garbage(64))
            {
                headers.insert("x-amz-content-sha256", value);
            }
            let tail = String::from_utf8_lossy(&garbage(round % 60)).into_owned();
            let candidates = [
                format!("/{}", tail.replace(['/', '?'], "%2F")),
                format!("/?{valid_query}{tail}"),
                format!("/?{tail}"),
            ];
            for uri in candidates {
                let Ok(uri) = uri.parse::<Uri>() else {
                    continue;
                };
                let now = extremes[round % extremes.len()];
                let _ = verify(&Method::GET, &uri, &headers, b"body", lookup, now);
            }
        }
        // Presigning with odd inputs must not panic either.
        for base in ["", "x", "http://", "https://h:443/", "http://u@h:80/prefix"] {
            for path in ["", "a", "/?", "/#frag", "?q=1"] {
                let url = presign_get(
                    base,
                    path,
                    "",
                    "",
                    "",
                    "",
                    PrimitiveDateTime::MAX.assume_utc(),
                    u32::MAX,
                );
                assert!(url.contains("X-Amz-Signature="));
            }
        }
    }

    /// Signs with [`sign_request`] and returns the `authorization` and `x-amz-date` it set.
    fn sign(
        method: &str,
        url: &str,
        headers: &mut HeaderMap,
        body: &[u8],
        region: &str,
        service: &str,
        now: &str,
    ) -> String {
        sign_request(
            &Method::from_bytes(method.as_bytes()).unwrap(),
            url,
            headers,
            body,
            AKID,
            SECRET,
            region,
            service,
            at(now),
        );
        assert_eq!(headers.get("x-amz-date").unwrap(), now);
        headers
            .get(AUTHORIZATION)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// The request as a server receives it: the path and query from the URL, the `Host` an
    /// HTTP client sends when `headers` has none.
    fn verify_signed(
        method: &str,
        url: &str,
        headers: &HeaderMap,
        body: &[u8],
        host: &str,
        now: &str,
    ) -> Result<VerifiedRequest, AuthError> {
        let (_, _, path, query) = split_url(url);
        let path = if path.is_empty() { "/" } else { path };
        let uri: Uri = if query.is_empty() {
            path.parse().unwrap()
        } else {
            format!("{path}?{query}").parse().unwrap()
        };
        let mut received = headers.clone();
        if !received.contains_key(HOST) {
            received.insert(HOST, HeaderValue::from_str(host).unwrap());
        }
        received.insert("content-length", HeaderValue::from(body.len()));
        received.insert("user-agent", HeaderValue::from_static("lamina"));
        verify(
            &Method::from_bytes(method.as_bytes()).unwrap(),
            &uri,
            &received,
            body,
            lookup,
            at(now),
        )
    }

    /// botocore 1.44.8 `sqs.send_message(...)` with message attributes, as the SQS JSON
    /// protocol sends it (endpoint `http://127.0.0.1:9324`, 2026-01-01T00:00:00Z). botocore
    /// adds `amz-sdk-invocation-id`, `amz-sdk-request` and `Content-Length` after signing.
    #[test]
    fn sign_request_matches_botocore_sqs_json_send_message() {
        let body = br#"{"QueueUrl": "http://127.0.0.1:9324/000000000000/dlq", "MessageBody": "{\"k\": \"v w\"}", "MessageAttributes": {"RequestID": {"DataType": "String", "StringValue": "r-1"}, "ErrorCode": {"DataType": "Number", "StringValue": "500"}}}"#;
        let mut headers = header_map(&[
            ("X-Amz-Target", "AmazonSQS.SendMessage"),
            ("Content-Type", "application/x-amz-json-1.0"),
            ("x-amzn-query-mode", "true"),
            (
                "User-Agent",
                "Boto3/1.44.8 md/Botocore#1.44.8 Botocore/1.44.8",
            ),
            // A stale signature from an earlier attempt is replaced.
            ("Authorization", "AWS4-HMAC-SHA256 Credential=old"),
            ("X-Amz-Date", "20250101T000000Z"),
        ]);
        let url = "http://127.0.0.1:9324/";
        let auth = sign(
            "POST",
            url,
            &mut headers,
            body,
            "us-east-1",
            "sqs",
            LAMBDA_DATE,
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/sqs/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date;x-amz-target;x-amzn-query-mode, \
             Signature=46b7058db7ca6e498d6f711c85fd3008cf1b43a0e134da63e503ac1c24fe4c5f"
        );
        assert!(headers.get(HOST).is_none(), "the host is signed, not added");
        assert!(headers.get("x-amz-content-sha256").is_none());
        let verified =
            verify_signed("POST", url, &headers, body, "127.0.0.1:9324", LAMBDA_DATE).unwrap();
        assert_eq!(
            verified,
            VerifiedRequest {
                access_key_id: AKID.to_owned(),
                region: "us-east-1".to_owned(),
                service: "sqs".to_owned(),
            }
        );
        let tampered = verify_signed("POST", url, &headers, b"{}", "127.0.0.1:9324", LAMBDA_DATE);
        assert!(matches!(tampered, Err(AuthError::SignatureMismatch)));
    }

    /// botocore 1.44.8 `SigV4Auth(creds, "sqs", "eu-west-1")` on the query protocol's form POST.
    #[test]
    fn sign_request_matches_botocore_sqs_query_form_post() {
        let body = b"Action=SendMessage&Version=2012-11-05\
            &QueueUrl=http%3A%2F%2F127.0.0.1%3A9324%2F000000000000%2Fdlq\
            &MessageBody=%7B%22k%22%3A%20%22v%20w%22%7D&MessageAttribute.1.Name=ErrorCode\
            &MessageAttribute.1.Value.DataType=Number&MessageAttribute.1.Value.StringValue=500";
        let mut headers = header_map(&[
            (
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
            ("User-Agent", "x"),
        ]);
        let url = "http://127.0.0.1:9324/";
        let auth = sign(
            "POST",
            url,
            &mut headers,
            body,
            "eu-west-1",
            "sqs",
            LAMBDA_DATE,
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/eu-west-1/sqs/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=6dbfd874f653db56a9247c035e4b64c795ece353f474764995e14837aa67b273"
        );
        verify_signed("POST", url, &headers, body, "127.0.0.1:9324", LAMBDA_DATE).unwrap();
    }

    /// botocore 1.44.8 `SigV4Auth` on `GET http://Example.COM:80/a/./b//c?Param2=v%202&Param1=value1`:
    /// the host is lowercased without its default port, the path normalised, the query sorted.
    #[test]
    fn sign_request_matches_botocore_host_path_and_query_rules() {
        let url = "http://Example.COM:80/a/./b//c?Param2=v%202&Param1=value1";
        let mut headers = HeaderMap::new();
        let auth = sign(
            "GET",
            url,
            &mut headers,
            b"",
            "us-east-1",
            "sqs",
            LAMBDA_DATE,
        );
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/sqs/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=e6b4873599c123f1a4addfa91691c1468159a47f82b1f00851fd7673e0135e02"
        );
        verify_signed("GET", url, &headers, b"", "example.com", LAMBDA_DATE).unwrap();
    }

    /// The AWS SigV4 test suite's requests, signed by [`sign_request`], reproduce the suite's
    /// signatures (which [`aws_test_suite_vectors_verify`] checks on the verifying side).
    #[test]
    fn sign_request_reproduces_aws_test_suite() {
        /// Method, URL, extra headers, body, signed headers, signature.
        type Case<'a> = (
            &'a str,
            &'a str,
            &'a [(&'a str, &'a str)],
            &'a [u8],
            &'a str,
            &'a str,
        );
        #[rustfmt::skip]
        let cases: [Case<'_>; 4] = [
            ("GET", "https://example.amazonaws.com/", &[], b"", "host;x-amz-date",
             "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
            ("GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", &[], b"",
             "host;x-amz-date", "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
            ("POST", "https://example.amazonaws.com:443/",
             &[("Content-Type", "application/x-www-form-urlencoded")], b"Param1=value1",
             "content-type;host;x-amz-date",
             "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
            ("GET", "https://example.amazonaws.com/",
             &[("My-Header1", " value1"), ("My-Header2", " \"a   b   c\"")], b"",
             "host;my-header1;my-header2;x-amz-date",
             "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
        ];
        for (method, url, extra, body, signed, signature) in cases {
            let mut headers = header_map(extra);
            let auth = sign(
                method,
                url,
                &mut headers,
                body,
                "us-east-1",
                "service",
                SUITE_DATE,
            );
            assert_eq!(auth, suite_auth(signed, signature), "{method} {url}");
            verify_signed(
                method,
                url,
                &headers,
                body,
                "example.amazonaws.com",
                SUITE_DATE,
            )
            .unwrap_or_else(|e| panic!("{method} {url}: {e:?}"));
        }
    }

    /// A caller-set `x-amz-content-sha256` is signed and used as the payload hash; an explicit
    /// `Host` header wins over the URL's authority.
    #[test]
    fn sign_request_honours_content_sha256_and_host_headers() {
        let url = "http://sqs.local:9324/path%3Aencoded/?b=2&a=x%2By";
        for claimed in [UNSIGNED_PAYLOAD.to_owned(), hex_sha256(b"payload")] {
            let mut headers = header_map(&[
                ("Host", "proxy.example:8080"),
                ("x-amz-content-sha256", &claimed),
            ]);
            let auth = sign(
                "PUT",
                url,
                &mut headers,
                b"payload",
                "us-east-1",
                "sqs",
                LAMBDA_DATE,
            );
            assert!(
                auth.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date,"),
                "{auth}"
            );
            verify_signed("PUT", url, &headers, b"payload", "unused", LAMBDA_DATE).unwrap();
            let other_host = {
                let mut h = headers.clone();
                h.insert(HOST, HeaderValue::from_static("sqs.local:9324"));
                h
            };
            let result = verify_signed("PUT", url, &other_host, b"payload", "", LAMBDA_DATE);
            assert!(matches!(result, Err(AuthError::SignatureMismatch)));
        }
        // A hash that is not the body's is refused by the verifier.
        let mut headers = header_map(&[("x-amz-content-sha256", &hex_sha256(b"other"))]);
        sign(
            "PUT",
            url,
            &mut headers,
            b"payload",
            "us-east-1",
            "sqs",
            LAMBDA_DATE,
        );
        let result = verify_signed(
            "PUT",
            url,
            &headers,
            b"payload",
            "sqs.local:9324",
            LAMBDA_DATE,
        );
        assert!(matches!(result, Err(AuthError::SignatureMismatch)));
    }

    /// Whatever the inputs, signing never panics, and what it signs verifies.
    #[test]
    fn sign_request_round_trips_through_verify() {
        let urls = [
            "http://127.0.0.1:9324",
            "http://[::1]:9324/q?x=%E1%88%B4&y",
            "https://h/a/../b/./c/",
            "http://h:81/a%2Fb/~x?z=1&z=0#frag",
        ];
        let hosts = ["127.0.0.1:9324", "[::1]:9324", "h", "h:81"];
        for (url, host) in urls.into_iter().zip(hosts) {
            for body in [&b""[..], b"{}", &[0xff, 0x00, 0x80]] {
                let mut headers = header_map(&[
                    ("Content-Type", "text/plain"),
                    ("X-Multi", "a"),
                    ("x-multi", "b"),
                ]);
                sign(
                    "POST",
                    url,
                    &mut headers,
                    body,
                    "us-west-2",
                    "sqs",
                    LAMBDA_DATE,
                );
                verify_signed("POST", url, &headers, body, host, LAMBDA_DATE)
                    .unwrap_or_else(|e| panic!("{url}: {e:?}"));
            }
        }
        // Control characters cannot go into a header: no authorization, no panic.
        let mut headers = HeaderMap::new();
        sign_request(
            &Method::GET,
            "",
            &mut headers,
            b"",
            "AK\nID",
            "",
            "",
            "",
            PrimitiveDateTime::MAX.assume_utc(),
        );
        assert!(headers.get(AUTHORIZATION).is_none());
    }
}
