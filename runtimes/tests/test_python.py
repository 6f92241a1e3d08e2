"""Python shim: runtimes/python/bootstrap.py against the mock Runtime API."""

import json
import re
import time

APP = """
import logging, os, decimal, collections
counter = {"n": 0}

def handler(event, context):
    counter["n"] += 1
    return {"event": event, "count": counter["n"]}

def none(event, context):
    return None

def boom(event, context):
    raise ValueError("bad value: %s" % event.get("x"))

def ctx(event, context):
    r1 = context.get_remaining_time_in_millis()
    import time; time.sleep(0.05)
    r2 = context.get_remaining_time_in_millis()
    return {
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "r1": r1, "r2": r2,
        "identity": [context.identity.cognito_identity_id, context.identity.cognito_identity_pool_id],
        "client_context": None if context.client_context is None else {
            "custom": context.client_context.custom,
            "installation_id": context.client_context.client.installation_id},
        "trace": os.environ.get("_X_AMZN_TRACE_ID"),
        "cwd": os.getcwd(),
    }

def logs(event, context):
    print("hello from print")
    logging.getLogger().warning("warned %s", 42)
    logging.getLogger().info("not shown at default level")
    return "ok"

def unicode(event, context):
    return {"msg": "h\u00e9llo \u2603"}

def decimals(event, context):
    return {"d": decimal.Decimal("1.10"), "i": decimal.Decimal("10"), "n": decimal.Decimal("NaN"),
            "f": 1.5, "nt": collections.namedtuple("P", "x y")(1, 2)}

def unserializable(event, context):
    return {"s": {1, 2}}

def raw_bytes(event, context):
    return b"\\x00\\x01raw"
"""


def test_result_and_state_kept(py):
    p = py({"app.py": APP}, "app.handler")
    r1 = p.invoke({"a": 1})
    assert r1.kind == "response"
    assert r1.json == {"event": {"a": 1}, "count": 1}
    assert r1.headers["content-type"] == "application/json"
    r2 = p.invoke([1, "two"])
    assert r2.json == {"event": [1, "two"], "count": 2}  # module state survives


def test_none_is_null(py):
    p = py({"app.py": APP}, "app.none")
    assert p.invoke({}).body == b"null"


def test_error_shape(py):
    p = py({"app.py": APP}, "app.boom")
    rec = p.invoke({"x": 7})
    assert rec.kind == "error"
    body = rec.json
    assert list(body) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert body["errorMessage"] == "bad value: 7"
    assert body["errorType"] == "ValueError"
    assert body["requestId"] == rec.request_id
    assert len(body["stackTrace"]) == 1
    assert re.fullmatch(
        r'  File "[^"]*/app\.py", line 12, in boom\n    raise ValueError\("bad value: %s" % event.get\("x"\)\)\n',
        body["stackTrace"][0],
    ), body["stackTrace"]
    # awslambdaric sends no error-type header on /invocation/error
    assert "lambda-runtime-function-error-type" not in rec.headers
    # the error is logged as one event: lines joined with \r, NBSP indentation
    assert p.wait_for_output("[ERROR] ValueError: bad value: 7\rTraceback (most recent call last):\r\u00a0\u00a0File")
    # the process survives handler errors
    p2 = p.invoke({"x": 8})
    assert p2.json["errorMessage"] == "bad value: 8"


