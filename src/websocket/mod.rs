//! The WebSocket opening handshake: RFC 6455 §4.2.1 over HTTP/1.1, RFC 8441 extended CONNECT over
//! HTTP/2, with RFC 7692 permessage-deflate and subprotocol negotiation.
//!
//! [`verify`] checks every field a server must check and returns the [`Handshake`] to answer
//! with; it needs no tower and no I/O. The Origin of a handshake (cross-site WebSocket hijacking)
//! is the [`Policy`](crate::Policy)'s job, which calls [`verify`] itself.
//!
//! ```
//! use crossguard::RequestHead;
//! use crossguard::websocket::{WebSocketConfig, verify};
//! use http::{Request, StatusCode};
//!
//! // RFC 6455 §1.2
//! let request = Request::get("/chat")
//!     .header("host", "server.example.com")
//!     .header("upgrade", "websocket")
//!     .header("connection", "Upgrade")
//!     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
//!     .header("origin", "http://example.com")
//!     .header("sec-websocket-protocol", "chat, superchat")
//!     .header("sec-websocket-version", "13")
//!     .body(())
//!     .unwrap();
//! let config = WebSocketConfig::new(&["chat"], None)?;
//! let handshake = verify(&RequestHead::from_request(&request), &config).unwrap();
//! let response = handshake.response::<()>();
//! assert_eq!(response.status(), StatusCode::SWITCHING_PROTOCOLS);
//! assert_eq!(response.headers()["sec-websocket-accept"], "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
//! assert_eq!(response.headers()["sec-websocket-protocol"], "chat");
//! # Ok::<(), crossguard::ConfigError>(())
//! ```

mod accept;
mod answer;
mod deflate;
mod field_list;
mod protocol;

use std::fmt;

use http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_PROTOCOL,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{HeaderMap, HeaderValue, Method, Response, StatusCode, Version};

pub use accept::{AcceptKey, accept_key, is_valid_key};
pub use answer::{AnswerError, Offer};
pub use deflate::{DeflateConfig, DeflateParams, negotiate_deflate};
pub use protocol::select_protocol;

/// Constants re-exported through `crate::__internals` for the fuzz targets and tests.
pub(crate) mod internals {
    pub use super::accept::WEBSOCKET_GUID;
    pub use super::deflate::{
        MAX_EXTENSION_PARAMS, MAX_EXTENSIONS, MAX_EXTENSIONS_HEADER_LEN, PERMESSAGE_DEFLATE,
    };
    pub use super::protocol::{MAX_PROTOCOL_HEADER_LEN, MAX_PROTOCOLS};
}

use crate::authority::authority;
use crate::explain::{Check, Finding, Outcome, Recorder};
use crate::fields::{Fields, HandshakeFields, Lines};
use crate::{ConfigError, ProtocolMistake, Rejection, RequestHead};

/// The server's WebSocket settings: subprotocols in order of preference, and permessage-deflate.
///
/// The default speaks no subprotocol and accepts permessage-deflate with
/// [`DeflateConfig::default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSocketConfig {
    protocols: Vec<HeaderValue>,
    deflate: Option<DeflateConfig>,
}

impl Default for WebSocketConfig {
    fn default() -> Self {
        Self {
            protocols: Vec::new(),
            deflate: Some(DeflateConfig::default()),
        }
    }
}

impl WebSocketConfig {
    /// Validates a configuration.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidProtocol`] for a name that is not a token or is listed twice;
    /// [`ConfigError::InvalidDeflate`] from [`DeflateConfig::validate`].
    pub fn new<S: AsRef<str>>(
        protocols: &[S],
        deflate: Option<DeflateConfig>,
    ) -> Result<Self, ConfigError> {
        let mut names: Vec<HeaderValue> = Vec::with_capacity(protocols.len());
        for name in protocols {
            let name = name.as_ref();
            let invalid = |why| ConfigError::InvalidProtocol {
                name: name.to_owned(),
                why,
            };
            if !field_list::is_token(name.as_bytes()) {
                return Err(invalid(ProtocolMistake::NotAToken));
            }
            if names.iter().any(|known| known == name) {
                return Err(invalid(ProtocolMistake::Duplicate));
            }
            let value =
                HeaderValue::from_str(name).map_err(|_| invalid(ProtocolMistake::NotAToken))?;
            // The first clone moves the bytes to shared storage; doing it here means handshakes
            // copy the chosen name with a reference count, never an allocation.
            drop(value.clone());
            names.push(value);
        }
        if let Some(deflate) = &deflate {
            deflate.validate()?;
        }
        Ok(Self {
            protocols: names,
            deflate,
        })
    }

