//! The decision core: which requests may reach the service.
//!
//! Pure functions over a [`RequestHead`]; no I/O, no tower, no heap allocation while deciding an
//! ordinary request. The order of the checks is documented in `docs/policy.md`:
//!
//! 1. **Host**: the authority must be well-formed (and present on HTTP/1.1), and allowlisted when
//!    a host allowlist is configured (DNS rebinding).
//! 2. **WebSocket handshake** fields (RFC 6455 / RFC 8441), for any request whose `Upgrade` names
//!    `websocket`.
//! 3. **Bypass**: a user predicate may skip the cross-origin checks below (never 1 or 2).
//! 4. **Cross-origin**: a handshake's Origin (CSWSH); an unsafe method's `Sec-Fetch-Site`, else
//!    its `Origin` (CSRF); a safe method's Fetch Metadata when resource isolation is on.

mod fetch;
mod host;
mod origin;

use std::fmt;
use std::sync::Arc;

use http::header::{HeaderMap, HeaderName, HeaderValue, ORIGIN};
use http::{Method, Request, Uri, request};

pub use fetch::{MAX_FETCH_METADATA_LEN, SecFetchDest, SecFetchMode, SecFetchSite};
pub use host::{Host, HostAllowlist, HostPort, MAX_AUTHORITY_LEN, MAX_HOST_LEN, request_authority};
pub use origin::{MAX_ORIGIN_LEN, Origin, OriginAllowlist};

use crate::websocket::{self, DeflateConfig, Handshake, WebSocketConfig};
use crate::{ConfigError, Rejection, RequestHead, Rule, Verdict};

/// `Sec-Fetch-Site`.
pub const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");
/// `Sec-Fetch-Mode`.
pub const SEC_FETCH_MODE: HeaderName = HeaderName::from_static("sec-fetch-mode");
/// `Sec-Fetch-Dest`.
pub const SEC_FETCH_DEST: HeaderName = HeaderName::from_static("sec-fetch-dest");

type Bypass = Arc<dyn Fn(&Method, &Uri) -> bool + Send + Sync>;

/// A starting point for a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Preset {
    /// CSRF and cross-site WebSocket checks; no host allowlist; resource isolation off.
    #[default]
    Default,
    /// For tools on a developer's machine: [`Preset::Default`] plus the `loopback` host allowlist
    /// (DNS rebinding) and resource isolation.
    Local,
}

/// A validated, immutable policy. Cloning is cheap (an `Arc`).
///
/// ```
/// use crossguard::{Policy, Rejection, RequestHead};
/// use http::Request;
///
/// let policy = Policy::local().allow_origin("https://app.example.com").build()?;
///
/// let attack = Request::post("http://localhost:8188/api/prompt")
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

struct Config {
    hosts: Option<HostAllowlist>,
    origins: OriginAllowlist,
    allow_same_site: bool,
    resource_isolation: bool,
    require_origin_for_websocket: bool,
    report_only: bool,
    bypass: Option<Bypass>,
    websocket: WebSocketConfig,
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
        Self {
            inner: Arc::new(Config {
                hosts: None,
                origins: OriginAllowlist::new(),
                allow_same_site: false,
                resource_isolation: false,
                require_origin_for_websocket: false,
                report_only: false,
                bypass: None,
                websocket: WebSocketConfig::default(),
            }),
        }
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

    /// The host allowlist, if one is configured.
    #[must_use]
    pub fn hosts(&self) -> Option<&HostAllowlist> {
        self.inner.hosts.as_ref()
    }

    /// The origin allowlist.
    #[must_use]
    pub fn origins(&self) -> &OriginAllowlist {
        &self.inner.origins
    }

    /// Whether unsafe `Sec-Fetch-Site: same-site` requests are allowed.
    #[must_use]
    pub fn allows_same_site(&self) -> bool {
        self.inner.allow_same_site
    }

    /// Whether WebSocket handshakes without `Origin` are refused.
    #[must_use]
    pub fn requires_origin_for_websocket(&self) -> bool {
        self.inner.require_origin_for_websocket
    }

    /// The WebSocket settings handshakes are negotiated with.
    #[must_use]
    pub fn websocket(&self) -> &WebSocketConfig {
        &self.inner.websocket
    }

