//! The cross-origin decision on Chromium header sets: crossguard (default preset, and the local
//! preset that adds the Host allowlist and resource isolation) vs tower-http 0.7's csrf, both as
//! Tower services over the same inner service, plus crossguard's decision alone.

#![allow(clippy::unwrap_used)]

mod common;

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use crossguard::{GuardLayer, Policy, RequestHead};
use http::{Request, Response};
use tower::{Layer, Service, service_fn};

fn ok(_: Request<()>) -> Ready<Result<Response<String>, Infallible>> {
    ready(Ok(Response::new(String::new())))
}

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
        let mut guard_default = GuardLayer::new(default.clone()).layer(service_fn(ok));
        let mut guard_local = GuardLayer::new(local.clone()).layer(service_fn(ok));
        let mut csrf = tower_http::csrf::CsrfLayer::new().layer(service_fn(ok));
        let mut bare = service_fn(ok);
        let batch = || request.clone();
        group.bench_function(format!("{name}/no_middleware"), |b| {
            b.iter_batched(batch, |r| common::now(bare.call(r)), BatchSize::SmallInput)
        });
        group.bench_function(format!("{name}/tower_http_csrf"), |b| {
            b.iter_batched(batch, |r| common::now(csrf.call(r)), BatchSize::SmallInput)
        });
        group.bench_function(format!("{name}/crossguard_default"), |b| {
            b.iter_batched(
                batch,
                |r| common::now(guard_default.call(r)),
                BatchSize::SmallInput,
            )
        });
        group.bench_function(format!("{name}/crossguard_local"), |b| {
            b.iter_batched(
                batch,
                |r| common::now(guard_local.call(r)),
                BatchSize::SmallInput,
            )
        });
        group.bench_function(format!("{name}/crossguard_decision_only"), |b| {
            b.iter(|| default.check(&RequestHead::from_request(black_box(request))))
        });
    }
    group.finish();
}

criterion_group!(benches, cross_origin);
criterion_main!(benches);
