//! Unit tests of `sqs`.
use super::*;

#[test]
fn queue_arns_parse_like_aws_names_them() {
    assert_eq!(
        parse_queue_arn("arn:aws:sqs:us-east-1:123456789012:my-dlq_1"),
        Some((
            "us-east-1".to_owned(),
            "123456789012".to_owned(),
            "my-dlq_1".to_owned()
        ))
    );
    assert_eq!(
        parse_queue_arn("arn:aws-cn:sqs:cn-north-1:123456789012:q.fifo").map(|p| p.2),
        Some("q.fifo".to_owned())
    );
    let long = "q".repeat(80);
    assert!(parse_queue_arn(&format!("arn:aws:sqs:us-east-1:123456789012:{long}")).is_some());
    for bad in [
        "",
        "arn:aws:sqs:us-east-1:123456789012",
        "arn:aws:sqs:us-east-1:123456789012:",
        "arn:aws:sns:us-east-1:123456789012:q",
        "arn:aws:sqs::123456789012:q",
        "arn:aws:sqs:us-east-1:12345678901:q",
        "arn:aws:sqs:us-east-1:12345678901x:q",
        "arn:aws:sqs:us-east-1:123456789012:q:extra",
        "arn:aws:sqs:us-east-1:123456789012:q/x",
        "arn:aws:sqs:us-east-1:123456789012:q.txt",
        "arn:aws:sqs:us-east-1:123456789012:.fifo",
        "arn:other:sqs:us-east-1:123456789012:q",
        "arn:aws:sqs:US-EAST-1:123456789012:q",
        &format!("arn:aws:sqs:us-east-1:123456789012:{long}x"),
    ] {
        assert_eq!(parse_queue_arn(bad), None, "{bad}");
    }
}

#[test]
fn endpoints_parse_and_https_is_refused() {
    let e = Endpoint::parse("http://127.0.0.1:9324").unwrap();
    assert_eq!(
        (e.connect_host.as_str(), e.port, e.host_header.as_str()),
        ("127.0.0.1", 9324, "127.0.0.1:9324")
    );
    assert_eq!(
        (e.path.as_str(), e.url.as_str()),
        ("/", "http://127.0.0.1:9324/")
    );

    let e = Endpoint::parse("HTTP://SQS.Local/prefix/").unwrap();
    assert_eq!((e.connect_host.as_str(), e.port), ("sqs.local", 80));
    assert_eq!(e.host_header, "sqs.local");
    assert_eq!(e.url, "http://sqs.local/prefix/");

    let e = Endpoint::parse("http://[::1]:80").unwrap();
    assert_eq!(
        (e.connect_host.as_str(), e.host_header.as_str()),
        ("::1", "[::1]")
    );

    for bad in [
        "https://sqs.us-east-1.amazonaws.com",
        "127.0.0.1:9324",
        "ftp://h",
        "http://",
        "http://h:0",
        "http://h:99999",
        "http://h:x",
        "http://[::1",
        "http://u:p@h",
        "http://h/?a=b",
    ] {
        assert!(
            matches!(Endpoint::parse(bad), Err(SqsError::InvalidEndpoint { .. })),
            "{bad}"
        );
    }
    let err = Endpoint::parse("https://h").unwrap_err().to_string();
    assert!(
        err.contains("https endpoints are not supported yet"),
        "{err}"
    );
}