    /// Decides a request.
    ///
    /// # Errors
    ///
    /// The [`Rejection`] to answer with, unless the policy is report-only, in which case the
    /// request is allowed and the rejection is in [`Verdict::reported`].
    pub fn check(&self, head: &RequestHead<'_>) -> Result<Verdict, Rejection> {
        let mut handshake = None;
        match self.decide(head, &mut handshake) {
            Ok(rule) => Ok(Verdict::new(rule, handshake, None)),
            Err(rejection) if self.inner.report_only => {
                Ok(Verdict::new(rejection.rule(), handshake, Some(rejection)))
            }
            Err(rejection) => Err(rejection),
        }
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

    fn decide(
        &self,
        head: &RequestHead<'_>,
        handshake: &mut Option<Handshake>,
    ) -> Result<Rule, Rejection> {
        let cfg = &*self.inner;
        let headers = head.headers();
        let signals = Signals {
            origin: single(headers, &ORIGIN, "Origin")?,
            site: single(headers, &SEC_FETCH_SITE, "Sec-Fetch-Site")?,
            mode: single(headers, &SEC_FETCH_MODE, "Sec-Fetch-Mode")?,
            dest: single(headers, &SEC_FETCH_DEST, "Sec-Fetch-Dest")?,
            authority: request_authority(head.uri(), head.version(), headers)?,
        };
        if let Some(hosts) = &cfg.hosts {
            let authority = signals.authority.ok_or(Rejection::MissingHost)?;
            if !hosts.allows(&authority) {
                return Err(Rejection::HostNotAllowed);
            }
        }
        if websocket::is_handshake(head) {
            // The Host was checked above, under the same rules.
            *handshake = Some(websocket::verify_with(head, &cfg.websocket, false)?);
        }
        if cfg
            .bypass
            .as_ref()
            .is_some_and(|bypass| bypass(head.method(), head.uri()))
        {
            return Ok(Rule::Bypass);
        }
        if handshake.is_some() {
            self.websocket_origin(&signals)
        } else if !is_safe(head.method()) {
            self.unsafe_method(&signals)
        } else if cfg.resource_isolation {
            self.safe_method(head.method(), &signals)
        } else {
            Ok(Rule::SafeMethod)
        }
    }

    /// DESIGN §3.4: `Sec-Fetch-Site` decides when present; else the `Origin` must be the
    /// request's own; neither header means no browser made a cross-site request.
    fn unsafe_method(&self, s: &Signals<'_>) -> Result<Rule, Rejection> {
        let cfg = &*self.inner;
        if let Some(site) = s.site {
            let site = SecFetchSite::parse(site)?;
            if site.is_trusted() {
                return Ok(Rule::SecFetchSite);
            }
            if site == SecFetchSite::SameSite && cfg.allow_same_site {
                return Ok(Rule::SameSite);
            }
            if self.origin_allowlisted(s.origin)? {
                return Ok(Rule::OriginAllowlist);
            }
            return Err(match site {
                SecFetchSite::SameSite => Rejection::SameSiteRequest,
                _ => Rejection::CrossSiteRequest,
            });
        }
        let Some(origin) = s.origin else {
            return Ok(Rule::NonBrowser);
        };
        let origin = Origin::parse(origin.as_bytes())?;
        if cfg.origins.contains(&origin) {
            Ok(Rule::OriginAllowlist)
        } else if origin == Origin::Null {
            Err(Rejection::NullOrigin)
        } else if s.authority.is_some_and(|a| origin.is_same_authority(&a)) {
            Ok(Rule::Origin)
        } else {
            Err(Rejection::OriginMismatch)
        }
    }

    /// DESIGN §3.3: a handshake's Origin is always checked (CSWSH); Chromium sends no
    /// `Sec-Fetch-*` on handshakes, Firefox does.
    fn websocket_origin(&self, s: &Signals<'_>) -> Result<Rule, Rejection> {
        let cfg = &*self.inner;
        let origin = s.origin.map(|o| Origin::parse(o.as_bytes())).transpose()?;
        if origin.is_some_and(|o| cfg.origins.contains(&o)) {
            return Ok(Rule::OriginAllowlist);
        }
        if let Some(site) = s.site {
            if !SecFetchSite::parse(site)?.is_trusted() {
                return Err(Rejection::CrossSiteWebSocket);
            }
        }
        match origin {
            None if cfg.require_origin_for_websocket => Err(Rejection::MissingOrigin),
            None => Ok(Rule::NonBrowser),
            Some(Origin::Null) => Err(Rejection::NullOrigin),
            Some(o) if s.authority.is_some_and(|a| o.is_same_authority(&a)) => {
                Ok(Rule::WebSocketOrigin)
            }
            Some(_) => Err(Rejection::CrossSiteWebSocket),
        }
    }

    /// DESIGN §3.5, after web.dev's Resource Isolation Policy: cross-site safe requests only as
    /// navigations that cannot embed the response.
    fn safe_method(&self, method: &Method, s: &Signals<'_>) -> Result<Rule, Rejection> {
        let cfg = &*self.inner;
        let Some(site) = s.site else {
            return Ok(Rule::SafeMethod);
        };
        let site = SecFetchSite::parse(site)?;
        if site.is_trusted() {
            return Ok(Rule::SecFetchSite);
        }
        if site == SecFetchSite::SameSite && cfg.allow_same_site {
            return Ok(Rule::SameSite);
        }
        let mode = s.mode.map(SecFetchMode::parse).transpose()?;
        let dest = s.dest.map(SecFetchDest::parse).transpose()?;
        let embeds = matches!(dest, Some(SecFetchDest::Object | SecFetchDest::Embed));
        if method == Method::GET && mode == Some(SecFetchMode::Navigate) && !embeds {
            return Ok(Rule::Navigation);
        }
        if self.origin_allowlisted(s.origin)? {
            return Ok(Rule::OriginAllowlist);
        }
        Err(Rejection::CrossSiteResource)
    }

    fn origin_allowlisted(&self, origin: Option<&HeaderValue>) -> Result<bool, Rejection> {
        match origin {
            None => Ok(false),
            Some(value) => Ok(self
                .inner
                .origins
                .contains(&Origin::parse(value.as_bytes())?)),
        }
    }
}

/// The request's cross-origin signals, each at most one field line.
struct Signals<'a> {
    origin: Option<&'a HeaderValue>,
    site: Option<&'a HeaderValue>,
    mode: Option<&'a HeaderValue>,
    dest: Option<&'a HeaderValue>,
    authority: Option<HostPort<'a>>,
}