    /// The subprotocols, most preferred first.
    #[must_use]
    pub fn protocols(&self) -> &[HeaderValue] {
        &self.protocols
    }

    /// The permessage-deflate settings, `None` when compression is declined.
    #[must_use]
    pub fn deflate(&self) -> Option<&DeflateConfig> {
        self.deflate.as_ref()
    }
}

/// A validated opening handshake: what the server answers with and what it agreed to.
///
/// It keeps the client's `Sec-WebSocket-Key` and derives `Sec-WebSocket-Accept` from it when
/// asked ([`Handshake::accept`], [`Handshake::response_headers`]): a service that answers the
/// handshake itself (axum's `WebSocketUpgrade`, an upstream behind a proxy) never pays for the
/// SHA-1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    key: Option<Key>,
    protocol: Option<HeaderValue>,
    deflate: Option<DeflateParams>,
}

/// A `Sec-WebSocket-Key` that [`is_valid_key`] accepted: 24 characters, held inline.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Key([u8; 24]);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Key")
            .field(&String::from_utf8_lossy(&self.0))
            .finish()
    }
}

impl Handshake {
    /// The `Sec-WebSocket-Accept` value, derived from the key on each call (one SHA-1 and its
    /// base64); `None` over HTTP/2 and HTTP/3, which have no key.
    ///
    /// ```
    /// use crossguard::{Policy, RequestHead};
    /// use http::Request;
    ///
    /// let request = Request::get("/ws")
    ///     .header("host", "localhost:8188")
    ///     .header("origin", "http://localhost:8188")
    ///     .header("upgrade", "websocket")
    ///     .header("connection", "Upgrade")
    ///     .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
    ///     .header("sec-websocket-version", "13")
    ///     .body(())
    ///     .unwrap();
    /// let verdict = Policy::default().check(&RequestHead::from_request(&request)).unwrap();
    /// let accept = verdict.handshake().and_then(|h| h.accept()).unwrap();
    /// assert_eq!(accept.as_str(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); // RFC 6455 §1.3
    /// ```
    #[must_use]
    pub fn accept(&self) -> Option<AcceptKey> {
        self.key.map(|key| accept_key(&key.0))
    }

    /// The selected subprotocol, if the client offered one the server speaks.
    #[must_use]
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_ref().and_then(|p| p.to_str().ok())
    }

    /// The agreed permessage-deflate parameters, if compression was agreed.
    #[must_use]
    pub fn deflate(&self) -> Option<&DeflateParams> {
        self.deflate.as_ref()
    }

    /// `101 Switching Protocols` for HTTP/1.1, `200 OK` for extended CONNECT (RFC 8441 §5).
    #[must_use]
    pub fn status(&self) -> StatusCode {
        if self.key.is_some() {
            StatusCode::SWITCHING_PROTOCOLS
        } else {
            StatusCode::OK
        }
    }

    /// The header fields of the answer.
    #[must_use]
    pub fn response_headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::with_capacity(5);
        if let Some(accept) = self.accept() {
            headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
            headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
            headers.insert(SEC_WEBSOCKET_ACCEPT, accept.to_header_value());
        }
        if let Some(protocol) = &self.protocol {
            headers.insert(SEC_WEBSOCKET_PROTOCOL, protocol.clone());
        }
        if let Some(deflate) = &self.deflate {
            headers.insert(SEC_WEBSOCKET_EXTENSIONS, deflate.to_header_value());
        }
        headers
    }

    /// The answer: status and [`Handshake::response_headers`], with an empty body.
    #[must_use]
    pub fn response<B: Default>(&self) -> Response<B> {
        let mut response = Response::new(B::default());
        *response.status_mut() = self.status();
        *response.headers_mut() = self.response_headers();
        response
    }
}

