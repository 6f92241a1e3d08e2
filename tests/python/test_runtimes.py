"""Every language end to end through Invoke (issue 3): Python, Node.js, Java, Go, C#, Rust and
AWS's own `awslambdaric`, each created with boto3 and invoked in a real execution environment.

The functions are SOURCE fixtures under tests/fixtures/runtimes/<name>/; this module compiles
and zips them at test time:

- Python, Node.js and Java run on Lamina's own shims (runtimes python3.12, nodejs20.x, java17);
  the Java class is compiled with `javac` against a jar built by runtimes/java/build.sh.
- Go (Debian's golang-go, standard library only: no module proxy is reachable), C# (Debian's
  mono-mcs, run by a `bootstrap` script with mono-runtime), Rust (AWS's `lambda_runtime` crate)
  and Python on `awslambdaric` (vendored from PyPI with pip) are custom runtimes
  (provided.al2023) whose zip carries a `bootstrap`.

Each test proves: the echoed payload, `X-Amz-Executed-Version`, the START/END/REPORT lines of
the `LogType=Tail` log, warm reuse (module state survives a second invoke of the same
environment) and a function error (`X-Amz-Function-Error: Unhandled` with the runtime's error
body passed through). `scripts/test` installs the toolchains (apt) and pre-builds the Rust
fixture; a test is skipped, naming the reason, only when its toolchain is not on the machine.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import pytest
from conftest import REPO_ROOT, ROLE_ARN, LaminaServer, unique_name, wait_active

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "runtimes"
RUNTIMES_SRC = REPO_ROOT / "runtimes"

# What every fixture handler is invoked with: nested, unicode, numbers, booleans and null.
EVENT = {"hello": "world", "n": 42, "nested": {"list": [1, "two", True, None]}, "unicode": "h\u00e9llo \u2603"}
SECOND_EVENT = {"second": True}

START_RE = r"^START RequestId: {rid} Version: \$LATEST$"
END_RE = r"^END RequestId: {rid}$"
REPORT_RE = (
    r"^REPORT RequestId: {rid}\tDuration: \d+(\.\d+)? ms\tBilled Duration: \d+ ms\t"
    r"Memory Size: {mem} MB\tMax Memory Used: \d+ MB"
)

# Why a toolchain can be missing: scripts/test installs the Debian ones only as root.
APT_TOOLCHAINS_HINT = "scripts/test installs it with apt-get as root (golang-go, mono-mcs, mono-runtime)"


def cargo_target_dir() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO_ROOT / "target")
    return target if target.is_absolute() else REPO_ROOT / target


def fixture_cache_dir() -> Path:
    """Build outputs that should survive between runs (CI caches CARGO_TARGET_DIR)."""
    path = cargo_target_dir() / "runtime-fixtures"
    path.mkdir(parents=True, exist_ok=True)
    return path


def run(argv: list[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None, timeout: float = 600):
    """Run a build step; on failure, fail the test with its full output."""
    proc = subprocess.run(
        argv,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"build step failed (exit {proc.returncode}): {' '.join(argv)}\n"
            f"--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-6000:]}",
            pytrace=False,
        )
    return proc


def require_tool(name: str, why: str) -> str:
    path = shutil.which(name)
    if not path:
        pytest.skip(f"`{name}` is not installed ({why}); {APT_TOOLCHAINS_HINT}")
    return path


# --------------------------------------------------------------------------------------
# Packages
# --------------------------------------------------------------------------------------

_ZIP_EPOCH = (2020, 1, 1, 0, 0, 0)


def make_package(files: Mapping[str, bytes | str], executables: tuple[str, ...] = ()) -> bytes:
    """A deployment zip; entries named in `executables` get mode 0755, the rest 0644."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(files):
            content = files[name]
            info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so external_attr is read as a mode
            info.external_attr = (0o100755 if name in executables else 0o100644) << 16
            zf.writestr(info, content.encode() if isinstance(content, str) else content)
    return buf.getvalue()


