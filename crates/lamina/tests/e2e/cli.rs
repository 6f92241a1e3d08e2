//! The terminal commands (`lamina invoke`, `logs`, `functions`, `usage`, `audit`, `top`) run
//! as a person would run them: the real binary, configured only through the AWS_* variables,
//! against a running server.

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use aws_sdk_lambda::primitives::Blob;
use serde_json::{Value, json};

use crate::harness::*;

const APP: &str = include_str!("../fixtures/python/app.py");

/// `lamina ARGS` configured for `server` through the environment, as with the AWS CLI.
fn command(server: &TestServer, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_lamina"));
    c.args(args)
        .env("AWS_ENDPOINT_URL", &server.endpoint)
        .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_REGION", "us-east-1")
        .env("LAMINA_LOG", "warn")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_ENDPOINT_URL_LAMBDA")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("COLUMNS")
        .stdin(Stdio::null());
    c
}

fn lamina(server: &TestServer, args: &[&str]) -> Output {
    command(server, args).output().expect("lamina runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs and expects success; returns stdout.
fn ok(server: &TestServer, args: &[&str]) -> String {
    let o = lamina(server, args);
    assert!(
        o.status.success(),
        "lamina {args:?} failed ({}): {}{}",
        o.status,
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

fn ok_json(server: &TestServer, args: &[&str]) -> Value {
    let out = ok(server, args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("lamina {args:?}: {e}: {out}"))
}

async fn python_function(client: &aws_sdk_lambda::Client, name: &str, handler: &str) {
    create_request(client, name, zip_of(&[("app.py", APP)]))
        .handler(format!("app.{handler}"))
        .memory_size(256)
        .send()
        .await
        .unwrap();
    wait_settled(client, name).await;
}

async fn sdk_invoke(client: &aws_sdk_lambda::Client, name: &str, payload: Value) {
    client
        .invoke()
        .function_name(name)
        .payload(Blob::new(payload.to_string()))
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn cli_commands_show_functions_invocations_usage_audit_metrics_and_logs() {
    let server = TestServer::start().await;
    let client = server.client();
    python_function(&client, "cli-echo", "echo").await;
    python_function(&client, "cli-fail", "fail").await;
    for n in 0..3 {
        sdk_invoke(&client, "cli-echo", json!({ "sdk": n })).await;
    }

    // invoke: the response, pretty and in the function's key order.
    let out = ok(
        &server,
        &["invoke", "cli-echo", "--payload", r#"{"hello":"cli"}"#],
    );
    assert!(
        out.starts_with("{\n  \"event\": {\n    \"hello\": \"cli\"\n  },\n  \"count\": "),
        "{out}"
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["function_name"], "cli-echo");

    // invoke --payload @file --tail: the log tail on stderr, the response on stdout.
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, r#"{"from": "file"}"#).unwrap();
    let o = lamina(
        &server,
        &[
            "invoke",
            "cli-echo",
            "--payload",
            &format!("@{}", event.display()),
            "--tail",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["event"], json!({"from": "file"}));
    let tail = stderr(&o);
    assert!(tail.contains("START RequestId: "), "{tail}");
    assert!(tail.contains(r#"echo {"from": "file"}"#), "{tail}");
    assert!(tail.contains("REPORT RequestId: "), "{tail}");

    // invoke --qualifier
    let v: Value = serde_json::from_str(&ok(
        &server,
        &["invoke", "cli-echo", "--qualifier", "$LATEST", "-p", "[1]"],
    ))
    .unwrap();
    assert_eq!(v["event"], json!([1]));

    // A function error: non-zero exit, the error on stderr.
    let o = lamina(&server, &["invoke", "cli-fail"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("function error (Unhandled): ValueError: something went wrong"),
        "{}",
        stderr(&o)
    );
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));

    // An unknown function: the service's error, non-zero.
    let o = lamina(&server, &["invoke", "no-such-function"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("ResourceNotFoundException"),
        "{}",
        stderr(&o)
    );

    // functions --output json
    let functions = ok_json(&server, &["functions", "--output", "json"]);
    let list = functions["Functions"].as_array().unwrap();
    let names: Vec<&str> = list
        .iter()
        .map(|f| f["FunctionName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cli-echo", "cli-fail"], "{functions:#}");
    for f in list {
        assert_eq!(f["Runtime"], "python3.12");
        assert_eq!(f["MemorySize"], 256);
        assert_eq!(f["Timeout"], 3);
        assert_eq!(f["State"], "Active");
        assert!(f["LastModified"].as_str().is_some());
    }

    // functions: a table with both names, and cut to fit a narrow terminal.
    let table = ok(&server, &["functions"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{table}");
    for header in ["RUNTIME", "MEMORY", "TIMEOUT", "LAST MODIFIED", "STATE"] {
        assert!(lines[0].contains(header), "{table}");
    }
    assert!(
        lines.iter().any(|l| l.starts_with("cli-echo ")
            && l.contains("python3.12")
            && l.contains("Active")),
        "{table}"
    );
    assert!(lines.iter().any(|l| l.starts_with("cli-fail ")), "{table}");
    let narrow = command(&server, &["functions"])
        .env("COLUMNS", "50")
        .output()
        .unwrap();
    let narrow = stdout(&narrow);
    assert!(narrow.lines().all(|l| l.chars().count() <= 50), "{narrow}");
    assert!(narrow.contains('…'), "{narrow}");

    // usage: the requests counted per function (3 SDK + 3 CLI invokes, 1 failed one).
    let usage = ok_json(&server, &["usage", "--output", "json"]);
    let requests = |name: &str| -> u64 {
        usage["Usage"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["FunctionName"] == name)
            .map(|r| r["Requests"].as_u64().unwrap())
            .sum()
    };
    assert_eq!(requests("cli-echo"), 6, "{usage:#}");
    assert_eq!(requests("cli-fail"), 1, "{usage:#}");
    assert_eq!(usage["Total"]["Requests"], 7, "{usage:#}");
    for row in usage["Usage"].as_array().unwrap() {
        assert_eq!(row["MemorySize"], 256);
        assert!(row["GBSeconds"].as_f64().unwrap() > 0.0, "{row}");
    }
    let since_week = ok_json(&server, &["usage", "--since", "7d", "--output", "json"]);
    assert_eq!(since_week["Total"]["Requests"], 7);
    let future = ok_json(&server, &["usage", "--since", "2999-01-01", "-o", "json"]);
    assert_eq!(future["Total"]["Requests"], 0);
    let text = ok(&server, &["usage"]);
    assert!(text.starts_with("DATE"), "{text}");
    assert!(text.contains("cli-echo"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("TOTAL") && l.contains(" 7 ")),
        "{text}"
    );
    let o = lamina(&server, &["usage", "--since", "yesterday"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--since"), "{}", stderr(&o));

    // audit: the two CreateFunction calls, newest first.
    let audit = ok_json(&server, &["audit", "--output", "json"]);
    let entries = audit["Entries"].as_array().unwrap();
    let creates: Vec<&str> = entries
        .iter()
        .filter(|e| e["Operation"] == "CreateFunction")
        .map(|e| e["Resource"].as_str().unwrap())
        .collect();
    assert_eq!(
        creates,
        [
            "arn:aws:lambda:us-east-1:000000000000:function:cli-fail",
            "arn:aws:lambda:us-east-1:000000000000:function:cli-echo",
        ],
        "{audit:#}"
    );
    let times: Vec<time::OffsetDateTime> = entries
        .iter()
        .map(|e| {
            time::OffsetDateTime::parse(
                e["Time"].as_str().unwrap(),
                &time::format_description::well_known::Rfc3339,
            )
            .unwrap()
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{audit:#}");
    let one = ok_json(&server, &["audit", "--limit", "1", "-o", "json"]);
    assert_eq!(one["Entries"].as_array().unwrap().len(), 1);
    let text = ok(&server, &["audit"]);
    assert!(text.starts_with("TIME"), "{text}");
    assert!(text.contains("CreateFunction"), "{text}");

    // top --once: per-function counters from /metrics.
    let top = ok_json(
        &server,
        &["top", "--once", "--interval", "0.2", "-o", "json"],
    );
    let echo = top["Functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["FunctionName"] == "cli-echo")
        .unwrap_or_else(|| panic!("{top:#}"));
    assert_eq!(echo["Invocations"], 6.0, "{top:#}");
    let fail = top["Functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["FunctionName"] == "cli-fail")
        .unwrap();
    assert_eq!(fail["Errors"], 1.0, "{top:#}");
    assert!(
        top["Environments"]["Live"].as_u64().unwrap() >= 1,
        "{top:#}"
    );
    assert_eq!(top["AsyncQueue"]["Depth"], 0, "{top:#}");
    let text = ok(&server, &["top", "--once", "--interval", "0.2"]);
    assert!(text.contains("environments: "), "{text}");
    assert!(text.contains("FUNCTION"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("cli-echo ") && l.trim_end().ends_with(" 0")),
        "{text}"
    );

    // logs: the function's own lines and the platform's, through FilterLogEvents.
    let logs = ok(&server, &["logs", "cli-echo", "--since", "10m"]);
    assert!(logs.contains(r#"echo {"hello": "cli"}"#), "{logs}");
    assert!(logs.contains(r#"echo {"sdk": 0}"#), "{logs}");
    assert!(logs.contains("START RequestId: "), "{logs}");
    let filtered = ok(
        &server,
        &["logs", "cli-echo", "--since", "10m", "--filter", "REPORT"],
    );
    let lines: Vec<&str> = filtered.lines().collect();
    assert_eq!(lines.len(), 6, "{filtered}");
    assert!(
        lines.iter().all(|l| l.contains("REPORT RequestId: ")),
        "{filtered}"
    );
    let json_lines = ok(
        &server,
        &[
            "logs", "cli-echo", "--filter", "\"sdk\"", "--output", "json",
        ],
    );
    let events: Vec<Value> = json_lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events.len(), 3, "{json_lines}");
    assert!(events[0]["message"].as_str().unwrap().starts_with("echo "));
    assert!(events[0]["eventId"].as_str().is_some());
    let nothing = ok(
        &server,
        &["logs", "cli-echo", "--since", "2999-01-01T00:00:00Z"],
    );
    assert!(nothing.is_empty(), "{nothing}");
    let o = lamina(&server, &["logs", "never-invoked"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("no log group"), "{}", stderr(&o));

    // Latency and rates measured while invocations run (until the one frame is printed).
    let mut child = command(
        &server,
        &["top", "--once", "--interval", "2", "--output", "json"],
    )
    .stdout(Stdio::piped())
    .spawn()
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut n = 0;
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "lamina top --once never finished"
        );
        sdk_invoke(&client, "cli-echo", json!({ "during": n })).await;
        n += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let top: Value = serde_json::from_slice(&o.stdout).unwrap();
    let echo = top["Functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["FunctionName"] == "cli-echo")
        .unwrap();
    assert!(
        echo["InvocationsPerSecond"].as_f64().unwrap() > 0.0,
        "{top:#}"
    );
    assert!(echo["P50Ms"].as_f64().unwrap() > 0.0, "{top:#}");
    assert!(echo["P99Ms"].as_f64().unwrap() >= echo["P50Ms"].as_f64().unwrap());
}

#[tokio::test]
async fn cli_logs_follow_prints_new_events_once() {
    let server = TestServer::start().await;
    let client = server.client();
    create_request(&client, "cli-follow", zip_of(&[("app.py", APP)]))
        .handler("app.numbered")
        .send()
        .await
        .unwrap();
    wait_settled(&client, "cli-follow").await;
    sdk_invoke(&client, "cli-follow", json!({"n": 0})).await;

    let mut child = command(
        &server,
        &[
            "logs",
            "cli-follow",
            "--follow",
            "--filter",
            "EVENT",
            "--output",
            "json",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut seen: Vec<Value> = Vec::new();
    let wait_for = |count: usize, seen: &mut Vec<Value>| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while seen.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => seen.push(serde_json::from_str(&line).unwrap()),
                Err(_) => panic!("only {} events after 20 s: {seen:#?}", seen.len()),
            }
        }
    };
    wait_for(1, &mut seen);
    for n in 1..=3 {
        sdk_invoke(&client, "cli-follow", json!({ "n": n })).await;
    }
    wait_for(4, &mut seen);
    // Several more polls: nothing is printed twice.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    while let Ok(line) = rx.try_recv() {
        seen.push(serde_json::from_str(&line).unwrap());
    }
    let _ = child.kill();
    let _ = child.wait();

    let messages: Vec<&str> = seen
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["EVENT 0", "EVENT 1", "EVENT 2", "EVENT 3"]);
    let ids: HashSet<&str> = seen
        .iter()
        .map(|e| e["eventId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 4);
}

#[tokio::test]
async fn cli_reports_bad_credentials_and_unreachable_servers() {
    let server = TestServer::start().await;

    let o = command(&server, &["functions"])
        .env("AWS_SECRET_ACCESS_KEY", "wrong-secret")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("InvalidSignatureException")
            || stderr(&o).contains("SignatureDoesNotMatch"),
        "{}",
        stderr(&o)
    );
    let o = command(&server, &["audit"])
        .env("AWS_SECRET_ACCESS_KEY", "wrong-secret")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).starts_with("lamina: GET /_lamina/admin/audit: "),
        "{}",
        stderr(&o)
    );

    // --endpoint-url wins over AWS_ENDPOINT_URL.
    let o = command(&server, &["usage", "--endpoint-url", "http://127.0.0.1:1"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("127.0.0.1:1"), "{}", stderr(&o));

    // --region is what is signed: the server refuses another region's scope.
    let o = lamina(&server, &["functions", "--region", "eu-west-1"]);
    assert!(!o.status.success(), "{}", stdout(&o));

    // No functions yet: an empty list, and a note on stderr for people.
    let empty = ok_json(&server, &["functions", "-o", "json"]);
    assert_eq!(empty["Functions"], json!([]));
    let o = lamina(&server, &["functions"]);
    assert!(o.status.success());
    assert!(stdout(&o).is_empty());
    assert!(stderr(&o).contains("no functions"));
}
