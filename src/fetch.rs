//! Fetch Metadata request headers (`Sec-Fetch-Site`, `Sec-Fetch-Mode`, `Sec-Fetch-Dest`).
//!
//! Browsers set these on requests to potentially trustworthy origins (`https:`, and `http:` to
//! `localhost` and loopback addresses); pages cannot forge them. Values are structured-field
//! tokens; a value that is a visible-ASCII token but not one listed here is *unknown* (and treated
//! as the least trusted value), anything else is malformed.

use http::HeaderValue;

use crate::{Field, Rejection};

/// Longest Fetch Metadata value accepted; the longest defined value is 15 bytes.
pub const MAX_FETCH_METADATA_LEN: usize = 64;

/// `Sec-Fetch-Site`: how the request's initiator relates to its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecFetchSite {
    /// `same-origin`: initiated by a page of the target's own origin.
    SameOrigin,
    /// `same-site`: another origin of the same site (`localhost:3000` → `localhost:8188`).
    SameSite,
    /// `cross-site`: another site.
    CrossSite,
    /// `none`: user-initiated (address bar, bookmark).
    None,
    /// A well-formed value this crate does not know; treated as `cross-site`.
    Unknown,
}

/// `Sec-Fetch-Mode`: the request's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecFetchMode {
    /// `navigate`: a navigation (link, form submission, address bar).
    Navigate,
    /// `cors`.
    Cors,
    /// `no-cors`: e.g. `<img>`, `<script>`, `fetch(…, {mode: "no-cors"})`.
    NoCors,
    /// `same-origin`.
    SameOrigin,
    /// `websocket`.
    WebSocket,
    /// A well-formed value this crate does not know.
    Unknown,
}

/// `Sec-Fetch-Dest`, reduced to what the resource isolation rule needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecFetchDest {
    /// `document`.
    Document,
    /// `iframe` or `frame`.
    Frame,
    /// `object`: a plugin `<object>`, never a legitimate cross-site navigation.
    Object,
    /// `embed`: a plugin `<embed>`, never a legitimate cross-site navigation.
    Embed,
    /// Any other well-formed value (`empty`, `image`, `script`, …).
    Other,
}

/// The token bytes of a Fetch Metadata value, or `None` when it is not a short visible-ASCII
/// token.
fn token(value: &HeaderValue) -> Option<&[u8]> {
    let bytes = value.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= MAX_FETCH_METADATA_LEN
        && bytes
            .iter()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b',' | b';'));
    ok.then_some(bytes)
}

impl SecFetchSite {
    /// Parses a `Sec-Fetch-Site` value (case-sensitive, as structured-field tokens are).
    ///
    /// # Errors
    ///
    /// [`Rejection::MalformedFetchMetadata`] when the value is not a short visible-ASCII token.
    ///
    /// ```
    /// use crossguard::explain::SecFetchSite;
    /// use http::HeaderValue;
    ///
    /// let parse = |v| SecFetchSite::parse(&HeaderValue::from_static(v));
    /// assert_eq!(parse("cross-site"), Ok(SecFetchSite::CrossSite));
    /// assert_eq!(parse("Same-Origin"), Ok(SecFetchSite::Unknown));
    /// assert!(parse("same origin").is_err());
    /// ```
    pub fn parse(value: &HeaderValue) -> Result<Self, Rejection> {
        // The values browsers send are matched first; only others need the token scan.
        Ok(match value.as_bytes() {
            b"same-origin" => Self::SameOrigin,
            b"same-site" => Self::SameSite,
            b"cross-site" => Self::CrossSite,
            b"none" => Self::None,
            _ => {
                token(value).ok_or(Rejection::MalformedFetchMetadata(Field::SecFetchSite))?;
                Self::Unknown
            }
        })
    }

    /// Whether the browser vouches that a page of another origin did not initiate the request
    /// (`same-origin`, or `none` for user-initiated requests).
    #[must_use]
    pub fn is_trusted(self) -> bool {
        matches!(self, Self::SameOrigin | Self::None)
    }
}

impl SecFetchMode {
    /// Parses a `Sec-Fetch-Mode` value.
    ///
    /// # Errors
    ///
    /// [`Rejection::MalformedFetchMetadata`] when the value is not a short visible-ASCII token.
    pub fn parse(value: &HeaderValue) -> Result<Self, Rejection> {
        let token = token(value).ok_or(Rejection::MalformedFetchMetadata(Field::SecFetchMode))?;
        Ok(match token {
            b"navigate" => Self::Navigate,
            b"cors" => Self::Cors,
            b"no-cors" => Self::NoCors,
            b"same-origin" => Self::SameOrigin,
            b"websocket" => Self::WebSocket,
            _ => Self::Unknown,
        })
    }
}

impl SecFetchDest {
    /// Parses a `Sec-Fetch-Dest` value.
    ///
    /// # Errors
    ///
    /// [`Rejection::MalformedFetchMetadata`] when the value is not a short visible-ASCII token.
    pub fn parse(value: &HeaderValue) -> Result<Self, Rejection> {
        let token = token(value).ok_or(Rejection::MalformedFetchMetadata(Field::SecFetchDest))?;
        Ok(match token {
            b"document" => Self::Document,
            b"iframe" | b"frame" => Self::Frame,
            b"object" => Self::Object,
            b"embed" => Self::Embed,
            _ => Self::Other,
        })
    }
}
