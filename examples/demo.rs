//! A small local AI tool (shaped like ComfyUI) protected by crossguard's `local` preset.
//!
//! ```sh
//! cargo run --release --all-features --example demo -- --listen 127.0.0.1:8188 [--allow-origin ORIGIN]...
//! ```
//!
//! - `GET /`: a page that queues prompts, lists the history and talks over the WebSocket;
//! - `POST /api/prompt`: a JSON body, whatever its `Content-Type` (browsers send `text/plain`
//!   for no-cors requests); answers `{"prompt_id": N}` and appends to the history;
//! - `GET /api/history`: the accepted prompts, as JSON;
//! - `GET /ws`: a WebSocket echoing text and binary messages, with permessage-deflate negotiated
//!   by crossguard and used by yawc.
//!
//! Every rejected request is logged on one line with its reason code.

use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use crossguard::layer::DefaultRejection;
use crossguard::layer::OnRejection as _;
use crossguard::{GuardLayer, Policy, Rejection};
use http::StatusCode;
use serde_json::{Value, json};

#[path = "support/echo.rs"]
mod echo;

#[derive(Clone, Default)]
struct History(Arc<Mutex<Vec<Value>>>);

async fn queue_prompt(State(history): State<History>, body: Bytes) -> Response {
    let Ok(prompt) = serde_json::from_slice::<Value>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "the body must be JSON"})),
        )
            .into_response();
    };
    let Ok(mut entries) = history.0.lock() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let prompt_id = entries.len() + 1;
    entries.push(json!({"prompt_id": prompt_id, "prompt": prompt}));
    Json(json!({"prompt_id": prompt_id})).into_response()
}

async fn list_history(State(history): State<History>) -> Response {
    match history.0.lock() {
        Ok(entries) => Json(Value::Array(entries.clone())).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn usage() -> ! {
    eprintln!("usage: demo --listen ADDR:PORT [--allow-origin ORIGIN]...");
    std::process::exit(2)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut listen = "127.0.0.1:8188".to_owned();
    let mut policy = Policy::local();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => listen = args.next().unwrap_or_else(|| usage()),
            "--allow-origin" => {
                policy = policy.allow_origin(args.next().unwrap_or_else(|| usage()))
            }
            _ => usage(),
        }
    }
    let policy = policy.build()?;

    // The default rejection response, plus one log line naming the reason.
    let log_rejection = |rejection: &Rejection| -> Response<Body> {
        println!(
            "rejected: {} {}",
            rejection.status().as_u16(),
            rejection.reason()
        );
        DefaultRejection.on_rejection(rejection)
    };
    let app = Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/api/prompt", post(queue_prompt))
        .route("/api/history", get(list_history))
        .route("/ws", get(echo::websocket))
        .with_state(History::default())
        .layer(GuardLayer::new(policy).on_rejection(log_rejection));

    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("demo listening; open http://{}/", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>crossguard demo: a local AI tool</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 46rem; color: #1d232b; }
  h1 { font-size: 1.4rem; margin-bottom: .2rem; }
  .sub { color: #5b6570; margin-top: 0; }
  section { border: 1px solid #d5dbe1; border-radius: 8px; padding: .8rem 1rem; margin: 1rem 0; }
  h2 { font-size: 1rem; margin: 0 0 .5rem; }
  button { font: inherit; padding: .3rem .8rem; border-radius: 6px; border: 1px solid #8793a0; background: #f4f6f8; cursor: pointer; }
  code, pre { font: 13px ui-monospace, monospace; }
  pre { background: #f4f6f8; padding: .5rem; border-radius: 6px; white-space: pre-wrap; margin: .5rem 0 0; }
  .ok { color: #137333; } .bad { color: #b3261e; }
</style>
</head>
<body>
<h1>Local AI tool</h1>
<p class="sub">Served on this machine and guarded by <b>crossguard</b> (<code>local</code> preset: loopback hosts only, CSRF, cross-site WebSocket and resource isolation checks).</p>
<section>
  <h2>Queue a prompt</h2>
  <button id="queue">POST /api/prompt</button> <span id="queue-result"></span>
</section>
<section>
  <h2>History</h2>
  <button id="refresh">GET /api/history</button>
  <pre id="history">[]</pre>
</section>
<section>
  <h2>Live socket</h2>
  <div>status: <span id="ws-status">connecting…</span></div>
  <div>extensions: <code id="ws-extensions">-</code></div>
  <div>echo: <span id="ws-echo">-</span></div>
</section>
<script>
const $ = (id) => document.getElementById(id);
async function queue() {
  const response = await fetch('/api/prompt', {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify({prompt: {text: 'a lighthouse at dusk', steps: 20}}),
  });
  const body = await response.json();
  $('queue-result').textContent = response.ok ? `queued as #${body.prompt_id}` : `refused (${response.status})`;
  $('queue-result').className = response.ok ? 'ok' : 'bad';
  await refresh();
}
async function refresh() {
  const response = await fetch('/api/history');
  $('history').textContent = JSON.stringify(await response.json(), null, 1);
}
$('queue').onclick = queue;
$('refresh').onclick = refresh;
const ws = new WebSocket(`ws://${location.host}/ws`);
ws.onopen = () => {
  $('ws-status').textContent = 'open'; $('ws-status').className = 'ok';
  $('ws-extensions').textContent = ws.extensions || '(none)';
  ws.send('hello over a compressed socket');
};
ws.onmessage = (event) => { $('ws-echo').textContent = event.data; };
ws.onclose = () => { if ($('ws-status').textContent !== 'open') { $('ws-status').textContent = 'refused'; $('ws-status').className = 'bad'; } };
refresh();
</script>
</body>
</html>
"#;
