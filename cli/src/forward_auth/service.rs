//! The forward-auth service: one question in, one answer out.
//!
//! `GET /.crossguard/health` without any forwarded field answers `200 ok`. Every other request is
//! a question about an original: rebuilt ([`original`](super::original)), judged by the guard
//! ([`answer`](super::answer)), and logged on standard error when refused or misconfigured.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response};
use http_body_util::Full;

use super::answer::{self, Decision, Judge};
use super::original::{self, Conventions};

/// The path of the health endpoint.
pub(crate) const HEALTH_PATH: &str = "/.crossguard/health";

struct Shared {
    judge: Judge,
    conventions: Conventions,
    quiet: bool,
}

/// A hyper service answering forward-auth questions. Cheap to clone.
#[derive(Clone)]
pub(crate) struct ForwardAuth(Arc<Shared>);

impl ForwardAuth {
    pub(crate) fn new(judge: Judge, conventions: Conventions, quiet: bool) -> Self {
        Self(Arc::new(Shared {
            judge,
            conventions,
            quiet,
        }))
    }

    /// The answer to one question (its body is never read).
    pub(crate) fn respond<B>(&self, question: Request<B>) -> Response<Full<Bytes>> {
        let (question, _body) = question.into_parts();
        if question.method == Method::GET
            && question.uri.path() == HEALTH_PATH
            && !original::carries_forwarded_fields(&question.headers)
        {
            return answer::healthy();
        }
        let original = match original::rebuild(&question, &self.0.conventions) {
            Ok(original) => original,
            Err(misconfiguration) => {
                // Never silenced: an engine that does not send the original is an outage.
                eprintln!("crossguard: forward_auth_misconfigured: {misconfiguration}");
                return answer::misconfigured();
            }
        };
        let method = original.method().clone();
        let path = original.uri().path().to_owned();
        let (response, decision) = self.0.judge.answer(&original);
        match decision {
            Decision::Allowed => {}
            Decision::Refused(rejection) if !self.0.quiet => eprintln!(
                "crossguard: refused {method} {path}: {} ({})",
                rejection.reason(),
                response.status().as_u16()
            ),
            Decision::Reported(rejection) if !self.0.quiet => eprintln!(
                "crossguard: report-only: would refuse {method} {path}: {} ({})",
                rejection.reason(),
                rejection.status().as_u16()
            ),
            Decision::Refused(_) | Decision::Reported(_) => {}
        }
        response
    }
}

impl<B> hyper::service::Service<Request<B>> for ForwardAuth {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn call(&self, question: Request<B>) -> Self::Future {
        ready(Ok(self.respond(question)))
    }
}
