//! `Sec-WebSocket-Extensions` parsing (RFC 6455 §9.1) and permessage-deflate negotiation
//! (RFC 7692 §7).
//!
//! Extension and parameter names compare case-sensitively, as python-websockets, Node `ws` and
//! Chromium compare them (`PERMESSAGE-DEFLATE` is another, unknown extension); whitespace around
//! `;` and `=` is allowed. Offers are tried in the client's order. An offer this server cannot accept as written (an
//! unknown or repeated parameter, a value on a flag, window bits that are not exactly a decimal
//! 8 to 15) is *declined* and the next one is tried; a header that breaks the grammar rejects the
//! handshake. Work is linear in the header and capped by the constants below.

use std::fmt;

use http::HeaderValue;

use super::field_list::is_tchar;
use crate::{ConfigError, DeflateMistake, Rejection};

/// Most bytes of `Sec-WebSocket-Extensions`, all field lines together.
pub const MAX_EXTENSIONS_HEADER_LEN: usize = 4096;

/// Most extension elements (offers of any extension) in `Sec-WebSocket-Extensions`.
pub const MAX_EXTENSIONS: usize = 32;

/// Most parameters on one extension element.
pub const MAX_EXTENSION_PARAMS: usize = 16;

/// The extension's registered name.
pub const PERMESSAGE_DEFLATE: &str = "permessage-deflate";

/// What this server is willing to agree to for permessage-deflate.
///
/// The defaults accept any valid offer: server window up to 15 bits, client window as the client
/// likes, context takeover in both directions.
///
/// ```
/// use crossguard::websocket::DeflateConfig;
///
/// let config = DeflateConfig::default()
///     .server_max_window_bits(12)
///     .server_no_context_takeover(true);
/// assert!(config.validate().is_ok());
/// assert!(DeflateConfig::default().client_max_window_bits(16).validate().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub struct DeflateConfig {
    server_max_window_bits: u8,
    client_max_window_bits: u8,
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    accept_server_window_bits_8: bool,
}

impl Default for DeflateConfig {
    fn default() -> Self {
        Self {
            server_max_window_bits: 15,
            client_max_window_bits: 15,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            accept_server_window_bits_8: false,
        }
    }
}

impl DeflateConfig {
    /// The largest LZ77 window (base-2 log, 8..=15) the server compresses with.
    pub fn server_max_window_bits(mut self, bits: u8) -> Self {
        self.server_max_window_bits = bits;
        self
    }

    /// The largest window (8..=15) the server asks the client to compress with. Below 15, offers
    /// without `client_max_window_bits` are declined, as the server cannot ask for less.
    pub fn client_max_window_bits(mut self, bits: u8) -> Self {
        self.client_max_window_bits = bits;
        self
    }

    /// Always answer `server_no_context_takeover` (the server resets its compressor per message).
    pub fn server_no_context_takeover(mut self, on: bool) -> Self {
        self.server_no_context_takeover = on;
        self
    }

    /// Always answer `client_no_context_takeover` (ask the client to reset per message).
    pub fn client_no_context_takeover(mut self, on: bool) -> Self {
        self.client_no_context_takeover = on;
        self
    }

    /// Whether the server can compress with an 8-bit window (default `false`: zlib and the Rust
    /// WebSocket libraries built on it cannot, so offers demanding `server_max_window_bits=8` are
    /// declined).
    pub fn accept_server_window_bits_8(mut self, on: bool) -> Self {
        self.accept_server_window_bits_8 = on;
        self
    }

