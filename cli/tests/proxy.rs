//! `crossguard proxy`, the real binary, in front of real hyper upstreams on loopback: what is
//! forwarded and how, what is refused and never forwarded, upstream failures, usage errors,
//! graceful shutdown.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::type_complexity
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::{Crossguard, Upstream, WAIT, closed_port, raw, run_to_exit, send};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn get(proxy: &Crossguard, path: &str) -> http::request::Builder {
    Request::get(format!("http://{}{path}", proxy.addr))
}

#[tokio::test(flavor = "multi_thread")]
async fn forwards_method_target_headers_and_body_and_drops_hop_by_hop_fields() {
    let upstream = Upstream::start(Arc::new(|_| {
        Response::builder()
            .status(201)
            .header("x-upstream", "yes")
            .header("connection", "x-upstream-hop")
            .header("x-upstream-hop", "secret")
            .header("keep-alive", "timeout=5")
            .body(Full::from("created"))
            .unwrap()
    }))
    .await;
    let proxy = Crossguard::proxy(&["--upstream", &upstream.url()]);
    let host = proxy.addr.to_string();
    let request = Request::post(format!("http://{host}/api/prompt?x=1&y=%20"))
        .header("content-type", "application/json")
        .header("x-custom", "kept")
        .header("connection", "x-hop, keep-alive")
        .header("x-hop", "dropped")
        .header("keep-alive", "timeout=1")
        .header("proxy-connection", "keep-alive")
        .header("te", "trailers")
        .header("upgrade", "h2c")
        .header("x-forwarded-for", "10.1.2.3")
        .header("x-forwarded-host", "spoofed.example")
        .header("x-forwarded-proto", "https")
        .header("forwarded", "for=10.9.9.9;proto=https")
        .header("x-real-ip", "10.8.8.8")
        .body(Full::from(r#"{"prompt":1}"#))
        .unwrap();
    let (response, body) = send(request).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(&body[..], b"created");
    assert_eq!(response.headers()["x-upstream"], "yes");
    assert!(response.headers().get("x-upstream-hop").is_none());
    assert!(response.headers().get("keep-alive").is_none());

    let seen = upstream.seen();
    assert_eq!(seen.len(), 1);
    let seen = &seen[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.target, "/api/prompt?x=1&y=%20");
    assert_eq!(&seen.body[..], br#"{"prompt":1}"#);
    let h = &seen.headers;
    assert_eq!(h["host"], host.as_str(), "Host is preserved");
    assert_eq!(h["content-type"], "application/json");
    assert_eq!(h["x-custom"], "kept");
    assert_eq!(h["content-length"], "12");
    // The proxy is the edge: the client's own forwarding claims are replaced or dropped.
    assert_eq!(h.get_all("x-forwarded-for").iter().count(), 1, "{h:?}");
    assert_eq!(h["x-forwarded-for"], "127.0.0.1");
    assert!(h.get("forwarded").is_none(), "{h:?}");
    assert!(h.get("x-real-ip").is_none(), "{h:?}");
    assert_eq!(h["x-forwarded-host"], host.as_str());
    assert_eq!(h["x-forwarded-proto"], "http");
    for hop in [
        "x-hop",
        "keep-alive",
        "proxy-connection",
        "te",
        "upgrade",
        "transfer-encoding",
    ] {
        assert!(h.get(hop).is_none(), "{hop} must not be forwarded: {h:?}");
    }
    // hyper's client speaks keep-alive by default and adds no Connection header of its own.
    assert!(h.get("connection").is_none(), "{h:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn chunked_request_body_is_streamed_and_reframed() {
    let upstream = Upstream::ok().await;
    let proxy = Crossguard::proxy(&["--upstream", &upstream.url()]);
    let request = format!(
        "PUT /upload HTTP/1.1\r\nHost: {}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
        proxy.addr
    );
    let answer = raw(proxy.addr, request.as_bytes(), WAIT).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nok"), "{answer}");
    let seen = upstream.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(&seen[0].body[..], b"hello world");
}

#[tokio::test(flavor = "multi_thread")]
async fn rewrite_host_sends_the_upstream_authority_and_origin() {
    let upstream = Upstream::ok().await;
    let proxy = Crossguard::proxy(&[
        "--upstream",
        &upstream.url(),
        "--rewrite-host",
        "--allow-host",
        "mybox.tailnet.ts.net:8189",
    ]);
    let request = get(&proxy, "/api/kernels?token=secret")
        .method("POST")
        .header("host", "mybox.tailnet.ts.net:8189")
        .header("origin", "http://mybox.tailnet.ts.net:8189")
        .header("referer", "http://mybox.tailnet.ts.net:8189/lab/tree?x=1")
        .header("sec-fetch-site", "same-origin")
        .body(Full::from(""))
        .unwrap();
    let (response, _) = send(request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let seen = upstream.seen();
    let h = &seen[0].headers;
    let authority = upstream.addr.to_string();
    assert_eq!(h["host"], authority.as_str());
    assert_eq!(h["origin"], format!("http://{authority}").as_str());
    assert_eq!(
        h["referer"],
        format!("http://{authority}/lab/tree?x=1").as_str()
    );
    assert_eq!(h["x-forwarded-host"], "mybox.tailnet.ts.net:8189");
    assert_eq!(seen[0].target, "/api/kernels?token=secret");
}

#[tokio::test(flavor = "multi_thread")]
async fn host_and_origin_are_preserved_by_default() {
    let upstream = Upstream::ok().await;
    let proxy = Crossguard::proxy(&["--upstream", &upstream.url()]);
    let host = format!("localhost:{}", proxy.addr.port());
    let request = get(&proxy, "/")
        .method("POST")
        .header("host", &host)
        .header("origin", format!("http://{host}"))
        .header("referer", format!("http://{host}/page"))
        .body(Full::from(""))
        .unwrap();
    let (response, _) = send(request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let h = &upstream.seen()[0].headers;
    assert_eq!(h["host"], host.as_str());
    assert_eq!(h["origin"], format!("http://{host}").as_str());
    assert_eq!(h["referer"], format!("http://{host}/page").as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_requests_get_the_guard_response_and_never_reach_the_upstream() {
    let upstream = Upstream::ok().await;
    let proxy = Crossguard::proxy(&["--upstream", &upstream.url()]);
    let cases: [(&str, Vec<(&str, String)>, u16, &str); 4] = [
        (
            "POST",
            vec![("sec-fetch-site", "cross-site".into())],
            403,
            "crossguard: cross_site_request\n",
        ),
        (
            "POST",
            vec![("origin", "http://evil.example".into())],
            403,
            "crossguard: origin_mismatch\n",
        ),
        (
            "GET",
            vec![("host", "evil.example".into())],
            403,
            "crossguard: host_not_allowed\n",
        ),
        (
            "GET",
            vec![
                ("sec-fetch-site", "cross-site".into()),
                ("sec-fetch-mode", "no-cors".into()),
                ("sec-fetch-dest", "image".into()),
            ],
            403,
            "crossguard: cross_site_resource\n",
        ),
    ];
    for (method, fields, status, reason) in cases {
        let mut request = get(&proxy, "/api/prompt?token=secret").method(method);
        for (name, value) in &fields {
            request = request.header(*name, value);
        }
        let (response, body) = send(request.body(Full::from("")).unwrap()).await;
        assert_eq!(response.status().as_u16(), status, "{fields:?}");
        assert_eq!(&body[..], reason.as_bytes(), "{fields:?}");
        assert_eq!(
            response.headers()["vary"],
            "Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest"
        );
        assert_eq!(
            response.headers()["content-type"],
            "text/plain; charset=utf-8"
        );
    }
    let log = proxy.wait_stderr("cross_site_resource");
    assert!(
        log.contains("crossguard: refused POST /api/prompt: cross_site_request\n"),
        "{log}"
    );
    assert!(
        log.contains("crossguard: refused GET /api/prompt: host_not_allowed\n"),
        "{log}"
    );
    assert!(!log.contains("secret"), "queries are not logged: {log}");
    assert_eq!(log.lines().count(), 4, "{log}");
    assert_eq!(upstream.seen().len(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn report_only_forwards_and_logs_quiet_silences() {
    let upstream = Upstream::ok().await;
    let proxy = Crossguard::proxy(&["--upstream", &upstream.url(), "--report-only"]);
    let attack = || {
        Request::post("/")
            .header("sec-fetch-site", "cross-site")
            .body(Full::from(""))
    };
    let mut request = attack().unwrap();
    *request.uri_mut() = format!("http://{}/api/prompt?q=1", proxy.addr)
        .parse()
        .unwrap();
    let (response, body) = send(request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(&body[..], b"ok");
    let log = proxy.wait_stderr("report-only");
    assert_eq!(
        log,
        "crossguard: report-only POST /api/prompt: cross_site_request\n"
    );

    let quiet = Crossguard::proxy(&["--upstream", &upstream.url(), "--quiet"]);
    let mut request = attack().unwrap();
    *request.uri_mut() = format!("http://{}/api/prompt", quiet.addr).parse().unwrap();
    let (response, _) = send(request).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(quiet.stderr(), "");
    assert_eq!(upstream.seen().len(), 1, "only the report-only request");
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_refusing_connections_is_502() {
    let down = closed_port();
    let proxy = Crossguard::proxy(&["--upstream", &format!("http://{down}")]);
    let (response, body) = send(get(&proxy, "/x").body(Full::from("")).unwrap()).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(&body[..], b"crossguard: upstream_unavailable\n");
    let log = proxy.wait_stderr("upstream_unavailable");
    assert!(
        log.starts_with("crossguard: upstream_unavailable GET /x: "),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_resetting_before_a_response_is_502() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf).await;
            drop(stream);
        }
    });
    let proxy = Crossguard::proxy(&["--upstream", &format!("http://{addr}")]);
    let (response, body) = send(get(&proxy, "/").body(Full::from("")).unwrap()).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(&body[..], b"crossguard: upstream_unavailable\n");
    task.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn no_response_head_in_time_is_504_but_a_slow_body_is_never_cut() {
    // Answers the head of `/slow-body` at once and its body over 1.5 s; `/silent`, never.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                if head.starts_with("GET /slow-body") {
                    let _ = stream
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\n")
                        .await;
                    for part in [b"ab", b"cd", b"ef"] {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        let _ = stream.write_all(part).await;
                    }
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            });
        }
    });
    let proxy = Crossguard::proxy(&[
        "--upstream",
        &format!("http://{addr}"),
        "--response-timeout",
        "0.5",
    ]);
    let started = Instant::now();
    let (response, body) = send(get(&proxy, "/silent").body(Full::from("")).unwrap()).await;
    let waited = started.elapsed();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(&body[..], b"crossguard: upstream_timeout\n");
    assert!(
        waited >= Duration::from_millis(450) && waited < Duration::from_secs(3),
        "{waited:?}"
    );

    let (response, body) = send(get(&proxy, "/slow-body").body(Full::from("")).unwrap()).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(&body[..], b"abcdef");
    task.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn response_body_is_streamed_as_sent() {
    // An SSE-like upstream: one event, a pause, another; the first must arrive before the
    // second is written.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let mut buf = vec![0u8; 4096];
        let _ = stream.read(&mut buf).await;
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
            .await;
        let _ = stream.write_all(b"b\r\ndata: one\n\n\r\n").await;
        tokio::time::sleep(Duration::from_millis(800)).await;
        let _ = stream.write_all(b"b\r\ndata: two\n\n\r\n0\r\n\r\n").await;
        tokio::time::sleep(Duration::from_secs(2)).await;
    });
    let proxy = Crossguard::proxy(&["--upstream", &format!("http://{addr}")]);
    let mut stream = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    stream
        .write_all(format!("GET /events HTTP/1.1\r\nHost: {}\r\n\r\n", proxy.addr).as_bytes())
        .await
        .unwrap();
    let started = Instant::now();
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while !seen.contains("data: one") {
        let n = tokio::time::timeout(WAIT, stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    let first = started.elapsed();
    assert!(!seen.contains("data: two"), "{seen}");
    assert!(
        first < Duration::from_millis(600),
        "first event after {first:?}"
    );
    while !seen.contains("data: two") {
        let n = tokio::time::timeout(WAIT, stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(n > 0, "closed early: {seen}");
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(started.elapsed() >= Duration::from_millis(700));
    assert!(seen.starts_with("HTTP/1.1 200 OK\r\n"), "{seen}");
    assert!(
        seen.contains("content-type: text/event-stream\r\n"),
        "{seen}"
    );
    task.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn h2c_clients_are_served_over_an_http1_upstream() {
    let upstream = Upstream::ok().await;
    let proxy = Crossguard::proxy(&["--upstream", &upstream.url()]);
    let stream = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let request = Request::post(format!("http://localhost:{}/h2?x=1", proxy.addr.port()))
        .header("sec-fetch-site", "same-origin")
        .body(Full::<Bytes>::from("h2 body"))
        .unwrap();
    let response = tokio::time::timeout(WAIT, sender.send_request(request))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.version(), http::Version::HTTP_2);
    let seen = upstream.seen();
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].target, "/h2?x=1");
    let host = format!("localhost:{}", proxy.addr.port());
    assert_eq!(seen[0].headers["host"], host.as_str());
    assert_eq!(seen[0].headers["x-forwarded-host"], host.as_str());
    assert_eq!(&seen[0].body[..], b"h2 body");
}

#[test]
fn usage_errors_exit_2_with_one_line_naming_the_problem() {
    let cases: [(&[&str], &str); 6] = [
        (&["proxy"], "--upstream"),
        (
            &["proxy", "--upstream", "http://127.0.0.1:8188/api"],
            "origin only",
        ),
        (&["proxy", "--upstream", "localhost:8188"], "localhost:8188"),
        (
            &[
                "proxy",
                "--upstream",
                "http://127.0.0.1:8188",
                "--listen",
                "localhost",
            ],
            "--listen",
        ),
        (
            &["proxy", "--upstream", "http://127.0.0.1:8188", "--bogus"],
            "--bogus",
        ),
        (
            &[
                "proxy",
                "--upstream",
                "http://127.0.0.1:8188",
                "--allow-origin",
                "https://a.example/",
            ],
            "remove the trailing slash",
        ),
    ];
    for (args, names) in cases {
        let (code, stdout, stderr) = run_to_exit(args);
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert_eq!(stdout, "", "{args:?}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("crossguard: "), "{args:?}: {stderr}");
        assert!(stderr.contains(names), "{args:?}: {stderr}");
    }
}

#[test]
fn port_in_use_exits_1_with_one_line() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, stdout, stderr) = run_to_exit(&[
        "proxy",
        "--upstream",
        "http://127.0.0.1:1",
        "--listen",
        &addr,
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(
        stderr,
        format!("crossguard: cannot listen on {addr}: address already in use\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_in_flight_requests_finish_then_exits_0() {
    let upstream = Upstream::start(Arc::new(|_| {
        std::thread::sleep(Duration::from_millis(1000));
        Response::new(Full::from("finished"))
    }))
    .await;
    let mut proxy = Crossguard::proxy(&["--upstream", &upstream.url()]);
    let addr = proxy.addr;
    let in_flight = tokio::spawn(async move {
        let request = Request::get(format!("http://{addr}/long"))
            .body(Full::from(""))
            .unwrap();
        send(request).await
    });
    // Let the request reach the upstream (which takes a second to answer), then stop the proxy.
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.terminate();
    let (response, body) = tokio::time::timeout(WAIT, in_flight)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(&body[..], b"finished");
    let status = proxy.wait_exit(WAIT).expect("exits after SIGTERM");
    assert_eq!(status.code(), Some(0));
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer accepting"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connect_timeout_is_504() {
    // A listener whose accept queue is full: the kernel drops further SYNs, so connecting hangs.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    let _listener = socket.listen(0).unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        if let Ok(Ok(stream)) = tokio::time::timeout(
            Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            fillers.push(stream);
        }
    }
    let proxy = Crossguard::proxy(&[
        "--upstream",
        &format!("http://{addr}"),
        "--connect-timeout",
        "0.5",
    ]);
    let started = Instant::now();
    let (response, body) = send(get(&proxy, "/").body(Full::from("")).unwrap()).await;
    let waited = started.elapsed();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(&body[..], b"crossguard: upstream_timeout\n");
    assert!(
        waited >= Duration::from_millis(450) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    let log = proxy.wait_stderr("upstream_timeout");
    assert!(
        log.starts_with("crossguard: upstream_timeout GET /: "),
        "{log}"
    );
}

/// A raw upstream that counts the connections it accepts and answers every request head on them
/// (`HEAD` and `/empty` with no body, anything else with `ok`), closing each connection after
/// its first answer when `close_after_each` (without saying so: no `Connection: close`).
async fn counting_upstream(
    close_after_each: bool,
) -> (
    std::net::SocketAddr,
    Arc<std::sync::atomic::AtomicUsize>,
    tokio::task::JoinHandle<()>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&accepted);
    let task = tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let Ok(Ok(n)) = tokio::time::timeout(WAIT, stream.read(&mut buf)).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    head.extend_from_slice(&buf[..n]);
                    while let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                        let request: Vec<u8> = head.drain(..end + 4).collect();
                        let answer: &[u8] = if request.starts_with(b"HEAD ") {
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n"
                        } else if request.starts_with(b"GET /empty ") {
                            b"HTTP/1.1 204 No Content\r\n\r\n"
                        } else {
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
                        };
                        if stream.write_all(answer).await.is_err() || close_after_each {
                            return;
                        }
                    }
                }
            });
        }
    });
    (addr, accepted, task)
}

/// Sends `request` on `stream` and reads its answer's head and its `content-length` body.
async fn exchange(stream: &mut tokio::net::TcpStream, request: &[u8]) -> (String, Vec<u8>) {
    stream.write_all(request).await.unwrap();
    let head = crate::support::read_head(stream).await;
    let length = head
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix("content-length: ")
                .map(str::to_owned)
        })
        .map_or(0, |value| value.trim().parse::<usize>().unwrap());
    let body_expected = !request.starts_with(b"HEAD ");
    let mut body = vec![0u8; if body_expected { length } else { 0 }];
    tokio::time::timeout(WAIT, stream.read_exact(&mut body))
        .await
        .unwrap()
        .unwrap();
    (head, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_connections_are_reused_and_replaced_when_the_upstream_closes_them() {
    use std::sync::atomic::Ordering;
    // Reused: six requests in turn on one client connection (so one worker and its pool) take
    // one upstream connection, whether the answer had a body, none (`204`), or was to `HEAD`.
    let (addr, accepted, task) = counting_upstream(false).await;
    let proxy = Crossguard::proxy(&["--upstream", &format!("http://{addr}")]);
    let mut client = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    let host = format!("Host: {}\r\n", proxy.addr);
    for (request, status, body) in [
        ("GET /a", "HTTP/1.1 200 OK", &b"ok"[..]),
        ("GET /empty", "HTTP/1.1 204 No Content", b""),
        ("HEAD /b", "HTTP/1.1 200 OK", b""),
        ("GET /c", "HTTP/1.1 200 OK", b"ok"),
        ("HEAD /d", "HTTP/1.1 200 OK", b""),
        ("GET /e", "HTTP/1.1 200 OK", b"ok"),
    ] {
        let bytes = format!("{request} HTTP/1.1\r\n{host}\r\n");
        let (head, got) = exchange(&mut client, bytes.as_bytes()).await;
        assert!(head.starts_with(status), "{request}: {head}");
        assert_eq!(got, body, "{request}");
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "one upstream connection"
    );
    task.abort();

    // Replaced: an upstream that closes every connection after one answer, unannounced. Each
    // request still gets the upstream's answer (on a new connection), never a 502.
    let (addr, accepted, task) = counting_upstream(true).await;
    let proxy = Crossguard::proxy(&["--upstream", &format!("http://{addr}")]);
    let mut client = tokio::net::TcpStream::connect(proxy.addr).await.unwrap();
    let host = format!("Host: {}\r\n", proxy.addr);
    for n in 0..8 {
        let bytes = format!("GET /{n} HTTP/1.1\r\n{host}\r\n");
        let (head, got) = exchange(&mut client, bytes.as_bytes()).await;
        assert!(head.starts_with("HTTP/1.1 200 OK"), "request {n}: {head}");
        assert_eq!(got, b"ok", "request {n}");
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        8,
        "one upstream connection per request"
    );
    task.abort();
}
