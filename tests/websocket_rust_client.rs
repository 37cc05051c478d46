//! A Rust client without permessage-deflate (tokio-tungstenite) against a guarded axum server on
//! loopback: the handshake completes through crossguard's 101, messages echo, and a cross-origin
//! handshake is refused with 403 before the handler runs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::get;
use crossguard::{GuardLayer, Policy, Verdict};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;

#[path = "../examples/support/echo.rs"]
mod echo;

async fn serve(upgrades: Arc<AtomicUsize>) -> std::net::SocketAddr {
    let handler = move |request: Request| {
        let upgrades = upgrades.clone();
        async move {
            let validated = request
                .extensions()
                .get::<Verdict>()
                .and_then(Verdict::handshake)
                .is_some();
            assert!(validated, "the guard validated this handshake");
            upgrades.fetch_add(1, Ordering::SeqCst);
            echo::websocket(request).await
        }
    };
    let app: Router = Router::new()
        .route("/ws", get(handler))
        .layer(GuardLayer::new(Policy::local().build().unwrap()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test]
async fn tungstenite_client_without_deflate_round_trips() {
    let upgrades = Arc::new(AtomicUsize::new(0));
    let addr = serve(upgrades.clone()).await;
    let url = format!("ws://localhost:{}/ws", addr.port());
    let connect = tokio_tungstenite::connect_async(url);
    let (mut ws, response) = tokio::time::timeout(Duration::from_secs(10), connect)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), 101);
    assert!(response.headers().get("sec-websocket-extensions").is_none());
    assert_eq!(response.headers()["upgrade"], "websocket");
    ws.send(Message::text("hello")).await.unwrap();
    let echoed = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .unwrap();
    assert_eq!(echoed.unwrap().unwrap(), Message::text("hello"));
    let blob = vec![7u8; 70_000];
    ws.send(Message::binary(blob.clone())).await.unwrap();
    let echoed = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .unwrap();
    assert_eq!(echoed.unwrap().unwrap(), Message::binary(blob));
    ws.close(None).await.unwrap();
    assert_eq!(upgrades.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn cross_origin_handshake_is_refused() {
    let upgrades = Arc::new(AtomicUsize::new(0));
    let addr = serve(upgrades.clone()).await;
    let mut request = format!("ws://localhost:{}/ws", addr.port())
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    let result = tokio::time::timeout(
        Duration::from_secs(10),
        tokio_tungstenite::connect_async(request),
    )
    .await
    .unwrap();
    match result {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let response: &Response<Option<Vec<u8>>> = &response;
            assert_eq!(response.status(), 403);
            assert_eq!(
                response.body().as_deref(),
                Some(&b"crossguard: cross_site_websocket\n"[..])
            );
        }
        other => panic!("expected a 403, got {other:?}"),
    }
    assert_eq!(
        upgrades.load(Ordering::SeqCst),
        0,
        "the handler must not run"
    );
}
