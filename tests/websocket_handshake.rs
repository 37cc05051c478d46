//! WebSocket opening handshakes (RFC 6455 §4.2.1, RFC 8441, RFC 9220) through `websocket::verify`,
//! `Policy::check` and the tower layer, and the Origin rule for handshakes (cross-site
//! WebSocket hijacking).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    // Table rows are tuples.
    clippy::type_complexity
)]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::support::{
    ACCEPT, Fields, HandshakeRow, KEY, SAMPLE, Want, check_rejection, check_rows, sample_handshake,
};
use axum::extract::ws::WebSocketUpgrade;
use axum::routing::get;
use axum::{Extension, Router};
use crossguard::__internals::{MAX_PROTOCOL_HEADER_LEN, MAX_PROTOCOLS};
use crossguard::websocket::{
    DeflateConfig, Handshake, WebSocketConfig, is_handshake, select_protocol, verify,
};
use crossguard::{GuardLayer, Policy, Rejection, RequestHead, Rule, Verdict};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Version};
use http_body_util::BodyExt as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tower::{Layer as _, ServiceExt as _};

const GET: Method = Method::GET;
const H11: Version = Version::HTTP_11;

/// Handshake rows whose verdict is the same for `verify` and for `Policy::default().check`
/// (no Origin in play: a non-browser client).
#[rustfmt::skip]
const HANDSHAKE_ROWS: &[HandshakeRow] = &[
    ("RFC 6455 §1.2: the sample handshake", GET, H11, &[], &[], Ok(())),
    // --- Sec-WebSocket-Key (RFC 6455 §4.2.1 item 5)
    ("RFC 6455 §4.2.1 item 5: empty key", GET, H11, &[], &[("sec-websocket-key", "")], Err((Rejection::InvalidWebSocketKey, 400))),
    ("RFC 6455 §4.2.1 item 5: missing key", GET, H11, &["sec-websocket-key"], &[], Err((Rejection::InvalidWebSocketKey, 400))),
    ("RFC 6455 §4.2.1 item 5: base64 of a 12-byte nonce", GET, H11, &[], &[("sec-websocket-key", "AAECAwQFBgcICQoL")], Err((Rejection::InvalidWebSocketKey, 400))),
    ("RFC 6455 §4.2.1 item 5: base64 of a 20-byte nonce", GET, H11, &[], &[("sec-websocket-key", "AAECAwQFBgcICQoLDA0ODxAREhM=")], Err((Rejection::InvalidWebSocketKey, 400))),
    ("RFC 6455 §11.3.1: Sec-WebSocket-Key MUST NOT appear more than once", GET, H11, &[], &[("sec-websocket-key", KEY), ("sec-websocket-key", KEY)], Err((Rejection::InvalidWebSocketKey, 400))),
    ("RFC 6455 §11.3.1: two different keys", GET, H11, &[], &[("sec-websocket-key", KEY), ("sec-websocket-key", "AAECAwQFBgcICQoLDA0ODw==")], Err((Rejection::InvalidWebSocketKey, 400))),
    // --- Connection (RFC 6455 §4.2.1 item 4)
    ("RFC 6455 §4.2.1 item 4: `notupgrade` is not the `upgrade` token", GET, H11, &[], &[("connection", "notupgrade")], Err((Rejection::WebSocketConnection, 400))),
    ("RFC 6455 §4.2.1 item 4: missing Connection", GET, H11, &["connection"], &[], Err((Rejection::WebSocketConnection, 400))),
    ("RFC 6455 §4.2.1 item 4: `Connection: keep-alive` only", GET, H11, &[], &[("connection", "keep-alive")], Err((Rejection::WebSocketConnection, 400))),
    ("RFC 9110 §5.3: `keep-alive` and `Upgrade` on two field lines form one list", GET, H11, &[], &[("connection", "keep-alive"), ("connection", "Upgrade")], Ok(())),
    ("peer: Firefox sends `Connection: keep-alive, Upgrade`", GET, H11, &[], &[("connection", "keep-alive, Upgrade")], Ok(())),
    ("RFC 9110 §7.6.1: connection options are case-insensitive", GET, H11, &[], &[("connection", "UPGRADE")], Ok(())),
    // --- Upgrade (RFC 6455 §4.2.1 item 3)
    ("RFC 6455 §4.2.1 item 3: `websocket` is ASCII case-insensitive", GET, H11, &[], &[("upgrade", "WebSocket")], Ok(())),
    ("RFC 9110 §7.8: Upgrade is a list", GET, H11, &[], &[("upgrade", "foo/2, websocket")], Ok(())),
    // --- Sec-WebSocket-Version (RFC 6455 §4.2.1 item 6, §4.4)
    ("RFC 6455 §4.4: version 8 is answered 426", GET, H11, &[], &[("sec-websocket-version", "8")], Err((Rejection::UnsupportedWebSocketVersion, 426))),
    ("RFC 6455 §4.2.1 item 6: a list `13, 8` is not the value 13", GET, H11, &[], &[("sec-websocket-version", "13, 8")], Err((Rejection::UnsupportedWebSocketVersion, 426))),
    ("RFC 6455 §4.1: version is a decimal `13`, not `0x0D`", GET, H11, &[], &[("sec-websocket-version", "0x0D")], Err((Rejection::UnsupportedWebSocketVersion, 426))),
    ("RFC 6455 §4.1: no leading zero (`013`)", GET, H11, &[], &[("sec-websocket-version", "013")], Err((Rejection::UnsupportedWebSocketVersion, 426))),
    ("RFC 9110 §5.5: http::HeaderValue keeps ` 13` as is (hyper's parser would strip the OWS); verify compares exactly", GET, H11, &[], &[("sec-websocket-version", " 13")], Err((Rejection::UnsupportedWebSocketVersion, 426))),
    ("RFC 6455 §11.3.5: Sec-WebSocket-Version repeated (even `13` twice)", GET, H11, &[], &[("sec-websocket-version", "13"), ("sec-websocket-version", "13")], Err((Rejection::UnsupportedWebSocketVersion, 426))),
    ("RFC 6455 §4.2.1 item 6: missing version", GET, H11, &["sec-websocket-version"], &[], Err((Rejection::UnsupportedWebSocketVersion, 426))),
    // --- Method, HTTP version, Host (RFC 6455 §4.2.1 items 1-2)
    ("RFC 6455 §4.2.1 item 1: HTTP/1.1 or higher", GET, Version::HTTP_10, &[], &[], Err((Rejection::WebSocketHttpVersion, 400))),
    ("RFC 6455 §4.2.1 item 1: HTTP/0.9", GET, Version::HTTP_09, &[], &[], Err((Rejection::WebSocketHttpVersion, 400))),
    ("RFC 6455 §4.2.1 item 1 + RFC 9110 §15.5.6: a POST with `Upgrade: websocket` is 405", Method::POST, H11, &[], &[], Err((Rejection::WebSocketMethodNotAllowed, 405))),
    ("verify doc: method is checked before the key (first failing check in table order)", Method::PUT, H11, &["sec-websocket-key"], &[], Err((Rejection::WebSocketMethodNotAllowed, 405))),
    ("RFC 6455 §4.2.1 item 2 + RFC 9112 §3.2: HTTP/1.1 without Host", GET, H11, &["host"], &[], Err((Rejection::MissingHost, 400))),
    ("RFC 9112 §3.2: two Host lines", GET, H11, &[], &[("host", "server.example.com"), ("host", "server.example.com")], Err((Rejection::DuplicateHost, 400))),
    // --- Sec-WebSocket-Protocol (RFC 6455 §4.1 item 10, §11.3.4)
    ("RFC 6455 §4.1 item 10: elements must be tokens (`\"x\"`); empty elements are tolerated (RFC 9110 §5.6.1)", GET, H11, &[], &[("sec-websocket-protocol", "chat,, \"x\"")], Err((Rejection::MalformedWebSocketProtocol, 400))),
    ("RFC 6455 §4.1 item 10: each value MUST be unique", GET, H11, &[], &[("sec-websocket-protocol", "chat, chat")], Err((Rejection::MalformedWebSocketProtocol, 400))),
    ("RFC 6455 §4.1 item 10 + RFC 9110 §5.3: duplicates across field lines", GET, H11, &[], &[("sec-websocket-protocol", "chat"), ("sec-websocket-protocol", "chat")], Err((Rejection::MalformedWebSocketProtocol, 400))),
    ("RFC 9110 §5.6.1: empty elements are tolerated", GET, H11, &[], &[("sec-websocket-protocol", ", chat,,superchat ,")], Ok(())),
    // --- Sec-WebSocket-Extensions (RFC 6455 §9.1)
    ("RFC 6455 §9.1: `permessage-deflate;` breaks the grammar", GET, H11, &[], &[("sec-websocket-extensions", "permessage-deflate;")], Err((Rejection::MalformedWebSocketExtensions, 400))),
    ("RFC 7692 §5.1: an unacceptable offer is declined, not rejected", GET, H11, &[], &[("sec-websocket-extensions", "permessage-deflate; server_max_window_bits=16")], Ok(())),
];

