"""Where the time goes: kernel-tracepoint breakdowns of a warm invoke and a cold start, with
`perf` (system-wide tracepoints, so root). Used by `bench.py --trace`; the tracing itself adds
a few microseconds per system call, so read the phases relative to each other.

warm_phases: for N sequential invokes through loadgen, the time from the client's request to
  the runtime receiving the event, the runtime's own work, the runtime's response until it asks
  for the next event (the engine waits for that before it answers), and from there to the
  client holding the response.
cold_timeline: for one cold start, the jail's steps as the kernel saw them: the fork of
  `lamina __jail`, the cgroup attach (the first write to a cgroup.procs), unshare, mkfs.ext4 of
  /tmp, pivot_root, exec of the runtime, its first connect and the server's first read after it.
"""

import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time


def available():
    return shutil.which("perf") is not None and os.geteuid() == 0


def _record(events, argv):
    fd, path = tempfile.mkstemp(suffix=".perf")
    os.close(fd)
    try:
        subprocess.run(["perf", "record", "-q", "-o", path, "-a", "-e", ",".join(events), "--"] + argv,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        return subprocess.run(["perf", "script", "-i", path, "-F", "comm,tid,time,event,trace"],
                              capture_output=True, text=True).stdout.splitlines()
    finally:
        os.unlink(path)


def _fields(line):
    f = line.split()
    if len(f) < 4:
        return None
    try:
        return f[0], f[1], float(f[2].rstrip(":")), f[3], " ".join(f[4:])
    except ValueError:
        return None


def warm_phases(loadgen, url, function, runtime_comm, n=300):
    """Median phases (us) of n sequential invokes; runtime_comm: 'bootstrap' or 'python3'."""
    events = ["syscalls:sys_enter_writev", "syscalls:sys_enter_write", "syscalls:sys_enter_sendto",
              "syscalls:sys_exit_recvfrom", "syscalls:sys_exit_read"]
    lines = _record(events, [loadgen, "seq", "--url", url, "-m", "POST", "--path",
                             "/2015-03-31/functions/%s/invocations" % function,
                             "--body", '{"hello":"world"}', "-n", str(n), "--warmup", "0"])
    reqs, cur = [], None
    for line in lines:
        p = _fields(line)
        if not p:
            continue
        comm, _, ts, ev, rest = p
        if comm == "loadgen" and "enter_writev" in ev:
            cur = {"send": ts, "rt_out": []}
            reqs.append(cur)
        elif cur is None:
            continue
        elif comm == runtime_comm and ("enter_writev" in ev or "enter_sendto" in ev or "enter_write:" in ev):
            cur["rt_out"].append(ts)
        elif comm == runtime_comm and ("exit_recvfrom" in ev or "exit_read" in ev):
            cur.setdefault("rt_in", ts)
        if comm == "loadgen" and "exit_recvfrom" in ev and "done" not in cur:
            m = re.search(r"(0x[0-9a-f]+|-?\d+)\s*$", rest)
            if m and int(m.group(1), 0) > 0:
                cur["done"] = ts
    phases = {"client -> runtime has the event": [], "runtime: event -> response posted": [],
              "response posted -> runtime asks /next": [], "/next -> client has the response": [],
              "total (traced)": []}
    for r in reqs[5:]:
        if "rt_in" not in r or "done" not in r or len(r["rt_out"]) < 2:
            continue
        a, b, c = r["rt_in"], r["rt_out"][0], r["rt_out"][-1]
        if not (r["send"] <= a <= b <= c <= r["done"]):
            continue
        phases["client -> runtime has the event"].append(a - r["send"])
        phases["runtime: event -> response posted"].append(b - a)
        phases["response posted -> runtime asks /next"].append(c - b)
        phases["/next -> client has the response"].append(r["done"] - c)
        phases["total (traced)"].append(r["done"] - r["send"])
    return {k: (statistics.median(v) * 1e6 if v else None) for k, v in phases.items()}, \
        len(phases["total (traced)"])


def cold_timeline(run_cold, lamina_exe):
    """run_cold(): performs one cold invoke. Returns [(step, ms since the jail's fork)]."""
    events = ["sched:sched_process_exec", "sched:sched_process_fork", "sched:sched_process_exit",
              "syscalls:sys_enter_unshare", "syscalls:sys_enter_pivot_root",
              "syscalls:sys_enter_connect", "syscalls:sys_enter_write", "syscalls:sys_exit_write",
              "syscalls:sys_exit_recvfrom"]
    fd, path = tempfile.mkstemp(suffix=".perf")
    os.close(fd)
    try:
        rec = subprocess.Popen(["perf", "record", "-q", "-o", path, "-a", "-e", ",".join(events)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # perf needs a moment to attach everywhere
        try:
            run_cold()
            time.sleep(0.2)
        finally:
            rec.send_signal(2)
            rec.wait()
        lines = subprocess.run(["perf", "script", "-i", path, "-F", "comm,tid,time,event,trace"],
                               capture_output=True, text=True).stdout.splitlines()
    finally:
        os.unlink(path)
    exe = os.path.realpath(lamina_exe)
    jail = parent = None
    for line in lines:
        m = re.search(r"sched_process_exec: filename=(\S+) pid=(\d+)", line)
        if m and os.path.realpath(m.group(1)) == exe:
            jail = m.group(2)
            break
    if jail is None:
        return []
    for line in lines:
        if re.search(r"sched_process_fork: .*child_pid=%s\b" % jail, line):
            parent = line.split()[1]
    marks = {}
    for line in lines:
        p = _fields(line)
        if not p:
            continue
        comm, tid, ts, ev, rest = p
        if tid == parent and "sched_process_fork" in ev and "child_pid=%s" % jail in rest:
            marks.setdefault("fork of lamina __jail", ts)
        elif tid == parent and "sys_enter_write" in ev and "fork of lamina __jail" in marks:
            marks.setdefault("cgroup attach: write starts", ts)
        elif tid == parent and "sys_exit_write" in ev and "cgroup attach: write starts" in marks:
            marks.setdefault("cgroup attach: write returns", ts)
        elif tid == jail and "sched_process_exec" in ev:
            marks.setdefault("jail exec", ts)
        elif tid == jail and "sys_enter_unshare" in ev:
            marks.setdefault("unshare (namespaces)", ts)
        elif "sched_process_exec" in ev and "mkfs" in rest:
            marks.setdefault("mkfs.ext4 exec (/tmp image)", ts)
        elif comm.startswith("mkfs") and "sched_process_exit" in ev:
            marks.setdefault("mkfs.ext4 exit", ts)
        elif "sys_enter_pivot_root" in ev:
            marks.setdefault("pivot_root", ts)
        elif "sched_process_exec" in ev and ("/var/task/" in rest or "/usr/bin/python3" in rest) \
                and "pivot_root" in marks:
            marks.setdefault("runtime exec", ts)
        elif "sys_enter_connect" in ev and "runtime exec" in marks and not comm.startswith("tokio"):
            marks.setdefault("runtime's first connect", ts)
        elif "sys_exit_recvfrom" in ev and comm.startswith("tokio") and "runtime's first connect" in marks:
            marks.setdefault("server reads from the runtime", ts)
    t0 = marks.get("fork of lamina __jail")
    if t0 is None:
        return []
    return [(k, (v - t0) * 1000.0) for k, v in sorted(marks.items(), key=lambda kv: kv[1])]
