"""Node.js shim: runtimes/nodejs/bootstrap.mjs against the mock Runtime API."""

import base64
import json
import re

CJS = """
let count = 0;
exports.handler = async (event, context) => {
  count += 1;
  return { event, count };
};
exports.undef = async () => undefined;
exports.boom = async (event) => { throw new TypeError('bad value: ' + event.x); };
exports.ctx = async (event, context) => {
  const r1 = context.getRemainingTimeInMillis();
  await new Promise((r) => setTimeout(r, 50));
  const r2 = context.getRemainingTimeInMillis();
  return {
    functionName: context.functionName, functionVersion: context.functionVersion,
    invokedFunctionArn: context.invokedFunctionArn, memoryLimitInMB: context.memoryLimitInMB,
    awsRequestId: context.awsRequestId, logGroupName: context.logGroupName,
    logStreamName: context.logStreamName, identity: context.identity ?? null,
    clientContext: context.clientContext ?? null, r1, r2,
    waits: context.callbackWaitsForEmptyEventLoop, trace: process.env._X_AMZN_TRACE_ID ?? null,
  };
};
exports.logs = async () => {
  console.log('hello %s', 'world');
  console.error('multi\\nline');
  console.warn({ a: 1 });
  return 'ok';
};
exports.callback = (event, context, callback) => {
  setTimeout(() => callback(null, { via: 'callback', event }), 10);
};
exports.callbackWaits = (event, context, callback) => {
  const order = [];
  setTimeout(() => order.push('timer'), 100);
  callback(null, order);  // the result object is serialized once the loop drained
};
exports.callbackError = (event, context, callback) => callback(new Error('cb failed'));
exports.callbackString = (event, context, callback) => callback('plain string');
exports.syncNoReturn = (event, context) => { /* neither callback nor promise */ };
exports.contextSucceed = (event, context) => context.succeed({ succeeded: true });
exports.throwsSync = () => { throw new RangeError('sync throw'); };
exports.never = async () => new Promise(() => {});
exports.uncaught = (event, context, callback) => { setTimeout(() => { throw new Error('async boom'); }, 5); };
exports.rejects = async () => { Promise.reject(new Error('nobody catches me')); await new Promise((r) => setTimeout(r, 200)); return 'late'; };
exports.nested = { deeper: { fn: async () => 'nested ok' } };
exports.notfn = 42;
"""


def test_cjs_async_result_and_state(node):
    p = node({"index.js": CJS}, "index.handler")
    r1 = p.invoke({"a": 1})
    assert r1.kind == "response" and r1.json == {"event": {"a": 1}, "count": 1}
    assert p.invoke({"b": 2}).json == {"event": {"b": 2}, "count": 2}


def test_undefined_is_null(node):
    assert node({"index.js": CJS}, "index.undef").invoke({}).body == b"null"


def test_error_shape(node):
    p = node({"index.js": CJS}, "index.boom")
    rec = p.invoke({"x": 3})
    assert rec.kind == "error"
    body = rec.json
    assert list(body) == ["errorType", "errorMessage", "trace"]
    assert body["errorType"] == "TypeError"
    assert body["errorMessage"] == "bad value: 3"
    assert body["trace"][0] == "TypeError: bad value: 3"
    assert re.match(r"\s+at .*index\.js:\d+:\d+", body["trace"][1]), body["trace"]
    assert "lambda-runtime-function-error-type" not in rec.headers
    assert p.wait_for_output("\tERROR\tInvoke Error \t{\"errorType\":\"TypeError\",\"errorMessage\":\"bad value: 3\"")
    assert p.invoke({"x": 4}).json["errorMessage"] == "bad value: 4"  # still alive


