//! The request's authority (`host[:port]`): the one identity every check judges.
//!
//! It comes from the request target when the target has one (HTTP/2 `:authority`, HTTP/1.1
//! absolute-form), else from the single `Host` field. When both are present they must name the
//! same authority (case and the scheme's default port normalised): RFC 9112 §3.2.2 lets an origin
//! server ignore `Host` there, but the application behind a guard may route on it, so a mismatch is
//! refused rather than resolved (RFC 9113 §8.3.1 calls it malformed for HTTP/2). Names compare
//! ASCII-case-insensitively with one trailing dot ignored; IP literals compare as addresses, so
//! `[::1]` equals `[0:0:0:0:0:0:0:1]`.

use std::net::{Ipv4Addr, Ipv6Addr};

use http::{Uri, Version};

use crate::Rejection;
use crate::fields::Lines;

/// Longest host name accepted, after the trailing dot is removed (RFC 1035 §2.3.4).
pub const MAX_HOST_LEN: usize = 253;

/// Longest `Host` field value accepted: a maximal name, a trailing dot and `:65535`.
pub const MAX_AUTHORITY_LEN: usize = MAX_HOST_LEN + 7;

/// A host as it appears in an authority or an origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Host<'a> {
    /// A registered name as written, without a trailing dot (compare it case-insensitively).
    Name(&'a str),
    /// A dotted-quad IPv4 address.
    Ipv4(Ipv4Addr),
    /// A bracketed IPv6 address.
    Ipv6(Ipv6Addr),
}

impl Host<'_> {
    /// Whether both name the same host: names case-insensitively, addresses by value.
    #[must_use]
    pub fn same_as(&self, other: &Host<'_>) -> bool {
        match (self, other) {
            (Host::Name(a), Host::Name(b)) => a.eq_ignore_ascii_case(b),
            (Host::Ipv4(a), Host::Ipv4(b)) => a == b,
            (Host::Ipv6(a), Host::Ipv6(b)) => a == b,
            _ => false,
        }
    }

    /// Whether the host is a loopback host: `localhost`, any `*.localhost` name (RFC 6761 §6.3),
    /// `127.0.0.0/8`, `::1`, or an IPv4-mapped `::ffff:127.x.y.z`.
    #[must_use]
    pub fn is_loopback(&self) -> bool {
        match self {
            Host::Name(name) => {
                name.eq_ignore_ascii_case("localhost") || ends_with_label(name, "localhost")
            }
            Host::Ipv4(ip) => ip.is_loopback(),
            Host::Ipv6(ip) => {
                ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
            }
        }
    }
}

/// Whether `name` is a strict subdomain of `suffix` (`a.example.com` of `example.com`), ignoring
/// ASCII case.
pub(crate) fn ends_with_label(name: &str, suffix: &str) -> bool {
    let Some(dot) = name.len().checked_sub(suffix.len() + 1) else {
        return false;
    };
    dot > 0
        && name.as_bytes().get(dot) == Some(&b'.')
        && name
            .get(dot + 1..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case(suffix))
}

/// A parsed `host[:port]`, borrowed from the request.
///
/// ```
/// use crossguard::policy::{Host, HostPort};
///
/// let a = HostPort::parse(b"[::1]:8188").unwrap();
/// assert_eq!(a.host(), Host::Ipv6(std::net::Ipv6Addr::LOCALHOST));
/// assert_eq!(a.port(), Some(8188));
/// assert!(HostPort::parse(b"LocalHost.:8188").unwrap().host().is_loopback());
/// assert!(HostPort::parse(b"evil@victim").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostPort<'a> {
    host: Host<'a>,
    port: Option<u16>,
}

impl<'a> HostPort<'a> {
    /// Parses a `Host` field value or an authority: `name`, `a.b.c.d` or `[ipv6]`, optionally
    /// followed by `:port`. No userinfo, no percent-encoding, at most [`MAX_AUTHORITY_LEN`] bytes.
    ///
    /// # Errors
    ///
    /// [`Rejection::MalformedHost`] for anything else.
    pub fn parse(value: &'a [u8]) -> Result<Self, Rejection> {
        if value.len() > MAX_AUTHORITY_LEN {
            return Err(Rejection::MalformedHost);
        }
        let (host, port) = split_host_port(value).ok_or(Rejection::MalformedHost)?;
        let host = parse_host(host).ok_or(Rejection::MalformedHost)?;
        let port = match port {
            None | Some(b"") => None,
            Some(digits) => Some(parse_port(digits, false).ok_or(Rejection::MalformedHost)?),
        };
        Ok(Self { host, port })
    }

    /// The host.
    #[must_use]
    pub fn host(&self) -> Host<'a> {
        self.host
    }

    /// The port, when the authority names one.
    #[must_use]
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// Whether both name the same host and port, a missing port standing for `default`.
    pub(crate) fn is_same_as(&self, other: &HostPort<'_>, default: Option<u16>) -> bool {
        self.host.same_as(&other.host) && self.port.or(default) == other.port.or(default)
    }
}

/// Splits `host[:port]`, keeping IPv6 brackets with the host. `None` when a `:` appears where no
/// port can be.
pub(crate) fn split_host_port(value: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    if value.first() == Some(&b'[') {
        let close = value.iter().position(|&b| b == b']')?;
        let (host, rest) = value.split_at(close.checked_add(1)?);
        match rest.split_first() {
            None => Some((host, None)),
            Some((b':', port)) => Some((host, Some(port))),
            Some(_) => None,
        }
    } else {
        match value.iter().position(|&b| b == b':') {
            None => Some((value, None)),
            Some(colon) => {
                let (host, rest) = value.split_at(colon);
                let port = rest.get(1..)?;
                Some((host, Some(port)))
            }
        }
    }
}

