//! An in-process request loop through the same axum app with or without the guard, for counting
//! instructions with `valgrind --tool=callgrind` (deterministic, unlike timings).
//!
//! ```sh
//! cargo build --release --example request_loop
//! valgrind --tool=callgrind target/release/examples/request_loop local 20000
//! valgrind --tool=callgrind target/release/examples/request_loop default 20000
//! valgrind --tool=callgrind target/release/examples/request_loop none 20000
//! ```

use axum::Router;
use axum::body::Body;
use axum::routing::post;
use crossguard::{GuardLayer, Policy};
use http::{Request, StatusCode};
use tower::ServiceExt as _;

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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_default();
    let count: usize = args.next().map_or(Ok(20_000), |n| n.parse())?;
    let app = Router::new().route("/api/prompt", post(|| async { "{\"prompt_id\":1}" }));
    // `local`: Host allowlist + resource isolation (responses gain `Vary`); `default`: CSRF and
    // WebSocket checks only; anything else: no guard.
    let app = match mode.as_str() {
        "local" => app.layer(GuardLayer::new(Policy::local().build()?)),
        "default" => app.layer(GuardLayer::new(Policy::default())),
        _ => app,
    };
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let mut ok = 0usize;
    runtime.block_on(async {
        for _ in 0..count {
            let response = app.clone().oneshot(request()).await.unwrap_or_default();
            ok += usize::from(response.status() == StatusCode::OK);
        }
    });
    println!("{ok} of {count} requests answered 200 (guard: {mode})");
    Ok(())
}