/// Whether the request is to be judged as a WebSocket opening handshake: its `Upgrade` list holds
/// the `websocket` token (whatever the method or version, so a malformed one is validated, not
/// passed through), or it is an extended CONNECT with `:protocol` `websocket` (RFC 8441).
///
/// It fails closed on near-handshakes that an inner server might still upgrade: a request that
/// carries `Sec-WebSocket-Key`, or whose `Upgrade` merely contains `websocket` (`websocket/13`,
/// `"websocket"`), is a handshake too, so it is validated (and refused as malformed) rather than
/// passed through with its Origin unchecked. When the server framework does not expose
/// `:protocol` (see [`RequestHead::with_protocol`] and the `hyper` feature), an HTTP/2 or HTTP/3
/// CONNECT carrying `Sec-WebSocket-Version` is taken for a handshake for the same reason.
///
/// ```
/// use crossguard::RequestHead;
/// use crossguard::websocket::is_handshake;
/// use http::Request;
///
/// let judge = |upgrade: &str| {
///     let request = Request::get("/ws").header("upgrade", upgrade).body(()).unwrap();
///     is_handshake(&RequestHead::from_request(&request))
/// };
/// assert!(judge("websocket"));
/// assert!(judge("websocket/13")); // not the token, but an inner server may match it
/// assert!(!judge("h2c"));
/// ```
#[must_use]
pub fn is_handshake(head: &RequestHead<'_>) -> bool {
    detect(head, &Fields::read(head.headers()))
}

/// [`is_handshake`], from the fields read already.
pub(crate) fn detect(head: &RequestHead<'_>, fields: &Fields<'_>) -> bool {
    let headers = head.headers();
    if fields.key.is_present() {
        return true;
    }
    if fields.upgrade.is_present() {
        let lines = || fields.upgrade.values(headers, UPGRADE);
        if field_list::contains_token(lines(), "websocket")
            || lines().any(|value| field_list::contains_ignore_case(value.as_bytes(), b"websocket"))
        {
            return true;
        }
    }
    if head.method() != Method::CONNECT || head.version() < Version::HTTP_2 {
        return false;
    }
    match head.protocol() {
        Some(protocol) => protocol.eq_ignore_ascii_case("websocket"),
        None => headers.contains_key(SEC_WEBSOCKET_VERSION),
    }
}

/// Validates an opening handshake (everything but its Origin, which the policy checks).
///
/// | check | rejection |
/// |---|---|
/// | `Host`: one, well-formed, agreeing with the target (HTTP/1.1) | [`Rejection::MissingHost`], [`Rejection::DuplicateHost`], [`Rejection::MalformedHost`], [`Rejection::HostMismatch`] (400) |
/// | HTTP/1.1 or later; HTTP/2+ only as CONNECT with `:protocol: websocket` | [`Rejection::WebSocketHttpVersion`] (400) |
/// | `Upgrade` holds the `websocket` token | [`Rejection::WebSocketUpgrade`] (400) |
/// | method `GET` (HTTP/1.1) | [`Rejection::WebSocketMethodNotAllowed`] (405, `Allow: GET`) |
/// | `Connection` holds the `upgrade` token | [`Rejection::WebSocketConnection`] (400) |
/// | one `Sec-WebSocket-Key`, base64 of 16 bytes (HTTP/1.1) | [`Rejection::InvalidWebSocketKey`] (400) |
/// | one `Sec-WebSocket-Version`, exactly `13` | [`Rejection::UnsupportedWebSocketVersion`] (426) |
/// | `Sec-WebSocket-Protocol` grammar | [`Rejection::MalformedWebSocketProtocol`] (400) |
/// | `Sec-WebSocket-Extensions` grammar | [`Rejection::MalformedWebSocketExtensions`] (400) |
///
/// # Errors
///
/// The first failing check, in the order of the table.
pub fn verify(head: &RequestHead<'_>, config: &WebSocketConfig) -> Result<Handshake, Rejection> {
    let fields = Fields::read(head.headers());
    authority(head.uri(), head.version(), fields.host)?;
    validate(head, &fields, config, &mut ())
}