#[test]
fn verify_table() {
    let config = WebSocketConfig::default();
    check_rows(
        HANDSHAKE_ROWS,
        |(source, method, version, remove, set, want)| {
            let request = sample_handshake(method.clone(), *version, remove, set);
            let head = RequestHead::from_request(&request);
            assert!(is_handshake(&head), "{source}: is_handshake");
            match (verify(&head, &config), want) {
                (Ok(handshake), Ok(())) => {
                    assert_eq!(handshake.accept().unwrap().as_str(), ACCEPT, "{source}");
                    assert_eq!(
                        handshake.status(),
                        StatusCode::SWITCHING_PROTOCOLS,
                        "{source}"
                    );
                }
                (Err(got), Err(want)) => check_rejection(source, got, *want),
                (got, want) => panic!("{source}: want {want:?}, got {got:?}"),
            }
        },
    );
}

#[test]
fn policy_table() {
    let policy = Policy::default();
    check_rows(
        HANDSHAKE_ROWS,
        |(source, method, version, remove, set, want)| {
            let request = sample_handshake(method.clone(), *version, remove, set);
            match (crate::support::check(&policy, &request), want) {
                (Ok(verdict), Ok(())) => {
                    assert_eq!(verdict.rule(), Rule::NonBrowser, "{source}");
                    assert_eq!(verdict.reported(), None, "{source}");
                    let handshake = verdict.handshake().expect(source);
                    assert_eq!(handshake.accept().unwrap().as_str(), ACCEPT, "{source}");
                }
                (Err(got), Err(want)) => {
                    check_rejection(source, got, *want);
                    // Reason codes are part of the public contract (docs/policy.md).
                    assert_eq!(got.rule(), expected_rule(got), "{source}");
                }
                (got, want) => panic!("{source}: want {want:?}, got {got:?}"),
            }
        },
    );
}

/// The rule each rejection in these tables is attributed to (crate doc of `Rejection`).
fn expected_rule(rejection: Rejection) -> Rule {
    match rejection {
        Rejection::MissingHost | Rejection::DuplicateHost | Rejection::MalformedHost => Rule::Host,
        Rejection::CrossSiteWebSocket | Rejection::MissingOrigin => Rule::WebSocketOrigin,
        Rejection::NullOrigin => Rule::Origin,
        Rejection::DuplicateHeader(_) | Rejection::MalformedOrigin => Rule::HeaderSyntax,
        _ => Rule::WebSocketHandshake,
    }
}

