//! A plain hyper 1.x service behind crossguard, through hyper-util's Tower adapter.
//!
//! ```sh
//! cargo run --example hyper
//! curl -i -X POST http://127.0.0.1:8188/api/prompt -H 'Sec-Fetch-Site: same-origin'    # 200
//! curl -i -X POST http://127.0.0.1:8188/api/prompt -H 'Sec-Fetch-Site: cross-site'     # 403
//! ```

use std::convert::Infallible;

use crossguard::{GuardLayer, Policy, Verdict};
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tower::ServiceBuilder;

async fn handle(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // Only a WebSocket handshake (or, in report-only mode, a would-be refusal) carries a verdict.
    let reported = request
        .extensions()
        .get::<Verdict>()
        .and_then(Verdict::reported)
        .map_or("none", |r| r.reason());
    Ok(Response::new(Full::new(Bytes::from(format!(
        "allowed (report-only finding: {reported})\n"
    )))))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let policy = Policy::local().build()?;
    let service = ServiceBuilder::new()
        .layer(GuardLayer::new(policy))
        .service(tower::service_fn(handle));

    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8188".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let builder = auto::Builder::new(TokioExecutor::new());
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            if let Err(err) = connection.await {
                eprintln!("connection error: {err}");
            }
        });
    }
}
