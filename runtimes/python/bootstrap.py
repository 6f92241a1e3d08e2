"""Lamina runtime bootstrap for Python (stdlib only).

Started by the platform as `python3 /var/runtime/python/bootstrap.py` with the
function code at $LAMBDA_TASK_ROOT (default /var/task, also the cwd) and the
handler in $_HANDLER (or argv[1]).  It implements the Lambda Runtime API client
loop and the handler conventions of AWS's managed Python runtimes, as
implemented by awslambdaric (aws/aws-lambda-python-runtime-interface-client,
`awslambdaric/bootstrap.py`, `lambda_context.py`, `lambda_runtime_marshaller.py`).
The error types, messages, body shapes and log formats below follow that code;
the implementation is our own.
"""

import http.client
import importlib
import json
import logging
import os
import sys
import time
import traceback

TASK_ROOT = os.environ.get("LAMBDA_TASK_ROOT") or "/var/task"
RUNTIME_DIR = os.environ.get("LAMBDA_RUNTIME_DIR") or "/var/runtime"
RUNTIME_PATH = "/2018-06-01/runtime"

# awslambdaric: bootstrap.py (log_error): one error = one CloudWatch event, so
# the lines are joined with "\r" and leading indentation becomes U+00A0.
ERROR_LOG_LINE_TERMINATE = "\r"
ERROR_LOG_IDENT = "\u00a0"

# awslambdaric: lambda_literals.py
LAMBDA_UNHANDLED_EXCEPTION_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in "
    "the function code. However, in rare cases, a Lambda runtime update can "
    "cause unexpected function behavior. For functions using managed runtimes, "
    "runtime updates can be triggered by a function change, or can be applied "
    "automatically. To determine if the runtime has been updated, check the "
    "runtime version in the INIT_START log entry. If this error correlates with "
    "a change in the runtime version, you may be able to mitigate this error by "
    "temporarily rolling back to the previous runtime version. For more "
    "information, see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html"
)


class FaultException(Exception):
    """A runtime-detected fault (awslambdaric: lambda_runtime_exception.py)."""

    MARSHAL_ERROR = "Runtime.MarshalError"
    UNMARSHAL_ERROR = "Runtime.UnmarshalError"
    USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
    HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
    IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
    BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
    MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
    LAMBDA_CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"

    def __init__(self, exception_type, msg, trace=None):
        super().__init__(msg)
        self.exception_type = exception_type
        self.msg = msg
        self.trace = trace


# --------------------------------------------------------------------------
# sys.path: function code first, then layers, then the runtime (the order of
# AWS's managed runtimes, see spec 4.3).
# --------------------------------------------------------------------------
def setup_sys_path():
    ver = "python%d.%d" % sys.version_info[:2]
    front = [
        TASK_ROOT,
        "/opt/python/lib/%s/site-packages" % ver,
        "/opt/python",
        RUNTIME_DIR,
    ]
    here = os.path.dirname(os.path.abspath(__file__))
    # sys.path[0] is this script's own directory: drop it so the shim's files
    # do not shadow user modules.
    rest = [p for p in sys.path[1:] if p not in front and p != here]
    sys.path[:] = front + rest


# --------------------------------------------------------------------------
# JSON, the way awslambdaric's marshaller does it (simplejson based there).
# --------------------------------------------------------------------------
def _ensure_ascii():
    # awslambdaric passes ensure_ascii=False for the 3.12+ runtimes only; the
    # older managed runtimes escape non-ASCII.  We behave like 3.12+ unless the
    # platform explicitly says it emulates an older Python runtime.
    env = os.environ.get("AWS_EXECUTION_ENV", "")
    old = {"AWS_Lambda_python3.%d" % m for m in range(6, 12)}
    return env in old


def _is_namedtuple(o):
    return isinstance(o, tuple) and hasattr(o, "_asdict") and hasattr(o, "_fields")


