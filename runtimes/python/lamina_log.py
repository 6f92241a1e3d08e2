"""Application logs in the JSON format (AWS_LAMBDA_LOG_FORMAT=JSON).

The records have the shape awslambdaric writes (lambda_runtime_log_utils.py,
JsonFormatter): "timestamp", "level", "message", "logger", then "stackTrace",
"errorType", "errorMessage" and "location" when an exception is attached,
"requestId", "tenantId" when there is one, and any `extra` attributes of the
record; members whose value is None are left out.
"""

# LogRecord attributes that are not copied into the record as extra members.
_RESERVED_FIELDS = frozenset(
    {
        "name",
        "msg",
        "args",
        "levelname",
        "levelno",
        "pathname",
        "filename",
        "module",
        "exc_info",
        "exc_text",
        "stack_info",
        "lineno",
        "funcName",
        "created",
        "msecs",
        "relativeCreated",
        "thread",
        "threadName",
        "processName",
        "process",
        "aws_request_id",
        "tenant_id",
    }
)


def normalise_level(levelno):
    """Custom levels are reported as the standard level below them (25 -> INFO)."""
    return min(50, max(0, levelno)) // 10 * 10


def level_from_env(value):
    """AWS_LAMBDA_LOG_LEVEL as a `logging` level name, or None if it names none."""
    import logging

    level = (value or "").upper()
    level = {"TRACE": "DEBUG", "WARN": "WARNING", "FATAL": "CRITICAL"}.get(level, level)
    return level if level in logging._nameToLevel else None


# `logging` is imported when the function's code imports it (see lamina_imports), so
# the formatter class is made then, and what it needs when it formats its first record.
JsonFormatter = None
_deps = None


def _formatter_deps():
    global _deps
    if _deps is None:
        import json
        import traceback
        from datetime import datetime, timezone

        _deps = (json.JSONEncoder(ensure_ascii=False).encode, traceback.format_tb, datetime, timezone.utc)
    return _deps


def json_formatter_class():
    """The JsonFormatter class (a logging.Formatter), made on first use."""
    global JsonFormatter
    if JsonFormatter is not None:
        return JsonFormatter
    import logging

    class JsonFormatter(logging.Formatter):
        def formatTime(self, record, datefmt=None):
            _encode, _format_tb, datetime, utc = _deps or _formatter_deps()
            dt = datetime.fromtimestamp(record.created, tz=utc)
            return dt.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

        def format(self, record):
            _encode, format_tb, _datetime, _utc = _deps or _formatter_deps()
            record.levelno = normalise_level(record.levelno)
            record.levelname = logging.getLevelName(record.levelno)
            exc = record.exc_info if record.exc_info and record.exc_info[0] is not None else None
            result = {
                "timestamp": self.formatTime(record),
                "level": record.levelname,
                "message": record.getMessage(),
                "logger": record.name,
                "stackTrace": format_tb(exc[2]) if exc else None,
                "errorType": exc[0].__name__ if exc else None,
                "errorMessage": str(exc[1]) if exc else None,
                "requestId": getattr(record, "aws_request_id", None),
                "location": "%s:%s:%s" % (record.pathname, record.funcName, record.lineno) if exc else None,
            }
            tenant_id = getattr(record, "tenant_id", None)
            if tenant_id is not None:
                result["tenantId"] = tenant_id
            result.update(
                (key, value)
                for key, value in record.__dict__.items()
                if key not in _RESERVED_FIELDS and key not in result
            )
            return _encode({k: v for k, v in result.items() if v is not None}) + "\n"

    return JsonFormatter
