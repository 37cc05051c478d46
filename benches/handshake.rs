//! A full handshake verdict on Chromium's header set: crossguard (every field, Origin, deflate
//! negotiation; then the accept key; then the response head) vs tungstenite's `create_response`
//! vs axum's `WebSocketUpgrade` extraction.

#![allow(clippy::unwrap_used)]

mod common;

use std::hint::black_box;

use axum::extract::FromRequestParts as _;
use axum::extract::ws::WebSocketUpgrade;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use crossguard::{Policy, RequestHead};

fn handshake(c: &mut Criterion) {
    let request = common::handshake();
    let policy = Policy::default();
    let mut group = c.benchmark_group("handshake");

    group.bench_function("crossguard_verdict_and_response_head", |b| {
        b.iter(|| {
            let verdict = policy
                .check(&RequestHead::from_request(black_box(&request)))
                .unwrap();
            verdict.handshake().unwrap().response_headers()
        })
    });
    group.bench_function("crossguard_verdict_and_accept_key", |b| {
        b.iter(|| {
            let verdict = policy
                .check(&RequestHead::from_request(black_box(&request)))
                .unwrap();
            verdict.handshake().unwrap().accept()
        })
    });
    group.bench_function("crossguard_verdict", |b| {
        b.iter(|| {
            policy
                .check(&RequestHead::from_request(black_box(&request)))
                .unwrap()
        })
    });
    group.bench_function("tungstenite_create_response", |b| {
        b.iter(|| tungstenite::handshake::server::create_response(black_box(&request)).unwrap())
    });
    // axum's extractor needs hyper's upgrade handle; an inert one is enough for extraction.
    let (mut parts, ()) = request.clone().into_parts();
    parts
        .extensions
        .insert(hyper::upgrade::on(http::Request::new(())));
    group.bench_function("axum_websocket_upgrade_extraction", |b| {
        b.iter_batched(
            || parts.clone(),
            |mut parts| common::now(WebSocketUpgrade::from_request_parts(&mut parts, &())).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, handshake);
criterion_main!(benches);
