//! The servers the SQS client tests talk to: `moto_server` (a real SQS-compatible server) and
//! a recording proxy that can also play a server without the JSON protocol.

#![allow(clippy::unwrap_used)] // test helpers: a failed step should panic

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ---- moto_server --------------------------------------------------------------------------

/// A running `moto_server`, killed on drop.
pub struct Moto {
    child: Child,
    pub addr: SocketAddr,
    /// The last lines it wrote, for failure messages.
    log: Arc<Mutex<Vec<String>>>,
}

impl Moto {
    /// Starts moto, or returns `None` when it is missing and `LAMINA_SKIP_MOTO=1`.
    pub fn start() -> Option<Self> {
        Self::start_with(&[])
    }

    pub fn start_with(env: &[(&str, &str)]) -> Option<Self> {
        let exe = moto_executable()?;
        let mut command = Command::new(&exe);
        command
            .args(["-H", "127.0.0.1", "-p", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .env("PYTHONUNBUFFERED", "1");
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
        let stderr = child.stderr.take().expect("stderr is piped");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let thread_log = Arc::clone(&log);
        // Werkzeug logs every request to stderr: keep draining it so moto never blocks on a
        // full pipe.
        std::thread::spawn(move || {
            let mut port_tx = Some(port_tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(port) = line
                    .split("Running on http://127.0.0.1:")
                    .nth(1)
                    .and_then(|rest| rest.trim().parse::<u16>().ok())
                    && let Some(tx) = port_tx.take()
                {
                    let _ = tx.send(port);
                }
                let mut log = thread_log.lock().unwrap();
                log.push(line);
                if log.len() > 200 {
                    log.remove(0);
                }
            }
        });
        let mut moto = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
        };
        match port_rx.recv_timeout(Duration::from_secs(120)) {
            Ok(port) => moto.addr.set_port(port),
            Err(e) => panic!(
                "moto_server did not report its port ({e}); status {:?}; output:\n{}",
                moto.child.try_wait(),
                moto.log.lock().unwrap().join("\n")
            ),
        }
        Some(moto)
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "moto_server output (last lines):\n{}",
                self.log.lock().map(|l| l.join("\n")).unwrap_or_default()
            );
        }
    }
}

fn moto_executable() -> Option<PathBuf> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (path, source) = match std::env::var_os("MOTO_SERVER") {
        Some(path) => (PathBuf::from(path), "$MOTO_SERVER"),
        None => (
            repo.join(".venv/bin/moto_server"),
            "<repo>/.venv/bin/moto_server",
        ),
    };
    if path.is_file() {
        return Some(path);
    }
    if std::env::var("LAMINA_SKIP_MOTO").as_deref() == Ok("1") {
        eprintln!(
            "SKIPPED: moto_server not found at {} ({source}) and LAMINA_SKIP_MOTO=1",
            path.display()
        );
        return None;
    }
    panic!(
        "moto_server not found at {} ({source}). These tests need a real SQS-compatible server. \
         Install it with `python3 -m venv .venv && .venv/bin/pip install -r \
         tests/python/requirements.txt` in the repository root (scripts/test does this), or \
         point MOTO_SERVER at a moto_server executable, or set LAMINA_SKIP_MOTO=1 to skip these \
         tests.",
        path.display()
    )
}

// ---- recording proxy ----------------------------------------------------------------------

/// How the proxy answers JSON-protocol requests.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum JsonMode {
    /// Forward them.
    Forward,
    /// 400 with AWS's JSON `UnknownOperationException`, as a server without SQS JSON support
    /// behind an AWS-style front end answers.
    UnknownOperation,
    /// 404 with an empty HTML body, as a query-only server answers a request without `Action`.
    NotFound,
}

/// Forwards requests to `upstream`, recording `json:<Operation>` or `query:<Action>` for each.
pub struct Proxy {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr, mode: JsonMode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let task_seen = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let seen = Arc::clone(&task_seen);
                tokio::spawn(async move {
                    let Some((request, head, body)) = read_request(&mut inbound).await else {
                        return;
                    };
                    let target = header_value(&head, "x-amz-target");
                    let operation = match &target {
                        Some(target) => format!(
                            "json:{}",
                            target.strip_prefix("AmazonSQS.").unwrap_or(target)
                        ),
                        None => {
                            let body = String::from_utf8_lossy(&body);
                            let action = body
                                .split('&')
                                .find_map(|p| p.strip_prefix("Action="))
                                .unwrap_or("?")
                                .to_owned();
                            format!("query:{action}")
                        }
                    };
                    seen.lock().unwrap().push(operation);
                    let canned: Option<&[u8]> = match (target.is_some(), mode) {
                        (true, JsonMode::UnknownOperation) => Some(
                            b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.0\r\n\
                              Content-Length: 75\r\nConnection: close\r\n\r\n\
                              {\"__type\":\"com.amazon.coral.service#UnknownOperationException\",\"message\":null}",
                        ),
                        (true, JsonMode::NotFound) => Some(
                            b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html; charset=utf-8\r\n\
                              Content-Length: 0\r\nConnection: close\r\n\r\n",
                        ),
                        _ => None,
                    };
                    if let Some(canned) = canned {
                        let _ = inbound.write_all(canned).await;
                        return;
                    }
                    let Ok(mut outbound) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    if outbound.write_all(&request).await.is_err() {
                        return;
                    }
                    let mut response = Vec::new();
                    let _ = outbound.read_to_end(&mut response).await;
                    let _ = inbound.write_all(&response).await;
                });
            }
        });
        Self { addr, seen, task }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one HTTP/1.1 request with a `Content-Length` body: (all bytes, head, body).
pub async fn read_request(stream: &mut TcpStream) -> Option<(Vec<u8>, String, Vec<u8>)> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
        if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let length: usize = header_value(&head, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while buffer.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    }
    let body = buffer[head_end..].to_vec();
    Some((buffer, head, body))
}

fn header_value(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}
