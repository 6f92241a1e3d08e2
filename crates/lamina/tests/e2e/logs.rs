//! The CloudWatch Logs API on the Lambda port, driven by `aws-sdk-cloudwatchlogs`: a Python
//! function's logs read back with DescribeLogGroups/Streams, GetLogEvents and
//! FilterLogEvents (patterns, time bounds, paging), group and stream management, and
//! retention (signing and error shapes: `logs_wire.rs`).

use std::collections::HashSet;
use std::time::Duration;

use aws_sdk_cloudwatchlogs::types::{FilteredLogEvent, InputLogEvent, OrderBy};
use aws_sdk_lambda::primitives::Blob;
use serde_json::json;

use crate::harness::*;

const APP: &str = include_str!("../fixtures/python/app.py");

async fn print_function(client: &aws_sdk_lambda::Client, name: &str) {
    create_request(client, name, zip_of(&[("app.py", APP)]))
        .handler("app.print_lines")
        .send()
        .await
        .unwrap();
    wait_settled(client, name).await;
}

async fn print(client: &aws_sdk_lambda::Client, name: &str, lines: &[&str]) {
    let out = client
        .invoke()
        .function_name(name)
        .payload(Blob::new(json!({ "lines": lines }).to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(out.function_error(), None, "{:?}", out.payload());
}

/// Every page of a FilterLogEvents query.
async fn filter_all(
    logs: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    pattern: Option<&str>,
    start: Option<i64>,
    end: Option<i64>,
    limit: Option<i32>,
) -> Vec<FilteredLogEvent> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..1000 {
        // `interleaved` is deprecated, but `aws logs tail` still sends it: it must be accepted.
        #[allow(deprecated)]
        let page = logs
            .filter_log_events()
            .log_group_name(group)
            .set_filter_pattern(pattern.map(str::to_owned))
            .set_start_time(start)
            .set_end_time(end)
            .set_limit(limit)
            .set_next_token(token.clone())
            .interleaved(true)
            .send()
            .await
            .unwrap();
        out.extend(page.events().iter().cloned());
        match page.next_token() {
            Some(t) => token = Some(t.to_owned()),
            None => return out,
        }
    }
    panic!("FilterLogEvents never ran out of pages");
}

fn messages(events: &[FilteredLogEvent]) -> Vec<&str> {
    events.iter().filter_map(|e| e.message()).collect()
}

fn is_lambda_stream_name(name: &str) -> bool {
    // YYYY/MM/DD/[$LATEST]<32 lowercase hex>
    let bytes = name.as_bytes();
    let date_ok = name.len() == 11 + "[$LATEST]".len() + 32
        && [0, 1, 2, 3, 5, 6, 8, 9]
            .iter()
            .all(|i| bytes[*i].is_ascii_digit())
        && bytes[4] == b'/'
        && bytes[7] == b'/'
        && bytes[10] == b'/';
    let rest = &name[11..];
    date_ok
        && rest.starts_with("[$LATEST]")
        && rest["[$LATEST]".len()..]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[tokio::test]
async fn a_functions_logs_are_read_back_through_the_cloudwatch_logs_sdk() {
    let server = TestServer::start().await;
    let lambda = server.client();
    let logs = server.logs_client();
    print_function(&lambda, "logged").await;
    let lines = [
        "hello world",
        "ERROR something failed",
        r#"{"level":"ERROR","n":7,"user":{"name":"ann"}}"#,
        r#"{"level":"INFO","n":2}"#,
    ];
    print(&lambda, "logged", &lines).await;
    // Two invocations in distinct milliseconds, so a time bound can split them.
    tokio::time::sleep(Duration::from_millis(5)).await;
    print(&lambda, "logged", &lines).await;
    let group = "/aws/lambda/logged";

    // DescribeLogGroups: the group exists from the environment's first write.
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix("/aws/lambda/")
        .send()
        .await
        .unwrap();
    let g = &groups.log_groups()[0];
    assert_eq!(groups.log_groups().len(), 1);
    assert_eq!(g.log_group_name(), Some(group));
    assert!(g.creation_time().unwrap() > 1_600_000_000_000);
    assert_eq!(
        g.arn(),
        Some("arn:aws:logs:us-east-1:000000000000:log-group:/aws/lambda/logged:*")
    );
    assert_eq!(g.retention_in_days(), None);
    assert!(g.stored_bytes().unwrap() > 0);

    // DescribeLogStreams: one environment, one stream named as AWS names it.
    let streams = logs
        .describe_log_streams()
        .log_group_name(group)
        .order_by(OrderBy::LastEventTime)
        .descending(true)
        .send()
        .await
        .unwrap();
    assert_eq!(streams.log_streams().len(), 1, "{streams:?}");
    let s = &streams.log_streams()[0];
    let stream = s.log_stream_name().unwrap().to_owned();
    assert!(is_lambda_stream_name(&stream), "{stream}");
    assert!(s.first_event_timestamp().unwrap() <= s.last_event_timestamp().unwrap());
    assert!(s.creation_time().unwrap() <= s.first_event_timestamp().unwrap() + 1000);
    assert!(s.last_ingestion_time().is_some());

    // GetLogEvents from the head: platform lines and the function's output, in order.
    let page = logs
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(&stream)
        .start_from_head(true)
        .send()
        .await
        .unwrap();
    let got: Vec<&str> = page.events().iter().filter_map(|e| e.message()).collect();
    assert!(
        got[0].starts_with("INIT_START Runtime Version: "),
        "{got:?}"
    );
    let start = got
        .iter()
        .position(|m| m.starts_with("START RequestId: "))
        .unwrap();
    assert!(got[start].ends_with(" Version: $LATEST"), "{got:?}");
    let hello = got.iter().position(|m| *m == "hello world").unwrap();
    let end = got
        .iter()
        .position(|m| m.starts_with("END RequestId: "))
        .unwrap();
    let report = got
        .iter()
        .position(|m| m.starts_with("REPORT RequestId: "))
        .unwrap();
    assert!(start < hello && hello < end && end < report, "{got:?}");
    assert!(got[report].contains("\tBilled Duration: "));
    assert_eq!(got.iter().filter(|m| m.starts_with("REPORT ")).count(), 2);
    // Reading on from the forward token gives nothing new and the same token back.
    let forward = page.next_forward_token().unwrap().to_owned();
    assert!(forward.starts_with("f/"));
    assert!(page.next_backward_token().unwrap().starts_with("b/"));
    let again = logs
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(&stream)
        .next_token(&forward)
        .send()
        .await
        .unwrap();
    assert!(again.events().is_empty());
    assert_eq!(again.next_forward_token(), Some(forward.as_str()));

    // FilterLogEvents: terms, phrases, any-of and exclusion, JSON patterns.
    let errors = filter_all(&logs, group, Some("ERROR"), None, None, None).await;
    assert_eq!(errors.len(), 4, "{:?}", messages(&errors));
    assert!(messages(&errors).iter().all(|m| m.contains("ERROR")));
    let phrase = filter_all(&logs, group, Some("\"something failed\""), None, None, None).await;
    assert_eq!(messages(&phrase), ["ERROR something failed"; 2]);
    let any = filter_all(
        &logs,
        group,
        Some("?hello ?nothing -ERROR"),
        None,
        None,
        None,
    )
    .await;
    assert_eq!(messages(&any), ["hello world"; 2]);
    let json_pattern = r#"{ $.level = "ERROR" && $.n > 5 }"#;
    let json_hits = filter_all(&logs, group, Some(json_pattern), None, None, None).await;
    assert_eq!(json_hits.len(), 2);
    assert!(messages(&json_hits)[0].starts_with(r#"{"level":"ERROR""#));
    let nested = filter_all(
        &logs,
        group,
        Some(r#"{ $.user.name = "ann" }"#),
        None,
        None,
        None,
    )
    .await;
    assert_eq!(nested.len(), 2);
    let none = filter_all(
        &logs,
        group,
        Some("{ $.n < 0 || $.level = DEBUG }"),
        None,
        None,
        None,
    )
    .await;
    assert!(none.is_empty());

    // Every event, sorted by time, with stable event ids and the stream named.
    let all = filter_all(&logs, group, None, None, None, None).await;
    assert_eq!(all.len(), got.len());
    let times: Vec<i64> = all.iter().map(|e| e.timestamp().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert!(
        all.iter()
            .all(|e| e.log_stream_name() == Some(stream.as_str()))
    );
    assert!(all.iter().all(|e| e.ingestion_time().is_some()));
    let ids: Vec<&str> = all.iter().map(|e| e.event_id().unwrap()).collect();
    assert!(ids.iter().all(|id| id.len() == 56));
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());
    let again = filter_all(&logs, group, None, None, None, None).await;
    let again_ids: Vec<&str> = again.iter().map(|e| e.event_id().unwrap()).collect();
    assert_eq!(ids, again_ids, "event ids are stable");

    // Paging with a small limit yields the same events, once each, in the same order.
    let paged = filter_all(&logs, group, None, None, None, Some(3)).await;
    let paged_ids: Vec<&str> = paged.iter().map(|e| e.event_id().unwrap()).collect();
    assert_eq!(paged_ids, ids);

    // Time bounds are inclusive: up to the first REPORT is the first invocation only, and
    // starting at an event's exact timestamp includes it.
    let first_report = all
        .iter()
        .find(|e| e.message().unwrap().starts_with("REPORT "))
        .unwrap();
    let first = filter_all(
        &logs,
        group,
        Some("hello"),
        None,
        first_report.timestamp(),
        None,
    )
    .await;
    assert_eq!(first.len(), 1);
    let last_event = filter_all(&logs, group, None, Some(times[times.len() - 1]), None, None).await;
    assert_eq!(
        last_event.last().unwrap().event_id(),
        all.last().unwrap().event_id()
    );
    let hello_ts = all
        .iter()
        .filter(|e| e.message() == Some("hello world"))
        .nth(1)
        .unwrap()
        .timestamp();
    let from_second_hello = filter_all(&logs, group, Some("hello"), hello_ts, None, None).await;
    assert_eq!(messages(&from_second_hello), ["hello world"]);

    // Deleting the function keeps its logs, as AWS does.
    lambda
        .delete_function()
        .function_name("logged")
        .send()
        .await
        .unwrap();
    let groups = logs.describe_log_groups().send().await.unwrap();
    assert_eq!(groups.log_groups()[0].log_group_name(), Some(group));
    let kept = filter_all(&logs, group, Some("hello"), None, None, None).await;
    assert_eq!(kept.len(), 2);
}

fn event(timestamp: i64, message: &str) -> InputLogEvent {
    InputLogEvent::builder()
        .timestamp(timestamp)
        .message(message)
        .build()
        .unwrap()
}

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[tokio::test]
async fn log_groups_streams_and_events_are_managed_like_cloudwatch() {
    let server = TestServer::start().await;
    let logs = server.logs_client();
    for name in ["/app/two", "/app/one", "/other"] {
        logs.create_log_group()
            .log_group_name(name)
            .send()
            .await
            .unwrap();
    }
    let dup = logs
        .create_log_group()
        .log_group_name("/app/one")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&dup), "ResourceAlreadyExistsException");
    assert!(
        dup.into_service_error()
            .is_resource_already_exists_exception()
    );
    let bad = logs
        .create_log_group()
        .log_group_name("bad name")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&bad), "InvalidParameterException");

    // Paging through a prefix, one group per page.
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = logs
            .describe_log_groups()
            .log_group_name_prefix("/app/")
            .limit(1)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        names.extend(
            page.log_groups()
                .iter()
                .map(|g| g.log_group_name().unwrap().to_owned()),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(names, ["/app/one", "/app/two"]);
    let too_many = logs
        .describe_log_groups()
        .limit(51)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&too_many), "InvalidParameterException");

    // Retention: AWS's values only, shown by DescribeLogGroups, removable.
    logs.put_retention_policy()
        .log_group_name("/app/one")
        .retention_in_days(7)
        .send()
        .await
        .unwrap();
    let described = logs
        .describe_log_groups()
        .log_group_name_prefix("/app/one")
        .send()
        .await
        .unwrap();
    assert_eq!(described.log_groups()[0].retention_in_days(), Some(7));
    let invalid = logs
        .put_retention_policy()
        .log_group_name("/app/one")
        .retention_in_days(2)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&invalid), "InvalidParameterException");
    assert!(message_of(&invalid).contains("Member must satisfy enum value set: [1, 3, 5, 7,"));
    logs.delete_retention_policy()
        .log_group_name("/app/one")
        .send()
        .await
        .unwrap();
    let described = logs
        .describe_log_groups()
        .log_group_name_prefix("/app/one")
        .send()
        .await
        .unwrap();
    assert_eq!(described.log_groups()[0].retention_in_days(), None);

    // Streams and events written through the API.
    logs.create_log_stream()
        .log_group_name("/app/one")
        .log_stream_name("web-1")
        .send()
        .await
        .unwrap();
    logs.create_log_stream()
        .log_group_name("/app/one")
        .log_stream_name("web-2")
        .send()
        .await
        .unwrap();
    let dup_stream = logs
        .create_log_stream()
        .log_group_name("/app/one")
        .log_stream_name("web-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&dup_stream), "ResourceAlreadyExistsException");
    let t = now_ms() - 60_000;
    logs.put_log_events()
        .log_group_name("/app/one")
        .log_stream_name("web-1")
        .set_log_events(Some(
            (0..5)
                .map(|i| event(t + 2 * i, &format!("line {i}")))
                .collect(),
        ))
        .send()
        .await
        .unwrap();
    logs.put_log_events()
        .log_group_name("/app/one")
        .log_stream_name("web-2")
        .log_events(event(t + 3, "other stream"))
        .send()
        .await
        .unwrap();
    let unordered = logs
        .put_log_events()
        .log_group_name("/app/one")
        .log_stream_name("web-1")
        .log_events(event(t + 9, "b"))
        .log_events(event(t + 8, "a"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&unordered), "InvalidParameterException");
    let missing_stream = logs
        .put_log_events()
        .log_group_name("/app/one")
        .log_stream_name("nope")
        .log_events(event(t, "x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&missing_stream), "ResourceNotFoundException");
    assert_eq!(
        message_of(&missing_stream),
        "The specified log stream does not exist."
    );

    // GetLogEvents pages backward from the newest by default, forward from the head.
    let newest = logs
        .get_log_events()
        .log_group_name("/app/one")
        .log_stream_name("web-1")
        .limit(2)
        .send()
        .await
        .unwrap();
    let msgs: Vec<&str> = newest.events().iter().filter_map(|e| e.message()).collect();
    assert_eq!(msgs, ["line 3", "line 4"]);
    let older = logs
        .get_log_events()
        .log_group_name("/app/one")
        .log_stream_name("web-1")
        .limit(2)
        .next_token(newest.next_backward_token().unwrap())
        .send()
        .await
        .unwrap();
    let msgs: Vec<&str> = older.events().iter().filter_map(|e| e.message()).collect();
    assert_eq!(msgs, ["line 1", "line 2"]);
    let mut forward = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = logs
            .get_log_events()
            .log_group_name("/app/one")
            .log_stream_name("web-1")
            .start_from_head(true)
            .limit(2)
            .set_next_token(token.clone())
            .send()
            .await
            .unwrap();
        forward.extend(
            page.events()
                .iter()
                .map(|e| e.message().unwrap().to_owned()),
        );
        let next = page.next_forward_token().unwrap().to_owned();
        if token.as_deref() == Some(next.as_str()) {
            break;
        }
        token = Some(next);
    }
    assert_eq!(
        forward,
        (0..5).map(|i| format!("line {i}")).collect::<Vec<_>>()
    );
    let windowed = logs
        .get_log_events()
        .log_group_name("/app/one")
        .log_stream_name("web-1")
        .start_from_head(true)
        .start_time(t + 2)
        .end_time(t + 6)
        .send()
        .await
        .unwrap();
    let msgs: Vec<&str> = windowed
        .events()
        .iter()
        .filter_map(|e| e.message())
        .collect();
    assert_eq!(
        msgs,
        ["line 1", "line 2"],
        "startTime inclusive, endTime exclusive"
    );

    // DescribeLogStreams: by name, by prefix, by last event time.
    let by_name = logs
        .describe_log_streams()
        .log_group_name("/app/one")
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = by_name
        .log_streams()
        .iter()
        .filter_map(|s| s.log_stream_name())
        .collect();
    assert_eq!(names, ["web-1", "web-2"]);
    let web1 = &by_name.log_streams()[0];
    assert_eq!(web1.first_event_timestamp(), Some(t));
    assert_eq!(web1.last_event_timestamp(), Some(t + 8));
    let by_time = logs
        .describe_log_streams()
        .log_group_name("/app/one")
        .order_by(OrderBy::LastEventTime)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = by_time
        .log_streams()
        .iter()
        .filter_map(|s| s.log_stream_name())
        .collect();
    assert_eq!(names, ["web-2", "web-1"]);
    let conflicting = logs
        .describe_log_streams()
        .log_group_name("/app/one")
        .order_by(OrderBy::LastEventTime)
        .log_stream_name_prefix("web")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&conflicting), "InvalidParameterException");

    // FilterLogEvents across streams, or in named streams only.
    let merged = filter_all(&logs, "/app/one", None, None, None, None).await;
    assert_eq!(
        messages(&merged),
        [
            "line 0",
            "line 1",
            "other stream",
            "line 2",
            "line 3",
            "line 4"
        ]
    );
    let only = logs
        .filter_log_events()
        .log_group_name("/app/one")
        .log_stream_names("web-2")
        .send()
        .await
        .unwrap();
    assert_eq!(only.events().len(), 1);
    assert_eq!(only.searched_log_streams().len(), 1);

    // A missing group everywhere is ResourceNotFoundException with AWS's message.
    logs.delete_log_group()
        .log_group_name("/app/one")
        .send()
        .await
        .unwrap();
    let gone = logs
        .get_log_events()
        .log_group_name("/app/one")
        .log_stream_name("web-1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&gone), "ResourceNotFoundException");
    assert_eq!(message_of(&gone), "The specified log group does not exist.");
    assert!(gone.into_service_error().is_resource_not_found_exception());
    let again = logs
        .delete_log_group()
        .log_group_name("/app/one")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&again), "ResourceNotFoundException");
    let filter_gone = logs
        .filter_log_events()
        .log_group_name("/app/one")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&filter_gone), "ResourceNotFoundException");
    let groups = logs.describe_log_groups().send().await.unwrap();
    let names: Vec<&str> = groups
        .log_groups()
        .iter()
        .filter_map(|g| g.log_group_name())
        .collect();
    assert_eq!(names, ["/app/two", "/other"]);
}

