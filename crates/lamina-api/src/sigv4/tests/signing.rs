//! `sign_request` (the client side, for the SQS destination client): botocore's and AWS's
//! vectors, and round trips through verification.

use super::*;

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