def test_context_values(py):
    p = py({"app.py": APP}, "app.ctx")
    rec = p.invoke({}, timeout_ms=5000, extra={
        "Lambda-Runtime-Trace-Id": "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1",
        "Lambda-Runtime-Cognito-Identity": '{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}',
        "Lambda-Runtime-Client-Context": '{"custom":{"k":"v"},"env":{},"client":{"installation_id":"inst"}}',
    })
    c = rec.json
    assert c["function_name"] == "test-fn"
    assert c["function_version"] == "$LATEST"
    assert c["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:test-fn"
    assert c["memory_limit_in_mb"] == 256
    assert c["aws_request_id"] == rec.request_id
    assert c["log_group_name"] == "/aws/lambda/test-fn"
    assert c["log_stream_name"].startswith("2024/01/01/[$LATEST]")
    assert 0 < c["r2"] < c["r1"] <= 5000
    assert c["identity"] == ["id-1", "pool-1"]
    assert c["client_context"] == {"custom": {"k": "v"}, "installation_id": "inst"}
    assert c["trace"].startswith("Root=1-5bef4de7")
    # trace env var is removed when the next invoke has no trace header
    rec2 = p.invoke({})
    assert rec2.json["trace"] is None
    assert rec2.json["identity"] == [None, None]
    assert rec2.json["client_context"] is None


def test_log_format(py):
    p = py({"app.py": APP}, "app.logs")
    rec = p.invoke({})
    assert rec.json == "ok"
    assert p.wait_for_output("warned 42")
    out = p.stdout
    assert "hello from print\n" in out
    m = re.search(r"^\[WARNING\]\t(\S+)\t(\S+)\twarned 42$", out, re.M)
    assert m, out
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", m.group(1))
    assert m.group(2) == rec.request_id
    assert "not shown at default level" not in out


def test_unicode_not_escaped(py):
    p = py({"app.py": APP}, "app.unicode")
    assert p.invoke({}).body.decode("utf-8") == '{"msg": "h\u00e9llo \u2603"}'


def test_unicode_escaped_for_old_runtime(py):
    p = py({"app.py": APP}, "app.unicode", env={"AWS_EXECUTION_ENV": "AWS_Lambda_python3.11"})
    assert p.invoke({}).body == b'{"msg": "h\\u00e9llo \\u2603"}'


def test_decimal_and_namedtuple(py):
    p = py({"app.py": APP}, "app.decimals")
    assert p.invoke({}).body == b'{"d": 1.10, "i": 10, "n": NaN, "f": 1.5, "nt": {"x": 1, "y": 2}}'


def test_marshal_error(py):
    p = py({"app.py": APP}, "app.unserializable")
    rec = p.invoke({})
    assert rec.kind == "error"
    assert rec.json == {
        "errorMessage": "Unable to marshal response: Object of type set is not JSON serializable",
        "errorType": "Runtime.MarshalError",
        "requestId": rec.request_id,
        "stackTrace": [],
    }


def test_bytes_result(py):
    p = py({"app.py": APP}, "app.raw_bytes")
    rec = p.invoke({})
    assert rec.body == b"\x00\x01raw"
    assert rec.headers["content-type"] == "application/unknown"


def test_non_json_content_type_passes_bytes(py):
    p = py({"app.py": "def h(e, c):\n    return {'type': type(e).__name__, 'len': len(e)}\n"}, "app.h")
    rec = p.invoke(b"\x01\x02\x03", content_type="application/octet-stream")
    assert rec.json == {"type": "bytes", "len": 3}


def test_nested_module_path(py):
    files = {"pkg/__init__.py": "", "pkg/sub/__init__.py": "", "pkg/sub/mod.py": "def fn(e, c):\n    return 'nested'\n"}
    assert py(files, "pkg/sub/mod.fn").invoke({}).json == "nested"
    assert py(files, "pkg.sub.mod.fn").invoke({}).json == "nested"


def test_layer_path_order(py):
    p = py({"app.py": "import sys\ndef h(e, c):\n    return sys.path[:4]\n"}, "app.h")
    paths = p.invoke({}).json
    assert paths[0] == p.task_root
    assert paths[1].startswith("/opt/python/lib/python3.") and paths[1].endswith("/site-packages")
    assert paths[2] == "/opt/python"


def _init_error(p):
    rec = p.api.wait_record()
    assert rec.kind == "init_error", (rec, p.output())
    assert p.wait_exit() == 1
    return rec


def test_init_import_error(py):
    p = py({"other.py": ""}, "app.handler")
    rec = _init_error(p)
    assert rec.json == {
        "errorMessage": "Unable to import module 'app': No module named 'app'",
        "errorType": "Runtime.ImportModuleError",
        "requestId": "",
        "stackTrace": [],
    }
    assert rec.headers["lambda-runtime-function-error-type"] == "Runtime.ImportModuleError"
    out = p.stdout
    assert "[WARNING]\t" in out and "LAMBDA_WARNING: Unhandled exception." in out
    assert "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'app'\r" \
        "Traceback (most recent call last):\n" in out


def test_init_handler_missing(py):
    rec = _init_error(py({"app.py": APP}, "app.nope"))
    assert rec.json["errorType"] == "Runtime.HandlerNotFound"
    assert rec.json["errorMessage"] == "Handler 'nope' missing on module 'app'"


def test_init_malformed_handler(py):
    rec = _init_error(py({"app.py": APP}, "x"))
    assert rec.json["errorType"] == "Runtime.MalformedHandlerName"
    assert rec.json["errorMessage"] == "Bad handler 'x': not enough values to unpack (expected 2, got 1)"


def test_init_syntax_error(py):
    rec = _init_error(py({"app.py": "def handler(e, c)\n    return 1\n"}, "app.handler"))
    body = rec.json
    assert body["errorType"] == "Runtime.UserCodeSyntaxError"
    assert body["errorMessage"].startswith("Syntax error in module 'app': ")
    assert re.fullmatch(r'  File "[^"]*/app\.py" Line 1\n    def handler\(e, c\)\n', body["stackTrace"][0])


def test_init_exception_in_module(py):
    rec = _init_error(py({"app.py": "x = 1\nraise RuntimeError('init failed')\n"}, "app.handler"))
    body = rec.json
    assert body["errorType"] == "RuntimeError"
    assert body["errorMessage"] == "init failed"
    assert body["stackTrace"][-1].endswith("line 2, in <module>\n    raise RuntimeError('init failed')\n")


def test_builtin_module_conflict(py):
    rec = _init_error(py({}, "sys.handler"))
    assert rec.json["errorType"] == "Runtime.BuiltInModuleConflict"


def test_init_runs_once(py):
    files = {"app.py": "import time\nSTART = time.time()\nprint('init ran')\ndef h(e, c):\n    return START\n"}
    p = py(files, "app.h")
    a = p.invoke({}).json
    time.sleep(0.01)
    b = p.invoke({}).json
    assert a == b
    assert p.stdout.count("init ran") == 1


JSON_APP = """
import logging
orders = logging.getLogger("orders")
logging.getLogger().warning("at init")

def logs(event, context):
    print("plain print")
    logging.debug("debug filtered")
    logging.info("info filtered")
    logging.warning("warned %s", 42)
    orders.error("with extra", extra={"order": 7})
    try:
        1 / 0
    except ZeroDivisionError:
        logging.exception("it failed")
    logging.critical("last")
    return "ok"

def boom(event, context):
    raise ValueError("bad value")
"""

JSON_ENV = {"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "WARN"}
TIMESTAMP_MS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


def _json_lines(p):
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


def test_json_logging_records_and_level_filter(py):
    p = py({"app.py": JSON_APP}, "app.logs", env=JSON_ENV)
    rec = p.invoke({})
    assert rec.json == "ok"
    assert p.wait_for_output('"message": "last"'), p.output()
    # print stays plain text; logging records are one JSON object per line, with
    # awslambdaric's separators and member order.
    assert "plain print\n" in p.stdout
    raw = [l for l in p.stdout.splitlines() if l.startswith("{")]
    assert all(l.startswith('{"timestamp": "') for l in raw), raw
    records = _json_lines(p)
    assert [r["message"] for r in records] == ["at init", "warned 42", "with extra", "it failed", "last"]
    init, warned, extra, failed, last = records
    assert init == {"timestamp": init["timestamp"], "level": "WARNING", "message": "at init",
                    "logger": "root", "requestId": ""}
    assert list(warned) == ["timestamp", "level", "message", "logger", "requestId"]
    assert re.fullmatch(TIMESTAMP_MS, warned["timestamp"])
    assert warned["level"] == "WARNING" and warned["requestId"] == rec.request_id
    assert extra["logger"] == "orders" and extra["level"] == "ERROR" and extra["order"] == 7
    assert failed["level"] == "ERROR"
    assert failed["errorType"] == "ZeroDivisionError" and failed["errorMessage"] == "division by zero"
    assert any("app.py" in frame for frame in failed["stackTrace"]), failed
    assert re.fullmatch(r".*/app\.py:logs:\d+", failed["location"]), failed
    assert last["level"] == "CRITICAL"
    assert "filtered" not in p.stdout


def test_json_logging_at_info_level(py):
    p = py({"app.py": JSON_APP}, "app.logs", env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"})
    p.invoke({})
    assert p.wait_for_output('"message": "last"'), p.output()
    levels = [(r["level"], r["message"]) for r in _json_lines(p)]
    assert ("INFO", "info filtered") in levels
    assert not any(m == "debug filtered" for _, m in levels)


def test_json_handler_error_is_one_json_record(py):
    p = py({"app.py": JSON_APP}, "app.boom", env=JSON_ENV)
    rec = p.invoke({})
    assert rec.kind == "error"
    assert p.wait_for_output('"errorType": "ValueError"'), p.output()
    errors = [r for r in _json_lines(p) if r.get("errorType") == "ValueError"]
    assert len(errors) == 1
    err = errors[0]
    # awslambdaric: {timestamp (seconds, no zone), level, **error body}
    assert list(err) == ["timestamp", "level", "errorMessage", "errorType", "requestId", "stackTrace"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", err["timestamp"])
    assert err["level"] == "ERROR"
    assert err["errorMessage"] == "bad value" and err["requestId"] == rec.request_id
    assert err["stackTrace"] == rec.json["stackTrace"]
    assert "[ERROR]" not in p.stdout


def test_json_init_error(py):
    p = py({"other.py": ""}, "app.handler", env=JSON_ENV)
    rec = _init_error(p)
    assert rec.json["errorType"] == "Runtime.ImportModuleError"
    assert p.wait_for_output('"errorType": "Runtime.ImportModuleError"'), p.output()
    records = _json_lines(p)
    assert records[0]["level"] == "WARNING"
    assert records[0]["message"].startswith("LAMBDA_WARNING: Unhandled exception.")
    assert records[1]["level"] == "ERROR" and records[1]["errorType"] == "Runtime.ImportModuleError"
    assert records[1]["requestId"] == ""
