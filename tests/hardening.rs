//! What an adversarial review and the RFCs found: each row fails on the code before the fix and
//! names its source.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use crossguard::__internals::{
    HostAllowlist, HostPort, MAX_AUTHORITY_LEN, MAX_HOST_LEN, MAX_ORIGIN_LEN,
};
use crossguard::__internals::{Origin, OriginAllowlist};
use crossguard::websocket::{DeflateConfig, WebSocketConfig, verify};
use crossguard::{
    ConfigError, GuardLayer, HostMistake, OriginMistake, Policy, Rejection, RequestHead, Rule,
};
use http::{Method, Request, Response, StatusCode, Version};
use tower::{Layer as _, Service, ServiceExt as _};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn head(method: &str, uri: &str, version: Version, fields: &[(&str, &str)]) -> Request<()> {
    let mut builder = Request::builder().method(method).uri(uri).version(version);
    for (name, value) in fields {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap()
}

fn decide(policy: &Policy, request: &Request<()>) -> Result<Rule, Rejection> {
    crate::support::decide(policy, request)
}

const H11: Version = Version::HTTP_11;
const H2: Version = Version::HTTP_2;
const H10: Version = Version::HTTP_10;

type Row = (
    &'static str,
    &'static str,
    &'static str,
    Version,
    &'static [(&'static str, &'static str)],
    Result<Rule, Rejection>,
);

fn run(policy: &Policy, rows: &[Row]) {
    for (source, method, uri, version, fields, want) in rows {
        let request = head(method, uri, *version, fields);
        assert_eq!(
            decide(policy, &request),
            *want,
            "{source}: {method} {uri} {fields:?}"
        );
    }
}

/// Items 1 and 2: one identity for the guard and the application.
#[test]
fn host_and_target_name_one_authority() {
    use Rejection::*;
    let local = Policy::local().build().unwrap();
    #[rustfmt::skip]
    let rows: &[Row] = &[
        ("RFC 9112 §3.2.2 (guard): absolute-form target, Host names another authority", "GET", "http://localhost:8188/x", H11, &[("host", "evil.com:8188")], Err(HostMismatch)),
        ("RFC 9113 §8.3.1: :authority and host disagree: malformed", "GET", "http://localhost:8188/x", H2, &[("host", "evil.com:8188")], Err(HostMismatch)),
        ("RFC 9112 §3.2.2: a port is part of the authority", "POST", "http://localhost:8188/x", H11, &[("host", "localhost:8189")], Err(HostMismatch)),
        ("RFC 9110 §4.2.3: case and the default port normalised (http, 80)", "GET", "http://LocalHost/x", H11, &[("host", "localhost:80")], Ok(Rule::SafeMethod)),
        ("RFC 9110 §4.2.3: https default port 443", "GET", "https://localhost/x", H11, &[("host", "localhost:443")], Ok(Rule::SafeMethod)),
        ("RFC 9110 §4.2.3: http's default is not 443", "GET", "http://localhost/x", H11, &[("host", "localhost:443")], Err(HostMismatch)),
        ("RFC 1034 §3.1: one trailing dot is the same name", "GET", "http://localhost.:8188/x", H11, &[("host", "localhost:8188")], Ok(Rule::SafeMethod)),
        ("RFC 4291 §2.2: IPv6 literals compare as addresses", "GET", "http://[::1]:8188/x", H11, &[("host", "[0:0::1]:8188")], Ok(Rule::SafeMethod)),
        ("RFC 9113 §8.3.1: h2 with agreeing host", "GET", "http://localhost:8188/x", H2, &[("host", "localhost:8188")], Ok(Rule::SafeMethod)),
        ("RFC 9113 §8.3.1: h2 :authority alone", "GET", "http://localhost:8188/x", H2, &[], Ok(Rule::SafeMethod)),
        ("RFC 9112 §3.2: HTTP/1.1 absolute-form without Host is a 400", "GET", "http://localhost:8188/x", H11, &[], Err(MissingHost)),
        ("RFC 9112 §3.2 + RFC 6455 §4.2.1: handshake absolute-form without Host", "GET", "http://localhost:8188/ws", H11, &[("upgrade", "websocket"), ("connection", "upgrade"), ("sec-websocket-key", KEY), ("sec-websocket-version", "13")], Err(MissingHost)),
        ("RFC 9112 §3.2: HTTP/1.0 needs no Host, absolute-form is its authority", "GET", "http://localhost:8188/x", H10, &[], Ok(Rule::SafeMethod)),
        ("RFC 9112 §3.2: HTTP/1.0 absolute-form to a rebinding name", "GET", "http://evil.com:8188/x", H10, &[], Err(HostNotAllowed)),
    ];
    run(&local, rows);
    // Without a host allowlist the mismatch is refused all the same.
    let default = Policy::default();
    #[rustfmt::skip]
    let rows: &[Row] = &[
        ("RFC 9112 §3.2.2 (guard): with or without an allowlist", "POST", "http://localhost:8188/api/prompt", H11, &[("host", "evil.com:8188"), ("sec-fetch-site", "same-origin")], Err(HostMismatch)),
        ("RFC 9112 §3.2: absolute-form without Host, default preset", "POST", "http://localhost:8188/api/prompt", H11, &[("sec-fetch-site", "same-origin")], Err(MissingHost)),
    ];
    run(&default, rows);
    assert_eq!(HostMismatch.status(), StatusCode::BAD_REQUEST);
    assert_eq!(HostMismatch.reason(), "host_mismatch");
    assert_eq!(HostMismatch.rule(), Rule::Host);

    // The standalone verifier holds a handshake to the same rule (RFC 6455 §4.2.1 item 2).
    let handshake = head(
        "GET",
        "http://localhost:8188/ws",
        H11,
        &[
            ("upgrade", "websocket"),
            ("connection", "upgrade"),
            ("sec-websocket-key", KEY),
            ("sec-websocket-version", "13"),
        ],
    );
    assert_eq!(
        verify(
            &RequestHead::from_request(&handshake),
            &WebSocketConfig::default()
        ),
        Err(MissingHost)
    );
}

/// Item 3: whenever the Origin can change a safe request's verdict, `Vary` names it.
#[tokio::test]
async fn vary_names_origin_when_it_can_change_the_verdict() {
    let inner = tower::service_fn(|_req: Request<String>| async {
        Ok::<_, Infallible>(Response::new(String::from("ok")))
    });
    let cors_get = |origin: &str| {
        Request::get("/view?file=a.png")
            .header("host", "localhost:8188")
            .header("origin", origin)
            .header("sec-fetch-site", "cross-site")
            .header("sec-fetch-mode", "cors")
            .header("sec-fetch-dest", "empty")
            .body(String::new())
            .unwrap()
    };
    let vary = |response: &Response<String>| {
        response
            .headers()
            .get_all("vary")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let trusting = GuardLayer::new(
        Policy::local()
            .allow_origin("https://app.example")
            .build()
            .unwrap(),
    )
    .layer(inner);
    let allowed = trusting
        .clone()
        .oneshot(cors_get("https://app.example"))
        .await
        .unwrap();
    let refused = trusting
        .oneshot(cors_get("https://evil.example"))
        .await
        .unwrap();
    assert_eq!(allowed.status(), StatusCode::OK, "origin_allowlist");
    assert_eq!(
        refused.status(),
        StatusCode::FORBIDDEN,
        "cross_site_resource"
    );
    // RFC 9110 §12.5.5: both answers say they depend on Origin, so no shared cache mixes them.
    for response in [&allowed, &refused] {
        assert_eq!(
            vary(response),
            ["Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest, Origin"]
        );
    }
    // Without an origin allowlist the Origin cannot change a safe request's verdict.
    let plain = GuardLayer::new(Policy::local().build().unwrap()).layer(inner);
    let refused = plain
        .oneshot(cors_get("https://app.example"))
        .await
        .unwrap();
    assert_eq!(
        vary(&refused),
        ["Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest"]
    );
    // Without resource isolation safe requests do not depend on these fields at all.
    let off = GuardLayer::new(
        Policy::builder()
            .allow_origin("https://app.example")
            .build()
            .unwrap(),
    )
    .layer(inner);
    let allowed = off.oneshot(cors_get("https://evil.example")).await.unwrap();
    assert!(vary(&allowed).is_empty());
}

/// Item 8: `loopback:PORT` is loopback on that port only, never a host named `loopback`.
#[test]
fn loopback_with_a_port() {
    let mut hosts = HostAllowlist::new();
    hosts.push("loopback:8188").unwrap();
    let allows = |h: &str| hosts.allows(&HostPort::parse(h.as_bytes()).unwrap());
    #[rustfmt::skip]
    let rows: &[(&str, &str, bool)] = &[
        ("RFC 6761 §6.3: localhost on the port", "localhost:8188", true),
        ("RFC 1122 §3.2.1.3: 127.0.0.0/8 on the port", "127.0.0.2:8188", true),
        ("RFC 4291 §2.5.3: ::1 on the port", "[::1]:8188", true),
        ("RFC 6761 §6.3: *.localhost on the port", "app.localhost:8188", true),
        ("another port is refused", "localhost:8189", false),
        ("no port means 80 (HTTP/1.1 default)", "localhost", false),
        ("a name is not loopback", "loopback:8188", false),
        ("a rebinding name on the port", "evil.example:8188", false),
    ];
    for (source, host, want) in rows {
        assert_eq!(allows(host), *want, "{source}: {host}");
    }
    for (entry, why) in [
        ("loopback:0", HostMistake::InvalidPort),
        ("loopback:08188", HostMistake::InvalidPort),
        ("loopback:", HostMistake::InvalidPort),
    ] {
        let err = Policy::builder().allow_host(entry).build().unwrap_err();
        assert_eq!(
            err,
            ConfigError::InvalidHost {
                entry: entry.to_owned(),
                why
            },
            "{entry}"
        );
    }
    let policy = Policy::builder()
        .allow_host("loopback:8188")
        .build()
        .unwrap();
    let request = head("GET", "/", H11, &[("host", "127.0.0.1:8188")]);
    assert_eq!(decide(&policy, &request), Ok(Rule::SafeMethod));
    let request = head("GET", "/", H11, &[("host", "127.0.0.1:9999")]);
    assert_eq!(decide(&policy, &request), Err(Rejection::HostNotAllowed));
}

/// Item 9: a wildcard whose base is a public suffix would trust every site under it.
#[test]
fn public_suffix_wildcards_do_not_build() {
    #[rustfmt::skip]
    let origins: &[(&str, &str)] = &[
        ("PSL ICANN section: com", "https://*.com"),
        ("PSL ICANN section: co.uk", "https://*.co.uk"),
        ("PSL private section: github.io", "https://*.github.io"),
        ("PSL: upper case is the same suffix", "https://*.CO.UK"),
    ];
    for (source, entry) in origins {
        let err = Policy::builder().allow_origin(*entry).build().unwrap_err();
        assert_eq!(
            err,
            ConfigError::InvalidOrigin {
                entry: (*entry).to_owned(),
                why: OriginMistake::WildcardOnPublicSuffix
            },
            "{source}"
        );
        assert!(err.to_string().contains("public suffix"), "{err}");
    }
    for (source, entry) in [
        ("PSL: com", ".com"),
        ("PSL: co.uk", ".co.uk"),
        ("PSL: github.io", ".github.io"),
    ] {
        let err = Policy::builder().allow_host(entry).build().unwrap_err();
        assert_eq!(
            err,
            ConfigError::InvalidHost {
                entry: entry.to_owned(),
                why: HostMistake::DomainIsPublicSuffix
            },
            "{source}"
        );
    }
    // Registrable domains, and names the list does not know (the user's own), build.
    for entry in [
        "https://*.example.com",
        "https://*.user.github.io",
        "https://*.localhost",
        "http://*.internal:8080",
    ] {
        assert!(
            Policy::builder().allow_origin(entry).build().is_ok(),
            "{entry}"
        );
    }
    for entry in [
        ".example.com",
        ".example.co.uk",
        ".localhost",
        ".home.arpa.example",
    ] {
        assert!(
            Policy::builder().allow_host(entry).build().is_ok(),
            "{entry}"
        );
    }
}

/// Mutation testing found these untested: each assertion fails for one surviving mutant.
#[test]
fn allowlist_entries_and_boundaries() {
    // An IPv4 entry admits that address only (HostBuf::matches, IPv4 arm).
    let mut hosts = HostAllowlist::new();
    assert!(hosts.is_empty());
    hosts.push("192.168.1.5").unwrap();
    assert!(!hosts.is_empty());
    let allows =
        |hosts: &HostAllowlist, h: &str| hosts.allows(&HostPort::parse(h.as_bytes()).unwrap());
    assert!(allows(&hosts, "192.168.1.5:8188"));
    assert!(!allows(&hosts, "192.168.1.6"));
    assert!(!allows(&hosts, "10.0.0.1"));
    assert!(!allows(&hosts, "[::ffff:192.168.1.5]"));
    let mut v6 = HostAllowlist::new();
    v6.push("[fd00::5]").unwrap();
    assert!(allows(&v6, "[fd00:0::5]:1"));
    assert!(!allows(&v6, "[fd00::6]"));
    assert!(!allows(&v6, "192.168.1.5"));

    // Entries that are not hosts do not build.
    for (entry, why) in [
        ("example.com/path", HostMistake::Url),
        ("http://example.com", HostMistake::Url),
        ("*.example.com", HostMistake::Wildcard),
        ("::1", HostMistake::NotHostPort),
        ("local host", HostMistake::NotAHost),
        (".", HostMistake::DomainNeedsName),
    ] {
        assert_eq!(
            HostAllowlist::new().push(entry),
            Err(ConfigError::InvalidHost {
                entry: entry.to_owned(),
                why
            }),
            "{entry}"
        );
    }

    // Origin schemes: RFC 3986 §3.1, a letter then letters, digits, `+`, `-`, `.`.
    for bad in [
        "1http://example.com",
        "ht_tp://example.com",
        "://example.com",
        "h@://example.com",
    ] {
        assert_eq!(
            Origin::parse(bad.as_bytes()),
            Err(Rejection::MalformedOrigin),
            "{bad}"
        );
    }
    assert!(Origin::parse(b"h+t.t-p2://example.com").is_ok());
    let mut origins = OriginAllowlist::new();
    assert!(origins.is_empty());
    origins.push("null").unwrap();
    assert!(!origins.is_empty());

    // RFC 1035 §2.3.1: no empty label, leading, inner or (after the one root dot) trailing.
    for bad in [".example.com", "a..b", "example.com..", "..", "[::1]."] {
        assert_eq!(
            HostPort::parse(bad.as_bytes()),
            Err(Rejection::MalformedHost),
            "{bad}"
        );
    }
    assert!(HostPort::parse(b"a.b.").is_ok());

    // Length caps are inclusive: a value of exactly the cap is accepted, one byte more is not.
    let name = "a".repeat(MAX_HOST_LEN);
    assert!(
        HostPort::parse(name.as_bytes()).is_ok(),
        "RFC 1035 §2.3.4: 253 bytes"
    );
    assert_eq!(
        HostPort::parse(format!("{name}a").as_bytes()),
        Err(Rejection::MalformedHost)
    );
    let authority = format!("{name}.:65535");
    assert_eq!(authority.len(), MAX_AUTHORITY_LEN);
    assert_eq!(
        HostPort::parse(authority.as_bytes()).unwrap().port(),
        Some(65535)
    );
    assert_eq!(
        HostPort::parse(format!("{name}.:065535").as_bytes()),
        Err(Rejection::MalformedHost)
    );
    let scheme = "x".repeat(MAX_ORIGIN_LEN - "://h".len());
    let origin = format!("{scheme}://h");
    assert_eq!(origin.len(), MAX_ORIGIN_LEN);
    assert!(Origin::parse(origin.as_bytes()).is_ok());
    assert_eq!(
        Origin::parse(format!("x{origin}").as_bytes()),
        Err(Rejection::MalformedOrigin)
    );
}

/// Accessors no test read before.
#[test]
fn accessors() {
    let request = head(
        "GET",
        "/chat",
        H11,
        &[
            ("host", "server.example.com"),
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
            ("sec-websocket-key", KEY),
            ("sec-websocket-version", "13"),
            ("sec-websocket-extensions", "permessage-deflate"),
        ],
    );
    let verdict = Policy::default()
        .check(&RequestHead::from_request(&request))
        .unwrap();
    let handshake = verdict.clone().into_handshake().unwrap();
    assert_eq!(Some(&handshake), verdict.handshake());
    assert_eq!(
        handshake.accept().unwrap().as_str(),
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
    );
    assert_eq!(
        handshake.deflate().unwrap().to_string(),
        "permessage-deflate"
    );
    let plain = head("GET", "/", H11, &[("host", "a")]);
    assert_eq!(
        Policy::default()
            .check(&RequestHead::from_request(&plain))
            .unwrap()
            .into_handshake(),
        None
    );

    let config = WebSocketConfig::new(
        &["chat"],
        Some(DeflateConfig::default().server_max_window_bits(12)),
    )
    .unwrap();
    assert_eq!(
        config.deflate(),
        Some(&DeflateConfig::default().server_max_window_bits(12))
    );
    assert_eq!(
        WebSocketConfig::new::<&str>(&[], None).unwrap().deflate(),
        None
    );
    assert_eq!(config.protocols(), ["chat"]);
    assert_eq!(Policy::default().websocket(), &WebSocketConfig::default());
    let chat = Policy::builder()
        .websocket_protocol("chat")
        .report_only(true)
        .build()
        .unwrap();
    assert_eq!(chat.websocket().protocols(), ["chat"]);
    assert!(chat.is_report_only());
    assert!(!Policy::default().is_report_only());
    let debug = format!("{chat:?}");
    for field in [
        "Policy",
        "report_only: true",
        "bypass: false",
        "hosts: None",
        "\"chat\"",
    ] {
        assert!(debug.contains(field), "{field} in {debug}");
    }
}

/// An inner service that is never ready, or fails to get ready.
#[derive(Clone, Debug)]
struct NotReady(bool);

impl Service<Request<String>> for NotReady {
    type Response = Response<String>;
    type Error = &'static str;
    type Future = Ready<Result<Response<String>, &'static str>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        if self.0 {
            Poll::Ready(Err("inner failed"))
        } else {
            Poll::Pending
        }
    }

    fn call(&mut self, _request: Request<String>) -> Self::Future {
        ready(Ok(Response::new(String::new())))
    }
}

