//! Rebuilds the *original* request head from the question an engine asks about it.
//!
//! Four pieces make the original's request line and authority; each comes from one field, read
//! exactly once:
//!
//! | piece     | forwarded convention  | ingress-nginx convention     | Envoy convention (opt-in)       |
//! |-----------|-----------------------|------------------------------|---------------------------------|
//! | method    | `X-Forwarded-Method`  | `X-Original-Method`          | the question's method           |
//! | scheme    | `X-Forwarded-Proto`   | (scheme of `X-Original-URL`) | —                               |
//! | authority | `X-Forwarded-Host`    | (authority of `X-Original-URL`) | the question's `Host`        |
//! | target    | `X-Forwarded-Uri`     | path and query of `X-Original-URL` | the question's path after the prefix |
//!
//! Every convention present must agree with the others; the forwarded fields `X-Forwarded-Proto`
//! and `X-Forwarded-Host` are always required (ingress-nginx's URL only has to agree with them).
//! A field that is missing, repeated, a comma list, empty or unparsable is a [`Misconfiguration`]
//! naming it: never a guess, never a silent allow. Every other field of the question is a field of
//! the original, under its own name, except the question's own `Host` and the fields above.

use std::fmt;

use http::header::{
    CONNECTION, HOST, HeaderMap, HeaderName, HeaderValue, SEC_WEBSOCKET_KEY, UPGRADE,
};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{Method, Request, Uri, Version, request};

const X_FORWARDED_METHOD: HeaderName = HeaderName::from_static("x-forwarded-method");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
const X_FORWARDED_HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
const X_FORWARDED_URI: HeaderName = HeaderName::from_static("x-forwarded-uri");
const X_ORIGINAL_METHOD: HeaderName = HeaderName::from_static("x-original-method");
const X_ORIGINAL_URL: HeaderName = HeaderName::from_static("x-original-url");

/// Where a piece of the original comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    ForwardedMethod,
    ForwardedProto,
    ForwardedHost,
    ForwardedUri,
    OriginalMethod,
    OriginalUrl,
    /// Envoy convention: the question's own method.
    QuestionMethod,
    /// Envoy convention: the question's own path, below the configured prefix.
    QuestionPath,
    /// Envoy convention: the question's own `Host` (or HTTP/2 `:authority`).
    QuestionHost,
}

impl Field {
    /// The name an operator finds in their engine's configuration.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Self::ForwardedMethod => "X-Forwarded-Method",
            Self::ForwardedProto => "X-Forwarded-Proto",
            Self::ForwardedHost => "X-Forwarded-Host",
            Self::ForwardedUri => "X-Forwarded-Uri",
            Self::OriginalMethod => "X-Original-Method",
            Self::OriginalUrl => "X-Original-URL",
            Self::QuestionMethod => "the question's method (--envoy-path-prefix)",
            Self::QuestionPath => "the question's path (--envoy-path-prefix)",
            Self::QuestionHost => "the question's Host (--envoy-path-prefix)",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What is wrong with a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Problem {
    Missing,
    Repeated,
    List,
    Empty,
    Invalid(&'static str),
    Disagrees(Field),
}

/// The engine does not send what the original needs: answered `500`, logged with the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Misconfiguration {
    pub(crate) field: Field,
    pub(crate) problem: Problem,
}

impl fmt::Display for Misconfiguration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = self.field;
        match self.problem {
            Problem::Missing => write!(f, "{field} is missing"),
            Problem::Repeated => write!(f, "{field} is repeated (send it once)"),
            Problem::List => write!(f, "{field} is a comma list (send one value)"),
            Problem::Empty => write!(f, "{field} is empty"),
            Problem::Invalid(what) => write!(f, "{field} is not {what}"),
            Problem::Disagrees(other) => write!(f, "{field} disagrees with {other}"),
        }
    }
}

fn misconfigured(field: Field, problem: Problem) -> Misconfiguration {
    Misconfiguration { field, problem }
}

