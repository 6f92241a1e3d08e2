//! Request encoding and response parsing for the SQS JSON and query protocols.

use super::*;

pub(super) fn queue_url_of(answer: Answer, operation: &'static str) -> Result<String, SqsError> {
    let url = match answer {
        Answer::Json(value) => value
            .get("QueueUrl")
            .and_then(Value::as_str)
            .map(str::to_owned),
        Answer::Xml(xml) => xml_text(&xml, "QueueUrl"),
    };
    url.filter(|u| !u.is_empty())
        .ok_or_else(|| SqsError::UnexpectedResponse {
            operation,
            status: 200,
            detail: "the answer has no QueueUrl".to_owned(),
        })
}

/// Compact JSON with every non-ASCII character escaped as `\uXXXX` (UTF-16, surrogate pairs
/// beyond the BMP), as botocore's `json.dumps` writes it. Servers that re-read the body as text
/// before checking the signature (moto with IAM authentication on) then hash the same bytes.
pub(super) fn ascii_json(value: &Value) -> String {
    let compact = value.to_string();
    let mut out = String::with_capacity(compact.len());
    for c in compact.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// The query protocol's body, byte for byte as botocore sends it. Servers that rebuild the
/// body from the parsed form before checking the signature (moto with IAM authentication on)
/// then hash the same bytes.
pub(super) fn form_encode(pairs: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        utf8_percent_encode(s, FORM_UNRESERVED)
            .to_string()
            .replace("%20", "+")
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The start of a body, for error messages.
pub(super) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "<empty body>".to_owned();
    }
    let cut = truncate_utf8(text, DETAIL_LIMIT);
    if cut.len() < text.len() {
        format!("{cut}…")
    } else {
        cut.to_owned()
    }
}

