//! The forward-auth service: one question in, one answer out.
//!
//! A plain `GET /.crossguard/health` (no forwarded field, no browser field) answers `200 ok`.
//! Every other request is
//! a question about an original: rebuilt ([`original`](super::original)), judged by the guard
//! ([`answer`](super::answer)), and logged on standard error when refused or misconfigured.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;

use super::answer::{self, Decision, Judge};
use super::original::{self, Conventions};

/// The path of the health endpoint.
pub(crate) const HEALTH_PATH: &str = "/.crossguard/health";

struct Shared {
    judge: Judge,
    conventions: Conventions,
    quiet: bool,
    misconfigured_lines: RateLimit,
}

/// At most one log line a second for each distinct misconfiguration (a fixed set: a field and
/// what is wrong with it); the lines it held back are counted.
#[derive(Debug, Default)]
struct RateLimit(Mutex<HashMap<String, (Instant, u64)>>);

/// Distinct lines tracked at most; past it, every new line shares one budget.
const RATE_LIMITED_LINES: usize = 64;

impl RateLimit {
    /// `Some(n)` when `line` may be written now, `n` being how many like it were held back since
    /// the last one; `None` when this one is held back.
    fn admit(&self, line: &str) -> Option<u64> {
        let mut lines = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let key = if lines.len() < RATE_LIMITED_LINES || lines.contains_key(line) {
            line
        } else {
            ""
        };
        match lines.get_mut(key) {
            Some((last, held)) if now.duration_since(*last) < Duration::from_secs(1) => {
                *held += 1;
                None
            }
            Some((last, held)) => {
                let suppressed = *held;
                *last = now;
                *held = 0;
                Some(suppressed)
            }
            None => {
                lines.insert(key.to_owned(), (now, 0));
                Some(0)
            }
        }
    }
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
            misconfigured_lines: RateLimit::default(),
        }))
    }

    /// The answer to one question (its body is never read).
    pub(crate) fn respond<B>(&self, question: Request<B>) -> Response<Full<Bytes>> {
        let (question, _body) = question.into_parts();
        if original::is_health_check(&question, HEALTH_PATH) {
            return answer::healthy();
        }
        let original = match original::rebuild(&question, &self.0.conventions) {
            Ok(original) => original,
            Err(misconfiguration) => {
                // Never silenced (an engine that does not send the original is an outage), but
                // each distinct line at most once a second: any page can send such questions.
                let line = misconfiguration.to_string();
                if let Some(suppressed) = self.0.misconfigured_lines.admit(&line) {
                    let more = match suppressed {
                        0 => String::new(),
                        n => format!(" ({n} more like it not logged)"),
                    };
                    eprintln!("crossguard: forward_auth_misconfigured: {line}{more}");
                }
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
