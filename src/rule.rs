//! The rule that decided a request.

use std::fmt;

/// The rule that decided a request, allowed or refused.
///
/// [`Rule::as_str`] is stable and is what the CLI prints as `rule`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// `host`: the Host allowlist or the RFC 9112 Host requirements refused the request.
    Host,
    /// `header_syntax`: a duplicated or malformed `Origin` / `Sec-Fetch-*` field.
    HeaderSyntax,
    /// `bypass`: the user's bypass predicate skipped the cross-origin check.
    Bypass,
    /// `websocket_handshake`: the RFC 6455 / RFC 8441 handshake fields.
    WebSocketHandshake,
    /// `websocket_origin`: the Origin check of a WebSocket handshake.
    WebSocketOrigin,
    /// `safe_method`: a GET, HEAD or OPTIONS request that no enabled rule restricts.
    SafeMethod,
    /// `non_browser`: neither `Sec-Fetch-Site` nor `Origin` (curl, SDKs): not a browser's
    /// cross-site request.
    NonBrowser,
    /// `sec_fetch_site`: the browser's `Sec-Fetch-Site` (`same-origin`/`none` allow; other values
    /// refuse).
    SecFetchSite,
    /// `same_site`: `Sec-Fetch-Site: same-site`, allowed only when opted in.
    SameSite,
    /// `origin_allowlist`: the `Origin` is allowlisted.
    OriginAllowlist,
    /// `origin`: without `Sec-Fetch-Site`, the `Origin` compared with the request's authority.
    Origin,
    /// `resource_isolation`: a cross-site safe-method request that is not a navigation.
    ResourceIsolation,
    /// `navigation`: resource isolation lets a cross-site top-level-ish navigation through.
    Navigation,
}

impl Rule {
    /// The stable snake_case name.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Host => "host",
            Self::HeaderSyntax => "header_syntax",
            Self::Bypass => "bypass",
            Self::WebSocketHandshake => "websocket_handshake",
            Self::WebSocketOrigin => "websocket_origin",
            Self::SafeMethod => "safe_method",
            Self::NonBrowser => "non_browser",
            Self::SecFetchSite => "sec_fetch_site",
            Self::SameSite => "same_site",
            Self::OriginAllowlist => "origin_allowlist",
            Self::Origin => "origin",
            Self::ResourceIsolation => "resource_isolation",
            Self::Navigation => "navigation",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