def test_context_values(node):
    p = node({"index.js": CJS}, "index.ctx")
    rec = p.invoke({}, timeout_ms=5000, extra={
        "Lambda-Runtime-Trace-Id": "Root=1-abc;Parent=def;Sampled=1",
        "Lambda-Runtime-Cognito-Identity": '{"cognitoIdentityId":"id-1","cognitoIdentityPoolId":"pool-1"}',
        "Lambda-Runtime-Client-Context": '{"custom":{"k":"v"},"env":{},"client":{}}',
    })
    c = rec.json
    assert c["functionName"] == "test-fn" and c["functionVersion"] == "$LATEST"
    assert c["invokedFunctionArn"] == "arn:aws:lambda:us-east-1:123456789012:function:test-fn"
    assert c["memoryLimitInMB"] == "256"  # a string in AWS's Node runtime
    assert c["awsRequestId"] == rec.request_id
    assert c["logGroupName"] == "/aws/lambda/test-fn"
    assert c["logStreamName"].startswith("2024/01/01/[$LATEST]")
    assert 0 < c["r2"] < c["r1"] <= 5000
    assert c["identity"] == {"cognitoIdentityId": "id-1", "cognitoIdentityPoolId": "pool-1"}
    assert c["clientContext"] == {"custom": {"k": "v"}, "env": {}, "client": {}}
    assert c["waits"] is True
    assert c["trace"] == "Root=1-abc;Parent=def;Sampled=1"
    assert p.invoke({}).json["trace"] is None


def test_log_format(node):
    p = node({"index.js": CJS}, "index.logs")
    rec = p.invoke({})
    assert rec.json == "ok"
    assert p.wait_for_output("{ a: 1 }")
    iso = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    rid = re.escape(rec.request_id)
    out = p.stdout
    assert re.search(r"^%s\t%s\tINFO\thello world$" % (iso, rid), out, re.M), out
    assert re.search(r"^%s\t%s\tERROR\tmulti\rline$" % (iso, rid), out, re.M), out
    assert re.search(r"^%s\t%s\tWARN\t\{ a: 1 \}$" % (iso, rid), out, re.M), out


def test_init_log_has_undefined_request_id(node):
    p = node({"index.js": "console.log('at init');\nexports.h = async () => 1;\n"}, "index.h")
    assert p.invoke({}).json == 1
    assert re.search(r"^\S+Z\tundefined\tINFO\tat init$", p.stdout, re.M), p.stdout


def test_callback_handlers(node):
    p = node({"index.js": CJS}, "index.callback")
    assert p.invoke({"q": 1}).json == {"via": "callback", "event": {"q": 1}}
    # callbackWaitsForEmptyEventLoop: the response is sent after the timer ran
    p = node({"index.js": CJS}, "index.callbackWaits")
    assert p.invoke({}).json == ["timer"]
    rec = node({"index.js": CJS}, "index.callbackError").invoke({})
    assert rec.kind == "error" and rec.json["errorType"] == "Error" and rec.json["errorMessage"] == "cb failed"
    rec = node({"index.js": CJS}, "index.callbackString").invoke({})
    assert rec.json == {"errorType": "string", "errorMessage": "plain string", "trace": []}


def test_sync_handler_without_result_is_null(node):
    assert node({"index.js": CJS}, "index.syncNoReturn").invoke({}).body == b"null"
    assert node({"index.js": CJS}, "index.contextSucceed").invoke({}).json == {"succeeded": True}
    rec = node({"index.js": CJS}, "index.throwsSync").invoke({})
    assert rec.kind == "error" and rec.json["errorType"] == "RangeError"


def test_async_never_settles(node):
    rec = node({"index.js": CJS}, "index.never").invoke({})
    assert rec.kind == "error"
    assert rec.json["errorType"] == "Runtime.NodeJsExit"


def test_uncaught_exception_during_invoke(node):
    p = node({"index.js": CJS}, "index.uncaught")
    rec = p.invoke({})
    assert rec.kind == "error"
    assert rec.json["errorType"] == "Error" and rec.json["errorMessage"] == "async boom"
    assert p.wait_exit() == 129


