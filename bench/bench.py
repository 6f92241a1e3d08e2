#!/usr/bin/env python3
"""Lamina benchmark driver (run by hand through bench/run.sh; prints figures).

Starts the release `lamina` on a temporary data dir and 127.0.0.1:0, deploys a Rust echo
(official `lambda_runtime`, provided.al2023) and a Python echo (python3.12, app.handler), then
measures, with baselines taken in the same run:

  warm     latency p50/p99 (sequential, one keep-alive connection) and throughput at several
           concurrencies, through `loadgen` (bench/loadgen: Rust, SigV4-signed). Baselines: a
           trivial HTTP server (client + loopback floor), GetAccountSettings (a signed request
           that runs no function: HTTP + SigV4 + one SQLite read) and Invoke with
           InvocationType=DryRun (the whole Invoke handler except the engine).
           Platform overhead = Invoke p50 - GetAccountSettings p50 (target < 100 us).
  engine   the REPORT line's Duration of warm invokes (LogType=Tail): the engine's view of one
           invocation, from handing the event to the runtime to the runtime's next /next.
  cold     Invoke -> response for a new environment (forced by changing an environment
           variable, which retires the warm ones), next to bare `python3 -c pass` and
           `python3 -c 'import json, http.client'` starts of the same interpreter
           (/usr/bin/python3), interleaved run by run (target: cold <= 1.5x bare).
  peer     optionally (--peer) cargo-lambda on this machine: the shared peer script
           (shared/bench/peers/run_cargo_lambda_peer.sh, client hey) and the same loadgen
           (unsigned) against `cargo lambda watch`.

Every warm measurement is repeated (--repeats) and the median is reported; the host is noisy
(2 cores shared with other jobs), so only ratios against baselines of the same run mean much.
Only the Python standard library is used here; SigV4 for the control plane is below.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ACCESS_KEY = "LKIABENCH00000000001"
SECRET_KEY = "bench/secret/key/only/for/127.0.0.1/runs"
REGION = "us-east-1"
ROLE = "arn:aws:iam::000000000000:role/lambda"
PAYLOAD = b'{"hello":"world"}'
BARE_PYTHON = "/usr/bin/python3"  # the interpreter the python3.x runtime runs


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---------------------------------------------------------------------------------------------
# SigV4 (header form), stdlib only: for the control plane and the cold-start invokes, which
# are signed *before* the clock starts.
# ---------------------------------------------------------------------------------------------
def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def sign(method, host, path, query, headers, body):
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    h = {k.lower(): " ".join(str(v).split()) for k, v in headers.items()}
    h["host"] = host
    h["x-amz-date"] = amz_date
    names = sorted(h)
    signed_headers = ";".join(names)
    canonical_headers = "".join("%s:%s\n" % (k, h[k]) for k in names)
    q = lambda s: urllib.parse.quote(s, safe="-_.~")
    canonical_query = "&".join("%s=%s" % (q(k), q(v)) for k, v in sorted(query))
    canonical_path = urllib.parse.quote(path, safe="/-_.~")
    creq = "\n".join([method, canonical_path, canonical_query, canonical_headers,
                      signed_headers, hashlib.sha256(body).hexdigest()])
    scope = "%s/%s/lambda/aws4_request" % (day, REGION)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    k = _hmac(("AWS4" + SECRET_KEY).encode(), day)
    for part in (REGION, "lambda", "aws4_request"):
        k = _hmac(k, part)
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    h["authorization"] = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        ACCESS_KEY, scope, signed_headers, sig)
    del h["host"]  # http.client sends it
    return h


class Api:
    """A signed Lambda API client on one keep-alive connection."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.hostport = "%s:%d" % (host, port)
        self.conn = None

    def prepare(self, method, path, body=b"", headers=None, query=()):
        headers = dict(headers or {})
        if body:
            headers.setdefault("content-type", "application/json")
        full = path + ("?" + urllib.parse.urlencode(list(query)) if query else "")
        return method, full, body, sign(method, self.hostport, path, query, headers, body)

    def send(self, prepared):
        method, full, body, headers = prepared
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            try:
                self.conn.request(method, full, body=body, headers=headers)
                r = self.conn.getresponse()
                data = r.read()
                return r.status, {k.lower(): v for k, v in r.getheaders()}, data
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise

    def call(self, method, path, body=None, headers=None, query=(), ok=(200, 201, 202, 204)):
        raw = json.dumps(body).encode() if isinstance(body, (dict, list)) else (body or b"")
        status, hdrs, data = self.send(self.prepare(method, path, raw, headers, query))
        if status not in ok:
            raise RuntimeError("%s %s -> HTTP %d: %s" % (method, path, status, data[:500]))
        return status, hdrs, data

    # --- operations -------------------------------------------------------------------------
    def create_function(self, name, runtime, handler, zip_bytes, memory):
        self.call("POST", "/2015-03-31/functions", {
            "FunctionName": name, "Runtime": runtime, "Handler": handler, "Role": ROLE,
            "Code": {"ZipFile": base64.b64encode(zip_bytes).decode()},
            "MemorySize": memory, "Timeout": 30,
        })
        self.wait_ready(name)

    def configuration(self, name):
        return json.loads(self.call("GET", "/2015-03-31/functions/%s/configuration" % name)[2])

    def wait_ready(self, name, timeout=120):
        deadline = time.time() + timeout
        while time.time() < deadline:
            c = self.configuration(name)
            if c.get("State") == "Active" and c.get("LastUpdateStatus") in (None, "Successful"):
                return c
            if c.get("State") == "Failed" or c.get("LastUpdateStatus") == "Failed":
                raise RuntimeError("function %s failed: %s" % (name, c))
            time.sleep(0.02)
        raise RuntimeError("function %s not active after %ds" % (name, timeout))

    def set_env(self, name, variables):
        self.call("PUT", "/2015-03-31/functions/%s/configuration" % name,
                  {"Environment": {"Variables": variables}})
        self.wait_ready(name)

    def prepare_invoke(self, name, payload=PAYLOAD, tail=False):
        headers = {"x-amz-log-type": "Tail"} if tail else {}
        return self.prepare("POST", "/2015-03-31/functions/%s/invocations" % name, payload, headers)

    def invoke(self, name, payload=PAYLOAD, tail=False):
        status, hdrs, data = self.send(self.prepare_invoke(name, payload, tail))
        if status != 200 or "x-amz-function-error" in hdrs:
            raise RuntimeError("invoke %s -> HTTP %d %s: %s" % (
                name, status, hdrs.get("x-amz-function-error", ""), data[:500]))
        return hdrs, data


