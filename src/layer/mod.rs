//! The Tower layer: [`GuardLayer`] wraps a service in a [`Guard`] that runs the [`Policy`] before
//! the service.
//!
//! - Allowed: the service is called. A WebSocket handshake carries its [`Verdict`] in the
//!   request's extensions (with the [`Handshake`](crate::websocket::Handshake) to answer with),
//!   and so does, in report-only mode, a request the policy would have refused
//!   ([`Verdict::reported`]). An ordinary allowed request carries none: there is nothing in it a
//!   handler needs, and leaving it out saves an allocation per request. In axum, extract
//!   `Option<Extension<Verdict>>`.
//! - Refused: the service is **not** called; the response comes from the [`OnRejection`] handler
//!   ([`DefaultRejection`] unless replaced: the same response as
//!   [`Policy::rejection_response`]) and carries the [`Rejection`] as an extension.
//!   Rejections are responses, never service errors.
//! - Report-only: every request reaches the service; the would-be rejection is in
//!   [`Verdict::reported`], passed to the reporter set with [`GuardLayer::on_report`], and logged
//!   with the `tracing` feature.
//!
//! ```
//! use axum::{Extension, Router, routing::{any, post}};
//! use crossguard::{GuardLayer, Policy, Verdict};
//! use tower::ServiceExt as _;
//! use http::{Request, StatusCode};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let app = Router::new()
//!     .route("/api/prompt", post(|verdict: Option<Extension<Verdict>>| async move {
//!         assert!(verdict.is_none()); // an ordinary allowed request carries no verdict
//!         "queued"
//!     }))
//!     .route("/ws", any(|Extension(verdict): Extension<Verdict>| async move {
//!         // a handshake always does: the accept value, subprotocol and deflate agreed
//!         let handshake = verdict.handshake().expect("a handshake's verdict has one");
//!         handshake.accept().map(|a| a.as_str().to_owned()).unwrap_or_default()
//!     }))
//!     .layer(GuardLayer::new(Policy::default()));
//!
//! let post = Request::post("/api/prompt")
//!     .header("host", "localhost:8188")
//!     .header("sec-fetch-site", "same-origin")
//!     .body(axum::body::Body::empty())
//!     .unwrap();
//! assert_eq!(app.clone().oneshot(post).await.unwrap().status(), StatusCode::OK);
//!
//! let attack = Request::post("/api/prompt")
//!     .header("host", "localhost:8188")
//!     .header("sec-fetch-site", "cross-site")
//!     .body(axum::body::Body::empty())
//!     .unwrap();
//! let response = app.oneshot(attack).await.unwrap();
//! assert_eq!(response.status(), StatusCode::FORBIDDEN);
//! assert_eq!(response.extensions().get(), Some(&crossguard::Rejection::CrossSiteRequest));
//! # }
//! ```

mod future;
mod on_rejection;

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Method, Request, Response, Uri};
use tower_layer::Layer;
use tower_service::Service;

pub use future::ResponseFuture;
pub use on_rejection::{DefaultRejection, OnRejection};

use crate::{Policy, Rejection, RequestHead, Verdict};

/// What a report-only reporter receives.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Report<'a> {
    /// The rejection the policy would have answered with.
    pub rejection: Rejection,
    /// The request's method.
    pub method: &'a Method,
    /// The request's target (log its path, not its query: queries can hold secrets).
    pub uri: &'a Uri,
}

type Reporter = Arc<dyn Fn(&Report<'_>) + Send + Sync>;

/// Applies a [`Policy`] in front of a service. `Clone` and cheap to clone.
#[derive(Clone)]
#[must_use]
pub struct GuardLayer<R = DefaultRejection> {
    policy: Policy,
    on_rejection: R,
    reporter: Option<Reporter>,
}

impl<R: fmt::Debug> fmt::Debug for GuardLayer<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardLayer")
            .field("policy", &self.policy)
            .field("on_rejection", &self.on_rejection)
            .field("reporter", &self.reporter.is_some())
            .finish()
    }
}

