//! The explanation of a decision ([`Explanation`](crate::Explanation)): for every check, in the
//! order the policy runs it, what it saw and its outcome.
//!
//! The decision is written once, over a recorder. [`Policy::check`](crate::Policy::check)
//! runs it with a recorder that does nothing (it compiles away), and
//! [`Policy::explain`](crate::Policy::explain) with one that fills a fixed array, so an
//! explanation can never disagree with the verdict.

use std::fmt;

use crate::Rejection;
pub use crate::fetch::{SecFetchDest, SecFetchMode, SecFetchSite};

/// A check the policy runs, in the order it first runs them ([`Check::ALL`]).
///
/// The Host comes first; then the four cross-origin fields are read (a repeated one is refused at
/// once); then, for a WebSocket handshake, its fields in RFC 6455 order; then the bypass
/// predicate; last, the cross-origin rule consults the fields it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Check {
    /// The request's authority (`Host`, absolute-form target, `:authority`) and the host allowlist.
    Host,
    /// The `Origin` field.
    Origin,
    /// The `Sec-Fetch-Site` field.
    SecFetchSite,
    /// The `Sec-Fetch-Mode` field.
    SecFetchMode,
    /// The `Sec-Fetch-Dest` field.
    SecFetchDest,
    /// A handshake's HTTP version (HTTP/1.1, or HTTP/2+ extended CONNECT).
    HttpVersion,
    /// A handshake's `Upgrade` field (or HTTP/2 `:protocol`).
    Upgrade,
    /// A handshake's method.
    Method,
    /// A handshake's `Connection` field.
    Connection,
    /// A handshake's `Sec-WebSocket-Key`.
    SecWebSocketKey,
    /// A handshake's `Sec-WebSocket-Version`.
    SecWebSocketVersion,
    /// A handshake's `Sec-WebSocket-Protocol`.
    SecWebSocketProtocol,
    /// A handshake's `Sec-WebSocket-Extensions`.
    SecWebSocketExtensions,
    /// The user's bypass predicate.
    Bypass,
}

impl Check {
    /// Every check, in decision order.
    pub const ALL: &'static [Check] = &[
        Check::Host,
        Check::Origin,
        Check::SecFetchSite,
        Check::SecFetchMode,
        Check::SecFetchDest,
        Check::HttpVersion,
        Check::Upgrade,
        Check::Method,
        Check::Connection,
        Check::SecWebSocketKey,
        Check::SecWebSocketVersion,
        Check::SecWebSocketProtocol,
        Check::SecWebSocketExtensions,
        Check::Bypass,
    ];

    /// The name of what the check reads, as a report prints it (`Host`, `Sec-Fetch-Site`,
    /// `HTTP version`, …).
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Host => "Host",
            Self::Origin => "Origin",
            Self::SecFetchSite => "Sec-Fetch-Site",
            Self::SecFetchMode => "Sec-Fetch-Mode",
            Self::SecFetchDest => "Sec-Fetch-Dest",
            Self::HttpVersion => "HTTP version",
            Self::Upgrade => "Upgrade",
            Self::Method => "Method",
            Self::Connection => "Connection",
            Self::SecWebSocketKey => "Sec-WebSocket-Key",
            Self::SecWebSocketVersion => "Sec-WebSocket-Version",
            Self::SecWebSocketProtocol => "Sec-WebSocket-Protocol",
            Self::SecWebSocketExtensions => "Sec-WebSocket-Extensions",
            Self::Bypass => "Bypass",
        }
    }

    /// Whether the check is one of a WebSocket handshake's.
    #[must_use]
    pub const fn is_handshake_field(&self) -> bool {
        matches!(
            self,
            Self::HttpVersion
                | Self::Upgrade
                | Self::Method
                | Self::Connection
                | Self::SecWebSocketKey
                | Self::SecWebSocketVersion
                | Self::SecWebSocketProtocol
                | Self::SecWebSocketExtensions
        )
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a check saw, when it saw something worth naming.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Finding {
    /// Host: no host allowlist is configured (the authority was only checked for form).
    NoHostAllowlist,
    /// Host: the authority is in the host allowlist.
    HostAllowlisted,
    /// Host: the request has no authority, and none is required (HTTP/1.0, HTTP/2 without
    /// `:authority`).
    NoAuthority,
    /// Origin: the request's own origin (same scheme-default port, host and port).
    SameOrigin,
    /// Origin: in the origin allowlist.
    OriginAllowlisted,
    /// Origin: consulted for the origin allowlist, and not on it.
    OriginNotAllowlisted,
    /// `Sec-Fetch-Site` and its value.
    Site(SecFetchSite),
    /// `Sec-Fetch-Mode` and its value.
    Mode(SecFetchMode),
    /// `Sec-Fetch-Dest` and its value.
    Dest(SecFetchDest),
    /// A handshake field that is valid.
    Valid,
    /// Bypass: the predicate selected the request.
    Bypassed,
    /// Bypass: the predicate did not select the request.
    NotBypassed,
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The check passed and the decision went on.
    Passed(Finding),
    /// The check allowed the request: it decided.
    Allowed(Finding),
    /// The check refused the request: it decided.
    Refused(Rejection),
    /// The check looked at the field, and it did not decide.
    NotDecisive(Finding),
    /// The field is present, but another check decided without consulting it.
    NotConsulted,
    /// The field is absent.
    Absent,
    /// The decision ended before this check.
    NotReached,
}

impl Outcome {
    /// Whether this outcome decided the request (allowed or refused it).
    #[must_use]
    pub const fn is_decisive(&self) -> bool {
        matches!(self, Self::Allowed(_) | Self::Refused(_))
    }
}

/// One check and its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Step {
    /// The check.
    pub check: Check,
    /// Its outcome.
    pub outcome: Outcome,
}

/// Where the decision records the outcome of each check.
pub(crate) trait Recorder {
    /// Records (or overwrites) the outcome of `check`.
    fn record(&mut self, check: Check, outcome: Outcome);
}

/// The recorder of [`Policy::check`](crate::Policy::check): records nothing.
impl Recorder for () {
    #[inline(always)]
    fn record(&mut self, _check: Check, _outcome: Outcome) {}
}

/// The recorder of [`Policy::explain`](crate::Policy::explain).
pub(crate) struct Record {
    outcomes: [Outcome; CHECKS],
}

/// How many checks there are: the length of an explanation's outcome array.
pub(crate) const CHECKS: usize = Check::ALL.len();

impl Record {
    pub(crate) fn new() -> Self {
        Self {
            outcomes: [Outcome::NotReached; CHECKS],
        }
    }

    /// The outcome of every check, indexed as [`Check::ALL`].
    pub(crate) fn into_outcomes(self) -> [Outcome; CHECKS] {
        self.outcomes
    }
}

impl Recorder for Record {
    fn record(&mut self, check: Check, outcome: Outcome) {
        if let Some(slot) = self.outcomes.get_mut(check.index()) {
            *slot = outcome;
        }
    }
}
