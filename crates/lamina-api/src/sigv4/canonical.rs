//! The canonical request, string to sign and signing key, built as AWS clients build them.

use super::*;

/// One `key=value` piece of a raw query string, still percent-encoded.
#[derive(Debug, Clone, Copy)]
pub(super) struct QueryParam<'a> {
    pub(super) raw_key: &'a str,
    pub(super) raw_value: &'a str,
}

impl QueryParam<'_> {
    /// Percent-decoded key (a raw `+` stays `+`), lossily as UTF-8, for matching names.
    pub(super) fn name(&self) -> std::borrow::Cow<'_, str> {
        percent_decode_str(self.raw_key).decode_utf8_lossy()
    }

    /// Percent-decoded value (a raw `+` stays `+`), lossily as UTF-8.
    pub(super) fn value_lossy(&self) -> String {
        percent_decode_str(self.raw_value)
            .decode_utf8_lossy()
            .into_owned()
    }
}

pub(super) fn parse_query(raw: &str) -> Vec<QueryParam<'_>> {
    raw.split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (raw_key, raw_value) = piece.split_once('=').unwrap_or((piece, ""));
            QueryParam { raw_key, raw_value }
        })
        .collect()
}

/// Canonical URIs the client may have signed for a wire path (usually exactly one).
pub(super) fn canonical_uri_candidates(raw_path: &str) -> Vec<String> {
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
pub(super) fn normalize_path(raw_path: &str, dot_suffix_keeps_slash: bool) -> String {
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
pub(super) fn canonical_query_candidates(
    params: &[QueryParam<'_>],
    presigned: bool,
) -> Vec<String> {
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
pub(super) fn encode_query_component(raw: &str, plus_is_space: bool) -> String {
    let decoded: Vec<u8> = if plus_is_space {
        percent_decode_str(&raw.replace('+', " ")).collect()
    } else {
        percent_decode_str(raw).collect()
    };
    percent_encoding::percent_encode(&decoded, UNRESERVED).to_string()
}

/// `SignedHeaders` line of the canonical request.
pub(super) fn canonical_signed_headers(names: &[HeaderName]) -> String {
    names
        .iter()
        .map(HeaderName::as_str)
        .collect::<Vec<_>>()
        .join(";")
}

/// `name:value\n` for each signed header. Values stay bytes: a header may hold non-UTF-8 octets
/// and the client signed exactly those.
pub(super) fn canonical_header_block(
    names: &[HeaderName],
    headers: &HeaderMap,
    uri: &Uri,
) -> Vec<u8> {
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
pub(super) fn trim_all(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    for word in value.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(b' ');
        }
        out.extend_from_slice(word);
    }
    out
}

pub(super) fn canonical_request(
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

pub(super) fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &[u8]) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        hex_sha256(canonical_request)
    )
}

pub(super) fn signing_key(secret: &str, scope: &CredentialScope) -> [u8; 32] {
    let k_date = hmac_sha256(format!("AWS4{secret}").as_bytes(), scope.date.as_bytes());
    let k_region = hmac_sha256(&k_date, scope.region.as_bytes());
    let k_service = hmac_sha256(&k_region, scope.service.as_bytes());
    hmac_sha256(&k_service, TERMINATOR.as_bytes())
}

pub(super) fn new_mac(key: &[u8]) -> HmacSha256 {
    // HMAC is defined for keys of any length (long keys are hashed first), so this cannot fail.
    #[allow(clippy::expect_used)]
    HmacSha256::new_from_slice(key).expect("hmac accepts keys of any length")
}

pub(super) fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = new_mac(key);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Constant-time comparison of the expected signature with the provided one.
pub(super) fn signature_matches(key: &[u8], string_to_sign: &[u8], provided: &[u8]) -> bool {
    let mut mac = new_mac(key);
    mac.update(string_to_sign);
    mac.verify_slice(provided).is_ok()
}

pub(super) fn hex_sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The `Host` header value an HTTP client sends for a URL authority: no userinfo and no
/// default port.
pub(super) fn host_for_authority(scheme: &str, authority: &str) -> String {
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
