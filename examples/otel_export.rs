//! Exports cb's spans over OTLP/HTTP (protobuf) with the OpenTelemetry span names.
//!
//! ```sh
//! cargo run --example otel_export --features otel   # to a receiver it starts on 127.0.0.1
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 cargo run --example otel_export --features otel   # to a collector
//! ```
//!
//! With no `OTEL_EXPORTER_OTLP_ENDPOINT`, the example starts a minimal OTLP/HTTP receiver on
//! a free port of 127.0.0.1 that decodes what it receives, and prints the spans it got and
//! exits non-zero if any expected span is missing.

use cb_runtime::observe::{self, SpanNames};
use cb_runtime::{BreakerConfig, CircuitBreaker};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use std::sync::{Arc, Mutex};
use tracing::field::Empty;
use tracing_subscriber::prelude::*;

/// Span names received by the local receiver.
type Received = Arc<Mutex<Vec<String>>>;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let received = Received::default();
    let endpoint = match std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT") {
        Ok(endpoint) => endpoint,
        Err(_) => start_receiver(received.clone())?,
    };
    println!("exporting to {endpoint}/v1/traces");

    observe::set_span_names(SpanNames::OpenTelemetry);
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("{endpoint}/v1/traces"))
        .build()?;
    let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("otel_export"));
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(layer))?;

    let config = BreakerConfig::builder().consecutive_failures(2).build()?;
    let breaker = CircuitBreaker::new("inference", config);
    let request = tracing::info_span!("inference_request", circuit_breaker.state = Empty);
    request.in_scope(|| {
        let _ = breaker.call_sync(|| Ok::<_, &str>("answer"));
        for _ in 0..2 {
            let _ = breaker.call_sync_with_fallback(|| Err("model down"), |_| Ok("cached answer"));
        }
        let _ = breaker.call_sync_with_fallback(|| Ok::<_, &str>("answer"), |_| Ok("cached answer"));
    });
    drop(request);
    provider.shutdown()?;

    if std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").is_ok() {
        return Ok(());
    }
    let names = received.lock().unwrap().clone();
    println!("the receiver got {} spans: {names:?}", names.len());
    for wanted in [
        "inference_request",
        "circuit_breaker_check",
        "primary_request",
        "fallback_execution",
    ] {
        if !names.iter().any(|n| n == wanted) {
            return Err(format!("no `{wanted}` span received").into());
        }
    }
    Ok(())
}

/// Starts an OTLP/HTTP receiver on 127.0.0.1 (a thread of its own) and returns its URL.
fn start_receiver(received: Received) -> Result<String, std::io::Error> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let url = format!("http://{}", listener.local_addr()?);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime for the receiver");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("the receiver's socket");
            let app = axum::Router::new().route(
                "/v1/traces",
                axum::routing::post(move |body: axum::body::Bytes| {
                    let received = received.clone();
                    async move {
                        let Ok(request) = ExportTraceServiceRequest::decode(body) else {
                            return http::StatusCode::BAD_REQUEST;
                        };
                        let spans = request
                            .resource_spans
                            .iter()
                            .flat_map(|r| &r.scope_spans)
                            .flat_map(|s| &s.spans);
                        received.lock().unwrap().extend(spans.map(|s| s.name.clone()));
                        http::StatusCode::OK
                    }
                }),
            );
            axum::serve(listener, app).await.expect("the receiver");
        });
    });
    Ok(url)
}