    /// Checks the window sizes.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidDeflate`] for a window outside 8..=15, or a server window of 8
    /// without [`DeflateConfig::accept_server_window_bits_8`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        let check = |name, value: u8| {
            if (8..=15).contains(&value) {
                Ok(())
            } else {
                Err(ConfigError::InvalidDeflate {
                    name,
                    value,
                    why: DeflateMistake::OutOfRange,
                })
            }
        };
        check("server_max_window_bits", self.server_max_window_bits)?;
        check("client_max_window_bits", self.client_max_window_bits)?;
        if self.server_max_window_bits == 8 && !self.accept_server_window_bits_8 {
            return Err(ConfigError::InvalidDeflate {
                name: "server_max_window_bits",
                value: 8,
                why: DeflateMistake::NeedsWindowBits8,
            });
        }
        Ok(())
    }
}

/// The agreed permessage-deflate parameters, as answered in `Sec-WebSocket-Extensions`.
///
/// Hand them to the WebSocket implementation that runs the connection: the server compresses with
/// [`server_max_window_bits`](Self::server_max_window_bits) and
/// [`server_no_context_takeover`](Self::server_no_context_takeover), and decompresses what the
/// client sends with the `client_*` values. [`Display`](fmt::Display) writes the response element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeflateParams {
    server_max_window_bits: u8,
    client_max_window_bits: u8,
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    send_server_bits: bool,
    send_client_bits: bool,
}

impl DeflateParams {
    /// The window the server compresses with (15 when not negotiated lower).
    #[must_use]
    pub fn server_max_window_bits(&self) -> u8 {
        self.server_max_window_bits
    }

    /// The window the client may compress with (15 when not negotiated lower).
    #[must_use]
    pub fn client_max_window_bits(&self) -> u8 {
        self.client_max_window_bits
    }

    /// Whether the server resets its compression context after each message.
    #[must_use]
    pub fn server_no_context_takeover(&self) -> bool {
        self.server_no_context_takeover
    }

    /// Whether the client resets its compression context after each message.
    #[must_use]
    pub fn client_no_context_takeover(&self) -> bool {
        self.client_no_context_takeover
    }

    /// The `Sec-WebSocket-Extensions` response value.
    #[must_use]
    pub fn to_header_value(&self) -> HeaderValue {
        let bare = !(self.server_no_context_takeover
            || self.client_no_context_takeover
            || self.send_server_bits
            || self.send_client_bits);
        if bare {
            // What browsers' default offers get: no allocation.
            return HeaderValue::from_static(PERMESSAGE_DEFLATE);
        }
        HeaderValue::from_str(&self.to_string())
            .unwrap_or_else(|_| HeaderValue::from_static(PERMESSAGE_DEFLATE))
    }
}

impl fmt::Display for DeflateParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PERMESSAGE_DEFLATE)?;
        if self.server_no_context_takeover {
            f.write_str("; server_no_context_takeover")?;
        }
        if self.client_no_context_takeover {
            f.write_str("; client_no_context_takeover")?;
        }
        if self.send_server_bits {
            write!(
                f,
                "; server_max_window_bits={}",
                self.server_max_window_bits
            )?;
        }
        if self.send_client_bits {
            write!(
                f,
                "; client_max_window_bits={}",
                self.client_max_window_bits
            )?;
        }
        Ok(())
    }
}

/// One parameter value: a token, or the inside of a quoted-string.
#[derive(Clone, Copy)]
struct Value<'a> {
    raw: &'a [u8],
    escaped: bool,
}

impl Value<'_> {
    /// RFC 7692 §7.1.2: a decimal 8..=15 with no leading zero, as a token or a plain quoted
    /// string (`"10"`); a quoted value with escapes (`"1\\0"`) is declined rather than unescaped.
    fn window_bits(&self) -> Option<u8> {
        if self.escaped {
            return None;
        }
        match self.raw {
            [d @ b'8'..=b'9'] => Some(d - b'0'),
            [b'1', d @ b'0'..=b'5'] => Some(10 + (d - b'0')),
            _ => None,
        }
    }
}