#[test]
fn verify_and_policy_differ_on_non_handshakes() {
    // A request with no WebSocket field is not a handshake: `verify` refuses it, while the policy
    // treats it as an ordinary GET.
    let plain = sample_handshake(
        GET,
        H11,
        &[
            "upgrade",
            "sec-websocket-key",
            "sec-websocket-version",
            "sec-websocket-protocol",
        ],
        &[],
    );
    let head = RequestHead::from_request(&plain);
    assert!(!is_handshake(&head), "RFC 6455 §4.2.1 item 3");
    assert_eq!(
        verify(&head, &WebSocketConfig::default()),
        Err(Rejection::WebSocketUpgrade),
        "RFC 6455 §4.2.1 item 3: Upgrade must hold websocket"
    );
    assert_eq!(
        Rejection::WebSocketUpgrade.status(),
        StatusCode::BAD_REQUEST
    );
    let verdict = Policy::default().check(&head).unwrap();
    assert_eq!(verdict.rule(), Rule::SafeMethod, "policy: a plain GET");
    assert_eq!(verdict.handshake(), None);

    // `Upgrade: h2c` is another protocol: not a handshake either.
    let h2c = sample_handshake(GET, H11, &["sec-websocket-key"], &[("upgrade", "h2c")]);
    let head = RequestHead::from_request(&h2c);
    assert!(!is_handshake(&head), "RFC 9110 §7.8: h2c is not websocket");
    assert_eq!(
        verify(&head, &WebSocketConfig::default()),
        Err(Rejection::WebSocketUpgrade)
    );
}

/// Near-handshakes fail closed: an inner server that matches `websocket` as a substring (actix
/// does) or upgrades on `Sec-WebSocket-Key` alone would upgrade them, so they are judged as
/// handshakes: validated, Origin-checked, refused when malformed.
#[test]
fn near_handshakes_are_judged_as_handshakes() {
    const CROSS: (&str, &str) = ("origin", "https://evil.example");
    #[rustfmt::skip]
    let rows: &[(&str, &[&str], Fields, Rejection)] = &[
        ("fail closed: Sec-WebSocket-Key without Upgrade", &["upgrade"], &[CROSS], Rejection::WebSocketUpgrade),
        ("fail closed: Upgrade: websocket/13 (a product version is not the token)", &[], &[("upgrade", "websocket/13"), CROSS], Rejection::WebSocketUpgrade),
        ("fail closed: Upgrade: \"websocket\" (quoted)", &[], &[("upgrade", "\"websocket\""), CROSS], Rejection::WebSocketUpgrade),
        ("fail closed: Upgrade: x-websocket, no key", &["sec-websocket-key"], &[("upgrade", "x-websocket")], Rejection::WebSocketUpgrade),
        ("fail closed: a valid near-handshake is Origin-checked", &[], &[CROSS], Rejection::CrossSiteWebSocket),
    ];
    check_rows(rows, |(source, remove, set, want)| {
        let near = sample_handshake(GET, H11, remove, set);
        let head = RequestHead::from_request(&near);
        assert!(is_handshake(&head), "{source}");
        assert_eq!(
            Policy::default().check(&head).map(|v| v.rule()),
            Err(*want),
            "{source}"
        );
    });
}

fn request_with(method: Method, version: Version, set: &[(&str, &str)]) -> Request<()> {
    sample_handshake(method, version, &[], set)
}

#[test]
fn leading_space_is_kept_by_http() {
    // Documents the ` 13` row: http::HeaderValue does not trim, so the value reaching crossguard
    // from a hand-built request is ` 13` (hyper's HTTP/1 parser strips OWS before this point).
    let request = request_with(GET, H11, &[("sec-websocket-version", " 13")]);
    assert_eq!(request.headers()["sec-websocket-version"], " 13");
}

// ---------------------------------------------------------------------------------------------
// HTTP/2 and HTTP/3 extended CONNECT (RFC 8441, RFC 9220)
// ---------------------------------------------------------------------------------------------

fn connect(version: Version, headers: &[(&str, &str)]) -> Request<()> {
    let mut builder = Request::builder()
        .version(version)
        .method(Method::CONNECT)
        .uri("https://example.com/chat");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap()
}

#[test]
fn extended_connect_table() {
    let h2_get_with_upgrade = Request::builder()
        .version(Version::HTTP_2)
        .uri("https://example.com/chat")
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-key", KEY)
        .header("sec-websocket-version", "13")
        .body(())
        .unwrap();
    #[rustfmt::skip]
    let rows: &[(&str, Request<()>, Option<&str>, Want<Rule>)] = &[
        ("RFC 8441 §5: extended CONNECT with :protocol websocket", connect(Version::HTTP_2, &[("sec-websocket-version", "13")]), Some("websocket"), Ok(Rule::NonBrowser)),
        ("RFC 8441 §5: same-origin browser handshake", connect(Version::HTTP_2, &[("sec-websocket-version", "13"), ("origin", "https://example.com")]), Some("websocket"), Ok(Rule::WebSocketOrigin)),
        ("RFC 8441 §5 + CSWSH: cross-origin browser handshake", connect(Version::HTTP_2, &[("sec-websocket-version", "13"), ("origin", "https://evil.example")]), Some("websocket"), Err((Rejection::CrossSiteWebSocket, 403))),
        ("RFC 9220 §3: HTTP/3 extended CONNECT", connect(Version::HTTP_3, &[("sec-websocket-version", "13")]), Some("websocket"), Ok(Rule::NonBrowser)),
        ("RFC 8441 §5: Sec-WebSocket-Version is still required", connect(Version::HTTP_2, &[]), Some("websocket"), Err((Rejection::UnsupportedWebSocketVersion, 426))),
        ("RFC 8441 §5: Sec-WebSocket-Key is not used and not validated", connect(Version::HTTP_2, &[("sec-websocket-version", "13"), ("sec-websocket-key", "not a key")]), Some("websocket"), Ok(Rule::NonBrowser)),
        ("RFC 9113 §8.2.2: an HTTP/2 GET with Upgrade (a connection-specific field)", h2_get_with_upgrade, None, Err((Rejection::WebSocketHttpVersion, 400))),
        ("RFC 9113 §8.2.2: an HTTP/2 extended CONNECT that also carries Upgrade", connect(Version::HTTP_2, &[("sec-websocket-version", "13"), ("upgrade", "websocket")]), Some("websocket"), Err((Rejection::WebSocketHttpVersion, 400))),
    ];
    let policy = Policy::default();
    check_rows(rows, |(source, request, protocol, want)| {
        let head = RequestHead::from_request(request).with_protocol(*protocol);
        assert!(is_handshake(&head), "{source}: is_handshake");
        match (policy.check(&head), want) {
            (Ok(verdict), Ok(rule)) => {
                assert_eq!(verdict.rule(), *rule, "{source}");
                let handshake = verdict.handshake().expect(source);
                assert_eq!(handshake.accept(), None, "{source}: no accept over HTTP/2");
                assert_eq!(handshake.status(), StatusCode::OK, "{source}");
                let response = handshake.response::<()>();
                assert_eq!(response.status(), StatusCode::OK, "{source}");
                assert!(response.headers().is_empty(), "{source}: {response:?}");
            }
            (Err(got), Err(want)) => check_rejection(source, got, *want),
            (got, want) => panic!("{source}: want {want:?}, got {got:?}"),
        }
    });
}

