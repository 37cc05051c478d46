//! `--upstream`: the origin the proxy forwards to, `http://host[:port]`, or a Unix socket,
//! `unix:/path/app.sock`; and how its connections are made.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use http::HeaderValue;
use http::uri::{Authority, PathAndQuery, Scheme, Uri};

/// The upstream: its origin as requests name it, and the way to it.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    authority: Authority,
    authority_value: HeaderValue,
    origin: String,
    origin_value: HeaderValue,
    via: Via,
}

/// How connections to the upstream are made.
#[derive(Debug, Clone)]
pub(crate) enum Via {
    /// TCP to the origin's host and port.
    Tcp,
    /// A Unix socket file; requests name the upstream `http://localhost`.
    #[cfg(unix)]
    Unix(Arc<std::path::Path>),
    /// Sockets made elsewhere (in the app's network namespace), connected to `addr` there.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Sockets {
        source: Arc<dyn SocketSource>,
        addr: SocketAddr,
    },
}

/// A maker of fresh, unconnected TCP sockets in another network namespace: a socket connects in
/// the namespace it was made in, whoever holds it.
pub(crate) trait SocketSource: fmt::Debug + Send + Sync {
    /// A new TCP socket, not yet connected (as a `std` stream, which tokio can connect).
    fn socket(&self) -> Pin<Box<dyn Future<Output = io::Result<std::net::TcpStream>> + Send>>;
}

/// The longest Unix socket path (`sun_path` holds 108 bytes on Linux, 104 on macOS, with the
/// terminating NUL).
#[cfg(unix)]
const MAX_SOCKET_PATH: usize = 103;

impl Upstream {
    /// An upstream at `addr` reached through sockets `source` makes.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub(crate) fn in_namespace(addr: SocketAddr, source: Arc<dyn SocketSource>) -> Self {
        let mut upstream = Self::named(Authority::from_maybe_shared(addr.to_string()).ok());
        upstream.via = Via::Sockets { source, addr };
        upstream
    }

    /// How to reach the upstream.
    pub(crate) fn via(&self) -> &Via {
        &self.via
    }

    /// An upstream named by `authority` (`localhost` when `None`), reached over TCP.
    #[cfg_attr(not(any(unix, target_os = "linux")), allow(dead_code))]
    fn named(authority: Option<Authority>) -> Self {
        let authority = authority.unwrap_or_else(|| Authority::from_static("localhost"));
        let origin = format!("http://{authority}");
        Self {
            authority_value: HeaderValue::from_str(authority.as_str())
                .unwrap_or_else(|_| HeaderValue::from_static("localhost")),
            origin_value: HeaderValue::from_str(&origin)
                .unwrap_or_else(|_| HeaderValue::from_static("http://localhost")),
            authority,
            origin,
            via: Via::Tcp,
        }
    }

    /// Parses `unix:PATH`.
    #[cfg(unix)]
    fn parse_unix(text: &str, path: &str) -> Result<Self, String> {
        if path.is_empty() {
            return Err(format!("`{text}` names no socket; use unix:/path/app.sock"));
        }
        let path = std::path::absolute(path)
            .map_err(|err| format!("`{text}`: cannot resolve the path: {err}"))?;
        if path.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(format!(
                "`{text}`: a Unix socket path has at most {MAX_SOCKET_PATH} bytes"
            ));
        }
        let mut upstream = Self::named(None);
        upstream.via = Via::Unix(Arc::from(path.as_path()));
        Ok(upstream)
    }

    /// Parses `--upstream`; the error names what is wrong.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        if let Some(path) = text.strip_prefix("unix:") {
            #[cfg(unix)]
            return Self::parse_unix(text, path);
            #[cfg(not(unix))]
            return Err(format!(
                "`{text}`: Unix socket upstreams need Linux or macOS ({path})"
            ));
        }
        let uri: Uri = text
            .parse()
            .map_err(|_| format!("`{text}` is not a URL; use http://host:port"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(format!(
                    "`{text}`: https upstreams are not supported; use http://host:port"
                ));
            }
            _ => {
                return Err(format!(
                    "`{text}` is not an http:// URL; use http://host:port"
                ));
            }
        }
        let Some(authority) = uri.authority().cloned() else {
            return Err(format!("`{text}` has no host; use http://host:port"));
        };
        if authority.as_str().contains('@') {
            return Err(format!(
                "`{text}`: user information is not allowed; use http://host:port"
            ));
        }
        if authority.host().is_empty() {
            return Err(format!("`{text}` has no host; use http://host:port"));
        }
        // `http::Uri` reads `http://h:` as port-less; insist on a number when a colon is there.
        let after_host = authority
            .as_str()
            .get(authority.host().len()..)
            .unwrap_or("");
        if after_host.starts_with(':') && authority.port_u16().is_none() {
            return Err(format!(
                "`{text}` has an invalid port; use http://host:port"
            ));
        }
        let path_and_query = uri.path_and_query().map_or("", PathAndQuery::as_str);
        if !(path_and_query.is_empty() || path_and_query == "/") || text.ends_with("/?") {
            return Err(format!(
                "`{text}`: --upstream is an origin only (http://host:port), without path or query"
            ));
        }
        let origin = format!("http://{authority}");
        let authority_value = HeaderValue::from_str(authority.as_str())
            .map_err(|_| format!("`{text}` has an invalid host"))?;
        let origin_value =
            HeaderValue::from_str(&origin).map_err(|_| format!("`{text}` has an invalid host"))?;
        Ok(Self {
            authority,
            authority_value,
            origin,
            origin_value,
            via: Via::Tcp,
        })
    }

    /// The origin as a URI (what the TCP connector resolves and connects to).
    pub(crate) fn origin_uri(&self) -> Uri {
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(Scheme::HTTP);
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(PathAndQuery::from_static("/"));
        // Scheme, authority and path are all set: the parts always make a URI.
        Uri::from_parts(parts).unwrap_or_default()
    }

    /// `host:port` as a `Host` value.
    pub(crate) fn authority_value(&self) -> &HeaderValue {
        &self.authority_value
    }

    /// `http://host:port`.
    pub(crate) fn origin(&self) -> &str {
        &self.origin
    }

    /// `http://host:port` as an `Origin` value.
    pub(crate) fn origin_value(&self) -> &HeaderValue {
        &self.origin_value
    }
}

