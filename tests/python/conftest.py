"""Harness for the Python end-to-end suite: starts the real `lamina` binary and drives it.

Every test gets its own server: `lamina server --listen 127.0.0.1:0` on a fresh data
directory with fixed root credentials. The harness learns the port from the one
`listening on http://127.0.0.1:PORT` line the server prints on stdout (read under a 10 s
deadline; no sleeping, no port polling), and on teardown sends SIGTERM and requires exit
status 0 within 10 s.

The binary comes from `LAMINA_BIN`, else `$CARGO_TARGET_DIR/debug/lamina`, else
`<repo>/target/debug/lamina`. `scripts/test` builds it and sets `LAMINA_BIN`.
"""

from __future__ import annotations

import base64
import ctypes
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import uuid
import zipfile
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping
from unittest import mock
from urllib.parse import urlsplit

import boto3
import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

REPO_ROOT = Path(__file__).resolve().parents[2]

REGION = "us-east-1"
# AWS's message for a zip it cannot unpack (spec section 8).
INVALID_ZIP = "Could not unzip uploaded file. Please check your file, then try to upload again."
# A non-default account id, so tests prove `--account-id` reaches every ARN.
ACCOUNT_ID = "123456789012"
ACCESS_KEY_ID = "AKIALAMINATESTROOT00"
SECRET_ACCESS_KEY = "lamina/test/Secret+Access+Key0123456789ab"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT_ID}:role/lambda-role"
RUNTIME = "python3.12"
HANDLER = "index.handler"

STARTUP_TIMEOUT_S = 10.0
SHUTDOWN_TIMEOUT_S = 10.0
LISTENING_RE = re.compile(r"^listening on (http://127\.0\.0\.1:(\d{1,5}))$")
UUID4_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")

PYTHON_HANDLER = "def handler(event, context):\n    return event\n"


# --------------------------------------------------------------------------------------
# Zip helpers (in memory, deterministic: fixed timestamps and permissions)
# --------------------------------------------------------------------------------------

_ZIP_EPOCH = (2020, 1, 1, 0, 0, 0)


