//! Typed rejections and configuration errors.
//!
//! Every way a request can be refused is one variant of [`Rejection`], with an HTTP status
//! ([`Rejection::status`]), a stable snake_case reason code ([`Rejection::reason`]) and the rule that
//! decided ([`Rejection::rule`]). Reason codes are part of the public contract: they are listed in
//! `docs/policy.md` and never change meaning.

use http::StatusCode;

use crate::Rule;

/// Why crossguard refused a request.
///
/// Statuses follow one scheme: `400` for a request head that is malformed (duplicated, oversized,
/// unparsable or non-ASCII fields), `403` for a well-formed request that the policy denies, `405`
/// for a WebSocket handshake with the wrong method and `426` for an unsupported WebSocket version.
///
/// ```
/// use crossguard::Rejection;
/// use http::StatusCode;
///
/// let rejection = Rejection::CrossSiteRequest;
/// assert_eq!(rejection.status(), StatusCode::FORBIDDEN);
/// assert_eq!(rejection.reason(), "cross_site_request");
/// assert_eq!(rejection.rule().as_str(), "sec_fetch_site");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// An HTTP/1.1 request with neither a `Host` field nor an absolute-form target (RFC 9112 §3.2).
    #[error("the request has no Host header and no absolute-form target")]
    MissingHost,
    /// More than one `Host` field line (RFC 9112 §3.2).
    #[error("the request has more than one Host header")]
    DuplicateHost,
    /// The `Host` field or the target's authority is not `host[:port]`.
    #[error("the Host header or request authority is malformed")]
    MalformedHost,
    /// The host is not in the configured host allowlist (DNS rebinding protection).
    #[error("the request's host is not in the host allowlist")]
    HostNotAllowed,
    /// `Origin` or one of the `Sec-Fetch-*` fields appears more than once.
    #[error("the {0} header appears more than once")]
    DuplicateHeader(&'static str),
    /// The `Origin` field is not `null` nor `scheme://host[:port]`, or is too long.
    #[error("the Origin header is malformed")]
    MalformedOrigin,
    /// A `Sec-Fetch-*` field is not a short visible-ASCII token.
    #[error("the {0} header is malformed")]
    MalformedFetchMetadata(&'static str),
    /// An unsafe-method request the browser labelled `Sec-Fetch-Site: cross-site` (or an unknown
    /// value), whose Origin is not allowlisted.
    #[error("cross-site request denied (Sec-Fetch-Site)")]
    CrossSiteRequest,
    /// An unsafe-method request labelled `Sec-Fetch-Site: same-site` while same-site requests are
    /// not allowed.
    #[error("same-site request denied (Sec-Fetch-Site: same-site is not allowed)")]
    SameSiteRequest,
    /// No `Sec-Fetch-Site`, and the `Origin` matches neither the request's host nor the allowlist.
    #[error("the Origin does not match the request's host")]
    OriginMismatch,
    /// `Origin: null` where the Origin decides, and `null` is not allowlisted.
    #[error("Origin: null denied")]
    NullOrigin,
    /// Resource isolation: a cross-site safe-method request that is not a top-level navigation.
    #[error("cross-site resource request denied (resource isolation)")]
    CrossSiteResource,
    /// A WebSocket handshake from another origin (cross-site WebSocket hijacking).
    #[error("cross-origin WebSocket handshake denied")]
    CrossSiteWebSocket,
    /// A WebSocket handshake without `Origin` while `require_origin_for_websocket` is set.
    #[error("WebSocket handshake without an Origin header denied")]
    MissingOrigin,
    /// A WebSocket handshake whose method is not `GET` (HTTP/1.1) or `CONNECT` (HTTP/2).
    #[error("WebSocket handshakes must use GET")]
    WebSocketMethodNotAllowed,
    /// A WebSocket handshake over HTTP/1.0, or an HTTP/2 request carrying `Upgrade`.
    #[error("WebSocket handshakes need HTTP/1.1 (or HTTP/2 extended CONNECT)")]
    WebSocketHttpVersion,
    /// `Upgrade` does not name `websocket` (or HTTP/2 `:protocol` is not `websocket`).
    #[error("the Upgrade header does not name websocket")]
    WebSocketUpgrade,
    /// `Connection` does not contain the `upgrade` token.
    #[error("the Connection header does not contain the upgrade token")]
    WebSocketConnection,
    /// `Sec-WebSocket-Key` is missing, repeated, or not the base64 encoding of 16 bytes.
    #[error("Sec-WebSocket-Key is missing, repeated, or not base64 of 16 bytes")]
    InvalidWebSocketKey,
    /// `Sec-WebSocket-Version` is missing, repeated or not exactly `13`.
    #[error("Sec-WebSocket-Version must be exactly 13")]
    UnsupportedWebSocketVersion,
    /// `Sec-WebSocket-Protocol` breaks the token-list grammar, repeats a name or is too large.
    #[error("the Sec-WebSocket-Protocol header is malformed")]
    MalformedWebSocketProtocol,
    /// `Sec-WebSocket-Extensions` breaks the RFC 6455 §9.1 grammar or exceeds the size caps.
    #[error("the Sec-WebSocket-Extensions header is malformed")]
    MalformedWebSocketExtensions,
}

impl Rejection {
    /// The status crossguard answers with.
    #[must_use]
    pub const fn status(&self) -> StatusCode {
        match self {
            Self::MissingHost
            | Self::DuplicateHost
            | Self::MalformedHost
            | Self::DuplicateHeader(_)
            | Self::MalformedOrigin
            | Self::MalformedFetchMetadata(_)
            | Self::WebSocketHttpVersion
            | Self::WebSocketUpgrade
            | Self::WebSocketConnection
            | Self::InvalidWebSocketKey
            | Self::MalformedWebSocketProtocol
            | Self::MalformedWebSocketExtensions => StatusCode::BAD_REQUEST,
            Self::HostNotAllowed
            | Self::CrossSiteRequest
            | Self::SameSiteRequest
            | Self::OriginMismatch
            | Self::NullOrigin
            | Self::CrossSiteResource
            | Self::CrossSiteWebSocket
            | Self::MissingOrigin => StatusCode::FORBIDDEN,
            Self::WebSocketMethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedWebSocketVersion => StatusCode::UPGRADE_REQUIRED,
        }
    }

    /// The stable snake_case reason code (see the table in `docs/policy.md`).
    #[must_use]
    pub const fn reason(&self) -> &'static str {
        match self {
            Self::MissingHost => "missing_host",
            Self::DuplicateHost => "duplicate_host",
            Self::MalformedHost => "malformed_host",
            Self::HostNotAllowed => "host_not_allowed",
            Self::DuplicateHeader(_) => "duplicate_header",
            Self::MalformedOrigin => "malformed_origin",
            Self::MalformedFetchMetadata(_) => "malformed_fetch_metadata",
            Self::CrossSiteRequest => "cross_site_request",
            Self::SameSiteRequest => "same_site_request",
            Self::OriginMismatch => "origin_mismatch",
            Self::NullOrigin => "null_origin",
            Self::CrossSiteResource => "cross_site_resource",
            Self::CrossSiteWebSocket => "cross_site_websocket",
            Self::MissingOrigin => "missing_origin",
            Self::WebSocketMethodNotAllowed => "websocket_method_not_allowed",
            Self::WebSocketHttpVersion => "websocket_http_version",
            Self::WebSocketUpgrade => "websocket_upgrade",
            Self::WebSocketConnection => "websocket_connection",
            Self::InvalidWebSocketKey => "invalid_websocket_key",
            Self::UnsupportedWebSocketVersion => "unsupported_websocket_version",
            Self::MalformedWebSocketProtocol => "malformed_websocket_protocol",
            Self::MalformedWebSocketExtensions => "malformed_websocket_extensions",
        }
    }

    /// The rule that refused the request.
    #[must_use]
    pub const fn rule(&self) -> Rule {
        match self {
            Self::MissingHost
            | Self::DuplicateHost
            | Self::MalformedHost
            | Self::HostNotAllowed => Rule::Host,
            Self::DuplicateHeader(_) | Self::MalformedOrigin | Self::MalformedFetchMetadata(_) => {
                Rule::HeaderSyntax
            }
            Self::CrossSiteRequest => Rule::SecFetchSite,
            Self::SameSiteRequest => Rule::SameSite,
            Self::OriginMismatch | Self::NullOrigin => Rule::Origin,
            Self::CrossSiteResource => Rule::ResourceIsolation,
            Self::CrossSiteWebSocket | Self::MissingOrigin => Rule::WebSocketOrigin,
            Self::WebSocketMethodNotAllowed
            | Self::WebSocketHttpVersion
            | Self::WebSocketUpgrade
            | Self::WebSocketConnection
            | Self::InvalidWebSocketKey
            | Self::UnsupportedWebSocketVersion
            | Self::MalformedWebSocketProtocol
            | Self::MalformedWebSocketExtensions => Rule::WebSocketHandshake,
        }
    }

    /// The short plain-text body of the default rejection response, naming the reason code.
    #[must_use]
    pub const fn body(&self) -> &'static str {
        match self {
            Self::MissingHost => "crossguard: missing_host\n",
            Self::DuplicateHost => "crossguard: duplicate_host\n",
            Self::MalformedHost => "crossguard: malformed_host\n",
            Self::HostNotAllowed => "crossguard: host_not_allowed\n",
            Self::DuplicateHeader(_) => "crossguard: duplicate_header\n",
            Self::MalformedOrigin => "crossguard: malformed_origin\n",
            Self::MalformedFetchMetadata(_) => "crossguard: malformed_fetch_metadata\n",
            Self::CrossSiteRequest => "crossguard: cross_site_request\n",
            Self::SameSiteRequest => "crossguard: same_site_request\n",
            Self::OriginMismatch => "crossguard: origin_mismatch\n",
            Self::NullOrigin => "crossguard: null_origin\n",
            Self::CrossSiteResource => "crossguard: cross_site_resource\n",
            Self::CrossSiteWebSocket => "crossguard: cross_site_websocket\n",
            Self::MissingOrigin => "crossguard: missing_origin\n",
            Self::WebSocketMethodNotAllowed => "crossguard: websocket_method_not_allowed\n",
            Self::WebSocketHttpVersion => "crossguard: websocket_http_version\n",
            Self::WebSocketUpgrade => "crossguard: websocket_upgrade\n",
            Self::WebSocketConnection => "crossguard: websocket_connection\n",
            Self::InvalidWebSocketKey => "crossguard: invalid_websocket_key\n",
            Self::UnsupportedWebSocketVersion => "crossguard: unsupported_websocket_version\n",
            Self::MalformedWebSocketProtocol => "crossguard: malformed_websocket_protocol\n",
            Self::MalformedWebSocketExtensions => "crossguard: malformed_websocket_extensions\n",
        }
    }

    /// Header fields the rejection response must carry whatever its body: `Allow: GET` with a
    /// `405` (RFC 9110 §15.5.6) and `Sec-WebSocket-Version: 13` with a `426` (RFC 6455 §4.4).
    #[must_use]
    pub fn required_headers(&self) -> Option<(http::HeaderName, http::HeaderValue)> {
        match self {
            Self::WebSocketMethodNotAllowed => {
                Some((http::header::ALLOW, http::HeaderValue::from_static("GET")))
            }
            Self::UnsupportedWebSocketVersion => Some((
                http::header::SEC_WEBSOCKET_VERSION,
                http::HeaderValue::from_static("13"),
            )),
            _ => None,
        }
    }

    /// Every reason code, in the order of `docs/policy.md`.
    pub const ALL: &'static [Rejection] = &[
        Self::MissingHost,
        Self::DuplicateHost,
        Self::MalformedHost,
        Self::HostNotAllowed,
        Self::DuplicateHeader("Origin"),
        Self::MalformedOrigin,
        Self::MalformedFetchMetadata("Sec-Fetch-Site"),
        Self::CrossSiteRequest,
        Self::SameSiteRequest,
        Self::OriginMismatch,
        Self::NullOrigin,
        Self::CrossSiteResource,
        Self::CrossSiteWebSocket,
        Self::MissingOrigin,
        Self::WebSocketMethodNotAllowed,
        Self::WebSocketHttpVersion,
        Self::WebSocketUpgrade,
        Self::WebSocketConnection,
        Self::InvalidWebSocketKey,
        Self::UnsupportedWebSocketVersion,
        Self::MalformedWebSocketProtocol,
        Self::MalformedWebSocketExtensions,
    ];
}