def test_nested_handler_path(node):
    assert node({"index.js": CJS}, "index.nested.deeper.fn").invoke({}).json == "nested ok"


def test_esm_mjs_and_subdir(node):
    files = {"src/app.mjs": "let n = 0;\nexport const handler = async (e) => ({ esm: true, n: ++n });\n"}
    p = node(files, "src/app.handler")
    assert p.invoke({}).json == {"esm": True, "n": 1}
    assert p.invoke({}).json == {"esm": True, "n": 2}


def test_esm_js_with_type_module(node):
    files = {
        "package.json": '{"type": "module"}',
        "index.js": "import os from 'node:os';\nexport async function handler() { return typeof os.cpus; }\n",
    }
    assert node(files, "index.handler").invoke({}).json == "function"


def test_cjs_extension(node):
    files = {"index.cjs": "module.exports.handler = async () => 'cjs';\n"}
    assert node(files, "index.handler").invoke({}).json == "cjs"


def test_node_path_layers(node, tmp_path):
    layer = tmp_path / "opt" / "nodejs" / "node_modules" / "layerlib"
    layer.mkdir(parents=True)
    (layer / "index.js").write_text("module.exports = { hi: () => 'from layer' };\n")
    files = {"index.js": "const l = require('layerlib');\nexports.h = async () => l.hi();\n"}
    p = node(files, "index.h", env={"NODE_PATH": str(tmp_path / "opt" / "nodejs" / "node_modules")})
    assert p.invoke({}).json == "from layer"


def test_streaming_handler(node):
    files = {"index.mjs": """
export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  responseStream = awslambda.HttpResponseStream.from(responseStream, { statusCode: 201, headers: { a: 'b' } });
  responseStream.write('hello ');
  responseStream.write(context.awsRequestId.slice(0, 4));
  responseStream.end();
});
"""}
    p = node(files, "index.handler")
    rec = p.invoke({})
    assert rec.kind == "response", p.output()
    assert rec.headers["lambda-runtime-function-response-mode"] == "streaming"
    assert rec.headers["content-type"] == "application/vnd.awslambda.http-integration-response"
    prelude, payload = rec.body.split(b"\x00" * 8, 1)
    assert json.loads(prelude) == {"statusCode": 201, "headers": {"a": "b"}}
    assert payload == b"hello " + rec.request_id[:4].encode()


def _init_error(p):
    rec = p.api.wait_record()
    assert rec.kind == "init_error", (rec, p.output())
    assert p.wait_exit() == 129
    return rec


def test_init_import_error(node):
    p = node({"other.js": ""}, "index.handler")
    rec = _init_error(p)
    body = rec.json
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert body["errorMessage"].startswith("Error: Cannot find module 'index'\nRequire stack:\n- ")
    assert body["errorMessage"].endswith("/index.mjs")
    assert body["trace"][0] == "Runtime.ImportModuleError: Error: Cannot find module 'index'"
    assert rec.headers["lambda-runtime-function-error-type"] == "Runtime.ImportModuleError"
    assert re.search(r"^\S+Z\tundefined\tERROR\tUncaught Exception \t\{\"errorType\":\"Runtime.ImportModuleError\"",
                     p.stdout, re.M), p.output()


def test_init_handler_not_found(node):
    rec = _init_error(node({"index.js": CJS}, "index.nope"))
    assert rec.json["errorType"] == "Runtime.HandlerNotFound"
    assert rec.json["errorMessage"] == "index.nope is undefined or not exported"
    rec = _init_error(node({"index.js": CJS}, "index.notfn"))
    assert rec.json["errorMessage"] == "index.notfn is not a function"


