//! Where log lines go: an in-memory buffer that one background thread writes to stderr in batches.
//!
//! Why: writing each line to stderr costs a `write(2)` per request on the request's thread, and a queue with a
//! writer thread woken per line (tracing-appender) costs a wake-up, a `sched_yield` and a `write(2)` per request
//! instead — measured with `strace -c` under load, about three system calls per request. Here a request appends its
//! line under a short lock; the thread is woken only by the first line after it last wrote, waits [`LINGER`] for
//! more, and writes them all at once. Under load that is one `write(2)` per [`LINGER`], when idle a line is out
//! within [`LINGER`].
//!
//! Nothing is dropped: a line that would grow the buffer past [`MAX_BUFFERED`] (stderr stalled) is written by the
//! request's own thread, under the same lock, so lines keep their order. The buffer is flushed on drop of the
//! [`LogFlushGuard`] at exit; a crash can lose the last [`LINGER`] of lines.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// How long the writer thread waits for more lines before writing.
pub const LINGER: Duration = Duration::from_millis(20);

/// Past this many buffered bytes, lines are written synchronously (backpressure instead of loss).
pub const MAX_BUFFERED: usize = 4 * 1024 * 1024;

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    /// Held while a batch is written; taken while `state` is held, so batches reach stderr in buffer order.
    writing: Mutex<()>,
}

struct State {
    buffer: Vec<u8>,
    closed: bool,
}

/// The `MakeWriter` for tracing-subscriber: cheap to clone, shared by all threads.
#[derive(Clone)]
pub struct BatchedStderr {
    shared: Arc<Shared>,
}

/// Flushes what is buffered and stops the writer thread when dropped (keep it alive for the process's life).
pub struct LogFlushGuard {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BatchedStderr {
    /// The writer and the guard that flushes it. The thread writes to `sink` (stderr in production).
    pub fn start() -> (BatchedStderr, LogFlushGuard) {
        Self::start_with(|| Box::new(std::io::stderr()))
    }

    fn start_with(
        sink: impl FnOnce() -> Box<dyn Write + Send> + Send + 'static,
    ) -> (Self, LogFlushGuard) {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                buffer: Vec::with_capacity(64 * 1024),
                closed: false,
            }),
            wake: Condvar::new(),
            writing: Mutex::new(()),
        });
        let for_thread = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || write_batches(&for_thread, sink()))
            .ok();
        if thread.is_none() {
            // No thread: every line is written synchronously (see `write`).
            lock(&shared).closed = true;
        }
        (
            BatchedStderr {
                shared: Arc::clone(&shared),
            },
            LogFlushGuard { shared, thread },
        )
    }
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.state.lock().unwrap_or_else(|e| e.into_inner())
}

fn write_batches(shared: &Shared, mut sink: Box<dyn Write + Send>) {
    let mut out = Vec::with_capacity(64 * 1024);
    loop {
        let (closed, writing) = {
            let mut state = lock(shared);
            while state.buffer.is_empty() && !state.closed {
                state = shared.wake.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            if !state.closed {
                drop(state);
                std::thread::sleep(LINGER);
                state = lock(shared);
            }
            std::mem::swap(&mut out, &mut state.buffer);
            let writing = shared.writing.lock().unwrap_or_else(|e| e.into_inner());
            (state.closed, writing)
        };
        // Nowhere to report a failing stderr; the lines are dropped rather than blocking the proxy forever.
        let _ = sink.write_all(&out).and_then(|()| sink.flush());
        drop(writing);
        out.clear();
        if closed {
            return;
        }
    }
}

impl Drop for LogFlushGuard {
    fn drop(&mut self) {
        lock(&self.shared).closed = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One line's writer: tracing-subscriber formats a whole event and then writes it with one `write_all`.
pub struct LineWriter<'a> {
    shared: &'a Shared,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let mut state = lock(self.shared);
        if state.closed || state.buffer.len() + line.len() > MAX_BUFFERED {
            // Stalled stderr or no writer thread: write in order, synchronously, under the lock.
            let _writing = self
                .shared
                .writing
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let mut stderr = std::io::stderr().lock();
            stderr.write_all(&state.buffer)?;
            state.buffer.clear();
            stderr.write_all(line)?;
            return Ok(line.len());
        }
        let was_empty = state.buffer.is_empty();
        state.buffer.extend_from_slice(line);
        drop(state);
        if was_empty {
            self.shared.wake.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchedStderr {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            shared: &self.shared,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let mut s = self.0.lock().unwrap_or_else(|e| e.into_inner());
            s.0.extend_from_slice(buf);
            s.1 += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_are_written_in_order_in_few_writes_and_flushed_on_drop() {
        let sink = Sink::default();
        let for_thread = sink.clone();
        let (writer, guard) = BatchedStderr::start_with(move || Box::new(for_thread));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let writer = writer.clone();
                std::thread::spawn(move || {
                    for i in 0..1000 {
                        let line = format!("t{t} line {i}\n");
                        let mut w = tracing_subscriber::fmt::MakeWriter::make_writer(&writer);
                        w.write_all(line.as_bytes()).expect("write");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        drop(guard);
        let (bytes, writes) = sink.0.lock().expect("lock").clone();
        let text = String::from_utf8(bytes).expect("utf8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4000, "nothing lost");
        for t in 0..4 {
            let own: Vec<usize> = lines
                .iter()
                .filter_map(|l| l.strip_prefix(&format!("t{t} line ")))
                .map(|n| n.parse().expect("number"))
                .collect();
            assert_eq!(own, (0..1000).collect::<Vec<_>>(), "thread {t} in order");
        }
        assert!(writes < 4000, "batched: {writes} writes for 4000 lines");
    }

    #[test]
    fn an_idle_line_is_written_without_waiting_for_more() {
        let sink = Sink::default();
        let for_thread = sink.clone();
        let (writer, _guard) = BatchedStderr::start_with(move || Box::new(for_thread));
        tracing_subscriber::fmt::MakeWriter::make_writer(&writer)
            .write_all(b"one line\n")
            .expect("write");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while sink.0.lock().expect("lock").0.is_empty() {
            assert!(std::time::Instant::now() < deadline, "line never written");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(sink.0.lock().expect("lock").0, b"one line\n");
    }
}
