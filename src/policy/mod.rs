//! The decision core: which requests may reach the service.
//!
//! Pure functions over a [`RequestHead`]; no I/O, no tower, no heap allocation while deciding an
//! ordinary request. The order of the checks is documented in `docs/policy.md`:
//!
//! 1. **Host**: the authority must be well-formed (present on HTTP/1.1, agreeing with an
//!    absolute-form or HTTP/2 target), and allowlisted when a host allowlist is configured (DNS
//!    rebinding).
//! 2. **Field syntax**: `Origin` and `Sec-Fetch-*` at most once each.
//! 3. **WebSocket handshake** fields (RFC 6455 / RFC 8441), for any request judged a handshake
//!    ([`websocket::is_handshake`]).
//! 4. **Bypass**: a user predicate may skip the cross-origin checks below (never 1 to 3).
//! 5. **Cross-origin**: a handshake's Origin (CSWSH); an unsafe method's `Sec-Fetch-Site`, else
//!    its `Origin` (CSRF); a safe method's Fetch Metadata when resource isolation is on.
//!
//! [`Policy::check`] decides; [`Policy::explain`] decides the same way and also says what every
//! check saw ([`Explanation`]).

mod builder;
mod decide;
mod explanation;
mod host;
mod origin;

use std::fmt;
use std::sync::Arc;

use http::{Method, Request, Uri, request};

pub use crate::authority::{Host, HostPort, MAX_AUTHORITY_LEN, MAX_HOST_LEN};
pub use crate::fetch::{MAX_FETCH_METADATA_LEN, SecFetchDest, SecFetchMode, SecFetchSite};
pub use builder::{PolicyBuilder, Preset};
pub use explanation::Explanation;
pub use host::HostAllowlist;
pub use origin::{MAX_ORIGIN_LEN, Origin, OriginAllowlist};

use crate::explain::Record;
use crate::websocket::{self, WebSocketConfig};
use crate::{Rejection, RequestHead, Verdict};

type Bypass = Arc<dyn Fn(&Method, &Uri) -> bool + Send + Sync>;

/// `Vary` for responses whose status depends on Fetch Metadata (resource isolation).
#[cfg(feature = "tower")]
static VARY_FETCH_METADATA: http::HeaderValue =
    http::HeaderValue::from_static("Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest");

/// `Vary` when the Origin can change a safe request's verdict too (resource isolation with an
/// origin allowlist).
#[cfg(feature = "tower")]
static VARY_FETCH_METADATA_ORIGIN: http::HeaderValue =
    http::HeaderValue::from_static("Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest, Origin");

/// A validated, immutable policy. Cloning is cheap (an `Arc`).
///
/// ```
/// use crossguard::{Policy, Rejection, RequestHead};
/// use http::Request;
///
/// let policy = Policy::local().allow_origin("https://app.example.com").build()?;
///
/// let attack = Request::post("/api/prompt")
///     .header("host", "localhost:8188")
///     .header("sec-fetch-site", "cross-site")
///     .header("origin", "https://evil.example")
///     .body(())
///     .unwrap();
/// assert_eq!(policy.check(&RequestHead::from_request(&attack)), Err(Rejection::CrossSiteRequest));
///
/// let rebinding = Request::post("/api/prompt")
///     .header("host", "evil.example:8188")
///     .header("origin", "http://evil.example:8188")
///     .body(())
///     .unwrap();
/// assert_eq!(policy.check(&RequestHead::from_request(&rebinding)), Err(Rejection::HostNotAllowed));
/// # Ok::<(), crossguard::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Policy {
    inner: Arc<Config>,
}