impl Default for GuardLayer {
    /// The default policy ([`Policy::default`]).
    fn default() -> Self {
        Self::new(Policy::default())
    }
}

impl GuardLayer {
    /// A layer applying `policy`, answering rejections with [`DefaultRejection`].
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            on_rejection: DefaultRejection,
            reporter: None,
        }
    }
}

impl<R> GuardLayer<R> {
    /// Replaces the rejection response.
    ///
    /// ```
    /// use axum::body::Body;
    /// use crossguard::{GuardLayer, Policy, Rejection};
    /// use http::Response;
    ///
    /// let layer = GuardLayer::new(Policy::default()).on_rejection(|r: &Rejection| {
    ///     let mut res = Response::new(Body::from(format!("{{\"error\":\"{}\"}}", r.reason())));
    ///     *res.status_mut() = r.status();
    ///     res
    /// });
    /// ```
    pub fn on_rejection<R2>(self, on_rejection: R2) -> GuardLayer<R2> {
        GuardLayer {
            policy: self.policy,
            on_rejection,
            reporter: self.reporter,
        }
    }

    /// Calls `reporter` for every request a report-only policy would have refused.
    pub fn on_report<F>(mut self, reporter: F) -> Self
    where
        F: Fn(&Report<'_>) + Send + Sync + 'static,
    {
        self.reporter = Some(Arc::new(reporter));
        self
    }

    /// The policy.
    #[must_use]
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

impl<S, R: Clone> Layer<S> for GuardLayer<R> {
    type Service = Guard<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`GuardLayer`] builds.
#[derive(Clone)]
#[must_use]
pub struct Guard<S, R = DefaultRejection> {
    inner: S,
    layer: GuardLayer<R>,
}

impl<S: fmt::Debug, R: fmt::Debug> fmt::Debug for Guard<S, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Guard")
            .field("inner", &self.inner)
            .field("layer", &self.layer)
            .finish()
    }
}

impl<S> Guard<S> {
    /// Wraps `inner` with `policy`.
    pub fn new(inner: S, policy: Policy) -> Self {
        GuardLayer::new(policy).layer(inner)
    }
}

impl<S, R> Guard<S, R> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for Guard<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    R: OnRejection<ResBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let policy = &self.layer.policy;
        let vary = policy.vary();
        match policy.check(&RequestHead::from_request(&request)) {
            Ok(verdict) => {
                if let Some(rejection) = verdict.reported() {
                    self.report(rejection, &request);
                }
                // A verdict goes into the extensions only when it carries something a handler
                // acts on: inserting boxes it, one allocation and free per request, a third of
                // what the layer adds to an ordinary request (`served/*` rows in `benches/`,
                // `scripts/callgrind.sh`).
                let resource_policy = policy.resource_policy_for(&verdict);
                if verdict.handshake().is_some() || verdict.reported().is_some() {
                    request.extensions_mut().insert::<Verdict>(verdict);
                }
                ResponseFuture::inner(self.inner.call(request), vary, resource_policy)
            }
            Err(rejection) => {
                #[cfg(feature = "tracing")]
                tracing::warn!(
                    target: "crossguard",
                    reason = rejection.reason(),
                    status = rejection.status().as_u16(),
                    method = %request.method(),
                    path = request.uri().path(),
                    "request rejected"
                );
                let mut response = self.layer.on_rejection.on_rejection(&rejection);
                policy.complete_rejection(&mut response, rejection);
                ResponseFuture::rejected(response)
            }
        }
    }
}

impl<S, R> Guard<S, R> {
    fn report<B>(&self, rejection: Rejection, request: &Request<B>) {
        #[cfg(feature = "tracing")]
        tracing::info!(
            target: "crossguard",
            reason = rejection.reason(),
            status = rejection.status().as_u16(),
            method = %request.method(),
            path = request.uri().path(),
            "report-only: request would be rejected"
        );
        if let Some(reporter) = &self.layer.reporter {
            reporter(&Report {
                rejection,
                method: request.method(),
                uri: request.uri(),
            });
        }
    }
}