def report_fields(hdrs):
    """Duration and Init Duration (ms) from the REPORT line of X-Amz-Log-Result."""
    tail = base64.b64decode(hdrs.get("x-amz-log-result", "")).decode(errors="replace")
    line = next((l for l in tail.splitlines() if l.startswith("REPORT ")), "")
    get = lambda key: (lambda m: float(m.group(1)) if m else None)(
        re.search(r"\b%s: ([0-9.]+) ms" % key, line))
    return {"duration_ms": get("Duration"), "init_ms": get("Init Duration"), "line": line}


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------
class Proc:
    """A child that prints `listening on http://HOST:PORT` on stdout (lamina, loadgen serve)."""

    def __init__(self, argv, env=None, stderr_path=None, cwd=None):
        self.stderr = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL
        self.p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.stderr, env=env,
                                  cwd=cwd, start_new_session=True)
        line = self.p.stdout.readline().decode().strip()
        m = re.match(r"listening on http://([0-9.]+):(\d+)", line)
        if not m:
            self.stop()
            raise RuntimeError("%s did not start (stdout: %r; see %s)" % (argv[0], line, stderr_path))
        self.host, self.port = m.group(1), int(m.group(2))
        self.url = "http://%s:%d" % (self.host, self.port)

    def stop(self):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()


