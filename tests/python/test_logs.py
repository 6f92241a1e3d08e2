"""CloudWatch Logs on the Lambda port, through boto3's `logs` client and the AWS CLI.

A Python function's output is read back with DescribeLogGroups, DescribeLogStreams,
GetLogEvents and FilterLogEvents (boto3 paginators included), and with
`aws logs filter-log-events`.

`aws logs tail` exists only in AWS CLI v2, which is not on PyPI: scripts/test installs Debian's
package of it into .venv-cliv2 (scripts/aws_cli_v2.py) and passes its path in
LAMINA_AWS_CLI_V2; the `tail` tests run that real CLI, `--follow` included.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import threading
import time
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCOUNT_ID, REGION, aws_cli_binary, create_active, error_of, make_zip, unique_name

PRINTER = """
import json


def handler(event, context):
    for line in event["lines"]:
        print(line)
    return {"printed": len(event["lines"])}
"""

LINES = [
    "hello world",
    "ERROR something failed",
    json.dumps({"level": "ERROR", "n": 7}),
    json.dumps({"level": "INFO", "n": 2}),
]

STREAM_RE = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")


def logs_client(server):
    session = boto3.session.Session(
        aws_access_key_id=server.access_key_id,
        aws_secret_access_key=server.secret_access_key,
        region_name=server.region,
    )
    client = session.client(
        "logs",
        endpoint_url=server.endpoint,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}, read_timeout=60),
    )
    server._clients.append(client)
    return client


def now_ms() -> int:
    return int(time.time() * 1000)


@pytest.fixture
def logged(server, lambda_client) -> str:
    """A function that printed LINES twice (two invocations, one environment)."""
    name = unique_name("logs")
    create_active(lambda_client, name, make_zip({"index.py": PRINTER}))
    for _ in range(2):
        out = lambda_client.invoke(FunctionName=name, Payload=json.dumps({"lines": LINES}))
        assert "FunctionError" not in out, out["Payload"].read()
    return name


def filter_everything(logs, **kwargs: Any) -> list[dict]:
    pages = logs.get_paginator("filter_log_events").paginate(**kwargs)
    return [e for page in pages for e in page["events"]]


def test_boto3_reads_a_functions_logs(server, logged):
    logs = logs_client(server)
    group = f"/aws/lambda/{logged}"

    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == [group]
    assert groups[0]["arn"] == f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{group}:*"
    assert groups[0]["creationTime"] > 1_600_000_000_000

    streams = logs.describe_log_streams(logGroupName=group, orderBy="LastEventTime", descending=True)
    assert len(streams["logStreams"]) == 1
    stream = streams["logStreams"][0]["logStreamName"]
    assert STREAM_RE.match(stream), stream

    events = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)
    messages = [e["message"] for e in events["events"]]
    assert messages[0].startswith("INIT_START ")
    assert sum(m.startswith("START RequestId: ") for m in messages) == 2
    assert sum(m.startswith("END RequestId: ") for m in messages) == 2
    assert sum(m.startswith("REPORT RequestId: ") for m in messages) == 2
    assert messages.count("hello world") == 2
    again = logs.get_log_events(logGroupName=group, logStreamName=stream, nextToken=events["nextForwardToken"])
    assert again["events"] == []
    assert again["nextForwardToken"] == events["nextForwardToken"]

    errors = filter_everything(logs, logGroupName=group, filterPattern="ERROR")
    assert len(errors) == 4 and all("ERROR" in e["message"] for e in errors)
    json_hits = filter_everything(logs, logGroupName=group, filterPattern='{ $.level = "ERROR" && $.n > 5 }')
    assert [json.loads(e["message"]) for e in json_hits] == [{"level": "ERROR", "n": 7}] * 2
    phrase = filter_everything(logs, logGroupName=group, filterPattern='"something failed" -INFO')
    assert [e["message"] for e in phrase] == ["ERROR something failed"] * 2

    everything = filter_everything(logs, logGroupName=group)
    small_pages = filter_everything(logs, logGroupName=group, PaginationConfig={"PageSize": 3})
    assert [e["eventId"] for e in small_pages] == [e["eventId"] for e in everything]
    assert len({e["eventId"] for e in everything}) == len(everything) == len(messages)
    stamps = [e["timestamp"] for e in everything]
    assert stamps == sorted(stamps)
    assert all(e["logStreamName"] == stream and "ingestionTime" in e for e in everything)


APACHE_LINES = [
    '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534',
    '127.0.0.1 - frank [10/Oct/2000:13:35:22 -0700] "GET /apache_pb.gif HTTP/1.0" 500 5324',
    '127.0.0.1 - frank [10/Oct/2000:13:50:35 -0700] "GET /apache_pb.gif HTTP/1.0" 200 4355',
    '10.0.0.7 - bob [10/Oct/2000:14:02:11 -0700] "POST /login.html HTTP/1.0" 403 99',
    # Eight fields: never matched by a seven-field pattern without `...`.
    '127.0.0.1 - frank [10/Oct/2000:14:05:00 -0700] "GET /index.html HTTP/1.0" 404 1534 extra',
]


def test_space_delimited_filter_patterns(server, lambda_client):
    name = unique_name("apache")
    create_active(lambda_client, name, make_zip({"index.py": PRINTER}))
    out = lambda_client.invoke(FunctionName=name, Payload=json.dumps({"lines": APACHE_LINES}))
    assert "FunctionError" not in out, out["Payload"].read()
    logs = logs_client(server)
    group = f"/aws/lambda/{name}"

    def selected(pattern: str) -> list[int | str]:
        events = filter_everything(logs, logGroupName=group, filterPattern=pattern)
        return [APACHE_LINES.index(e["message"]) if e["message"] in APACHE_LINES else e["message"] for e in events]

    # The platform's START/END/REPORT lines are in the group too; no pattern here picks them.
    assert selected("[ip, user, username, timestamp, request = *.html*, status_code = 4*, bytes]") == [0, 3]
    assert selected("[..., status_code = 4* || status_code = 5*, bytes > 1000]") == [0, 1]
    neither = "[ip, user, username, timestamp, request, status_code != 200 && status_code != 404, bytes]"
    assert selected(neither) == [1, 3]
    assert selected(r'[ip = %^127\.0\.0\.[1-9]$%, user, username = frank, ..., bytes = 1534, extra]') == [4]
    assert selected('[..., request = "GET /apache_pb.gif HTTP/1.0", status_code, bytes < 5000]') == [2]

    for bad in ["[ip, user", "[status_code = 4* && bytes > 1000]", "[bytes > big]"]:
        with pytest.raises(logs.exceptions.InvalidParameterException) as e:
            logs.filter_log_events(logGroupName=group, filterPattern=bad)
        assert error_of(e)[0] == 400 and error_of(e)[2].startswith("Invalid filter pattern"), error_of(e)


def test_logs_errors_are_modeled_boto3_exceptions(server):
    logs = logs_client(server)
    with pytest.raises(logs.exceptions.ResourceNotFoundException) as e:
        logs.get_log_events(logGroupName="/aws/lambda/missing", logStreamName="s")
    assert error_of(e) == (400, "ResourceNotFoundException", "The specified log group does not exist.")

    logs.create_log_group(logGroupName="/app/py")
    with pytest.raises(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName="/app/py")
    with pytest.raises(logs.exceptions.InvalidParameterException) as e:
        logs.put_retention_policy(logGroupName="/app/py", retentionInDays=2)
    assert "Member must satisfy enum value set: [1, 3, 5, 7, 14" in error_of(e)[2]
    logs.put_retention_policy(logGroupName="/app/py", retentionInDays=30)
    assert logs.describe_log_groups(logGroupNamePrefix="/app/")["logGroups"][0]["retentionInDays"] == 30
    logs.delete_log_group(logGroupName="/app/py")
    with pytest.raises(ClientError) as e:
        logs.delete_log_group(logGroupName="/app/py")
    assert error_of(e)[1] == "ResourceNotFoundException"


def test_aws_cli_filter_log_events(server, logged):
    group = f"/aws/lambda/{logged}"
    start = str(now_ms() - 10 * 60 * 1000)
    out = server.aws_cli(
        "logs", "filter-log-events", "--log-group-name", group, "--start-time", start, "--filter-pattern", "ERROR"
    )
    assert len(out["events"]) == 4
    assert all("ERROR" in e["message"] for e in out["events"])
    assert all(len(e["eventId"]) == 56 for e in out["events"])

    # The CLI pages by itself: a page size of 2 still returns every event, once each.
    everything = server.aws_cli("logs", "filter-log-events", "--log-group-name", group, "--page-size", "2")
    ids = [e["eventId"] for e in everything["events"]]
    assert len(ids) == len(set(ids)) > 10
    assert "nextToken" not in everything

    future = str(now_ms() + 3_600_000)
    nothing = server.aws_cli("logs", "filter-log-events", "--log-group-name", group, "--start-time", future)
    assert nothing["events"] == []


def aws_cli_v2() -> str:
    """AWS CLI v2's `aws` (`aws logs tail` is v2 only; scripts/test installs it)."""
    path = os.environ.get("LAMINA_AWS_CLI_V2")
    if not path:
        pytest.skip("AWS CLI v2 is not installed (scripts/test installs it: scripts/aws_cli_v2.py)")
    return path


