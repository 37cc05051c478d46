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

use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, Uri, header, request};

pub use builder::{PolicyBuilder, Preset};
pub use explanation::Explanation;
pub use host::HostAllowlist;
pub use origin::{MAX_ORIGIN_LEN, Origin, OriginAllowlist};

use crate::explain::Record;
use crate::fields::{Fields, HandshakeFields, LONGEST_NAME};
use crate::rejection::plain_rejection;
use crate::websocket::{self, WebSocketConfig};
use crate::{Rejection, RequestHead, Verdict};

type Bypass = Arc<dyn Fn(&Method, &Uri) -> bool + Send + Sync>;

/// `Vary` for responses whose status depends on Fetch Metadata (resource isolation).
static VARY_FETCH_METADATA: HeaderValue =
    HeaderValue::from_static("Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest");

/// `Vary` when the Origin can change a safe request's verdict too (resource isolation with an
/// origin allowlist).
static VARY_FETCH_METADATA_ORIGIN: HeaderValue =
    HeaderValue::from_static("Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest, Origin");

/// `Cross-Origin-Resource-Policy` (Fetch Standard, §3.7): `same-origin`.
const CORP: http::HeaderName = http::HeaderName::from_static("cross-origin-resource-policy");
static CORP_SAME_ORIGIN: HeaderValue = HeaderValue::from_static("same-origin");