def _needs_slow_path(o, _depth=0):
    """True if `o` holds a Decimal or namedtuple: stdlib's C encoder cannot
    emit those like simplejson does (Decimal as a raw number literal,
    namedtuple as an object)."""
    import decimal

    stack = [o]
    seen = 0
    while stack:
        cur = stack.pop()
        seen += 1
        if isinstance(cur, decimal.Decimal) or _is_namedtuple(cur):
            return True
        if isinstance(cur, dict):
            stack.extend(cur.values())
            stack.extend(k for k in cur.keys() if not isinstance(k, str))
        elif isinstance(cur, (list, tuple)):
            stack.extend(cur)
        if seen > 10_000_000:  # pathological/circular: let the encoder decide
            return True
    return False


def _float_text(f):
    if f != f:
        return "NaN"
    if f == float("inf"):
        return "Infinity"
    if f == float("-inf"):
        return "-Infinity"
    return float.__repr__(f)


def _slow_encode(obj, ensure_ascii):
    """Pure-Python encoder with simplejson's defaults as used by awslambdaric:
    separators (', ', ': '), Decimal emitted raw (NaN as NaN), namedtuples as
    objects."""
    import decimal

    enc_str = json.encoder.encode_basestring_ascii if ensure_ascii else json.encoder.encode_basestring
    markers = set()
    out = []

    def key_text(k):
        if isinstance(k, str):
            return k
        if k is True:
            return "true"
        if k is False:
            return "false"
        if k is None:
            return "null"
        if isinstance(k, int):
            return int.__repr__(k)
        if isinstance(k, float):
            return _float_text(k)
        if isinstance(k, decimal.Decimal):
            return str(k)
        raise TypeError("keys must be str, int, float, bool or None, not %s" % k.__class__.__name__)

    def enc(o):
        if isinstance(o, str):
            out.append(enc_str(o))
        elif o is None:
            out.append("null")
        elif o is True:
            out.append("true")
        elif o is False:
            out.append("false")
        elif isinstance(o, int):
            out.append(int.__repr__(o))
        elif isinstance(o, float):
            out.append(_float_text(o))
        elif isinstance(o, decimal.Decimal):
            # awslambdaric Encoder.default: NaN -> math.nan, else RawJSON(str(o))
            out.append("NaN" if o.is_nan() else str(o))
        elif _is_namedtuple(o):
            enc(o._asdict())
        elif isinstance(o, (dict, list, tuple)):
            if id(o) in markers:
                raise ValueError("Circular reference detected")
            markers.add(id(o))
            if isinstance(o, dict):
                out.append("{")
                first = True
                for k, v in o.items():
                    if not first:
                        out.append(", ")
                    first = False
                    out.append(enc_str(key_text(k)))
                    out.append(": ")
                    enc(v)
                out.append("}")
            else:
                out.append("[")
                for i, v in enumerate(o):
                    if i:
                        out.append(", ")
                    enc(v)
                out.append("]")
            markers.discard(id(o))
        else:
            raise TypeError("Object of type %s is not JSON serializable" % o.__class__.__name__)

    enc(obj)
    return "".join(out)


def to_json(obj):
    ensure_ascii = _ensure_ascii()
    if _needs_slow_path(obj):
        return _slow_encode(obj, ensure_ascii)
    return json.dumps(obj, ensure_ascii=ensure_ascii)


def marshal_response(response):
    # awslambdaric lambda_runtime_marshaller.py: bytes pass through as
    # application/unknown, everything else is JSON (None -> null).
    if isinstance(response, bytes):
        return response, "application/unknown"
    try:
        return to_json(response).encode("utf-8"), "application/json"
    except Exception as e:
        raise FaultException(FaultException.MARSHAL_ERROR, "Unable to marshal response: {}".format(str(e)), None)


def unmarshal_request(body, content_type):
    if content_type != "application/json":
        return body
    try:
        return json.loads(body)
    except Exception as e:
        raise FaultException(FaultException.UNMARSHAL_ERROR, "Unable to unmarshal input: {}".format(str(e)), None)


