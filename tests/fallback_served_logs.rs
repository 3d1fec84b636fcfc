//! Every fallback served is one DEBUG `fallback served` event (`service_name`, `reason`,
//! `data_source`), whichever path serves it: the tower layer (on a rejection and on a failure)
//! and a protected stream's fallback, as the macros and the API do. Subscribers of everything
//! get `Event::Fallback` from the same fallbacks.

mod support;

use cb_runtime::tower::CircuitBreakerLayer;
use cb_runtime::{BreakerConfig, CallError, CircuitBreaker, Event};
use futures_util::{StreamExt, stream};
use std::sync::Arc;
use support::recorder::Recorder;
use tower::{ServiceBuilder, ServiceExt};
use tracing_subscriber::layer::SubscriberExt;

/// `(service_name, reason)` of every `fallback served` event seen.
fn served(recorder: &Recorder) -> Vec<(String, String)> {
    let seen = recorder.0.lock().unwrap();
    seen.events
        .iter()
        .filter(|e| e.get("message").is_some_and(|m| m == "fallback served"))
        .map(|e| (e["service_name"].clone(), e["reason"].clone()))
        .collect()
}

fn opens_on_first_failure(name: &str) -> Arc<CircuitBreaker> {
    let config = BreakerConfig::builder().consecutive_failures(1).build().unwrap();
    Arc::new(CircuitBreaker::new(name, config))
}

#[test]
fn the_tower_layer_and_a_stream_log_each_fallback_they_serve() {
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let layered = opens_on_first_failure("logs-tower");
    let streamed = opens_on_first_failure("logs-stream");
    let mut events = layered.subscribe();
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let service = ServiceBuilder::new()
                .layer(CircuitBreakerLayer::new(layered.clone()).fallback(|_: CallError<String>| Ok(0u32)))
                .service_fn(|_: ()| async { Err::<u32, String>("down".into()) });
            assert_eq!(service.clone().oneshot(()).await, Ok(0), "a failure's fallback");
            assert_eq!(service.oneshot(()).await, Ok(0), "a rejection's fallback");

            streamed.force_open();
            let items = streamed
                .protect_stream(stream::iter([Ok::<u32, String>(1)]))
                .fallback(|_| stream::iter([Ok(9)]));
            let items: Vec<_> = items.map(|r| r.unwrap()).collect().await;
            assert_eq!(items, [9]);
        })
    });
    assert_eq!(
        served(&recorder),
        [
            ("logs-tower".to_owned(), "failure".to_owned()),
            ("logs-tower".to_owned(), "rejected".to_owned()),
            ("logs-stream".to_owned(), "rejected".to_owned()),
        ]
    );
    let fallbacks = events
        .drain()
        .into_iter()
        .filter(|e| matches!(e, Event::Fallback { .. }));
    assert_eq!(fallbacks.count(), 2);
}
