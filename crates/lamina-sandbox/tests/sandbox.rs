//! Privileged integration tests: real namespaces, cgroups, loop devices.
//! Each test prints "SKIPPED: ..." and passes when not run as root.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Dirs, JAIL, run, setup, spec};
use lamina_sandbox::{Sandbox, SandboxError};

#[test]
fn sandbox_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<Sandbox>();
    assert_send::<lamina_sandbox::CgroupRoot>();
}

#[test]
fn runs_unprivileged_as_low_pid_without_host_processes() {
    let Some(root) = setup() else { return };
    let dirs = Dirs::new();
    let mut s = spec(
        &dirs,
        "ident",
        "id -u; id -g; echo $$; ls /proc | grep -cE '^[0-9]+$'; hostname; cat /var/task/handler.txt; \
         grep -c . /proc/net/dev; grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status",
    );
    // Loopback only: the interface count below is lo alone (egress is tested in tests/network.rs).
    s.network = lamina_sandbox::NetworkMode::LoopbackOnly;
    let o = run(&root, &s);
    assert!(o.status.success(), "{:?} {}", o.status, o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_eq!(lines[0], "1051");
    assert_eq!(lines[1], "1051");
    let pid: u32 = lines[2].parse().unwrap();
    assert!(pid <= 3, "shell pid {pid}");
    let visible: u32 = lines[3].parse().unwrap();
    assert!(visible <= 4, "processes visible in /proc: {visible}");
    assert_eq!(lines[4], "lamina-test");
    assert_eq!(lines[5], "hello from /var/task");
    // /proc/net/dev: 2 header lines + lo only.
    assert_eq!(lines[6], "3", "network interfaces: {}", o.stdout);
    assert!(
        o.stdout.contains("CapEff:\t0000000000000000"),
        "{}",
        o.stdout
    );
    assert!(
        o.stdout.contains("CapBnd:\t0000000000000000"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("NoNewPrivs:\t1"), "{}", o.stdout);
    assert!(o.stdout.contains("Seccomp:\t2"), "{}", o.stdout);
}

#[test]
fn the_runtime_has_a_user_namespace_mapping_only_its_own_ids() {
    let Some(root) = setup() else { return };
    let dirs = Dirs::new();
    let host_ns = std::fs::read_link("/proc/self/ns/user").unwrap();
    let s = spec(
        &dirs,
        "userns",
        "readlink /proc/self/ns/user; cat /proc/self/uid_map /proc/self/gid_map; \
         stat -c %u /var/task/handler.txt; id -u",
    );
    let o = run(&root, &s);
    assert!(o.status.success(), "{:?} {}", o.status, o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert_ne!(lines[0], host_ns.to_string_lossy(), "{}", o.stdout);
    let map: Vec<Vec<&str>> = lines[1..3]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(map, [["1051", "1051", "1"], ["1051", "1051", "1"]]);
    // Root's files belong to an unmapped id in there.
    assert_eq!(lines[3], "65534");
    assert_eq!(lines[4], "1051");
}

#[test]
fn only_tmp_is_writable_and_it_is_capped() {
    let Some(root) = setup() else { return };
    let dirs = Dirs::new();
    let s = spec(
        &dirs,
        "fs",
        "for p in /var/task/x /etc/x /x /usr/x /opt/x /dev/x; do \
           if ( : > $p ) 2>/dev/null; then echo writable:$p; else echo denied:$p; fi; done; \
         echo data > /tmp/ok && cat /tmp/ok; \
         if dd if=/dev/zero of=/tmp/big bs=1M count=64 2>/tmp/dd.err; then echo dd:ok; else echo dd:full; fi; \
         grep -o 'No space left on device' /tmp/dd.err | head -1; \
         grep ' /tmp ' /proc/mounts | cut -d' ' -f3",
    );
    let o = run(&root, &s);
    assert!(o.status.success(), "{:?} {}", o.status, o.stderr);
    for p in ["/var/task/x", "/etc/x", "/x", "/usr/x", "/opt/x", "/dev/x"] {
        assert!(
            o.stdout.contains(&format!("denied:{p}")),
            "{p}: {}",
            o.stdout
        );
    }
    assert!(o.stdout.contains("\ndata\n"), "{}", o.stdout);
    assert!(o.stdout.contains("dd:full"), "{}", o.stdout);
    assert!(o.stdout.contains("No space left on device"), "{}", o.stdout);
    assert!(o.stdout.trim_end().ends_with("ext4"), "{}", o.stdout);
    // Kept on the host for the next environment (Lambda keeps /tmp across resets).
    assert!(dirs.tmp.join(lamina_sandbox::TMP_IMAGE_NAME).exists());
}

#[test]
fn tmp_survives_a_reset_with_the_same_tmp_dir() {
    let Some(root) = setup() else { return };
    let dirs = Dirs::new();
    let o = run(&root, &spec(&dirs, "keep1", "echo kept > /tmp/state"));
    assert!(o.status.success(), "{}", o.stderr);
    let o = run(&root, &spec(&dirs, "keep2", "cat /tmp/state"));
    assert_eq!(o.stdout, "kept\n", "{}", o.stderr);
}

#[test]
fn exit_codes_and_signals_are_reported() {
    let Some(root) = setup() else { return };
    let dirs = Dirs::new();
    let o = run(&root, &spec(&dirs, "exit", "exit 7"));
    assert_eq!(o.status.code(), Some(7));
    let o = run(&root, &spec(&dirs, "segv", "kill -SEGV $$"));
    assert_eq!(o.status.signal(), Some(libc::SIGSEGV), "{:?}", o.status);
    let o = run(&root, &spec(&dirs, "kill", "kill -KILL $$"));
    assert_eq!(o.status.signal(), Some(libc::SIGKILL), "{:?}", o.status);
    assert!(!o.oom_killed);
}

#[test]
fn memory_hog_is_oom_killed() {
    let Some(root) = setup() else { return };
    let dirs = Dirs::new();
    let mut s = spec(
        &dirs,
        "oom",
        "exec /usr/bin/python3 -c 'a=[]\nwhile True: a.append(bytearray(8<<20))'",
    );
    s.memory_mb = 64;
    let o = run(&root, &s);
    assert_eq!(
        o.status.signal(),
        Some(libc::SIGKILL),
        "{:?} {}",
        o.status,
        o.stderr
    );
    assert!(o.oom_killed);
    assert!(
        o.peak_bytes > 48 << 20 && o.peak_bytes <= 64 << 20,
        "peak {}",
        o.peak_bytes
    );
    println!("oom test peak memory: {} MiB", o.peak_bytes >> 20);
}

#[test]
fn fork_bomb_is_contained_and_destroy_cleans_up() {
    let Some(root) = setup() else { return };
    let dirs = Dirs::new();
    let s = spec(&dirs, "bomb", "b() { b | b & }; b; sleep 30");
    let mut sb = Sandbox::spawn(Path::new(JAIL), &s, &root).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let paths = sb.cgroup_paths();
    let pids_dir = paths
        .iter()
        .find(|p| p.join("pids.max").exists())
        .unwrap()
        .clone();
    let current: u64 = std::fs::read_to_string(pids_dir.join("pids.current"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(current <= s.pids_max, "pids.current {current}");
    assert!(sb.try_wait().unwrap().is_none());
    let start = Instant::now();
    sb.destroy().unwrap();
    println!(
        "destroy of a {current}-task fork bomb took {:?}",
        start.elapsed()
    );
    for p in &paths {
        assert!(!p.exists(), "{} left behind", p.display());
    }
}

#[test]
fn cgroup_limits_and_cpu_boost() {
    let Some(root) = setup() else { return };
    let dirs = Dirs::new();
    let s = spec(&dirs, "limits", "sleep 30");
    let sb = Sandbox::spawn(Path::new(JAIL), &s, &root).unwrap();
    let paths = sb.cgroup_paths();
    let read = |file: &str| {
        let dir = paths
            .iter()
            .find(|p| p.join(file).exists())
            .unwrap_or_else(|| panic!("{file}"));
        std::fs::read_to_string(dir.join(file))
            .unwrap()
            .trim()
            .to_string()
    };
    let quota = |read: &dyn Fn(&str) -> String| {
        if paths.iter().any(|p| p.join("cpu.max").exists()) {
            read("cpu.max").split(' ').next().unwrap().to_string()
        } else {
            read("cpu.cfs_quota_us")
        }
    };
    assert_eq!(quota(&read), "200000", "boosted to 2 vCPUs");
    sb.end_init_boost().unwrap();
    assert_eq!(quota(&read), "7200", "128 MB = 72 millicores");
    assert_eq!(read("pids.max"), "64");
    // Every mount lives in the environment's own mount namespace.
    let host_mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        !host_mounts.contains(lamina_sandbox::JAIL_ROOT_MOUNTPOINT),
        "{host_mounts}"
    );
    assert!(
        !host_mounts.contains("/var/tmp/lamina-sbx-"),
        "{host_mounts}"
    );
    if paths.iter().any(|p| p.join("memory.max").exists()) {
        assert_eq!(read("memory.max"), (128u64 << 20).to_string());
    } else {
        assert_eq!(read("memory.limit_in_bytes"), (128u64 << 20).to_string());
    }
    sb.destroy().unwrap();
}

#[test]
fn sandboxes_cannot_see_each_others_tmp() {
    let Some(root) = setup() else { return };
    let (d1, d2) = (Dirs::new(), Dirs::new());
    let s1 = spec(&d1, "iso1", "echo secret > /tmp/secret; sleep 30");
    let mut sb1 = Sandbox::spawn(Path::new(JAIL), &s1, &root).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let o = run(
        &root,
        &spec(&d2, "iso2", "ls -A /tmp; cat /tmp/secret 2>&1; true"),
    );
    assert!(
        !o.stdout.contains("\nsecret\n") && !o.stdout.starts_with("secret"),
        "{}",
        o.stdout
    );
    assert!(o.stdout.contains("No such file"), "{}", o.stdout);
    assert!(sb1.try_wait().unwrap().is_none());
    sb1.destroy().unwrap();
}

/// Serves one connection on a sandbox's listener: replies with `marker`.
#[allow(clippy::unwrap_used)] // test helper: failures should panic
fn serve_once(listener: std::net::TcpListener, marker: String) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut req = String::new();
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        reader.read_line(&mut req).unwrap();
        // Read the rest of the head: closing with unread data would send a RST.
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 0 && line != "\r\n" {
            line.clear();
        }
        write!(
            conn,
            "HTTP/1.0 200 OK\r\nContent-Length: {}\r\n\r\n{marker}",
            marker.len()
        )
        .unwrap();
        req
    })
}

#[test]
fn runtime_api_listener_reaches_only_its_own_environment() {
    let Some(root) = setup() else { return };
    let script = "exec 3<>/dev/tcp/127.0.0.1/9001 && printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.0\\r\\n\\r\\n' >&3 && cat <&3";
    let (d1, d2) = (Dirs::new(), Dirs::new());
    let mut sandboxes = Vec::new();
    for (i, d) in [&d1, &d2].into_iter().enumerate() {
        let mut s = spec(d, &format!("api{i}"), script);
        s.argv[0] = "/bin/bash".into();
        let mut sb = Sandbox::spawn(Path::new(JAIL), &s, &root).unwrap();
        let server = serve_once(
            sb.take_runtime_api_listener().unwrap(),
            format!("marker-{i}"),
        );
        assert!(sb.take_runtime_api_listener().is_none());
        sandboxes.push((sb, server));
    }
    for (i, (mut sb, server)) in sandboxes.into_iter().enumerate() {
        let mut err = sb.stderr().unwrap();
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let mut out = String::new();
        sb.stdout().unwrap().read_to_string(&mut out).unwrap();
        let status = sb.wait().unwrap();
        let err = err.join().unwrap();
        assert!(
            status.success(),
            "sandbox {i}: {status:?} out={out:?} err={err:?}"
        );
        assert!(
            out.ends_with(&format!("marker-{i}")),
            "sandbox {i} got {out:?}"
        );
        assert!(
            server
                .join()
                .unwrap()
                .starts_with("GET /2018-06-01/runtime/invocation/next")
        );
        sb.destroy().unwrap();
    }
}

#[test]
fn sigterm_is_forwarded_to_the_runtime() {
    let Some(root) = setup() else { return };
    let dirs = Dirs::new();
    let s = spec(
        &dirs,
        "term",
        "trap 'echo got-term; exit 42' TERM; echo ready; sleep 30 & wait",
    );
    let mut sb = Sandbox::spawn(Path::new(JAIL), &s, &root).unwrap();
    let mut out = BufReader::new(sb.stdout().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let pid = nix::unistd::Pid::from_raw(sb.pid() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::SIGTERM).unwrap();
    let status = sb.wait().unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(status.code(), Some(42), "{rest}");
    assert_eq!(rest, "got-term\n");
    sb.destroy().unwrap();
}

#[test]
fn exec_and_cwd_failures_are_reported() {
    let Some(root) = setup() else { return };
    let dirs = Dirs::new();
    let mut s = spec(&dirs, "noexec", "");
    s.argv = vec!["/var/task/bootstrap".into()];
    match Sandbox::spawn(Path::new(JAIL), &s, &root) {
        Err(SandboxError::Exec { program, errno, .. }) => {
            assert_eq!(program, "/var/task/bootstrap");
            assert_eq!(errno, Some(libc::ENOENT));
        }
        other => panic!("expected Exec error, got {other:?}"),
    }
    let mut s = spec(&dirs, "nocwd", "true");
    s.cwd = "/nonexistent".into();
    match Sandbox::spawn(Path::new(JAIL), &s, &root) {
        Err(SandboxError::JailSetup { step, .. }) => assert!(step.starts_with("chdir"), "{step}"),
        other => panic!("expected chdir failure, got {other:?}"),
    }
}

#[test]
fn seccomp_denies_namespaces_and_mounts() {
    let Some(root) = setup() else { return };
    let dirs = Dirs::new();
    let s = spec(
        &dirs,
        "seccomp",
        "unshare -U -r true 2>&1; echo unshare=$?; \
         /usr/bin/python3 -c 'import os,ctypes; l=ctypes.CDLL(None,use_errno=True); \
         print(\"mount\", l.mount(b\"none\",b\"/tmp\",b\"tmpfs\",0,None), os.strerror(ctypes.get_errno()))'",
    );
    let o = run(&root, &s);
    assert!(o.stdout.contains("unshare=1"), "{}", o.stdout);
    assert!(o.stdout.contains("Operation not permitted"), "{}", o.stdout);
    assert!(
        o.stdout.contains("mount -1 Operation not permitted"),
        "{} {}",
        o.stdout,
        o.stderr
    );
}

#[test]
fn measure_overhead() {
    let Some(root) = setup() else { return };
    let dirs = Dirs::new();
    let n = 20;
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let mut bare = Vec::new();
    for _ in 0..n {
        let t = Instant::now();
        std::process::Command::new("/bin/true").status().unwrap();
        bare.push(t.elapsed());
    }
    let (mut to_exec, mut to_exit, mut destroy) = (Vec::new(), Vec::new(), Vec::new());
    // Warm up (first run creates the /tmp image).
    run(&root, &spec(&dirs, "warm", "true"));
    for i in 0..n {
        let mut s = spec(&dirs, &format!("m{i}"), "");
        s.argv = vec!["/bin/true".into()];
        let t = Instant::now();
        let mut sb = Sandbox::spawn(Path::new(JAIL), &s, &root).unwrap();
        to_exec.push(t.elapsed());
        sb.wait().unwrap();
        to_exit.push(t.elapsed());
        let t = Instant::now();
        sb.destroy().unwrap();
        destroy.push(t.elapsed());
    }
    println!(
        "OVERHEAD (median of {n}): bare /bin/true spawn+wait {:?}; sandbox spawn->exec {:?}; \
         sandbox spawn->exit {:?}; destroy {:?}",
        median(bare),
        median(to_exec),
        median(to_exit),
        median(destroy)
    );
}

/// Cold starts as the engine does them: every environment has a new
/// `tmp_dir`, so its `/tmp` image is created (a copy of the size's template)
/// before the runtime starts. Compare with `measure_overhead`, which reuses one.
#[test]
fn measure_cold_start() {
    let Some(root) = setup() else { return };
    let n = 15;
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let keep = Dirs::new();
    for network in [
        lamina_sandbox::NetworkMode::LoopbackOnly,
        lamina_sandbox::NetworkMode::Egress,
    ] {
        let (mut fresh, mut reused) = (Vec::new(), Vec::new());
        for i in 0..=n {
            for (dirs, times) in [(&Dirs::new(), &mut fresh), (&keep, &mut reused)] {
                let mut s = spec(dirs, &format!("cold{i}"), "");
                s.argv = vec!["/bin/true".into()];
                s.tmp_size_mb = 512;
                s.network = network;
                let t = Instant::now();
                let mut sb = Sandbox::spawn(Path::new(JAIL), &s, &root).unwrap();
                // The first round formats the template / creates `keep`'s image.
                if i > 0 {
                    times.push(t.elapsed());
                }
                sb.wait().unwrap();
                sb.destroy().unwrap();
            }
        }
        println!(
            "COLD START {network:?} (median of {n}, 512 MiB /tmp): spawn->exec with a new tmp_dir {:?}, \
             with the previous environment's /tmp image {:?}",
            median(fresh),
            median(reused)
        );
    }
}
