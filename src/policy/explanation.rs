//! [`Explanation`]: how a policy decided a request.

use crate::explain::{CHECKS, Check, Outcome, Step};
use crate::{Rejection, Verdict};

/// How a policy decided a request: the result [`Policy::check`](crate::Policy::check) returns,
/// and the outcome of every check.
///
/// ```
/// use crossguard::explain::{Check, Finding, Outcome};
/// use crossguard::{Policy, RequestHead};
/// use http::Request;
///
/// // A Vite dev-server proxy: same-origin by Fetch Metadata, Origin on another port.
/// let request = Request::post("/api/prompt")
///     .header("host", "localhost:8188")
///     .header("origin", "http://localhost:5173")
///     .header("sec-fetch-site", "same-origin")
///     .body(())
///     .unwrap();
/// let explanation = Policy::local().build()?.explain(&RequestHead::from_request(&request));
/// assert!(explanation.result().is_ok());
/// assert_eq!(
///     explanation.outcome(Check::SecFetchSite),
///     Outcome::Allowed(Finding::Site(crossguard::explain::SecFetchSite::SameOrigin)),
/// );
/// assert_eq!(explanation.outcome(Check::Origin), Outcome::NotConsulted);
/// assert_eq!(explanation.outcome(Check::Host), Outcome::Passed(Finding::HostAllowlisted));
/// assert!(explanation.steps().all(|step| !step.check.is_handshake_field()));
/// # Ok::<(), crossguard::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    result: Result<Verdict, Rejection>,
    outcomes: [Outcome; CHECKS],
    handshake: bool,
    bypass: bool,
}

impl Explanation {
    /// What [`Policy::check`](crate::Policy::check) returns for the same request.
    pub fn result(&self) -> &Result<Verdict, Rejection> {
        &self.result
    }

    /// The outcome of one check.
    #[must_use]
    pub fn outcome(&self, check: Check) -> Outcome {
        self.outcomes
            .get(check.index())
            .copied()
            .unwrap_or(Outcome::NotReached)
    }

    /// Whether the request was judged as a WebSocket handshake.
    #[must_use]
    pub fn is_handshake(&self) -> bool {
        self.handshake
    }

    /// The checks that apply to this request and policy, in decision order: the handshake fields
    /// only for a handshake, the bypass only when the policy has one.
    pub fn steps(&self) -> impl Iterator<Item = Step> + '_ {
        Check::ALL
            .iter()
            .copied()
            .filter(|check| {
                (self.handshake || !check.is_handshake_field())
                    && (self.bypass || *check != Check::Bypass)
            })
            .map(|check| Step {
                check,
                outcome: self.outcome(check),
            })
    }
}

impl Explanation {
    pub(crate) fn new(
        result: Result<Verdict, Rejection>,
        outcomes: [Outcome; CHECKS],
        handshake: bool,
        bypass: bool,
    ) -> Self {
        Self {
            result,
            outcomes,
            handshake,
            bypass,
        }
    }
}
