//! `Sec-WebSocket-Accept`: crossguard vs tungstenite vs the raw SHA-1 + base64 floor.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::hint::black_box;

use base64::Engine as _;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sha1::{Digest as _, Sha1};

const KEY: &[u8] = b"dGhlIHNhbXBsZSBub25jZQ==";
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

fn floor(key: &[u8]) -> [u8; 28] {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(GUID);
    let digest = sha1.finalize();
    let mut out = [0u8; 28];
    let _ = base64::engine::general_purpose::STANDARD.encode_slice(digest, &mut out);
    out
}

fn accept_key(c: &mut Criterion) {
    assert_eq!(
        crossguard::websocket::accept_key(KEY).as_str().as_bytes(),
        floor(KEY)
    );
    assert_eq!(
        tungstenite::handshake::derive_accept_key(KEY).as_bytes(),
        floor(KEY)
    );
    let mut group = c.benchmark_group("accept_key");
    group.throughput(Throughput::Elements(1));
    group.bench_function("floor_sha1_base64", |b| b.iter(|| floor(black_box(KEY))));
    group.bench_function("crossguard", |b| {
        b.iter(|| crossguard::websocket::accept_key(black_box(KEY)))
    });
    group.bench_function("tungstenite", |b| {
        b.iter(|| tungstenite::handshake::derive_accept_key(black_box(KEY)))
    });
    group.finish();
}

criterion_group!(benches, accept_key);
criterion_main!(benches);
