//! The `Origin` field (RFC 6454 §7) and the origin allowlist.
//!
//! Browsers serialise an origin as `scheme://host[:port]` with the default port omitted, or as
//! `null` for opaque origins (sandboxed frames, `file:` pages, some redirects). Anything else,
//! such as a path, userinfo (`http://evil@victim`) or non-ASCII bytes, is not an origin a browser
//! sends and is refused as malformed.

use crate::authority::{
    Host, HostPort, default_port, ends_with_label, parse_host_port, parse_port,
};
use crate::policy::host::{HostBuf, is_public_suffix};
use crate::{ConfigError, OriginMistake, Rejection};

/// Longest `Origin` value accepted. A maximal host name, a long scheme and a port fit easily.
pub const MAX_ORIGIN_LEN: usize = 512;

/// A parsed `Origin` field value, borrowed from the request.
///
/// ```
/// use crossguard::__internals::{Host, Origin};
///
/// let origin = Origin::parse(b"http://localhost:8188").unwrap();
/// assert_eq!(origin.scheme(), Some("http"));
/// assert_eq!(origin.host(), Some(Host::Name("localhost")));
/// assert_eq!(origin.port(), Some(8188));
/// assert_eq!(Origin::parse(b"https://example.com").unwrap().port(), Some(443));
/// assert_eq!(Origin::parse(b"null").unwrap(), Origin::Null);
/// assert!(Origin::parse(b"http://evil@victim").is_err());
/// assert!(Origin::parse(b"https://example.com/").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin<'a> {
    /// The opaque origin, serialised as `null`.
    Null,
    /// A tuple origin.
    Tuple {
        /// The scheme as written (compare it case-insensitively).
        scheme: &'a str,
        /// The host.
        host: Host<'a>,
        /// The port as written, if any.
        port: Option<u16>,
    },
}

impl<'a> Origin<'a> {
    /// Parses an `Origin` field value.
    ///
    /// # Errors
    ///
    /// [`Rejection::MalformedOrigin`] unless the value is `null` or `scheme://host[:port]` with a
    /// host as [`HostPort::parse`] accepts it, a port of 1 to 65535 without leading zeros, and
    /// at most [`MAX_ORIGIN_LEN`] bytes.
    pub fn parse(value: &'a [u8]) -> Result<Self, Rejection> {
        if value == b"null" {
            return Ok(Self::Null);
        }
        if value.len() > MAX_ORIGIN_LEN {
            return Err(Rejection::MalformedOrigin);
        }
        // A scheme holds no `:`, so the first one must start the `://`.
        let colon = value
            .iter()
            .position(|&b| b == b':')
            .ok_or(Rejection::MalformedOrigin)?;
        let (scheme, rest) = value.split_at(colon);
        let authority = rest
            .strip_prefix(b"://")
            .ok_or(Rejection::MalformedOrigin)?;
        let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
            && scheme
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return Err(Rejection::MalformedOrigin);
        }
        let scheme = std::str::from_utf8(scheme).map_err(|_| Rejection::MalformedOrigin)?;
        let (host, port) = parse_host_port(authority).ok_or(Rejection::MalformedOrigin)?;
        let port = match port {
            None => None,
            Some(digits) => Some(parse_port(digits, true).ok_or(Rejection::MalformedOrigin)?),
        };
        Ok(Self::Tuple { scheme, host, port })
    }

    /// The scheme, or `None` for `null`.
    #[must_use]
    pub fn scheme(&self) -> Option<&'a str> {
        match self {
            Self::Null => None,
            Self::Tuple { scheme, .. } => Some(scheme),
        }
    }

    /// The host, or `None` for `null`.
    #[must_use]
    pub fn host(&self) -> Option<Host<'a>> {
        match self {
            Self::Null => None,
            Self::Tuple { host, .. } => Some(*host),
        }
    }

    /// The effective port: the one written, else the scheme's default (`http`/`ws` 80,
    /// `https`/`wss` 443); `None` for `null` and for other schemes without a port.
    #[must_use]
    pub fn port(&self) -> Option<u16> {
        match self {
            Self::Null => None,
            Self::Tuple { scheme, port, .. } => port.or_else(|| default_port(scheme)),
        }
    }

    /// Whether this origin is the request's own: an `http` or `https` origin whose host equals the
    /// authority's host and whose effective port equals the authority's port, an authority
    /// without a port taking the origin scheme's default (the scheme of an HTTP/1.1 request is not
    /// known to the server, so `https://a:8080` matches `Host: a:8080`).
    #[must_use]
    pub fn is_same_authority(&self, authority: &HostPort<'_>) -> bool {
        let Self::Tuple { scheme, host, port } = self else {
            return false;
        };
        let web = |name: &str| *scheme == name || scheme.eq_ignore_ascii_case(name);
        let default = if web("http") {
            80
        } else if web("https") {
            443
        } else {
            return false;
        };
        host.same_as(&authority.host())
            && port.unwrap_or(default) == authority.port().unwrap_or(default)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum OriginPattern {
    Exact {
        scheme: Box<str>,
        host: HostBuf,
        port: Option<u16>,
    },
    Subdomains {
        scheme: Box<str>,
        domain: Box<str>,
        port: Option<u16>,
    },
}

/// Origins trusted to make cross-origin requests.
///
/// Entries are validated when added and compared as (scheme, host, port) with ASCII case ignored
/// and default ports elided:
///
/// | entry | matches |
/// |---|---|
/// | `https://app.example.com` | exactly that origin (`https://APP.example.com:443` too) |
/// | `https://*.example.com` | any subdomain at any depth, not `https://example.com` itself |
/// | `null` | the opaque origin `null` (rarely what you want) |
///
/// A wildcard whose domain is a public suffix (`https://*.com`, `https://*.co.uk`,
/// `https://*.github.io`, per the Public Suffix List) is refused: it would trust every site under it.
///
/// ```
/// use crossguard::__internals::{Origin, OriginAllowlist};
///
/// let mut origins = OriginAllowlist::new();
/// origins.push("https://*.example.com")?;
/// let allows = |o: &str| origins.contains(&Origin::parse(o.as_bytes()).unwrap());
/// assert!(allows("https://app.example.com"));
/// assert!(!allows("https://example.com"));
/// assert!(!allows("https://app.example.com.evil.net"));
/// assert!(!allows("http://app.example.com"));
/// assert!(origins.push("https://example.com/").is_err());
/// # Ok::<(), crossguard::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginAllowlist {
    entries: Vec<OriginPattern>,
    null: bool,
}