/// tower's contract (tower-http does the same): `poll_ready` asks the inner service, so
/// back-pressure and readiness errors pass through the guard.
#[test]
fn poll_ready_delegates_to_the_inner_service() {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let mut pending = GuardLayer::new(Policy::default()).layer(NotReady(false));
    assert!(pending.poll_ready(&mut cx).is_pending());
    let mut failing = GuardLayer::new(Policy::default()).layer(NotReady(true));
    assert_eq!(
        failing.poll_ready(&mut cx),
        Poll::Ready(Err("inner failed"))
    );
}

/// Polling a finished response future is a caller bug, reported with a message (as tower-http's
/// futures do), not a silent hang.
#[test]
fn response_future_polled_after_completion_panics() {
    let inner = tower::service_fn(|_req: Request<String>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    let mut guard = GuardLayer::new(Policy::default()).layer(inner);
    let attack = Request::post("/")
        .header("host", "a")
        .header("sec-fetch-site", "cross-site")
        .body(String::new())
        .unwrap();
    let mut future = Box::pin(guard.call(attack));
    let mut cx = Context::from_waker(std::task::Waker::noop());
    let Poll::Ready(Ok(response)) = future.as_mut().poll(&mut cx) else {
        panic!("a rejection is ready at once")
    };
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = future.as_mut().poll(&mut cx);
    }));
    let message = again.unwrap_err();
    let text = message.downcast_ref::<&str>().copied().unwrap_or_default();
    assert_eq!(text, "crossguard ResponseFuture polled after completion");
}

