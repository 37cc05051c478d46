//! What a policy that does not build says: one variant per kind of entry, one reason per mistake.

/// A policy that cannot be built: an allowlist entry or a WebSocket setting is invalid.
///
/// Each variant names the entry as given and, in `why`, the mistake; the message says how to fix
/// it.
///
/// ```
/// use crossguard::{ConfigError, OriginMistake, Policy};
///
/// let err = Policy::builder().allow_origin("https://example.com/").build().unwrap_err();
/// assert_eq!(
///     err,
///     ConfigError::InvalidOrigin {
///         entry: "https://example.com/".into(),
///         why: OriginMistake::TrailingSlash,
///     }
/// );
/// assert_eq!(
///     err.to_string(),
///     "invalid origin allowlist entry \"https://example.com/\": an origin has no path: remove the trailing slash"
/// );
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
        why: OriginMistake,
    },
    /// A host allowlist entry is not `host`, `host:port`, `.domain[:port]` or `loopback[:port]`.
    #[error("invalid host allowlist entry {entry:?}: {why}")]
    InvalidHost {
        /// The entry as given.
        entry: String,
        /// What is wrong with it.
        why: HostMistake,
    },
    /// A WebSocket subprotocol name is not an RFC 9110 token, or is listed twice.
    #[error("invalid WebSocket subprotocol {name:?}: {why}")]
    InvalidProtocol {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        why: ProtocolMistake,
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
        why: DeflateMistake,
    },
}

/// What is wrong with an origin allowlist entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum OriginMistake {
    /// No `scheme://`.
    #[error("an origin is scheme://host[:port]")]
    NotAnOrigin,
    /// `https://example.com/`.
    #[error("an origin has no path: remove the trailing slash")]
    TrailingSlash,
    /// `https://example.com/app`, `?q`, `#f`.
    #[error("an origin has no path, query or fragment")]
    HasPath,
    /// `https://user@example.com`.
    #[error("an origin has no userinfo")]
    HasUserinfo,
    /// `https://a*.example.com`, `https://*.*.example.com`.
    #[error("`*` may only be the whole leftmost label, as in https://*.example.com")]
    MisplacedWildcard,
    /// `https://*.192.168.1.5`.
    #[error("a wildcard needs a domain name, not an IP address")]
    WildcardOnAddress,
    /// `https://*.com`, `https://*.co.uk`, `https://*.github.io`: every site under a public suffix.
    #[error(
        "the domain after `*.` is a public suffix, so the entry would trust every site under it: \
         name a registrable domain, as in https://*.example.com"
    )]
    WildcardOnPublicSuffix,
    /// A host or port that no browser serialises in an origin.
    #[error("not a valid origin (host or port)")]
    Invalid,
}

/// What is wrong with a host allowlist entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum HostMistake {
    /// `http://localhost:8188`, `localhost/app`.
    #[error("give a host, not a URL (no scheme, no path)")]
    Url,
    /// `*.example.com`.
    #[error("use `.example.com` for a domain and its subdomains")]
    Wildcard,
    /// A `:` where no port can be (`::1` without brackets).
    #[error("not host[:port] (write IPv6 addresses in brackets: [::1])")]
    NotHostPort,
    /// A port that is not 1 to 65535 without leading zeros.
    #[error("invalid port (1 to 65535, no leading zeros)")]
    InvalidPort,
    /// `.` or `.192.168.1.5`.
    #[error("`.domain` needs a domain name after the dot")]
    DomainNeedsName,
    /// `.com`, `.co.uk`, `.github.io`: every site under a public suffix.
    #[error(
        "the domain is a public suffix, so the entry would admit every site under it: \
         name a registrable domain, as in .example.com"
    )]
    DomainIsPublicSuffix,
    /// Not a host name or IP address (`local host`, `127.1`).
    #[error("not a host name or IP address")]
    NotAHost,
}

/// What is wrong with a WebSocket subprotocol name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolMistake {
    /// Not an RFC 9110 token.
    #[error("not an RFC 9110 token")]
    NotAToken,
    /// Listed twice.
    #[error("listed twice")]
    Duplicate,
}

/// What is wrong with a permessage-deflate setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum DeflateMistake {
    /// Outside 8..=15.
    #[error("must be 8..=15")]
    OutOfRange,
    /// A server window of 8 without opting in.
    #[error("needs accept_server_window_bits_8(true)")]
    NeedsWindowBits8,
}
