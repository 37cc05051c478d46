//! `Sec-WebSocket-Key` validation and the `Sec-WebSocket-Accept` value (RFC 6455 §4.2.2, §1.3).

use std::fmt;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use http::HeaderValue;
use sha1::{Digest as _, Sha1};

/// The GUID RFC 6455 §1.3 appends to the key before hashing.
pub const WEBSOCKET_GUID: &[u8; 36] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Standard alphabet, padding required; non-zero trailing bits tolerated, since RFC 6455 asks
/// only that the key decode to 16 bytes.
const KEY_ENGINE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical)
        .with_decode_allow_trailing_bits(true),
);

/// Whether `key` is a valid `Sec-WebSocket-Key`: 24 characters of the base64 alphabet, ending in
/// `==`, that decode to 16 bytes.
///
/// ```
/// use crossguard::websocket::is_valid_key;
///
/// assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
/// assert!(!is_valid_key(b""));
/// assert!(!is_valid_key(b"dGhlIHNhbXBsZQ=="));             // 10 bytes
/// assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZSBmb28hIQ==")); // 22 bytes
/// ```
#[must_use]
pub fn is_valid_key(key: &[u8]) -> bool {
    if key.len() != 24 || !key.ends_with(b"==") {
        return false;
    }
    let mut decoded = [0u8; 18];
    matches!(KEY_ENGINE.decode_slice(key, &mut decoded), Ok(16))
}

/// A `Sec-WebSocket-Accept` value: 28 base64 characters, held inline.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AcceptKey([u8; 28]);

impl AcceptKey {
    /// The value as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The value as a header value.
    #[must_use]
    pub fn to_header_value(&self) -> HeaderValue {
        HeaderValue::from_bytes(&self.0).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

impl fmt::Debug for AcceptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AcceptKey").field(&self.as_str()).finish()
    }
}

impl fmt::Display for AcceptKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Computes `Sec-WebSocket-Accept` for a key as received: base64(SHA-1(key ++ GUID)), with no
/// heap allocation.
///
/// ```
/// use crossguard::websocket::accept_key;
///
/// // RFC 6455 §1.3
/// assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ==").as_str(), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
/// ```
#[must_use]
pub fn accept_key(key: &[u8]) -> AcceptKey {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(WEBSOCKET_GUID);
    let digest = sha1.finalize();
    let mut out = [0u8; 28];
    // 20 bytes always encode to exactly 28 characters, so this cannot fail.
    let _ = base64::engine::general_purpose::STANDARD.encode_slice(digest, &mut out);
    AcceptKey(out)
}