# --------------------------------------------------------------------------
# Runtime API client (HTTP/1.1 keep-alive, no timeout on /next).
# --------------------------------------------------------------------------
class RuntimeClientError(Exception):
    pass


class RuntimeApiClient:
    def __init__(self, address):
        self.address = address
        self.conn = None

    def _request(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            fresh = self.conn is None
            if fresh:
                self.conn = http.client.HTTPConnection(self.address, timeout=None)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                data = resp.read()
                return resp, data
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                # A reused keep-alive connection may have been closed by the
                # server while idle: retry once on a fresh one.
                if fresh or attempt == 1:
                    raise

    def next_invocation(self):
        try:
            resp, body = self._request("GET", RUNTIME_PATH + "/invocation/next")
        except Exception as e:
            raise RuntimeClientError("Failed to get next invocation: {}".format(e))
        if resp.status != 200:
            raise RuntimeClientError("Failed to get next invocation: HTTP {} {!r}".format(resp.status, body))
        return resp.headers, body

    def _post(self, path, body, headers):
        resp, data = self._request("POST", path, body=body, headers=headers)
        if resp.status != 202:
            raise RuntimeClientError(
                "Request to Lambda Runtime '{}' endpoint failed. Reason: '{}'. Response body: '{}'".format(
                    path, resp.status, data.decode("utf-8", "replace")
                )
            )

    def post_init_error(self, error_result):
        # awslambdaric sends the error type header on /init/error only.
        headers = {
            "Content-Type": "application/json",
            "Lambda-Runtime-Function-Error-Type": error_result["errorType"],
        }
        self._post(RUNTIME_PATH + "/init/error", to_json(error_result).encode("utf-8"), headers)

    def post_invocation_result(self, invoke_id, payload, content_type):
        self._post(
            RUNTIME_PATH + "/invocation/{}/response".format(invoke_id), payload, {"Content-Type": content_type}
        )

    def post_invocation_error(self, invoke_id, error_result, xray_fault):
        # No Lambda-Runtime-Function-Error-Type header here: awslambdaric
        # only sends the body plus the X-Ray cause (spec 1.9).
        headers = {"Content-Type": "application/json"}
        cause = to_json(xray_fault)
        if len(cause.encode("utf-8")) < 1024 * 1024 and cause.isascii():
            headers["Lambda-Runtime-Function-XRay-Error-Cause"] = cause
        self._post(
            RUNTIME_PATH + "/invocation/{}/error".format(invoke_id), to_json(error_result).encode("utf-8"), headers
        )


# --------------------------------------------------------------------------
# Context object (awslambdaric lambda_context.py).
# --------------------------------------------------------------------------
class CognitoIdentity:
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __repr__(self):
        return "CognitoIdentity([cognito_identity_id={},cognito_identity_pool_id={}])".format(
            self.cognito_identity_id, self.cognito_identity_pool_id
        )


class Client:
    __slots__ = ["installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name"]

    def __repr__(self):
        return "Client([{}])".format(",".join("{}={}".format(s, getattr(self, s)) for s in self.__slots__))


class ClientContext:
    __slots__ = ["custom", "env", "client"]

    def __repr__(self):
        return "ClientContext([custom={},env={},client={}])".format(self.custom, self.env, self.client)


def _obj_from_dict(cls, d):
    if d is None:
        return None
    obj = cls()
    for field in cls.__slots__:
        setattr(obj, field, d.get(field) if isinstance(d, dict) else None)
    return obj


class LambdaContext:
    def __init__(self, invoke_id, client_context, cognito_identity, deadline_ms, invoked_function_arn, tenant_id=None):
        self.aws_request_id = invoke_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        memory = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        try:
            self.memory_limit_in_mb = int(memory) if memory is not None else None
        except ValueError:
            self.memory_limit_in_mb = memory
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self.client_context = _obj_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = _obj_from_dict(Client, self.client_context.client)
        # awslambdaric always provides an identity object (fields None when
        # the invoke carried no Cognito identity).
        self.identity = _obj_from_dict(CognitoIdentity, {})
        if cognito_identity is not None:
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")
        self._deadline_ms = int(deadline_ms) if deadline_ms else 0

    def get_remaining_time_in_millis(self):
        delta = self._deadline_ms - int(time.time() * 1000)
        return delta if delta > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        fields = [
            "aws_request_id", "log_group_name", "log_stream_name", "function_name", "memory_limit_in_mb",
            "function_version", "invoked_function_arn", "client_context", "identity", "tenant_id",
        ]
        return "LambdaContext([{}])".format(",".join("{}={}".format(f, getattr(self, f)) for f in fields))


def _parse_json_header(value, name):
    try:
        return json.loads(value)
    except Exception as e:
        raise FaultException(
            FaultException.LAMBDA_CONTEXT_UNMARSHAL_ERROR, "Unable to parse {} JSON: {}".format(name, str(e)), None
        )


# --------------------------------------------------------------------------
# Logging (awslambdaric _setup_logging, StandardLogSink, log_error).
# --------------------------------------------------------------------------
_CURRENT_REQUEST_ID = None


class Unbuffered:
    """Flush after every write so output reaches the platform immediately."""

    def __init__(self, stream):
        self.stream = stream

    def __getattr__(self, attr):
        return getattr(self.stream, attr)

    def write(self, msg):
        n = self.stream.write(msg)
        self.stream.flush()
        return n

    def writelines(self, msgs):
        self.stream.writelines(msgs)
        self.stream.flush()


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _CURRENT_REQUEST_ID or ""
        return True


class _StdoutHandler(logging.Handler):
    def emit(self, record):
        try:
            sys.stdout.write(self.format(record))
        except Exception:
            self.handleError(record)


def setup_logging():
    logging.Formatter.converter = time.gmtime
    handler = _StdoutHandler()
    # The format string ends in "\n" and the sink writes it verbatim.
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"
        )
    )
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    level = (os.environ.get("AWS_LAMBDA_LOG_LEVEL") or "").upper()
    level = {"TRACE": "DEBUG", "WARN": "WARNING", "FATAL": "CRITICAL"}.get(level, level)
    if level in logging._nameToLevel:
        root.setLevel(level)
    root.addHandler(handler)


