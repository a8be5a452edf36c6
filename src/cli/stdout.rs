//! Standard output for results. When the reader went away (`liftoff plan |
//! head`), liftoff ends quietly with exit code 141, as a tool stopped by
//! SIGPIPE would, instead of panicking; what was applied is in the state.

use std::io::{ErrorKind, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::exit;

static DOCUMENT: AtomicBool = AtomicBool::new(false);

/// Whether something was written to standard output (with `--output json`,
/// the command's one document).
pub fn document_written() -> bool {
    DOCUMENT.load(Ordering::SeqCst)
}

/// Writes `text` to standard output and flushes it.
pub fn write(text: &str) {
    DOCUMENT.store(true, Ordering::SeqCst);
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        closed_or_ignore(e);
    }
}

/// A write to a closed pipe ends the process quietly; other errors (a full
/// disk behind a redirect) are not worth a panic either and are dropped.
pub fn closed_or_ignore(e: std::io::Error) {
    if e.kind() == ErrorKind::BrokenPipe {
        std::process::exit(exit::PIPE_CLOSED);
    }
}

/// A panic from `eprintln!` on a closed standard error ends the process
/// quietly as well; every other panic is reported as usual.
pub fn quiet_on_closed_pipes() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(exit::PIPE_CLOSED);
        }
        default(info);
    }));
}
