//! Turns the guard's answer about the original into the engine's answer.
//!
//! The original goes through [`GuardLayer`] in front of [`Allow`], a service that answers `200`
//! with an empty body (plus `X-Crossguard-Accept` for a handshake). The guard's response is then
//! mapped for the engine:
//!
//! - allowed: `200`, empty body; report-only adds `X-Crossguard-Reason` when it would have refused;
//! - refused: the guard's status (or `--deny-status`), body and headers, plus `X-Crossguard-Reason`.

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use crossguard::layer::DefaultRejection;
use crossguard::layer::Verdicts;
use crossguard::{Guard, GuardLayer, Policy, Rejection, Verdict};
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use tower_layer::Layer as _;
use tower_service::Service;

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
    /// The guard did not answer at once (it always does): the engine gets a 500.
    Unanswered,
}

/// The would-be rejection of a report-only verdict, handed from [`Allow`] to the mapping.
#[derive(Debug, Clone, Copy)]
struct Reported(Rejection);

/// The service behind the guard: every original that reaches it is allowed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Allow;

impl Service<Request<()>> for Allow {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, original: Request<()>) -> Self::Future {
        let mut response = Response::new(Full::default());
        if let Some(verdict) = original.extensions().get::<Verdict>() {
            if let Some(accept) = verdict.handshake().and_then(|h| h.accept()) {
                response
                    .headers_mut()
                    .insert(X_CROSSGUARD_ACCEPT, accept.to_header_value());
            }
            if let Some(rejection) = verdict.reported() {
                response.extensions_mut().insert(Reported(rejection));
            }
        }
        ready(Ok(response))
    }
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

/// Asks the guard about originals and answers the engine.
#[derive(Debug, Clone)]
pub(crate) struct Judge {
    guard: Guard<Allow, DefaultRejection>,
    deny_status: Option<DenyStatus>,
}

impl Judge {
    pub(crate) fn new(policy: Policy, deny_status: Option<DenyStatus>) -> Self {
        Self {
            // `Allow` reads a verdict only for handshakes and report-only refusals.
            guard: GuardLayer::new(policy)
                .verdicts(Verdicts::HandshakesAndReports)
                .layer(Allow),
            deny_status,
        }
    }

    /// The engine's answer about `original`, and what was decided.
    pub(crate) fn answer(&self, original: Request<()>) -> (Response<Full<Bytes>>, Decision) {
        let mut guard = self.guard.clone();
        let mut cx = Context::from_waker(Waker::noop());
        // The guard decides synchronously and `Allow` answers with `Ready`: both polls are ready
        // at once. Should that ever change, the engine gets a 500, never an allow.
        if !matches!(guard.poll_ready(&mut cx), Poll::Ready(Ok(()))) {
            return (internal_error(), Decision::Unanswered);
        }
        let future = pin!(guard.call(original));
        let Poll::Ready(Ok(mut response)) = future.poll(&mut cx) else {
            return (internal_error(), Decision::Unanswered);
        };
        if let Some(rejection) = response.extensions().get::<Rejection>().copied() {
            if let Some(DenyStatus(status)) = self.deny_status {
                *response.status_mut() = status;
            }
            insert_reason(&mut response, rejection);
            return (response, Decision::Refused(rejection));
        }
        *response.status_mut() = StatusCode::OK;
        match response.extensions().get::<Reported>().copied() {
            Some(Reported(rejection)) => {
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

fn internal_error() -> Response<Full<Bytes>> {
    text_response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "crossguard: internal_error\n",
    )
}