/// (source, :protocol, Origin, status, agreed extension, rule)
#[cfg(feature = "hyper")]
type ConnectRow<'a> = (
    &'static str,
    &'static str,
    Option<&'a str>,
    u16,
    Option<&'static str>,
    &'static str,
);

/// Item 12: RFC 8441 over a real hyper HTTP/2 connection (`enable_connect_protocol`), the
/// `:protocol` read from hyper's extension by the `hyper` feature.
#[cfg(feature = "hyper")]
#[tokio::test]
async fn rfc8441_extended_connect_through_hyper_http2() {
    use http_body_util::{BodyExt as _, Empty, Full};
    use hyper::body::{Bytes, Incoming};
    use hyper::ext::Protocol;
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::service::TowerToHyperService;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let inner = tower::service_fn(|request: Request<Incoming>| async move {
        // Only a handshake carries a verdict: `x-rule: none` for anything else.
        let verdict = request.extensions().get::<crossguard::Verdict>().cloned();
        let mut response = Response::new(Full::<Bytes>::default());
        let rule = verdict.as_ref().map_or("none", |v| v.rule().as_str());
        response
            .headers_mut()
            .insert("x-rule", rule.parse().unwrap());
        if let Some(handshake) = verdict.as_ref().and_then(|v| v.handshake()) {
            *response.status_mut() = handshake.status();
            response.headers_mut().extend(handshake.response_headers());
        }
        Ok::<_, Infallible>(response)
    });
    let service = GuardLayer::new(Policy::default()).layer(inner);
    let server = tokio::spawn(async move {
        let (stream, _) = listener.accept().await.unwrap();
        let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
        builder.enable_connect_protocol();
        let _ = builder
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .await;
    });
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    let client = tokio::spawn(connection);

    let connect = |protocol: &'static str, origin: Option<&str>| {
        let mut builder = Request::builder()
            .method(Method::CONNECT)
            .version(H2)
            .uri(format!("http://127.0.0.1:{port}/ws"))
            .header("sec-websocket-version", "13")
            .header(
                "sec-websocket-extensions",
                "permessage-deflate; client_max_window_bits",
            )
            .extension(Protocol::from_static(protocol));
        if let Some(origin) = origin {
            builder = builder.header("origin", origin);
        }
        builder.body(Empty::<Bytes>::new()).unwrap()
    };
    let own = format!("http://127.0.0.1:{port}");
    #[rustfmt::skip]
    let rows: &[ConnectRow<'_>] = &[
        ("RFC 8441 §5: same-origin websocket CONNECT → 200 with the agreed extension", "websocket", Some(&own), 200, Some("permessage-deflate"), "websocket_origin"),
        ("RFC 8441 §5 + RFC 6455 §10.2: cross-origin websocket CONNECT → 403", "websocket", Some("http://evil.example"), 403, None, ""),
        ("RFC 8441 §4: another :protocol is not a WebSocket: passed through, no verdict", "xyzzy", None, 200, None, "none"),
    ];
    for (source, protocol, origin, status, extension, rule) in rows {
        sender.ready().await.unwrap();
        let response = sender
            .send_request(connect(protocol, *origin))
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), *status, "{source}");
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
        };
        assert_eq!(
            header("sec-websocket-extensions").as_deref(),
            *extension,
            "{source}"
        );
        assert_eq!(
            header("sec-websocket-accept"),
            None,
            "{source}: no accept over HTTP/2"
        );
        if *status == 200 {
            assert_eq!(header("x-rule").as_deref(), Some(*rule), "{source}");
        } else {
            let body = response.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, "crossguard: cross_site_websocket\n", "{source}");
        }
    }
    drop(sender);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), client).await;
    server.abort();
}

