//! The same small axum app with or without the guard, for end-to-end load comparisons
//! (`scripts/bench-load.sh`).
//!
//! ```sh
//! cargo run --release --example bench_server -- 127.0.0.1:8080 [--no-guard]
//! ```

use axum::Router;
use axum::routing::{get, post};
use crossguard::{GuardLayer, Policy};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    let guard = args.next().as_deref() != Some("--no-guard");
    let app = Router::new()
        .route("/", get(|| async { "home\n" }))
        .route("/api/prompt", post(|| async { "{\"prompt_id\":1}\n" }));
    let app = if guard {
        app.layer(GuardLayer::new(Policy::local().build()?))
    } else {
        app
    };
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "listening on http://{} (guard: {guard})",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
