//! Canonicalisation and parsing rules, and hostile input.

use super::*;

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
    let q = |raw: &str, presigned: bool| canonical_query_candidates(&parse_query(raw), presigned);
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