/// threat-model.md: a `Referrer-Policy: no-referrer` page on plain HTTP under a non-loopback name
/// sends `Origin: null` on its own POSTs (Fetch Standard, serializing a request origin) and no
/// Fetch Metadata; it is refused, as Go's CrossOriginProtection refuses it. Over HTTPS the
/// browser's `Sec-Fetch-Site: same-origin` decides instead.
#[test]
fn no_referrer_page_on_plain_http_is_refused() {
    let policy = Policy::default();
    #[rustfmt::skip]
    let rows: &[Row] = &[
        ("Go csrf_test.go: Origin null without Sec-Fetch-Site", "POST", "/api/prompt", H11, &[("host", "myhost.lan:8188"), ("origin", "null")], Err(Rejection::NullOrigin)),
        ("Fetch Metadata decides over HTTPS", "POST", "/api/prompt", H11, &[("host", "myhost.lan:8188"), ("origin", "null"), ("sec-fetch-site", "same-origin")], Ok(Rule::SecFetchSite)),
    ];
    run(&policy, rows);
}

/// Handshake detection needs a handshake's own fields: `Sec-WebSocket-Version` alone makes a
/// handshake only of an HTTP/2 (or HTTP/3) CONNECT whose `:protocol` is unknown.
#[test]
fn sec_websocket_version_alone_is_not_a_handshake() {
    use crossguard::websocket::is_handshake;
    #[rustfmt::skip]
    let rows: &[(&str, &str, Version, bool)] = &[
        ("RFC 6455 §4.2.1: an HTTP/1.1 GET with only the version field", "GET", H11, false),
        ("RFC 6455 §4.2.1: an HTTP/1.1 CONNECT with only the version field", "CONNECT", H11, false),
        ("RFC 8441 §4: an HTTP/2 GET is never an extended CONNECT", "GET", H2, false),
        ("RFC 8441 §4: an HTTP/2 CONNECT with the version, :protocol unknown (fail closed)", "CONNECT", H2, true),
    ];
    for (source, method, version, want) in rows {
        let uri = if *method == "CONNECT" && *version == H11 {
            "localhost:8188"
        } else {
            "http://localhost:8188/ws"
        };
        let request = head(
            method,
            uri,
            *version,
            &[("host", "localhost:8188"), ("sec-websocket-version", "13")],
        );
        assert_eq!(
            is_handshake(&RequestHead::from_request(&request)),
            *want,
            "{source}"
        );
    }
}

