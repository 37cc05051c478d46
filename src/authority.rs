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
            // Browsers send the same case in `Host` and `Origin`: the exact comparison settles it.
            (Host::Name(a), Host::Name(b)) => a == b || a.eq_ignore_ascii_case(b),
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
                // Browsers send host names in lower case: the exact comparison settles it.
                *name == "localhost"
                    || name.eq_ignore_ascii_case("localhost")
                    || ends_with_label(name, "localhost")
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
/// use crossguard::__internals::{Host, HostPort};
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
    #[inline]
    pub fn parse(value: &'a [u8]) -> Result<Self, Rejection> {
        if value.len() > MAX_AUTHORITY_LEN {
            return Err(Rejection::MalformedHost);
        }
        let (host, port) = parse_host_port(value).ok_or(Rejection::MalformedHost)?;
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
    let end = if value.first() == Some(&b'[') {
        value.iter().position(|&b| b == b']')?.checked_add(1)?
    } else {
        value.iter().position(|&b| b == b':').unwrap_or(value.len())
    };
    split_at_port(value, end)
}

/// Splits `value` at `end`, where its host ends: nothing or `:port` must follow.
fn split_at_port(value: &[u8], end: usize) -> Option<(&[u8], Option<&[u8]>)> {
    let (host, rest) = value.split_at_checked(end)?;
    match rest.split_first() {
        None => Some((host, None)),
        Some((b':', port)) => Some((host, Some(port))),
        Some(_) => None,
    }
}

/// Parses a host: a bracketed IPv6 literal, a dotted-quad IPv4 address or a registered name of
/// letters, digits, `-`, `.`, `_` and `~`, with at most one trailing dot. Names made only of
/// digits and dots that are not a dotted quad (`127.1`, `0177.0.0.1`) are refused: browsers never
/// send them and they are read as addresses by some resolvers.
pub(crate) fn parse_host(host: &[u8]) -> Option<Host<'_>> {
    match parse_host_port(host)? {
        (host, None) => Some(host),
        (_, Some(_)) => None,
    }
}

/// Parses `host[:port]` as [`parse_host`] parses the host, leaving the port's digits (after the
/// `:`) to the caller. A name or an address is read in one pass that stops at the `:`.
#[inline]
pub(crate) fn parse_host_port(value: &[u8]) -> Option<(Host<'_>, Option<&[u8]>)> {
    if value.first() == Some(&b'[') {
        let (host, port) = split_host_port(value)?;
        let inner = host.get(1..host.len().checked_sub(1)?)?;
        let text = std::str::from_utf8(inner).ok()?;
        return Some((Host::Ipv6(text.parse::<Ipv6Addr>().ok()?), port));
    }
    // One pass up to the port: allowed bytes, no empty label, and whether it is all digits and
    // dots.
    let mut numeric = true;
    let mut previous = b'.'; // a leading dot would start with an empty label
    let mut end = value.len();
    for (i, &b) in value.iter().enumerate() {
        match HOST_BYTES.get(usize::from(b)) {
            Some(&DIGIT) => {}
            Some(&DOT) if previous != b'.' => {}
            Some(&NAME) => numeric = false,
            Some(&COLON) => {
                end = i;
                break;
            }
            _ => return None,
        }
        previous = b;
    }
    let (host, port) = split_at_port(value, end)?;
    // One trailing dot is the same name; the loop refused any other empty label.
    let host = host.strip_suffix(b".").unwrap_or(host);
    if host.is_empty() || host.len() > MAX_HOST_LEN {
        return None;
    }
    let text = std::str::from_utf8(host).ok()?;
    let host = if numeric {
        Host::Ipv4(text.parse::<Ipv4Addr>().ok()?)
    } else {
        Host::Name(text)
    };
    Some((host, port))
}

/// A byte that cannot appear in a host name.
const NOT_HOST: u8 = 0;
/// `0`-`9`.
const DIGIT: u8 = 1;
/// `.`, between labels.
const DOT: u8 = 2;
/// Letters, `-`, `_` and `~`.
const NAME: u8 = 3;
/// `:`, before the port.
const COLON: u8 = 4;

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
            b':' => COLON,
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
    if digits.is_empty() || digits.len() > 5 || (strict && digits.first() == Some(&b'0')) {
        return None;
    }
    // Five digits at most: the value stays below 100 000, far from overflowing.
    let mut port = 0u32;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        port = port * 10 + u32::from(d - b'0');
    }
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
#[inline]
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
    // Browsers serialise schemes in lower case: matched exactly first.
    match scheme {
        "http" | "ws" => return Some(80),
        "https" | "wss" => return Some(443),
        _ => {}
    }
    if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("ws") {
        Some(80)
    } else if scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("wss") {
        Some(443)
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The host rules written the plain way: split at the port, strip one trailing dot, then
    /// check the bytes and the labels.
    fn reference(value: &[u8]) -> Option<(Host<'_>, Option<&[u8]>)> {
        let (host, port) = split_host_port(value)?;
        if let Some(inner) = host.strip_prefix(b"[") {
            let text = std::str::from_utf8(inner.strip_suffix(b"]")?).ok()?;
            return Some((Host::Ipv6(text.parse().ok()?), port));
        }
        let name = host.strip_suffix(b".").unwrap_or(host);
        let text = std::str::from_utf8(name).ok()?;
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~');
        if name.is_empty()
            || name.len() > MAX_HOST_LEN
            || text
                .split('.')
                .any(|label| label.is_empty() || !label.bytes().all(allowed))
        {
            return None;
        }
        if text.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            return Some((Host::Ipv4(text.parse().ok()?), port));
        }
        Some((Host::Name(text), port))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// The one pass agrees with the plain rules on every input, near-valid ones included.
        #[test]
        fn one_pass_agrees_with_the_plain_rules(value in "[a-c0-2.:\\[\\]_~@ -]{0,12}|\\[[0-9a-f:.]{0,16}\\](:[0-9]{0,6})?|[0-9.]{0,16}(:[0-9]{0,6})?") {
            prop_assert_eq!(parse_host_port(value.as_bytes()), reference(value.as_bytes()), "{:?}", value);
        }
    }

    #[test]
    fn edge_cases_agree() {
        let long = format!("{}.", "a".repeat(MAX_HOST_LEN));
        let longest = "a".repeat(MAX_HOST_LEN);
        for value in [
            "",
            ".",
            "..",
            ":",
            ":80",
            "a.",
            "a..",
            ".a",
            "a.:80",
            "a:",
            "a:b:c",
            "127.0.0.1.",
            "127.1",
            "[::1]",
            "[::1]:",
            "[::1]x",
            "[::1",
            "[]",
            long.as_str(),
            longest.as_str(),
        ] {
            assert_eq!(
                parse_host_port(value.as_bytes()),
                reference(value.as_bytes()),
                "{value:?}"
            );
        }
        assert_eq!(parse_host(b"a:"), None);
        assert_eq!(parse_host(b"LocalHost."), Some(Host::Name("LocalHost")));
    }
}
