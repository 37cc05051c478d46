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
use axum::routing::get;
use crossguard::{GuardLayer, Policy};

#[path = "support/echo.rs"]
mod echo;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let policy = Policy::local().build()?;
    let app = Router::new()
        .route("/ws", get(echo::websocket))
        .layer(GuardLayer::new(policy));
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on ws://{}/ws", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