impl OriginAllowlist {
    /// An empty allowlist.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an entry.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidOrigin`] when the entry is not `null`, `scheme://host[:port]` or
    /// `scheme://*.domain[:port]`.
    pub fn push(&mut self, entry: &str) -> Result<(), ConfigError> {
        let invalid = |why| ConfigError::InvalidOrigin {
            entry: entry.to_owned(),
            why,
        };
        if entry == "null" {
            self.null = true;
            return Ok(());
        }
        let Some((scheme, rest)) = entry.split_once("://") else {
            return Err(invalid(OriginMistake::NotAnOrigin));
        };
        if rest.ends_with('/') {
            return Err(invalid(OriginMistake::TrailingSlash));
        }
        if rest.contains(['/', '?', '#']) {
            return Err(invalid(OriginMistake::HasPath));
        }
        if rest.contains('@') {
            return Err(invalid(OriginMistake::HasUserinfo));
        }
        let (wildcard, rest) = match rest.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, rest),
        };
        if rest.contains('*') {
            return Err(invalid(OriginMistake::MisplacedWildcard));
        }
        let rebuilt = format!("{scheme}://{rest}");
        let parsed =
            Origin::parse(rebuilt.as_bytes()).map_err(|_| invalid(OriginMistake::Invalid))?;
        let Origin::Tuple { scheme, host, port } = parsed else {
            return Err(invalid(OriginMistake::Invalid));
        };
        let port = port.or_else(|| default_port(scheme));
        let scheme = scheme.to_ascii_lowercase().into_boxed_str();
        let pattern = if wildcard {
            let Host::Name(domain) = host else {
                return Err(invalid(OriginMistake::WildcardOnAddress));
            };
            let domain = domain.to_ascii_lowercase();
            if is_public_suffix(&domain) {
                return Err(invalid(OriginMistake::WildcardOnPublicSuffix));
            }
            OriginPattern::Subdomains {
                scheme,
                domain: domain.into_boxed_str(),
                port,
            }
        } else {
            OriginPattern::Exact {
                scheme,
                host: HostBuf::from_host(host),
                port,
            }
        };
        self.entries.push(pattern);
        Ok(())
    }

    /// Whether no entry was added.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && !self.null
    }

    /// Whether the origin is allowlisted.
    #[must_use]
    pub fn contains(&self, origin: &Origin<'_>) -> bool {
        let Origin::Tuple { scheme, host, .. } = origin else {
            return self.null;
        };
        let port = origin.port();
        self.entries.iter().any(|entry| match entry {
            OriginPattern::Exact {
                scheme: s,
                host: h,
                port: p,
            } => s.eq_ignore_ascii_case(scheme) && *p == port && h.matches(host),
            OriginPattern::Subdomains {
                scheme: s,
                domain,
                port: p,
            } => {
                s.eq_ignore_ascii_case(scheme)
                    && *p == port
                    && matches!(host, Host::Name(name) if ends_with_label(name, domain))
            }
        })
    }
}
