//! Typed rejections, each written once.
//!
//! Every way a request can be refused is one row of the table below: the variant, its HTTP
//! status, its stable snake_case reason code, the [`Rule`] that decides it and its message.
//! Everything else ([`Rejection::status`], [`Rejection::reason`], [`Rejection::rule`],
//! [`Rejection::body`], [`Rejection::ALL`]) is derived from that row. Reason codes are part of the
//! public contract: they are listed in `docs/policy.md` and never change meaning.

use std::fmt;

use http::StatusCode;

use crate::Rule;

/// A request header field a rejection can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Field {
    /// `Origin`.
    Origin,
    /// `Sec-Fetch-Site`.
    SecFetchSite,
    /// `Sec-Fetch-Mode`.
    SecFetchMode,
    /// `Sec-Fetch-Dest`.
    SecFetchDest,
}

impl Field {
    /// The field's name as browsers write it.
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Origin => "Origin",
            Self::SecFetchSite => "Sec-Fetch-Site",
            Self::SecFetchMode => "Sec-Fetch-Mode",
            Self::SecFetchDest => "Sec-Fetch-Dest",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Writes the [`Rejection`] enum and its derived tables from one row per rejection:
/// `Variant[(Payload = example)] => (STATUS, "reason", Rule, "message")`.
macro_rules! rejections {
    ($(
        $(#[doc = $doc:literal])+
        $variant:ident $(($payload:ty = $example:expr))? =>
            ($status:ident, $reason:literal, $rule:ident, $message:literal),
    )+) => {
        /// Why crossguard refused a request.
        ///
        /// Statuses follow one scheme: `400` for a request head that is malformed (duplicated,
        /// oversized, unparsable or non-ASCII fields, or a Host that contradicts the target), `403`
        /// for a well-formed request that the policy denies, `405` for a WebSocket handshake with
        /// the wrong method and `426` for an unsupported WebSocket version.
        ///
        /// ```
        /// use crossguard::{Field, Rejection};
        /// use http::StatusCode;
        ///
        /// let rejection = Rejection::CrossSiteRequest;
        /// assert_eq!(rejection.status(), StatusCode::FORBIDDEN);
        /// assert_eq!(rejection.reason(), "cross_site_request");
        /// assert_eq!(rejection.rule().as_str(), "sec_fetch_site");
        /// assert_eq!(rejection.body(), "crossguard: cross_site_request\n");
        /// assert_eq!(
        ///     Rejection::DuplicateHeader(Field::Origin).to_string(),
        ///     "the Origin header appears more than once",
        /// );
        /// ```
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
        #[non_exhaustive]
        pub enum Rejection {
            $(
                $(#[doc = $doc])+
                #[error($message)]
                $variant $(($payload))?,
            )+
        }

        impl Rejection {
            /// The status crossguard answers with.
            #[must_use]
            pub const fn status(&self) -> StatusCode {
                match self {
                    $(Self::$variant { .. } => StatusCode::$status,)+
                }
            }

            /// The stable snake_case reason code (see the table in `docs/policy.md`).
            #[must_use]
            pub const fn reason(&self) -> &'static str {
                match self {
                    $(Self::$variant { .. } => $reason,)+
                }
            }

            /// The rule that refused the request.
            #[must_use]
            pub const fn rule(&self) -> Rule {
                match self {
                    $(Self::$variant { .. } => Rule::$rule,)+
                }
            }

            /// The one-line plain-text body of the default rejection response: `crossguard: `,
            /// the reason code and a newline (at most 64 bytes).
            #[must_use]
            pub const fn body(&self) -> &'static str {
                match self {
                    $(Self::$variant { .. } => concat!("crossguard: ", $reason, "\n"),)+
                }
            }

            /// Every rejection, in the order of `docs/policy.md` (payloads take an example
            /// value).
            pub const ALL: &'static [Rejection] = &[
                $(Self::$variant $(({ let example: $payload = $example; example }))?,)+
            ];
        }
    };
}