/// What the guard adds to a response: `vary` (appended) and, when `corp` is set and the response
/// has none, `Cross-Origin-Resource-Policy: same-origin`.
#[inline]
pub(crate) fn add_response_headers(
    headers: &mut HeaderMap,
    vary: Option<&'static HeaderValue>,
    corp: bool,
) {
    if let Some(vary) = vary {
        headers.append(header::VARY, vary.clone());
    }
    if corp && !headers.contains_key(&CORP) {
        headers.insert(CORP, CORP_SAME_ORIGIN.clone());
    }
}

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
    pub(crate) cross_origin_resource_policy: bool,
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
                "cross_origin_resource_policy",
                &c.cross_origin_resource_policy,
            )
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

    /// Adds to the response to a request the guard let through (the service's response) the
    /// fields the guard puts there, given the request's [`Verdict`]:
    ///
    /// - `Vary`, when the verdict of a cacheable (safe) request can depend on request fields:
    ///   the Fetch Metadata under resource isolation, and the `Origin` as well when an origin
    ///   allowlist can let a cross-site request through (refusals carry it too);
    /// - `Cross-Origin-Resource-Policy: same-origin`, when the response has none of its own,
    ///   [`PolicyBuilder::cross_origin_resource_policy`] is on (it is in the `local` preset), and
    ///   the request was not let through for its allowlisted `Origin` (a trusted site's `no-cors`
    ///   request keeps its opaque response). A refusal does not carry it: its body is only a
    ///   reason code, and a cross-site page that sent the request keeps seeing the `403` in its
    ///   developer tools.
    ///
    /// The layer does this itself. A surface that answers allowed requests another way (a proxy,
    /// another framework's middleware) calls it on the service's response.
    ///
    /// ```
    /// use crossguard::{Policy, RequestHead};
    /// use http::{HeaderMap, Request};
    ///
    /// let image = Request::get("/view?file=x").header("host", "localhost:8188").body(())?;
    /// let local = Policy::local().build()?;
    /// let verdict = local.check(&RequestHead::from_request(&image)).unwrap();
    /// let mut headers = HeaderMap::new();
    /// local.add_response_headers(&verdict, &mut headers);
    /// assert_eq!(headers["vary"], "Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest");
    /// assert_eq!(headers["cross-origin-resource-policy"], "same-origin");
    ///
    /// // The service's own value is kept.
    /// let mut headers = HeaderMap::new();
    /// headers.insert("cross-origin-resource-policy", "cross-origin".parse()?);
    /// local.add_response_headers(&verdict, &mut headers);
    /// assert_eq!(headers["cross-origin-resource-policy"], "cross-origin");
    ///
    /// let mut headers = HeaderMap::new();
    /// Policy::default().add_response_headers(&verdict, &mut headers);
    /// assert!(headers.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_response_headers(&self, verdict: &Verdict, headers: &mut HeaderMap) {
        add_response_headers(headers, self.vary(), self.resource_policy_for(verdict));
    }

    /// The `Vary` value [`Policy::add_response_headers`] adds, if any.
    pub(crate) fn vary(&self) -> Option<&'static HeaderValue> {
        let config = &*self.inner;
        match (config.resource_isolation, config.origins.is_empty()) {
            (false, _) => None,
            (true, true) => Some(&VARY_FETCH_METADATA),
            (true, false) => Some(&VARY_FETCH_METADATA_ORIGIN),
        }
    }

    /// Whether [`Policy::add_response_headers`] adds `Cross-Origin-Resource-Policy` for a request
    /// allowed with `verdict`.
    #[inline]
    pub(crate) fn resource_policy_for(&self, verdict: &Verdict) -> bool {
        self.inner.cross_origin_resource_policy && verdict.rule() != crate::Rule::OriginAllowlist
    }

    /// The response that refuses a request, exactly as the guard layer sends it by default: the
    /// rejection's status, `Content-Type: text/plain; charset=utf-8`, the one-line body
    /// ([`Rejection::body`]), the fields the status requires ([`Rejection::required_headers`]:
    /// `Allow` on `405`; `Sec-WebSocket-Version`, `Upgrade` and `Connection` on `426`), the
    /// policy's `Vary` (see [`Policy::add_response_headers`]), and the [`Rejection`] itself as a
    /// response extension.
    ///
    /// Every surface that refuses a request (the layer, the `crossguard` command's `check`,
    /// `proxy` and `forward-auth`, other frameworks' middlewares) answers with this response, so
    /// they cannot drift apart. Any body that can be made from a `&'static str` works: `String`,
    /// axum's `Body`, `http_body_util::Full<Bytes>`.
    ///
    /// ```
    /// use crossguard::{Policy, Rejection};
    /// use http::StatusCode;
    ///
    /// let policy = Policy::local().build()?;
    /// let response = policy.rejection_response::<String>(Rejection::UnsupportedWebSocketVersion);
    /// assert_eq!(response.status(), StatusCode::UPGRADE_REQUIRED);
    /// assert_eq!(response.body(), "crossguard: unsupported_websocket_version\n");
    /// let headers = response.headers();
    /// assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    /// assert_eq!(headers["sec-websocket-version"], "13");
    /// assert_eq!(headers["upgrade"], "websocket");
    /// assert_eq!(headers["connection"], "upgrade");
    /// assert_eq!(headers["vary"], "Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest");
    /// assert_eq!(
    ///     response.extensions().get::<Rejection>(),
    ///     Some(&Rejection::UnsupportedWebSocketVersion),
    /// );
    /// # Ok::<(), crossguard::ConfigError>(())
    /// ```
    #[must_use]
    pub fn rejection_response<B: From<&'static str>>(&self, rejection: Rejection) -> Response<B> {
        let mut response = plain_rejection(rejection);
        self.complete_rejection(&mut response, rejection);
        response
    }

    /// Adds to a refusal, whoever made its status and body, what every refusal carries: the
    /// fields its status requires (unless already set), `Vary`, and the [`Rejection`].
    pub(crate) fn complete_rejection<B>(&self, response: &mut Response<B>, rejection: Rejection) {
        let headers = response.headers_mut();
        for (name, value) in rejection.required_headers() {
            headers.entry(name).or_insert_with(|| value.clone());
        }
        add_response_headers(headers, self.vary(), false);
        response.extensions_mut().insert(rejection);
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

    /// The field [`Policy::check`] reads under the name `name` (compared in any case), under
    /// any policy; `None` for a field no check reads.
    ///
    /// A verdict depends only on the method, target, version, protocol and the lines of these
    /// fields (`Host`, `Origin`, `Sec-Fetch-Site`, `Sec-Fetch-Mode`, `Sec-Fetch-Dest`,
    /// `Upgrade`, `Connection` and the `Sec-WebSocket-*` request fields): an adapter that
    /// converts another framework's request into a [`RequestHead`] may leave every other field
    /// out, and gets the same verdict for less work. The name comes back as a [`HeaderName`],
    /// so the adapter need not parse (nor, for the `Sec-Fetch-*` names, allocate) its own.
    ///
    /// ```
    /// use crossguard::Policy;
    /// use http::header::ORIGIN;
    ///
    /// assert_eq!(Policy::read_field(b"Origin"), Some(ORIGIN));
    /// assert_eq!(Policy::read_field(b"SEC-FETCH-SITE").unwrap(), "sec-fetch-site");
    /// assert!(Policy::read_field(b"sec-websocket-extensions").is_some());
    /// assert_eq!(Policy::read_field(b"user-agent"), None);
    /// assert_eq!(Policy::read_field(b"sec-fetch-user"), None);
    /// ```
    #[must_use]
    #[inline]
    pub fn read_field(name: &[u8]) -> Option<HeaderName> {
        // Lower-cased once, on the stack, then compared byte for byte with each name.
        let mut buffer = [0u8; LONGEST_NAME];
        let lower = buffer.get_mut(..name.len())?;
        for (lower, byte) in lower.iter_mut().zip(name) {
            *lower = byte.to_ascii_lowercase();
        }
        Fields::name_of(lower).or_else(|| HandshakeFields::name_of(lower))
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
