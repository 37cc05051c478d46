//! The report: per-field lines for people, one JSON object for programs.

use std::fmt::Write as _;

use crossguard::policy::{
    Origin, SEC_FETCH_DEST, SEC_FETCH_MODE, SEC_FETCH_SITE, SecFetchDest, SecFetchMode,
    SecFetchSite, request_authority,
};
use crossguard::websocket::is_handshake;
use crossguard::{Policy, Rejection, RequestHead, Rule};
use http::header::{self, HeaderName};
use http::{HeaderMap, Request, StatusCode};
use serde_json::json;

use super::Outcome;

const GOOD: &str = "✓";
const BAD: &str = "✗";
const INFO: &str = "·";

/// Everything the report says.
pub(crate) struct Report {
    allowed: bool,
    status: Option<StatusCode>,
    rejection: Option<Rejection>,
    rule: Rule,
    websocket: Option<WebSocketAnswer>,
    response_headers: Vec<(String, String)>,
    body: Option<String>,
    lines: Vec<(&'static str, &'static str, String)>,
    request_line: String,
    report_only: bool,
}

struct WebSocketAnswer {
    accept: Option<String>,
    protocol: Option<String>,
    extensions: Option<String>,
}

fn header_pairs(headers: &HeaderMap) -> impl Iterator<Item = (String, String)> + '_ {
    headers.iter().map(|(name, value)| {
        (
            name.as_str().to_owned(),
            String::from_utf8_lossy(value.as_bytes()).into_owned(),
        )
    })
}

impl Report {
    pub(crate) fn new(policy: &Policy, request: &Request<()>, outcome: &Outcome) -> Self {
        let head = RequestHead::from_request(request);
        let refused = outcome.response.extensions().get::<Rejection>().copied();
        let (allowed, rejection, rule) = match (&outcome.verdict, refused) {
            (Some(verdict), _) => (true, verdict.reported(), verdict.rule()),
            (None, Some(rejection)) => (false, Some(rejection), rejection.rule()),
            // The guard always attaches one or the other; report the impossible honestly.
            (None, None) => (false, None, Rule::HeaderSyntax),
        };
        let handshake = outcome.verdict.as_ref().and_then(|v| v.handshake());
        let mut response_headers = Vec::new();
        let status = if !allowed {
            response_headers.extend(header_pairs(outcome.response.headers()));
            Some(outcome.response.status())
        } else if let Some(handshake) = handshake {
            response_headers.extend(header_pairs(&handshake.response_headers()));
            response_headers.extend(header_pairs(outcome.response.headers()));
            Some(handshake.status())
        } else {
            response_headers.extend(header_pairs(outcome.response.headers()));
            None
        };
        let websocket = is_handshake(&head).then(|| WebSocketAnswer {
            accept: handshake
                .and_then(|h| h.accept())
                .map(|a| a.as_str().to_owned()),
            protocol: handshake.and_then(|h| h.protocol()).map(str::to_owned),
            extensions: handshake.and_then(|h| h.deflate()).map(ToString::to_string),
        });
        let body = (!allowed).then(|| outcome.response.body().clone());
        let request_line = format!(
            "{} {} {:?}",
            request.method(),
            request.uri(),
            request.version()
        );
        let mut report = Self {
            allowed,
            status,
            rejection,
            rule,
            websocket,
            response_headers,
            body,
            lines: Vec::new(),
            request_line,
            report_only: policy.is_report_only(),
        };
        report.describe(policy, &head);
        report
    }

    pub(crate) fn allowed(&self) -> bool {
        self.allowed
    }

    fn line(&mut self, mark: &'static str, field: &'static str, text: impl Into<String>) {
        self.lines.push((mark, field, text.into()));
    }