/// How a question is read.
#[derive(Debug, Clone, Default)]
pub(crate) struct Conventions {
    /// Envoy's HTTP `ext_authz`: questions whose path starts with this prefix (then `/`) carry the
    /// original method, `Host` and target themselves.
    pub(crate) envoy_path_prefix: Option<String>,
    /// The engine drops the hop-by-hop `Upgrade` and `Connection` from its questions (Traefik's
    /// ForwardAuth does): a question carrying `Sec-WebSocket-Key` and neither field is rebuilt as
    /// the WebSocket handshake it came from, so that its Origin is checked as a handshake's.
    pub(crate) restore_websocket_upgrade: bool,
}

/// Whether the question's `Connection` is absent or names only `keep-alive` or `close`: what an
/// engine that dropped the handshake's `Connection: Upgrade` may put in its place.
fn only_persistence_tokens(headers: &HeaderMap) -> bool {
    headers
        .get_all(CONNECTION)
        .iter()
        .flat_map(|value| value.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|token| !token.is_empty())
        .all(|token| {
            token.eq_ignore_ascii_case(b"keep-alive") || token.eq_ignore_ascii_case(b"close")
        })
}

/// Whether a question is plainly an engine's health check of `path` (the health endpoint): a
/// `GET` or `HEAD` of exactly that path, no query, and none of the fields a question about an
/// original carries: no forwarded field of any convention, and none of a browser's (`Origin`,
/// `Referer`, `Cookie`, `Sec-Fetch-*`, `Upgrade`, `Sec-WebSocket-*`). Anything else is judged as a
/// question, so the health path can never answer for an original.
pub(crate) fn is_health_check(question: &request::Parts, path: &str) -> bool {
    let browser = |name: &HeaderName| {
        let name = name.as_str();
        name.starts_with("sec-fetch-")
            || name.starts_with("sec-websocket-")
            || matches!(name, "origin" | "referer" | "cookie" | "upgrade")
    };
    matches!(question.method, Method::GET | Method::HEAD)
        && question.uri.path() == path
        && question.uri.query().is_none()
        && !carries_forwarded_fields(&question.headers)
        && !question.headers.keys().any(browser)
}

/// Whether a question carries any field of a convention.
pub(crate) fn carries_forwarded_fields(headers: &HeaderMap) -> bool {
    headers.keys().any(|name| {
        name.as_str().starts_with("x-forwarded-")
            || *name == X_ORIGINAL_METHOD
            || *name == X_ORIGINAL_URL
    })
}

fn is_convention_field(name: &HeaderName) -> bool {
    [
        &X_FORWARDED_METHOD,
        &X_FORWARDED_PROTO,
        &X_FORWARDED_HOST,
        &X_FORWARDED_URI,
        &X_ORIGINAL_METHOD,
        &X_ORIGINAL_URL,
    ]
    .contains(&name)
}

/// How a list shows in a field's value.
#[derive(Clone, Copy)]
enum ListShape {
    /// A comma is never part of one value (methods, schemes, authorities).
    Comma,
    /// A target may hold commas (`/a,b?x=1,2`) but never whitespace: a comma followed by
    /// whitespace is a list.
    CommaSpace,
}

/// The one value of field `name`, trimmed; `None` when absent.
fn single<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
    field: Field,
    shape: ListShape,
) -> Result<Option<&'a str>, Misconfiguration> {
    let mut values = headers.get_all(name).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(misconfigured(field, Problem::Repeated));
    }
    let text = value
        .to_str()
        .map_err(|_| misconfigured(field, Problem::Invalid("visible ASCII")))?
        .trim_matches([' ', '\t']);
    if text.is_empty() {
        return Err(misconfigured(field, Problem::Empty));
    }
    let list = match shape {
        ListShape::Comma => text.contains(','),
        ListShape::CommaSpace => text
            .split(',')
            .skip(1)
            .any(|rest| rest.starts_with([' ', '\t'])),
    };
    if list {
        return Err(misconfigured(field, Problem::List));
    }
    Ok(Some(text))
}

