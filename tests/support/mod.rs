//! What the integration tests share: the table row format and its runner, the row types used by
//! more than one table, and request builders.
//!
//! A table is a `#[rustfmt::skip]` slice with one row per line, its source first: the RFC
//! section, the peer, or the document (`docs/…`, an item's doc comment) the row comes from, then
//! the inputs, then the expected value.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::cell::RefCell;
use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex;

use crossguard::websocket::{DeflateConfig, DeflateParams, negotiate_deflate};
use crossguard::{Policy, Rejection, RequestHead, Rule, Verdict};
use http::{HeaderName, HeaderValue, Method, Request, Version};

// ---------------------------------------------------------------------------------------------
// The row format and its runner
// ---------------------------------------------------------------------------------------------

/// A table row: a tuple whose first column is its source.
pub trait Row {
    /// Where the row comes from (RFC section, peer, document).
    fn source(&self) -> &str;
}

macro_rules! tuple_rows {
    ($($column:ident)*) => {
        impl<$($column),*> Row for (&str, $($column),*) {
            fn source(&self) -> &str {
                self.0
            }
        }
    };
}
tuple_rows!(A);
tuple_rows!(A B);
tuple_rows!(A B C);
tuple_rows!(A B C D);
tuple_rows!(A B C D E);
tuple_rows!(A B C D E F);

