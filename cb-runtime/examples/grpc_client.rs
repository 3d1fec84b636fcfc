//! A gRPC client behind a breaker: a real tonic health server on 127.0.0.1 (tonic-health's
//! generated code, no protoc), a `HealthClient` over a `Channel` wrapped in `GrpcLayer`. The
//! server serves, is killed (the breaker opens, callers get `Status::unavailable` naming the
//! breaker, with a retry-after, without a network round trip), comes back (a probe closes it).
//!
//! `cargo run -p cb-runtime --example grpc_client --features grpc`

use cb_runtime::BreakerConfig;
use cb_runtime::grpc::GrpcLayer;
use std::time::Duration;
use tokio::sync::oneshot;
use tonic::transport::{Endpoint, Server};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// Serves tonic-health's own health service on `listener` until `stop` fires.
fn serve(listener: tokio::net::TcpListener) -> (oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let (_reporter, service) = tonic_health::server::health_reporter();
        let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(e) = Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await
        {
            eprintln!("server: {e}");
        }
    });
    (stop, task)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, task) = serve(listener);

    let config = BreakerConfig::builder()
        .consecutive_failures(2)
        .open_timeout(Duration::from_millis(500))
        .success_threshold(1)
        .jitter(0.0)
        .build()?;
    let layer = GrpcLayer::with_config("health-backend", &config);
    let breaker = layer.breaker().clone();
    let channel = Endpoint::from_shared(format!("http://{addr}"))?.connect_lazy();
    let mut client = HealthClient::new(tower::ServiceBuilder::new().layer(layer).service(channel));

    let mut check = async |label: &str| {
        let answer = client.check(HealthCheckRequest { service: String::new() }).await;
        let shown = match answer {
            Ok(r) => format!("OK {:?}", r.into_inner().status()),
            Err(s) => {
                let meta = |k| s.metadata().get(k).and_then(|v| v.to_str().ok()).map(str::to_owned);
                format!(
                    "{:?} \"{}\" (cb-breaker {:?}, retry-after-ms {:?})",
                    s.code(),
                    s.message(),
                    meta("cb-breaker"),
                    meta("retry-after-ms")
                )
            }
        };
        println!("{label:<10} {shown:<90} breaker {}", breaker.state());
    };

    check("serving").await;
    check("serving").await;
    let _ = stop.send(());
    task.await?;
    for _ in 0..3 {
        check("killed").await;
    }
    let (stop, task) = serve(tokio::net::TcpListener::bind(addr).await?);
    tokio::time::sleep(Duration::from_millis(600)).await;
    check("back").await;
    check("back").await;
    let _ = stop.send(());
    task.await?;
    Ok(())
}
