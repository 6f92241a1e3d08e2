//! Unit tests of `sigv4`: verification of SDK-signed and presigned requests, and its errors
//! (here); canonicalisation rules (`canonical`); signing (`signing`).

mod canonical;
mod signing;

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
