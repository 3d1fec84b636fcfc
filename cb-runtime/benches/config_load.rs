//! Load time of `circuit_breakers.toml` against its size: `config::parse` (TOML, every key
//! checked, every location resolved) beside the bare TOML parse of the same text, at 64 KiB,
//! 256 KiB and 1 MiB. Linear loading keeps the ratio flat as the file grows.

use cb_runtime::config::parse;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::path::Path;

/// A file of `[breakers."bN"]` sections, about `bytes` long.
fn file(bytes: usize) -> String {
    let mut text = String::from("[defaults]\nopen_timeout = \"30s\"\n");
    let mut i = 0;
    while text.len() < bytes {
        text.push_str(&format!(
            "[breakers.\"b{i}\"]\nopen_timeout = \"{}s\"\nminimum_calls = 5\nwindow = {{ kind = \"count\", size = 50 }}\n",
            i % 50 + 1
        ));
        i += 1;
    }
    text
}

fn load(c: &mut Criterion) {
    let mut group = c.benchmark_group("config_load");
    group.sample_size(10);
    for kib in [64, 256, 1024] {
        let text = file(kib * 1024);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("toml_only", kib), &text, |b, text| {
            b.iter(|| black_box(toml::de::DeTable::parse(black_box(text)).is_ok()));
        });
        group.bench_with_input(BenchmarkId::new("cb_parse", kib), &text, |b, text| {
            b.iter(|| black_box(parse(black_box(text), Path::new("big.toml")).is_ok()));
        });
    }
    group.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);
