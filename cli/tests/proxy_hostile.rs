//! Hostile clients against `crossguard proxy`: ambiguous framing (RFC 9112 §6.3, §11.2) gets
//! `400` and never reaches the upstream, slow heads are cut at `--header-timeout`, and
//! `--max-connections` holds under a burst of idle connections while the others are served.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::time::{Duration, Instant};

use crate::support::{Crossguard, Upstream, WAIT, raw, read_head, read_until_close};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

#[rustfmt::skip]
const AMBIGUOUS: [(&str, &str); 5] = [
    ("RFC 9112 §6.3 ¶3: Content-Length with Transfer-Encoding",
     "POST /api/prompt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    ("RFC 9112 §6.3 ¶3: Transfer-Encoding before Content-Length",
     "POST /api/prompt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nContent-Length: 44\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    ("RFC 9112 §6.3 ¶5: two different Content-Lengths",
     "POST /api/prompt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabcGET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    ("RFC 9112 §6.3 ¶5: a Content-Length list that disagrees",
     "POST /api/prompt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3, 40\r\n\r\nabc"),
    ("RFC 9112 §5.2: an obsolete line fold",
     "GET /api/prompt HTTP/1.1\r\nHost: localhost\r\nX-Folded: a\r\n b\r\n\r\n"),
];

#[tokio::test(flavor = "multi_thread")]
async fn ambiguous_framing_is_400_and_never_forwarded() {
    let upstream = Upstream::ok().await;
    let proxy = Crossguard::proxy(&["--upstream", &upstream.url()]);
    for (name, request) in AMBIGUOUS {
        let answer = raw(proxy.addr, request.as_bytes(), Duration::from_secs(3)).await;
        assert!(
            answer.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{name}: {answer}"
        );
        assert_eq!(
            answer.matches("HTTP/1.1").count(),
            1,
            "{name}: one answer, then closed: {answer}"
        );
        assert!(upstream.seen().is_empty(), "{name}: {:?}", upstream.seen());
    }
    // The case hyper accepts is refused by crossguard itself, with its reason.
    let answer = raw(
        proxy.addr,
        AMBIGUOUS[0].1.as_bytes(),
        Duration::from_secs(3),
    )
    .await;
    assert!(
        answer.ends_with("\r\n\r\ncrossguard: ambiguous_framing\n"),
        "{answer}"
    );
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("connection: close\r\n"),
        "{answer}"
    );
    let log = proxy.wait_stderr("ambiguous_framing");
    assert!(
        log.contains("crossguard: refused POST /api/prompt: ambiguous_framing\n"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_smuggling_attempt_after_a_good_request_on_one_connection_is_refused() {
    let upstream = Upstream::ok().await;
    let proxy = Crossguard::proxy(&["--upstream", &upstream.url()]);
    let pipeline = format!(
        "POST /first HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello{}",
        AMBIGUOUS[0].1
    );
    let answer = raw(proxy.addr, pipeline.as_bytes(), Duration::from_secs(3)).await;
    let first = answer
        .find("HTTP/1.1 200 OK\r\n")
        .expect("first request answered");
    let second = answer
        .find("HTTP/1.1 400 Bad Request\r\n")
        .expect("second refused");
    assert!(first < second, "{answer}");
    let seen = upstream.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].target, "/first");
    assert_eq!(&seen[0].body[..], b"hello");
}

