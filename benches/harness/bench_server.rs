//! The same small axum app with or without the guard, for end-to-end load comparisons. Not a
//! Criterion benchmark: `scripts/bench-load.sh` builds it, starts both variants and loads them
//! alternately with `wrk`.
//!
//! ```sh
//! bash scripts/bench-load.sh                 # ROUNDS and SECONDS_PER_RUN bound it
//! bench_server ADDR [--no-guard]             # serves until stopped
//! cargo bench -p crossguard-benches --bench bench_server   # a short bounded run, then exit
//! ```
//!
//! Declared with `harness = false`: `cargo bench` runs it with `--bench` (and no address), and it
//! then serves both variants on ephemeral loopback ports, sends each a few hundred same-origin
//! POSTs over one connection, prints the time taken and exits.

use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::routing::{get, post};
use crossguard::{GuardLayer, Policy};
use http::{Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Requests per variant when run by `cargo bench` or without arguments.
const SHORT: usize = 2_000;

fn app(guard: bool) -> Result<Router, crossguard::ConfigError> {
    let app = Router::new()
        .route("/", get(|| async { "home\n" }))
        .route("/api/prompt", post(|| async { "{\"prompt_id\":1}\n" }));
    Ok(if guard {
        app.layer(GuardLayer::new(Policy::local().build()?))
    } else {
        app
    })
}

/// Serves `app(guard)` on `addr` until the process is stopped.
async fn serve(addr: &str, guard: bool) -> Result<(), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    println!(
        "listening on http://{} (guard: {guard})",
        listener.local_addr()?
    );
    axum::serve(listener, app(guard)?).await?;
    Ok(())
}

/// Both variants on ephemeral ports, `SHORT` same-origin POSTs each (the request
/// `scripts/bench-load.sh` sends), every one of which must be answered 200.
async fn short_run() -> Result<(), Box<dyn std::error::Error>> {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    for guard in [true, false] {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let server = tokio::spawn(axum::serve(listener, app(guard)?).into_future());
        let started = Instant::now();
        for _ in 0..SHORT {
            let request = Request::post(format!("http://127.0.0.1:{port}/api/prompt"))
                .header("host", format!("localhost:{port}"))
                .header("content-type", "application/json")
                .header("origin", format!("http://localhost:{port}"))
                .header("sec-fetch-site", "same-origin")
                .header("sec-fetch-mode", "cors")
                .header("sec-fetch-dest", "empty")
                .body(Full::new(Bytes::from_static(
                    br#"{"prompt":{"3":{"inputs":{}}}}"#,
                )))?;
            let response = client.request(request).await?;
            let status = response.status();
            response.into_body().collect().await?;
            if status != StatusCode::OK {
                return Err(format!("guard: {guard}: answered {status}").into());
            }
        }
        let elapsed = started.elapsed();
        println!(
            "guard: {guard}: {SHORT} requests answered 200 in {elapsed:.2?} ({:.0} requests/s, one connection)",
            SHORT as f64 / elapsed.as_secs_f64()
        );
        server.abort();
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [addr, rest @ ..] if !args.iter().any(|arg| arg == "--bench") => {
            serve(addr, !rest.iter().any(|arg| arg == "--no-guard")).await
        }
        // No arguments, or run by `cargo bench`.
        _ => short_run().await,
    }
}
