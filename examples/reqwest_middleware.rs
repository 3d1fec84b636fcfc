//! A reqwest-middleware client with one breaker per host: a flaky upstream on 127.0.0.1 trips
//! its breaker (a 503 with `Retry-After: 90` sets the open wait), the other host keeps
//! working, and rejections are told apart from HTTP errors.
//!
//! Run: `cargo run --example reqwest_middleware --features reqwest-middleware`

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use cb_runtime::registry;
use cb_runtime::reqwest::{CircuitBreakerMiddleware, rejection};
use reqwest_middleware::ClientBuilder;

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let base = format!("http://{}", listener.local_addr().expect("bound"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

#[tokio::main]
async fn main() {
    let flaky = serve(Router::new().route(
        "/incidents",
        get(|| async {
            let mut headers = HeaderMap::new();
            headers.insert("retry-after", "90".parse().expect("a header value"));
            (StatusCode::SERVICE_UNAVAILABLE, headers, "overloaded")
        }),
    ))
    .await;
    let steady = serve(Router::new().route("/health", get(|| async { "ok" }))).await;

    let client = ClientBuilder::new(reqwest::Client::new())
        .with(CircuitBreakerMiddleware::new())
        .build();
    for call in 1..=7 {
        match client.get(format!("{flaky}/incidents")).send().await {
            Ok(response) => println!("call {call}: {}", response.status()),
            Err(e) => match rejection(&e) {
                Some(r) => println!("call {call}: rejected by `{}`, retry after {:?}", r.name, r.retry_after),
                None => println!("call {call}: {e}"),
            },
        }
    }
    let status = client.get(format!("{steady}/health")).send().await.map(|r| r.status());
    println!("other host: {status:?}");
    for s in registry().list("http/*") {
        println!("{}: {} (open for {:?})", s.name, s.state, s.open_for);
    }
}
