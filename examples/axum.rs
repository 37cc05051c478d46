//! A local tool's API behind crossguard, with axum.
//!
//! ```sh
//! cargo run --example axum
//! curl -i -X POST http://localhost:8188/api/prompt -d '{}'                                  # 200: no browser signals
//! curl -i -X POST http://localhost:8188/api/prompt -H 'Sec-Fetch-Site: cross-site'          # 403 cross_site_request
//! curl -i -X POST http://localhost:8188/api/prompt -H 'Origin: https://evil.example'        # 403 origin_mismatch
//! curl -i http://localhost:8188/ -H 'Host: attacker.example:8188'                           # 403 host_not_allowed
//! ```

use axum::Router;
use axum::routing::{get, post};
use crossguard::{GuardLayer, Policy};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Loopback host names only (DNS rebinding), CSRF and cross-site WebSocket checks, and
    // resource isolation; one trusted front-end besides the tool's own pages.
    let policy = Policy::local()
        .allow_origin("http://localhost:3000")
        .build()?;

    let app = Router::new()
        .route("/", get(|| async { "crossguard axum example\n" }))
        .route(
            "/api/prompt",
            // Only requests the guard allowed get here.
            post(|| async { "{\"queued\":true}\n" }),
        )
        .layer(GuardLayer::new(policy));

    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8188".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