#[tokio::test]
async fn retention_deletes_expired_streams_when_the_server_sweeps() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("data");
    let mut server = TestServer::start_in(&data, &[]);
    let logs = server.logs_client();
    let group = "/retained";
    logs.create_log_group()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    for stream in ["old", "new"] {
        logs.create_log_stream()
            .log_group_name(group)
            .log_stream_name(stream)
            .send()
            .await
            .unwrap();
    }
    let day = 86_400_000;
    let now = now_ms();
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name("old")
        .log_events(event(now - 3 * day, "three days ago"))
        .send()
        .await
        .unwrap();
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name("new")
        .log_events(event(now, "just now"))
        .send()
        .await
        .unwrap();
    logs.put_retention_policy()
        .log_group_name(group)
        .retention_in_days(1)
        .send()
        .await
        .unwrap();
    // Events already past the retention are refused from now on, by index.
    let refused = logs
        .put_log_events()
        .log_group_name(group)
        .log_stream_name("new")
        .log_events(event(now - 2 * day, "too old for the group"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused
            .rejected_log_events_info()
            .and_then(|r| r.expired_log_event_end_index()),
        Some(0)
    );

    // The sweep runs when the server starts (and hourly): the stream whose newest event is
    // three days old goes; the group, its retention and the fresh stream stay.
    server.stop();
    let server = TestServer::start_in(&data, &[]);
    let logs = server.logs_client();
    let streams = logs
        .describe_log_streams()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = streams
        .log_streams()
        .iter()
        .filter_map(|s| s.log_stream_name())
        .collect();
    assert_eq!(names, ["new"]);
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(group)
        .send()
        .await
        .unwrap();
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(1));
    let remaining = filter_all(&logs, group, None, None, None, None).await;
    assert_eq!(messages(&remaining), ["just now"]);
}
