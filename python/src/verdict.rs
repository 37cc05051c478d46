//! The `Verdict` Python sees: the library's decision, and the response fields that go with it.

use crossguard::{Rejection, RequestHead, websocket};
use http::{HeaderMap, HeaderName, HeaderValue};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::convert::Head;

/// The reason code of a head HTTP cannot carry (see `convert::Malformed`): no library check can
/// read it, so it is refused as a malformed head, `400`, before any check runs.
const MALFORMED_HEAD: &str = "malformed_head";

/// What the guard decided about one request, and what to answer.
///
/// - `allowed`: whether the request may reach the app (always, in report-only mode);
/// - `status`: the refusal's status, or `101`/`200` for an allowed WebSocket handshake, else
///   `None`;
/// - `reason`: the refusal's reason code (in report-only mode, the refusal it would have been);
/// - `rule`: the rule that decided;
/// - `websocket`: whether the request was judged as a WebSocket opening handshake;
/// - `accept`, `protocol`, `extensions`: an allowed handshake's `Sec-WebSocket-Accept`, agreed
///   subprotocol and agreed `permessage-deflate` parameters;
/// - `headers`: `(name, value)` pairs to send: a refusal's fields, a handshake's answer fields,
///   or the fields the guard adds to the app's response (`Vary`, and
///   `Cross-Origin-Resource-Policy` unless the response has its own);
/// - `body`: a refusal's `text/plain` body (`crossguard: <reason>\n`), else `None`.
#[pyclass(frozen, module = "crossguard._native", name = "Verdict")]
pub(crate) struct Verdict {
    #[pyo3(get)]
    allowed: bool,
    #[pyo3(get)]
    status: Option<u16>,
    #[pyo3(get)]
    reason: Option<&'static str>,
    #[pyo3(get)]
    rule: &'static str,
    #[pyo3(get)]
    websocket: bool,
    #[pyo3(get)]
    accept: Option<String>,
    #[pyo3(get)]
    protocol: Option<String>,
    #[pyo3(get)]
    extensions: Option<String>,
    /// The fields to send, in two parts kept as the library gives them, made into Python pairs
    /// only when read: a refusal's fields or a handshake's answer fields...
    answer: HeaderMap,
    /// ...then the fields the guard adds to the app's own response (`Vary`,
    /// `Cross-Origin-Resource-Policy`).
    added: HeaderMap,
    #[pyo3(get)]
    body: Option<&'static str>,
}

impl Verdict {
    /// The library's verdict on `head` under `policy`.
    pub(crate) fn of(policy: &crossguard::Policy, head: &Head) -> Self {
        let request = RequestHead::new(&head.method, &head.uri, head.version, head.headers())
            .with_protocol(head.protocol.as_deref());
        let is_handshake = websocket::is_handshake(&request);
        match policy.check(&request) {
            Err(rejection) => Self::refusal(policy, rejection, is_handshake),
            Ok(verdict) => {
                let handshake = verdict.handshake();
                // A handshake's answer fields, then what the guard adds (as the command lists
                // them).
                let mut added = HeaderMap::new();
                policy.add_response_headers(&verdict, &mut added);
                let answer = handshake.map_or_else(HeaderMap::new, |h| h.response_headers());
                Self {
                    allowed: true,
                    status: handshake.map(|h| h.status().as_u16()),
                    reason: verdict.reported().map(|r| r.reason()),
                    rule: verdict.rule().as_str(),
                    websocket: is_handshake,
                    accept: handshake
                        .and_then(websocket::Handshake::accept)
                        .map(|a| a.as_str().to_owned()),
                    protocol: handshake
                        .and_then(websocket::Handshake::protocol)
                        .map(str::to_owned),
                    extensions: handshake
                        .and_then(websocket::Handshake::deflate)
                        .map(ToString::to_string),
                    answer,
                    added,
                    body: None,
                }
            }
        }
    }

    /// The library's refusal response for `rejection`, as fields.
    fn refusal(policy: &crossguard::Policy, rejection: Rejection, websocket: bool) -> Self {
        let (parts, body) = policy
            .rejection_response::<&'static str>(rejection)
            .into_parts();
        Self {
            allowed: false,
            status: Some(parts.status.as_u16()),
            reason: Some(rejection.reason()),
            rule: rejection.rule().as_str(),
            websocket,
            accept: None,
            protocol: None,
            extensions: None,
            answer: parts.headers,
            added: HeaderMap::new(),
            body: Some(body),
        }
    }

    /// Every field to send, in order.
    fn fields(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.answer.iter().chain(self.added.iter())
    }

    /// Whether the request may reach the app.
    pub(crate) fn allowed(&self) -> bool {
        self.allowed
    }

    /// The fields the guard adds to the app's own response.
    pub(crate) fn into_added(self) -> HeaderMap {
        self.added
    }

    /// Whether the app may run as it is: allowed, and for a WebSocket scope (whose answer the
    /// server makes) no subprotocol to name, for a request no field to add to its response.
    pub(crate) fn passes_unchanged(&self, websocket_scope: bool) -> bool {
        self.allowed
            && if websocket_scope {
                self.protocol.is_none()
            } else {
                self.added.is_empty()
            }
    }

    /// The refusal of a head HTTP cannot carry: `400 malformed_head` by rule `header_syntax`,
    /// with the fields of the library's `400` refusals (`Content-Type`, the policy's `Vary`).
    /// Report-only mode does not let it through: no check could judge it.
    pub(crate) fn malformed_head(policy: &crossguard::Policy) -> Self {
        let mut verdict = Self::refusal(policy, Rejection::MalformedOrigin, false);
        verdict.reason = Some(MALFORMED_HEAD);
        verdict.body = Some("crossguard: malformed_head\n");
        verdict
    }
}

#[pymethods]
impl Verdict {
    /// The fields to send, as `(name, value)` pairs, names lower-case.
    #[getter]
    fn headers(&self) -> Vec<(&str, String)> {
        self.fields()
            .map(|(name, value)| {
                (
                    name.as_str(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect()
    }

    /// The same fields as `(bytes, bytes)` pairs, as ASGI servers take them.
    #[getter]
    fn raw_headers<'py>(&self, py: Python<'py>) -> Vec<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
        self.fields()
            .map(|(name, value)| {
                (
                    PyBytes::new(py, name.as_str().as_bytes()),
                    PyBytes::new(py, value.as_bytes()),
                )
            })
            .collect()
    }

    fn __repr__(&self) -> String {
        let python = |b: bool| if b { "True" } else { "False" };
        format!(
            "Verdict(allowed={}, status={}, reason={}, rule={:?})",
            python(self.allowed),
            self.status
                .map_or_else(|| "None".to_owned(), |s| s.to_string()),
            self.reason
                .map_or_else(|| "None".to_owned(), |r| format!("{r:?}")),
            self.rule,
        )
    }
}
