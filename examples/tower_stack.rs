//! A tower stack protected by `CircuitBreakerLayer`: an HTTP client service (reqwest behind
//! `service_fn`) with the HTTP status classifier and a fallback response, against an embedded
//! backend on 127.0.0.1 that starts answering 503.
//!
//! Run: `cargo run --example tower_stack`

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use cb_runtime::CallError;
use cb_runtime::tower::{CircuitBreakerLayer, HttpStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tower::{Service, ServiceBuilder, ServiceExt};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let healthy = Arc::new(AtomicBool::new(true));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/feed", listener.local_addr()?);
    let backend = Router::new().route(
        "/feed",
        get({
            let healthy = healthy.clone();
            move || async move {
                if healthy.load(Ordering::Relaxed) {
                    (StatusCode::OK, "[post 1, post 2]")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "overloaded")
                }
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, backend).await });

    let client = reqwest::Client::new();
    let http = tower::service_fn(move |url: String| {
        let client = client.clone();
        async move {
            let response = client.get(url).send().await?;
            let status = response.status();
            Ok::<_, reqwest::Error>(
                http::Response::builder()
                    .status(status)
                    .body(response.text().await?)
                    .expect("valid"),
            )
        }
    });
    let layer = CircuitBreakerLayer::named("content-service")
        .classify(HttpStatus)
        .fallback(|_: CallError<reqwest::Error>| {
            Ok(http::Response::new("[] (content service unavailable)".to_string()))
        });
    let breaker = layer.breaker().clone();
    let mut feed = ServiceBuilder::new().layer(layer).service(http);

    for call in 1..=12 {
        if call == 4 {
            healthy.store(false, Ordering::Relaxed);
            println!("-- the content service starts answering 503");
        }
        let response = feed.ready().await?.call(url.clone()).await?;
        println!(
            "call {call:>2}: {} {:<36} breaker {}",
            response.status().as_u16(),
            response.body(),
            breaker.state()
        );
    }
    Ok(())
}