/// Builder steps keep what was set before them; the layer and the builder say what they hold.
#[test]
fn builder_steps_and_debug() {
    let cross_site_image = head(
        "GET",
        "/view",
        H11,
        &[
            ("host", "evil.example"),
            ("sec-fetch-site", "cross-site"),
            ("sec-fetch-mode", "no-cors"),
            ("sec-fetch-dest", "image"),
        ],
    );
    // `any_host` drops the Host allowlist only: resource isolation (from `local`) stays on.
    let any_host = Policy::local().any_host().build().unwrap();
    assert_eq!(
        decide(&any_host, &cross_site_image),
        Err(Rejection::CrossSiteResource)
    );
    let plain = head("GET", "/", H11, &[("host", "evil.example")]);
    assert_eq!(decide(&any_host, &plain), Ok(Rule::SafeMethod));
    // `deflate(None)` declines compression and keeps the rest.
    let offer = head(
        "GET",
        "/chat",
        H11,
        &[
            ("host", "server.example.com"),
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
            ("sec-websocket-key", KEY),
            ("sec-websocket-version", "13"),
            ("sec-websocket-protocol", "chat"),
            ("sec-websocket-extensions", "permessage-deflate"),
        ],
    );
    let no_deflate = Policy::builder()
        .websocket_protocol("chat")
        .deflate(None)
        .build()
        .unwrap();
    let verdict = no_deflate
        .check(&RequestHead::from_request(&offer))
        .unwrap();
    let handshake = verdict.handshake().unwrap();
    assert_eq!(handshake.deflate(), None);
    assert_eq!(handshake.protocol(), Some("chat"));

    let builder = format!(
        "{:?}",
        Policy::local()
            .allow_origin("https://app.example")
            .report_only(true)
    );
    for field in [
        "PolicyBuilder",
        "\"loopback\"",
        "\"https://app.example\"",
        "report_only: true",
        "resource_isolation: true",
    ] {
        assert!(builder.contains(field), "{field} in {builder}");
    }
    let layer = GuardLayer::new(Policy::builder().report_only(true).build().unwrap());
    assert!(layer.policy().is_report_only());
    let debug = format!("{layer:?}");
    assert!(
        debug.starts_with("GuardLayer")
            && debug.contains("report_only: true")
            && debug.contains("reporter: false"),
        "{debug}"
    );
    let guard = layer.layer(NotReady(false));
    let debug = format!("{guard:?}");
    assert!(
        debug.starts_with("Guard {") && debug.contains("inner: NotReady(false)"),
        "{debug}"
    );
}
