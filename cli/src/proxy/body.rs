//! The proxy's response body: a short message of its own, or the upstream's body streamed as it
//! arrives (never buffered).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

/// A response body: the proxy's own text or the upstream's stream.
#[derive(Debug)]
pub(crate) enum ProxyBody {
    /// A message of the proxy's (a rejection, an upstream error).
    Text(Option<Bytes>),
    /// The upstream's body, frame by frame.
    Upstream(Incoming),
}

impl ProxyBody {
    pub(crate) fn empty() -> Self {
        Self::Text(None)
    }
}

impl From<&'static str> for ProxyBody {
    fn from(text: &'static str) -> Self {
        Self::Text(Some(Bytes::from_static(text.as_bytes())))
    }
}

impl Body for ProxyBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            Self::Text(text) => Poll::Ready(text.take().map(|bytes| Ok(Frame::data(bytes)))),
            Self::Upstream(incoming) => Pin::new(incoming).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Text(text) => text.is_none(),
            Self::Upstream(incoming) => incoming.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Text(text) => SizeHint::with_exact(text.as_ref().map_or(0, |t| t.len() as u64)),
            Self::Upstream(incoming) => incoming.size_hint(),
        }
    }
}
