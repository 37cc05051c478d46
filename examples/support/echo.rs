//! The WebSocket echo shared by `examples/websocket.rs`, `examples/demo.rs` and
//! `tests/websocket_rust_client.rs` (each includes this file with `#[path = ...] mod echo;`; it
//! is not an example of its own).
//!
//! crossguard has validated the handshake, checked its Origin and agreed permessage-deflate;
//! yawc runs the connection with exactly the agreed parameters and sends every text and binary
//! message back.

use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use crossguard::Verdict;
use crossguard::websocket::DeflateParams;
use futures_util::{SinkExt as _, StreamExt as _};
use http::StatusCode;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use yawc::{CompressionLevel, Frame, OpCode, Options, Role, WebSocket};

/// An axum handler behind the guard: answers a handshake the guard validated with its
/// `101 Switching Protocols` (accept key, subprotocol, agreed extension), then echoes on the
/// upgraded connection. Anything else is answered `426 Upgrade Required`.
pub(crate) async fn websocket(mut request: Request) -> Response {
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
    handshake.response::<Body>()
}

/// Runs the server side of the connection with the parameters crossguard agreed to, until the
/// client closes it.
pub(crate) async fn echo(
    io: TokioIo<Upgraded>,
    deflate: Option<DeflateParams>,
) -> yawc::Result<()> {
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
