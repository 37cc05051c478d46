//! `--upstream`: the origin the proxy forwards to, `http://host[:port]` and nothing else.

use std::fmt;

use http::HeaderValue;
use http::uri::{Authority, PathAndQuery, Scheme, Uri};

/// The upstream's origin.
#[derive(Debug, Clone)]
pub(crate) struct Upstream {
    authority: Authority,
    authority_value: HeaderValue,
    origin: String,
    origin_value: HeaderValue,
}

impl Upstream {
    /// Parses `--upstream`; the error names what is wrong.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
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
        })
    }

    /// The target to send upstream for a received request target.
    pub(crate) fn uri_for(
        &self,
        path_and_query: Option<&PathAndQuery>,
    ) -> Result<Uri, http::Error> {
        let mut parts = http::uri::Parts::default();
        parts.scheme = Some(Scheme::HTTP);
        parts.authority = Some(self.authority.clone());
        parts.path_and_query = Some(
            path_and_query
                .cloned()
                .unwrap_or_else(|| PathAndQuery::from_static("/")),
        );
        Ok(Uri::from_parts(parts)?)
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
        f.write_str(&self.origin)
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
}
