//! The report: one line per check of the library's explanation for people, one JSON object for
//! programs. Nothing here judges a field: marks and words come from the [`Explanation`].

use std::fmt::Write as _;

use crossguard::explain::{Check, Finding, Outcome, Step};
use crossguard::explain::{SecFetchDest, SecFetchSite};
use crossguard::websocket::Handshake;
use crossguard::{Explanation, Policy, Rejection, Rule};
use http::header::{self, HeaderName, HeaderValue};
use http::{HeaderMap, Request, Response, StatusCode};
use serde_json::json;

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
    headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), lossy(value)))
}

fn lossy(value: &HeaderValue) -> String {
    String::from_utf8_lossy(value.as_bytes()).into_owned()
}

impl Report {
    /// The report of `explanation`, made by `policy`: a refusal shows the response every surface
    /// sends, an allowed request the fields the guard adds to the service's response.
    pub(crate) fn new(explanation: &Explanation, request: &Request<()>, policy: &Policy) -> Self {
        let (allowed, rejection, rule, handshake) = match explanation.result() {
            Ok(verdict) => (
                true,
                verdict.reported(),
                verdict.rule(),
                verdict.handshake(),
            ),
            Err(rejection) => (false, Some(*rejection), rejection.rule(), None),
        };
        let refusal: Option<Response<String>> = match explanation.result() {
            Err(rejection) => Some(policy.rejection_response(*rejection)),
            Ok(_) => None,
        };
        // What the guard adds to the service's response.
        let mut added = HeaderMap::new();
        if let Ok(verdict) = explanation.result() {
            policy.add_response_headers(verdict, &mut added);
        }
        let mut response_headers = Vec::new();
        let status = if let Some(response) = &refusal {
            response_headers.extend(header_pairs(response.headers()));
            Some(response.status())
        } else if let Some(handshake) = handshake {
            response_headers.extend(header_pairs(&handshake.response_headers()));
            response_headers.extend(header_pairs(&added));
            Some(handshake.status())
        } else {
            response_headers.extend(header_pairs(&added));
            None
        };
        let websocket = explanation.is_handshake().then(|| WebSocketAnswer {
            accept: handshake
                .and_then(Handshake::accept)
                .map(|a| a.as_str().to_owned()),
            protocol: handshake.and_then(Handshake::protocol).map(str::to_owned),
            extensions: handshake
                .and_then(Handshake::deflate)
                .map(ToString::to_string),
        });
        let body = refusal.map(Response::into_body);
        let request_line = format!(
            "{} {} {:?}",
            request.method(),
            request.uri(),
            request.version()
        );
        let lines = explanation
            .steps()
            .map(|step| describe(step, request, handshake))
            .collect();
        Self {
            allowed,
            status,
            rejection,
            rule,
            websocket,
            response_headers,
            body,
            lines,
            request_line,
            report_only: policy.is_report_only(),
        }
    }