/// What a built policy decides with.
pub(crate) struct Config {
    pub(crate) hosts: Option<HostAllowlist>,
    pub(crate) origins: OriginAllowlist,
    pub(crate) allow_same_site: bool,
    pub(crate) resource_isolation: bool,
    pub(crate) require_origin_for_websocket: bool,
    pub(crate) report_only: bool,
    pub(crate) bypass: Option<Bypass>,
    pub(crate) websocket: WebSocketConfig,
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &*self.inner;
        f.debug_struct("Policy")
            .field("hosts", &c.hosts)
            .field("origins", &c.origins)
            .field("allow_same_site", &c.allow_same_site)
            .field("resource_isolation", &c.resource_isolation)
            .field(
                "require_origin_for_websocket",
                &c.require_origin_for_websocket,
            )
            .field("report_only", &c.report_only)
            .field("bypass", &c.bypass.is_some())
            .field("websocket", &c.websocket)
            .finish()
    }
}

impl Default for Policy {
    /// The [`Preset::Default`] policy.
    fn default() -> Self {
        // The default preset has no entry to validate: building it cannot fail, and the
        // defaults stay written once, in `PolicyBuilder::from_preset`.
        #[allow(clippy::expect_used)]
        PolicyBuilder::default()
            .build()
            .expect("the default preset has nothing to validate")
    }
}

impl Policy {
    /// A builder starting from [`Preset::Default`].
    pub fn builder() -> PolicyBuilder {
        PolicyBuilder::from_preset(Preset::Default)
    }

    /// A builder starting from [`Preset::Local`].
    pub fn local() -> PolicyBuilder {
        PolicyBuilder::from_preset(Preset::Local)
    }

    pub(crate) fn from_config(config: Config) -> Self {
        Self {
            inner: Arc::new(config),
        }
    }

    /// Whether rejections are only reported.
    #[must_use]
    pub fn is_report_only(&self) -> bool {
        self.inner.report_only
    }

    /// Whether resource isolation is on (responses then vary on Fetch Metadata).
    #[must_use]
    pub fn resource_isolation(&self) -> bool {
        self.inner.resource_isolation
    }

    /// The WebSocket settings handshakes are negotiated with (to call
    /// [`websocket::verify`] with the policy's own).
    #[must_use]
    pub fn websocket(&self) -> &WebSocketConfig {
        &self.inner.websocket
    }

    /// The `Vary` value the guard adds to every response, when the verdict of a cacheable (safe)
    /// request can depend on request fields: the Fetch Metadata under resource isolation, and the
    /// `Origin` as well when an origin allowlist can let a cross-site request through.
    #[cfg(feature = "tower")]
    pub(crate) fn vary(&self) -> Option<&'static http::HeaderValue> {
        let config = &*self.inner;
        match (config.resource_isolation, config.origins.is_empty()) {
            (false, _) => None,
            (true, true) => Some(&VARY_FETCH_METADATA),
            (true, false) => Some(&VARY_FETCH_METADATA_ORIGIN),
        }
    }

    /// Decides a request.
    ///
    /// # Errors
    ///
    /// The [`Rejection`] to answer with, unless the policy is report-only, in which case the
    /// request is allowed and the rejection is in [`Verdict::reported`].
    pub fn check(&self, head: &RequestHead<'_>) -> Result<Verdict, Rejection> {
        decide::decide(&self.inner, head, &mut ())
    }

    /// Decides a request as [`Policy::check`] does, and says what each check saw and how it
    /// ended. The CLI's report is a formatting of this.
    #[must_use]
    pub fn explain(&self, head: &RequestHead<'_>) -> Explanation {
        let mut record = Record::new();
        let result = decide::decide(&self.inner, head, &mut record);
        Explanation::new(
            result,
            record.into_outcomes(),
            websocket::is_handshake(head),
            self.inner.bypass.is_some(),
        )
    }

    /// Decides an [`http::Request`]; see [`Policy::check`].
    ///
    /// # Errors
    ///
    /// As [`Policy::check`].
    pub fn check_request<B>(&self, request: &Request<B>) -> Result<Verdict, Rejection> {
        self.check(&RequestHead::from_request(request))
    }

    /// Decides an [`http::request::Parts`]; see [`Policy::check`].
    ///
    /// # Errors
    ///
    /// As [`Policy::check`].
    pub fn check_parts(&self, parts: &request::Parts) -> Result<Verdict, Rejection> {
        self.check(&RequestHead::from_parts(parts))
    }
}
