//! Privileged integration tests of the seccomp allow-list: real runtimes work
//! under it, and the dangerous syscalls are refused. Each test prints
//! "SKIPPED: ..." and passes when not run as root, or when its runtime is not
//! installed.
//!
//! Every runtime program talks to the environment's Runtime API listener the
//! way a Lambda runtime does: `GET .../invocation/next`, some work, then
//! `POST .../invocation/{id}/response` with what it found.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers: a failed set-up should panic"
)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{Dirs, JAIL, setup, spec};
use lamina_sandbox::{CgroupRoot, Sandbox, SandboxSpec};

const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";
const EVENT: &str = r#"{"greeting":"hello from the test"}"#;

/// What the runtime POSTed: the path and the body.
#[derive(Debug)]
struct Posted {
    path: String,
    body: String,
}

/// Reads one HTTP/1.x request (head and `Content-Length` body).
fn read_request(conn: &TcpStream) -> Option<(String, String, String)> {
    let mut reader = BufReader::new(conn.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':')
            && k.trim().eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).ok()?;
    Some((method, path, String::from_utf8_lossy(&body).into_owned()))
}

fn respond(mut conn: &TcpStream, status: &str, headers: &[(&str, &str)], body: &str) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(body.as_bytes());
    let _ = conn.flush();
}