impl fmt::Display for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.via {
            Via::Tcp => f.write_str(&self.origin),
            #[cfg(unix)]
            Via::Unix(path) => write!(f, "unix:{}", path.display()),
            Via::Sockets { addr, .. } => write!(f, "http://{addr} in the app's network namespace"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    #[test]
    fn upstream_is_an_origin_only() {
        let ok = [
            ("http://127.0.0.1:8188", "http://127.0.0.1:8188"),
            ("http://127.0.0.1:8188/", "http://127.0.0.1:8188"),
            ("http://localhost", "http://localhost"),
            ("http://[::1]:8888", "http://[::1]:8888"),
        ];
        for (text, origin) in ok {
            assert_eq!(Upstream::parse(text).unwrap().origin(), origin, "{text}");
        }
        let bad = [
            "127.0.0.1:8188", "http://127.0.0.1:8188/api", "http://127.0.0.1:8188/?x=1",
            "http://127.0.0.1:8188?x", "ftp://h:1", "https://h:1", "http://u:p@h:1", "http://h:x",
            "http://h:", "", "http://", "/path",
        ];
        for text in bad {
            assert!(Upstream::parse(text).is_err(), "{text}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn unix_upstreams_name_a_socket_file() {
        let upstream = Upstream::parse("unix:/run/app/app.sock").unwrap();
        assert_eq!(upstream.to_string(), "unix:/run/app/app.sock");
        assert_eq!(upstream.origin(), "http://localhost");
        assert_eq!(upstream.authority_value(), "localhost");
        assert!(
            matches!(upstream.via(), Via::Unix(path) if path.as_os_str() == "/run/app/app.sock")
        );
        let long = format!("unix:/{}", "a".repeat(200));
        assert_eq!(
            Upstream::parse(&long).unwrap_err(),
            format!("`{long}`: a Unix socket path has at most 103 bytes")
        );
        assert_eq!(
            Upstream::parse("unix:").unwrap_err(),
            "`unix:` names no socket; use unix:/path/app.sock"
        );
    }
}
