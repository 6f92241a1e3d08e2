"""Async invocation delivering to an SQS-compatible queue: `OnFailure`/`OnSuccess` destinations
and the function's dead-letter queue, against a real moto_server started by the test."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from conftest import ACCOUNT_ID, REGION, create_kwargs, make_zip, unique_name, wait_active

MOTO_ACCOUNT = "123456789012"  # moto serves every key as this account

FAILING = "def handler(event, context):\n    raise RuntimeError('no luck')\n"
OK = "def handler(event, context):\n    return {'seen': event}\n"


@pytest.fixture
def moto():
    exe = os.environ.get("MOTO_SERVER") or shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))
    if not Path(exe).exists():
        pytest.fail("moto_server is missing: scripts/test installs it into .venv (tests/python/requirements.txt)")
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", "0"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 30
        url = None
        while url is None:
            line = proc.stderr.readline()
            assert line or proc.poll() is None, "moto_server exited"
            m = re.search(r"Running on (http://127\.0\.0\.1:\d+)", line)
            if m:
                url = m.group(1)
            assert time.monotonic() < deadline, "moto_server did not start"
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def sqs_client(url):
    return boto3.client("sqs", endpoint_url=url, region_name=REGION, aws_access_key_id="lamina", aws_secret_access_key="lamina")


def receive(sqs, queue_url, deadline_s=60.0):
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=1, WaitTimeSeconds=1, MessageAttributeNames=["All"])
        if got.get("Messages"):
            return got["Messages"][0]
    pytest.fail(f"no message arrived on {queue_url}")


def test_failed_events_reach_the_sqs_failure_destination_and_the_dead_letter_queue(server_factory, tmp_path, moto):
    config = tmp_path / "lamina.toml"
    config.write_text(f'[async_invoke]\nsqs_endpoint = "{moto}"\n[async_invoke.retry]\nretry_delay_ms = 50\n')
    server = server_factory(extra_args=["--config", str(config)])
    lam = server.lambda_client()
    sqs = sqs_client(moto)
    failures = sqs.create_queue(QueueName="failures")["QueueUrl"]
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    name = unique_name("fails")
    lam.create_function(**create_kwargs(
        name, make_zip({"index.py": FAILING}),
        DeadLetterConfig={"TargetArn": f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT}:dlq"},
    ))
    wait_active(lam, name)
    lam.put_function_event_invoke_config(
        FunctionName=name, MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT}:failures"}},
    )
    out = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"order": 17}')
    assert out["StatusCode"] == 202
    request_id = out["ResponseMetadata"]["RequestId"]

    record = json.loads(receive(sqs, failures)["Body"])
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["functionArn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}:$LATEST"
    assert record["requestPayload"] == {"order": 17}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "RuntimeError"

    dead = receive(sqs, dlq)
    assert json.loads(dead["Body"]) == {"order": 17}, "the DLQ gets the original event"
    attrs = dead["MessageAttributes"]
    assert attrs["RequestID"]["StringValue"] == request_id
    assert attrs["ErrorCode"]["DataType"] == "Number"
    assert "no luck" in attrs["ErrorMessage"]["StringValue"]


def test_success_records_reach_the_sqs_success_destination(server_factory, tmp_path, moto):
    config = tmp_path / "lamina.toml"
    config.write_text(f'[async_invoke]\nsqs_endpoint = "{moto}"\n')
    server = server_factory(extra_args=["--config", str(config)])
    lam = server.lambda_client()
    sqs = sqs_client(moto)
    done = sqs.create_queue(QueueName="done")["QueueUrl"]
    name = unique_name("ok")
    lam.create_function(**create_kwargs(name, make_zip({"index.py": OK})))
    wait_active(lam, name)
    lam.put_function_event_invoke_config(
        FunctionName=name,
        DestinationConfig={"OnSuccess": {"Destination": f"arn:aws:sqs:{REGION}:{MOTO_ACCOUNT}:done"}},
    )
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"hello": "queue"}')
    record = json.loads(receive(sqs, done)["Body"])
    assert record["requestContext"]["condition"] == "Success"
    assert record["responsePayload"] == {"seen": {"hello": "queue"}}
    assert "functionError" not in record["responseContext"]
