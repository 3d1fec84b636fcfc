//! Queue metrics for Prometheus (features `queue` and `prometheus`), read from
//! [`queues().status()`](super::Queues::status) on each scrape (no work per call):
//! `circuit_breaker_queue_enqueued_total{name,queue}`,
//! `circuit_breaker_queue_not_queued_total{name,queue}`,
//! `circuit_breaker_queue_replayed_total{name,queue}`,
//! `circuit_breaker_queue_replay_failures_total{name,queue}` and the gauge
//! `circuit_breaker_queue_depth{name,queue}`; `name` is the breaker.

use super::{QueueStatus, queues};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use std::fmt;

/// Registers the queue metrics with a Prometheus registry (beside
/// [`metrics::register`](crate::metrics::register) for the breakers').
pub fn register_metrics(prometheus: &mut prometheus_client::registry::Registry) {
    prometheus.register_collector(Box::new(QueueCollector));
}

#[derive(Debug)]
struct QueueCollector;

type Read = fn(&QueueStatus) -> u64;

const COUNTERS: [(&str, &str, Read); 4] = [
    (
        "circuit_breaker_queue_enqueued",
        "Rejected calls queued for retry",
        |s| s.queued,
    ),
    (
        "circuit_breaker_queue_not_queued",
        "Rejected calls that could not be queued (full, backend failure, serialization)",
        |s| s.not_queued,
    ),
    (
        "circuit_breaker_queue_replayed",
        "Queued calls replayed successfully and removed",
        |s| s.replayed,
    ),
    (
        "circuit_breaker_queue_replay_failures",
        "Replays that failed; the entry stayed at the head",
        |s| s.replay_failures,
    ),
];

impl Collector for QueueCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let statuses = queues().status();
        for (name, help, read) in COUNTERS {
            let mut family = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for s in &statuses {
                let labels = [("name", s.breaker.as_str()), ("queue", s.queue.as_str())];
                ConstCounter::new(read(s)).encode(family.encode_family(&labels)?)?;
            }
        }
        let mut family = encoder.encode_descriptor(
            "circuit_breaker_queue_depth",
            "Queued calls waiting, as last seen",
            None,
            MetricType::Gauge,
        )?;
        for s in &statuses {
            let labels = [("name", s.breaker.as_str()), ("queue", s.queue.as_str())];
            ConstGauge::new(s.depth as i64).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}
