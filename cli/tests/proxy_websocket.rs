//! WebSocket through `crossguard proxy`: the handshake reaches the upstream as sent, the
//! upstream's `101` is relayed only after the RFC 6455 §4.1 checks, bytes flow both ways, and a
//! cross-site handshake never reaches the upstream.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::{Crossguard, WAIT, read_head, read_until_close};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// RFC 6455 §1.3's example key and its accept value.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// A raw upstream: records each handshake head, answers with `answer`, then echoes bytes
/// (prefixed `echo:`) until the client closes.
struct WsUpstream {
    addr: SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl WsUpstream {
    async fn start(answer: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let record = Arc::clone(&heads);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let record = Arc::clone(&record);
                tokio::spawn(async move {
                    let head = read_head(&mut stream).await;
                    record.lock().unwrap().push(head);
                    if stream.write_all(answer.as_bytes()).await.is_err() {
                        return;
                    }
                    let mut buf = [0u8; 4096];
                    loop {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => {
                                let mut out = b"echo:".to_vec();
                                out.extend_from_slice(&buf[..n]);
                                if stream.write_all(&out).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
            }
        });
        Self { addr, heads, task }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

impl Drop for WsUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn handshake(proxy: &Crossguard, origin: &str, extra: &str) -> String {
    format!(
        "GET /ws?session=1 HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {KEY}\r\nOrigin: {origin}\r\n{extra}\r\n",
        host = proxy.addr
    )
}

const GOOD_101: &str = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: vite-hmr\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=15\r\n\r\n";

#[tokio::test(flavor = "multi_thread")]
async fn handshake_is_forwarded_as_sent_and_the_101_relayed_then_bytes_flow_both_ways() {
    let upstream = WsUpstream::start(GOOD_101).await;
    let proxy = Crossguard::proxy(&["--upstream", &format!("http://{}", upstream.addr)]);
    let origin = format!("http://{}", proxy.addr);
    let offer = "Sec-WebSocket-Protocol: vite-hmr, vite-ping\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
    let mut client = TcpStream::connect(proxy.addr).await.unwrap();
    client
        .write_all(handshake(&proxy, &origin, offer).as_bytes())
        .await
        .unwrap();
    let head = read_head(&mut client).await;
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{head}"
    );
    let lower = head.to_ascii_lowercase();
    assert!(
        lower.contains(&format!(
            "sec-websocket-accept: {}\r\n",
            ACCEPT.to_ascii_lowercase()
        )),
        "{head}"
    );
    assert!(
        lower.contains("sec-websocket-protocol: vite-hmr\r\n"),
        "{head}"
    );
    assert!(
        lower.contains(
            "sec-websocket-extensions: permessage-deflate; client_max_window_bits=15\r\n"
        ),
        "{head}"
    );
    assert!(lower.contains("upgrade: websocket\r\n"), "{head}");

    let heads = upstream.heads();
    assert_eq!(heads.len(), 1);
    let up = heads[0].to_ascii_lowercase();
    assert!(up.starts_with("get /ws?session=1 http/1.1\r\n"), "{up}");
    for field in [
        format!("sec-websocket-key: {}", KEY.to_ascii_lowercase()),
        "sec-websocket-version: 13".to_owned(),
        "sec-websocket-protocol: vite-hmr, vite-ping".to_owned(),
        "sec-websocket-extensions: permessage-deflate; client_max_window_bits".to_owned(),
        "upgrade: websocket".to_owned(),
        "connection: upgrade".to_owned(),
        format!("origin: {origin}"),
        format!("host: {}", proxy.addr),
    ] {
        assert!(
            up.contains(&format!("{field}\r\n")),
            "{field} missing from {up}"
        );
    }

    // Both directions: 200 KB out, echoed back.
    let payload = vec![b'x'; 200_000];
    client.write_all(&payload).await.unwrap();
    let mut echoed = 0usize;
    let mut buf = vec![0u8; 65536];
    while echoed < payload.len() {
        let n = tokio::time::timeout(WAIT, client.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0);
        echoed += buf[..n].iter().filter(|&&b| b == b'x').count();
    }
    assert_eq!(echoed, payload.len());

    // The client closes: the tunnel closes the upstream side, which closes back.
    client.shutdown().await.unwrap();
    let rest = read_until_close(&mut client, Duration::from_secs(5)).await;
    assert!(!rest.contains('x'), "{rest}");
}

async fn answer_is_refused(answer: &'static str, offer: &str, why: &str) {
    let upstream = WsUpstream::start(answer).await;
    let proxy = Crossguard::proxy(&["--upstream", &format!("http://{}", upstream.addr)]);
    let origin = format!("http://{}", proxy.addr);
    let mut client = TcpStream::connect(proxy.addr).await.unwrap();
    client
        .write_all(handshake(&proxy, &origin, offer).as_bytes())
        .await
        .unwrap();
    let head = read_head(&mut client).await;
    assert!(
        head.starts_with("HTTP/1.1 502 Bad Gateway\r\n"),
        "{why}: {head}"
    );
    let body_start = head.len();
    let mut rest = read_until_close(&mut client, Duration::from_millis(500)).await;
    rest.truncate("crossguard: upstream_bad_handshake\n".len());
    assert_eq!(
        rest, "crossguard: upstream_bad_handshake\n",
        "{why} ({body_start})"
    );
    let log = proxy.wait_stderr(why);
    assert!(
        log.contains(&format!(
            "crossguard: upstream_bad_handshake GET /ws: {why}"
        )),
        "{log}"
    );
    assert_eq!(
        upstream.heads().len(),
        1,
        "the handshake did reach the upstream"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rfc6455_4_1_wrong_accept_is_502() {
    answer_is_refused(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n",
        "",
        "sec-websocket-accept does not match the key",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rfc6455_4_1_unoffered_extension_is_502() {
    answer_is_refused(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
        "",
        "an extension that was not offered",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rfc6455_4_1_unoffered_subprotocol_is_502() {
    answer_is_refused(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: graphql-ws\r\n\r\n",
        "Sec-WebSocket-Protocol: vite-hmr\r\n",
        "a subprotocol that was not offered",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_refusing_the_upgrade_is_relayed() {
    let upstream = WsUpstream::start(
        "HTTP/1.1 403 Forbidden\r\ncontent-length: 6\r\nconnection: close\r\n\r\nno way",
    )
    .await;
    let proxy = Crossguard::proxy(&["--upstream", &format!("http://{}", upstream.addr)]);
    let origin = format!("http://{}", proxy.addr);
    let answer = crate::support::raw(
        proxy.addr,
        handshake(&proxy, &origin, "Connection: close\r\n").as_bytes(),
        Duration::from_secs(3),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nno way"), "{answer}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cross_site_handshake_never_reaches_the_upstream() {
    let upstream = WsUpstream::start(GOOD_101).await;
    let proxy = Crossguard::proxy(&["--upstream", &format!("http://{}", upstream.addr)]);
    let answer = crate::support::raw(
        proxy.addr,
        handshake(&proxy, "http://evil.example", "Connection: close\r\n").as_bytes(),
        Duration::from_secs(3),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{answer}");
    assert!(
        answer.ends_with("\r\n\r\ncrossguard: cross_site_websocket\n"),
        "{answer}"
    );
    let log = proxy.wait_stderr("cross_site_websocket");
    assert!(
        log.contains("crossguard: refused GET /ws: cross_site_websocket\n"),
        "{log}"
    );
    assert!(upstream.heads().is_empty());

    // A malformed handshake is refused by the guard too (version 8 → 426).
    let bad = handshake(
        &proxy,
        &format!("http://{}", proxy.addr),
        "Connection: close\r\n",
    )
    .replace("Sec-WebSocket-Version: 13", "Sec-WebSocket-Version: 8");
    let answer = crate::support::raw(proxy.addr, bad.as_bytes(), Duration::from_secs(3)).await;
    assert!(
        answer.starts_with("HTTP/1.1 426 Upgrade Required\r\n"),
        "{answer}"
    );
    assert!(upstream.heads().is_empty());
}