def make_zip(
    files: Mapping[str, str | bytes],
    *,
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    """Build a zip from `{name: content}`; names are stored exactly as given."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = compression
            info.external_attr = 0o100644 << 16
            info.create_system = 3  # unix, so external_attr is read as a mode
            zf.writestr(info, content.encode() if isinstance(content, str) else content)
    return buf.getvalue()


def make_symlink_zip(link_name: str, target: str, extra: Mapping[str, str] | None = None) -> bytes:
    """A zip whose entry `link_name` is a unix symlink pointing at `target`."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in (extra or {}).items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.external_attr = 0o100644 << 16
            info.create_system = 3
            zf.writestr(info, content)
        info = zipfile.ZipInfo(link_name, date_time=_ZIP_EPOCH)
        info.create_system = 3
        info.external_attr = 0o120777 << 16  # S_IFLNK | 0777
        zf.writestr(info, target)
    return buf.getvalue()


def handler_zip(marker: str | None = None) -> bytes:
    """A small valid Python function zip; `marker` makes its bytes (and CodeSha256) unique."""
    source = PYTHON_HANDLER if marker is None else f"{PYTHON_HANDLER}# {marker}\n"
    return make_zip({"index.py": source})


def code_sha256(data: bytes) -> str:
    """What Lambda reports as CodeSha256: base64 of the SHA-256 digest of the zip."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def unique_name(prefix: str = "fn") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def function_arn(name: str, qualifier: str | None = None, *, region: str = REGION) -> str:
    arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def create_kwargs(name: str, zip_bytes: bytes | None = None, **overrides: Any) -> dict[str, Any]:
    """Minimal CreateFunction arguments (name, role, zip code, runtime, handler)."""
    kwargs: dict[str, Any] = {
        "FunctionName": name,
        "Role": ROLE_ARN,
        "Runtime": RUNTIME,
        "Handler": HANDLER,
        "Code": {"ZipFile": zip_bytes if zip_bytes is not None else handler_zip(name)},
    }
    kwargs.update(overrides)
    return kwargs


# --------------------------------------------------------------------------------------
# HTTP helpers
# --------------------------------------------------------------------------------------


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    @property
    def error_type(self) -> str | None:
        return self.headers.get("x-amzn-errortype")

    @property
    def request_id(self) -> str | None:
        return self.headers.get("x-amzn-requestid")

    def message(self) -> str:
        """The error message, whatever the body key's capitalisation."""
        try:
            body = self.json()
        except ValueError:
            return self.body.decode(errors="replace")
        if isinstance(body, dict):
            return body.get("message") or body.get("Message") or ""
        return ""

    def describe(self) -> str:
        return f"HTTP {self.status} headers={self.headers} body={self.body[:2000]!r}"


def http_get(url: str, *, method: str = "GET", timeout: float = 30.0) -> RawResponse:
    """A plain, unsigned HTTP request with urllib (never raises on HTTP error statuses)."""
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return RawResponse(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as err:
        return RawResponse(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())


def send_raw(
    endpoint: str,
    method: str,
    path_and_query: str,
    headers: Mapping[str, str],
    body: bytes = b"",
    *,
    timeout: float = 30.0,
) -> RawResponse:
    """Send exactly these headers and body with http.client (no retries, no added signing)."""
    parts = urlsplit(endpoint)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        conn.putrequest(method, path_and_query, skip_host=True, skip_accept_encoding=True)
        sent = {k.lower() for k in headers}
        for name, value in headers.items():
            conn.putheader(name, value)
        if "host" not in sent:
            conn.putheader("Host", parts.netloc)
        if "content-length" not in sent and (body or method in ("POST", "PUT")):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body if body else None)
        resp = conn.getresponse()
        return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def sign_request(
    method: str,
    url: str,
    *,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    access_key_id: str = ACCESS_KEY_ID,
    secret_access_key: str = SECRET_ACCESS_KEY,
    region: str = REGION,
    service: str = "lambda",
    at: datetime | None = None,
) -> dict[str, str]:
    """SigV4-sign a request with botocore's own signer; returns the headers to send.

    `at` signs as if the clock said that time (for expired / not-yet-valid requests).
    """
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    signer = botocore.auth.SigV4Auth(Credentials(access_key_id, secret_access_key), service, region)
    clock = mock.patch.object(botocore.auth, "get_current_datetime", return_value=at) if at else nullcontext()
    with clock:
        signer.add_auth(request)
    return {k: v for k, v in request.headers.items()}


def presign_url(
    url: str,
    *,
    access_key_id: str = ACCESS_KEY_ID,
    secret_access_key: str = SECRET_ACCESS_KEY,
    region: str = REGION,
    service: str = "lambda",
    expires: int = 600,
    at: datetime | None = None,
) -> str:
    """SigV4 query-string presign of a GET `url` (what a download URL looks like)."""
    request = AWSRequest(method="GET", url=url)
    signer = botocore.auth.SigV4QueryAuth(
        Credentials(access_key_id, secret_access_key), service, region, expires=expires
    )
    clock = mock.patch.object(botocore.auth, "get_current_datetime", return_value=at) if at else nullcontext()
    with clock:
        signer.add_auth(request)
    return request.url


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


# --------------------------------------------------------------------------------------
# The server under test
# --------------------------------------------------------------------------------------


class AwsCliError(Exception):
    def __init__(self, args: list[str], returncode: int, stdout: str, stderr: str):
        super().__init__(f"aws {' '.join(args)} exited {returncode}\nstderr:\n{stderr}\nstdout:\n{stdout}")
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


def lamina_binary() -> Path:
    if os.environ.get("LAMINA_BIN"):
        return Path(os.environ["LAMINA_BIN"])
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR") or REPO_ROOT / "target")
    if not target_dir.is_absolute():
        target_dir = REPO_ROOT / target_dir
    return target_dir / "debug" / "lamina"


def aws_cli_binary() -> str:
    candidate = Path(sys.executable).parent / "aws"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("aws")
    if not found:
        pytest.fail("the AWS CLI is not installed: run scripts/test (it installs tests/python/requirements.txt)")
    return found


def _die_with_parent() -> None:
    """Child-side: get SIGTERM if the test runner dies, so no server is ever left behind."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


@dataclass
class LaminaServer:
    """One `lamina server` process on a data directory that survives restarts."""

    binary: Path
    data_dir: Path
    region: str = REGION
    account_id: str = ACCOUNT_ID
    credentials: tuple[str, str] | None = (ACCESS_KEY_ID, SECRET_ACCESS_KEY)
    extra_args: list[str] = field(default_factory=list)

    endpoint: str = ""
    port: int = 0
    proc: subprocess.Popen | None = None
    stdout_lines: list[str] = field(default_factory=list)
    stderr_lines: list[str] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _readers: list[threading.Thread] = field(default_factory=list)
    _clients: list[Any] = field(default_factory=list)
    _stdout_eof: bool = False

    # ---- process control --------------------------------------------------------------

    @property
    def access_key_id(self) -> str:
        assert self.credentials, "server runs with generated credentials; read them from stderr"
        return self.credentials[0]

    @property
    def secret_access_key(self) -> str:
        assert self.credentials, "server runs with generated credentials; read them from stderr"
        return self.credentials[1]

    def command(self) -> list[str]:
        return [
            str(self.binary),
            "server",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            str(self.data_dir),
            "--region",
            self.region,
            "--account-id",
            self.account_id,
            *self.extra_args,
        ]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LAMINA_"))}
        env.setdefault("RUST_BACKTRACE", "1")
        if self.credentials is not None:
            env["LAMINA_ROOT_ACCESS_KEY_ID"] = self.credentials[0]
            env["LAMINA_ROOT_SECRET_ACCESS_KEY"] = self.credentials[1]
        return env

    def start(self) -> None:
        if not self.binary.exists():
            pytest.fail(
                f"lamina binary not found at {self.binary}: run `cargo build -p lamina` "
                "(or scripts/test), or point LAMINA_BIN at it"
            )
        self.stdout_lines = []
        self.stderr_lines = []
        self._stdout_eof = False
        self.proc = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=self.environment(),
            preexec_fn=_die_with_parent,
        )
        self._readers = [
            threading.Thread(target=self._pump, args=(self.proc.stdout, self.stdout_lines, True), daemon=True),
            threading.Thread(target=self._pump, args=(self.proc.stderr, self.stderr_lines, False), daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        line = self.wait_for_stdout(LISTENING_RE, STARTUP_TIMEOUT_S)
        match = LISTENING_RE.match(line)
        assert match
        self.endpoint = match.group(1)
        self.port = int(match.group(2))
        assert 0 < self.port < 65536, line

    def _pump(self, stream, sink: list[str], is_stdout: bool) -> None:
        for raw in iter(stream.readline, b""):
            with self._cond:
                sink.append(raw.decode(errors="replace").rstrip("\r\n"))
                self._cond.notify_all()
        with self._cond:
            if is_stdout:
                self._stdout_eof = True
            self._cond.notify_all()

    def _wait_for_line(self, lines: list[str], pattern: re.Pattern[str], timeout: float, what: str) -> str:
        def found() -> str | None:
            return next((line for line in lines if pattern.search(line)), None)

        with self._cond:
            ok = self._cond.wait_for(lambda: found() is not None or self._stdout_eof, timeout)
            line = found()
        if line is not None:
            return line
        reason = "the server exited" if ok else f"no such line within {timeout:.0f} s"
        raise AssertionError(
            f"waiting for {what} matching {pattern.pattern!r}: {reason} "
            f"(exit status {self.proc.poll() if self.proc else None})\n{self.output_tail()}"
        )

    def wait_for_stdout(self, pattern: re.Pattern[str], timeout: float = STARTUP_TIMEOUT_S) -> str:
        return self._wait_for_line(self.stdout_lines, pattern, timeout, "stdout line")

    def wait_for_stderr(self, pattern: re.Pattern[str], timeout: float = STARTUP_TIMEOUT_S) -> str:
        return self._wait_for_line(self.stderr_lines, pattern, timeout, "stderr line")

    def output_tail(self, lines: int = 60) -> str:
        with self._cond:
            out = "\n".join(self.stdout_lines[-lines:])
            err = "\n".join(self.stderr_lines[-lines:])
        return f"--- lamina stdout ---\n{out}\n--- lamina stderr (last {lines} lines) ---\n{err}"

    def stop(self) -> int:
        """SIGTERM, wait up to 10 s, return the exit status (kills and fails if it hangs)."""
        for client in self._clients:
            client.close()
        self._clients.clear()
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=SHUTDOWN_TIMEOUT_S)
            except subprocess.TimeoutExpired as err:
                self.proc.kill()
                self.proc.wait()
                for reader in self._readers:
                    reader.join(timeout=5)
                raise AssertionError(
                    f"lamina did not exit within {SHUTDOWN_TIMEOUT_S:.0f} s of SIGTERM\n{self.output_tail()}"
                ) from err
        for reader in self._readers:
            reader.join(timeout=5)
        return self.proc.returncode

    def stop_cleanly(self) -> None:
        code = self.stop()
        assert code == 0, f"lamina exited with status {code} after SIGTERM (expected 0)\n{self.output_tail()}"

    def restart(self) -> None:
        """Stop (expecting exit 0) and start again on the same data dir; the port changes."""
        self.stop_cleanly()
        self.start()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    # ---- clients ----------------------------------------------------------------------

    def lambda_client(
        self,
        *,
        parameter_validation: bool = True,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        region: str | None = None,
    ):
        """A boto3 Lambda client for this server; errors are never retried."""
        session = boto3.session.Session(
            aws_access_key_id=access_key_id or self.access_key_id,
            aws_secret_access_key=secret_access_key or self.secret_access_key,
            region_name=region or self.region,
        )
        client = session.client(
            "lambda",
            endpoint_url=self.endpoint,
            config=Config(
                # total_max_attempts=1: exactly one attempt, so a wrong 5xx is seen as-is
                # (note `max_attempts` counts *retries* in botocore: 1 would mean 2 calls).
                retries={"mode": "standard", "total_max_attempts": 1},
                parameter_validation=parameter_validation,
                connect_timeout=10,
                read_timeout=120,
            ),
        )
        self._clients.append(client)
        return client

    def cli_env(self, **overrides: str) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.data_dir.parent),
            "LANG": "C.UTF-8",
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_MAX_ATTEMPTS": "1",
            "AWS_RETRY_MODE": "standard",
            "AWS_PAGER": "",
        }
        env.update(overrides)
        return env

    def aws_cli(self, *args: str, env: Mapping[str, str] | None = None, timeout: float = 120) -> Any:
        """Run the AWS CLI against this server (endpoint and credentials from the environment).

        Returns the parsed JSON output (None for no output) or raises AwsCliError.
        """
        argv = [aws_cli_binary(), *args, "--output", "json"]
        proc = subprocess.run(
            argv,
            env=self.cli_env(**(env or {})),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if proc.returncode != 0:
            raise AwsCliError(list(args), proc.returncode, proc.stdout, proc.stderr)
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    # ---- raw signed requests ----------------------------------------------------------

    def url(self, path_and_query: str) -> str:
        return f"{self.endpoint}{path_and_query}"

    def signed(
        self,
        method: str,
        path_and_query: str,
        *,
        body: bytes | dict | None = None,
        headers: Mapping[str, str] | None = None,
        send_body: bytes | None = None,
        **sign_args: Any,
    ) -> RawResponse:
        """SigV4-sign and send a request; `send_body` replaces the body after signing."""
        if isinstance(body, dict):
            body = json.dumps(body).encode()
        body = body or b""
        hdrs = dict(headers or {})
        if body and not any(k.lower() == "content-type" for k in hdrs):
            hdrs["Content-Type"] = "application/json"
        sign_args.setdefault("access_key_id", self.access_key_id)
        sign_args.setdefault("secret_access_key", self.secret_access_key)
        sign_args.setdefault("region", self.region)
        signed_headers = sign_request(method, self.url(path_and_query), body=body, headers=hdrs, **sign_args)
        return send_raw(
            self.endpoint, method, path_and_query, signed_headers, send_body if send_body is not None else body
        )

    # ---- files on disk ----------------------------------------------------------------

    def data_files(self) -> list[Path]:
        return sorted(p for p in self.data_dir.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.fixture
def server(tmp_path: Path) -> Iterable[LaminaServer]:
    """A running `lamina server` with a temp data dir and fixed root credentials."""
    srv = LaminaServer(binary=lamina_binary(), data_dir=tmp_path / "data")
    try:
        srv.start()
    except BaseException:
        srv.kill()
        raise
    try:
        yield srv
    finally:
        if srv.proc is not None and srv.proc.poll() is None:
            srv.stop_cleanly()


@pytest.fixture
def server_factory(tmp_path: Path):
    """Start extra servers with non-default options (e.g. generated credentials)."""
    started: list[LaminaServer] = []

    def factory(**kwargs: Any) -> LaminaServer:
        kwargs.setdefault("data_dir", tmp_path / f"data-{len(started)}")
        srv = LaminaServer(binary=lamina_binary(), **kwargs)
        started.append(srv)
        srv.start()
        return srv

    yield factory
    for srv in started:
        if srv.proc is not None and srv.proc.poll() is None:
            srv.stop_cleanly()


@pytest.fixture
def lambda_client(server: LaminaServer):
    return server.lambda_client()


# --------------------------------------------------------------------------------------
# Shared assertions and actions
# --------------------------------------------------------------------------------------


def wait_active(client, name: str) -> None:
    client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def wait_updated(client, name: str) -> None:
    client.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})


def create_active(client, name: str | None = None, zip_bytes: bytes | None = None, **overrides: Any) -> dict:
    """CreateFunction and wait until Active; returns the CreateFunction response."""
    name = name or unique_name()
    resp = client.create_function(**create_kwargs(name, zip_bytes, **overrides))
    wait_active(client, name)
    return resp


def download(url: str) -> bytes:
    resp = http_get(url)
    assert resp.status == 200, f"GET {url} -> {resp.describe()}"
    return resp.body


def error_of(exc_info) -> tuple[int, str, str]:
    """(HTTP status, error code, message) of a botocore ClientError."""
    response = exc_info.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"].get("Message", ""),
    )


def snapshot_functions(client) -> dict[str, dict]:
    """Every function's full GetFunction configuration, to prove a request changed nothing."""
    names = [f["FunctionName"] for page in client.get_paginator("list_functions").paginate() for f in page["Functions"]]
    snap = {}
    for name in names:
        resp = client.get_function(FunctionName=name)
        resp.pop("ResponseMetadata")
        resp["Code"].pop("Location", None)  # presigned: differs per call
        snap[name] = resp
    return snap
