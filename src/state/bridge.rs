//! The runtime the storage calls run on: the engine writes the state from
//! synchronous code, and the lock's heartbeat must go on while a command
//! works, so storage calls get a small runtime of their own that lives as
//! long as the process.

use std::future::Future;
use std::sync::OnceLock;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("liftoff-state")
            .enable_all()
            .build()
            .expect("the state runtime starts")
    })
}

/// Runs `future` on the storage runtime and waits for its result; callable
/// from synchronous code, inside another runtime or not.
pub fn block<F>(future: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    runtime().spawn(async move {
        let _ = tx.send(future.await);
    });
    rx.recv().expect("the state runtime answers")
}

/// Starts `future` in the background on the storage runtime.
pub fn spawn<F>(future: F) -> tokio::task::JoinHandle<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    runtime().spawn(future)
}