#[test]
fn extended_connect_without_protocol_is_not_a_handshake() {
    // RFC 8441 §4: a CONNECT without :protocol is a classic CONNECT (a tunnel), not a handshake.
    let request = connect(Version::HTTP_2, &[]);
    let head = RequestHead::from_request(&request);
    assert!(!is_handshake(&head));
    // RFC 8441 §4: another :protocol is not websocket either.
    let request = connect(Version::HTTP_2, &[("sec-websocket-version", "13")]);
    let head = RequestHead::from_request(&request).with_protocol(Some("connect-udp"));
    assert!(!is_handshake(&head));
    assert_eq!(
        verify(&head, &WebSocketConfig::default()),
        Err(Rejection::WebSocketUpgrade)
    );
    // `is_handshake` doc: when `:protocol` is unknown (the framework did not expose it), a CONNECT
    // with Sec-WebSocket-Version is validated as a handshake rather than passed through.
    let head = RequestHead::from_request(&request);
    assert_eq!(head.protocol(), None);
    assert!(is_handshake(&head));
    assert_eq!(
        verify(&head, &WebSocketConfig::default()).map(|h| h.status()),
        Ok(StatusCode::OK)
    );
}

/// Feature `hyper` (crate doc): hyper's `:protocol` extension is read by `from_request`.
#[cfg(feature = "hyper")]
#[test]
fn hyper_protocol_extension_is_read() {
    let mut request = connect(
        Version::HTTP_2,
        &[
            ("sec-websocket-version", "13"),
            ("origin", "https://evil.example"),
        ],
    );
    request
        .extensions_mut()
        .insert(hyper::ext::Protocol::from_static("websocket"));
    let head = RequestHead::from_request(&request);
    assert_eq!(head.protocol(), Some("websocket"));
    assert!(is_handshake(&head), "RFC 8441 §4");
    assert_eq!(
        Policy::default().check(&head),
        Err(Rejection::CrossSiteWebSocket),
        "RFC 8441 §5 + RFC 6455 §10.2"
    );
}

/// Without feature `hyper` (crate doc), hyper's `:protocol` extension is not read: the
/// extended CONNECT is recognised by its `Sec-WebSocket-Version` field instead.
#[cfg(not(feature = "hyper"))]
#[test]
fn hyper_protocol_extension_needs_the_feature() {
    let mut request = connect(
        Version::HTTP_2,
        &[
            ("sec-websocket-version", "13"),
            ("origin", "https://evil.example"),
        ],
    );
    request
        .extensions_mut()
        .insert(hyper::ext::Protocol::from_static("websocket"));
    let head = RequestHead::from_request(&request);
    assert_eq!(head.protocol(), None);
    // `is_handshake` doc: still taken for a handshake (it carries Sec-WebSocket-Version), so the
    // WebSocket Origin rule applies.
    assert!(is_handshake(&head));
    assert_eq!(
        Policy::default().check(&head),
        Err(Rejection::CrossSiteWebSocket)
    );
}