def test_init_malformed_handler(node):
    rec = _init_error(node({"index.js": CJS}, "index"))
    assert rec.json["errorType"] == "Runtime.MalformedHandlerName"
    assert rec.json["errorMessage"] == "Bad handler"
    rec = _init_error(node({"index.js": CJS}, "../index.handler"))
    assert rec.json["errorMessage"] == (
        "'../index.handler' is not a valid handler name. "
        "Use absolute paths when specifying root directories in handler names.")


def test_init_syntax_error(node):
    rec = _init_error(node({"index.js": "exports.handler = async () => {\n"}, "index.handler"))
    assert rec.json["errorType"] == "Runtime.UserCodeSyntaxError"
    assert rec.json["errorMessage"].startswith("SyntaxError: ")
    rec = _init_error(node({"index.mjs": "export const handler = ;\n"}, "index.handler"))
    assert rec.json["errorType"] == "Runtime.UserCodeSyntaxError"


def test_init_exception_in_module(node):
    rec = _init_error(node({"index.js": "throw new Error('init failed');\n"}, "index.handler"))
    assert rec.json["errorType"] == "Error" and rec.json["errorMessage"] == "init failed"


def test_unhandled_rejection_during_invoke(node):
    p = node({"index.js": CJS}, "index.rejects")
    rec = p.invoke({})
    assert rec.kind == "error"
    assert rec.json["errorType"] == "Runtime.UnhandledPromiseRejection"
    assert rec.json["errorMessage"] == "Error: nobody catches me"
    assert p.wait_exit() == 128


def test_json_log_format(node):
    p = node({"index.js": CJS}, "index.logs", env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "WARN"})
    rec = p.invoke({})
    assert p.wait_for_output('"level":"WARN"')
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    assert [l["level"] for l in lines] == ["ERROR", "WARN"]  # INFO filtered out
    assert lines[0]["message"] == "multi\nline" and lines[0]["requestId"] == rec.request_id
    assert lines[1]["message"] == {"a": 1}


LEVELS_JS = """
exports.levels = async () => {
  console.trace('t'); console.debug('d'); console.info('i'); console.log('l');
  console.warn('w'); console.error('e %d', 5, new RangeError('inner')); console.fatal('f');
  return 'ok';
};
exports.boom = async () => { throw new TypeError('bad value'); };
"""


def test_json_log_levels_and_members(node):
    p = node({"index.js": LEVELS_JS}, "index.levels",
             env={"AWS_LAMBDA_LOG_FORMAT": "JSON", "AWS_LAMBDA_LOG_LEVEL": "INFO"})
    rec = p.invoke({})
    assert p.wait_for_output('"level":"FATAL"')
    lines = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    assert [(l["level"], l["message"]) for l in lines[:4]] == [
        ("INFO", "i"), ("INFO", "l"), ("WARN", "w"), ("ERROR", lines[3]["message"])]
    assert list(lines[0]) == ["timestamp", "level", "requestId", "message"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", lines[0]["timestamp"])
    assert lines[0]["requestId"] == rec.request_id
    # Several parameters: util.format'ed message, the first Error's members alongside.
    err = lines[3]
    assert err["message"].startswith("e 5 RangeError: inner")
    assert err["errorType"] == "RangeError" and err["errorMessage"] == "inner"
    assert err["stackTrace"][0] == "RangeError: inner"
    assert lines[4]["level"] == "FATAL"  # never filtered


def test_json_invoke_error_is_logged_as_json(node):
    p = node({"index.js": LEVELS_JS}, "index.boom", env={"AWS_LAMBDA_LOG_FORMAT": "JSON"})
    rec = p.invoke({})
    assert rec.kind == "error"
    assert p.wait_for_output('"level":"ERROR"')
    line = next(json.loads(l) for l in p.stdout.splitlines() if l.startswith("{"))
    assert line["requestId"] == rec.request_id
    assert line["message"]["errorType"] == "TypeError"
    assert line["message"]["errorMessage"] == "bad value"
    assert line["message"]["stackTrace"][0] == "TypeError: bad value"
    assert "Invoke Error" not in p.stdout