class Loadgen:
    def __init__(self, binary):
        self.bin = binary

    def run(self, mode, url, args, env=None, timeout=600):
        argv = [self.bin, mode, "--url", url] + args
        out = subprocess.run(argv, capture_output=True, env=env, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError("loadgen failed: %s\n%s" % (" ".join(argv), out.stderr.decode()))
        r = json.loads(out.stdout)
        if r.get("errors"):
            log("  ! %d errors (%s): %s" % (r["errors"], " ".join(args[:4]), r.get("first_error")))
        return r


def zip_of(files):
    """files: {name: (bytes, mode)} -> zip bytes with unix modes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, (data, mode) in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buf.getvalue()


def time_process(argv, env=None):
    t = time.perf_counter()
    subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, env=env)
    return (time.perf_counter() - t) * 1000.0


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


# ---------------------------------------------------------------------------------------------
# Measurements
# ---------------------------------------------------------------------------------------------
def warm_suite(o, lg, floor, srv, fns, results):
    """One repetition of every warm measurement; appends rows to results[key]."""
    inv = lambda f: ["--method", "POST", "--path", "/2015-03-31/functions/%s/invocations" % f,
                     "--body", PAYLOAD.decode()]
    targets = {
        # Signed like the others (the trivial server ignores the headers): the same client work.
        "floor": (floor.url, inv(fns["rust"])),
        "account": (srv.url, ["--path", "/2016-08-19/account-settings"]),
        "dryrun": (srv.url, inv(fns["rust"]) + ["--header", "X-Amz-Invocation-Type: DryRun",
                                               "--expect", "204"]),
        "rust": (srv.url, inv(fns["rust"])),
        "python": (srv.url, inv(fns["python"])),
    }
    seq_args = ["-n", str(o.n_seq), "--warmup", str(o.warmup)]
    for key, (url, args) in targets.items():
        r = lg.run("seq", url, args + seq_args)
        results.setdefault(("seq", key, 1), []).append(r)
        log("  seq %-8s p50 %8.1f us  p99 %8.1f us  %8.0f/s" % (key, r["p50_us"], r["p99_us"], r["rps"]))
    for c in o.concurrency:
        for key in ("account", "rust", "python"):
            url, args = targets[key]
            # The warm-up (discarded) grows with c: the first run at a concurrency starts up to
            # c new environments, cold starts that must not count as warm figures.
            warm = max(o.warmup_secs, 0.2 * c)
            r = lg.run("thr", url, args + ["-c", str(c), "-d", str(o.duration),
                                           "--warmup-secs", str(warm)])
            results.setdefault(("thr", key, c), []).append(r)
            log("  thr %-8s c=%-3d %8.0f/s  p50 %8.1f us  p99 %8.1f us" % (
                key, c, r["rps"], r["p50_us"], r["p99_us"]))


def engine_durations(api, fn, n):
    """REPORT Duration of n warm invokes (LogType=Tail)."""
    out = []
    for _ in range(n):
        hdrs, _ = api.invoke(fn, tail=True)
        d = report_fields(hdrs)["duration_ms"]
        if d is not None:
            out.append(d * 1000.0)
    return out


def cold_suite(o, api, fns, rust_bin):
    """Cold starts of both functions, interleaved with bare starts of the same programs."""
    rows = []
    bare_env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    # What the Python shim imports before its first invocation (it defers the rest).
    bootstrap_imports = "import _json, _socket, importlib, os, sys, time"
    for i in range(o.cold_runs):
        row = {}
        for kind in ("python", "rust"):
            fn = fns[kind]
            api.set_env(fn, {"BENCH_COLD_RUN": str(i)})  # retires the warm environments
            prepared = api.prepare_invoke(fn, tail=True)  # signed before the clock starts
            t = time.perf_counter()
            status, hdrs, data = api.send(prepared)
            ms = (time.perf_counter() - t) * 1000.0
            if status != 200 or "x-amz-function-error" in hdrs:
                raise RuntimeError("cold invoke %s: HTTP %d %s" % (fn, status, data[:300]))
            rep = report_fields(hdrs)
            if rep["init_ms"] is None:
                log("  ! no Init Duration in the cold REPORT line (%r): not a cold start?" % rep["line"])
            t = time.perf_counter()
            api.invoke(fn)
            warm_ms = (time.perf_counter() - t) * 1000.0
            row[kind] = {"cold_ms": ms, "init_ms": rep["init_ms"], "duration_ms": rep["duration_ms"],
                         "warm_ms": warm_ms}
        row["bare_pass_ms"] = time_process([BARE_PYTHON, "-c", "pass"], bare_env)
        row["bare_import_ms"] = time_process([BARE_PYTHON, "-c", "import json, http.client"], bare_env)
        row["bare_bootstrap_imports_ms"] = time_process([BARE_PYTHON, "-c", bootstrap_imports], bare_env)
        # The Rust function outside any sandbox: exec, dynamic linking, tokio start, then it
        # exits at once for want of AWS_LAMBDA_RUNTIME_API.
        row["bare_rust_exec_ms"] = time_process([rust_bin], bare_env)
        rows.append(row)
        log("  cold run %2d: python %7.2f ms (init %6.2f)  rust %7.2f ms (init %6.2f)  "
            "bare python -c pass %6.2f ms  import json,http.client %6.2f ms" % (
                i, row["python"]["cold_ms"], row["python"]["init_ms"] or -1,
                row["rust"]["cold_ms"], row["rust"]["init_ms"] or -1,
                row["bare_pass_ms"], row["bare_import_ms"]))
    return rows


# ---------------------------------------------------------------------------------------------
# cargo-lambda (peer)
# ---------------------------------------------------------------------------------------------
def wait_port(port, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_peer(o, lg, out_dir):
    """Runs the shared cargo-lambda peer script, then the same loadgen against cargo-lambda."""
    peer = {"script": None, "loadgen": {}}
    script = os.path.join(o.peers_dir, "run_cargo_lambda_peer.sh")
    work = o.peer_workdir
    port = free_port()
    env = dict(os.environ, PORT=str(port), N_SEQ=str(o.n_seq), DURATION=str(o.duration),
               CONCURRENCY_LIST=" ".join(map(str, o.concurrency)), COLD_RUNS=str(o.peer_cold_runs))
    log("== cargo-lambda: %s %s (log: %s/peer-script.log)" % (script, work, out_dir))
    with open(os.path.join(out_dir, "peer-script.log"), "wb") as f:
        rc = subprocess.run(["bash", script, work], stdout=f, stderr=subprocess.STDOUT, env=env,
                            cwd=out_dir).returncode
    text = open(os.path.join(out_dir, "peer-script.log"), errors="replace").read()
    if rc != 0:
        log("  ! the peer script failed (exit %d); its log's tail:\n%s" % (rc, text[-2000:]))
        peer["script_error"] = "exit %d: %s" % (rc, text[-500:])
    rows = {}
    for line in text.splitlines():
        a = line.split()
        if len(a) == 11 and a[0].startswith("cargo-lambda-c") and a[2] in ("seq", "thr"):
            try:
                rows[(a[0], a[2], int(a[3]))] = {"rps": float(a[5]), "p50_us": float(a[6]) * 1000,
                                                 "p99_us": float(a[8]) * 1000, "errors": int(a[10])}
            except ValueError:
                pass
    cold = re.search(r"first_ms\s+(.*)", text)
    peer["script"] = {"rows": {"%s %s %d" % k: v for k, v in rows.items()},
                      "cold_first_ms_summary": cold.group(1).strip() if cold else None}
    firsts = [float(x) for x in re.findall(r"first_ms=\s*([0-9.]+)", text)]
    peer["script"]["cold_first_ms_median"] = median(firsts)

    # The same client as ours (loadgen, unsigned) against `cargo lambda watch`.
    cl = os.path.join(work, "venv", "bin", "cargo-lambda")
    build = os.path.join(work, "echo-fn-build")
    if not (os.path.exists(cl) and os.path.isdir(build)):
        peer["loadgen_error"] = "cargo-lambda or its echo-fn build is missing"
        return peer
    for inst in o.peer_instances:
        port = free_port()
        with open(os.path.join(out_dir, "peer-watch-c%d.log" % inst), "wb") as f:
            w = subprocess.Popen([cl, "lambda", "watch", "--release", "--ignore-changes",
                                  "--concurrency", str(inst), "-A", "127.0.0.1", "-P", str(port)],
                                 cwd=build, stdout=f, stderr=subprocess.STDOUT,
                                 start_new_session=True)
        try:
            if not wait_port(port, 60):
                peer["loadgen_error"] = "cargo lambda watch did not listen"
                continue
            url = "http://127.0.0.1:%d" % port
            args = ["--no-sign", "--method", "POST", "--path",
                    "/2015-03-31/functions/echo-fn/invocations", "--body", PAYLOAD.decode()]
            r = lg.run("seq", url, args + ["-n", str(o.n_seq), "--warmup", str(o.warmup)])
            peer["loadgen"]["seq c%d 1" % inst] = r
            log("  cargo-lambda(--concurrency %d) seq p50 %.1f us p99 %.1f us" % (inst, r["p50_us"], r["p99_us"]))
            for c in o.concurrency:
                r = lg.run("thr", url, args + ["-c", str(c), "-d", str(o.duration),
                                               "--warmup-secs", str(max(o.warmup_secs, 0.2 * c))])
                peer["loadgen"]["thr c%d %d" % (inst, c)] = r
                log("  cargo-lambda(--concurrency %d) thr c=%d %.0f/s p50 %.1f us" % (inst, c, r["rps"], r["p50_us"]))
        finally:
            try:
                os.killpg(w.pid, signal.SIGTERM)
                w.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(w.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                w.wait()
    return peer


# ---------------------------------------------------------------------------------------------
# Traces (--trace): where the time goes, from kernel tracepoints (bench/perftrace.py)
# ---------------------------------------------------------------------------------------------
def run_traces(o, lg, srv, api, fns, cold_runs=3):
    import perftrace as tr
    if not tr.available():
        log("  ! --trace needs perf and root; skipped")
        return None
    out = {"warm": {}, "cold": {}}
    runtime_comm = {"rust": "bootstrap", "python": "python3"}
    for kind, fn in fns.items():
        phases, n = tr.warm_phases(lg.bin, srv.url, fn, runtime_comm[kind])
        out["warm"][kind] = {"phases_us": phases, "requests": n}
        log("  traced warm %s: %s" % (kind, phases))
    for kind, fn in fns.items():
        runs = []
        for i in range(cold_runs):
            def cold_once():
                api.set_env(fn, {"BENCH_TRACE_RUN": "%d%d" % (i, time.time_ns() % 1000)})
                api.invoke(fn)
            runs.append(tr.cold_timeline(cold_once, o.lamina))
        steps = {}
        for run in runs:
            for step, ms in run:
                steps.setdefault(step, []).append(ms)
        out["cold"][kind] = [(k, median(v), len(v)) for k, v in
                             sorted(steps.items(), key=lambda kv: median(kv[1]))]
    return out


def format_traces(t):
    lines = ["# where the time goes (perf tracepoints; tracing inflates each system call a little)"]
    for kind, w in t["warm"].items():
        lines.append("warm invoke, %s echo (median of %d sequential invokes, us):" % (kind, w["requests"]))
        for k, v in w["phases_us"].items():
            lines.append("  %-42s %8s" % (k, fmt(v)))
    for kind, steps in t["cold"].items():
        lines.append("cold start, %s echo (median ms since the fork of `lamina __jail`; step = "
                     "since the previous line):" % kind)
        prev = 0.0
        for k, v, n in steps:
            lines.append("  %-36s +%8.2f ms  (step %7.2f)  n=%d" % (k, v, v - prev, n))
            prev = v
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------
def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if abs(v) >= 100:
        return "%.0f%s" % (v, unit)
    return "%.2f%s" % (v, unit) if abs(v) < 10 else "%.1f%s" % (v, unit)


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def summarize(o, results, engine, cold, peer, signbench, meta):
    med = lambda key, field: median([r[field] for r in results.get(key, [])])
    rows = []

    def row(metric, ours, base, base_name, cl=None, note=""):
        rows.append((metric, ours, base, base_name, ratio(ours, base), cl, ratio(ours, cl), note))

    floor50 = med(("seq", "floor", 1), "p50_us")
    acct50, acct99 = med(("seq", "account", 1), "p50_us"), med(("seq", "account", 1), "p99_us")
    dry50 = med(("seq", "dryrun", 1), "p50_us")
    cl_seq = next((peer["loadgen"].get("seq c%d 1" % i) for i in o.peer_instances
                   if peer and peer.get("loadgen", {}).get("seq c%d 1" % i)), None)
    cl_script = ((peer or {}).get("script") or {}).get("rows", {})
    cl_script_seq = cl_script.get("cargo-lambda-c1 seq 1")
    for kind in ("rust", "python"):
        p50, p99 = med(("seq", kind, 1), "p50_us"), med(("seq", kind, 1), "p99_us")
        row("warm p50 us, %s echo (seq)" % kind, p50, acct50, "GetAccountSettings p50",
            cl_seq["p50_us"] if cl_seq and kind == "rust" else None)
        row("warm p99 us, %s echo (seq)" % kind, p99, acct99, "GetAccountSettings p99",
            cl_seq["p99_us"] if cl_seq and kind == "rust" else None)
    r50 = med(("seq", "rust", 1), "p50_us")
    over = None if r50 is None or acct50 is None else r50 - acct50
    row("platform overhead p50 us (rust invoke - GetAccountSettings)", over, 100.0, "target")
    row("invoke path beyond DryRun p50 us (rust invoke - DryRun)",
        None if r50 is None or dry50 is None else r50 - dry50, 100.0, "target")
    row("engine Duration p50 us (REPORT line, rust)", median(engine.get("rust", [])), r50,
        "rust invoke p50")
    row("engine Duration p50 us (REPORT line, python)", median(engine.get("python", [])),
        med(("seq", "python", 1), "p50_us"), "python invoke p50")
    row("DryRun invoke p50 us", dry50, acct50, "GetAccountSettings p50")
    row("GetAccountSettings p50 us", acct50, floor50, "trivial HTTP server p50")
    for c in o.concurrency:
        base = med(("thr", "account", c), "rps")
        for kind in ("rust", "python"):
            cl = None
            if kind == "rust" and peer:
                best = [peer["loadgen"].get("thr c%d %d" % (i, c)) for i in o.peer_instances]
                best = [b["rps"] for b in best if b]
                cl = max(best) if best else None
            row("throughput/s, %s echo, c=%d" % (kind, c), med(("thr", kind, c), "rps"), base,
                "GetAccountSettings/s", cl)
            row("p50 us under load, %s echo, c=%d" % (kind, c), med(("thr", kind, c), "p50_us"),
                med(("thr", "account", c), "p50_us"), "GetAccountSettings p50")
    if cold:
        pc = median([r["python"]["cold_ms"] for r in cold])
        bare = median([r["bare_pass_ms"] for r in cold])
        bare_imp = median([r["bare_import_ms"] for r in cold])
        bare_boot = median([r["bare_bootstrap_imports_ms"] for r in cold])
        pinit = median([r["python"]["init_ms"] for r in cold])
        row("cold start ms, python echo", pc, bare, "bare python3 -c pass", None, "target <= 1.5x")
        row("cold start ms, python echo (same)", pc, bare_imp, "bare python3 -c 'import json, http.client'")
        row("  Init Duration ms (sandbox + runtime init)", pinit, bare_boot,
            "bare python3 importing the shim's start-up modules")
        row("  rest ms (cold - Init Duration)", None if pc is None or pinit is None else pc - pinit,
            median([r["python"]["warm_ms"] for r in cold]), "next warm invoke (python client)")
        rc = median([r["rust"]["cold_ms"] for r in cold])
        cl_cold = ((peer or {}).get("script") or {}).get("cold_first_ms_median")
        row("cold start ms, rust echo", rc, median([r["bare_rust_exec_ms"] for r in cold]),
            "bare exec of the same binary", cl_cold,
            "cargo-lambda: spawn of `cargo lambda watch` excluded, its first invoke")
        row("  Init Duration ms, rust", median([r["rust"]["init_ms"] for r in cold]), None, "")

    w = [52, 10, 10, 44, 7, 10, 7]
    head = ("metric", "lamina", "baseline", "baseline is", "ratio", "cargo-lmb", "l/cl")
    lines = ["", "# Lamina benchmark summary (medians of %d repetitions; %s)" % (o.repeats, meta),
             "  ".join(h.ljust(n) for h, n in zip(head, w)), "-" * (sum(w) + 12)]
    for metric, ours, base, base_name, rat, cl, rcl, note in rows:
        cells = (metric, fmt(ours), fmt(base), base_name, fmt(rat, "x") if rat is not None else "-",
                 fmt(cl), fmt(rcl, "x") if rcl is not None else "-")
        lines.append("  ".join(str(c).ljust(n) for c, n in zip(cells, w)) + ("  " + note if note else ""))
    lines.append("")
    lines.append("client: loadgen (Rust, hyper, aws-sigv4; one signature per second per connection, "
                 "a signature costs %.1f us); floor = loadgen against a trivial hyper server: p50 %s us"
                 % (signbench.get("sign_us_each", float("nan")), fmt(floor50)))
    if peer and peer.get("script"):
        lines.append("cargo-lambda via the shared peer script (client hey, unsigned):")
        for k, v in sorted(peer["script"]["rows"].items()):
            lines.append("  %-28s rps %8.0f  p50 %8.1f us  p99 %8.1f us  errors %d" % (
                k, v["rps"], v["p50_us"], v["p99_us"], v["errors"]))
        lines.append("  cold first invoke ms: %s" % peer["script"].get("cold_first_ms_summary"))
        if cl_script_seq and floor50:
            lines.append("  (hey's own floor is not ours: compare lamina with the loadgen rows above)")
    if peer and peer.get("script_error"):
        lines.append("cargo-lambda peer script failed: %s" % peer["script_error"][:300])
    if peer and peer.get("loadgen_error"):
        lines.append("cargo-lambda loadgen run failed: %s" % peer["loadgen_error"])
    return "\n".join(lines), rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lamina", default=os.path.join(REPO, "target", "release", "lamina"))
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--rust-echo", required=True, help="the rust-echo `bootstrap` binary")
    ap.add_argument("--n-seq", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--warmup-secs", type=float, default=2)
    ap.add_argument("--concurrency", default="1 8 32")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cold-runs", type=int, default=15)
    ap.add_argument("--engine-samples", type=int, default=300)
    ap.add_argument("--memory", type=int, default=1792,
                    help="MemorySize of both functions (1769 MB = one vCPU of CPU quota; Lamina takes 64 MB steps)")
    ap.add_argument("--memory-budget-mb", type=int, default=65536,
                    help="server's budget, so c=32 gets 32 environments")
    ap.add_argument("--peer", action="store_true", help="also measure cargo-lambda")
    ap.add_argument("--peers-dir", default=os.path.join(os.path.dirname(REPO), "shared", "bench", "peers"))
    ap.add_argument("--peer-workdir", default=os.path.join(tempfile.gettempdir(), "lamina-peers"))
    ap.add_argument("--peer-cold-runs", type=int, default=10)
    ap.add_argument("--peer-instances", default="8",
                    help="cargo lambda watch --concurrency values for the loadgen runs")
    ap.add_argument("--out", default=None, help="results directory")
    ap.add_argument("--trace", action="store_true",
                    help="also break a warm invoke and a cold start down with perf tracepoints")
    ap.add_argument("--skip-warm", action="store_true")
    ap.add_argument("--skip-cold", action="store_true")
    o = ap.parse_args()
    o.concurrency = [int(c) for c in o.concurrency.split()]
    o.peer_instances = [int(c) for c in o.peer_instances.split()]
    stamp = time.strftime("%Y%m%dT%H%M%S")
    out_dir = o.out or os.path.join(REPO, "target", "bench", "results", stamp)
    os.makedirs(out_dir, exist_ok=True)
    meta = "%s, %d cpus, load %s at start, memory %d MB" % (
        os.uname().release, os.cpu_count(), loadavg(), o.memory)
    log("# %s; results in %s" % (meta, out_dir))

    data_dir = tempfile.mkdtemp(prefix="lamina-bench-")
    env = dict(os.environ, LAMINA_ROOT_ACCESS_KEY_ID=ACCESS_KEY,
               LAMINA_ROOT_SECRET_ACCESS_KEY=SECRET_KEY, LAMINA_LOG="warn")
    lg = Loadgen(o.loadgen)
    os.environ["LAMINA_ROOT_ACCESS_KEY_ID"] = ACCESS_KEY
    os.environ["LAMINA_ROOT_SECRET_ACCESS_KEY"] = SECRET_KEY
    signbench = json.loads(subprocess.run([o.loadgen, "signbench", "-n", "20000"],
                                          capture_output=True, check=True).stdout)
    srv = floor = None
    results, engine, cold, peer, traces = {}, {}, [], None, None
    try:
        srv = Proc([o.lamina, "server", "--listen", "127.0.0.1:0", "--data-dir", data_dir,
                    "--keep-alive", "10m", "--memory-budget-mb", str(o.memory_budget_mb)],
                   env=env, stderr_path=os.path.join(out_dir, "lamina.stderr"))
        floor = Proc([o.loadgen, "serve"], env=env)
        log("lamina %s (pid %d), floor server %s, data dir %s" % (srv.url, srv.p.pid, floor.url, data_dir))
        api = Api(srv.host, srv.port)
        fns = {"rust": "bench-rust-echo", "python": "bench-py-echo"}
        with open(o.rust_echo, "rb") as f:
            api.create_function(fns["rust"], "provided.al2023", "bootstrap",
                                zip_of({"bootstrap": (f.read(), 0o755)}), o.memory)
        with open(os.path.join(HERE, "functions", "py-echo", "app.py"), "rb") as f:
            api.create_function(fns["python"], "python3.12", "app.handler",
                                zip_of({"app.py": (f.read(), 0o644)}), o.memory)
        for fn in fns.values():
            _, body = api.invoke(fn)
            if json.loads(body) != json.loads(PAYLOAD):
                raise RuntimeError("%s did not echo: %r" % (fn, body))
        log("deployed and checked: %s" % ", ".join(fns.values()))

        if not o.skip_warm:
            for rep in range(o.repeats):
                log("== warm, repetition %d/%d (load %s)" % (rep + 1, o.repeats, loadavg()))
                warm_suite(o, lg, floor, srv, fns, results)
            for kind, fn in fns.items():
                engine[kind] = engine_durations(api, fn, o.engine_samples)
                log("  engine REPORT Duration p50, %s: %.1f us" % (kind, median(engine[kind]) or -1))
        if not o.skip_cold:
            log("== cold starts (load %s)" % loadavg())
            cold = cold_suite(o, api, fns, o.rust_echo)
        if o.trace:
            traces = run_traces(o, lg, srv, api, fns)
    finally:
        if floor:
            floor.stop()
        if srv:
            srv.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    if o.peer:
        try:
            peer = run_peer(o, lg, out_dir)
        except Exception as e:  # report, keep our own figures
            peer = {"script": None, "loadgen": {}, "loadgen_error": repr(e)}
            log("  ! cargo-lambda run failed: %r" % e)
    meta += ", load %s at end" % loadavg()
    text, rows = summarize(o, results, engine, cold, peer, signbench, meta)
    if traces:
        text += "\n" + format_traces(traces)
    print(text, flush=True)
    with open(os.path.join(out_dir, "summary.txt"), "w") as f:
        f.write(text + "\n")
    with open(os.path.join(out_dir, "raw.json"), "w") as f:
        json.dump({"meta": meta, "signbench": signbench,
                   "warm": {" ".join(map(str, k)): v for k, v in results.items()},
                   "engine_duration_us": engine, "cold": cold, "peer": peer, "traces": traces,
                   "summary": rows}, f, indent=1, default=str)
    log("results: %s" % out_dir)


if __name__ == "__main__":
    main()
