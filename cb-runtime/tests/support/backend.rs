//! A real HTTP backend on 127.0.0.1 whose behaviour a test switches: healthy, failing (500),
//! slow (answers after 2s), or down (stopped: connections are refused).

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    Healthy,
    Failing,
    Slow,
}

#[derive(Default)]
struct Shared {
    mode: AtomicU8,
    hits: AtomicU32,
}

pub struct Backend {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: Option<tokio::task::JoinHandle<()>>,
}

async fn handle(State(shared): State<Arc<Shared>>) -> (StatusCode, &'static str) {
    shared.hits.fetch_add(1, Ordering::SeqCst);
    match shared.mode.load(Ordering::SeqCst) {
        0 => (StatusCode::OK, "fresh alerts"),
        1 => (StatusCode::INTERNAL_SERVER_ERROR, "boom"),
        _ => {
            tokio::time::sleep(Duration::from_secs(2)).await;
            (StatusCode::OK, "late alerts")
        }
    }
}

impl Backend {
    pub async fn start() -> Backend {
        let shared = Arc::new(Shared::default());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut backend = Backend {
            shared,
            addr,
            server: None,
        };
        backend.serve(listener);
        backend
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let app = Router::new()
            .route("/alerts", get(handle))
            .with_state(self.shared.clone());
        self.server = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
    }

    pub fn url(&self) -> String {
        format!("http://{}/alerts", self.addr)
    }

    pub fn set(&self, mode: Mode) {
        self.shared.mode.store(mode as u8, Ordering::SeqCst);
    }

    pub fn hits(&self) -> u32 {
        self.shared.hits.load(Ordering::SeqCst)
    }

    /// Stops serving: new connections are refused.
    pub async fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
            let _ = server.await;
        }
    }

    /// Serves again on the same address.
    pub async fn restart(&mut self) {
        self.stop().await;
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}