rejections! {
    /// An HTTP/1.1 request without a `Host` field (RFC 9112 §3.2), whatever its target.
    MissingHost => (BAD_REQUEST, "missing_host", Host,
        "the request has no Host header"),
    /// More than one `Host` field line (RFC 9112 §3.2).
    DuplicateHost => (BAD_REQUEST, "duplicate_host", Host,
        "the request has more than one Host header"),
    /// The `Host` field or the target's authority is not `host[:port]`.
    MalformedHost => (BAD_REQUEST, "malformed_host", Host,
        "the Host header or request authority is malformed"),
    /// The `Host` field names another authority than the request target (absolute-form or
    /// HTTP/2 `:authority`): the guard and the application could judge different hosts
    /// (RFC 9112 §3.2.2, RFC 9113 §8.3.1).
    HostMismatch => (BAD_REQUEST, "host_mismatch", Host,
        "the Host header and the request target name different authorities"),
    /// The host is not in the configured host allowlist (DNS rebinding protection).
    HostNotAllowed => (FORBIDDEN, "host_not_allowed", Host,
        "the request's host is not in the host allowlist"),
    /// `Origin` or one of the `Sec-Fetch-*` fields appears more than once.
    DuplicateHeader(Field = Field::Origin) => (BAD_REQUEST, "duplicate_header", HeaderSyntax,
        "the {0} header appears more than once"),
    /// The `Origin` field is not `null` nor `scheme://host[:port]`, or is too long.
    MalformedOrigin => (BAD_REQUEST, "malformed_origin", HeaderSyntax,
        "the Origin header is malformed"),
    /// A `Sec-Fetch-*` field is not a short visible-ASCII token.
    MalformedFetchMetadata(Field = Field::SecFetchSite) => (BAD_REQUEST,
        "malformed_fetch_metadata", HeaderSyntax, "the {0} header is malformed"),
    /// An unsafe-method request the browser labelled `Sec-Fetch-Site: cross-site` (or an unknown
    /// value), whose Origin is not allowlisted.
    CrossSiteRequest => (FORBIDDEN, "cross_site_request", SecFetchSite,
        "cross-site request denied (Sec-Fetch-Site)"),
    /// An unsafe-method request labelled `Sec-Fetch-Site: same-site` while same-site requests are
    /// not allowed.
    SameSiteRequest => (FORBIDDEN, "same_site_request", SameSite,
        "same-site request denied (Sec-Fetch-Site: same-site is not allowed)"),
    /// No `Sec-Fetch-Site`, and the `Origin` matches neither the request's host nor the allowlist.
    OriginMismatch => (FORBIDDEN, "origin_mismatch", Origin,
        "the Origin does not match the request's host"),
    /// `Origin: null` where the Origin decides, and `null` is not allowlisted.
    NullOrigin => (FORBIDDEN, "null_origin", Origin, "Origin: null denied"),
    /// Resource isolation: a cross-site safe-method request that is not a top-level navigation.
    CrossSiteResource => (FORBIDDEN, "cross_site_resource", ResourceIsolation,
        "cross-site resource request denied (resource isolation)"),
    /// A WebSocket handshake from another origin (cross-site WebSocket hijacking).
    CrossSiteWebSocket => (FORBIDDEN, "cross_site_websocket", WebSocketOrigin,
        "cross-origin WebSocket handshake denied"),
    /// A WebSocket handshake without `Origin` while `require_origin_for_websocket` is set.
    MissingOrigin => (FORBIDDEN, "missing_origin", WebSocketOrigin,
        "WebSocket handshake without an Origin header denied"),
    /// A WebSocket handshake whose method is not `GET` (HTTP/1.1) or `CONNECT` (HTTP/2).
    WebSocketMethodNotAllowed => (METHOD_NOT_ALLOWED, "websocket_method_not_allowed",
        WebSocketHandshake, "WebSocket handshakes must use GET"),
    /// A WebSocket handshake over HTTP/1.0, or an HTTP/2 request carrying `Upgrade`.
    WebSocketHttpVersion => (BAD_REQUEST, "websocket_http_version", WebSocketHandshake,
        "WebSocket handshakes need HTTP/1.1 (or HTTP/2 extended CONNECT)"),
    /// `Upgrade` does not name `websocket` as a token (or HTTP/2 `:protocol` is not
    /// `websocket`).
    WebSocketUpgrade => (BAD_REQUEST, "websocket_upgrade", WebSocketHandshake,
        "the Upgrade header does not name websocket"),
    /// `Connection` does not contain the `upgrade` token.
    WebSocketConnection => (BAD_REQUEST, "websocket_connection", WebSocketHandshake,
        "the Connection header does not contain the upgrade token"),
    /// `Sec-WebSocket-Key` is missing, repeated, or not the base64 encoding of 16 bytes.
    InvalidWebSocketKey => (BAD_REQUEST, "invalid_websocket_key", WebSocketHandshake,
        "Sec-WebSocket-Key is missing, repeated, or not base64 of 16 bytes"),
    /// `Sec-WebSocket-Version` is missing, repeated or not exactly `13`.
    UnsupportedWebSocketVersion => (UPGRADE_REQUIRED, "unsupported_websocket_version",
        WebSocketHandshake, "Sec-WebSocket-Version must be exactly 13"),
    /// `Sec-WebSocket-Protocol` breaks the token-list grammar, repeats a name or is too large.
    MalformedWebSocketProtocol => (BAD_REQUEST, "malformed_websocket_protocol",
        WebSocketHandshake, "the Sec-WebSocket-Protocol header is malformed"),
    /// `Sec-WebSocket-Extensions` breaks the RFC 6455 §9.1 grammar or exceeds the size caps.
    MalformedWebSocketExtensions => (BAD_REQUEST, "malformed_websocket_extensions",
        WebSocketHandshake, "the Sec-WebSocket-Extensions header is malformed"),
}

