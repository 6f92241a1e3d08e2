//! Captures an environment's stdout and stderr line by line into its log stream and the
//! current invocation's tail. `drain` is a barrier: everything the runtime wrote before the
//! call is in the log when it returns.

use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use tokio::net::unix::pipe;
use tokio::sync::{mpsc, oneshot, watch};

use crate::logs::{LogStream, Tail, now_ms};

/// Where captured lines go.
pub struct Sink {
    pub log: Arc<LogStream>,
    /// The tail of the invocation in flight, if any.
    pub tail: Mutex<Option<Tail>>,
}

impl Sink {
    pub fn line(&self, line: &str) {
        self.log.append(now_ms(), line);
        let mut tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = tail.as_mut() {
            t.push(line);
        }
    }
}

/// The readers of one environment's output pipes.
pub struct Output {
    barriers: Vec<mpsc::Sender<oneshot::Sender<()>>>,
    /// Becomes `true` when every pipe reached end of file: the environment's processes are gone.
    pub closed: watch::Receiver<bool>,
}

impl Output {
    pub fn start(pipes: Vec<OwnedFd>, sink: Arc<Sink>) -> std::io::Result<Self> {
        let (closed_tx, closed) = watch::channel(false);
        let closed_tx = Arc::new(closed_tx);
        let open = Arc::new(std::sync::atomic::AtomicUsize::new(pipes.len()));
        let mut barriers = Vec::new();
        for fd in pipes {
            let rx = pipe::Receiver::from_owned_fd(fd)?;
            let (btx, brx) = mpsc::channel(4);
            barriers.push(btx);
            let sink = Arc::clone(&sink);
            let open = Arc::clone(&open);
            let closed_tx = Arc::clone(&closed_tx);
            tokio::spawn(async move {
                let mut brx = brx;
                read_lines(rx, &sink, &mut brx).await;
                if open.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
                    let _ = closed_tx.send(true);
                }
                // Answer barriers that arrive after the end, so `drain` never hangs.
                while let Some(ack) = brx.recv().await {
                    let _ = ack.send(());
                }
            });
        }
        Ok(Self { barriers, closed })
    }

    /// Returns once everything already written to the pipes has been logged.
    pub async fn drain(&self) {
        for b in &self.barriers {
            let (tx, rx) = oneshot::channel();
            if b.send(tx).await.is_ok() {
                let _ = rx.await;
            }
        }
    }
}

async fn read_lines(
    rx: pipe::Receiver,
    sink: &Sink,
    barrier: &mut mpsc::Receiver<oneshot::Sender<()>>,
) {
    let mut pending: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    let mut eof = false;
    while !eof {
        tokio::select! {
            ready = rx.readable() => {
                if ready.is_err() {
                    break;
                }
                eof = read_available(&rx, &mut chunk, &mut pending, sink);
            }
            ack = barrier.recv() => {
                let Some(ack) = ack else { break };
                eof = read_available(&rx, &mut chunk, &mut pending, sink);
                let _ = ack.send(());
            }
        }
    }
    if !pending.is_empty() {
        sink.line(&String::from_utf8_lossy(&pending));
    }
}

/// Reads what the pipe holds now; returns true at end of file.
fn read_available(
    rx: &pipe::Receiver,
    chunk: &mut [u8],
    pending: &mut Vec<u8>,
    sink: &Sink,
) -> bool {
    loop {
        match rx.try_read(chunk) {
            Ok(0) => return true,
            Ok(n) => {
                pending.extend_from_slice(&chunk[..n]);
                while let Some(pos) = pending.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = pending.drain(..=pos).collect();
                    sink.line(&String::from_utf8_lossy(&line[..line.len() - 1]));
                }
                // Bound a line without a newline so a runtime cannot grow memory forever.
                if pending.len() > 256 * 1024 {
                    sink.line(&String::from_utf8_lossy(pending));
                    pending.clear();
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return true,
        }
    }
}