/// An error answer in the JSON protocol (with the query-compatible code botocore reads from
/// `x-amzn-query-error`), or [`SqsError::UnexpectedResponse`] when it is not one.
pub(super) fn json_error(operation: &'static str, response: &RawResponse) -> SqsError {
    let header = |name: &str| {
        response
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let body: Option<Map<String, Value>> = serde_json::from_slice(&response.body).ok();
    let field = |names: &[&str]| {
        body.as_ref().and_then(|b| {
            names
                .iter()
                .find_map(|n| b.get(*n).and_then(Value::as_str).map(str::to_owned))
        })
    };
    // `com.amazonaws.sqs#QueueDoesNotExist`, possibly with a `:http://..` suffix.
    let error_type = field(&["__type", "code", "Code"])
        .or_else(|| header("x-amzn-errortype").map(str::to_owned))
        .map(|t| {
            let t = t.rsplit('#').next().unwrap_or(&t);
            t.split(':').next().unwrap_or(t).to_owned()
        })
        .filter(|t| !t.is_empty());
    let (query_code, fault) = match header("x-amzn-query-error") {
        Some(value) => {
            let (code, fault) = value.split_once(';').unwrap_or((value, ""));
            (Some(code.to_owned()), Some(fault.to_owned()))
        }
        None => (None, None),
    };
    let Some(code) = query_code.clone().or_else(|| error_type.clone()) else {
        // Some servers answer every error in the query protocol's XML whatever the request's
        // protocol (moto does for authentication errors); `xml_error` reports anything else
        // as unexpected.
        return xml_error(
            operation,
            response.status,
            &String::from_utf8_lossy(&response.body),
        );
    };
    let sender_fault = match fault.as_deref() {
        Some("Sender") => Some(true),
        Some("Receiver") => Some(false),
        _ => None,
    };
    SqsError::Service {
        operation,
        status: response.status,
        code,
        error_type,
        message: field(&["message", "Message", "errorMessage"]).unwrap_or_default(),
        sender_fault,
    }
}

/// An error answer in the query protocol (`<ErrorResponse><Error><Type>..<Code>..<Message>..`).
pub(super) fn xml_error(operation: &'static str, status: u16, xml: &str) -> SqsError {
    let Some(code) = xml_text(xml, "Code").filter(|c| !c.is_empty()) else {
        return SqsError::UnexpectedResponse {
            operation,
            status,
            detail: snippet(xml.as_bytes()),
        };
    };
    let sender_fault = match xml_text(xml, "Type").as_deref() {
        Some("Sender") => Some(true),
        Some("Receiver") => Some(false),
        _ => None,
    };
    SqsError::Service {
        operation,
        status,
        code,
        error_type: None,
        message: xml_text(xml, "Message").unwrap_or_default(),
        sender_fault,
    }
}

pub(super) fn messages_from_json(value: &Value) -> Vec<ReceivedMessage> {
    let Some(messages) = value.get("Messages").and_then(Value::as_array) else {
        return Vec::new();
    };
    let text = |m: &Value, key: &str| m.get(key).and_then(Value::as_str).map(str::to_owned);
    messages
        .iter()
        .map(|m| {
            let mut attributes = BTreeMap::new();
            if let Some(map) = m.get("MessageAttributes").and_then(Value::as_object) {
                for (name, attribute) in map {
                    attributes.insert(
                        name.clone(),
                        MessageAttribute {
                            data_type: text(attribute, "DataType").unwrap_or_default(),
                            string_value: text(attribute, "StringValue"),
                        },
                    );
                }
            }
            ReceivedMessage {
                message_id: text(m, "MessageId").unwrap_or_default(),
                receipt_handle: text(m, "ReceiptHandle").unwrap_or_default(),
                body: text(m, "Body").unwrap_or_default(),
                md5_of_body: text(m, "MD5OfBody"),
                attributes,
            }
        })
        .collect()
}

pub(super) fn messages_from_xml(xml: &str) -> Vec<ReceivedMessage> {
    let result = xml_elements(xml, "ReceiveMessageResult")
        .into_iter()
        .next()
        .unwrap_or("");
    xml_elements(result, "Message")
        .into_iter()
        .map(|m| {
            let mut attributes = BTreeMap::new();
            for attribute in xml_elements(m, "MessageAttribute") {
                let Some(name) = xml_text(attribute, "Name") else {
                    continue;
                };
                let value = xml_elements(attribute, "Value")
                    .into_iter()
                    .next()
                    .unwrap_or("");
                attributes.insert(
                    name,
                    MessageAttribute {
                        data_type: xml_text(value, "DataType").unwrap_or_default(),
                        string_value: xml_text(value, "StringValue"),
                    },
                );
            }
            ReceivedMessage {
                message_id: xml_text(m, "MessageId").unwrap_or_default(),
                receipt_handle: xml_text(m, "ReceiptHandle").unwrap_or_default(),
                body: xml_text(m, "Body").unwrap_or_default(),
                md5_of_body: xml_text(m, "MD5OfBody"),
                attributes,
            }
        })
        .collect()
}

/// The raw contents of each `<tag>..</tag>` (or `<tag attr="..">..</tag>`) element at any
/// depth, in order; elements of the same name are assumed not to nest, as in SQS answers.
pub(super) fn xml_elements<'a>(xml: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}");
    let close = format!("</{tag}>");
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after_name = &rest[start + open.len()..];
        // `<Message>` must not match `<MessageId>`.
        match after_name.chars().next() {
            Some('>') | Some(' ') | Some('\t') | Some('\n') | Some('\r') | Some('/') => {}
            _ => {
                rest = after_name;
                continue;
            }
        }
        let Some(gt) = after_name.find('>') else {
            break;
        };
        if after_name[..gt].ends_with('/') {
            out.push("");
            rest = &after_name[gt + 1..];
            continue;
        }
        let content = &after_name[gt + 1..];
        let Some(end) = content.find(&close) else {
            break;
        };
        out.push(&content[..end]);
        rest = &content[end + close.len()..];
    }
    out
}

/// The unescaped text of the first `<tag>` element.
pub(super) fn xml_text(xml: &str, tag: &str) -> Option<String> {
    xml_elements(xml, tag).into_iter().next().map(xml_unescape)
}

/// Resolves the five predefined entities, numeric character references and CDATA sections.
pub(super) fn xml_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let next_amp = rest.find('&');
        let next_cdata = rest.find("<![CDATA[");
        match (next_amp, next_cdata) {
            (_, Some(c)) if next_amp.is_none_or(|a| c < a) => {
                out.push_str(&rest[..c]);
                let inner = &rest[c + 9..];
                let end = inner.find("]]>").unwrap_or(inner.len());
                out.push_str(&inner[..end]);
                rest = inner.get(end + 3..).unwrap_or("");
            }
            (Some(a), _) => {
                out.push_str(&rest[..a]);
                let after = &rest[a + 1..];
                let entity = after
                    .find(';')
                    .filter(|&semi| semi <= 10)
                    .map(|semi| (&after[..semi], semi));
                let decoded = entity.and_then(|(name, _)| match name {
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "amp" => Some('&'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    _ => {
                        let number = name.strip_prefix('#')?;
                        let code = match number.strip_prefix(['x', 'X']) {
                            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                            None => number.parse().ok()?,
                        };
                        char::from_u32(code)
                    }
                });
                match (decoded, entity) {
                    (Some(c), Some((_, semi))) => {
                        out.push(c);
                        rest = &after[semi + 1..];
                    }
                    _ => {
                        out.push('&');
                        rest = after;
                    }
                }
            }
            _ => {
                out.push_str(rest);
                return out;
            }
        }
    }
}
