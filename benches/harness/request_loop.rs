//! An in-process request loop through the same axum app with or without the guard, for counting
//! instructions with `valgrind --tool=callgrind` (deterministic, unlike timings). Not a Criterion
//! benchmark: `scripts/callgrind.sh` builds it and runs it under valgrind once per mode.
//!
//! ```sh
//! bash scripts/callgrind.sh                  # REQUESTS=20000 by default
//! request_loop MODE [COUNT]                  # MODE: local, default,
//!                                            # tower-http-csrf, no-op-layer, or anything
//!                                            # else for none
//! cargo bench -p crossguard-benches --bench request_loop   # a short run of every mode, then exit
//! ```
//!
//! Declared with `harness = false`: `cargo bench` runs it with `--bench` (and no mode), and it
//! then runs a short bounded loop of every mode instead of the long one.

use axum::Router;
use axum::body::Body;
use axum::routing::post;
use crossguard::{GuardLayer, Policy};
use http::{Request, StatusCode};
use tower::ServiceExt as _;

/// Requests per mode when run by `cargo bench` or without arguments.
const SHORT: usize = 2_000;

/// A same-origin POST as Chromium sends it to a local tool.
fn request() -> Request<Body> {
    let headers = [
        ("host", "localhost:8188"),
        ("connection", "keep-alive"),
        ("content-length", "27"),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        ),
        ("content-type", "application/json"),
        ("accept", "*/*"),
        ("origin", "http://localhost:8188"),
        ("sec-fetch-site", "same-origin"),
        ("sec-fetch-mode", "cors"),
        ("sec-fetch-dest", "empty"),
        ("referer", "http://localhost:8188/"),
        ("accept-encoding", "gzip, deflate, br, zstd"),
        ("accept-language", "en-US,en;q=0.9"),
    ];
    let mut builder = Request::post("/api/prompt");
    for (name, value) in headers {
        builder = builder.header(name, value);
    }
    builder
        .body(Body::from(r#"{"prompt":{"3":{"inputs":{}}}}"#))
        .unwrap_or_default()
}

/// Sends `count` requests through the app for `mode` and says how many were answered 200.
fn run(mode: &str, count: usize) -> Result<(), Box<dyn std::error::Error>> {
    let app = Router::new().route("/api/prompt", post(|| async { "{\"prompt_id\":1}" }));
    // `local`: Host allowlist + resource isolation (responses gain `Vary`); `default`: CSRF and
    // WebSocket checks only; `tower-http-csrf`: tower-http's CSRF layer; `no-op-layer`: a layer
    // that passes the request on, for what any layer costs in axum; anything else: none.
    let app = match mode {
        "tower-http-csrf" => app.layer(tower_http::csrf::CsrfLayer::new()),
        "no-op-layer" => app.layer(tower::util::MapRequestLayer::new(|r: Request<Body>| r)),
        "local" => app.layer(GuardLayer::new(Policy::local().build()?)),
        "default" => app.layer(GuardLayer::new(Policy::default())),
        _ => app,
    };
    // As `axum::serve` does once: turn the handlers into routes with their layers applied, so the
    // loop measures serving requests, not converting handlers on every call.
    let app = app.with_state(());
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let mut ok = 0usize;
    runtime.block_on(async {
        for _ in 0..count {
            let response = app.clone().oneshot(request()).await.unwrap_or_default();
            ok += usize::from(response.status() == StatusCode::OK);
        }
    });
    println!("{ok} of {count} requests answered 200 (guard: {mode})");
    if ok == count {
        Ok(())
    } else {
        Err(format!("{} requests were not answered 200", count - ok).into())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [mode] if mode != "--bench" => run(mode, 20_000),
        [mode, count, ..] if !args.iter().any(|arg| arg == "--bench") => run(mode, count.parse()?),
        // No arguments, or run by `cargo bench`.
        _ => ["none", "no-op-layer", "tower-http-csrf", "default", "local"]
            .into_iter()
            .try_for_each(|mode| run(mode, SHORT)),
    }
}
