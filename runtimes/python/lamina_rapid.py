"""Runtime API client for the Python shim."""

import io

import _socket

from lamina_marshal import to_json

RUNTIME_PATH = "/2018-06-01/runtime"

# --------------------------------------------------------------------------
# Runtime API client (HTTP/1.1 keep-alive, no timeout on /next).
# --------------------------------------------------------------------------
class RuntimeClientError(Exception):
    pass


class _SocketReader(io.RawIOBase):
    """The raw stream under socket.makefile("rb") (socket.SocketIO, reading only)."""

    def __init__(self, sock):
        self._sock = sock

    def readable(self):
        return True

    def readinto(self, b):
        return self._sock.recv_into(b)


class Headers(dict):
    """Response headers with case-insensitive get()."""

    def get(self, key, default=None):
        return dict.get(self, key.lower(), default)


class RuntimeApiClient:
    """Minimal HTTP/1.1 keep-alive client on a raw socket.

    http.client would pull in email/ssl and add ~40 ms to every cold start;
    the Runtime API only needs plain requests with Content-Length bodies and
    responses framed by Content-Length or chunked encoding.  No timeout: GET
    /next must be able to block for as long as the platform holds it."""

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.host_header = address
        self.addr = (host.strip("[]") or "127.0.0.1", int(port))
        self.sock = None
        self.rfile = None

    def _connect(self):
        # The `socket` module would import `enum`, `selectors` and the IDNA codec
        # (~5 ms); its C core has all this needs.  As socket.create_connection():
        # every address the host resolves to, in order, until one connects.
        host, port = self.addr
        try:
            host = host.encode("ascii")  # a str host goes through the IDNA codec
        except UnicodeEncodeError:
            pass
        error = None
        for family, kind, proto, _name, sockaddr in _socket.getaddrinfo(host, port, 0, _socket.SOCK_STREAM):
            sock = _socket.socket(family, kind, proto)
            try:
                sock.connect(sockaddr)
            except OSError as e:
                sock.close()
                error = e
                continue
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            self.sock = sock
            self.rfile = io.BufferedReader(_SocketReader(sock))
            return
        raise error if error is not None else OSError("getaddrinfo returns an empty list")

    def _close(self):
        for c in (self.rfile, self.sock):
            try:
                if c is not None:
                    c.close()
            except OSError:
                pass
        self.sock = self.rfile = None

    def _exchange(self, method, path, body, headers):
        head = ["%s %s HTTP/1.1" % (method, path), "Host: " + self.host_header, "User-Agent: lamina-python"]
        if body is not None or method == "POST":
            body = body or b""
            head.append("Content-Length: %d" % len(body))
        for k, v in (headers or {}).items():
            head.append("%s: %s" % (k, v))
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (body or b""))

        line = self.rfile.readline(65537)
        if not line:
            raise ConnectionResetError("connection closed by the Runtime API")
        parts = line.split(None, 2)
        status = int(parts[1])
        resp_headers = Headers()
        while True:
            h = self.rfile.readline(65537)
            if h in (b"\r\n", b"\n", b""):
                break
            k, _, v = h.decode("latin-1").partition(":")
            resp_headers[k.strip().lower()] = v.strip()
        if resp_headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            data = b"".join(chunks)
        elif resp_headers.get("Content-Length") is not None:
            data = self.rfile.read(int(resp_headers.get("Content-Length")))
        else:
            data = self.rfile.read()  # body delimited by connection close
            resp_headers["connection"] = "close"
        if resp_headers.get("Connection", "").lower() == "close":
            self._close()
        return status, resp_headers, data

    def _request(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            fresh = self.sock is None
            if fresh:
                self._connect()
            try:
                return self._exchange(method, path, body, headers)
            except (OSError, ValueError, IndexError):
                self._close()
                # A reused keep-alive connection may have been closed by the
                # server while idle: retry once on a fresh one.
                if fresh or attempt == 1:
                    raise

    def next_invocation(self):
        try:
            status, headers, body = self._request("GET", RUNTIME_PATH + "/invocation/next")
        except Exception as e:
            raise RuntimeClientError("Failed to get next invocation: {}".format(e))
        if status != 200:
            raise RuntimeClientError("Failed to get next invocation: HTTP {} {!r}".format(status, body))
        return headers, body

    def _post(self, path, body, headers):
        status, _headers, data = self._request("POST", path, body=body, headers=headers)
        if status != 202:
            raise RuntimeClientError(
                "Request to Lambda Runtime '{}' endpoint failed. Reason: '{}'. Response body: '{}'".format(
                    path, status, data.decode("utf-8", "replace")
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
