//! An allowed request: the [`Verdict`].

use crate::websocket::Handshake;
use crate::{Rejection, Rule};

/// An allowed request: the rule that allowed it and, for a WebSocket handshake, the
/// [`Handshake`] to answer with.
///
/// [`Policy::check`](crate::Policy::check) returns it. The guard layer puts it into the request's
/// extensions when it carries something a handler acts on: a WebSocket handshake's
/// [`Handshake`], or a report-only finding ([`Verdict::reported`]).
///
/// ```
/// use crossguard::{Policy, RequestHead, Rule};
/// use http::Request;
///
/// let request = Request::post("/api/prompt")
///     .header("host", "localhost:8188")
///     .header("sec-fetch-site", "same-origin")
///     .body(())
///     .unwrap();
/// let verdict = Policy::default().check(&RequestHead::from_request(&request)).unwrap();
/// assert_eq!(verdict.rule(), Rule::SecFetchSite);
/// assert!(verdict.handshake().is_none());
/// assert!(verdict.reported().is_none());
/// ```
///
/// In report-only mode a request the policy would refuse is allowed too; the verdict then carries
/// the rejection in [`Verdict::reported`] and the refusing rule in [`Verdict::rule`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    rule: Rule,
    handshake: Option<Handshake>,
    reported: Option<Rejection>,
}

impl Verdict {
    pub(crate) fn new(
        rule: Rule,
        handshake: Option<Handshake>,
        reported: Option<Rejection>,
    ) -> Self {
        Self {
            rule,
            handshake,
            reported,
        }
    }

    /// The rule that decided.
    #[must_use]
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// The validated WebSocket handshake, when the request is one.
    #[must_use]
    pub fn handshake(&self) -> Option<&Handshake> {
        self.handshake.as_ref()
    }

    /// Takes the handshake out of the verdict.
    #[must_use]
    pub fn into_handshake(self) -> Option<Handshake> {
        self.handshake
    }

    /// In report-only mode, the rejection the policy would have answered with.
    #[must_use]
    pub fn reported(&self) -> Option<Rejection> {
        self.reported
    }
}
