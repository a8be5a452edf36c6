//! Ctrl-C (or SIGTERM) at any point of a command ends it with one line
//! saying what was stopped: while reading (nothing changed) or while
//! applying (what was created is recorded; a re-run continues). Exit code
//! 130. A running helm (in its own process group) gets the interrupt
//! forwarded and is given time to cancel its operation, so the release
//! ends `failed` (which a re-run upgrades), never `pending-*`.

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
    use tokio::signal::unix::{SignalKind, signal};
    Interrupt(
        signal(SignalKind::interrupt()).ok(),
        signal(SignalKind::terminate()).ok(),
    )
}

/// A caught Ctrl-C or SIGTERM, to wait for.
pub(super) struct Interrupt(
    Option<tokio::signal::unix::Signal>,
    Option<tokio::signal::unix::Signal>,
);

async fn received(signal: &mut Option<tokio::signal::unix::Signal>) {
    match signal {
        Some(s) => {
            s.recv().await;
        }
        // No handler could be installed: never interrupt.
        None => std::future::pending::<()>().await,
    }
}

impl Interrupt {
    /// Waits for Ctrl-C or SIGTERM, lets a running helm cancel (the
    /// command goes on meanwhile, so its failure is recorded), and says
    /// what it stopped.
    pub(super) async fn wait(mut self) -> Error {
        tokio::select! {
            _ = received(&mut self.0) => {},
            _ = received(&mut self.1) => {},
        }
        if crate::cluster::helm::process::interrupt_all() > 0 {
            eprintln!("interrupted: waiting for helm to cancel its operation");
            let _ = tokio::time::timeout(
                std::time::Duration::from_secs(60),
                crate::cluster::helm::process::all_ended(),
            )
            .await;
        }
        Error::Interrupted {
            applying: APPLYING.load(Ordering::SeqCst),
        }
    }
}