/// GET, HEAD and OPTIONS: the methods a browser sends cross-site without a CORS preflight only as
/// reads (RFC 9110 §9.2.1).
fn is_safe(method: &Method) -> bool {
    method == Method::GET || method == Method::HEAD || method == Method::OPTIONS
}

/// The one field line of `name`, refusing repeats.
fn single<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
    label: &'static str,
) -> Result<Option<&'a HeaderValue>, Rejection> {
    let mut lines = headers.get_all(name).iter();
    match (lines.next(), lines.next()) {
        (_, Some(_)) => Err(Rejection::DuplicateHeader(label)),
        (first, None) => Ok(first),
    }
}

/// Builds a [`Policy`]; every entry is validated by [`PolicyBuilder::build`].
///
/// ```
/// use crossguard::Policy;
///
/// let policy = Policy::builder()
///     .allow_origin("https://*.example.com")
///     .allow_host("app.example.com")
///     .allow_same_site(true)
///     .websocket_protocol("graphql-transport-ws")
///     .bypass(|_method, uri| uri.path() == "/webhook")
///     .build()?;
/// assert!(!policy.is_report_only());
/// # Ok::<(), crossguard::ConfigError>(())
/// ```
#[must_use]
pub struct PolicyBuilder {
    hosts: Option<Vec<String>>,
    origins: Vec<String>,
    allow_same_site: bool,
    resource_isolation: bool,
    require_origin_for_websocket: bool,
    report_only: bool,
    bypass: Option<Bypass>,
    protocols: Vec<String>,
    deflate: Option<DeflateConfig>,
}

impl fmt::Debug for PolicyBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyBuilder")
            .field("hosts", &self.hosts)
            .field("origins", &self.origins)
            .field("allow_same_site", &self.allow_same_site)
            .field("resource_isolation", &self.resource_isolation)
            .field(
                "require_origin_for_websocket",
                &self.require_origin_for_websocket,
            )
            .field("report_only", &self.report_only)
            .field("bypass", &self.bypass.is_some())
            .field("protocols", &self.protocols)
            .field("deflate", &self.deflate)
            .finish()
    }
}

