//! The cross-origin decision on Chromium header sets: crossguard (default preset, and the local
//! preset that adds the Host allowlist and resource isolation) vs tower-http 0.7's csrf, both as
//! Tower services over the same inner service, plus crossguard's decision alone.

#![allow(clippy::unwrap_used)]

mod common;

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use crossguard::{Policy, RequestHead};

fn cross_origin(c: &mut Criterion) {
    let cases = [
        ("same_origin_post", common::same_origin_post()),
        ("cross_site_post", common::cross_site_post()),
        ("navigation", common::navigation()),
    ];
    let default = Policy::default();
    let local = Policy::local().build().unwrap();
    let mut group = c.benchmark_group("cross_origin");
    for (name, request) in &cases {
        common::layer_rows(
            &mut group,
            name,
            request,
            &default,
            &local,
            BatchSize::SmallInput,
        );
        group.bench_function(format!("{name}/crossguard_decision_only"), |b| {
            b.iter(|| default.check(&RequestHead::from_request(black_box(request))))
        });
    }
    group.finish();
}

criterion_group!(benches, cross_origin);
criterion_main!(benches);