/// A byte cursor over one field line.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    fn token(&mut self) -> Option<&'a [u8]> {
        let rest = self.bytes.get(self.pos..)?;
        let len = rest
            .iter()
            .position(|&b| !is_tchar(b))
            .unwrap_or(rest.len());
        self.pos += len;
        rest.get(..len).filter(|t| !t.is_empty())
    }

    /// A quoted-string whose unescaped content is a token (RFC 6455 §9.1); the cursor is on `"`.
    fn quoted(&mut self) -> Option<Value<'a>> {
        self.pos += 1;
        let start = self.pos;
        let mut escaped = false;
        let mut len = 0usize;
        loop {
            match self.peek()? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.pos += 1;
                    if !is_tchar(self.peek()?) {
                        return None;
                    }
                }
                b if is_tchar(b) => {}
                _ => return None,
            }
            self.pos += 1;
            len += 1;
        }
        let raw = self.bytes.get(start..self.pos)?;
        self.pos += 1;
        (len > 0).then_some(Value { raw, escaped })
    }
}

/// Calls `visit(name, offer)` for each extension element of every field line, in order, with its
/// parameters read as a permessage-deflate offer (`None` when they are not one this server can
/// accept as written; the caller ignores it for other extensions). Returns `None` when the grammar
/// or a cap is broken.
fn for_each_extension<'a, I, F>(lines: I, mut visit: F) -> Option<()>
where
    I: IntoIterator<Item = &'a HeaderValue>,
    F: FnMut(&'a [u8], Option<Offer>),
{
    let mut total = 0usize;
    let mut elements = 0usize;
    for line in lines {
        total = total.saturating_add(line.len());
        if total > MAX_EXTENSIONS_HEADER_LEN {
            return None;
        }
        let mut cur = Cursor {
            bytes: line.as_bytes(),
            pos: 0,
        };
        loop {
            cur.skip_ows();
            match cur.peek() {
                None => break,
                Some(b',') => {
                    cur.pos += 1;
                    continue;
                }
                Some(_) => {}
            }
            let name = cur.token()?;
            let mut offer = Some(Offer::default());
            let mut count = 0usize;
            loop {
                cur.skip_ows();
                match cur.peek() {
                    None | Some(b',') => break,
                    Some(b';') => cur.pos += 1,
                    Some(_) => return None,
                }
                cur.skip_ows();
                let param_name = cur.token()?;
                // RFC 6455 §9.1 inherits RFC 2616's implied linear whitespace: `bits = 10`.
                cur.skip_ows();
                let value = if cur.peek() == Some(b'=') {
                    cur.pos += 1;
                    cur.skip_ows();
                    Some(match cur.peek()? {
                        b'"' => cur.quoted()?,
                        _ => Value {
                            raw: cur.token()?,
                            escaped: false,
                        },
                    })
                } else {
                    None
                };
                count += 1;
                if count > MAX_EXTENSION_PARAMS {
                    return None;
                }
                offer = offer.and_then(|offer| offer.with(param_name, value));
            }
            elements += 1;
            if elements > MAX_EXTENSIONS {
                return None;
            }
            visit(name, offer);
        }
    }
    Some(())
}

/// Calls `visit(name)` for each extension element of every field line, in order, read with the
/// same grammar and caps as an offer; `None` when they are broken.
pub(crate) fn for_each_extension_name<'a, I, F>(lines: I, mut visit: F) -> Option<()>
where
    I: IntoIterator<Item = &'a HeaderValue>,
    F: FnMut(&'a [u8]),
{
    for_each_extension(lines, |name, _| visit(name))
}

/// A permessage-deflate offer as the client wrote it.
#[derive(Clone, Copy, Default)]
struct Offer {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `Some(None)`: offered without a value.
    client_max_window_bits: Option<Option<u8>>,
}

impl Offer {
    /// The offer with one more parameter, or `None` when it must be declined.
    fn with(mut self, name: &[u8], value: Option<Value<'_>>) -> Option<Self> {
        if name == b"server_no_context_takeover" {
            if self.server_no_context_takeover || value.is_some() {
                return None;
            }
            self.server_no_context_takeover = true;
        } else if name == b"client_no_context_takeover" {
            if self.client_no_context_takeover || value.is_some() {
                return None;
            }
            self.client_no_context_takeover = true;
        } else if name == b"server_max_window_bits" {
            if self.server_max_window_bits.is_some() {
                return None;
            }
            self.server_max_window_bits = Some(value?.window_bits()?);
        } else if name == b"client_max_window_bits" {
            if self.client_max_window_bits.is_some() {
                return None;
            }
            let bits = match value {
                None => None,
                Some(value) => Some(value.window_bits()?),
            };
            self.client_max_window_bits = Some(bits);
        } else {
            return None;
        }
        Some(self)
    }

    /// The answer to this offer under `config`, or `None` to decline it (RFC 7692 §7.1).
    fn answer(&self, config: &DeflateConfig) -> Option<DeflateParams> {
        let server_bits = config
            .server_max_window_bits
            .min(self.server_max_window_bits.unwrap_or(15));
        if server_bits == 8 && !config.accept_server_window_bits_8 {
            return None;
        }
        let (client_bits, send_client_bits) = match self.client_max_window_bits {
            // The client did not say it can limit its window: it will use up to 15 bits.
            None if config.client_max_window_bits < 15 => return None,
            None => (15, false),
            Some(None) => {
                let bits = config.client_max_window_bits;
                (bits, bits < 15)
            }
            Some(Some(offered)) => (config.client_max_window_bits.min(offered), true),
        };
        Some(DeflateParams {
            server_max_window_bits: server_bits,
            client_max_window_bits: client_bits,
            server_no_context_takeover: self.server_no_context_takeover
                || config.server_no_context_takeover,
            client_no_context_takeover: self.client_no_context_takeover
                || config.client_no_context_takeover,
            send_server_bits: self.server_max_window_bits.is_some() || server_bits < 15,
            send_client_bits,
        })
    }
}

/// Negotiates permessage-deflate from the client's `Sec-WebSocket-Extensions` field lines.
///
/// Returns the parameters of the first acceptable offer, or `None` when there is none (or
/// `config` is `None`: the header is then only checked for grammar). The answer never names a
/// parameter the client did not offer except those RFC 7692 lets a server add
/// (`server_no_context_takeover`, `client_no_context_takeover`, `server_max_window_bits`), and
/// never a `client_max_window_bits` larger than offered.
///
/// # Errors
///
/// [`Rejection::MalformedWebSocketExtensions`] when the header breaks the RFC 6455 §9.1 grammar
/// or exceeds the size caps: 4096 bytes over all its lines, 32 extensions, 16 parameters in
/// one extension.
///
/// ```
/// use crossguard::websocket::{DeflateConfig, negotiate_deflate};
/// use http::HeaderValue;
///
/// let offer = [HeaderValue::from_static(
///     "permessage-deflate; server_max_window_bits=7, permessage-deflate; client_max_window_bits",
/// )];
/// let agreed = negotiate_deflate(&offer, Some(&DeflateConfig::default())).unwrap().unwrap();
/// assert_eq!(agreed.to_string(), "permessage-deflate"); // first offer declined (7 bits)
///
/// let broken = [HeaderValue::from_static("permessage-deflate; =15")];
/// assert!(negotiate_deflate(&broken, Some(&DeflateConfig::default())).is_err());
/// ```
pub fn negotiate_deflate<'a, I>(
    lines: I,
    config: Option<&DeflateConfig>,
) -> Result<Option<DeflateParams>, Rejection>
where
    I: IntoIterator<Item = &'a HeaderValue>,
{
    let mut agreed = None;
    for_each_extension(lines, |name, offer| {
        if let (None, Some(config)) = (agreed, config) {
            if name == PERMESSAGE_DEFLATE.as_bytes() {
                agreed = offer.and_then(|offer| offer.answer(config));
            }
        }
    })
    .ok_or(Rejection::MalformedWebSocketExtensions)?;
    Ok(agreed)
}
