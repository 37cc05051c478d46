//! How a rejection becomes a response.

use http::Response;

use crate::Rejection;
use crate::rejection::plain_rejection;

/// Builds the response for a refused request.
///
/// Implemented by [`DefaultRejection`] and by any `Fn(&Rejection) -> Response<B>` closure. Whatever
/// it returns, the layer adds the headers the rejection requires
/// ([`Rejection::required_headers`]: `Allow` on `405`; `Sec-WebSocket-Version`, `Upgrade` and
/// `Connection` on `426`), `Vary` under resource isolation, and the [`Rejection`] itself as a
/// response extension.
pub trait OnRejection<B> {
    /// The response to send instead of calling the service.
    fn on_rejection(&self, rejection: &Rejection) -> Response<B>;
}

/// The default rejection response: the rejection's status, `Content-Type: text/plain;
/// charset=utf-8`, and a one-line body naming the reason code (`crossguard: cross_site_request`,
/// [`Rejection::body`]).
///
/// It works with any response body that can be made from a `&'static str` (`B:
/// From<&'static str>`): axum's `Body`, `String`, `Full<Bytes>`, `BoxBody` through
/// `http_body_util`. For a body type without that conversion (tower-http's `ResBody: Default`
/// style), give the layer a closure with [`GuardLayer::on_rejection`](super::GuardLayer::on_rejection).
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultRejection;

impl<B: From<&'static str>> OnRejection<B> for DefaultRejection {
    fn on_rejection(&self, rejection: &Rejection) -> Response<B> {
        plain_rejection(*rejection)
    }
}

impl<B, F> OnRejection<B> for F
where
    F: Fn(&Rejection) -> Response<B>,
{
    fn on_rejection(&self, rejection: &Rejection) -> Response<B> {
        self(rejection)
    }
}
