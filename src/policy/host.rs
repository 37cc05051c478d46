//! The Host allowlist that stops DNS rebinding.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::authority::{Host, HostPort, ends_with_label, parse_host, parse_port, split_host_port};
use crate::{ConfigError, HostMistake};

/// An owned host, for allowlist entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostBuf {
    Name(Box<str>),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
}

impl HostBuf {
    pub(crate) fn from_host(host: Host<'_>) -> Self {
        match host {
            Host::Name(name) => Self::Name(name.to_ascii_lowercase().into_boxed_str()),
            Host::Ipv4(ip) => Self::Ipv4(ip),
            Host::Ipv6(ip) => Self::Ipv6(ip),
        }
    }

    pub(crate) fn matches(&self, host: &Host<'_>) -> bool {
        match (self, host) {
            (Self::Name(a), Host::Name(b)) => a.eq_ignore_ascii_case(b),
            (Self::Ipv4(a), Host::Ipv4(b)) => a == b,
            (Self::Ipv6(a), Host::Ipv6(b)) => a == b,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Loopback { port: Option<u16> },
    Exact { host: HostBuf, port: Option<u16> },
    Domain { apex: Box<str>, port: Option<u16> },
}

/// The hosts a service answers to. A request for any other host is refused with `403`
/// ([`Rejection::HostNotAllowed`](crate::Rejection::HostNotAllowed)), which stops DNS rebinding: a page on `evil.example` whose name
/// was rebound to `127.0.0.1` still sends `Host: evil.example`.
///
/// Entries:
///
/// | entry | matches |
/// |---|---|
/// | `localhost`, `192.168.1.5`, `[::1]` | that host, any port |
/// | `localhost:8188`, `[::1]:8188` | that host and port; a request without a port matches entry ports 80 and 443 |
/// | `.example.com` | `example.com` and every subdomain, any port (`.example.com:8443` for one port) |
/// | `loopback` | `localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]` (and `[::ffff:127.x.y.z]`), any port |
/// | `loopback:8188` | those hosts, port 8188 only |
///
/// A `.domain` entry whose domain is a public suffix (`.com`, `.co.uk`, `.github.io`, per the
/// Public Suffix List) is refused: it would admit every site under it.
///
/// ```
/// use crossguard::__internals::{HostAllowlist, HostPort};
///
/// let mut hosts = HostAllowlist::new();
/// hosts.push("loopback")?;
/// hosts.push(".example.com")?;
/// let allows = |h: &str| hosts.allows(&HostPort::parse(h.as_bytes()).unwrap());
/// assert!(allows("127.0.0.1:8188"));
/// assert!(allows("app.EXAMPLE.com."));
/// assert!(!allows("attacker.example:8188"));
/// assert!(!allows("example.com.evil.net"));
/// # Ok::<(), crossguard::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostAllowlist {
    entries: Vec<HostPattern>,
}

impl HostAllowlist {
    /// An empty allowlist (allows nothing).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an entry.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidHost`] when the entry is not one of the forms above.
    pub fn push(&mut self, entry: &str) -> Result<(), ConfigError> {
        let invalid = |why| ConfigError::InvalidHost {
            entry: entry.to_owned(),
            why,
        };
        if entry.contains("://") || entry.contains('/') {
            return Err(invalid(HostMistake::Url));
        }
        if entry.contains('*') {
            return Err(invalid(HostMistake::Wildcard));
        }
        // An IPv6 address without brackets (`::1`) has colons no port can explain.
        let bare_ipv6 = !entry.starts_with('[') && entry.matches(':').nth(1).is_some();
        let split = split_host_port(entry.as_bytes()).filter(|_| !bare_ipv6);
        let (host, port) = split.ok_or(invalid(HostMistake::NotHostPort))?;
        let port = match port {
            None => None,
            Some(digits) => {
                Some(parse_port(digits, true).ok_or(invalid(HostMistake::InvalidPort))?)
            }
        };
        let pattern = if host.eq_ignore_ascii_case(b"loopback") {
            HostPattern::Loopback { port }
        } else if let Some(domain) = host.strip_prefix(b".") {
            let Some(Host::Name(apex)) = parse_host(domain) else {
                return Err(invalid(HostMistake::DomainNeedsName));
            };
            let apex = apex.to_ascii_lowercase();
            if is_public_suffix(&apex) {
                return Err(invalid(HostMistake::DomainIsPublicSuffix));
            }
            HostPattern::Domain {
                apex: apex.into_boxed_str(),
                port,
            }
        } else {
            let host = parse_host(host).ok_or(invalid(HostMistake::NotAHost))?;
            HostPattern::Exact {
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
        self.entries.is_empty()
    }

    /// Whether the authority is allowed.
    #[must_use]
    pub fn allows(&self, authority: &HostPort<'_>) -> bool {
        let host = authority.host();
        self.entries.iter().any(|entry| match entry {
            HostPattern::Loopback { port } => {
                host.is_loopback() && port_matches(*port, authority.port())
            }
            HostPattern::Exact { host: want, port } => {
                want.matches(&host) && port_matches(*port, authority.port())
            }
            HostPattern::Domain { apex, port } => {
                let in_domain = match host {
                    Host::Name(name) => {
                        name.eq_ignore_ascii_case(apex) || ends_with_label(name, apex)
                    }
                    Host::Ipv4(_) | Host::Ipv6(_) => false,
                };
                in_domain && port_matches(*port, authority.port())
            }
        })
    }
}

/// Whether `domain` (lower case) is itself a public suffix listed in the Public Suffix List, such
/// as `com`, `co.uk` or `github.io`. Names the list does not know (`localhost`, `internal`) are not:
/// they are the user's own.
pub(crate) fn is_public_suffix(domain: &str) -> bool {
    psl::suffix(domain.as_bytes())
        .is_some_and(|suffix| suffix.is_known() && suffix.as_bytes() == domain.as_bytes())
}

/// An entry's port against a request's: an entry without a port takes any port; a request
/// without one used the scheme's default, which over HTTP/1.1 is 80 or 443.
fn port_matches(entry: Option<u16>, request: Option<u16>) -> bool {
    match (entry, request) {
        (None, _) => true,
        (Some(want), Some(got)) => want == got,
        (Some(want), None) => want == 80 || want == 443,
    }
}
