//! permessage-deflate negotiation on real offers and on a 64 KiB hostile header.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use crossguard::websocket::{DeflateConfig, negotiate_deflate};
use http::HeaderValue;

fn deflate(c: &mut Criterion) {
    let config = DeflateConfig::default();
    let chromium = [HeaderValue::from_static(
        "permessage-deflate; client_max_window_bits",
    )];
    let four = [HeaderValue::from_static(
        "permessage-deflate; server_max_window_bits=7, permessage-deflate; server_no_context_takeover; \
         client_max_window_bits=16, permessage-deflate; server_max_window_bits=10; client_max_window_bits, \
         permessage-deflate",
    )];
    let hostile =
        [HeaderValue::from_str(&"permessage-deflate; a=b, ".repeat(64 * 1024 / 26)).unwrap()];
    let mut group = c.benchmark_group("deflate");
    for (name, lines) in [
        ("chromium_offer", &chromium),
        ("four_offers", &four),
        ("hostile_64k", &hostile),
    ] {
        group.throughput(Throughput::Bytes(lines[0].len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| negotiate_deflate(black_box(lines), Some(&config)))
        });
    }
    group.finish();
}

criterion_group!(benches, deflate);
criterion_main!(benches);