def _replace_indent(line):
    n = len(line) - len(line.lstrip(" "))
    return ERROR_LOG_IDENT * n + line[n:]


def log_error(error_result):
    desc = "[ERROR]"
    etype = error_result.get("errorType")
    emsg = error_result.get("errorMessage")
    if etype:
        desc += " " + etype
    if emsg:
        if etype:
            desc += ":"
        desc += " " + emsg
    lines = [desc]
    stack = error_result.get("stackTrace")
    if stack is not None:
        lines.append("Traceback (most recent call last):")
        for element in stack:
            if element == "":
                lines.append("")
            else:
                lines.extend(_replace_indent(l) for l in element.splitlines())
    sys.stdout.write(ERROR_LOG_LINE_TERMINATE.join(lines) + "\n")


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------
def make_error(message, error_type, stack_trace, invoke_id=None):
    return {
        "errorMessage": message if message else "",
        "errorType": error_type if error_type else "",
        "requestId": invoke_id if invoke_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def _user_frames(tb):
    """Traceback tuples with the leading bootstrap frames removed."""
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for i, frame in enumerate(frames):
        if "/bootstrap.py" not in frame[0]:
            return frames[i:]
    return frames


def make_xray_fault(ex_type, ex_msg, frames):
    stack = [{"label": name, "path": path, "line": line} for (path, line, name, _code) in frames]
    return {
        "working_directory": os.getcwd(),
        "exceptions": [{"message": ex_msg, "type": ex_type, "stack": stack}],
        "paths": sorted({f[0] for f in frames}),
    }


def build_fault_result(exc_info, invoke_id=None):
    etype, value, tb = exc_info
    frames = _user_frames(tb)
    error = make_error(str(value), etype.__name__, traceback.format_list(frames), invoke_id)
    return error, make_xray_fault(etype.__name__, str(value), frames)


# --------------------------------------------------------------------------
# Handler loading (awslambdaric bootstrap._get_handler).
# --------------------------------------------------------------------------
def get_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException(FaultException.MALFORMED_HANDLER_NAME, "Bad handler '{}': {}".format(handler, str(e)))
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                FaultException.BUILT_IN_MODULE_CONFLICT,
                "Cannot use built-in module {} as a handler module".format(modname),
            )
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException(
            FaultException.IMPORT_MODULE_ERROR, "Unable to import module '{}': {}".format(modname, str(e))
        )
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(
            FaultException.USER_CODE_SYNTAX_ERROR, "Syntax error in module '{}': {}".format(modname, str(e)), trace
        )
    try:
        return getattr(module, fname)
    except AttributeError:
        raise FaultException(
            FaultException.HANDLER_NOT_FOUND, "Handler '{}' missing on module '{}'".format(fname, modname), None
        )


