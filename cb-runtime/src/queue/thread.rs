//! cb's queue thread: one OS thread with a current-thread tokio runtime, started on first use,
//! where every replay and every backend operation that leaves the caller's thread runs. A
//! replay calls the protected function there, so its future need not be `Send`, and backend
//! connections live on a runtime that outlives any caller's.

use super::backend::BackendError;
use super::backend::{PushError, QueueBackend};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot};

/// Work for the queue thread.
enum Command {
    Push {
        backend: Arc<dyn QueueBackend>,
        stream: String,
        payload: Vec<u8>,
        reply: oneshot::Sender<Result<String, PushError>>,
    },
    Spawn(Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()>>> + Send>),
}

static SENDER: OnceLock<Option<mpsc::UnboundedSender<Command>>> = OnceLock::new();

fn sender() -> Option<&'static mpsc::UnboundedSender<Command>> {
    SENDER.get_or_init(start).as_ref()
}

fn start() -> Option<mpsc::UnboundedSender<Command>> {
    let (tx, rx) = mpsc::unbounded_channel::<Command>();
    // The runtime is built on the thread that drives it, outside any caller's runtime.
    let (ready, started) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new().name("cb-queue".into()).spawn(move || {
        match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => {
                let _ = ready.send(Ok(()));
                serve(&runtime, rx);
            }
            Err(e) => {
                let _ = ready.send(Err(e.to_string()));
            }
        }
    });
    let outcome = match spawned {
        Ok(_) => started.recv().unwrap_or_else(|_| Err("it exited".to_owned())),
        Err(e) => Err(e.to_string()),
    };
    match outcome {
        Ok(()) => Some(tx),
        Err(e) => {
            eprintln!("cb: the queue thread could not start ({e}); rejected calls are not queued");
            None
        }
    }
}

/// The queue thread's loop: every command becomes a local task.
fn serve(runtime: &tokio::runtime::Runtime, mut rx: mpsc::UnboundedReceiver<Command>) {
    let local = tokio::task::LocalSet::new();
    local.block_on(runtime, async move {
        while let Some(command) = rx.recv().await {
            match command {
                Command::Push {
                    backend,
                    stream,
                    payload,
                    reply,
                } => {
                    tokio::task::spawn_local(async move {
                        let _ = reply.send(backend.push(&stream, payload).await);
                    });
                }
                Command::Spawn(task) => {
                    tokio::task::spawn_local(task());
                }
            }
        }
    });
}

fn unavailable() -> BackendError {
    BackendError("cb's queue thread is not running".to_owned())
}

/// Pushes through the queue thread.
pub(crate) async fn push(
    backend: Arc<dyn QueueBackend>,
    stream: String,
    payload: Vec<u8>,
) -> Result<String, PushError> {
    let (reply, answer) = oneshot::channel();
    let sent = sender().map(|s| {
        s.send(Command::Push {
            backend,
            stream,
            payload,
            reply,
        })
    });
    if !matches!(sent, Some(Ok(()))) {
        return Err(PushError::Backend(unavailable()));
    }
    answer.await.unwrap_or(Err(PushError::Backend(unavailable())))
}

/// Runs `task()` on the queue thread.
pub(crate) fn spawn(
    task: impl FnOnce() -> Pin<Box<dyn Future<Output = ()>>> + Send + 'static,
) -> Result<(), BackendError> {
    match sender().map(|s| s.send(Command::Spawn(Box::new(task)))) {
        Some(Ok(())) => Ok(()),
        _ => Err(unavailable()),
    }
}
