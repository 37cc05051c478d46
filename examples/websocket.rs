//! A WebSocket echo server: crossguard validates the handshake, checks its Origin and negotiates
//! permessage-deflate; yawc runs the connection with exactly the agreed parameters.
//!
//! ```sh
//! cargo run --example websocket -- 127.0.0.1:9001
//! python3 -c 'import asyncio, websockets.asyncio.client as c
//! async def m():
//!     async with c.connect("ws://127.0.0.1:9001/ws") as ws:
//!         print(ws.response.headers["Sec-WebSocket-Extensions"]); await ws.send("hi"); print(await ws.recv())
//! asyncio.run(m())'
//! ```

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use crossguard::websocket::DeflateParams;
use crossguard::{GuardLayer, Policy, Verdict};
use futures_util::{SinkExt as _, StreamExt as _};
use http::StatusCode;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use yawc::{CompressionLevel, Frame, OpCode, Options, Role, WebSocket};

/// Answers a handshake the guard validated, then echoes on the upgraded connection.
async fn websocket(mut request: Request) -> Response {
    let Some(handshake) = request
        .extensions()
        .get::<Verdict>()
        .and_then(Verdict::handshake)
        .cloned()
    else {
        return (
            StatusCode::UPGRADE_REQUIRED,
            "this endpoint speaks WebSocket\n",
        )
            .into_response();
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    let deflate = handshake.deflate().copied();
    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                if let Err(err) = echo(TokioIo::new(upgraded), deflate).await {
                    eprintln!("websocket error: {err}");
                }
            }
            Err(err) => eprintln!("upgrade failed: {err}"),
        }
    });
    // `101 Switching Protocols` with the accept key, subprotocol and agreed extension.
    handshake.response::<Body>()
}

/// Runs the server side of the connection with the parameters crossguard agreed to.
async fn echo(io: TokioIo<Upgraded>, deflate: Option<DeflateParams>) -> yawc::Result<()> {
    // The agreed `permessage-deflate; ...` element is exactly what yawc configures itself from.
    let extensions = deflate.map(|params| params.to_string());
    let options = Options::default()
        .with_compression_level(CompressionLevel::default())
        .with_utf8();
    let mut ws =
        WebSocket::from_stream_with_extensions(io, Role::Server, extensions.as_deref(), options)?;
    while let Some(frame) = ws.next().await {
        let (opcode, _fin, payload) = frame.into_parts();
        match opcode {
            OpCode::Text => ws.send(Frame::text(payload)).await?,
            OpCode::Binary => ws.send(Frame::binary(payload)).await?,
            _ => {}
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let policy = Policy::local().build()?;
    let app = Router::new()
        .route("/ws", get(websocket))
        .layer(GuardLayer::new(policy));
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on ws://{}/ws", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
