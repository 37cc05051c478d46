//! A borrowed view of a request head: what every check reads.

use http::{HeaderMap, Method, Request, Uri, Version, request};

/// The parts of a request that crossguard reads: method, target, version, header fields, and the
/// HTTP/2 `:protocol` pseudo-header of an extended CONNECT (RFC 8441).
///
/// Build it from an [`http::Request`] or [`http::request::Parts`] (with the `hyper` feature,
/// hyper's `:protocol` extension is read automatically), or from the pieces of any other
/// framework's request with [`RequestHead::new`].
///
/// ```
/// use crossguard::RequestHead;
/// use http::{HeaderMap, Method, Uri, Version};
///
/// let headers = HeaderMap::new();
/// let uri = Uri::from_static("/api/prompt");
/// let head = RequestHead::new(&Method::POST, &uri, Version::HTTP_11, &headers);
/// assert_eq!(head.method(), Method::POST);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    method: &'a Method,
    uri: &'a Uri,
    version: Version,
    headers: &'a HeaderMap,
    protocol: Option<&'a str>,
}

impl<'a> RequestHead<'a> {
    /// A head from its pieces.
    #[must_use]
    pub fn new(method: &'a Method, uri: &'a Uri, version: Version, headers: &'a HeaderMap) -> Self {
        Self {
            method,
            uri,
            version,
            headers,
            protocol: None,
        }
    }

    /// Sets the HTTP/2 (or HTTP/3) `:protocol` pseudo-header of an extended CONNECT request.
    #[must_use]
    pub fn with_protocol(mut self, protocol: Option<&'a str>) -> Self {
        self.protocol = protocol;
        self
    }

    /// The head of a request.
    #[must_use]
    pub fn from_request<B>(request: &'a Request<B>) -> Self {
        let head = Self::new(
            request.method(),
            request.uri(),
            request.version(),
            request.headers(),
        );
        head.with_protocol(protocol_extension(request.method(), request.extensions()))
    }

    /// The head of a request's parts.
    #[must_use]
    pub fn from_parts(parts: &'a request::Parts) -> Self {
        let head = Self::new(&parts.method, &parts.uri, parts.version, &parts.headers);
        head.with_protocol(protocol_extension(&parts.method, &parts.extensions))
    }

    /// The method.
    #[must_use]
    pub fn method(&self) -> &'a Method {
        self.method
    }

    /// The target.
    #[must_use]
    pub fn uri(&self) -> &'a Uri {
        self.uri
    }

    /// The HTTP version.
    #[must_use]
    pub fn version(&self) -> Version {
        self.version
    }

    /// The header fields.
    #[must_use]
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The `:protocol` pseudo-header, if any.
    #[must_use]
    pub fn protocol(&self) -> Option<&'a str> {
        self.protocol
    }
}

/// hyper's `:protocol` extension. Only an extended CONNECT carries the pseudo-header (RFC 8441
/// §4), so no other request pays for the lookup.
#[cfg(feature = "hyper")]
fn protocol_extension<'a>(method: &Method, extensions: &'a http::Extensions) -> Option<&'a str> {
    if method != Method::CONNECT {
        return None;
    }
    extensions
        .get::<hyper::ext::Protocol>()
        .map(hyper::ext::Protocol::as_str)
}

#[cfg(not(feature = "hyper"))]
fn protocol_extension<'a>(_method: &Method, _extensions: &'a http::Extensions) -> Option<&'a str> {
    None
}

#[cfg(all(test, feature = "hyper"))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::RequestHead;
    use http::{Method, Request, Version};

    /// hyper's extension is read on an extended CONNECT, and on nothing else (RFC 8441 §4).
    #[test]
    fn protocol_only_on_connect() {
        for (method, expected) in [
            (Method::CONNECT, Some("websocket")),
            (Method::GET, None),
            (Method::POST, None),
        ] {
            let request = Request::builder()
                .method(method.clone())
                .version(Version::HTTP_2)
                .uri("https://localhost:8188/ws")
                .extension(hyper::ext::Protocol::from_static("websocket"))
                .body(())
                .unwrap();
            assert_eq!(
                RequestHead::from_request(&request).protocol(),
                expected,
                "{method}"
            );
            let (parts, ()) = request.into_parts();
            assert_eq!(
                RequestHead::from_parts(&parts).protocol(),
                expected,
                "{method}"
            );
        }
    }
}
