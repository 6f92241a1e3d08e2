//! Captures an environment's stdout and stderr line by line into its log stream and the
//! current invocation's tail. `Output::drain` is a barrier: everything the runtime wrote before the
//! call is in the log when it returns.

use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use tokio::net::unix::pipe;
use tokio::sync::watch;

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
    readers: Vec<Arc<Reader>>,
    /// Becomes `true` when every pipe reached end of file: the environment's processes are gone.
    pub closed: watch::Receiver<bool>,
    sink: Arc<Sink>,
}

impl Output {
    pub fn start(pipes: Vec<OwnedFd>, sink: Arc<Sink>) -> std::io::Result<Self> {
        let (closed_tx, closed) = watch::channel(false);
        let closed_tx = Arc::new(closed_tx);
        let open = Arc::new(std::sync::atomic::AtomicUsize::new(pipes.len()));
        let mut readers = Vec::new();
        for fd in pipes {
            let reader = Arc::new(Reader {
                rx: pipe::Receiver::from_owned_fd(fd)?,
                state: Mutex::default(),
            });
            readers.push(Arc::clone(&reader));
            let sink = Arc::clone(&sink);
            let open = Arc::clone(&open);
            let closed_tx = Arc::clone(&closed_tx);
            tokio::spawn(async move {
                while reader.rx.readable().await.is_ok() && !reader.read(&sink) {}
                reader.finish(&sink);
                if open.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) == 1 {
                    let _ = closed_tx.send(true);
                }
            });
        }
        Ok(Self {
            readers,
            closed,
            sink,
        })
    }

    /// Logs everything already written to the pipes: when it returns, every line the runtime
    /// wrote before the call is in the log. Reads the pipes here, without waiting for the
    /// reader tasks.
    pub fn drain(&self) {
        for r in &self.readers {
            r.read(&self.sink);
        }
    }
}

/// One pipe, read by its task as data arrives and by [`Output::drain`] on demand.
struct Reader {
    rx: pipe::Receiver,
    state: Mutex<ReadState>,
}

#[derive(Default)]
struct ReadState {
    /// The start of a line whose end has not arrived yet.
    pending: Vec<u8>,
    eof: bool,
}

impl Reader {
    /// Logs the complete lines the pipe holds now; returns true at end of file.
    fn read(&self, sink: &Sink) -> bool {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.eof {
            return true;
        }
        let mut chunk = [0u8; 16 * 1024];
        loop {
            match self.rx.try_read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    let pending = &mut state.pending;
                    pending.extend_from_slice(&chunk[..n]);
                    let mut start = 0;
                    while let Some(pos) = pending[start..].iter().position(|b| *b == b'\n') {
                        sink.line(&String::from_utf8_lossy(&pending[start..start + pos]));
                        start += pos + 1;
                    }
                    pending.drain(..start);
                    // Bound a line without a newline so a runtime cannot grow memory forever.
                    if pending.len() > 256 * 1024 {
                        sink.line(&String::from_utf8_lossy(pending));
                        pending.clear();
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        state.eof = true;
        true
    }

    /// Logs a last line without a newline, once the pipe is closed.
    fn finish(&self, sink: &Sink) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.eof = true;
        if !state.pending.is_empty() {
            sink.line(&String::from_utf8_lossy(&state.pending));
            state.pending.clear();
        }
    }
}
