//! Hostile sizes: 1 MiB values and 100 000-element lists in every field crossguard reads get a
//! clear, typed answer. Caps are checked before parsing, and every scan is a single pass.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod support;

use crossguard::websocket::{DeflateConfig, negotiate_deflate, select_protocol};
use crossguard::{Policy, Rejection, RequestHead};
use http::{HeaderValue, Request};

const MIB: usize = 1024 * 1024;

fn handshake() -> http::request::Builder {
    Request::get("/ws")
        .header("host", "localhost:8188")
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", "13")
}

fn check(request: &Request<()>) -> Result<crossguard::Rule, Rejection> {
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
    assert_eq!(
        check(&post("origin", &format!("http://{big}"))),
        Err(Rejection::MalformedOrigin)
    );
    assert_eq!(
        check(&post("sec-fetch-site", &big)),
        Err(Rejection::MalformedFetchMetadata(
            crossguard::Field::SecFetchSite
        ))
    );
    let host = Request::post("/")
        .header("host", big.as_str())
        .body(())
        .unwrap();
    assert_eq!(check(&host), Err(Rejection::MalformedHost));
    let ws = |name: &str, value: &str| handshake().header(name, value).body(()).unwrap();
    assert_eq!(
        check(&ws("sec-websocket-extensions", &big)),
        Err(Rejection::MalformedWebSocketExtensions)
    );
    assert_eq!(
        check(&ws("sec-websocket-protocol", &big)),
        Err(Rejection::MalformedWebSocketProtocol)
    );
    let key = Request::get("/ws")
        .header("host", "localhost")
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-key", big.as_str())
        .header("sec-websocket-version", "13")
        .body(())
        .unwrap();
    assert_eq!(check(&key), Err(Rejection::InvalidWebSocketKey));
    let version = Request::get("/ws")
        .header("host", "localhost")
        .header("upgrade", "websocket")
        .header("connection", "Upgrade")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", big.as_str())
        .body(())
        .unwrap();
    assert_eq!(check(&version), Err(Rejection::UnsupportedWebSocketVersion));
    // A 1 MiB Connection list without the token is scanned once and refused.
    let connection = Request::get("/ws")
        .header("host", "localhost")
        .header("upgrade", "websocket")
        .header("connection", format!("{big}, keep-alive"))
        .body(())
        .unwrap();
    assert_eq!(check(&connection), Err(Rejection::WebSocketConnection));
}

#[test]
fn hundred_thousand_element_lists() {
    let n = 100_000;
    let list = |element: &str| vec![element; n].join(", ");
    let config = DeflateConfig::default();
    // One field line, 100 000 elements: refused at the byte cap before any element is parsed.
    let one_line = [HeaderValue::from_str(&list("permessage-deflate")).unwrap()];
    assert_eq!(
        negotiate_deflate(&one_line, Some(&config)),
        Err(Rejection::MalformedWebSocketExtensions)
    );
    // 100 000 short field lines: refused once the element or byte cap is reached.
    let lines: Vec<HeaderValue> = (0..n).map(|_| HeaderValue::from_static("x")).collect();
    assert_eq!(
        negotiate_deflate(&lines, Some(&config)),
        Err(Rejection::MalformedWebSocketExtensions)
    );
    let commas: Vec<HeaderValue> = (0..n).map(|_| HeaderValue::from_static(",")).collect();
    assert_eq!(
        negotiate_deflate(&commas, Some(&config)),
        Err(Rejection::MalformedWebSocketExtensions)
    );
    let empty: Vec<HeaderValue> = (0..n).map(|_| HeaderValue::from_static("")).collect();
    assert_eq!(
        negotiate_deflate(&empty, Some(&config)),
        Ok(None),
        "empty lines are empty lists"
    );
    // 100 000 parameters on one offer.
    let params = format!("permessage-deflate{}", "; a".repeat(n));
    assert_eq!(
        negotiate_deflate(&[HeaderValue::from_str(&params).unwrap()], Some(&config)),
        Err(Rejection::MalformedWebSocketExtensions)
    );
    // Subprotocols: distinct names, so no duplicate short-circuits the scan.
    let names: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
    let offered = [HeaderValue::from_str(&names.join(",")).unwrap()];
    assert_eq!(
        select_protocol(&offered, &[HeaderValue::from_static("chat")]),
        Err(Rejection::MalformedWebSocketProtocol)
    );
    let lines: Vec<HeaderValue> = names
        .iter()
        .map(|n| HeaderValue::from_str(n).unwrap())
        .collect();
    assert_eq!(
        select_protocol(&lines, &[HeaderValue::from_static("chat")]),
        Err(Rejection::MalformedWebSocketProtocol)
    );

    // 100 000 Origin lines: refused as repeated after reading two.
    let mut request = handshake().body(()).unwrap();
    for _ in 0..n {
        request
            .headers_mut()
            .append("origin", HeaderValue::from_static("http://localhost:8188"));
    }
    assert_eq!(
        check(&request),
        Err(Rejection::DuplicateHeader(crossguard::Field::Origin))
    );
    // 100 000 Upgrade and Connection elements: token lists are scanned once, in full.
    let request = Request::get("/ws")
        .header("host", "localhost")
        .header("upgrade", format!("{}, websocket", list("h2c")))
        .header("connection", format!("{}, upgrade", list("keep-alive")))
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .header("sec-websocket-version", "13")
        .body(())
        .unwrap();
    assert_eq!(check(&request), Ok(crossguard::Rule::NonBrowser));
}
