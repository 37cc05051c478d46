//! [`PolicyBuilder`] and the presets: the one place the defaults are written.

use std::fmt;
use std::sync::Arc;

use http::{Method, Uri};

use super::{Bypass, Config, HostAllowlist, OriginAllowlist, Policy};
use crate::ConfigError;
use crate::websocket::{DeflateConfig, WebSocketConfig};

/// A starting point for a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Preset {
    /// CSRF and cross-site WebSocket checks; no host allowlist; resource isolation off.
    #[default]
    Default,
    /// For tools on a developer's machine: [`Preset::Default`] plus the `loopback` host allowlist
    /// (DNS rebinding), resource isolation, and `Cross-Origin-Resource-Policy: same-origin` on the
    /// responses it lets through that carry none.
    Local,
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
    cross_origin_resource_policy: bool,
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
                "cross_origin_resource_policy",
                &self.cross_origin_resource_policy,
            )
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
    /// A builder starting from a preset. These are the defaults of every setting.
    pub fn from_preset(preset: Preset) -> Self {
        let local = preset == Preset::Local;
        Self {
            hosts: local.then(|| vec!["loopback".to_owned()]),
            origins: Vec::new(),
            allow_same_site: false,
            resource_isolation: local,
            cross_origin_resource_policy: local,
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
    /// `.example.com`, `loopback`, `loopback:8188`, …. See [`HostAllowlist`]. Without any, every
    /// host is allowed.
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
    /// Sec-Fetch-Mode, Sec-Fetch-Dest` (and `Origin` when an origin allowlist is set).
    pub fn resource_isolation(mut self, on: bool) -> Self {
        self.resource_isolation = on;
        self
    }

    /// Puts `Cross-Origin-Resource-Policy: same-origin` on every response the guard lets through
    /// that carries no `Cross-Origin-Resource-Policy` of its own (on in [`Preset::Local`]), unless
    /// the request was let through for its allowlisted `Origin`.
    ///
    /// Browsers send Fetch Metadata only to potentially trustworthy origins (HTTPS, `localhost`,
    /// loopback addresses): a page embedding `http://192.168.1.5:8189/view` with `<img>` or
    /// `<script>` sends neither `Sec-Fetch-*` nor `Origin`, so resource isolation cannot tell it
    /// from a non-browser client, and lets it through. With this header the browser then
    /// withholds the response from the embedding page. It applies to `no-cors` loads only: CORS
    /// requests and navigations are unaffected. An allowlisted origin's `<img>` and `<script>`
    /// loads carry no `Origin` either, so they are withheld too: have the service answer those
    /// with its own header (`Cross-Origin-Resource-Policy: cross-origin`), or turn this off.
    ///
    /// ```
    /// use crossguard::{Policy, RequestHead};
    /// use http::{HeaderMap, Request};
    ///
    /// let image = Request::get("/view").header("host", "localhost:8188").body(())?;
    /// let policy = Policy::local().build()?;
    /// let verdict = policy.check(&RequestHead::from_request(&image)).unwrap();
    /// let mut headers = HeaderMap::new();
    /// policy.add_response_headers(&verdict, &mut headers);
    /// assert_eq!(headers["cross-origin-resource-policy"], "same-origin");
    ///
    /// let embeddable = Policy::local().cross_origin_resource_policy(false).build()?;
    /// let mut headers = HeaderMap::new();
    /// embeddable.add_response_headers(&verdict, &mut headers);
    /// assert!(headers.get("cross-origin-resource-policy").is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cross_origin_resource_policy(mut self, on: bool) -> Self {
        self.cross_origin_resource_policy = on;
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
        let hosts = match &self.hosts {
            None => None,
            Some(entries) => {
                let mut hosts = HostAllowlist::new();
                for entry in entries {
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
        Ok(Policy::from_config(Config {
            hosts,
            origins,
            allow_same_site: self.allow_same_site,
            resource_isolation: self.resource_isolation,
            cross_origin_resource_policy: self.cross_origin_resource_policy,
            require_origin_for_websocket: self.require_origin_for_websocket,
            report_only: self.report_only,
            bypass: self.bypass,
            websocket,
        }))
    }
}
