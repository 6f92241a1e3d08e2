#!/usr/bin/env python3
"""Asynchronous invocation benchmark: durable enqueue rate and end-to-end async throughput.

Starts a release `lamina server` on a temp data dir, deploys a no-op Python function, then
1. enqueues N events (`InvocationType=Event`) from T client threads and reports events/s
   acknowledged (each 202 means the event is committed to SQLite with synchronous=FULL);
2. measures how fast the workers drain the queue (events/s processed, end to end).
The baseline measured in the same run is a synchronous GetAccountSettings rate from the same
clients (the cost of a signed request that touches the store), so the enqueue figure can be
read as a ratio.

Usage: .venv/bin/python bench/async_bench.py [--events 2000] [--threads 8] [--workers 16]
(needs root for the sandboxes; run `cargo build --release -p lamina` first or pass --bin).
"""

import argparse
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
import zipfile

import boto3
import botocore.config

from urllib.parse import urlparse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
KEY, SECRET = "LKIABENCHBENCHBENCH1", "bench-secret-bench-secret-bench-secret-00"


def start_server(binary, data_dir, workers):
    config = os.path.join(data_dir, "lamina.toml")
    with open(config, "w") as f:
        f.write(f"[async_invoke]\nworkers = {workers}\n")
    env = dict(os.environ, LAMINA_ROOT_ACCESS_KEY_ID=KEY, LAMINA_ROOT_SECRET_ACCESS_KEY=SECRET, LAMINA_LOG="warn")
    proc = subprocess.Popen(
        [binary, "server", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(data_dir, "data"), "--config", config],
        stdout=subprocess.PIPE, env=env, text=True)
    line = proc.stdout.readline().strip()
    assert line.startswith("listening on "), line
    return proc, line.removeprefix("listening on ")


def client(endpoint):
    return boto3.client(
        "lambda", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=KEY, aws_secret_access_key=SECRET,
        config=botocore.config.Config(retries={"total_max_attempts": 1}, max_pool_connections=64))


def queue_depth(endpoint):
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
    import urllib.request
    req = botocore.awsrequest.AWSRequest(method="GET", url=f"{endpoint}/_lamina/admin/async")
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(KEY, SECRET), "lambda", "us-east-1").add_auth(req)
    with urllib.request.urlopen(urllib.request.Request(req.url, headers=dict(req.headers))) as r:
        import json
        return json.load(r)["Depth"]


def rate(threads, total, call):
    per = total // threads
    barrier = threading.Barrier(threads + 1)

    def run():
        barrier.wait()
        for i in range(per):
            call(i)

    ts = [threading.Thread(target=run) for _ in range(threads)]
    for t in ts:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in ts:
        t.join()
    return per * threads / (time.perf_counter() - start)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--bin", default=os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "release", "lamina"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc, endpoint = start_server(args.bin, tmp, args.workers)
        try:
            lam = client(endpoint)
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w") as z:
                z.writestr("app.py", "def handler(event, context):\n    return None\n")
            lam.create_function(FunctionName="noop", Runtime="python3.12", Handler="app.handler",
                                Role="arn:aws:iam::000000000000:role/bench", Code={"ZipFile": buf.getvalue()},
                                MemorySize=128)
            lam.get_waiter("function_active_v2").wait(FunctionName="noop", WaiterConfig={"Delay": 1})
            clients = [client(endpoint) for _ in range(args.threads)]
            lock = threading.Lock()
            local = threading.local()

            def mine():
                if not hasattr(local, "c"):
                    with lock:
                        local.c = clients.pop()
                return local.c

            baseline = rate(args.threads, args.events, lambda i: mine().get_account_settings())
            local = threading.local()
            clients = [client(endpoint) for _ in range(args.threads)]
            start = time.perf_counter()
            enqueue = rate(args.threads, args.events, lambda i: mine().invoke(
                FunctionName="noop", InvocationType="Event", Payload=b'{"i": %d}' % i))
            while queue_depth(endpoint) > 0:
                time.sleep(0.05)
            drained = args.events / (time.perf_counter() - start)
            print(f"{'metric':<44}{'value':>12}")
            print(f"{'signed GetAccountSettings (baseline), req/s':<44}{baseline:>12.0f}")
            print(f"{'durable enqueue (Invoke Event), events/s':<44}{enqueue:>12.0f}")
            print(f"{'enqueue / baseline':<44}{enqueue / baseline:>12.2f}")
            print(f"{'end-to-end async throughput, events/s':<44}{drained:>12.0f}")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
