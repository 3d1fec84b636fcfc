//! Drives two breakers through healthy, failing, recovering, slow and healthy phases on a
//! manual clock (simulated time: calls advance it by their latency, ten minutes pass in a
//! second), scraping the real Prometheus
//! collector every five simulated seconds; prints each scrape after a `# AT <seconds>` line.
//! `examples/grafana/render_dashboard.py` turns the scrapes into the dashboard's seven panels:
//!
//! ```sh
//! cargo run --example dashboard_scrape > /tmp/scrapes.txt
//! python3 examples/grafana/render_dashboard.py /tmp/scrapes.txt examples/grafana/dashboard.png
//! ```

use cb_runtime::{BreakerConfig, ManualClock, Registry, Window};
use std::time::Duration;

/// One phase: how long, and per breaker (calls per second, failure share, latency).
struct Phase {
    seconds: u64,
    inference: (u64, f64, Duration),
    search: (u64, f64, Duration),
}

fn main() {
    let clock = ManualClock::new();
    let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(clock.clone())));
    let mut prometheus = prometheus_client::registry::Registry::default();
    cb_runtime::metrics::register_registry(&mut prometheus, registry);
    cb_runtime::sample_durations(1);
    let config = BreakerConfig::builder()
        .failure_rate_threshold(0.5)
        .slow_call_rate_threshold(0.5)
        .slow_call_duration(Duration::from_millis(250))
        .window(Window::Count(20))
        .minimum_calls(10)
        .open_timeout(Duration::from_secs(15))
        .jitter(0.0)
        .success_threshold(3)
        .build()
        .expect("a valid configuration");
    let breakers = [
        registry.breaker("inference", &config),
        registry.breaker("search", &config),
    ];
    let ms = Duration::from_millis;
    let phases = [
        Phase {
            seconds: 120,
            inference: (8, 0.02, ms(40)),
            search: (5, 0.0, ms(15)),
        },
        Phase {
            seconds: 90,
            inference: (8, 0.8, ms(60)),
            search: (5, 0.05, ms(15)),
        },
        Phase {
            seconds: 90,
            inference: (8, 0.05, ms(45)),
            search: (5, 0.0, ms(20)),
        },
        Phase {
            seconds: 90,
            inference: (8, 0.0, ms(40)),
            search: (5, 0.0, ms(400)),
        },
        Phase {
            seconds: 120,
            inference: (8, 0.02, ms(40)),
            search: (5, 0.0, ms(20)),
        },
    ];
    let mut next_scrape = 5u64;
    let mut dice = 0x9e37_79b9_7f4a_7c15u64;
    let mut roll = move || {
        dice ^= dice << 13;
        dice ^= dice >> 7;
        dice ^= dice << 17;
        (dice >> 11) as f64 / (1u64 << 53) as f64
    };
    for phase in &phases {
        for _ in 0..phase.seconds {
            let start = clock.elapsed();
            for (breaker, (calls, failing, latency)) in breakers.iter().zip([phase.inference, phase.search]) {
                for _ in 0..calls {
                    let fails = roll() < failing;
                    let _ = breaker.call_sync_with_fallback(
                        || {
                            clock.advance(latency);
                            if fails { Err("backend down") } else { Ok("fresh") }
                        },
                        |_| {
                            clock.advance(ms(2));
                            Ok("cached")
                        },
                    );
                }
            }
            // Calls run one after the other on the one clock: a second of slow calls takes longer.
            let spent = clock.elapsed() - start;
            clock.advance(Duration::from_secs(1).saturating_sub(spent));
            let now = clock.elapsed().as_secs();
            if now >= next_scrape {
                next_scrape = now + 5;
                let mut text = String::new();
                prometheus_client::encoding::text::encode(&mut text, &prometheus).expect("a scrape");
                println!("# AT {now}\n{text}");
            }
        }
    }
}
