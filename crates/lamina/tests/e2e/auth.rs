//! SigV4: unsigned, unknown-key, wrong-secret and tampered requests are refused and change nothing.

use crate::harness::*;

#[tokio::test]
async fn unsigned_requests_are_refused_with_a_request_id() {
    let server = TestServer::start().await;
    let url = format!("{}/2015-03-31/functions", server.endpoint);
    let (status, headers, body) = raw_request("GET", &url, &[], b"");
    assert_eq!(status, 403);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(
        header("x-amzn-errortype").as_deref(),
        Some("MissingAuthenticationTokenException")
    );
    let id = header("x-amzn-requestid").unwrap();
    assert_eq!(id.len(), 36);
    assert_eq!(&id[14..15], "4", "uuid v4: {id}");
    assert!(String::from_utf8_lossy(&body).contains("Missing Authentication Token"));
}

#[tokio::test]
async fn wrong_credentials_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let unknown = server.client_with("LKIAUNKNOWNUNKNOWN00", SECRET_KEY);
    let err = create_request(&unknown, "nope", python_zip())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "UnrecognizedClientException");
    assert_eq!(
        message_of(&err),
        "The security token included in the request is invalid."
    );

    let wrong_secret = server.client_with(ACCESS_KEY, "not-the-secret");
    let err = create_request(&wrong_secret, "nope", python_zip())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&err), "InvalidSignatureException");
    assert!(message_of(&err).starts_with(
        "The request signature we calculated does not match the signature you provided."
    ));

    let listed = server.client().list_functions().send().await.unwrap();
    assert!(listed.functions().is_empty());
}

#[tokio::test]
async fn tampered_presigned_code_url_is_refused() {
    let server = TestServer::start().await;
    let client = server.client();
    create_request(&client, "p", python_zip())
        .send()
        .await
        .unwrap();
    let got = client
        .get_function()
        .function_name("p")
        .send()
        .await
        .unwrap();
    let location = got.code().unwrap().location().unwrap().to_owned();
    let tampered = location.replace("X-Amz-Expires=600", "X-Amz-Expires=6000");
    assert_ne!(tampered, location);
    let (status, _, _) = raw_request("GET", &tampered, &[], b"");
    assert_eq!(status, 403);
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_being_read() {
    let server = TestServer::start().await;
    let url = format!("{}/2015-03-31/functions", server.endpoint);
    // Declares 80 MB but sends nothing: the server must answer without waiting for the body.
    let (status, headers, body) = raw_request_declared("POST", &url, 80_000_000);
    assert_eq!(status, 413);
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "x-amzn-errortype" && v == "RequestEntityTooLargeException")
    );
    assert!(
        String::from_utf8_lossy(&body).contains(
            "Request must be smaller than 70167211 bytes for the CreateFunction operation"
        )
    );
}

/// Sends only the head of a request that declares `length` body bytes.
fn raw_request_declared(
    method: &str,
    url: &str,
    length: u64,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=x\r\nContent-Length: {length}\r\n\r\n").unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut raw = vec![0u8; 4096];
    let mut got = 0;
    while !raw[..got].windows(4).any(|w| w == b"\r\n\r\n") || got == 0 {
        let n = stream.read(&mut raw[got..]).unwrap();
        if n == 0 {
            break;
        }
        got += n;
    }
    // Read whatever body came with the head.
    let n = stream.read(&mut raw[got..]).unwrap_or(0);
    got += n;
    let text = String::from_utf8_lossy(&raw[..got]).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (status, headers, body.as_bytes().to_vec())
}