fn parse_method(text: &str, field: Field) -> Result<Method, Misconfiguration> {
    Method::from_bytes(text.as_bytes())
        .map_err(|_| misconfigured(field, Problem::Invalid("a method token")))
}

fn parse_scheme(text: &str, field: Field) -> Result<Scheme, Misconfiguration> {
    if text.eq_ignore_ascii_case("http") {
        Ok(Scheme::HTTP)
    } else if text.eq_ignore_ascii_case("https") {
        Ok(Scheme::HTTPS)
    } else {
        Err(misconfigured(field, Problem::Invalid("http or https")))
    }
}

fn parse_authority(text: &str, field: Field) -> Result<Authority, Misconfiguration> {
    let invalid = || misconfigured(field, Problem::Invalid("a host with an optional port"));
    if text.contains('@') {
        return Err(invalid());
    }
    let authority = text.parse::<Authority>().map_err(|_| invalid())?;
    // `Authority` accepts any port text; the original's must be a number.
    let rest = authority
        .as_str()
        .get(authority.host().len()..)
        .unwrap_or("");
    match rest.strip_prefix(':') {
        None if rest.is_empty() => Ok(authority),
        Some(port) if port.parse::<u16>().is_ok() => Ok(authority),
        _ => Err(invalid()),
    }
}

fn parse_target(text: &str, field: Field) -> Result<PathAndQuery, Misconfiguration> {
    let invalid = || misconfigured(field, Problem::Invalid("a path and query starting with /"));
    if !text.starts_with('/') || text.contains(['#', ' ', '\t']) {
        return Err(invalid());
    }
    text.parse::<PathAndQuery>().map_err(|_| invalid())
}

/// The pieces ingress-nginx's `X-Original-URL` holds.
struct OriginalUrl {
    scheme: Scheme,
    authority: Authority,
    target: PathAndQuery,
}

fn parse_original_url(text: &str) -> Result<OriginalUrl, Misconfiguration> {
    let field = Field::OriginalUrl;
    let invalid = || misconfigured(field, Problem::Invalid("an absolute http(s) URL"));
    if text.contains(['#', ' ', '\t', '@']) {
        return Err(invalid());
    }
    let uri = text.parse::<Uri>().map_err(|_| invalid())?;
    let parts = uri.into_parts();
    let scheme = parts.scheme.ok_or_else(invalid)?;
    let scheme = parse_scheme(scheme.as_str(), field).map_err(|_| invalid())?;
    let authority = parts.authority.ok_or_else(invalid)?;
    let target = parts
        .path_and_query
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    if !target.as_str().starts_with('/') {
        return Err(invalid());
    }
    Ok(OriginalUrl {
        scheme,
        authority,
        target,
    })
}

/// The first of the candidates present, after checking every other present one equals it.
fn agree<T: PartialEq>(
    candidates: impl IntoIterator<Item = Option<(Field, T)>>,
) -> Result<Option<(Field, T)>, Misconfiguration> {
    let mut chosen: Option<(Field, T)> = None;
    for (field, value) in candidates.into_iter().flatten() {
        match &chosen {
            None => chosen = Some((field, value)),
            Some((first, agreed)) if *agreed != value => {
                return Err(misconfigured(field, Problem::Disagrees(*first)));
            }
            Some(_) => {}
        }
    }
    Ok(chosen)
}

fn required<T>(agreed: Option<(Field, T)>, primary: Field) -> Result<T, Misconfiguration> {
    agreed
        .map(|(_, value)| value)
        .ok_or(misconfigured(primary, Problem::Missing))
}

/// What Envoy's `ext_authz` sends of the original in the question itself.
struct EnvoyQuestion {
    method: Method,
    authority: Authority,
    target: PathAndQuery,
}