/// Records a handshake check's result and passes it on.
fn step<R: Recorder>(
    recorder: &mut R,
    check: Check,
    result: Result<(), Rejection>,
) -> Result<(), Rejection> {
    recorder.record(
        check,
        match result {
            Ok(()) => Outcome::Passed(Finding::Valid),
            Err(rejection) => Outcome::Refused(rejection),
        },
    );
    result
}

/// Every handshake check of [`verify`] after the Host, recording each outcome. The policy calls it
/// after its own Host check.
pub(crate) fn validate<R: Recorder>(
    head: &RequestHead<'_>,
    fields: &Fields<'_>,
    config: &WebSocketConfig,
    recorder: &mut R,
) -> Result<Handshake, Rejection> {
    let headers = head.headers();
    let mut handshake = HandshakeFields::default();
    handshake.fill(headers);
    let upgrade_websocket =
        field_list::contains_token(fields.upgrade.values(headers, UPGRADE), "websocket");
    let key = if head.version() >= Version::HTTP_2 {
        // Connection-specific fields are forbidden in HTTP/2 (RFC 9113 §8.2.2).
        let version = if upgrade_websocket {
            Err(Rejection::WebSocketHttpVersion)
        } else {
            Ok(())
        };
        step(recorder, Check::HttpVersion, version)?;
        let websocket = head
            .protocol()
            .is_none_or(|p| p.eq_ignore_ascii_case("websocket"));
        let upgrade = if websocket {
            Ok(())
        } else {
            Err(Rejection::WebSocketUpgrade)
        };
        step(recorder, Check::Upgrade, upgrade)?;
        let method = if head.method() == Method::CONNECT {
            Ok(())
        } else {
            Err(Rejection::WebSocketUpgrade)
        };
        step(recorder, Check::Method, method)?;
        // RFC 8441 §5: no Connection, no key, no accept over HTTP/2.
        recorder.record(Check::Connection, Outcome::Absent);
        recorder.record(Check::SecWebSocketKey, Outcome::Absent);
        None
    } else {
        let version = if head.version() < Version::HTTP_11 {
            Err(Rejection::WebSocketHttpVersion)
        } else {
            Ok(())
        };
        step(recorder, Check::HttpVersion, version)?;
        let upgrade = if upgrade_websocket {
            Ok(())
        } else {
            Err(Rejection::WebSocketUpgrade)
        };
        step(recorder, Check::Upgrade, upgrade)?;
        let method = if head.method() == Method::GET {
            Ok(())
        } else {
            Err(Rejection::WebSocketMethodNotAllowed)
        };
        step(recorder, Check::Method, method)?;
        let connection = handshake.connection.values(headers, CONNECTION);
        let connection = if field_list::contains_token(connection, "upgrade") {
            Ok(())
        } else {
            Err(Rejection::WebSocketConnection)
        };
        step(recorder, Check::Connection, connection)?;
        let key = match fields.key {
            Lines::One(key) if is_valid_key(key.as_bytes()) => key
                .as_bytes()
                .try_into()
                .map(Key)
                .map_err(|_| Rejection::InvalidWebSocketKey),
            _ => Err(Rejection::InvalidWebSocketKey),
        };
        step(recorder, Check::SecWebSocketKey, key.map(|_| ()))?;
        key.ok()
    };
    let version = match handshake.version {
        Lines::One(version) if version == "13" => Ok(()),
        _ => Err(Rejection::UnsupportedWebSocketVersion),
    };
    step(recorder, Check::SecWebSocketVersion, version)?;
    // The offers go by reference: the iterator is read where it was written, not copied first.
    let mut offered = handshake.protocol.values(headers, SEC_WEBSOCKET_PROTOCOL);
    let protocol =
        select_protocol(&mut offered, &config.protocols).map(Option::<&HeaderValue>::cloned);
    step(
        recorder,
        Check::SecWebSocketProtocol,
        protocol.as_ref().map(|_| ()).map_err(|r| *r),
    )?;
    let mut offered = handshake
        .extensions
        .values(headers, SEC_WEBSOCKET_EXTENSIONS);
    let deflate = negotiate_deflate(&mut offered, config.deflate.as_ref());
    step(recorder, Check::SecWebSocketExtensions, deflate.map(|_| ()))?;
    Ok(Handshake {
        key,
        protocol: protocol?,
        deflate: deflate?,
    })
}
