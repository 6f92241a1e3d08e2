"""Lamina runtime bootstrap for Python (stdlib only).

bootstrap.py, which the platform runs, only imports this module: a script is
compiled on every start, an imported module comes from its .pyc.

Started by the platform as `python3 /var/runtime/python/bootstrap.py` with the
function code at $LAMBDA_TASK_ROOT (default /var/task, also the cwd) and the
handler in $_HANDLER (or argv[1]).  It implements the Lambda Runtime API client
loop and the handler conventions of AWS's managed Python runtimes, as
implemented by awslambdaric (aws/aws-lambda-python-runtime-interface-client,
`awslambdaric/bootstrap.py`, `lambda_context.py`, `lambda_runtime_marshaller.py`).
The error types, messages, body shapes and log formats below follow that code;
the implementation is our own.
"""

import importlib
import os
import sys
import time

# Sibling modules of this file; imported before sys.path is rewritten.  Start-up
# imports only what the first invoke needs: `logging`, `json` and `traceback` cost
# more than the rest of the start-up together (see lamina_imports).
import lamina_log
from lamina_context import LambdaContext, parse_json_header
from lamina_fault import FaultException
from lamina_imports import StdlibFinder
from lamina_marshal import marshal_response, to_json, unmarshal_request
from lamina_rapid import RuntimeApiClient, RuntimeClientError

TASK_ROOT = os.environ.get("LAMBDA_TASK_ROOT") or "/var/task"
RUNTIME_DIR = os.environ.get("LAMBDA_RUNTIME_DIR") or "/var/runtime"
# AWS_LAMBDA_LOG_FORMAT=JSON: logging records and the runtime's error lines are
# JSON objects (print output stays plain text, as on AWS).
JSON_LOGS = (os.environ.get("AWS_LAMBDA_LOG_FORMAT") or "").upper() == "JSON"
# Read now: the root logger gets it whenever `logging` is imported.
LOG_LEVEL = os.environ.get("AWS_LAMBDA_LOG_LEVEL")

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

STDLIB_FINDER = StdlibFinder()


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
    # Standard modules the shim once imported at start-up keep coming from the
    # start-up path, whatever the function's code holds (see lamina_imports).
    STDLIB_FINDER.path = [p for p in sys.path if p != here]
    STDLIB_FINDER.install()
    # sys.path[0] is this script's own directory: drop it so the shim's files
    # do not shadow user modules.
    rest = [p for p in sys.path[1:] if p not in front and p != here]
    sys.path[:] = front + rest


# --------------------------------------------------------------------------
# Logging (awslambdaric _setup_logging, StandardLogSink, log_error).
# --------------------------------------------------------------------------
_CURRENT_REQUEST_ID = None
_CURRENT_TENANT_ID = None


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


def setup_logging():
    """The root logger's handler (awslambdaric _setup_logging): installed when
    `logging` is first imported, before the importer gets it."""
    STDLIB_FINDER.on_import("logging", _install_log_handler)


def _install_log_handler(logging):
    # The classes are made here, where `logging` exists; `global` keeps their names
    # as they were at module level.
    global _RequestIdFilter, _StdoutHandler

    class _RequestIdFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = _CURRENT_REQUEST_ID or ""
            record.tenant_id = _CURRENT_TENANT_ID
            return True

    class _StdoutHandler(logging.Handler):
        def emit(self, record):
            try:
                sys.stdout.write(self.format(record))
            except Exception:
                self.handleError(record)

    logging.Formatter.converter = time.gmtime
    handler = _StdoutHandler()
    # Both formats end in "\n" and the sink writes them verbatim.
    if JSON_LOGS:
        handler.setFormatter(lamina_log.json_formatter_class()())
    else:
        handler.setFormatter(
            logging.Formatter(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n", "%Y-%m-%dT%H:%M:%S"
            )
        )
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    level = lamina_log.level_from_env(LOG_LEVEL)
    if level is not None:
        root.setLevel(level)
    root.addHandler(handler)


def _replace_indent(line):
    n = len(line) - len(line.lstrip(" "))
    return ERROR_LOG_IDENT * n + line[n:]


def log_error(error_result):
    if JSON_LOGS:
        # awslambdaric: the error body itself, after a second-precision
        # timestamp (no fraction, no "Z") and the level.
        record = {"timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()), "level": "ERROR"}
        record.update(error_result)
        sys.stdout.write(to_json(record) + "\n")
        return
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


def _is_bootstrap_frame(filename):
    return "/bootstrap.py" in filename or "/lamina_bootstrap.py" in filename


def _user_frames(tb):
    """Traceback tuples with the leading bootstrap frames removed."""
    import traceback  # on the first error only

    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    for i, frame in enumerate(frames):
        if not _is_bootstrap_frame(frame[0]):
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
    import traceback  # on the first error only

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
    global _CURRENT_REQUEST_ID, _CURRENT_TENANT_ID
    invoke_id = headers.get("Lambda-Runtime-Aws-Request-Id")
    _CURRENT_REQUEST_ID = invoke_id
    _CURRENT_TENANT_ID = headers.get("Lambda-Runtime-Aws-Tenant-Id")
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
            parse_json_header(client_context, "Client Context") if client_context else None,
            parse_json_header(cognito, "Cognito Identity") if cognito else None,
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
            import logging

            logging.warning(LAMBDA_UNHANDLED_EXCEPTION_WARNING)
            log_error(error_result)
            client.post_init_error(error_result)
            return 1

        while True:
            if STDLIB_FINDER.hooks:
                STDLIB_FINDER.run_missed_hooks()
            headers, body = client.next_invocation()
            handle_event(client, request_handler, headers, body)
    except RuntimeClientError as e:
        sys.stderr.write("LAMBDA_RUNTIME {}\n".format(e))
        return 1

