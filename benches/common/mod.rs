//! Request heads shared by the benchmarks: header sets as Chromium sends them (~15 fields).
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use std::convert::Infallible;
use std::future::{Ready, ready};

use criterion::BatchSize;
use criterion::measurement::WallTime;
use crossguard::{GuardLayer, Policy};
use http::{Request, Response, Version};
use tower::{Layer as _, Service as _, service_fn};

const CHROMIUM_COMMON: &[(&str, &str)] = &[
    ("host", "localhost:8188"),
    ("connection", "keep-alive"),
    ("sec-ch-ua-platform", "\"Linux\""),
    (
        "user-agent",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    ),
    (
        "sec-ch-ua",
        "\"Google Chrome\";v=\"131\", \"Chromium\";v=\"131\", \"Not_A Brand\";v=\"24\"",
    ),
    ("sec-ch-ua-mobile", "?0"),
    ("accept-encoding", "gzip, deflate, br, zstd"),
    ("accept-language", "en-US,en;q=0.9"),
];

fn build(method: &str, uri: &str, extra: &[(&str, &str)]) -> Request<()> {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .version(Version::HTTP_11);
    // A handshake's own `Connection: Upgrade` replaces the usual `keep-alive`.
    let replaced = |name: &&(&str, &str)| !extra.iter().any(|(n, _)| *n == name.0);
    for (name, value) in CHROMIUM_COMMON.iter().filter(replaced).chain(extra) {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap()
}

/// Chromium, same-origin `fetch` POST.
pub fn same_origin_post() -> Request<()> {
    build(
        "POST",
        "/api/prompt",
        &[
            ("content-length", "27"),
            ("content-type", "application/json"),
            ("accept", "*/*"),
            ("origin", "http://localhost:8188"),
            ("sec-fetch-site", "same-origin"),
            ("sec-fetch-mode", "cors"),
            ("sec-fetch-dest", "empty"),
            ("referer", "http://localhost:8188/"),
        ],
    )
}

/// Chromium, cross-site `fetch(..., {mode: "no-cors"})` POST.
pub fn cross_site_post() -> Request<()> {
    build(
        "POST",
        "/api/prompt",
        &[
            ("content-length", "3"),
            ("content-type", "text/plain;charset=UTF-8"),
            ("accept", "*/*"),
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-mode", "no-cors"),
            ("sec-fetch-dest", "empty"),
            ("referer", "https://evil.example/"),
        ],
    )
}

/// Chromium, cross-site top-level navigation (link click).
pub fn navigation() -> Request<()> {
    build(
        "GET",
        "/view?file=output.png",
        &[
            ("upgrade-insecure-requests", "1"),
            (
                "accept",
                "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
            ),
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-mode", "navigate"),
            ("sec-fetch-user", "?1"),
            ("sec-fetch-dest", "document"),
            ("referer", "https://news.example/"),
        ],
    )
}

/// Chromium, same-origin WebSocket handshake (no Sec-Fetch-*).
pub fn handshake() -> Request<()> {
    build(
        "GET",
        "/ws",
        &[
            ("connection", "Upgrade"),
            ("pragma", "no-cache"),
            ("cache-control", "no-cache"),
            ("upgrade", "websocket"),
            ("origin", "http://localhost:8188"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            (
                "sec-websocket-extensions",
                "permessage-deflate; client_max_window_bits",
            ),
        ],
    )
}

/// Polls a future that is ready at once (every service here answers synchronously).
pub fn now<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the future was not ready"),
    }
}

/// The inner service: answers as an axum handler returning text does, with a `Content-Type`
/// (so a layer that adds a response field, as `Vary` under resource isolation, finds the map
/// there, as it does behind a real application).
fn ok(_: Request<()>) -> Ready<Result<Response<String>, Infallible>> {
    let mut response = Response::new(String::new());
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    ready(Ok(response))
}

/// `name/no_middleware`, `name/tower_http_csrf`, `name/crossguard_default`,
/// `name/crossguard_local`: the request through each, over the same ready inner service.
/// Copies of the request are made in batches of `batch` before they are timed.
pub fn layer_rows(
    group: &mut criterion::BenchmarkGroup<'_, WallTime>,
    name: &str,
    request: &Request<()>,
    default: &Policy,
    local: &Policy,
    batch_size: BatchSize,
) {
    let mut bare = service_fn(ok);
    let mut csrf = tower_http::csrf::CsrfLayer::new().layer(service_fn(ok));
    let mut guard_default = GuardLayer::new(default.clone()).layer(service_fn(ok));
    let mut guard_local = GuardLayer::new(local.clone()).layer(service_fn(ok));
    let batch = || request.clone();
    group.bench_function(format!("{name}/no_middleware"), |b| {
        b.iter_batched(batch, |r| now(bare.call(r)), batch_size)
    });
    group.bench_function(format!("{name}/tower_http_csrf"), |b| {
        b.iter_batched(batch, |r| now(csrf.call(r)), batch_size)
    });
    group.bench_function(format!("{name}/crossguard_default"), |b| {
        b.iter_batched(batch, |r| now(guard_default.call(r)), batch_size)
    });
    group.bench_function(format!("{name}/crossguard_local"), |b| {
        b.iter_batched(batch, |r| now(guard_local.call(r)), batch_size)
    });
}