#[test]
fn extended_connect_response_with_deflate() {
    // RFC 8441 §5 + RFC 7692 §7: the 200 carries only the negotiated extension.
    let request = connect(
        Version::HTTP_2,
        &[
            ("sec-websocket-version", "13"),
            ("sec-websocket-extensions", "permessage-deflate"),
            ("sec-websocket-protocol", "chat"),
        ],
    );
    let head = RequestHead::from_request(&request).with_protocol(Some("websocket"));
    let config = WebSocketConfig::new(&["chat"], Some(DeflateConfig::default())).unwrap();
    let handshake = verify(&head, &config).unwrap();
    let response = handshake.response::<()>();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        sorted(response.headers()),
        [
            ("sec-websocket-extensions", "permessage-deflate"),
            ("sec-websocket-protocol", "chat"),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Subprotocols and the 101 response
// ---------------------------------------------------------------------------------------------

fn sorted(headers: &HeaderMap) -> Vec<(&str, &str)> {
    let mut pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(name, value)| (name.as_str(), value.to_str().unwrap()))
        .collect();
    pairs.sort_unstable();
    pairs
}

#[test]
fn subprotocol_selection_table() {
    let config = WebSocketConfig::new(&["superchat", "chat"], None).unwrap();
    #[rustfmt::skip]
    let rows: &[(&str, &[&str], Want<Option<&str>>)] = &[
        ("RFC 6455 §4.2.2 item 5.4: the server picks by its own preference", &["chat, superchat"], Ok(Some("superchat"))),
        ("RFC 6455 §4.2.2 item 5.4: the one shared name", &["chat"], Ok(Some("chat"))),
        ("RFC 9110 §5.3: offers across field lines", &["chat", "superchat"], Ok(Some("superchat"))),
        ("RFC 6455 §4.2.2 item 5.4: none shared means no Sec-WebSocket-Protocol", &["v2.bookings.example.net"], Ok(None)),
        ("select_protocol doc: names compare exactly (case-sensitive)", &["CHAT"], Ok(None)),
        ("RFC 6455 §4.2.2 item 5.4: no offer, no protocol", &[], Ok(None)),
        ("RFC 6455 §4.1 item 10: not a token", &["chat,, \"x\""], Err((Rejection::MalformedWebSocketProtocol, 400))),
        ("RFC 6455 §4.1 item 10: a duplicate", &["superchat, chat, superchat"], Err((Rejection::MalformedWebSocketProtocol, 400))),
        ("RFC 6455 §4.1 item 10: separators inside a name", &["chat/1"], Err((Rejection::MalformedWebSocketProtocol, 400))),
    ];
    check_rows(rows, |(source, offered, want)| {
        let mut builder = Request::get("/chat");
        for (name, value) in SAMPLE {
            builder = builder.header(*name, *value);
        }
        for line in *offered {
            builder = builder.header("sec-websocket-protocol", *line);
        }
        let request = builder.body(()).unwrap();
        let offered_values: Vec<HeaderValue> = request
            .headers()
            .get_all("sec-websocket-protocol")
            .iter()
            .cloned()
            .collect();
        let got = verify(&RequestHead::from_request(&request), &config);
        match (got, want) {
            (Ok(handshake), Ok(name)) => {
                assert_eq!(handshake.protocol(), *name, "{source}");
                let response = handshake.response::<()>();
                assert_eq!(
                    response
                        .headers()
                        .get("sec-websocket-protocol")
                        .map(|v| v.to_str().unwrap()),
                    *name,
                    "{source}: response header"
                );
                let selected = select_protocol(&offered_values, config.protocols()).unwrap();
                assert_eq!(selected.map(|v| v.to_str().unwrap()), *name, "{source}");
            }
            (Err(got), Err(want)) => {
                check_rejection(source, got, *want);
                assert_eq!(
                    select_protocol(&offered_values, config.protocols()),
                    Err(want.0),
                    "{source}: select_protocol"
                );
            }
            (got, want) => panic!("{source}: want {want:?}, got {got:?}"),
        }
    });
}

#[test]
fn subprotocol_caps() {
    assert_eq!(MAX_PROTOCOLS, 32, "crate doc");
    assert_eq!(MAX_PROTOCOL_HEADER_LEN, 4096, "crate doc");
    let supported = [HeaderValue::from_static("chat")];
    let names = |n: usize| {
        let mut names: Vec<String> = (1..n).map(|i| format!("p{i}")).collect();
        names.push("chat".to_owned());
        names.join(", ")
    };
    #[rustfmt::skip]
    let rows: &[(&str, Vec<String>, Want<Option<&str>>)] = &[
        ("MAX_PROTOCOLS: 32 names, the shared one last", vec![names(32)], Ok(Some("chat"))),
        ("MAX_PROTOCOLS: 33 names", vec![names(33)], Err((Rejection::MalformedWebSocketProtocol, 400))),
        ("MAX_PROTOCOLS: counted across field lines", vec![names(17), names(17).replace("chat", "q")], Err((Rejection::MalformedWebSocketProtocol, 400))),
        ("MAX_PROTOCOL_HEADER_LEN: 4096 bytes", vec![format!("chat, {}", "a".repeat(4090))], Ok(Some("chat"))),
        ("MAX_PROTOCOL_HEADER_LEN: 4097 bytes", vec![format!("chat, {}", "a".repeat(4091))], Err((Rejection::MalformedWebSocketProtocol, 400))),
        ("MAX_PROTOCOL_HEADER_LEN: counted across field lines", vec!["chat".to_owned(), "a".repeat(4093)], Err((Rejection::MalformedWebSocketProtocol, 400))),
    ];
    let config = WebSocketConfig::new(&["chat"], None).unwrap();
    check_rows(rows, |(source, lines, want)| {
        let values: Vec<HeaderValue> = lines
            .iter()
            .map(|l| HeaderValue::from_str(l).unwrap())
            .collect();
        let selected = select_protocol(&values, &supported);
        let mut builder = Request::get("/chat");
        for (name, value) in SAMPLE {
            builder = builder.header(*name, *value);
        }
        for value in &values {
            builder = builder.header("sec-websocket-protocol", value.clone());
        }
        let request = builder.body(()).unwrap();
        let verified = verify(&RequestHead::from_request(&request), &config);
        match (selected, verified, want) {
            (Ok(selected), Ok(handshake), Ok(name)) => {
                assert_eq!(selected.map(|v| v.to_str().unwrap()), *name, "{source}");
                assert_eq!(handshake.protocol(), *name, "{source}");
            }
            (Err(a), Err(b), Err(want)) => {
                check_rejection(source, a, *want);
                check_rejection(source, b, *want);
            }
            (selected, verified, want) => {
                panic!("{source}: want {want:?}, got {selected:?} / {verified:?}")
            }
        }
    });
}

/// The RFC 6455 §1.2 sample request, verbatim.
fn rfc_sample(extensions: Option<&str>) -> Request<()> {
    let mut builder = Request::get("/chat")
        .header("host", "server.example.com")
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-key", KEY)
        .header("origin", "http://example.com")
        .header("sec-websocket-protocol", "chat, superchat")
        .header("sec-websocket-version", "13");
    if let Some(extensions) = extensions {
        builder = builder.header("sec-websocket-extensions", extensions);
    }
    builder.body(()).unwrap()
}

#[test]
fn complete_101_response_for_the_rfc_sample() {
    // RFC 6455 §1.2 / §4.2.2 item 5, with and without RFC 7692 permessage-deflate.
    #[rustfmt::skip]
    let rows: &[(&str, Option<&str>, Option<DeflateConfig>, Fields)] = &[
        ("RFC 6455 §1.2: the sample answer", None, Some(DeflateConfig::default()), &[("connection", "Upgrade"), ("sec-websocket-accept", ACCEPT), ("sec-websocket-protocol", "chat"), ("upgrade", "websocket")]),
        ("RFC 6455 §1.2 + RFC 7692 §7: peer: Chrome's deflate offer", Some("permessage-deflate; client_max_window_bits"), Some(DeflateConfig::default()), &[("connection", "Upgrade"), ("sec-websocket-accept", ACCEPT), ("sec-websocket-extensions", "permessage-deflate"), ("sec-websocket-protocol", "chat"), ("upgrade", "websocket")]),
        ("RFC 6455 §1.2 + RFC 7692 §7.1: a stricter server", Some("permessage-deflate; client_max_window_bits"), Some(DeflateConfig::default().server_max_window_bits(12).client_max_window_bits(10).server_no_context_takeover(true)), &[("connection", "Upgrade"), ("sec-websocket-accept", ACCEPT), ("sec-websocket-extensions", "permessage-deflate; server_no_context_takeover; server_max_window_bits=12; client_max_window_bits=10"), ("sec-websocket-protocol", "chat"), ("upgrade", "websocket")]),
        ("RFC 7692 §5: a server without deflate answers no extension", Some("permessage-deflate"), None, &[("connection", "Upgrade"), ("sec-websocket-accept", ACCEPT), ("sec-websocket-protocol", "chat"), ("upgrade", "websocket")]),
    ];
    check_rows(rows, |(source, extensions, deflate, want)| {
        let config = WebSocketConfig::new(&["chat"], *deflate).unwrap();
        let request = rfc_sample(*extensions);
        let handshake: Handshake = verify(&RequestHead::from_request(&request), &config).unwrap();
        let response: Response<()> = handshake.response();
        assert_eq!(
            response.status(),
            StatusCode::SWITCHING_PROTOCOLS,
            "{source}"
        );
        assert_eq!(response.status().as_u16(), 101, "{source}");
        assert_eq!(sorted(response.headers()), *want, "{source}");
        assert_eq!(
            sorted(&handshake.response_headers()),
            *want,
            "{source}: response_headers"
        );
        assert_eq!(handshake.protocol(), Some("chat"), "{source}");
    });
}

#[test]
fn rfc_sample_through_the_policy_is_cross_origin() {
    // The RFC 6455 §1.2 sample comes from http://example.com to server.example.com: another
    // origin, which is exactly what cross-site WebSocket hijacking looks like.
    let request = rfc_sample(None);
    assert_eq!(
        Policy::default().check(&RequestHead::from_request(&request)),
        Err(Rejection::CrossSiteWebSocket)
    );
}

// ---------------------------------------------------------------------------------------------
// The Origin rule on handshakes
// ---------------------------------------------------------------------------------------------

/// The sample handshake sent to `localhost:8188`, with `set` replacing or adding fields.
fn local_handshake(set: &[(&str, &str)]) -> Request<()> {
    let mut set = set.to_vec();
    if !set.iter().any(|(name, _)| *name == "host") {
        set.push(("host", "localhost:8188"));
    }
    sample_handshake(GET, H11, &[], &set)
}

#[test]
fn origin_rule_table() {
    let default = Policy::default();
    let require_origin = Policy::builder()
        .require_origin_for_websocket(true)
        .build()
        .unwrap();
    let allow_3000 = Policy::builder()
        .allow_origin("http://localhost:3000")
        .build()
        .unwrap();
    let same_site = Policy::builder().allow_same_site(true).build().unwrap();
    let bypass = Policy::builder()
        .bypass(|_, uri| uri.path() == "/chat")
        .build()
        .unwrap();

    #[rustfmt::skip]
    let rows: &[(&str, &Policy, Fields, Want<Rule>)] = &[
        ("RFC 6455 §10.2: same-origin Origin", &default, &[("origin", "http://localhost:8188")], Ok(Rule::WebSocketOrigin)),
        ("Origin::is_same_authority doc: https origin with the same host:port", &default, &[("origin", "https://localhost:8188")], Ok(Rule::WebSocketOrigin)),
        ("RFC 6454 §4: host names compare case-insensitively", &default, &[("origin", "http://LOCALHOST:8188")], Ok(Rule::WebSocketOrigin)),
        ("RFC 6455 §10.2: a cross-origin handshake (CSWSH) is 403", &default, &[("origin", "http://evil.example")], Err((Rejection::CrossSiteWebSocket, 403))),
        ("RFC 6454 §5: another port is another origin", &default, &[("origin", "http://localhost:3000")], Err((Rejection::CrossSiteWebSocket, 403))),
        ("Origin::is_same_authority doc: only http/https origins can be the request's own", &default, &[("origin", "ws://localhost:8188")], Err((Rejection::CrossSiteWebSocket, 403))),
        ("RFC 6454 §7.3: the opaque origin `null`", &default, &[("origin", "null")], Err((Rejection::NullOrigin, 403))),
        ("RFC 6454 §7.3 + PolicyBuilder::allow_origin doc: `null` can be allowlisted", &Policy::builder().allow_origin("null").build().unwrap(), &[("origin", "null")], Ok(Rule::OriginAllowlist)),
        ("RFC 6455 §4.1 item 8: non-browser clients send no Origin", &default, &[], Ok(Rule::NonBrowser)),
        ("PolicyBuilder::require_origin_for_websocket doc", &require_origin, &[], Err((Rejection::MissingOrigin, 403))),
        ("PolicyBuilder::require_origin_for_websocket: a same-origin handshake still passes", &require_origin, &[("origin", "http://localhost:8188")], Ok(Rule::WebSocketOrigin)),
        ("peer: Firefox sends Sec-Fetch-Site on handshakes; cross-site wins over a same-host Origin", &default, &[("origin", "http://localhost:8188"), ("sec-fetch-site", "cross-site")], Err((Rejection::CrossSiteWebSocket, 403))),
        ("Fetch Metadata §2.1: same-origin from Firefox", &default, &[("origin", "http://localhost:8188"), ("sec-fetch-site", "same-origin")], Ok(Rule::WebSocketOrigin)),
        ("PolicyBuilder::allow_origin: an allowlisted origin", &allow_3000, &[("origin", "http://localhost:3000")], Ok(Rule::OriginAllowlist)),
        ("PolicyBuilder::allow_origin: allowlist also overrides Firefox's same-site label", &allow_3000, &[("origin", "http://localhost:3000"), ("sec-fetch-site", "same-site")], Ok(Rule::OriginAllowlist)),
        ("PolicyBuilder::allow_origin: other origins are still refused", &allow_3000, &[("origin", "http://localhost:3001")], Err((Rejection::CrossSiteWebSocket, 403))),
        ("PolicyBuilder::allow_same_site is for unsafe methods; a same-site handshake stays refused", &same_site, &[("origin", "http://localhost:3000"), ("sec-fetch-site", "same-site")], Err((Rejection::CrossSiteWebSocket, 403))),
        ("PolicyBuilder::bypass doc: the cross-origin check is skipped", &bypass, &[("origin", "http://evil.example")], Ok(Rule::Bypass)),
        ("docs/policy.md: origins compare ignoring one trailing dot on a host", &default, &[("origin", "http://localhost.:8188")], Ok(Rule::WebSocketOrigin)),
        ("docs/websocket.md: verify runs before the Origin rule (malformed protocol from another origin is 400)", &default, &[("origin", "http://evil.example"), ("sec-websocket-protocol", "a, a")], Err((Rejection::MalformedWebSocketProtocol, 400))),
        ("docs/websocket.md: verify runs before the Origin rule (version 8 from another origin is 426)", &default, &[("origin", "http://evil.example"), ("sec-websocket-version", "8")], Err((Rejection::UnsupportedWebSocketVersion, 426))),
        ("docs/policy.md step order: the Host check runs before the handshake check", &default, &[("origin", "http://evil.example"), ("host", "a b"), ("sec-websocket-key", "")], Err((Rejection::MalformedHost, 400))),
        ("RFC 6454 §7.1: two Origin lines", &default, &[("origin", "http://localhost:8188"), ("origin", "http://localhost:8188")], Err((Rejection::DuplicateHeader(crossguard::Field::Origin), 400))),
        ("RFC 6454 §7.1: an Origin with a path", &default, &[("origin", "http://localhost:8188/")], Err((Rejection::MalformedOrigin, 400))),
    ];
    check_rows(rows, |(source, policy, extra, want)| {
        let request = local_handshake(extra);
        match (crate::support::check(policy, &request), want) {
            (Ok(verdict), Ok(rule)) => {
                assert_eq!(verdict.rule(), *rule, "{source}");
                assert_eq!(verdict.reported(), None, "{source}");
                let handshake = verdict.handshake().expect(source);
                assert_eq!(handshake.accept().unwrap().as_str(), ACCEPT, "{source}");
            }
            (Err(got), Err(want)) => {
                check_rejection(source, got, *want);
                assert_eq!(got.rule(), expected_rule(got), "{source}");
            }
            (got, want) => panic!("{source}: want {want:?}, got {got:?}"),
        }
    });
}

#[test]
fn bypass_still_validates_the_handshake() {
    // PolicyBuilder::bypass doc: "The Host check and WebSocket handshake validation still apply."
    let bypass = Policy::builder().bypass(|_, _| true).build().unwrap();
    let request = local_handshake(&[("sec-websocket-key", "short")]);
    assert_eq!(
        bypass.check(&RequestHead::from_request(&request)),
        Err(Rejection::InvalidWebSocketKey)
    );
}

#[test]
fn report_only_table() {
    let report_only = Policy::builder().report_only(true).build().unwrap();
    #[rustfmt::skip]
    let rows: &[(&str, Fields, Rule, Option<Rejection>, bool)] = &[
        ("PolicyBuilder::report_only: a cross-origin handshake is let through and reported", &[("origin", "http://evil.example")], Rule::WebSocketOrigin, Some(Rejection::CrossSiteWebSocket), true),
        ("PolicyBuilder::report_only: a same-origin handshake reports nothing", &[("origin", "http://localhost:8188")], Rule::WebSocketOrigin, None, true),
        ("PolicyBuilder::report_only: a malformed handshake is reported, with no handshake to answer", &[("sec-websocket-version", "8")], Rule::WebSocketHandshake, Some(Rejection::UnsupportedWebSocketVersion), false),
    ];
    check_rows(rows, |(source, extra, rule, reported, has_handshake)| {
        let request = local_handshake(extra);
        let verdict = crate::support::check(&report_only, &request).expect(source);
        assert_eq!(verdict.rule(), *rule, "{source}");
        assert_eq!(verdict.reported(), *reported, "{source}");
        assert_eq!(verdict.handshake().is_some(), *has_handshake, "{source}");
        if *has_handshake {
            assert_eq!(
                verdict.handshake().unwrap().accept().unwrap().as_str(),
                ACCEPT,
                "{source}"
            );
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Through the tower layer
// ---------------------------------------------------------------------------------------------

/// A counting inner service that answers with the handshake's accept value (or `-`).
fn counting_service(
    calls: Arc<AtomicUsize>,
) -> impl tower::Service<Request<String>, Response = Response<String>, Error = Infallible, Future: Send>
+ Clone {
    tower::service_fn(move |request: Request<String>| {
        let calls = Arc::clone(&calls);
        async move {
            calls.fetch_add(1, Ordering::SeqCst);
            let accept = request
                .extensions()
                .get::<Verdict>()
                .and_then(|v| v.handshake())
                .and_then(|h| h.accept())
                .map_or_else(|| "-".to_owned(), |a| a.as_str().to_owned());
            Ok::<_, Infallible>(Response::new(accept))
        }
    })
}

fn string_request(method: Method, remove: &[&str], set: &[(&str, &str)]) -> Request<String> {
    let (parts, ()) = sample_handshake(method, H11, remove, set).into_parts();
    Request::from_parts(parts, String::new())
}

#[tokio::test]
async fn layer_table() {
    #[rustfmt::skip]
    let rows: Vec<(&str, Request<String>, u16, Fields, &str, usize)> = vec![
        ("RFC 9110 §15.5.6: a 405 carries Allow", string_request(Method::POST, &[], &[]), 405, &[("allow", "GET"), ("content-type", "text/plain; charset=utf-8")], "crossguard: websocket_method_not_allowed\n", 0),
        ("RFC 6455 §4.4: a 426 carries Sec-WebSocket-Version: 13; RFC 9110 §15.5.22: and Upgrade", string_request(GET, &[], &[("sec-websocket-version", "8")]), 426, &[("connection", "upgrade"), ("content-type", "text/plain; charset=utf-8"), ("sec-websocket-version", "13"), ("upgrade", "websocket")], "crossguard: unsupported_websocket_version\n", 0),
        ("RFC 6455 §4.2.1 item 5: an invalid key is a plain 400", string_request(GET, &[], &[("sec-websocket-key", "")]), 400, &[("content-type", "text/plain; charset=utf-8")], "crossguard: invalid_websocket_key\n", 0),
        ("RFC 6455 §10.2: a cross-origin handshake is 403", string_request(GET, &[], &[("origin", "http://evil.example")]), 403, &[("content-type", "text/plain; charset=utf-8")], "crossguard: cross_site_websocket\n", 0),
        ("GuardLayer doc: an allowed handshake reaches the service with its Verdict", string_request(GET, &[], &[]), 200, &[], ACCEPT, 1),
    ];
    for (source, request, status, headers, body, calls_wanted) in rows {
        let calls = Arc::new(AtomicUsize::new(0));
        let service =
            GuardLayer::new(Policy::default()).layer(counting_service(Arc::clone(&calls)));
        let response = service.oneshot(request).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{source}");
        assert_eq!(sorted(response.headers()), headers, "{source}");
        assert_eq!(response.body(), body, "{source}");
        assert_eq!(
            calls.load(Ordering::SeqCst),
            calls_wanted,
            "{source}: inner calls"
        );
        if status != 200 {
            let rejection = response.extensions().get::<Rejection>().expect(source);
            assert_eq!(rejection.status().as_u16(), status, "{source}");
        }
    }
}

#[tokio::test]
async fn custom_rejection_still_gets_required_headers() {
    // OnRejection doc: whatever the handler returns, the layer adds `Allow` on 405 and
    // `Sec-WebSocket-Version` on 426.
    let layer = GuardLayer::new(Policy::default()).on_rejection(|r: &Rejection| {
        let mut response = Response::new(format!("{{\"error\":\"{}\"}}", r.reason()));
        *response.status_mut() = r.status();
        response
    });
    let calls = Arc::new(AtomicUsize::new(0));
    let service = layer.layer(counting_service(Arc::clone(&calls)));

    let response = service
        .clone()
        .oneshot(string_request(Method::POST, &[], &[]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(sorted(response.headers()), [("allow", "GET")]);
    assert_eq!(
        response.body(),
        "{\"error\":\"websocket_method_not_allowed\"}"
    );

    let response = service
        .oneshot(string_request(GET, &["sec-websocket-version"], &[]))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
    assert_eq!(
        sorted(response.headers()),
        [
            ("connection", "upgrade"),
            ("sec-websocket-version", "13"),
            ("upgrade", "websocket")
        ]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn axum_handler_reads_the_verdict() {
    // GuardLayer doc: the Verdict is in the request's extensions, readable as Extension<Verdict>.
    let app = Router::new()
        .route(
            "/chat",
            get(|Extension(verdict): Extension<Verdict>| async move {
                let handshake = verdict.handshake().unwrap();
                format!(
                    "{} {} {}",
                    verdict.rule(),
                    handshake.accept().unwrap().as_str(),
                    handshake
                        .deflate()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                )
            }),
        )
        .layer(GuardLayer::new(Policy::default()));
    let request = Request::get("/chat")
        .header("host", "localhost:8188")
        .header("origin", "http://localhost:8188")
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-key", KEY)
        .header("sec-websocket-version", "13")
        .header(
            "sec-websocket-extensions",
            "permessage-deflate; client_max_window_bits",
        )
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(
        std::str::from_utf8(&body).unwrap(),
        format!("websocket_origin {ACCEPT} permessage-deflate")
    );
}

// ---------------------------------------------------------------------------------------------
// A real server: axum's own WebSocketUpgrade behind the layer
// ---------------------------------------------------------------------------------------------

const WAIT: Duration = Duration::from_secs(10);

/// Sends `head` on a fresh connection and returns the response head, lowercased names.
async fn exchange(addr: std::net::SocketAddr, head: &str) -> (String, Vec<(String, String)>) {
    let mut stream = tokio::time::timeout(WAIT, tokio::net::TcpStream::connect(addr))
        .await
        .expect("connect timed out")
        .unwrap();
    tokio::time::timeout(WAIT, stream.write_all(head.as_bytes()))
        .await
        .expect("write timed out")
        .unwrap();
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    while !received.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(WAIT, stream.read(&mut buf))
            .await
            .expect("read timed out")
            .unwrap();
        assert!(
            n > 0,
            "connection closed before the end of the head: {received:?}"
        );
        received.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8(received).unwrap();
    let head = text.split("\r\n\r\n").next().unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().to_owned();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    (status, headers)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn axum_websocket_upgrade_works_behind_the_layer() {
    let app = Router::new()
        .route(
            "/ws",
            get(|ws: WebSocketUpgrade| async move { ws.on_upgrade(|_socket| async {}) }),
        )
        .layer(GuardLayer::new(Policy::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let handshake = |extra: &str, method: &str| {
        format!(
            "{method} /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
        )
    };
    let same_origin = format!("Origin: http://{addr}\r\n");

    // RFC 6455 §4.2.2: axum answers 101 with the accept value of RFC 6455 §1.3.
    for (source, extra) in [
        ("RFC 6455 §4.2.2: non-browser client", ""),
        ("RFC 6455 §10.2: same-origin browser", same_origin.as_str()),
    ] {
        let (status, headers) = exchange(addr, &handshake(extra, "GET")).await;
        assert_eq!(status, "HTTP/1.1 101 Switching Protocols", "{source}");
        assert_eq!(
            header(&headers, "sec-websocket-accept"),
            Some(ACCEPT),
            "{source}"
        );
        assert_eq!(header(&headers, "upgrade"), Some("websocket"), "{source}");
    }

    // The layer refuses before axum's extractor runs.
    let (status, headers) =
        exchange(addr, &handshake("Origin: http://evil.example\r\n", "GET")).await;
    assert_eq!(status, "HTTP/1.1 403 Forbidden", "RFC 6455 §10.2: CSWSH");
    assert_eq!(header(&headers, "sec-websocket-accept"), None);

    let (status, headers) = exchange(addr, &handshake("Content-Length: 0\r\n", "POST")).await;
    assert_eq!(
        status, "HTTP/1.1 405 Method Not Allowed",
        "RFC 9110 §15.5.6"
    );
    assert_eq!(header(&headers, "allow"), Some("GET"));

    server.abort();
    let _ = server.await;
}
