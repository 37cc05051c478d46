//! The layer as a server runs it: requests arrive with an extension map already (hyper and axum
//! put their own values there; the guard adds one only for a handshake). crossguard vs tower-http
//! 0.7's csrf over the same ready inner service, twice: `served` times copies of the request made
//! in large batches beforehand (criterion's `SmallInput`: most are out of the processor's caches
//! when their turn comes), `served_in_cache` in batches of 32 made just before (in cache, as a
//! request a server has just parsed). And the decision's cost as unrelated header fields grow
//! from a browser's 15 to 100 (hyper's default limit).

#![allow(clippy::unwrap_used)]

mod common;

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use crossguard::{Policy, RequestHead};
use http::{HeaderName, HeaderValue, Request};

/// What hyper's server inserts into every request of a connection that allows upgrades.
#[derive(Clone)]
struct FromTheServer;

fn served(mut request: Request<()>) -> Request<()> {
    request.extensions_mut().insert(FromTheServer);
    request
}

fn layer(c: &mut Criterion) {
    let cases = [
        ("same_origin_post", served(common::same_origin_post())),
        ("cross_site_post", served(common::cross_site_post())),
        ("navigation", served(common::navigation())),
    ];
    let default = Policy::default();
    let local = Policy::local().build().unwrap();
    for (group_name, batch_size) in [
        ("served", BatchSize::SmallInput),
        ("served_in_cache", BatchSize::NumIterations(32)),
    ] {
        let mut group = c.benchmark_group(group_name);
        for (name, request) in &cases {
            common::layer_rows(&mut group, name, request, &default, &local, batch_size);
        }
        group.finish();
    }

    let browser = common::same_origin_post();
    let mut crowded = common::same_origin_post();
    let extra = 100 - crowded.headers().len();
    for i in 0..extra {
        let name = HeaderName::try_from(format!("x-extra-{i}")).unwrap();
        crowded
            .headers_mut()
            .insert(name, HeaderValue::from_static("an unrelated value"));
    }
    let mut group = c.benchmark_group("header_count");
    for (name, request) in [
        (format!("{}_fields", browser.headers().len()), &browser),
        (format!("{}_fields", crowded.headers().len()), &crowded),
    ] {
        group.bench_function(format!("decision/{name}"), |b| {
            b.iter(|| default.check(&RequestHead::from_request(black_box(request))))
        });
    }
    group.finish();
}

criterion_group!(benches, layer);
criterion_main!(benches);