/// Runs `check` (which asserts) on every row, then fails naming, by its source, every row that
/// failed: one broken row does not hide the others.
pub fn check_rows<R: Row>(rows: &[R], mut check: impl FnMut(&R)) {
    assert!(!rows.is_empty(), "an empty table");
    let mut failed = Vec::new();
    for row in rows {
        assert!(!row.source().trim().is_empty(), "a row without its source");
        SOURCE.with(|source| *source.borrow_mut() = Some(row.source().to_owned()));
        let passed = catch_unwind(AssertUnwindSafe(|| check(row))).is_ok();
        SOURCE.with(|source| *source.borrow_mut() = None);
        if !passed {
            failed.push(row.source());
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} rows failed:\n  {}",
        failed.len(),
        rows.len(),
        failed.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// Row types shared by several tables
// ---------------------------------------------------------------------------------------------

/// Header field lines, in order; a name given twice makes two field lines.
pub type Fields = &'static [(&'static str, &'static str)];

/// What the policy decides: the rule that allowed, or the rejection.
pub type Decision = Result<Rule, Rejection>;

/// An expected outcome: `Ok`, or the rejection with its status code.
pub type Want<T> = Result<T, (Rejection, u16)>;

/// A policy row: source, method, request target, header lines, decision.
pub type PolicyRow = (&'static str, &'static str, &'static str, Fields, Decision);

/// Checks every row's request against `policy`.
pub fn check_policy(policy: &Policy, rows: &[PolicyRow]) {
    check_rows(rows, |(source, method, uri, headers, expected)| {
        let req = request(method, uri, headers);
        assert_eq!(
            decide(policy, &req),
            *expected,
            "row: {source} ({method} {uri} {headers:?})"
        );
    });
}

/// Asserts the rejection and its status code.
pub fn check_rejection(source: &str, got: Rejection, want: (Rejection, u16)) {
    assert_eq!(got, want.0, "{source}");
    assert_eq!(got.status().as_u16(), want.1, "{source}: status");
}

// ---------------------------------------------------------------------------------------------
// WebSocket handshakes
// ---------------------------------------------------------------------------------------------

/// RFC 6455 §1.2 sample key and its accept value (RFC 6455 §1.3).
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The RFC 6455 §1.2 sample handshake, without its Origin and subprotocols.
pub const SAMPLE: Fields = &[
    ("host", "server.example.com"),
    ("upgrade", "websocket"),
    ("connection", "Upgrade"),
    ("sec-websocket-key", KEY),
    ("sec-websocket-version", "13"),
];

/// A handshake row: source, method, HTTP version, the names removed from the sample, the
/// fields set, and `Ok(())` or the rejection with its status code.
pub type HandshakeRow = (
    &'static str,
    Method,
    Version,
    &'static [&'static str],
    Fields,
    Want<()>,
);

/// The sample handshake to `/chat` with the `remove` names removed and the `set` fields set:
/// every name in `set` replaces the sample's lines of that name; a name given twice makes two
/// field lines.
pub fn sample_handshake(
    method: Method,
    version: Version,
    remove: &[&str],
    set: &[(&str, &str)],
) -> Request<()> {
    let mut builder = Request::builder()
        .method(method)
        .version(version)
        .uri("/chat");
    for (name, value) in SAMPLE {
        if remove.contains(name) || set.iter().any(|(n, _)| n == name) {
            continue;
        }
        builder = builder.header(*name, *value);
    }
    for (name, value) in set {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// permessage-deflate negotiation
// ---------------------------------------------------------------------------------------------

/// What `negotiate_deflate` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Negotiated {
    /// Accepted, answered with exactly this response element.
    Accept(&'static str),
    /// Grammatical, but no offer was accepted.
    Decline,
    /// `Err(Rejection::MalformedWebSocketExtensions)`.
    Malformed,
}

/// A deflate row: source, `Sec-WebSocket-Extensions` field lines, server config, answer.
pub type DeflateRow<L> = (&'static str, L, Option<DeflateConfig>, Negotiated);

/// `Sec-WebSocket-Extensions` field lines: one `&str`, or several.
pub trait ExtensionLines: std::fmt::Debug {
    fn values(&self) -> Vec<HeaderValue>;
}

impl ExtensionLines for &str {
    fn values(&self) -> Vec<HeaderValue> {
        vec![HeaderValue::from_str(self).unwrap()]
    }
}

impl ExtensionLines for &[&str] {
    fn values(&self) -> Vec<HeaderValue> {
        self.iter()
            .map(|l| HeaderValue::from_str(l).unwrap())
            .collect()
    }
}

impl ExtensionLines for Vec<String> {
    fn values(&self) -> Vec<HeaderValue> {
        self.iter()
            .map(|l| HeaderValue::from_str(l).unwrap())
            .collect()
    }
}

/// Checks every row's answer; `accepted` further checks each accepted answer's parameters.
pub fn check_deflate<L: ExtensionLines>(
    rows: &[DeflateRow<L>],
    mut accepted: impl FnMut(&DeflateParams),
) {
    check_rows(rows, |(source, lines, config, want)| {
        let got = negotiate_deflate(&lines.values(), config.as_ref());
        // Formatted on failure only: some rows carry megabytes.
        let context = || format!("{source}: {lines:?} with {config:?}");
        match (got, want) {
            (Ok(Some(params)), Negotiated::Accept(answer)) => {
                assert_eq!(params.to_string(), *answer, "{}", context());
                assert_eq!(
                    params.to_header_value(),
                    *answer,
                    "{}: header value",
                    context()
                );
                accepted(&params);
            }
            (Ok(None), Negotiated::Decline) => {}
            (Err(Rejection::MalformedWebSocketExtensions), Negotiated::Malformed) => {}
            (got, want) => panic!("{}: want {want:?}, got {got:?}", context()),
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// A request with the given method, target and header lines (repeated names append).
pub fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<()> {
    let mut builder = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap()
}

/// Adds a header line whose value is arbitrary bytes.
pub fn with_raw(mut req: Request<()>, name: &'static str, value: &[u8]) -> Request<()> {
    req.headers_mut().append(
        HeaderName::from_static(name),
        HeaderValue::from_bytes(value).unwrap(),
    );
    req
}

/// Sets the HTTP version.
pub fn with_version(mut req: Request<()>, version: Version) -> Request<()> {
    *req.version_mut() = version;
    req
}

/// The rule that allowed, or the rejection.
pub fn decide(policy: &Policy, req: &Request<()>) -> Decision {
    check(policy, req).map(|verdict| verdict.rule())
}

/// `policy.check(req)`, written to the row file (see [`ROWS_ENV`]) when one is named.
pub fn check(policy: &Policy, req: &Request<()>) -> Result<Verdict, Rejection> {
    let head = RequestHead::from_request(req);
    let result = policy.check(&head);
    if let Some(file) = ROWS.get_or_init(open_rows).as_ref() {
        let line = row_json(policy, &head, &result);
        let mut file = file.lock().unwrap();
        writeln!(file, "{line}").unwrap();
    }
    result
}

// ---------------------------------------------------------------------------------------------
// The row file: every decision the tables check, for other surfaces to replay
// ---------------------------------------------------------------------------------------------

/// Names a file to which [`check`] appends one JSON object per decision, with the source of the
/// table row being checked: the policy (its `Debug` form), the request (method, target, HTTP
/// version, `:protocol`, field lines with values as Latin-1 text, so any byte is kept) and the
/// library's verdict. The Python package's tests replay these rows (`python/tests/`).
pub const ROWS_ENV: &str = "CROSSGUARD_TABLE_ROWS";

static ROWS: std::sync::OnceLock<Option<Mutex<std::fs::File>>> = std::sync::OnceLock::new();

thread_local! {
    /// The source of the row [`check_rows`] is checking on this thread.
    static SOURCE: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn open_rows() -> Option<Mutex<std::fs::File>> {
    let path = std::env::var_os(ROWS_ENV)?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    Some(Mutex::new(file))
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn row_json(
    policy: &Policy,
    head: &RequestHead<'_>,
    result: &Result<Verdict, Rejection>,
) -> serde_json::Value {
    let version = match head.version() {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "1.1",
    };
    let headers: Vec<_> = head
        .headers()
        .iter()
        .map(|(name, value)| serde_json::json!([name.as_str(), latin1(value.as_bytes())]))
        .collect();
    let handshake = result.as_ref().ok().and_then(Verdict::handshake);
    let (status, reason, rule) = match result {
        Ok(verdict) => (
            handshake.map(|h| h.status().as_u16()),
            verdict.reported().map(|r| r.reason()),
            verdict.rule(),
        ),
        Err(rejection) => (
            Some(rejection.status().as_u16()),
            Some(rejection.reason()),
            rejection.rule(),
        ),
    };
    serde_json::json!({
        "source": SOURCE.with(|source| source.borrow().clone()),
        "policy": format!("{policy:?}"),
        "method": head.method().as_str(),
        "target": head.uri().to_string(),
        "version": version,
        "protocol": head.protocol(),
        "headers": headers,
        "allowed": result.is_ok(),
        "status": status,
        "reason": reason,
        "rule": rule.as_str(),
        "accept": handshake.and_then(|h| h.accept()).map(|a| a.as_str().to_owned()),
        "subprotocol": handshake.and_then(|h| h.protocol()),
        "extensions": handshake.and_then(|h| h.deflate()).map(ToString::to_string),
    })
}

/// Parses a raw request head as copied from a browser's developer tools (`Name: value` lines
/// after a request line).
pub fn parse_head(text: &str) -> Request<()> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let request_line = lines.next().unwrap();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap();
    let target = parts.next().unwrap();
    let mut builder = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(target)
        .version(Version::HTTP_11);
    for line in lines {
        let (name, value) = line.split_once(':').unwrap();
        builder = builder.header(name.trim(), value.trim());
    }
    builder.body(()).unwrap()
}
