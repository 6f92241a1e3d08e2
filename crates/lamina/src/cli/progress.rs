//! A spinner (or an `n/total` bar) on stderr for long work, drawn only when stderr is a
//! terminal, and erased when done.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const BAR_WIDTH: u64 = 24;

/// Progress shown while it lives; `done` (or drop) erases it.
pub struct Progress {
    count: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts drawing `label` with the running count (`total`: draw a bar towards it). Draws
    /// nothing when stderr is not a terminal.
    pub fn start(label: &str, total: Option<u64>) -> Self {
        let count = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::io::stderr().is_terminal().then(|| {
            let (count, stop, label) = (count.clone(), stop.clone(), label.to_owned());
            std::thread::spawn(move || draw(&label, total, &count, &stop))
        });
        Self {
            count,
            stop,
            thread,
        }
    }

    /// Adds to the count shown.
    pub fn add(&self, n: u64) {
        self.count.fetch_add(n, Ordering::Relaxed);
    }

    /// Stops and erases the line.
    pub fn done(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

fn draw(label: &str, total: Option<u64>, count: &AtomicU64, stop: &AtomicBool) {
    // Quick work shows nothing at all.
    for _ in 0..3 {
        if stop.load(Ordering::Relaxed) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut frame = 0usize;
    let mut stderr = std::io::stderr();
    while !stop.load(Ordering::Relaxed) {
        let n = count.load(Ordering::Relaxed);
        let line = match total {
            Some(total) if total > 0 => {
                let filled = (n.min(total) * BAR_WIDTH / total) as usize;
                format!(
                    "{label} [{}{}] {n}/{total}",
                    "█".repeat(filled),
                    "░".repeat(BAR_WIDTH as usize - filled)
                )
            }
            _ => format!("{} {label}: {n}", FRAMES[frame % FRAMES.len()]),
        };
        // Erase the line, then draw.
        let _ = write!(stderr, "\r\x1b[2K{line}");
        let _ = stderr.flush();
        frame += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = write!(stderr, "\r\x1b[2K");
    let _ = stderr.flush();
}
