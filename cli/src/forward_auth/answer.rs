//! Turns the policy's verdict about the original into the engine's answer:
//!
//! - allowed: `200`, empty body, the fields the guard adds to every response
//!   ([`Policy::add_response_headers`]); an allowed handshake adds
//!   `X-Crossguard-Accept`; report-only adds `X-Crossguard-Reason` when it would have refused;
//! - refused: the library's refusal ([`Policy::rejection_response`]: status, body and headers),
//!   with `--deny-status` as its status when set, plus `X-Crossguard-Reason`.

use bytes::Bytes;
use crossguard::{Policy, Rejection};
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::Full;

/// The reason code of a refusal (or, in report-only mode, of a would-be refusal).
pub(crate) const X_CROSSGUARD_REASON: HeaderName = HeaderName::from_static("x-crossguard-reason");
/// The `Sec-WebSocket-Accept` the guard computed for an allowed handshake (informational).
pub(crate) const X_CROSSGUARD_ACCEPT: HeaderName = HeaderName::from_static("x-crossguard-accept");

/// The body of a misconfiguration answer.
pub(crate) const MISCONFIGURED_BODY: &str = "crossguard: forward_auth_misconfigured\n";
const MISCONFIGURED_REASON: HeaderValue = HeaderValue::from_static("forward_auth_misconfigured");

/// What the guard decided about the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Allowed,
    /// Report-only: allowed, but the policy would have refused it.
    Reported(Rejection),
    Refused(Rejection),
}

/// The status every refusal gets with `--deny-status` (nginx's `auth_request` passes only 401 and
/// 403 through).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DenyStatus(StatusCode);

impl DenyStatus {
    /// Parses `401` or `403`; any other value is refused.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        match text {
            "401" => Ok(Self(StatusCode::UNAUTHORIZED)),
            "403" => Ok(Self(StatusCode::FORBIDDEN)),
            _ => Err("must be 401 or 403".to_owned()),
        }
    }
}

/// Asks the policy about originals and answers the engine.
#[derive(Debug, Clone)]
pub(crate) struct Judge {
    policy: Policy,
    deny_status: Option<DenyStatus>,
}

impl Judge {
    pub(crate) fn new(policy: Policy, deny_status: Option<DenyStatus>) -> Self {
        Self {
            policy,
            deny_status,
        }
    }

    /// The engine's answer about `original`, and what was decided.
    pub(crate) fn answer(&self, original: &Request<()>) -> (Response<Full<Bytes>>, Decision) {
        let verdict = match self.policy.check_request(original) {
            Ok(verdict) => verdict,
            Err(rejection) => {
                let mut response = self.policy.rejection_response(rejection);
                if let Some(DenyStatus(status)) = self.deny_status {
                    *response.status_mut() = status;
                }
                insert_reason(&mut response, rejection);
                return (response, Decision::Refused(rejection));
            }
        };
        let mut response = Response::new(Full::default());
        let headers = response.headers_mut();
        if let Some(accept) = verdict.handshake().and_then(|h| h.accept()) {
            headers.insert(X_CROSSGUARD_ACCEPT, accept.to_header_value());
        }
        self.policy.add_response_headers(&verdict, headers);
        match verdict.reported() {
            Some(rejection) => {
                insert_reason(&mut response, rejection);
                (response, Decision::Reported(rejection))
            }
            None => (response, Decision::Allowed),
        }
    }
}

fn insert_reason<B>(response: &mut Response<B>, rejection: Rejection) {
    if let Ok(reason) = HeaderValue::from_str(rejection.reason()) {
        response.headers_mut().insert(X_CROSSGUARD_REASON, reason);
    }
}

fn text_response(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// `500 crossguard: forward_auth_misconfigured`: the engine does not send what the original needs.
pub(crate) fn misconfigured() -> Response<Full<Bytes>> {
    let mut response = text_response(StatusCode::INTERNAL_SERVER_ERROR, MISCONFIGURED_BODY);
    response
        .headers_mut()
        .insert(X_CROSSGUARD_REASON, MISCONFIGURED_REASON);
    response
}

/// `200 ok`, for the engine's health checks.
pub(crate) fn healthy() -> Response<Full<Bytes>> {
    text_response(StatusCode::OK, "ok\n")
}