# --------------------------------------------------------------------------
# Invoke
# --------------------------------------------------------------------------
def handle_event(client, request_handler, headers, body):
    global _CURRENT_REQUEST_ID
    invoke_id = headers.get("Lambda-Runtime-Aws-Request-Id")
    _CURRENT_REQUEST_ID = invoke_id
    trace_id = headers.get("Lambda-Runtime-Trace-Id")
    if trace_id is not None:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)

    error_result = None
    xray_fault = None
    try:
        client_context = headers.get("Lambda-Runtime-Client-Context")
        cognito = headers.get("Lambda-Runtime-Cognito-Identity")
        context = LambdaContext(
            invoke_id,
            _parse_json_header(client_context, "Client Context") if client_context else None,
            _parse_json_header(cognito, "Cognito Identity") if cognito else None,
            headers.get("Lambda-Runtime-Deadline-Ms"),
            headers.get("Lambda-Runtime-Invoked-Function-Arn"),
            headers.get("Lambda-Runtime-Aws-Tenant-Id"),
        )
        event = unmarshal_request(body, headers.get("Content-Type"))
        response = request_handler(event, context)
        payload, content_type = marshal_response(response)
    except FaultException as e:
        xray_fault = make_xray_fault("LambdaValidationError", e.msg, [])
        error_result = make_error(e.msg, e.exception_type, e.trace, invoke_id)
    except Exception:
        error_result, xray_fault = build_fault_result(sys.exc_info(), invoke_id)

    if error_result is not None:
        log_error(error_result)
        client.post_invocation_error(invoke_id, error_result, xray_fault)
    else:
        client.post_invocation_result(invoke_id, payload, content_type)


def main():
    sys.stdout = Unbuffered(sys.stdout)
    sys.stderr = Unbuffered(sys.stderr)
    setup_sys_path()
    setup_logging()

    handler_name = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("_HANDLER", "")
    api = os.environ.get("AWS_LAMBDA_RUNTIME_API")
    if not api:
        sys.stderr.write("AWS_LAMBDA_RUNTIME_API is not set\n")
        return 1
    client = RuntimeApiClient(api)

    try:
        try:
            request_handler = get_handler(handler_name)
        except FaultException as e:
            error_result = make_error(e.msg, e.exception_type, e.trace)
        except Exception:
            error_result, _ = build_fault_result(sys.exc_info())
        else:
            error_result = None
        if error_result is not None:
            logging.warning(LAMBDA_UNHANDLED_EXCEPTION_WARNING)
            log_error(error_result)
            client.post_init_error(error_result)
            return 1

        while True:
            headers, body = client.next_invocation()
            handle_event(client, request_handler, headers, body)
    except RuntimeClientError as e:
        sys.stderr.write("LAMBDA_RUNTIME {}\n".format(e))
        return 1


if __name__ == "__main__":
    sys.exit(main())