def test_aws_logs_tail_since_10m(server, logged):
    proc = subprocess.run(
        [aws_cli_v2(), "logs", "tail", f"/aws/lambda/{logged}", "--since", "10m", "--format", "short"],
        env=server.cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("hello world") == 2
    assert proc.stdout.count("START RequestId:") == 2


def test_aws_logs_tail_follow_prints_events_as_they_come(server, lambda_client, logged):
    follower = subprocess.Popen(
        [aws_cli_v2(), "logs", "tail", f"/aws/lambda/{logged}", "--follow", "--since", "10m", "--format", "short"],
        # Python buffers a pipe: without this the lines would come only at exit.
        env=server.cli_env(PYTHONUNBUFFERED="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in follower.stdout], daemon=True)
    reader.start()

    def read_until(text: str, within_s: float) -> list[str]:
        seen, deadline = [], time.monotonic() + within_s
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(line)
            if text in line:
                return seen
        raise AssertionError("no %r from `aws logs tail --follow` in %ss; got %r" % (text, within_s, seen))

    try:
        # The history first, then what is logged while it follows (it polls every 5 s).
        read_until("hello world", 60)
        marker = "followed-" + unique_name("m")
        out = lambda_client.invoke(FunctionName=logged, Payload=json.dumps({"lines": [marker]}))
        assert "FunctionError" not in out, out["Payload"].read()
        after = read_until(marker, 60)
        after += read_until("REPORT RequestId:", 30)
        assert sum(marker in line for line in after) == 1
        order = [k for line in after for k in ("START RequestId:", marker, "END RequestId:") if k in line]
        assert order[-3:] == ["START RequestId:", marker, "END RequestId:"], after
    finally:
        follower.terminate()
        follower.wait(timeout=30)