/// A one-invocation Runtime API on `listener`: `GET .../invocation/next`
/// returns [`EVENT`] once; the first POST (response or error) is the result.
/// `GET /ping` answers `pong`. Gives up at `deadline`.
fn runtime_api(listener: TcpListener, deadline: Instant) -> JoinHandle<Option<Posted>> {
    std::thread::spawn(move || {
        listener.set_nonblocking(true).unwrap();
        let (tx, rx) = mpsc::channel::<Posted>();
        let served = Arc::new(AtomicBool::new(false));
        loop {
            if let Ok(posted) = rx.try_recv() {
                return Some(posted);
            }
            if Instant::now() > deadline {
                return None;
            }
            match listener.accept() {
                Ok((conn, _)) => {
                    let (tx, served) = (tx.clone(), served.clone());
                    std::thread::spawn(move || {
                        conn.set_nonblocking(false).unwrap();
                        conn.set_read_timeout(Some(Duration::from_secs(60)))
                            .unwrap();
                        let Some((method, path, body)) = read_request(&conn) else {
                            return;
                        };
                        match (method.as_str(), path.as_str()) {
                            ("GET", "/2018-06-01/runtime/invocation/next") => {
                                if served.swap(true, Ordering::SeqCst) {
                                    return; // one invocation only: hang up
                                }
                                respond(
                                    &conn,
                                    "200 OK",
                                    &[
                                        ("Lambda-Runtime-Aws-Request-Id", REQUEST_ID),
                                        ("Lambda-Runtime-Deadline-Ms", "9999999999999"),
                                        (
                                            "Lambda-Runtime-Invoked-Function-Arn",
                                            "arn:aws:lambda:us-east-1:123456789012:function:seccomp",
                                        ),
                                        (
                                            "Lambda-Runtime-Trace-Id",
                                            "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700",
                                        ),
                                    ],
                                    EVENT,
                                );
                            }
                            ("GET", "/ping") => respond(&conn, "200 OK", &[], "pong"),
                            ("POST", _) => {
                                // Recorded before the runtime hears back (and maybe exits).
                                let _ = tx.send(Posted { path, body });
                                respond(&conn, "202 Accepted", &[], r#"{"status":"OK"}"#);
                            }
                            _ => respond(&conn, "404 Not Found", &[], "{}"),
                        }
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    })
}

fn read_all(mut r: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

struct Ran {
    /// None when the runtime was still running after its POST (it was killed).
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
    posted: Option<Posted>,
    took: Duration,
}

impl Ran {
    /// The POSTed response body as JSON, after checking the runtime ended well.
    fn response(&self, what: &str) -> serde_json::Value {
        let posted = self.posted.as_ref().unwrap_or_else(|| {
            panic!(
                "{what}: nothing POSTed; status {:?}\nstdout: {}\nstderr: {}",
                self.status, self.stdout, self.stderr
            )
        });
        assert_eq!(
            posted.path,
            format!("/2018-06-01/runtime/invocation/{REQUEST_ID}/response"),
            "{what}: {}\nstderr: {}",
            posted.body,
            self.stderr
        );
        serde_json::from_str(&posted.body)
            .unwrap_or_else(|e| panic!("{what}: {e}: {}", posted.body))
    }

    fn assert_clean(&self, what: &str) {
        for bad in ["Operation not permitted", "Bad system call", "EPERM"] {
            assert!(
                !self.stderr.contains(bad) && !self.stdout.contains(bad),
                "{what} hit the filter: {bad}\nstdout: {}\nstderr: {}",
                self.stdout,
                self.stderr
            );
        }
    }
}

/// Runs `spec` with a one-invocation Runtime API. If the runtime keeps
/// running after its POST (a real runtime loops), it is killed after `grace`.
fn invoke(root: &CgroupRoot, spec: &SandboxSpec, timeout: Duration, grace: Duration) -> Ran {
    let start = Instant::now();
    let mut sb = Sandbox::spawn(Path::new(JAIL), spec, root).expect("spawn");
    let api = runtime_api(
        sb.take_runtime_api_listener().expect("listener"),
        start + timeout,
    );
    let out = read_all(sb.stdout().expect("stdout"));
    let err = read_all(sb.stderr().expect("stderr"));
    let mut status = None;
    let mut exited_at = None;
    let posted = loop {
        if status.is_none() {
            status = sb.try_wait().expect("try_wait");
            exited_at = status.map(|_| Instant::now());
        }
        if api.is_finished() {
            break api.join().expect("runtime api");
        }
        // After an exit, give the server a moment to pass on a last POST.
        let gave_up = exited_at.is_some_and(|t| t.elapsed() > Duration::from_secs(2));
        if gave_up || start.elapsed() > timeout {
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = start.elapsed();
    let wait_until = Instant::now() + grace;
    while status.is_none() && Instant::now() < wait_until {
        status = sb.try_wait().expect("try_wait");
        std::thread::sleep(Duration::from_millis(10));
    }
    sb.destroy().expect("destroy");
    Ran {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        posted,
        took,
    }
}

/// A spec for a runtime: more memory, processes and time than the shell tests need.
fn runtime_spec(dirs: &Dirs, tag: &str, argv: &[&str], memory_mb: u64) -> SandboxSpec {
    let mut s = spec(dirs, tag, "");
    s.argv = argv.iter().map(|a| a.to_string()).collect();
    s.memory_mb = memory_mb;
    s.pids_max = 512;
    s.tmp_size_mb = 64;
    s.network = lamina_sandbox::NetworkMode::LoopbackOnly;
    for (k, v) in [
        ("HOME", "/tmp"),
        ("LANG", "C.UTF-8"),
        ("AWS_LAMBDA_FUNCTION_NAME", "seccomp"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/seccomp"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2024/01/01/[$LATEST]0123"),
        ("AWS_REGION", "us-east-1"),
    ] {
        s.env.push((k.into(), v.into()));
    }
    s
}

fn which(program: &str) -> Option<PathBuf> {
    ["/usr/local/bin", "/usr/bin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(program))
        .find(|p| p.exists())
}

fn write(dirs: &Dirs, name: &str, contents: &str) {
    std::fs::write(dirs.code.join(name), contents).unwrap();
}

#[test]
fn shell_and_coreutils_work() {
    let Some(root) = setup() else { return };
    let dirs = Dirs::new();
    let script = "ls / && cat /etc/hostname && echo ok; \
        d=$(mktemp -d) && cp /etc/passwd $d/p && cp -a $d/p $d/q && mv $d/q $d/r && ln -s $d/r $d/s && \
        touch $d/t && chmod 600 $d/t && stat -c %a $d/t && du -s $d >/dev/null && df /tmp >/dev/null && \
        sort $d/p | head -1 >/dev/null && find $d -type f | wc -l && tar czf $d/x.tgz -C $d p && \
        gzip -dc $d/x.tgz | wc -c >/dev/null && sed -n 1p $d/p >/dev/null && awk 'NR==1' $d/p >/dev/null && \
        grep -c . $d/p >/dev/null && date >/dev/null && id -u && env | grep -c PATH && sleep 0.01 && \
        ps -e >/dev/null && timeout 5 true && nproc >/dev/null && uname -s && mkfifo $d/f && \
        dd if=/dev/zero of=$d/z bs=1k count=4 2>/dev/null && printf '%s\\n' 3 1 2 | sort -n | tr '\\n' ' ' && \
        echo && (exit 3); echo sub=$? && x=$(echo nested) && echo $x && rm -rf $d && echo done";
    let o = common::run(&root, &spec(&dirs, "sh", script));
    assert!(
        o.status.success(),
        "{:?}\n{}\n{}",
        o.status,
        o.stdout,
        o.stderr
    );
    let lines: Vec<&str> = o.stdout.lines().collect();
    assert!(lines.contains(&"lamina-test"), "{}", o.stdout);
    assert!(lines.contains(&"ok"), "{}", o.stdout);
    for want in ["600", "1051", "Linux", "1 2 3 ", "sub=3", "nested", "done"] {
        assert!(lines.contains(&want), "missing {want:?} in {}", o.stdout);
    }
    assert!(o.stderr.is_empty(), "stderr: {}", o.stderr);
}

const PYTHON: &str = include_str!("seccomp/check.py");

#[test]
fn python_works() {
    let Some(root) = setup() else { return };
    let Some(python) = which("python3") else {
        eprintln!("SKIPPED: python3 is not installed");
        return;
    };
    let dirs = Dirs::new();
    write(&dirs, "check.py", PYTHON);
    let python = python.to_str().unwrap();
    let s = runtime_spec(&dirs, "python", &[python, "/var/task/check.py"], 512);
    let ran = invoke(&root, &s, Duration::from_secs(60), Duration::from_secs(10));
    let v = ran.response("python");
    ran.assert_clean("python");
    assert!(
        ran.status.is_some_and(|s| s.success()),
        "{:?} {}",
        ran.status,
        ran.stderr
    );
    assert_eq!(v["event"]["greeting"], "hello from the test");
    assert_eq!(v["threads"], 140);
    assert_eq!(v["subprocess"], "42");
    assert_eq!(v["socket"], "pong");
    assert_eq!(v["sha256"], sha256_prefix());
    assert_eq!(v["asyncio"], "hello");
    assert_eq!(v["tmp"], 10);
    assert_eq!(v["pool"], serde_json::json!([1, 2, 3]));
    println!("python: {} in {:?}", v, ran.took);
}

/// The first 16 hex digits of sha256("lamina"), computed on the host.
fn sha256_prefix() -> String {
    let out = Command::new("sh")
        .args(["-c", "printf lamina | sha256sum"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)[..16].to_string()
}

const NODE: &str = include_str!("seccomp/check.js");

#[test]
fn node_works() {
    let Some(root) = setup() else { return };
    let Some(node) = which("node") else {
        eprintln!("SKIPPED: node is not installed");
        return;
    };
    let dirs = Dirs::new();
    write(&dirs, "check.js", NODE);
    let s = runtime_spec(
        &dirs,
        "node",
        &[node.to_str().unwrap(), "/var/task/check.js"],
        512,
    );
    let ran = invoke(&root, &s, Duration::from_secs(60), Duration::from_secs(10));
    let v = ran.response("node");
    ran.assert_clean("node");
    assert!(
        ran.status.is_some_and(|s| s.success()),
        "{:?} {}",
        ran.status,
        ran.stderr
    );
    assert_eq!(v["event"]["greeting"], "hello from the test");
    assert_eq!(v["fs"], "written");
    assert_eq!(v["dir"], serde_json::json!(["node.txt", "node2.txt"]));
    assert_eq!(v["timer"], "fired");
    assert_eq!(v["worker"], 42);
    assert_eq!(v["child"], "42");
    assert_eq!(v["sha256"], sha256_prefix());
    assert_eq!(v["ifaces"], serde_json::json!(["lo"]));
    assert_eq!(v["ping"], "pong");
    println!("node: {} in {:?}", v, ran.took);
}

const JAVA: &str = include_str!("seccomp/Hello.java");

#[test]
fn java_works() {
    let Some(root) = setup() else { return };
    let Some(java) = which("java") else {
        eprintln!("SKIPPED: java is not installed");
        return;
    };
    let java = java.to_str().unwrap();
    let dirs = Dirs::new();
    let s = runtime_spec(&dirs, "java-version", &[java, "-version"], 1024);
    let ran = invoke(&root, &s, Duration::from_secs(60), Duration::from_secs(60));
    ran.assert_clean("java -version");
    assert!(
        ran.status.is_some_and(|s| s.success()),
        "{:?} {}",
        ran.status,
        ran.stderr
    );
    assert!(ran.stderr.contains("version \""), "{}", ran.stderr);
    println!(
        "java -version: {:?} in {:?}",
        ran.stderr.lines().next(),
        ran.took
    );

    // JDK 11+ runs a single source file (compiled in memory by javac).
    write(&dirs, "Hello.java", JAVA);
    let s = runtime_spec(&dirs, "java", &[java, "/var/task/Hello.java"], 1024);
    let ran = invoke(&root, &s, Duration::from_secs(120), Duration::from_secs(30));
    let v = ran.response("java");
    ran.assert_clean("java");
    assert!(
        ran.status.is_some_and(|s| s.success()),
        "{:?} {}",
        ran.status,
        ran.stderr
    );
    assert_eq!(v["event"]["greeting"], "hello from the test");
    assert_eq!(v["threads"], 140);
    assert_eq!(v["child"], "42");
    assert_eq!(v["tmp"], "written");
    assert_eq!(v["ifaces"], 1, "only lo");
    assert_eq!(v["sha256"], sha256_prefix());
    assert_eq!(v["tls"], "Default");
    println!("java: {} in {:?}", v, ran.took);
}

const GO: &str = include_str!("seccomp/main.go");

#[test]
fn go_static_binary_works() {
    let Some(root) = setup() else { return };
    let Some(go) = which("go") else {
        eprintln!(
            "SKIPPED: go is not installed (apt-get install golang-go); \
             no statically linked Go binary to run"
        );
        return;
    };
    let dirs = Dirs::new();
    let build = tempfile::tempdir().unwrap();
    std::fs::write(build.path().join("main.go"), GO).unwrap();
    let out = Command::new(go)
        .current_dir(build.path())
        .args(["build", "-o"])
        .arg(dirs.code.join("bootstrap"))
        .arg("main.go")
        .env("CGO_ENABLED", "0")
        .env("GOCACHE", build.path().join("cache"))
        .env("GOPATH", build.path().join("gopath"))
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GO111MODULE", "off")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "go build: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = runtime_spec(&dirs, "go", &["/var/task/bootstrap"], 256);
    let ran = invoke(&root, &s, Duration::from_secs(60), Duration::from_secs(10));
    let v = ran.response("go");
    ran.assert_clean("go");
    assert!(
        ran.status.is_some_and(|s| s.success()),
        "{:?} {}",
        ran.status,
        ran.stderr
    );
    assert_eq!(v["event"]["greeting"], "hello from the test");
    assert_eq!(v["goroutines"], 2016);
    assert_eq!(v["child"], "42");
    assert_eq!(v["tmp"], "written");
    assert_eq!(v["ifaces"], 1);
    println!("go: {} in {:?}", v, ran.took);
}

/// Mono's own HTTP stack (`WebClient`, as the C# fixture's `HttpWebRequest`).
const CSHARP: &str = include_str!("seccomp/check.cs");

#[test]
fn mono_works() {
    let Some(root) = setup() else { return };
    let Some(mono) = which("mono") else {
        eprintln!("SKIPPED: mono is not installed");
        return;
    };
    let mono = mono.to_str().unwrap();
    let dirs = Dirs::new();
    let s = runtime_spec(&dirs, "mono-version", &[mono, "--version"], 512);
    let ran = invoke(&root, &s, Duration::from_secs(60), Duration::from_secs(30));
    ran.assert_clean("mono --version");
    assert!(
        ran.status.is_some_and(|s| s.success()),
        "{:?} {}",
        ran.status,
        ran.stderr
    );
    assert!(
        ran.stdout.starts_with("Mono JIT compiler"),
        "{}",
        ran.stdout
    );
    println!(
        "mono --version: {:?} in {:?}",
        ran.stdout.lines().next(),
        ran.took
    );

    let Some(mcs) = which("mcs") else {
        eprintln!("SKIPPED: mcs is not installed; only `mono --version` ran");
        return;
    };
    let src = dirs.base.path().join("Check.cs");
    std::fs::write(&src, CSHARP).unwrap();
    let out = Command::new(mcs)
        .arg(format!("-out:{}", dirs.code.join("Check.exe").display()))
        .arg(&src)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mcs: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let s = runtime_spec(&dirs, "mono", &[mono, "/var/task/Check.exe"], 512);
    let ran = invoke(&root, &s, Duration::from_secs(60), Duration::from_secs(30));
    let v = ran.response("mono");
    ran.assert_clean("mono");
    assert!(
        ran.status.is_some_and(|s| s.success()),
        "{:?} {}",
        ran.status,
        ran.stderr
    );
    assert_eq!(v["event"]["greeting"], "hello from the test");
    assert_eq!(v["threads"], 140);
    assert_eq!(v["child"], "42");
    assert_eq!(v["tmp"], "written");
    assert_eq!(v["sha256"], sha256_prefix());
    println!("mono: {} in {:?}", v, ran.took);
}

/// The `lambda_runtime` (tokio, hyper) function of the engine's runtime tests,
/// if it was built (`cargo build --release --locked` in
/// `tests/fixtures/runtimes/rust-echo`, which the engine's tests do).
fn rust_bootstrap() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LAMINA_TEST_RUST_BOOTSTRAP") {
        return Some(PathBuf::from(p));
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    [
        target.join("runtime-fixtures/rust-echo/release/bootstrap"),
        workspace.join("tests/fixtures/runtimes/rust-echo/target/release/bootstrap"),
    ]
    .into_iter()
    .find(|p| p.exists())
}

#[test]
fn rust_lambda_runtime_works() {
    let Some(root) = setup() else { return };
    let Some(bootstrap) = rust_bootstrap() else {
        eprintln!(
            "SKIPPED: no lambda_runtime binary (build tests/fixtures/runtimes/rust-echo with \
             `cargo build --release --locked`, or set LAMINA_TEST_RUST_BOOTSTRAP)"
        );
        return;
    };
    let dirs = Dirs::new();
    std::fs::copy(&bootstrap, dirs.code.join("bootstrap")).unwrap();
    let s = runtime_spec(&dirs, "rust", &["/var/task/bootstrap"], 128);
    // A real runtime loops for the next invocation: it is killed after its response.
    let ran = invoke(
        &root,
        &s,
        Duration::from_secs(30),
        Duration::from_millis(200),
    );
    let v = ran.response("rust");
    ran.assert_clean("rust");
    assert_eq!(v["event"]["greeting"], "hello from the test", "{v}");
    assert_eq!(v["runtime"], "rust", "{v}");
    assert_eq!(v["request_id"], REQUEST_ID, "{v}");
    println!("rust (lambda_runtime): {} in {:?}", v, ran.took);
}

/// Python `ctypes` calls each syscall with harmless arguments and prints its errno.
const PROBE: &str = include_str!("seccomp/probe.py");

#[test]
fn dangerous_syscalls_are_refused_inside() {
    let Some(root) = setup() else { return };
    let Some(python) = which("python3") else {
        eprintln!("SKIPPED: python3 is not installed");
        return;
    };
    let dirs = Dirs::new();
    write(&dirs, "probe.py", PROBE);
    let eperm = libc::EPERM.to_string();
    let clone_newuser = (libc::CLONE_NEWUSER | libc::SIGCHLD).to_string();
    let calls: Vec<(&str, libc::c_long, Vec<String>, String)> = vec![
        ("mount", libc::SYS_mount, vec![], eperm.clone()),
        ("umount2", libc::SYS_umount2, vec![], eperm.clone()),
        ("pivot_root", libc::SYS_pivot_root, vec![], eperm.clone()),
        (
            "unshare",
            libc::SYS_unshare,
            vec!["0".into()],
            eperm.clone(),
        ),
        (
            "unshare_user",
            libc::SYS_unshare,
            vec![libc::CLONE_NEWUSER.to_string()],
            eperm.clone(),
        ),
        (
            "setns",
            libc::SYS_setns,
            vec!["-1".into(), "0".into()],
            eperm.clone(),
        ),
        (
            "ptrace",
            libc::SYS_ptrace,
            vec![libc::PTRACE_TRACEME.to_string()],
            eperm.clone(),
        ),
        ("bpf", libc::SYS_bpf, vec!["-1".into()], eperm.clone()),
        ("kexec_load", libc::SYS_kexec_load, vec![], eperm.clone()),
        ("init_module", libc::SYS_init_module, vec![], eperm.clone()),
        (
            "finit_module",
            libc::SYS_finit_module,
            vec!["-1".into()],
            eperm.clone(),
        ),
        ("keyctl", libc::SYS_keyctl, vec!["-1".into()], eperm.clone()),
        ("add_key", libc::SYS_add_key, vec![], eperm.clone()),
        ("userfaultfd", libc::SYS_userfaultfd, vec![], eperm.clone()),
        (
            "perf_event_open",
            libc::SYS_perf_event_open,
            vec!["0".into(), "0".into(), "-1".into(), "-1".into(), "0".into()],
            eperm.clone(),
        ),
        ("reboot", libc::SYS_reboot, vec![], eperm.clone()),
        ("swapon", libc::SYS_swapon, vec![], eperm.clone()),
        (
            "open_by_handle_at",
            libc::SYS_open_by_handle_at,
            vec!["-1".into()],
            eperm.clone(),
        ),
        (
            "personality",
            libc::SYS_personality,
            vec![libc::ADDR_NO_RANDOMIZE.to_string()],
            eperm.clone(),
        ),
        (
            "personality_query",
            libc::SYS_personality,
            vec!["0xffffffff".into()],
            "ok".into(),
        ),
        (
            "personality_linux",
            libc::SYS_personality,
            vec!["0".into()],
            "ok".into(),
        ),
        (
            "clone_newuser",
            libc::SYS_clone,
            vec![clone_newuser],
            eperm.clone(),
        ),
        ("clone3", libc::SYS_clone3, vec![], libc::ENOSYS.to_string()),
        (
            "io_uring_setup",
            libc::SYS_io_uring_setup,
            vec![],
            eperm.clone(),
        ),
        (
            "socket_packet",
            libc::SYS_socket,
            vec![libc::AF_PACKET.to_string(), libc::SOCK_RAW.to_string()],
            libc::EAFNOSUPPORT.to_string(),
        ),
        (
            "socket_vsock",
            libc::SYS_socket,
            vec![libc::AF_VSOCK.to_string(), libc::SOCK_STREAM.to_string()],
            libc::EAFNOSUPPORT.to_string(),
        ),
        (
            "ioctl_tiocsti",
            libc::SYS_ioctl,
            vec!["0".into(), libc::TIOCSTI.to_string()],
            libc::ENOTTY.to_string(),
        ),
    ];
    let input: String = calls
        .iter()
        .map(|(name, nr, args, _)| format!("{name} {nr} {}\n", args.join(" ")))
        .collect();
    write(&dirs, "calls.txt", &input);
    let script = format!(
        "{} /var/task/probe.py < /var/task/calls.txt; grep -E '^Seccomp' /proc/self/status; \
         setarch -R true 2>&1 || echo setarch=$?; unshare -U -r true 2>&1 || echo unshare=$?",
        python.display()
    );
    let o = common::run(&root, &spec(&dirs, "dangerous", &script));
    assert!(
        o.status.success(),
        "{:?} {} {}",
        o.status,
        o.stdout,
        o.stderr
    );
    let got: BTreeMap<&str, &str> = o.stdout.lines().filter_map(|l| l.split_once(' ')).collect();
    for (name, _, _, want) in &calls {
        assert_eq!(
            got.get(name).copied(),
            Some(want.as_str()),
            "{name}\n{}\n{}",
            o.stdout,
            o.stderr
        );
    }
    assert!(o.stdout.contains("Seccomp:\t2"), "{}", o.stdout);
    assert!(o.stdout.contains("Seccomp_filters:\t1"), "{}", o.stdout);
    assert!(o.stdout.contains("setarch=1"), "{}", o.stdout);
    assert!(o.stdout.contains("unshare=1"), "{}", o.stdout);
}