    pub(crate) fn allowed(&self) -> bool {
        self.allowed
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

const PASSED: &str = "✓";
const REFUSED: &str = "✗";
const NOT_DECISIVE: &str = "·";

/// One report line: the mark of the step's outcome, the check's name, and what was read.
fn describe(
    step: Step,
    request: &Request<()>,
    handshake: Option<&Handshake>,
) -> (&'static str, &'static str, String) {
    let value = shown(step.check, request);
    let mark = match step.outcome {
        Outcome::Passed(_) | Outcome::Allowed(_) => PASSED,
        Outcome::Refused(_) => REFUSED,
        _ => NOT_DECISIVE,
    };
    let text = match step.outcome {
        Outcome::Refused(rejection) => match value {
            Some(value) => format!("{value}: {rejection}"),
            None => format!("absent: {rejection}"),
        },
        Outcome::Absent => match step.check {
            Check::SecFetchSite => "absent (old browser, or not a browser)".to_owned(),
            Check::Connection | Check::SecWebSocketKey => {
                "absent (not used over HTTP/2)".to_owned()
            }
            _ => "absent".to_owned(),
        },
        Outcome::NotConsulted => format!("{} (not consulted)", value.unwrap_or_default()),
        Outcome::NotReached => match value {
            Some(value) => format!("{value} (not reached)"),
            None => "absent (not reached)".to_owned(),
        },
        Outcome::Passed(finding) | Outcome::Allowed(finding) | Outcome::NotDecisive(finding) => {
            let value = value.unwrap_or_else(|| "absent".to_owned());
            match finding {
                Finding::HostAllowlisted => format!("{value} is in the host allowlist"),
                Finding::NoHostAllowlist => format!("{value} (no host allowlist)"),
                Finding::NoAuthority => {
                    "none (allowed for HTTP/1.0 and HTTP/2 without :authority)".to_owned()
                }
                Finding::SameOrigin => format!("{value} is the request's own origin"),
                Finding::OriginAllowlisted => format!("{value} is allowlisted"),
                Finding::OriginNotAllowlisted => format!("{value} is not allowlisted"),
                Finding::Site(SecFetchSite::None) => format!("{value} (user-initiated)"),
                Finding::Site(SecFetchSite::SameSite) if step.outcome.is_decisive() => {
                    format!("{value} (allowed by opt-in)")
                }
                Finding::Site(_) if !step.outcome.is_decisive() => {
                    format!("{value} (not decisive)")
                }
                Finding::Mode(_) if step.outcome.is_decisive() => {
                    format!("{value} (a navigation)")
                }
                Finding::Mode(_) => format!("{value} (not a navigation)"),
                Finding::Dest(SecFetchDest::Object | SecFetchDest::Embed) => {
                    format!("{value} (plugin content, never a navigation)")
                }
                Finding::Dest(_) if !step.outcome.is_decisive() => {
                    format!("{value} (not decisive)")
                }
                Finding::Bypassed => "the bypass predicate selected the request".to_owned(),
                Finding::NotBypassed => "the bypass predicate did not select it".to_owned(),
                Finding::Valid => handshake_detail(step.check, value, handshake),
                _ => value,
            }
        }
        _ => value.unwrap_or_default(),
    };
    (mark, step.check.as_str(), text)
}

/// What a valid handshake field agreed to.
fn handshake_detail(check: Check, value: String, handshake: Option<&Handshake>) -> String {
    // A refused handshake agreed to nothing: its fields are shown as read.
    let Some(handshake) = handshake else {
        return value;
    };
    let handshake = Some(handshake);
    match check {
        Check::SecWebSocketKey => match handshake.and_then(Handshake::accept) {
            Some(accept) => format!("{value} (accept {accept})"),
            None => value,
        },
        Check::SecWebSocketProtocol => match handshake.and_then(Handshake::protocol) {
            Some(chosen) => format!("{value} (selected {chosen})"),
            None => format!("{value} (none selected)"),
        },
        Check::SecWebSocketExtensions => match handshake.and_then(Handshake::deflate) {
            Some(agreed) => format!("{value} (agreed {agreed})"),
            None => format!("{value} (no extension agreed)"),
        },
        _ => value,
    }
}

/// The request's own text for what a check reads, for display only; `None` when absent.
fn shown(check: Check, request: &Request<()>) -> Option<String> {
    let headers = request.headers();
    let field = |name: HeaderName| {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        (!values.is_empty()).then(|| values.join(" | "))
    };
    match check {
        Check::Host => {
            let host = field(header::HOST);
            match (request.uri().authority(), host) {
                (Some(target), Some(host)) if target.as_str() != host => {
                    Some(format!("{target} (target) vs Host {host}"))
                }
                (Some(target), _) => Some(target.as_str().to_owned()),
                (None, host) => host,
            }
        }
        Check::Origin => field(header::ORIGIN),
        Check::SecFetchSite => field(HeaderName::from_static("sec-fetch-site")),
        Check::SecFetchMode => field(HeaderName::from_static("sec-fetch-mode")),
        Check::SecFetchDest => field(HeaderName::from_static("sec-fetch-dest")),
        Check::HttpVersion => Some(format!("{:?}", request.version())),
        Check::Upgrade => field(header::UPGRADE),
        Check::Method => Some(request.method().to_string()),
        Check::Connection => field(header::CONNECTION),
        Check::SecWebSocketKey => field(header::SEC_WEBSOCKET_KEY),
        Check::SecWebSocketVersion => field(header::SEC_WEBSOCKET_VERSION),
        Check::SecWebSocketProtocol => field(header::SEC_WEBSOCKET_PROTOCOL),
        Check::SecWebSocketExtensions => field(header::SEC_WEBSOCKET_EXTENSIONS),
        _ => None,
    }
}