#[test]
fn form_encoding_matches_botocore() {
    // botocore 1.44.8: `AWSRequest(data={...}).prepare().body`.
    assert_eq!(
        form_encode(&[
            ("Action", "SendMessage"),
            ("MessageBody", r#"{"k": "v w"} ~+/é*'()!"#)
        ]),
        "Action=SendMessage&MessageBody=%7B%22k%22%3A+%22v+w%22%7D+~%2B%2F%C3%A9%2A%27%28%29%21"
    );
    assert_eq!(form_encode(&[("a.b-c_d", "%20")]), "a.b-c_d=%2520");
}

#[test]
fn json_bodies_are_ascii_like_botocore() {
    let value = json!({"MessageBody": "a\u{e9}\u{20ac}\u{1f600}\"\n<&>"});
    let ascii = ascii_json(&value);
    // `json.dumps({"MessageBody": "aé€😀\"\n<&>"})` without the spaces.
    assert_eq!(
        ascii,
        r#"{"MessageBody":"a\u00e9\u20ac\ud83d\ude00\"\n<&>"}"#
    );
    assert_eq!(serde_json::from_str::<Value>(&ascii).unwrap(), value);
}

#[test]
fn xml_text_and_unescape() {
    let xml = "<R><Message><MessageId>1</MessageId><Body>a &lt;&amp;&gt;&#xD;\nb &#233;&quot;&apos; &bogus; &#xFFFFFFFF; &</Body></Message>\
               <Message id=\"x\"><Body><![CDATA[<raw>]]> &amp;</Body></Message><Message/></R>";
    let messages = xml_elements(xml, "Message");
    assert_eq!(messages.len(), 3);
    assert_eq!(xml_text(messages[0], "MessageId").as_deref(), Some("1"));
    assert_eq!(
        xml_text(messages[0], "Body").as_deref(),
        Some("a <&>\r\nb é\"' &bogus; &#xFFFFFFFF; &")
    );
    assert_eq!(xml_text(messages[1], "Body").as_deref(), Some("<raw> &"));
    assert_eq!(messages[2], "");
    assert_eq!(xml_text(xml, "Missing"), None);
    assert_eq!(xml_elements("<Message>unterminated", "Message").len(), 0);
}

fn response(status: u16, headers: &[(&str, &str)], body: &str) -> RawResponse {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    RawResponse {
        status,
        headers: map,
        body: Bytes::from(body.to_owned()),
    }
}

#[test]
fn json_errors_carry_the_query_code_and_type() {
    let e = json_error(
        "GetQueueUrl",
        &response(
            400,
            &[(
                "x-amzn-query-error",
                "AWS.SimpleQueueService.NonExistentQueue;Sender",
            )],
            r#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}"#,
        ),
    );
    match &e {
        SqsError::Service {
            code,
            error_type,
            message,
            sender_fault,
            status,
            ..
        } => {
            assert_eq!(code, "AWS.SimpleQueueService.NonExistentQueue");
            assert_eq!(error_type.as_deref(), Some("QueueDoesNotExist"));
            assert_eq!(message, "The specified queue does not exist.");
            assert_eq!(*sender_fault, Some(true));
            assert_eq!(*status, 400);
        }
        other => panic!("{other:?}"),
    }
    assert!(e.is_queue_missing() && !e.is_retryable() && !e.suggests_json_unsupported());

    // Without the query header the JSON type is the code.
    let e = json_error(
        "SendMessage",
        &response(
            400,
            &[],
            r#"{"__type":"com.amazon.coral.service#UnknownOperationException:http://x","message":null}"#,
        ),
    );
    assert_eq!(e.code(), Some("UnknownOperationException"));
    assert!(e.suggests_json_unsupported());

    let e = json_error(
        "SendMessage",
        &response(500, &[("x-amzn-errortype", "InternalError")], ""),
    );
    assert_eq!(e.code(), Some("InternalError"));
    assert!(e.is_retryable() && !e.suggests_json_unsupported());

    // Not an AWS error at all: a query-only server, or something else on the port.
    let e = json_error("GetQueueUrl", &response(404, &[], "<html>Not Found</html>"));
    assert!(matches!(
        e,
        SqsError::UnexpectedResponse { status: 404, .. }
    ));
    assert!(e.suggests_json_unsupported());
    let e = json_error("GetQueueUrl", &response(500, &[], "<html>boom</html>"));
    assert!(!e.suggests_json_unsupported() && e.is_retryable());

    // An XML error to a JSON request (moto's authentication errors, query-only servers).
    let e = json_error(
        "GetQueueUrl",
        &response(
            403,
            &[("content-type", "text/xml")],
            "<?xml version=\"1.0\"?><ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code>\
             <Message>The request signature we calculated does not match</Message></Error>\
             </Errors></ErrorResponse>",
        ),
    );
    assert_eq!(e.code(), Some("SignatureDoesNotMatch"));
    assert!(!e.suggests_json_unsupported() && !e.is_retryable());
    let e = json_error(
        "GetQueueUrl",
        &response(
            400,
            &[],
            "<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>",
        ),
    );
    assert!(e.suggests_json_unsupported());
}

#[test]
fn xml_errors_carry_code_message_and_fault() {
    let e = xml_error(
        "GetQueueUrl",
        400,
        r#"<ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/"><Error><Type>Sender</Type><Code>AWS.SimpleQueueService.NonExistentQueue</Code><Message>The specified queue does not exist for this wsdl version.</Message></Error><RequestId>r</RequestId></ErrorResponse>"#,
    );
    assert!(e.is_queue_missing());
    assert_eq!(
        e.to_string(),
        "SQS GetQueueUrl failed with HTTP 400: AWS.SimpleQueueService.NonExistentQueue: The \
         specified queue does not exist for this wsdl version."
    );
    let e = xml_error(
        "SendMessage",
        400,
        "<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>",
    );
    assert!(e.suggests_json_unsupported());
    let e = xml_error("SendMessage", 502, "Bad Gateway");
    assert!(matches!(
        e,
        SqsError::UnexpectedResponse { status: 502, .. }
    ));
}

#[test]
fn received_messages_parse_from_both_protocols() {
    let json = json!({"Messages": [{
        "MessageId": "m1", "ReceiptHandle": "r1", "MD5OfBody": "x", "Body": "b",
        "MessageAttributes": {"ErrorCode": {"StringValue": "500", "DataType": "Number"}}
    }]});
    let xml = "<ReceiveMessageResponse><ReceiveMessageResult><Message><MessageId>m1</MessageId>\
               <ReceiptHandle>r1</ReceiptHandle><MD5OfBody>x</MD5OfBody><Body>b</Body>\
               <MessageAttribute><Name>ErrorCode</Name><Value><StringValue>500</StringValue>\
               <DataType>Number</DataType></Value></MessageAttribute></Message>\
               </ReceiveMessageResult></ReceiveMessageResponse>";
    let from_json = messages_from_json(&json);
    assert_eq!(from_json, messages_from_xml(xml));
    assert_eq!(from_json.len(), 1);
    assert_eq!(
        from_json[0].attributes["ErrorCode"],
        MessageAttribute {
            data_type: "Number".to_owned(),
            string_value: Some("500".to_owned())
        }
    );
    assert!(messages_from_json(&json!({})).is_empty());
    assert!(messages_from_xml("<ReceiveMessageResponse/>").is_empty());
}

#[test]
fn truncation_keeps_whole_characters() {
    assert_eq!(truncate_utf8("abc", 1024), "abc");
    assert_eq!(truncate_utf8("aé", 2), "a");
    assert_eq!(truncate_utf8("aé", 3), "aé");
    let long = "é".repeat(600);
    assert_eq!(truncate_utf8(&long, DLQ_ERROR_MESSAGE_LIMIT).len(), 1024);
    assert_eq!(truncate_utf8("€", 0), "");
}

#[tokio::test]
async fn bad_input_fails_before_any_connection() {
    let client = SqsClient::new(SqsConfig {
        endpoint: "http://127.0.0.1:9".to_owned(),
        access_key_id: "AKID".to_owned(),
        secret_access_key: "s".to_owned(),
        region: "us-east-1".to_owned(),
    });
    let err = client
        .send_message("arn:aws:sqs:x", "b", &[])
        .await
        .unwrap_err();
    assert!(matches!(err, SqsError::InvalidArn(_)), "{err:?}");
    let arn = "arn:aws:sqs:us-east-1:123456789012:q";
    let err = client
        .send_message(arn, "b", &[("Blob", "Binary", "AAAA")])
        .await
        .unwrap_err();
    assert!(matches!(err, SqsError::InvalidInput(_)), "{err:?}");

    let https = SqsClient::new(SqsConfig {
        endpoint: "https://sqs.us-east-1.amazonaws.com".to_owned(),
        access_key_id: "AKID".to_owned(),
        secret_access_key: "s".to_owned(),
        region: "us-east-1".to_owned(),
    });
    let err = https.send_message(arn, "b", &[]).await.unwrap_err();
    assert!(matches!(err, SqsError::InvalidEndpoint { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert!(
        !format!(
            "{:?}",
            SqsConfig {
                endpoint: String::new(),
                access_key_id: "AKID".to_owned(),
                secret_access_key: "very-secret".to_owned(),
                region: String::new(),
            }
        )
        .contains("very-secret")
    );
}