    /// One line per signal, describing what the policy saw.
    fn describe(&mut self, policy: &Policy, head: &RequestHead<'_>) {
        let headers = head.headers();
        match request_authority(head.uri(), head.version(), headers) {
            Err(rejection) => self.line(BAD, "Host", rejection.to_string()),
            Ok(None) => self.line(
                INFO,
                "Host",
                "none (allowed for HTTP/1.0 and HTTP/2 without :authority)",
            ),
            Ok(Some(authority)) => {
                let shown = head
                    .uri()
                    .authority()
                    .map(|a| a.as_str().to_owned())
                    .or_else(|| {
                        headers
                            .get(header::HOST)
                            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    })
                    .unwrap_or_default();
                match policy.hosts() {
                    None => self.line(GOOD, "Host", format!("{shown} (no host allowlist)")),
                    Some(hosts) if hosts.allows(&authority) => {
                        self.line(GOOD, "Host", format!("{shown} is in the host allowlist"))
                    }
                    Some(_) => {
                        self.line(BAD, "Host", format!("{shown} is not in the host allowlist"))
                    }
                }
            }
        }

        let authority = request_authority(head.uri(), head.version(), headers)
            .ok()
            .flatten();
        match single(headers, &header::ORIGIN) {
            Field::Absent => self.line(INFO, "Origin", "absent"),
            Field::Repeated => self.line(BAD, "Origin", "repeated"),
            Field::One(value) => {
                let shown = String::from_utf8_lossy(value).into_owned();
                match Origin::parse(value) {
                    Err(_) => self.line(BAD, "Origin", format!("{shown:?} is not an origin")),
                    Ok(origin) if policy.origins().contains(&origin) => {
                        self.line(GOOD, "Origin", format!("{shown} is allowlisted"))
                    }
                    Ok(Origin::Null) => {
                        self.line(BAD, "Origin", "null (an opaque origin: identifies nobody)")
                    }
                    Ok(origin) if authority.is_some_and(|a| origin.is_same_authority(&a)) => self
                        .line(
                            GOOD,
                            "Origin",
                            format!("{shown} is the request's own origin"),
                        ),
                    Ok(_) => self.line(
                        BAD,
                        "Origin",
                        format!("{shown} is another origin, not allowlisted"),
                    ),
                }
            }
        }

        match single(headers, &SEC_FETCH_SITE) {
            Field::Absent => self.line(
                INFO,
                "Sec-Fetch-Site",
                "absent (old browser, or not a browser)",
            ),
            Field::Repeated => self.line(BAD, "Sec-Fetch-Site", "repeated"),
            Field::One(_) => match headers.get(SEC_FETCH_SITE).map(SecFetchSite::parse) {
                Some(Ok(SecFetchSite::SameOrigin)) => {
                    self.line(GOOD, "Sec-Fetch-Site", "same-origin")
                }
                Some(Ok(SecFetchSite::None)) => {
                    self.line(GOOD, "Sec-Fetch-Site", "none (user-initiated)")
                }
                Some(Ok(SecFetchSite::SameSite)) if policy.allows_same_site() => {
                    self.line(GOOD, "Sec-Fetch-Site", "same-site (allowed by opt-in)")
                }
                Some(Ok(SecFetchSite::SameSite)) => self.line(
                    BAD,
                    "Sec-Fetch-Site",
                    "same-site (another origin of this site; not allowed)",
                ),
                Some(Ok(SecFetchSite::CrossSite)) => self.line(BAD, "Sec-Fetch-Site", "cross-site"),
                Some(Ok(_)) => self.line(
                    BAD,
                    "Sec-Fetch-Site",
                    "unknown value (treated as cross-site)",
                ),
                _ => self.line(BAD, "Sec-Fetch-Site", "malformed"),
            },
        }
        match single(headers, &SEC_FETCH_MODE) {
            Field::Absent => self.line(INFO, "Sec-Fetch-Mode", "absent"),
            Field::Repeated => self.line(BAD, "Sec-Fetch-Mode", "repeated"),
            Field::One(value) => match headers.get(SEC_FETCH_MODE).map(SecFetchMode::parse) {
                Some(Ok(SecFetchMode::Navigate)) => self.line(GOOD, "Sec-Fetch-Mode", "navigate"),
                Some(Ok(_)) => self.line(
                    INFO,
                    "Sec-Fetch-Mode",
                    String::from_utf8_lossy(value).into_owned(),
                ),
                _ => self.line(BAD, "Sec-Fetch-Mode", "malformed"),
            },
        }
        match single(headers, &SEC_FETCH_DEST) {
            Field::Absent => self.line(INFO, "Sec-Fetch-Dest", "absent"),
            Field::Repeated => self.line(BAD, "Sec-Fetch-Dest", "repeated"),
            Field::One(value) => match headers.get(SEC_FETCH_DEST).map(SecFetchDest::parse) {
                Some(Ok(SecFetchDest::Object | SecFetchDest::Embed)) => self.line(
                    BAD,
                    "Sec-Fetch-Dest",
                    format!(
                        "{} (plugin content, never a navigation)",
                        String::from_utf8_lossy(value)
                    ),
                ),
                Some(Ok(_)) => self.line(
                    INFO,
                    "Sec-Fetch-Dest",
                    String::from_utf8_lossy(value).into_owned(),
                ),
                _ => self.line(BAD, "Sec-Fetch-Dest", "malformed"),
            },
        }
        if self.websocket.is_some() {
            self.describe_handshake(head);
        }
    }

