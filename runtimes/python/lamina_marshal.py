"""JSON (de)serialisation of events and results, matching awslambdaric's
lambda_runtime_marshaller.py (simplejson based there, stdlib only here)."""

import json
import os

from lamina_fault import FaultException

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