#[tokio::test(flavor = "multi_thread")]
async fn same_content_length_twice_and_plain_chunked_are_not_ambiguous() {
    let upstream = Upstream::ok().await;
    let proxy = Crossguard::proxy(&["--upstream", &upstream.url()]);
    let pipeline = "POST /a HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabcPOST /b HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\ndef\r\n0\r\n\r\n";
    let answer = raw(proxy.addr, pipeline.as_bytes(), Duration::from_secs(3)).await;
    assert_eq!(answer.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{answer}");
    let seen = upstream.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (&seen[0].body[..], &seen[1].body[..]),
        (&b"abc"[..], &b"def"[..])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_head_is_cut_at_the_header_timeout() {
    let upstream = Upstream::ok().await;
    let proxy = Crossguard::proxy(&["--upstream", &upstream.url(), "--header-timeout", "1"]);
    // (first bytes, then one more byte every 300 ms from this list): never a complete head.
    let cases: [(&[u8], &[u8]); 4] = [
        (b"GET / HTTP/1.1\r\nHost: loc", b"aaaaaaaaaaaaaa"),
        (b"G", b"aaaaaaaaaaaaaa"),
        // A slow HTTP/2 preface: hyper's own header timeout does not cover protocol detection.
        (b"PRI * HT", b"TP/2.0\r\n\r\nSM\r\n\r\n"),
        (b"", b"aaaaaaaaaaaaaa"),
    ];
    for (first_bytes, trickle) in cases {
        let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
        stream.write_all(first_bytes).await.unwrap();
        let started = Instant::now();
        let mut closed = false;
        for byte in trickle.iter() {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if stream.write_all(std::slice::from_ref(byte)).await.is_err() {
                closed = true;
                break;
            }
            let mut buf = [0u8; 1024];
            match tokio::time::timeout(Duration::from_millis(1), stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    closed = true;
                    break;
                }
                _ => {}
            }
        }
        let after = started.elapsed();
        assert!(closed, "{first_bytes:?}: still open after {after:?}");
        assert!(
            after >= Duration::from_millis(800),
            "{first_bytes:?}: cut after {after:?}"
        );
        assert!(
            after < Duration::from_millis(2500),
            "{first_bytes:?}: cut after {after:?}"
        );
    }
    assert!(upstream.seen().is_empty());
    // The proxy still serves.
    assert_still_serves(&proxy).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn max_connections_holds_under_a_burst_of_idle_connections() {
    let upstream = Upstream::ok().await;
    let proxy = Crossguard::proxy(&["--upstream", &upstream.url(), "--max-connections", "4"]);
    let get = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";

    // One keep-alive client that works, then a burst of idle connections filling the rest.
    let mut active = TcpStream::connect(proxy.addr).await.unwrap();
    active.write_all(get).await.unwrap();
    assert!(
        read_head(&mut active)
            .await
            .starts_with("HTTP/1.1 200 OK\r\n")
    );
    let mut body = [0u8; 2];
    active.read_exact(&mut body).await.unwrap();
    assert_eq!(&body, b"ok");
    let mut idle = Vec::new();
    for _ in 0..50 {
        idle.push(TcpStream::connect(proxy.addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A newcomer past the bound waits...
    let mut newcomer = TcpStream::connect(proxy.addr).await.unwrap();
    newcomer.write_all(get).await.unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(700), newcomer.read(&mut buf)).await;
    assert!(early.is_err(), "served past the bound: {early:?}");

    // ...while the open connection is still served.
    active.write_all(get).await.unwrap();
    let head = tokio::time::timeout(WAIT, read_head(&mut active))
        .await
        .unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");

    // Closing every idle connection lets the newcomer in (they are accepted in order).
    drop(idle);
    drop(active);
    let head = tokio::time::timeout(WAIT, read_head(&mut newcomer))
        .await
        .unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    let _ = read_until_close(&mut newcomer, Duration::from_millis(10)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_keep_alive_connection_is_closed_at_the_header_timeout() {
    let upstream = Upstream::ok().await;
    let proxy = Crossguard::proxy(&["--upstream", &upstream.url(), "--header-timeout", "1"]);
    let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    assert!(
        read_head(&mut stream)
            .await
            .starts_with("HTTP/1.1 200 OK\r\n")
    );
    let started = Instant::now();
    let rest = read_until_close(&mut stream, Duration::from_secs(5)).await;
    let idle = started.elapsed();
    assert_eq!(
        rest, "ok",
        "the body, then the proxy closes the idle connection"
    );
    assert!(
        idle >= Duration::from_millis(800) && idle < Duration::from_millis(2500),
        "{idle:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transfer_coding_other_than_chunked_is_501_and_not_forwarded() {
    let upstream = Upstream::ok().await;
    let proxy = Crossguard::proxy(&["--upstream", &upstream.url()]);
    let request = "POST /api/prompt HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n0\r\n\r\n";
    let answer = raw(proxy.addr, request.as_bytes(), Duration::from_secs(3)).await;
    assert!(
        answer.starts_with("HTTP/1.1 501 Not Implemented\r\n"),
        "{answer}"
    );
    assert!(
        answer.ends_with("\r\n\r\ncrossguard: unsupported_transfer_coding\n"),
        "{answer}"
    );
    assert!(upstream.seen().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_and_hostile_heads_never_take_the_proxy_down() {
    let upstream = Upstream::ok().await;
    let mut proxy = Crossguard::proxy(&["--upstream", &upstream.url()]);
    let mut inputs: Vec<Vec<u8>> = vec![
        b"\x00\x01\x02\xff\xfe\r\n\r\n".to_vec(),
        b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nOrigin: \xff\xfe\r\n\r\n".to_vec(),
        b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nSec-Fetch-Site: \x80\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n".to_vec(),
        b"GET http://evil.example/ HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: x\r\nSec-WebSocket-Version: 13\r\n\r\n".to_vec(),
        b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n".to_vec(),
        b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 99999999999999999999\r\n\r\n".to_vec(),
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x01\x00\x00\x00\x00\x00garbage".to_vec(),
    ];
    let mut many = b"GET / HTTP/1.1\r\nHost: localhost\r\n".to_vec();
    for i in 0..5000 {
        many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    inputs.push(many);
    let mut huge = b"GET / HTTP/1.1\r\nHost: localhost\r\nX: ".to_vec();
    huge.extend(std::iter::repeat_n(b'a', 2 << 20));
    inputs.push(huge);
    for input in &inputs {
        // Answers come at once on loopback; some connections stay open for the next request.
        let answer = raw(proxy.addr, input, Duration::from_secs(1)).await;
        // HTTP/2 answers in frames (SETTINGS, then GOAWAY for the garbage).
        let http2 = input.starts_with(b"PRI * HTTP/2.0");
        assert!(
            answer.is_empty()
                || (http2 && !answer.contains("HTTP/1.1"))
                || answer.starts_with("HTTP/1.1 4")
                || answer.starts_with("HTTP/1.1 5"),
            "{:?} -> {answer}",
            String::from_utf8_lossy(&input[..input.len().min(80)])
        );
    }
    assert!(upstream.seen().is_empty(), "{:?}", upstream.seen());
    assert!(
        proxy.wait_exit(Duration::from_millis(10)).is_none(),
        "still running"
    );
    assert_still_serves(&proxy).await;
    assert!(!proxy.stderr().contains("panicked"), "{}", proxy.stderr());
}

/// Waits (bounded by 5 s) for the peer to close `stream`, reading and dropping whatever it sends;
/// the time it took, or `None` if it stayed open.
async fn closed_within(stream: &mut TcpStream) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => {}
            Err(_) => return None,
        }
    }
}

/// The HTTP/2 connection preface (RFC 9113 §3.4) and an empty SETTINGS frame.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const EMPTY_SETTINGS: &[u8] = &[0, 0, 0, 4, 0, 0, 0, 0, 0];

/// The first request must be complete within `--header-timeout` on HTTP/2 too: a partial preface
/// (the 18 bytes up to the first empty line), a full preface with SETTINGS and then silence, are
/// cut, and with `--max-connections 1` the proxy is free again for the next client.
#[tokio::test(flavor = "multi_thread")]
async fn an_http2_connection_without_a_first_request_is_cut_at_the_header_timeout() {
    let upstream = Upstream::ok().await;
    let proxy = Crossguard::proxy(&[
        "--upstream",
        &upstream.url(),
        "--header-timeout",
        "1",
        "--max-connections",
        "1",
    ]);
    let partial = PREFACE.get(..18).unwrap();
    let full = [PREFACE, EMPTY_SETTINGS].concat();
    for (name, bytes) in [
        ("a partial preface", partial),
        ("a preface and SETTINGS", &full[..]),
    ] {
        let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
        stream.write_all(bytes).await.unwrap();
        let after = closed_within(&mut stream).await;
        let after = after.unwrap_or_else(|| panic!("{name}: still open after 5 s"));
        assert!(
            after >= Duration::from_millis(800),
            "{name}: cut after {after:?}"
        );
        assert!(
            after < Duration::from_millis(2500),
            "{name}: cut after {after:?}"
        );
        // The one slot is free again.
        let answer = raw(
            proxy.addr,
            b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            WAIT,
        )
        .await;
        assert!(
            answer.starts_with("HTTP/1.1 200 OK\r\n"),
            "{name}: {answer}"
        );
    }
}

/// An HTTP/2 connection with no open stream is closed after `--header-timeout`, as an idle
/// HTTP/1.1 keep-alive connection is.
#[tokio::test(flavor = "multi_thread")]
async fn an_idle_http2_connection_is_closed_at_the_header_timeout() {
    use http_body_util::Empty;
    use hyper::body::Bytes;
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let upstream = Upstream::ok().await;
    let proxy = Crossguard::proxy(&["--upstream", &upstream.url(), "--header-timeout", "1"]);
    let stream = TcpStream::connect(proxy.addr).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    let connection = tokio::spawn(connection);
    let request = http::Request::get(format!("http://{}/", proxy.addr))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    drop(response);
    let started = Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(5), connection).await;
    let after = started.elapsed();
    assert!(
        ended.is_ok(),
        "the idle HTTP/2 connection is still open after {after:?}"
    );
    assert!(
        after >= Duration::from_millis(800),
        "closed after {after:?}"
    );
    assert_eq!(upstream.seen().len(), 1);
}

/// The proxy announces at most 32 concurrent streams per HTTP/2 connection (RFC 9113 §6.5.2,
/// SETTINGS_MAX_CONCURRENT_STREAMS), so one client connection cannot fan out into hundreds of
/// upstream connections.
#[tokio::test(flavor = "multi_thread")]
async fn http2_concurrent_streams_are_capped_at_32() {
    let upstream = Upstream::ok().await;
    let proxy = Crossguard::proxy(&["--upstream", &upstream.url()]);
    let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
    stream
        .write_all(&[PREFACE, EMPTY_SETTINGS].concat())
        .await
        .unwrap();
    // The server's first frame is its SETTINGS: 9-byte header, then 6-byte entries.
    let mut header = [0u8; 9];
    tokio::time::timeout(WAIT, stream.read_exact(&mut header))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(header[3], 4, "a SETTINGS frame: {header:?}");
    let length =
        usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
    let mut payload = vec![0u8; length];
    tokio::time::timeout(WAIT, stream.read_exact(&mut payload))
        .await
        .unwrap()
        .unwrap();
    let settings: Vec<(u16, u32)> = payload
        .chunks_exact(6)
        .map(|e| {
            (
                u16::from_be_bytes([e[0], e[1]]),
                u32::from_be_bytes([e[2], e[3], e[4], e[5]]),
            )
        })
        .collect();
    assert!(
        settings.contains(&(3, 32)),
        "SETTINGS_MAX_CONCURRENT_STREAMS = 32 in {settings:?}"
    );
    // SETTINGS_MAX_HEADER_LIST_SIZE: the same 64 KiB cap as an HTTP/1 head.
    assert!(settings.contains(&(6, 65536)), "{settings:?}");
}

/// A head over 64 KiB gets `431` and its connection is closed; the upstream never sees it.
#[tokio::test(flavor = "multi_thread")]
async fn a_head_over_64_kib_is_431() {
    let upstream = Upstream::ok().await;
    let proxy = Crossguard::proxy(&["--upstream", &upstream.url()]);
    let head = format!(
        "GET /big HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\n\r\n",
        "a".repeat(70 * 1024)
    );
    let answer = raw(proxy.addr, head.as_bytes(), WAIT).await;
    assert!(
        answer.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
        "{answer}"
    );
    // Just under the cap is served.
    let head = format!(
        "GET /fits HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Big: {}\r\n\r\n",
        "a".repeat(60 * 1024)
    );
    let answer = raw(proxy.addr, head.as_bytes(), WAIT).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    let seen: Vec<_> = upstream.seen().into_iter().map(|s| s.target).collect();
    assert_eq!(seen, ["/fits"]);
}

/// Unfinished heads cost at most what one capped head does, once: 200 connections each sending
/// 300 KB of a head that never ends are answered `431` and closed, and the proxy's resident
/// memory stays within 40 MiB of what it was.
#[tokio::test(flavor = "multi_thread")]
async fn unfinished_heads_do_not_pile_up_in_memory() {
    let upstream = Upstream::ok().await;
    let proxy = Crossguard::proxy(&["--upstream", &upstream.url(), "--header-timeout", "30"]);
    let rss = || {
        let status = std::fs::read_to_string(format!("/proc/{}/status", proxy.pid())).unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .unwrap()
            .to_owned();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    let before = rss();
    let chunk = vec![b'a'; 30_000];
    let mut streams = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Long: ")
            .await
            .unwrap();
        streams.push(stream);
    }
    let mut refused = 0;
    for stream in &mut streams {
        for _ in 0..10 {
            if stream.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let answer = read_until_close(stream, WAIT).await;
        if answer.starts_with("HTTP/1.1 431 ") {
            refused += 1;
        }
    }
    let grown_kib = rss().saturating_sub(before);
    assert_eq!(refused, 200, "every connection is answered 431");
    assert!(
        grown_kib < 40 * 1024,
        "resident memory grew by {grown_kib} KiB"
    );
    assert!(upstream.seen().is_empty());
}

/// A chunked body whose trailer lines end with bare LFs: hyper reads `GET /phantom ...` as more
/// trailer bytes (it ends a trailer line only at CRLF), and so does the framing follower now, so
/// the next request on the connection, framed ambiguously, is refused rather than forwarded.
#[tokio::test(flavor = "multi_thread")]
async fn a_bare_lf_trailer_does_not_knock_the_framing_out_of_step() {
    let upstream = Upstream::ok().await;
    let proxy = Crossguard::proxy(&["--upstream", &upstream.url()]);
    let bytes = "POST /first HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n\
                 0\r\nX: a\n\nGET /phantom HTTP/1.1\r\nHost: localhost\r\n\r\n\
                 POST /smuggle HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\
                 Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    let answer = raw(proxy.addr, bytes.as_bytes(), WAIT).await;
    let statuses: Vec<&str> = answer
        .match_indices("HTTP/1.1 ")
        .map(|(i, _)| answer.get(i + 9..i + 12).unwrap_or(""))
        .collect();
    assert_eq!(statuses, ["200", "400"], "{answer}");
    assert!(
        answer.contains("crossguard: ambiguous_framing\n"),
        "{answer}"
    );
    let seen: Vec<_> = upstream.seen().into_iter().map(|s| s.target).collect();
    assert_eq!(seen, ["/first"]);
}

/// A request body that never comes: the client declares a length and sends nothing.
struct Stalled;

impl http_body::Body for Stalled {
    type Data = hyper::body::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Pending
    }
}

/// An HTTP/1.1 body that stops coming is cut after `--body-timeout`: `408 body_timeout`, the
/// connection closed, a log line, and the connection's slot free again.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_body_that_stops_coming_is_cut_at_the_body_timeout() {
    let upstream = Upstream::ok().await;
    let proxy = Crossguard::proxy(&[
        "--upstream",
        &upstream.url(),
        "--body-timeout",
        "1",
        "--max-connections",
        "1",
    ]);
    let mut stream = TcpStream::connect(proxy.addr).await.unwrap();
    stream
        .write_all(b"POST /api/prompt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n0123456789")
        .await
        .unwrap();
    let started = Instant::now();
    let answer = read_until_close(&mut stream, Duration::from_secs(10)).await;
    let after = started.elapsed();
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with("crossguard: body_timeout\n"), "{answer}");
    assert!(
        after >= Duration::from_millis(800) && after < Duration::from_secs(5),
        "{after:?}"
    );
    proxy.wait_stderr("crossguard: body_timeout POST /api/prompt: no request body bytes for 1s");
    // The one slot is free again.
    assert_still_serves(&proxy).await;
}

/// Five HTTP/2 connections each opening 200 POST streams whose bodies never come: the streams are
/// held to 32 a connection, the upstream connections to `--max-connections` (8 here) in all, and
/// every stream is answered (`408` once its body times out, or `503 upstream_busy` when no
/// upstream slot frees in time), or refused (`REFUSED_STREAM`, past the 32). Before, this opened
/// one upstream connection per stream.
#[tokio::test(flavor = "multi_thread")]
async fn http2_streams_do_not_multiply_upstream_connections() {
    use hyper_util::rt::{TokioExecutor, TokioIo};

    let upstream = Upstream::ok().await;
    let proxy = Crossguard::proxy(&[
        "--upstream",
        &upstream.url(),
        "--max-connections",
        "8",
        "--body-timeout",
        "2",
        "--connect-timeout",
        "1",
        "--quiet",
    ]);
    let upstream_port = upstream.addr.port();
    let upstream_connections = || {
        // Established TCP connections to the upstream's port, as /proc/net/tcp lists them (local
        // address column, hex port; state 01 = ESTABLISHED), the upstream's side of each.
        let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
        table
            .lines()
            .skip(1)
            .filter(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.get(1).and_then(|l| l.rsplit(':').next())
                    == Some(format!("{upstream_port:04X}").as_str())
                    && fields.get(3) == Some(&"01")
            })
            .count()
    };
    let mut streams = Vec::new();
    let mut clients = Vec::new();
    for _ in 0..5 {
        let stream = TcpStream::connect(proxy.addr).await.unwrap();
        let (sender, connection) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .unwrap();
        clients.push(tokio::spawn(connection));
        for i in 0..200 {
            let mut sender = sender.clone();
            let request = http::Request::post(format!("http://{}/upload/{i}", proxy.addr))
                .header("content-length", "1000000")
                .body(Stalled)
                .unwrap();
            streams.push(tokio::spawn(async move {
                match sender.send_request(request).await {
                    Ok(response) => response.status().as_u16(),
                    // Streams opened before the client saw the proxy's SETTINGS, past the 32:
                    // RFC 9113 §5.1.2 refuses them, and a client may retry them.
                    Err(err) if format!("{err:?}").contains("REFUSED_STREAM") => 1,
                    Err(err) => panic!("{err:?}"),
                }
            }));
        }
    }
    let mut most = 0;
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        most = most.max(upstream_connections());
    }
    assert!(most <= 8, "{most} upstream connections at once");
    let mut statuses = std::collections::BTreeMap::new();
    for stream in streams {
        let status = tokio::time::timeout(Duration::from_secs(60), stream)
            .await
            .expect("every stream is answered")
            .unwrap();
        *statuses.entry(status).or_insert(0) += 1;
    }
    let answered: usize = statuses
        .iter()
        .filter(|(status, _)| matches!(status, 1 | 408 | 503))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(answered, 1000, "{statuses:?}");
}

/// An upstream that dies in the middle of a response body: the client's response is cut, and the
/// proxy logs it.
#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_that_dies_mid_body_is_logged() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let _ = read_head(&mut stream).await;
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
            .await
            .unwrap();
        // Gone, 990 bytes short.
    });
    let proxy = Crossguard::proxy(&["--upstream", &format!("http://{upstream}")]);
    let answer = raw(
        proxy.addr,
        b"GET /cut?secret=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        WAIT,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("0123456789"), "the body is cut: {answer}");
    let log = proxy.wait_stderr("crossguard: upstream_failed_mid_body GET /cut: ");
    assert!(!log.contains("secret"), "{log}");
    server.await.unwrap();
}

/// The proxy answers a plain GET (after a hostile client has been cut off, say).
async fn assert_still_serves(proxy: &Crossguard) {
    let answer = raw(
        proxy.addr,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        WAIT,
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
}
