//! Where log and metric lines go: stdout, which Lambda ships to CloudWatch Logs.
//!
//! Each write to stdout is a system call and wakes Lambda's log shipper. A
//! receiver request writes several lines (received and queued metrics, a line
//! per queued event, the request's own line): measured on the release binary,
//! those writes were a visible share of a warm request's CPU. An edge can
//! therefore gather a request's lines and write them with one call when the
//! request is answered; everywhere else, each line is written at once.

use std::cell::RefCell;
use std::future::Future;
use std::io::Write;

use tracing_subscriber::fmt::MakeWriter;

tokio::task_local! {
    static GATHERED: RefCell<Vec<u8>>;
}

/// Room for a 10-event request's lines without growing.
const GATHER_CAPACITY: usize = 8 * 1024;

/// Runs `work` with its lines gathered, then writes them to stdout in one call.
pub async fn gathered<F: Future>(work: F) -> F::Output {
    GATHERED
        .scope(RefCell::new(Vec::with_capacity(GATHER_CAPACITY)), async move {
            let output = work.await;
            flush();
            output
        })
        .await
}

/// Writes one complete line (with its newline): gathered inside [`gathered`],
/// straight to stdout elsewhere.
pub fn write_line(line: &[u8]) {
    if !gather(line) {
        let _ = std::io::stdout().lock().write_all(line);
    }
}

/// Writes what has been gathered so far. The panic hook calls it, so a panic's
/// line and those before it reach the log even though the request never ends.
pub fn flush() {
    let pending = take();
    if !pending.is_empty() {
        let _ = std::io::stdout().lock().write_all(&pending);
    }
}

fn gather(line: &[u8]) -> bool {
    GATHERED
        .try_with(|gathered| gathered.borrow_mut().extend_from_slice(line))
        .is_ok()
}

fn take() -> Vec<u8> {
    GATHERED
        .try_with(|gathered| std::mem::take(&mut *gathered.borrow_mut()))
        .unwrap_or_default()
}

/// The log subscriber's writer: formats each event into one buffer and hands
/// it over whole, so a line is never split between two writes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdout;

impl<'a> MakeWriter<'a> for Stdout {
    type Writer = Stdout;

    fn make_writer(&'a self) -> Self::Writer {
        Stdout
    }
}

impl Write for Stdout {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        write_line(line);
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_written_during_a_request_are_held_until_it_ends_in_order() {
        // GIVEN a request whose lines are gathered
        let held = gathered(async {
            // WHEN it writes two lines
            write_line(b"first\n");
            write_line(b"second\n");
            // THEN both are held, in order, for one write at the end
            take()
        })
        .await;
        assert_eq!(held, b"first\nsecond\n");
    }

    #[tokio::test]
    async fn lines_written_outside_a_request_are_not_held() {
        // GIVEN no request in progress
        // WHEN a line is offered for gathering
        let gathered = gather(b"init line\n");
        // THEN it is not held: the caller writes it at once
        assert!(!gathered);
    }

    #[tokio::test]
    async fn a_flush_empties_what_was_held() {
        // GIVEN a request that has written a line
        let after_flush = gathered(async {
            write_line(b"before a panic\n");
            // WHEN the lines are flushed mid-request (as the panic hook does)
            flush();
            take()
        })
        .await;
        // THEN nothing is left to write twice
        assert!(after_flush.is_empty());
    }
}