impl Rejection {
    /// Header fields the rejection response must carry whatever its body: `Allow: GET` with a
    /// `405` (RFC 9110 §15.5.6); with a `426`, `Upgrade: websocket` and `Connection: upgrade`
    /// (RFC 9110 §15.5.22) and `Sec-WebSocket-Version: 13` (RFC 6455 §4.4).
    ///
    /// ```
    /// use crossguard::Rejection;
    ///
    /// let names: Vec<_> = Rejection::UnsupportedWebSocketVersion
    ///     .required_headers()
    ///     .iter()
    ///     .map(|(name, value)| format!("{name}: {}", value.to_str().unwrap()))
    ///     .collect();
    /// assert_eq!(names, ["sec-websocket-version: 13", "upgrade: websocket", "connection: upgrade"]);
    /// assert!(Rejection::CrossSiteRequest.required_headers().is_empty());
    /// ```
    #[must_use]
    pub fn required_headers(&self) -> &'static [(http::HeaderName, http::HeaderValue)] {
        use http::header::{ALLOW, CONNECTION, SEC_WEBSOCKET_VERSION, UPGRADE};
        use http::{HeaderName, HeaderValue};
        static METHOD: [(HeaderName, HeaderValue); 1] = [(ALLOW, HeaderValue::from_static("GET"))];
        static VERSION: [(HeaderName, HeaderValue); 3] = [
            (SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13")),
            (UPGRADE, HeaderValue::from_static("websocket")),
            (CONNECTION, HeaderValue::from_static("upgrade")),
        ];
        match self {
            Self::WebSocketMethodNotAllowed => &METHOD,
            Self::UnsupportedWebSocketVersion => &VERSION,
            _ => &[],
        }
    }
}

/// The status, `Content-Type` and body of a refusal: what [`Policy::rejection_response`] and the
/// layer's default rejection start from.
///
/// [`Policy::rejection_response`]: crate::Policy::rejection_response
pub(crate) fn plain_rejection<B: From<&'static str>>(rejection: Rejection) -> http::Response<B> {
    let mut response = http::Response::new(B::from(rejection.body()));
    *response.status_mut() = rejection.status();
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
