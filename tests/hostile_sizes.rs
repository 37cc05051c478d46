//! Hostile sizes: 1 MiB values and 100 000-element lists in every field crossguard reads get a
//! clear, typed answer. Caps are checked before parsing, and every scan is a single pass.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::support::Negotiated::{Decline, Malformed};
use crate::support::{Decision, DeflateRow, KEY, check_deflate, check_rows};
use crossguard::websocket::{DeflateConfig, select_protocol};
use crossguard::{Field, Policy, Rejection, RequestHead, Rule};
use http::{HeaderValue, Request};

const MIB: usize = 1024 * 1024;

fn handshake() -> http::request::Builder {
    Request::get("/ws")
        .header("host", "localhost:8188")
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-key", KEY)
        .header("sec-websocket-version", "13")
}

fn check(request: &Request<()>) -> Decision {
    Policy::default()
        .check(&RequestHead::from_request(request))
        .map(|v| v.rule())
}

#[test]
fn one_mebibyte_values() {
    let big = "a".repeat(MIB);
    let post = |name: &str, value: &str| {
        Request::post("/")
            .header("host", "localhost")
            .header(name, value)
            .body(())
            .unwrap()
    };
    let host = Request::post("/")
        .header("host", big.as_str())
        .body(())
        .unwrap();
    let ws = |name: &str, value: &str| handshake().header(name, value).body(()).unwrap();
    let key = Request::get("/ws")
        .header("host", "localhost")
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-key", big.as_str())
        .header("sec-websocket-version", "13")
        .body(())
        .unwrap();
    let version = Request::get("/ws")
        .header("host", "localhost")
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-key", KEY)
        .header("sec-websocket-version", big.as_str())
        .body(())
        .unwrap();
    let connection = Request::get("/ws")
        .header("host", "localhost")
        .header("upgrade", "websocket")
        .header("connection", format!("{big}, keep-alive"))
        .body(())
        .unwrap();
    #[rustfmt::skip]
    let rows: &[(&str, Request<()>, Decision)] = &[
        ("1 MiB Origin", post("origin", &format!("http://{big}")), Err(Rejection::MalformedOrigin)),
        ("1 MiB Sec-Fetch-Site", post("sec-fetch-site", &big), Err(Rejection::MalformedFetchMetadata(Field::SecFetchSite))),
        ("1 MiB Host", host, Err(Rejection::MalformedHost)),
        ("1 MiB Sec-WebSocket-Extensions", ws("sec-websocket-extensions", &big), Err(Rejection::MalformedWebSocketExtensions)),
        ("1 MiB Sec-WebSocket-Protocol", ws("sec-websocket-protocol", &big), Err(Rejection::MalformedWebSocketProtocol)),
        ("1 MiB Sec-WebSocket-Key", key, Err(Rejection::InvalidWebSocketKey)),
        ("1 MiB Sec-WebSocket-Version", version, Err(Rejection::UnsupportedWebSocketVersion)),
        // Scanned once and refused.
        ("1 MiB Connection list without the token", connection, Err(Rejection::WebSocketConnection)),
    ];
    check_rows(rows, |(source, request, want)| {
        assert_eq!(check(request), *want, "{source}");
    });
}

#[test]
fn hundred_thousand_element_lists() {
    let n = 100_000;
    let list = |element: &str| vec![element; n].join(", ");
    let config = Some(DeflateConfig::default());
    #[rustfmt::skip]
    let rows: &[DeflateRow<Vec<String>>] = &[
        // Refused at the byte cap before any element is parsed.
        ("100 000 extensions on one field line", vec![list("permessage-deflate")], config, Malformed),
        // Refused once the element or byte cap is reached.
        ("100 000 field lines `x`", vec!["x".to_owned(); n], config, Malformed),
        ("100 000 field lines `,`", vec![",".to_owned(); n], config, Malformed),
        ("empty lines are empty lists", vec![String::new(); n], config, Decline),
        ("100 000 parameters on one offer", vec![format!("permessage-deflate{}", "; a".repeat(n))], config, Malformed),
    ];
    check_deflate(rows, |_| {});

    // Subprotocols: distinct names, so no duplicate short-circuits the scan.
    let names: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
    let one_line = vec![HeaderValue::from_str(&names.join(",")).unwrap()];
    let lines: Vec<HeaderValue> = names
        .iter()
        .map(|n| HeaderValue::from_str(n).unwrap())
        .collect();
    #[rustfmt::skip]
    let rows: &[(&str, Vec<HeaderValue>)] = &[
        ("100 000 subprotocols on one field line", one_line),
        ("100 000 subprotocol field lines", lines),
    ];
    check_rows(rows, |(source, offered)| {
        assert_eq!(
            select_protocol(offered, &[HeaderValue::from_static("chat")]),
            Err(Rejection::MalformedWebSocketProtocol),
            "{source}"
        );
    });

    let mut origins = handshake().body(()).unwrap();
    for _ in 0..n {
        origins
            .headers_mut()
            .append("origin", HeaderValue::from_static("http://localhost:8188"));
    }
    let token_lists = Request::get("/ws")
        .header("host", "localhost")
        .header("upgrade", format!("{}, websocket", list("h2c")))
        .header("connection", format!("{}, upgrade", list("keep-alive")))
        .header("sec-websocket-key", KEY)
        .header("sec-websocket-version", "13")
        .body(())
        .unwrap();
    #[rustfmt::skip]
    let rows: &[(&str, Request<()>, Decision)] = &[
        ("100 000 Origin lines: refused as repeated after reading two", origins, Err(Rejection::DuplicateHeader(Field::Origin))),
        ("100 000 Upgrade and Connection elements: token lists are scanned once, in full", token_lists, Ok(Rule::NonBrowser)),
    ];
    check_rows(rows, |(source, request, want)| {
        assert_eq!(check(request), *want, "{source}");
    });
}