/// Parses a host: a bracketed IPv6 literal, a dotted-quad IPv4 address or a registered name of
/// letters, digits, `-`, `.`, `_` and `~`. Names made only of digits and dots that are not a
/// dotted quad (`127.1`, `0177.0.0.1`) are refused: browsers never send them and they are read as
/// addresses by some resolvers.
pub(crate) fn parse_host(host: &[u8]) -> Option<Host<'_>> {
    if let Some(inner) = host.strip_prefix(b"[") {
        let inner = inner.strip_suffix(b"]")?;
        let text = std::str::from_utf8(inner).ok()?;
        return text.parse::<Ipv6Addr>().ok().map(Host::Ipv6);
    }
    let host = host.strip_suffix(b".").unwrap_or(host);
    if host.is_empty() || host.len() > MAX_HOST_LEN {
        return None;
    }
    // One pass: allowed bytes, no empty label, and whether it is all digits and dots.
    let mut numeric = true;
    let mut previous = b'.'; // a leading dot would start with an empty label
    for &b in host {
        match HOST_BYTES.get(usize::from(b)) {
            Some(&DIGIT) => {}
            Some(&DOT) if previous != b'.' => {}
            Some(&NAME) => numeric = false,
            _ => return None,
        }
        previous = b;
    }
    if previous == b'.' {
        return None;
    }
    let text = std::str::from_utf8(host).ok()?;
    if numeric {
        return text.parse::<Ipv4Addr>().ok().map(Host::Ipv4);
    }
    Some(Host::Name(text))
}

/// A byte that cannot appear in a host name.
const NOT_HOST: u8 = 0;
/// `0`-`9`.
const DIGIT: u8 = 1;
/// `.`, between labels.
const DOT: u8 = 2;
/// Letters, `-`, `_` and `~`.
const NAME: u8 = 3;

/// The class of each byte in a registered name, one entry per byte value (one load per byte).
// Built at compile time: `b as usize` is always below 256, and an out-of-range index here would
// fail the build, never a request.
#[allow(clippy::indexing_slicing)]
const HOST_BYTES: [u8; 256] = {
    let mut table = [NOT_HOST; 256];
    let mut b = 0u8;
    loop {
        table[b as usize] = match b {
            b'0'..=b'9' => DIGIT,
            b'.' => DOT,
            b'a'..=b'z' | b'A'..=b'Z' | b'-' | b'_' | b'~' => NAME,
            _ => NOT_HOST,
        };
        if b == u8::MAX {
            break table;
        }
        b += 1;
    }
};

/// Parses a port. `strict` (for origins, which browsers serialise) refuses leading zeros and zero.
pub(crate) fn parse_port(digits: &[u8], strict: bool) -> Option<u16> {
    if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if strict && digits.first() == Some(&b'0') {
        return None;
    }
    let port = digits.iter().try_fold(0u32, |acc, d| {
        acc.checked_mul(10)?.checked_add(u32::from(d - b'0'))
    })?;
    u16::try_from(port).ok()
}

/// Finds the authority of a request: the target's (HTTP/2 `:authority`, absolute-form) if it has
/// one, else the single `Host` field, given as the lines read already.
///
/// Returns `Ok(None)` when there is none and none is required (HTTP/1.0, HTTP/2 without
/// `:authority`).
///
/// # Errors
///
/// [`Rejection::DuplicateHost`] and [`Rejection::MalformedHost`] for a repeated or invalid `Host`
/// (whatever the target, RFC 9112 §3.2) or an invalid target authority;
/// [`Rejection::HostMismatch`] when `Host` and the target name different authorities;
/// [`Rejection::MissingHost`] for an HTTP/1.1 request without `Host`, absolute-form or not
/// (RFC 9112 §3.2).
pub(crate) fn authority<'a>(
    uri: &'a Uri,
    version: Version,
    host: Lines<'a>,
) -> Result<Option<HostPort<'a>>, Rejection> {
    let host = match host {
        Lines::Many => return Err(Rejection::DuplicateHost),
        Lines::One(value) => Some(HostPort::parse(value.as_bytes())?),
        Lines::None => None,
    };
    let Some(authority) = uri.authority() else {
        return match host {
            None if version == Version::HTTP_11 => Err(Rejection::MissingHost),
            host => Ok(host),
        };
    };
    let text = authority.as_str();
    if text.contains('@') {
        return Err(Rejection::MalformedHost);
    }
    let target = HostPort::parse(text.as_bytes())?;
    match host {
        Some(host) => {
            let default = uri.scheme_str().and_then(default_port);
            if target.is_same_as(&host, default) {
                Ok(Some(target))
            } else {
                Err(Rejection::HostMismatch)
            }
        }
        None if version == Version::HTTP_11 => Err(Rejection::MissingHost),
        None => Ok(Some(target)),
    }
}

/// The default port of a scheme, for the schemes whose origins and targets can name an HTTP
/// service (`ws`/`wss` as RFC 6455 §3 defines them).
pub(crate) fn default_port(scheme: &str) -> Option<u16> {
    if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("ws") {
        Some(80)
    } else if scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("wss") {
        Some(443)
    } else {
        None
    }
}
