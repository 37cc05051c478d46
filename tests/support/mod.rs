//! Helpers shared by the integration tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use crossguard::{Policy, Rejection, RequestHead, Rule};
use http::{HeaderName, HeaderValue, Method, Request, Version};

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
pub fn decide(policy: &Policy, req: &Request<()>) -> Result<Rule, Rejection> {
    policy
        .check(&RequestHead::from_request(req))
        .map(|verdict| verdict.rule())
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