impl Default for PolicyBuilder {
    fn default() -> Self {
        Self::from_preset(Preset::Default)
    }
}

impl PolicyBuilder {
    /// A builder starting from a preset.
    pub fn from_preset(preset: Preset) -> Self {
        let local = preset == Preset::Local;
        Self {
            hosts: local.then(|| vec!["loopback".to_owned()]),
            origins: Vec::new(),
            allow_same_site: false,
            resource_isolation: local,
            require_origin_for_websocket: false,
            report_only: false,
            bypass: None,
            protocols: Vec::new(),
            deflate: Some(DeflateConfig::default()),
        }
    }

    /// Trusts an origin for cross-origin requests: `https://app.example.com`,
    /// `https://*.example.com` (subdomains) or `null`. See [`OriginAllowlist`].
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.origins.push(origin.into());
        self
    }

    /// Adds a host to the host allowlist, creating it on first use: `localhost:8188`,
    /// `.example.com`, `loopback`, …. See [`HostAllowlist`]. Without any, every host is allowed.
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        self.hosts.get_or_insert_with(Vec::new).push(host.into());
        self
    }

    /// Removes the host allowlist (every host is allowed again).
    pub fn any_host(mut self) -> Self {
        self.hosts = None;
        self
    }

    /// Allows unsafe requests labelled `Sec-Fetch-Site: same-site` (default: refused). A page on
    /// `localhost:3000` is same-site with a service on `localhost:8188`.
    pub fn allow_same_site(mut self, allow: bool) -> Self {
        self.allow_same_site = allow;
        self
    }

    /// Turns resource isolation on or off (on in [`Preset::Local`]): cross-site GET/HEAD/OPTIONS
    /// requests pass only as navigations, and responses carry `Vary: Sec-Fetch-Site,
    /// Sec-Fetch-Mode, Sec-Fetch-Dest`.
    pub fn resource_isolation(mut self, on: bool) -> Self {
        self.resource_isolation = on;
        self
    }

    /// Refuses WebSocket handshakes without `Origin` (default: allowed, as non-browser clients
    /// send none).
    pub fn require_origin_for_websocket(mut self, require: bool) -> Self {
        self.require_origin_for_websocket = require;
        self
    }

    /// Runs every check but lets every request through, reporting what would be refused.
    pub fn report_only(mut self, on: bool) -> Self {
        self.report_only = on;
        self
    }

    /// Skips the cross-origin checks for requests the predicate selects (webhooks, say). The Host
    /// check and WebSocket handshake validation still apply.
    pub fn bypass<F>(mut self, predicate: F) -> Self
    where
        F: Fn(&Method, &Uri) -> bool + Send + Sync + 'static,
    {
        self.bypass = Some(Arc::new(predicate));
        self
    }

    /// Adds a WebSocket subprotocol the server speaks; earlier ones are preferred.
    pub fn websocket_protocol(mut self, name: impl Into<String>) -> Self {
        self.protocols.push(name.into());
        self
    }

    /// Sets the permessage-deflate configuration, or `None` to decline compression.
    pub fn deflate(mut self, deflate: Option<DeflateConfig>) -> Self {
        self.deflate = deflate;
        self
    }

    /// Validates the configuration.
    ///
    /// # Errors
    ///
    /// The first invalid origin, host, subprotocol or deflate setting.
    pub fn build(self) -> Result<Policy, ConfigError> {
        let hosts = match self.hosts {
            None => None,
            Some(entries) => {
                let mut hosts = HostAllowlist::new();
                for entry in &entries {
                    hosts.push(entry)?;
                }
                Some(hosts)
            }
        };
        let mut origins = OriginAllowlist::new();
        for entry in &self.origins {
            origins.push(entry)?;
        }
        let websocket = WebSocketConfig::new(&self.protocols, self.deflate)?;
        Ok(Policy {
            inner: Arc::new(Config {
                hosts,
                origins,
                allow_same_site: self.allow_same_site,
                resource_isolation: self.resource_isolation,
                require_origin_for_websocket: self.require_origin_for_websocket,
                report_only: self.report_only,
                bypass: self.bypass,
                websocket,
            }),
        })
    }
}