fn envoy_question(
    question: &request::Parts,
    prefix: &str,
) -> Result<Option<EnvoyQuestion>, Misconfiguration> {
    let Some(rest) = question.uri.path().strip_prefix(prefix) else {
        return Ok(None);
    };
    if !rest.starts_with('/') {
        return Ok(None);
    }
    let target = match question.uri.query() {
        Some(query) => format!("{rest}?{query}"),
        None => rest.to_owned(),
    };
    let target = parse_target(&target, Field::QuestionPath)?;
    let authority = match question.uri.authority() {
        Some(authority) => authority.clone(),
        None => {
            let host = single(
                &question.headers,
                &HOST,
                Field::QuestionHost,
                ListShape::Comma,
            )?;
            let host = host.ok_or(misconfigured(Field::QuestionHost, Problem::Missing))?;
            parse_authority(host, Field::QuestionHost)?
        }
    };
    Ok(Some(EnvoyQuestion {
        method: question.method.clone(),
        authority,
        target,
    }))
}

/// Rebuilds the original request: HTTP/1.1, absolute-form target and the same authority in `Host`,
/// and every field of the question but the conventions' own and the question's `Host`.
pub(crate) fn rebuild(
    question: &request::Parts,
    conventions: &Conventions,
) -> Result<Request<()>, Misconfiguration> {
    let headers = &question.headers;
    let fwd_method = single(
        headers,
        &X_FORWARDED_METHOD,
        Field::ForwardedMethod,
        ListShape::Comma,
    )?
    .map(|text| parse_method(text, Field::ForwardedMethod))
    .transpose()?;
    let fwd_proto = single(
        headers,
        &X_FORWARDED_PROTO,
        Field::ForwardedProto,
        ListShape::Comma,
    )?
    .map(|text| parse_scheme(text, Field::ForwardedProto))
    .transpose()?;
    let fwd_host = single(
        headers,
        &X_FORWARDED_HOST,
        Field::ForwardedHost,
        ListShape::Comma,
    )?
    .map(|text| parse_authority(text, Field::ForwardedHost))
    .transpose()?;
    let fwd_uri = single(
        headers,
        &X_FORWARDED_URI,
        Field::ForwardedUri,
        ListShape::CommaSpace,
    )?
    .map(|text| parse_target(text, Field::ForwardedUri))
    .transpose()?;
    let orig_method = single(
        headers,
        &X_ORIGINAL_METHOD,
        Field::OriginalMethod,
        ListShape::Comma,
    )?
    .map(|text| parse_method(text, Field::OriginalMethod))
    .transpose()?;
    let orig_url = single(
        headers,
        &X_ORIGINAL_URL,
        Field::OriginalUrl,
        ListShape::CommaSpace,
    )?
    .map(parse_original_url)
    .transpose()?;
    let envoy = match conventions.envoy_path_prefix.as_deref() {
        Some(prefix) => envoy_question(question, prefix)?,
        None => None,
    };

    let method = agree([
        fwd_method.map(|v| (Field::ForwardedMethod, v)),
        orig_method.map(|v| (Field::OriginalMethod, v)),
        envoy
            .as_ref()
            .map(|e| (Field::QuestionMethod, e.method.clone())),
    ])?;
    let method = required(method, Field::ForwardedMethod)?;
    let scheme = agree([
        fwd_proto.map(|v| (Field::ForwardedProto, v)),
        orig_url
            .as_ref()
            .map(|u| (Field::OriginalUrl, u.scheme.clone())),
    ])?;
    // X-Forwarded-Proto is required even when X-Original-URL names a scheme.
    if !matches!(scheme, Some((Field::ForwardedProto, _))) {
        return Err(misconfigured(Field::ForwardedProto, Problem::Missing));
    }
    let scheme = required(scheme, Field::ForwardedProto)?;
    let authority = agree([
        fwd_host.map(|v| (Field::ForwardedHost, v)),
        orig_url
            .as_ref()
            .map(|u| (Field::OriginalUrl, u.authority.clone())),
        envoy
            .as_ref()
            .map(|e| (Field::QuestionHost, e.authority.clone())),
    ])?;
    // Likewise X-Forwarded-Host, unless Envoy's question names the authority itself.
    if orig_url.is_some()
        && envoy.is_none()
        && !matches!(authority, Some((Field::ForwardedHost, _)))
    {
        return Err(misconfigured(Field::ForwardedHost, Problem::Missing));
    }
    let authority = required(authority, Field::ForwardedHost)?;
    let target = agree([
        fwd_uri.map(|v| (Field::ForwardedUri, v)),
        orig_url.map(|u| (Field::OriginalUrl, u.target)),
        envoy.map(|e| (Field::QuestionPath, e.target)),
    ])?;
    let target = required(target, Field::ForwardedUri)?;

    let host = HeaderValue::from_str(authority.as_str()).map_err(|_| {
        misconfigured(
            Field::ForwardedHost,
            Problem::Invalid("a host with an optional port"),
        )
    })?;
    let uri = Uri::builder()
        .scheme(scheme)
        .authority(authority)
        .path_and_query(target)
        .build()
        .map_err(|_| misconfigured(Field::ForwardedUri, Problem::Invalid("a valid target")))?;

    let mut original_headers = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if *name != HOST && !is_convention_field(name) {
            original_headers.append(name.clone(), value.clone());
        }
    }
    original_headers.insert(HOST, host);
    if conventions.restore_websocket_upgrade
        && original_headers.contains_key(SEC_WEBSOCKET_KEY)
        && !original_headers.contains_key(UPGRADE)
        && only_persistence_tokens(&original_headers)
    {
        original_headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        original_headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    }

    let mut original = Request::new(());
    *original.method_mut() = method;
    *original.uri_mut() = uri;
    *original.version_mut() = Version::HTTP_11;
    *original.headers_mut() = original_headers;
    Ok(original)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn question(lines: &[(&str, &str)]) -> request::Parts {
        question_at("/auth", lines)
    }

    fn question_at(target: &str, lines: &[(&str, &str)]) -> request::Parts {
        let mut builder = Request::get(target).version(Version::HTTP_10);
        for (name, value) in lines {
            builder = builder.header(*name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    const FOUR: [(&str, &str); 4] = [
        ("x-forwarded-method", "POST"),
        ("x-forwarded-proto", "http"),
        ("x-forwarded-host", "localhost:8188"),
        ("x-forwarded-uri", "/api/prompt?x=1,2"),
    ];

    fn err(lines: &[(&str, &str)]) -> String {
        match rebuild(&question(lines), &Conventions::default()) {
            Ok(original) => format!("rebuilt {original:?}"),
            Err(m) => m.to_string(),
        }
    }

    #[test]
    fn four_fields_rebuild_an_http11_original() {
        let mut lines = FOUR.to_vec();
        lines.push(("host", "127.0.0.1:9180"));
        lines.push(("origin", "http://localhost:8188"));
        let original = rebuild(&question(&lines), &Conventions::default()).unwrap();
        assert_eq!(original.method(), Method::POST);
        assert_eq!(original.version(), Version::HTTP_11);
        assert_eq!(
            original.uri().to_string(),
            "http://localhost:8188/api/prompt?x=1,2"
        );
        let headers = original.headers();
        assert_eq!(headers.get_all(HOST).iter().count(), 1);
        assert_eq!(
            headers.get(HOST).map(|v| v.as_bytes()),
            Some(&b"localhost:8188"[..])
        );
        assert_eq!(
            headers.get("origin").map(|v| v.as_bytes()),
            Some(&b"http://localhost:8188"[..])
        );
        assert!(headers.get("x-forwarded-method").is_none());
        assert!(headers.get("x-forwarded-uri").is_none());
    }

    #[test]
    fn each_missing_field_is_named() {
        for (index, (name, _)) in FOUR.iter().enumerate() {
            let lines: Vec<_> = FOUR
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != index)
                .map(|(_, line)| *line)
                .collect();
            let expected = match *name {
                "x-forwarded-method" => "X-Forwarded-Method is missing",
                "x-forwarded-proto" => "X-Forwarded-Proto is missing",
                "x-forwarded-host" => "X-Forwarded-Host is missing",
                _ => "X-Forwarded-Uri is missing",
            };
            assert_eq!(err(&lines), expected);
        }
    }

    #[rustfmt::skip]
    const BAD: &[(&str, &str, &str)] = &[
        ("x-forwarded-method", "GET, POST", "X-Forwarded-Method is a comma list (send one value)"),
        ("x-forwarded-method", "GE T", "X-Forwarded-Method is not a method token"),
        ("x-forwarded-method", "", "X-Forwarded-Method is empty"),
        ("x-forwarded-proto", "https,http", "X-Forwarded-Proto is a comma list (send one value)"),
        ("x-forwarded-proto", "ftp", "X-Forwarded-Proto is not http or https"),
        ("x-forwarded-host", "a.example, b.example", "X-Forwarded-Host is a comma list (send one value)"),
        ("x-forwarded-host", "user@a.example", "X-Forwarded-Host is not a host with an optional port"),
        ("x-forwarded-host", "a.example:http", "X-Forwarded-Host is not a host with an optional port"),
        ("x-forwarded-uri", "/a, /b", "X-Forwarded-Uri is a comma list (send one value)"),
        ("x-forwarded-uri", "http://a.example/", "X-Forwarded-Uri is not a path and query starting with /"),
        ("x-forwarded-uri", "/a#frag", "X-Forwarded-Uri is not a path and query starting with /"),
        ("x-original-url", "/relative", "X-Original-URL is not an absolute http(s) URL"),
        ("x-original-method", "DELETE", "X-Original-Method disagrees with X-Forwarded-Method"),
        ("x-original-url", "http://localhost:8188/other", "X-Original-URL disagrees with X-Forwarded-Uri"),
        ("x-original-url", "https://localhost:8188/api/prompt?x=1,2", "X-Original-URL disagrees with X-Forwarded-Proto"),
        ("x-original-url", "http://evil.example/api/prompt?x=1,2", "X-Original-URL disagrees with X-Forwarded-Host"),
    ];

    #[test]
    fn bad_values_are_named() {
        for (name, value, expected) in BAD {
            let mut lines: Vec<_> = FOUR.iter().filter(|(n, _)| n != name).copied().collect();
            lines.push((name, value));
            assert_eq!(err(&lines), *expected, "{name}: {value}");
        }
    }

    #[test]
    fn repeated_fields_are_named() {
        for (name, value) in FOUR {
            let mut lines = FOUR.to_vec();
            lines.push((name, value));
            let field = err(&lines);
            assert!(field.ends_with("is repeated (send it once)"), "{field}");
        }
    }

    #[test]
    fn ingress_nginx_fields_stand_for_method_and_target() {
        let lines = [
            ("x-original-method", "POST"),
            ("x-original-url", "http://LOCALHOST:8188/api/prompt?x=1"),
            ("x-forwarded-proto", "http"),
            ("x-forwarded-host", "localhost:8188"),
        ];
        let original = rebuild(&question(&lines), &Conventions::default());
        let original = original.unwrap();
        assert_eq!(original.method(), Method::POST);
        assert_eq!(
            original.uri().to_string(),
            "http://localhost:8188/api/prompt?x=1"
        );
        let without_host = &lines[..3];
        assert_eq!(err(without_host), "X-Forwarded-Host is missing");
    }

    #[test]
    fn envoy_prefix_takes_the_question_line() {
        let conventions = Conventions {
            envoy_path_prefix: Some("/crossguard".to_owned()),
            ..Conventions::default()
        };
        let q = question_at(
            "/crossguard/api/prompt?x=1",
            &[("host", "localhost:8188"), ("x-forwarded-proto", "http")],
        );
        let original = rebuild(&q, &conventions).unwrap();
        assert_eq!(original.method(), Method::GET);
        assert_eq!(
            original.uri().to_string(),
            "http://localhost:8188/api/prompt?x=1"
        );
        // Outside the prefix the question is an ordinary one.
        let q = question_at(
            "/crossguardx/a",
            &[("host", "localhost:8188"), ("x-forwarded-proto", "http")],
        );
        let problem = rebuild(&q, &conventions).err();
        assert_eq!(
            problem.map(|m| m.to_string()).as_deref(),
            Some("X-Forwarded-Method is missing")
        );
        // Both conventions present: they must agree.
        let q = question_at(
            "/crossguard/a",
            &[
                ("host", "localhost:8188"),
                ("x-forwarded-proto", "http"),
                ("x-forwarded-uri", "/b"),
            ],
        );
        let problem = rebuild(&q, &conventions).err().map(|m| m.to_string());
        assert_eq!(
            problem.as_deref(),
            Some("the question's path (--envoy-path-prefix) disagrees with X-Forwarded-Uri")
        );
    }

    #[test]
    fn stripped_upgrade_is_restored_only_when_asked_and_only_when_both_are_gone() {
        let mut lines = FOUR.to_vec();
        lines.push(("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="));
        let asked = Conventions {
            restore_websocket_upgrade: true,
            ..Conventions::default()
        };
        let original = rebuild(&question(&lines), &asked).unwrap();
        assert_eq!(original.headers()["upgrade"], "websocket");
        assert_eq!(original.headers()["connection"], "Upgrade");
        let original = rebuild(&question(&lines), &Conventions::default()).unwrap();
        assert!(original.headers().get("upgrade").is_none());
        // An engine that replaced `Connection: Upgrade` with a persistence token.
        for persistence in ["keep-alive", "close", "Keep-Alive, close"] {
            let mut lines = lines.clone();
            lines.push(("connection", persistence));
            let original = rebuild(&question(&lines), &asked).unwrap();
            assert_eq!(original.headers()["upgrade"], "websocket", "{persistence}");
            assert_eq!(original.headers()["connection"], "Upgrade", "{persistence}");
        }
        // Any other token: the engine did not just strip the handshake's fields.
        lines.push(("connection", "keep-alive, x-other"));
        let original = rebuild(&question(&lines), &asked).unwrap();
        assert!(original.headers().get("upgrade").is_none());
        assert_eq!(original.headers()["connection"], "keep-alive, x-other");
    }

    #[test]
    fn health_check_is_plain() {
        let path = "/.crossguard/health";
        let at = |target: &str, method: &str, lines: &[(&str, &str)]| {
            let mut builder = Request::builder().method(method).uri(target);
            for (name, value) in lines {
                builder = builder.header(*name, *value);
            }
            builder.body(()).unwrap().into_parts().0
        };
        #[rustfmt::skip]
        let rows: &[(&str, request::Parts, bool)] = &[
            ("an engine's probe", at(path, "GET", &[("host", "127.0.0.1:9180")]), true),
            ("HEAD", at(path, "HEAD", &[]), true),
            ("POST is a question", at(path, "POST", &[]), false),
            ("a query is a question", at("/.crossguard/health?x", "GET", &[]), false),
            ("another path", at("/.crossguard/healthz", "GET", &[]), false),
            ("a forwarded field", at(path, "GET", &[("x-forwarded-host", "a")]), false),
            ("an Origin (Envoy passing an original's field)", at(path, "GET", &[("origin", "https://evil.example")]), false),
            ("Sec-Fetch-Site", at(path, "GET", &[("sec-fetch-site", "cross-site")]), false),
            ("a handshake's key", at(path, "GET", &[("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")]), false),
            ("a cookie", at(path, "GET", &[("cookie", "a=b")]), false),
        ];
        for (name, question, plain) in rows {
            assert_eq!(is_health_check(question, path), *plain, "{name}");
        }
    }

    #[test]
    fn health_probe_detection() {
        assert!(!carries_forwarded_fields(
            &question(&[("host", "x")]).headers
        ));
        assert!(carries_forwarded_fields(
            &question(&[("x-forwarded-for", "1.2.3.4")]).headers
        ));
        assert!(carries_forwarded_fields(
            &question(&[("x-original-url", "http://a/")]).headers
        ));
    }
}