def tree(root: Path, prefix: str = "") -> dict[str, bytes]:
    """Every file under `root` as {zip name: bytes}, skipping bytecode caches."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            out[prefix + path.relative_to(root).as_posix()] = path.read_bytes()
    return out


def fixture_files(name: str, *names: str) -> dict[str, bytes]:
    return {n: (FIXTURES / name / n).read_bytes() for n in names}


# --------------------------------------------------------------------------------------
# Invoke and its assertions
# --------------------------------------------------------------------------------------


@dataclass
class Invoked:
    status: int
    raw: bytes
    function_error: str | None
    version: str | None
    request_id: str
    log: str

    def payload(self) -> Any:
        try:
            return json.loads(self.raw)
        except ValueError:
            raise AssertionError(f"the payload is not JSON: {self.raw[:2000]!r}\nlog:\n{self.log}") from None

    def describe(self) -> str:
        return (
            f"status={self.status} function_error={self.function_error} version={self.version} "
            f"request_id={self.request_id}\npayload={self.raw[:3000]!r}\nlog tail:\n{self.log}"
        )


def invoke(client, name: str, event: Any) -> Invoked:
    resp = client.invoke(FunctionName=name, Payload=json.dumps(event).encode(), LogType="Tail")
    log = base64.b64decode(resp["LogResult"]).decode(errors="replace") if resp.get("LogResult") else ""
    return Invoked(
        status=resp["StatusCode"],
        raw=resp["Payload"].read(),
        function_error=resp.get("FunctionError"),
        version=resp.get("ExecutedVersion"),
        request_id=resp["ResponseMetadata"]["RequestId"],
        log=log,
    )


def deploy(server: LaminaServer, zip_bytes: bytes, runtime: str, handler: str, *, memory: int = 256, timeout: int = 30):
    """CreateFunction with boto3, wait until Active; returns (client, name)."""
    client = server.lambda_client()
    name = unique_name(runtime.replace(".", "-"))
    client.create_function(
        FunctionName=name,
        Role=ROLE_ARN,
        Runtime=runtime,
        Handler=handler,
        Code={"ZipFile": zip_bytes},
        MemorySize=memory,
        Timeout=timeout,
    )
    wait_active(client, name)
    return client, name


def log_lines(inv: Invoked) -> list[str]:
    return inv.log.splitlines()


def assert_log_frame(inv: Invoked, server: LaminaServer, *, memory: int, cold: bool, handler_line: str | None) -> None:
    """The Tail log: START, (the handler's own line), END and REPORT for this request id."""
    context = f"{inv.describe()}\n{server.output_tail(40)}"
    assert inv.log, f"no X-Amz-Log-Result for LogType=Tail\n{context}"
    rid = re.escape(inv.request_id)
    lines = log_lines(inv)
    starts = [i for i, line in enumerate(lines) if re.match(START_RE.format(rid=rid), line)]
    ends = [i for i, line in enumerate(lines) if re.match(END_RE.format(rid=rid), line)]
    reports = [i for i, line in enumerate(lines) if re.match(REPORT_RE.format(rid=rid, mem=memory), line)]
    assert len(starts) == 1 and len(ends) == 1 and len(reports) == 1, f"START/END/REPORT lines\n{context}"
    assert starts[0] < ends[0] < reports[0], f"START, END, REPORT out of order\n{context}"
    if handler_line is not None:
        found = [i for i, line in enumerate(lines) if handler_line in line]
        assert found and starts[0] < found[0] < ends[0], f"the handler's line {handler_line!r}\n{context}"
    report = lines[reports[0]]
    if cold:
        assert "\tInit Duration: " in report, f"a cold start reports Init Duration\n{context}"
    else:
        assert "Init Duration" not in report, f"a warm invoke reports no Init Duration\n{context}"


def assert_echo(inv: Invoked, server: LaminaServer, name: str, runtime_label: str, event: Any, count: int) -> dict:
    context = f"{inv.describe()}\n{server.output_tail(40)}"
    assert inv.status == 200, context
    assert inv.function_error is None, context
    assert inv.version == "$LATEST", context
    body = inv.payload()
    assert isinstance(body, dict), context
    assert body.get("runtime") == runtime_label, context
    assert body.get("event") == event, context
    assert body.get("count") == count, context
    assert body.get("request_id") == inv.request_id, f"the function saw another request id\n{context}"
    assert body.get("function_name") == name, context
    assert body.get("version") == "$LATEST", context
    return body


def prove_echo_warm_and_error(
    server: LaminaServer,
    client,
    name: str,
    *,
    runtime_label: str,
    memory: int,
    handler_line: str,
    error: tuple[str, str] | None,
    decode: Callable[[Invoked], Any] | None = None,
) -> tuple[dict, dict]:
    """Cold invoke, warm invoke, then (when `error` is given) a function error and recovery.

    `error` is (errorType, errorMessage) that the runtime reports for {"fail": "on purpose"};
    `decode` turns a successful payload into the echo object when it is not that directly.
    """

    def echo(event: Any, count: int, cold: bool) -> dict:
        inv = invoke(client, name, event)
        if decode is not None:
            inv = dataclasses.replace(inv, raw=json.dumps(decode(inv)).encode())
        body = assert_echo(inv, server, name, runtime_label, event, count)
        assert_log_frame(inv, server, memory=memory, cold=cold, handler_line=f"{handler_line} {inv.request_id}")
        return body

    first = echo(EVENT, 1, cold=True)
    second = echo(SECOND_EVENT, 2, cold=False)
    assert second["instance"] == first["instance"], "the second invoke ran in a new environment (not warm)"

    if error is not None:
        inv = invoke(client, name, {"fail": "on purpose"})
        context = f"{inv.describe()}\n{server.output_tail(40)}"
        assert inv.status == 200, context
        assert inv.function_error == "Unhandled", context
        assert inv.version == "$LATEST", context
        body = inv.payload()
        assert isinstance(body, dict), context
        assert (body.get("errorType"), body.get("errorMessage")) == error, context
        assert_log_frame(inv, server, memory=memory, cold=False, handler_line=None)
        # A function error is no crash: the same warm environment serves the next invoke.
        after = echo({"after": "error"}, 4, cold=False)
        assert after["instance"] == first["instance"], "the environment was replaced after a function error"
    return first, second


# --------------------------------------------------------------------------------------
# 1. Python on Lamina's shim (covered in depth by crates/lamina/tests/e2e/invoke.rs)
# --------------------------------------------------------------------------------------


def test_python312_shim_smoke(server: LaminaServer):
    zip_bytes = make_package(fixture_files("python", "app.py"))
    client, name = deploy(server, zip_bytes, "python3.12", "app.handler")
    prove_echo_warm_and_error(
        server,
        client,
        name,
        runtime_label="python",
        memory=256,
        handler_line="python handler saw request",
        error=("ValueError", "asked to fail: on purpose"),
    )


# --------------------------------------------------------------------------------------
# 2. Node.js on Lamina's shim
# --------------------------------------------------------------------------------------


@pytest.fixture
def node_available():
    if not Path("/usr/bin/node").exists():
        pytest.skip("/usr/bin/node is not installed (the nodejs*.x runtimes run the host's node)")


def nodejs_cjs_zip() -> bytes:
    return make_package(fixture_files("nodejs-cjs", "index.js"))


def test_nodejs20_commonjs_async_handler(server: LaminaServer, node_available):
    client, name = deploy(server, nodejs_cjs_zip(), "nodejs20.x", "index.handler")
    first, _ = prove_echo_warm_and_error(
        server,
        client,
        name,
        runtime_label="nodejs",
        memory=256,
        handler_line="nodejs async handler saw request",
        error=None,
    )
    assert first["kind"] == "async"


def test_nodejs20_es_module_handler(server: LaminaServer, node_available):
    zip_bytes = make_package(fixture_files("nodejs-esm", "index.mjs"))
    client, name = deploy(server, zip_bytes, "nodejs20.x", "index.handler")
    first, _ = prove_echo_warm_and_error(
        server,
        client,
        name,
        runtime_label="nodejs",
        memory=256,
        handler_line="nodejs esm handler saw request",
        error=("TypeError", "asked to fail: on purpose"),
    )
    assert first["kind"] == "esm"
    assert first["module_type"] == "module", "index.mjs was not loaded as an ES module"
    assert first["loaded"] is True


def test_nodejs20_callback_handler(server: LaminaServer, node_available):
    client, name = deploy(server, nodejs_cjs_zip(), "nodejs20.x", "index.callback")
    first, _ = prove_echo_warm_and_error(
        server,
        client,
        name,
        runtime_label="nodejs",
        memory=256,
        handler_line="nodejs callback handler saw request",
        error=("RangeError", "asked to fail: on purpose"),
    )
    assert first["kind"] == "callback"


def test_nodejs20_thrown_error_is_an_unhandled_function_error(server: LaminaServer, node_available):
    client, name = deploy(server, nodejs_cjs_zip(), "nodejs20.x", "index.fail")
    inv = invoke(client, name, {"fail": "thrown"})
    context = f"{inv.describe()}\n{server.output_tail(40)}"
    assert inv.status == 200, context
    assert inv.function_error == "Unhandled", context
    assert inv.version == "$LATEST", context
    body = inv.payload()
    assert body.get("errorType") == "EchoError", context
    assert body.get("errorMessage") == "asked to fail: thrown", context
    # AWS's Node.js runtime posts the stack as `trace`, a list of lines.
    assert isinstance(body.get("trace"), list) and body["trace"][0].startswith("EchoError: asked to fail"), context
    assert_log_frame(inv, server, memory=256, cold=True, handler_line=None)
    # The runtime logs the error between START and END, as AWS's does.
    assert "EchoError" in inv.log, context
    # The environment survives a thrown error: the next invoke is warm.
    again = invoke(client, name, {"fail": "again"})
    assert again.function_error == "Unhandled", again.describe()
    assert again.payload().get("errorMessage") == "asked to fail: again", again.describe()
    assert_log_frame(again, server, memory=256, cold=False, handler_line=None)


# --------------------------------------------------------------------------------------
# 3. Java on Lamina's shim
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def java_hello_classes(tmp_path_factory) -> dict[str, bytes]:
    """example/Hello.class compiled against a jar that runtimes/java/build.sh builds now."""
    javac = require_tool("javac", "a JDK compiles the Java fixture; Lamina's java* runtimes need one")
    require_tool("jar", "runtimes/java/build.sh packages the interfaces with it")
    work = tmp_path_factory.mktemp("java")
    jar = work / "lamina-java-runtime.jar"
    run(["sh", str(RUNTIMES_SRC / "java" / "build.sh"), str(jar)])
    out = work / "classes"
    run(
        [
            javac,
            "--release",
            "17",
            "-encoding",
            "UTF-8",
            "-cp",
            str(jar),
            "-d",
            str(out),
            str(FIXTURES / "java" / "example" / "Hello.java"),
        ]
    )
    classes = tree(out)
    assert "example/Hello.class" in classes, classes.keys()
    return classes


def test_java17_request_handler(server: LaminaServer, java_hello_classes):
    if not Path("/usr/bin/java").exists():
        pytest.skip("/usr/bin/java is not installed (the java* runtimes run the host's JVM)")
    client, name = deploy(
        server, make_package(java_hello_classes), "java17", "example.Hello::handleRequest", memory=512
    )

    def decode_twice(inv: Invoked) -> Any:
        # RequestHandler<Map<String,Object>,String>: the String is serialised as a JSON string.
        outer = inv.payload()
        assert isinstance(outer, str), f"a String return is a JSON string\n{inv.describe()}"
        return json.loads(outer)

    prove_echo_warm_and_error(
        server,
        client,
        name,
        runtime_label="java",
        memory=512,
        handler_line="java handler saw request",
        error=("java.lang.IllegalStateException", "asked to fail: on purpose"),
        decode=decode_twice,
    )


# --------------------------------------------------------------------------------------
# 4. Go: a provided.al2023 bootstrap built with Debian's golang-go
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def go_bootstrap(tmp_path_factory) -> bytes:
    go = require_tool("go", "Debian's golang-go builds the Go fixture")
    out = tmp_path_factory.mktemp("go") / "bootstrap"
    env = {
        "CGO_ENABLED": "0",  # a static binary: nothing to resolve inside the sandbox
        "GOFLAGS": "-mod=mod",
        "GOPROXY": "off",  # the standard library only: prove no module is fetched
        "GOTOOLCHAIN": "local",
        "GOCACHE": os.environ.get("GOCACHE") or str(fixture_cache_dir() / "go-build"),
    }
    run([go, "build", "-trimpath", "-ldflags=-s -w", "-o", str(out), "."], cwd=FIXTURES / "go", env=env)
    return out.read_bytes()


@pytest.mark.timeout(900)
def test_go_provided_al2023_bootstrap(server: LaminaServer, go_bootstrap):
    zip_bytes = make_package({"bootstrap": go_bootstrap}, executables=("bootstrap",))
    client, name = deploy(server, zip_bytes, "provided.al2023", "bootstrap")
    first, _ = prove_echo_warm_and_error(
        server,
        client,
        name,
        runtime_label="go",
        memory=256,
        handler_line="go handler saw request",
        error=("EchoError", "asked to fail: on purpose"),
    )
    assert first["go_version"].startswith("go1."), first


# --------------------------------------------------------------------------------------
# 5. C#: compiled with Debian's mono-mcs, run by mono-runtime from the zip's bootstrap
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def csharp_package(tmp_path_factory) -> bytes:
    mcs = require_tool("mcs", "Debian's mono-mcs compiles the C# fixture")
    if not Path("/usr/bin/mono").exists():
        pytest.skip(f"/usr/bin/mono is not installed; {APT_TOOLCHAINS_HINT}")
    out = tmp_path_factory.mktemp("csharp") / "Function.exe"
    run([mcs, "-nologo", "-optimize+", f"-out:{out}", str(FIXTURES / "csharp" / "Function.cs")])
    files = fixture_files("csharp", "bootstrap")
    files["Function.exe"] = out.read_bytes()
    return make_package(files, executables=("bootstrap",))


def test_csharp_mono_provided_al2023_bootstrap(server: LaminaServer, csharp_package):
    client, name = deploy(server, csharp_package, "provided.al2023", "Function::Main")
    prove_echo_warm_and_error(
        server,
        client,
        name,
        runtime_label="csharp",
        memory=256,
        handler_line="csharp handler saw request",
        error=("EchoError", 'asked to fail by {"fail": "on purpose"}'),
    )


# --------------------------------------------------------------------------------------
# 6. Rust on AWS's lambda_runtime crate
# --------------------------------------------------------------------------------------


def rust_fixture_target_dir() -> Path:
    return fixture_cache_dir() / "rust-echo"


@pytest.fixture(scope="session")
def rust_bootstrap() -> bytes:
    cargo = shutil.which("cargo")
    if not cargo:
        pytest.fail("cargo is not on PATH (it built lamina itself)")
    manifest = FIXTURES / "rust-echo" / "Cargo.toml"
    target = rust_fixture_target_dir()
    # scripts/test runs the same command before pytest; here it is a no-op unless sources changed.
    run(
        [cargo, "build", "--release", "--locked", "--manifest-path", str(manifest), "--target-dir", str(target)],
        timeout=1800,
    )
    return (target / "release" / "bootstrap").read_bytes()


@pytest.mark.timeout(1800)
def test_rust_lambda_runtime_crate(server: LaminaServer, rust_bootstrap):
    zip_bytes = make_package({"bootstrap": rust_bootstrap}, executables=("bootstrap",))
    client, name = deploy(server, zip_bytes, "provided.al2023", "bootstrap")
    prove_echo_warm_and_error(
        server,
        client,
        name,
        runtime_label="rust",
        memory=256,
        handler_line="rust handler saw request",
        error=("EchoError", 'asked to fail: "on purpose"'),
    )


# --------------------------------------------------------------------------------------
# 7. Python on AWS's awslambdaric (PyPI), started by a bootstrap script
# --------------------------------------------------------------------------------------

# The sandbox runs the host's Debian python3; the vendored wheels must match its version.
SANDBOX_PYTHON = Path("/usr/bin/python3")


@pytest.fixture(scope="session")
def awslambdaric_vendor() -> Path:
    """awslambdaric and its dependencies, pinned, installed for the sandbox's interpreter."""
    if not SANDBOX_PYTHON.exists():
        pytest.skip("/usr/bin/python3 is not installed (the bootstrap script runs it)")
    version = subprocess.run(
        [str(SANDBOX_PYTHON), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    requirements = FIXTURES / "awslambdaric" / "requirements.txt"
    key = hashlib.sha256(requirements.read_bytes() + version.encode()).hexdigest()[:16]
    vendor = fixture_cache_dir() / f"awslambdaric-{key}"
    if (vendor / ".complete").exists():
        return vendor
    staging = vendor.with_name(vendor.name + f".tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    abi = "cp" + version.replace(".", "")
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--no-deps",
            "--target",
            str(staging),
            "--only-binary=:all:",
            "--python-version",
            version,
            "--implementation",
            "cp",
            "--abi",
            abi,
            "--platform",
            "manylinux2014_x86_64",
            "-r",
            str(requirements),
        ]
    )
    (staging / ".complete").write_text("ok\n")
    shutil.rmtree(vendor, ignore_errors=True)
    staging.rename(vendor)
    return vendor


def test_awslambdaric_bootstrap_script(server: LaminaServer, awslambdaric_vendor: Path):
    files = tree(awslambdaric_vendor)
    files.pop(".complete")
    files.update(fixture_files("awslambdaric", "app.py", "bootstrap"))
    zip_bytes = make_package(files, executables=("bootstrap",))
    client, name = deploy(server, zip_bytes, "provided.al2023", "app.handler")
    first, _ = prove_echo_warm_and_error(
        server,
        client,
        name,
        runtime_label="awslambdaric",
        memory=256,
        handler_line="awslambdaric handler saw request",
        error=("EchoError", "asked to fail: on purpose"),
    )
    assert first["ric_file"].startswith("/var/task/awslambdaric/"), first