/// A policy that cannot be built: an allowlist entry or a WebSocket setting is invalid.
///
/// ```
/// use crossguard::{ConfigError, Policy};
///
/// let err = Policy::builder().allow_origin("https://example.com/app").build().unwrap_err();
/// assert!(matches!(err, ConfigError::InvalidOrigin { .. }));
/// assert!(err.to_string().contains("https://example.com/app"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// An origin allowlist entry is not `null`, `scheme://host[:port]` or `scheme://*.domain[:port]`.
    #[error("invalid origin allowlist entry {entry:?}: {why}")]
    InvalidOrigin {
        /// The entry as given.
        entry: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A host allowlist entry is not `host`, `host:port`, `.domain` or `loopback`.
    #[error("invalid host allowlist entry {entry:?}: {why}")]
    InvalidHost {
        /// The entry as given.
        entry: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A WebSocket subprotocol name is not an RFC 9110 token, or is listed twice.
    #[error("invalid WebSocket subprotocol {name:?}: {why}")]
    InvalidProtocol {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A permessage-deflate window size is outside `8..=15` (or 8 without
    /// [`DeflateConfig::accept_server_window_bits_8`](crate::websocket::DeflateConfig::accept_server_window_bits_8)).
    #[error("invalid permessage-deflate setting {name}={value}: {why}")]
    InvalidDeflate {
        /// The setting.
        name: &'static str,
        /// The value given.
        value: u8,
        /// What is wrong with it.
        why: &'static str,
    },
}