    /// The handshake fields, in the order the verifier checks them: those before a failing field
    /// passed, those after it were not reached.
    fn describe_handshake(&mut self, head: &RequestHead<'_>) {
        let headers = head.headers();
        let show = |name: HeaderName| {
            let values: Vec<String> = headers
                .get_all(name)
                .iter()
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .collect();
            if values.is_empty() {
                "absent".to_owned()
            } else {
                values.join(" | ")
            }
        };
        let answer = self.websocket.as_ref();
        let accept = answer.and_then(|a| a.accept.clone());
        let protocol = answer.and_then(|a| a.protocol.clone());
        let extensions = answer.and_then(|a| a.extensions.clone());
        let fields: [(&'static str, Rejection, String); 8] = [
            (
                "HTTP version",
                Rejection::WebSocketHttpVersion,
                format!("{:?}", head.version()),
            ),
            (
                "Upgrade",
                Rejection::WebSocketUpgrade,
                show(header::UPGRADE),
            ),
            (
                "Method",
                Rejection::WebSocketMethodNotAllowed,
                head.method().to_string(),
            ),
            (
                "Connection",
                Rejection::WebSocketConnection,
                show(header::CONNECTION),
            ),
            (
                "Sec-WebSocket-Key",
                Rejection::InvalidWebSocketKey,
                match &accept {
                    Some(accept) => {
                        format!("{} (accept {accept})", show(header::SEC_WEBSOCKET_KEY))
                    }
                    None => show(header::SEC_WEBSOCKET_KEY),
                },
            ),
            (
                "Sec-WebSocket-Version",
                Rejection::UnsupportedWebSocketVersion,
                show(header::SEC_WEBSOCKET_VERSION),
            ),
            (
                "Sec-WebSocket-Protocol",
                Rejection::MalformedWebSocketProtocol,
                match &protocol {
                    Some(chosen) => format!(
                        "{} (selected {chosen})",
                        show(header::SEC_WEBSOCKET_PROTOCOL)
                    ),
                    None => format!("{} (none selected)", show(header::SEC_WEBSOCKET_PROTOCOL)),
                },
            ),
            (
                "Sec-WebSocket-Extensions",
                Rejection::MalformedWebSocketExtensions,
                match &extensions {
                    Some(agreed) => format!(
                        "{} (agreed {agreed})",
                        show(header::SEC_WEBSOCKET_EXTENSIONS)
                    ),
                    None => format!(
                        "{} (no extension agreed)",
                        show(header::SEC_WEBSOCKET_EXTENSIONS)
                    ),
                },
            ),
        ];
        let failing = self
            .rejection
            .and_then(|r| fields.iter().position(|(_, f, _)| *f == r));
        // The Host and repeated signal fields are checked before the handshake: when one of them
        // refused the request, no handshake field was looked at.
        let not_reached = matches!(
            self.rejection,
            Some(
                Rejection::MissingHost
                    | Rejection::DuplicateHost
                    | Rejection::MalformedHost
                    | Rejection::HostNotAllowed
                    | Rejection::DuplicateHeader(_)
            )
        );
        for (index, (name, _, text)) in fields.into_iter().enumerate() {
            let mark = match failing {
                Some(f) if index < f => GOOD,
                Some(f) if index == f => BAD,
                Some(_) => INFO,
                None if not_reached => INFO,
                None => GOOD,
            };
            let text = if mark == INFO {
                format!("{text} (not checked)")
            } else {
                text
            };
            self.line(mark, name, text);
        }
    }

    fn verdict_line(&self) -> String {
        match (self.allowed, self.rejection) {
            (true, None) => format!("ALLOWED by rule {}", self.rule),
            (true, Some(r)) => format!(
                "ALLOWED (report-only); would be REJECTED {} {} by rule {}: {r}",
                r.status().as_u16(),
                r.reason(),
                self.rule
            ),
            (false, Some(r)) => format!(
                "REJECTED {} {} by rule {}: {r}",
                r.status().as_u16(),
                r.reason(),
                self.rule
            ),
            (false, None) => "REJECTED".to_owned(),
        }
    }

    pub(crate) fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "request: {}{}",
            self.request_line,
            if self.report_only {
                " (report-only)"
            } else {
                ""
            }
        );
        let width = self
            .lines
            .iter()
            .map(|(_, field, _)| field.len())
            .max()
            .unwrap_or(0);
        for (mark, field, text) in &self.lines {
            let _ = writeln!(out, "  {mark} {field:<width$}  {text}");
        }
        let _ = writeln!(out, "verdict: {}", self.verdict_line());
        match self.status {
            Some(status) => {
                let _ = writeln!(out, "response:");
                let reason = status.canonical_reason().unwrap_or("");
                let _ = writeln!(out, "  HTTP/1.1 {} {reason}", status.as_u16());
                for (name, value) in &self.response_headers {
                    let _ = writeln!(out, "  {name}: {value}");
                }
                if let Some(body) = self.body.as_deref().filter(|b| !b.is_empty()) {
                    let _ = writeln!(out);
                    for line in body.lines() {
                        let _ = writeln!(out, "  {line}");
                    }
                }
            }
            None if self.response_headers.is_empty() => {
                let _ = writeln!(
                    out,
                    "response: none from crossguard; the request reaches the service"
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "response: the service's, with these fields added by crossguard:"
                );
                for (name, value) in &self.response_headers {
                    let _ = writeln!(out, "  {name}: {value}");
                }
            }
        }
        out
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        json!({
            "allowed": self.allowed,
            "status": self.status.map(|s| s.as_u16()),
            "reason": self.rejection.map(|r| r.reason()),
            "rule": self.rule.as_str(),
            "websocket": self.websocket.as_ref().map(|w| json!({
                "accept": w.accept,
                "protocol": w.protocol,
                "extensions": w.extensions,
            })),
            "response_headers": self.response_headers.iter().map(|(n, v)| json!([n, v])).collect::<Vec<_>>(),
        })
    }
}

enum Field<'a> {
    Absent,
    One(&'a [u8]),
    Repeated,
}

fn single<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Field<'a> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Field::Absent,
        (Some(value), None) => Field::One(value.as_bytes()),
        (Some(_), Some(_)) => Field::Repeated,
    }
}
