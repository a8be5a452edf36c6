//! Ctrl-C at any point of a command ends it with one line saying what was
//! stopped: while reading (nothing changed) or while applying (what was
//! created is recorded; a re-run continues). Exit code 130.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::Error;

static APPLYING: AtomicBool = AtomicBool::new(false);

/// From now on an interruption stops changes in flight.
pub(super) fn applying() {
    APPLYING.store(true, Ordering::SeqCst);
}

/// Catches Ctrl-C (SIGINT) from now on: call before the command starts, so
/// no moment of it is left to the default (a silent kill). Must run inside
/// the runtime.
pub(super) fn catch() -> Interrupt {
    Interrupt(tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).ok())
}

/// A caught Ctrl-C, to wait for.
pub(super) struct Interrupt(Option<tokio::signal::unix::Signal>);

impl Interrupt {
    /// Waits for Ctrl-C and says what it stopped.
    pub(super) async fn wait(mut self) -> Error {
        match &mut self.0 {
            Some(signal) => {
                signal.recv().await;
            }
            // No handler could be installed: never interrupt.
            None => std::future::pending::<()>().await,
        }
        Error::Interrupted {
            applying: APPLYING.load(Ordering::SeqCst),
        }
    }
}
