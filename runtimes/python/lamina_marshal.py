"""JSON (de)serialisation of events and results, matching awslambdaric's
lambda_runtime_marshaller.py (simplejson based there, stdlib only here)."""

import os
import sys

from lamina_fault import FaultException

# --------------------------------------------------------------------------
# json.dumps / json.loads with their default settings, without importing `json`
# until the function's code does: `json` imports `re` (and `re` imports `enum`,
# `functools`, ...), about 5 ms of every cold start.  Until then the C accelerator
# that `json` itself uses is called directly, with the arguments `json` passes it,
# so the results are the same; anything that goes wrong (an error to report, a
# missing accelerator) is handed to `json` itself, which raises its own error.
# Once `json` is imported it is used as is (user code may have patched it).
# --------------------------------------------------------------------------
try:
    import _json
except ImportError:  # pragma: no cover - CPython always has it
    _json = None


class _DecoderSettings:
    """json.JSONDecoder()'s settings, as the C scanner reads them."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__
    memo = {}


_scan_once = getattr(_json, "make_scanner", None)
if _scan_once is not None:
    _scan_once = _scan_once(_DecoderSettings())
_c_make_encoder = getattr(_json, "make_encoder", None)
_JSON_WHITESPACE = " \t\n\r"


def _not_serializable(o):
    raise TypeError("Object of type %s is not JSON serializable" % o.__class__.__name__)


def json_dumps(obj, ensure_ascii=True):
    """json.dumps(obj, ensure_ascii=ensure_ascii)."""
    json = sys.modules.get("json")
    if json is None and _c_make_encoder is not None:
        encode_str = _json.encode_basestring_ascii if ensure_ascii else _json.encode_basestring
        try:
            if isinstance(obj, str):
                return encode_str(obj)
            return "".join(
                _c_make_encoder({}, _not_serializable, encode_str, None, ": ", ", ", False, False, True)(obj, 0)
            )
        except Exception:
            pass
    import json

    return json.dumps(obj, ensure_ascii=ensure_ascii)


def json_loads(s):
    """json.loads(s), for str or bytes."""
    json = sys.modules.get("json")
    if json is None and _scan_once is not None:
        try:
            text = s
            if isinstance(s, (bytes, bytearray)):
                # json.detect_encoding(): UTF-8 unless there is a BOM or a NUL in the
                # first two bytes (UTF-16/32); let `json` handle those.
                if len(s) < 2 or not s[0] or not s[1] or s[0] >= 0x80:
                    raise ValueError
                text = s.decode("utf-8", "surrogatepass")
            elif s.startswith("\ufeff"):
                raise ValueError
            # JSONDecoder.decode(): whitespace, one value, whitespace.
            n = len(text)
            i = 0
            while i < n and text[i] in _JSON_WHITESPACE:
                i += 1
            obj, end = _scan_once(text, i)
            while end < n and text[end] in _JSON_WHITESPACE:
                end += 1
            if end == n:
                return obj
        except Exception:
            pass
    import json

    return json.loads(s)


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


def _decimal_type():
    """decimal.Decimal, or () (an isinstance() that is always False) when no
    Decimal can exist yet because neither `decimal` nor its implementations
    are imported: importing it costs ~1.5 ms."""
    modules = sys.modules
    if "decimal" in modules or "_decimal" in modules or "_pydecimal" in modules:
        import decimal

        return getattr(decimal, "Decimal", ())
    return ()


def _is_namedtuple(o):
    return isinstance(o, tuple) and hasattr(o, "_asdict") and hasattr(o, "_fields")


def _needs_slow_path(o, _depth=0):
    """True if `o` holds a Decimal or namedtuple: stdlib's C encoder cannot
    emit those like simplejson does (Decimal as a raw number literal,
    namedtuple as an object)."""
    Decimal = _decimal_type()
    stack = [o]
    seen = 0
    while stack:
        cur = stack.pop()
        seen += 1
        if isinstance(cur, Decimal) or _is_namedtuple(cur):
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
    Decimal = _decimal_type()
    if _json is not None:
        enc_str = _json.encode_basestring_ascii if ensure_ascii else _json.encode_basestring
    else:  # pragma: no cover
        import json.encoder

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
        if isinstance(k, Decimal):
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
        elif isinstance(o, Decimal):
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
    return json_dumps(obj, ensure_ascii)


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
        return json_loads(body)
    except Exception as e:
        raise FaultException(FaultException.UNMARSHAL_ERROR, "Unable to unmarshal input: {}".format(str(e)), None)
