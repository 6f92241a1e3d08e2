"""Mock Lambda Runtime API server and a runner for Lamina's runtime shims.

The server speaks the subset of the Runtime API (spec section 1) the shims
use: a blocking GET /next fed from a queue, and POST /response, /error and
/init/error recorded for the test to inspect.  Every shim runs as a real
subprocess with the environment the platform gives it (spec section 4.1), but
with LAMBDA_TASK_ROOT / LAMBDA_RUNTIME_DIR pointing at temporary directories.
"""

import json
import os
import queue
import shutil
import sys
import textwrap
import subprocess
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RUNTIMES_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE = shutil.which("node")
JAVA = shutil.which("java")
JAVAC = shutil.which("javac")
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:test-fn"


class Record:
    """One POST the runtime made."""

    def __init__(self, kind, request_id, headers, body):
        self.kind = kind  # "response" | "error" | "init_error"
        self.request_id = request_id
        self.headers = headers
        self.body = body

    @property
    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return "Record(%s, %s, %r)" % (self.kind, self.request_id, self.body[:500])


class MockRuntimeApi:
    def __init__(self):
        self.events = queue.Queue()
        self.records = queue.Queue()
        self.next_calls = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status, body=b"", headers=None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _read_body(self):
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            # trailers until empty line
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    return b"".join(chunks)
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def do_GET(self):
                if self.path == "/2018-06-01/runtime/invocation/next":
                    outer.next_calls += 1
                    try:
                        ev = outer.events.get(timeout=60)
                    except queue.Empty:
                        self._reply(500, b'{"errorType":"Test.NoEvent"}')
                        return
                    if ev is None:  # shutdown marker
                        self.close_connection = True
                        return
                    self._reply(200, ev["body"], ev["headers"])
                else:
                    self._reply(404, b"not found")

            def do_POST(self):
                body = self._read_body()
                parts = self.path.split("/")
                headers = {k.lower(): v for k, v in self.headers.items()}
                if self.path == "/2018-06-01/runtime/init/error":
                    outer.records.put(Record("init_error", None, headers, body))
                elif len(parts) == 6 and parts[3] == "invocation" and parts[5] in ("response", "error"):
                    outer.records.put(Record(parts[5], parts[4], headers, body))
                else:
                    self._reply(404, b"not found")
                    return
                self._reply(202, b'{"status":"OK"}\n', {"Content-Type": "application/json"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.server.server_address[1]

    def push(self, payload, request_id=None, timeout_ms=30000, content_type="application/json", extra=None):
        request_id = request_id or str(uuid.uuid4())
        if isinstance(payload, bytes):
            body = payload
        else:
            body = json.dumps(payload).encode("utf-8")
        headers = {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + timeout_ms),
            "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
            "Content-Type": content_type,
        }
        headers.update(extra or {})
        self.events.put({"body": body, "headers": headers})
        return request_id

    def wait_record(self, timeout=20):
        return self.records.get(timeout=timeout)

    def close(self):
        for _ in range(4):
            self.events.put(None)
        self.server.shutdown()
        self.server.server_close()


class ShimProcess:
    """A running shim: its mock API, its process and its captured output."""

    def __init__(self, argv, task_root, handler, env_extra=None, runtime_dir=None):
        self.api = MockRuntimeApi()
        self.task_root = str(task_root)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "_HANDLER": handler,
            "LAMBDA_TASK_ROOT": str(task_root),
            "LAMBDA_RUNTIME_DIR": str(runtime_dir or RUNTIMES_DIR),
            "AWS_LAMBDA_FUNCTION_NAME": "test-fn",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/test-fn",
            "AWS_LAMBDA_LOG_STREAM_NAME": "2024/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
        }
        if os.environ.get("JAVA_HOME"):
            env["JAVA_HOME"] = os.environ["JAVA_HOME"]
        env.update(env_extra or {})
        self.stdout_lines = []
        self.stderr_lines = []
        self.proc = subprocess.Popen(
            argv, cwd=str(task_root), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        self._readers = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout_lines), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr_lines), daemon=True),
        ]
        for t in self._readers:
            t.start()

    @staticmethod
    def _pump(stream, sink):
        for line in iter(stream.readline, b""):
            sink.append(line.decode("utf-8", "replace"))

    def invoke(self, payload, timeout=20, **kw):
        rid = self.api.push(payload, **kw)
        rec = self.api.wait_record(timeout=timeout)
        assert rec.request_id == rid, (rec, self.output())
        return rec

    def wait_exit(self, timeout=20):
        return self.proc.wait(timeout=timeout)

    @property
    def stdout(self):
        return "".join(self.stdout_lines)

    def output(self):
        return "STDOUT:\n%s\nSTDERR:\n%s" % ("".join(self.stdout_lines), "".join(self.stderr_lines))

    def wait_for_output(self, needle, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            if needle in self.stdout:
                return True
            time.sleep(0.02)
        return False

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self.api.close()


def write_tree(root, files):
    for rel, content in files.items():
        path = os.path.join(str(root), rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        mode = "wb" if isinstance(content, bytes) else "w"
        with open(path, mode) as f:
            f.write(content if isinstance(content, bytes) else textwrap.dedent(content).lstrip("\n"))


def python_cmd():
    return [sys.executable if os.path.basename(sys.executable).startswith("python") else "python3",
            os.path.join(RUNTIMES_DIR, "python", "bootstrap.py")]


def compile_java(task_dir, runtime_jar, sources):
    """Compile user sources (dict path -> code) into task_dir (like a ZIP's classes)."""
    src_dir = os.path.join(str(task_dir), "..", "src")
    write_tree(src_dir, sources)
    files = [os.path.join(src_dir, rel) for rel in sources]
    subprocess.run(
        ["javac", "--release", "17", "-cp", str(runtime_jar), "-d", str(task_dir)] + files, check=True
    )
