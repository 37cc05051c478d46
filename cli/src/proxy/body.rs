//! The proxy's bodies: the response body (a short message of its own, or the upstream's body
//! streamed as it arrives, never buffered), and the request body on its way to the upstream, cut
//! when the client stops sending it.

use std::error::Error;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

use super::pool::Lease;

/// What a log line says about the request a body belongs to.
#[derive(Debug, Clone)]
pub(crate) struct Described {
    pub(crate) method: Method,
    /// The target; log lines print its path only (queries can hold secrets).
    pub(crate) target: http::Uri,
}

/// A response body: the proxy's own text or the upstream's stream.
#[derive(Debug)]
pub(crate) enum ProxyBody {
    /// A message of the proxy's (a rejection, an upstream error).
    Text(Option<Bytes>),
    /// The upstream's body, frame by frame, holding its upstream slot until it ends; then its
    /// connection goes back to the pool.
    Upstream {
        body: Incoming,
        request: Described,
        slot: Option<OwnedSemaphorePermit>,
        lease: Option<Lease>,
    },
}

impl Drop for ProxyBody {
    fn drop(&mut self) {
        // A body that ended without being polled to its end (hyper writes no body for `HEAD`,
        // `204` or `304`, nor once it has the whole length) still frees its connection.
        if let Self::Upstream { body, lease, .. } = self {
            if body.is_end_stream() {
                if let Some(lease) = lease.take() {
                    lease.release();
                }
            }
        }
    }
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
            Self::Upstream {
                body,
                request,
                slot,
                lease,
            } => {
                let polled = Pin::new(body).poll_frame(cx);
                match &polled {
                    Poll::Ready(Some(Err(err))) => {
                        // Never silenced: the client got a cut response.
                        eprintln!(
                            "crossguard: upstream_failed_mid_body {} {}: {}",
                            request.method,
                            request.target.path(),
                            crate::proxy::forward::chain(err)
                        );
                        *slot = None;
                        // The connection is not reused.
                        *lease = None;
                    }
                    Poll::Ready(None) => {
                        *slot = None;
                        if let Some(lease) = lease.take() {
                            lease.release();
                        }
                    }
                    _ => {}
                }
                polled
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Text(text) => text.is_none(),
            Self::Upstream { body, .. } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Text(text) => SizeHint::with_exact(text.as_ref().map_or(0, |t| t.len() as u64)),
            Self::Upstream { body, .. } => body.size_hint(),
        }
    }
}

/// The client's request body on its way to the upstream, cut when no byte of it has arrived for
/// `--body-timeout`. The clock starts the first time the body has nothing to give: a request
/// without a body (hyper never polls it) arms no timer.
#[derive(Debug)]
pub(crate) struct TimedBody {
    body: Incoming,
    idle: Duration,
    deadline: Option<Pin<Box<Sleep>>>,
    request: Described,
}

/// The error a [`TimedBody`] ends with; [`BodyTimeout::caused`] finds it in the upstream
/// client's error.
#[derive(Debug, thiserror::Error)]
#[error("no request body bytes for {0:?}")]
pub(crate) struct BodyTimeout(Duration);

impl BodyTimeout {
    /// Whether `err`, or one of its causes, is a body timeout.
    pub(crate) fn caused(err: &(dyn Error + 'static)) -> bool {
        let mut source = Some(err);
        while let Some(err) = source {
            if err.is::<Self>() {
                return true;
            }
            source = err.source();
        }
        false
    }
}

impl TimedBody {
    /// `body`, cut after `idle` without a frame.
    pub(crate) fn new(body: Incoming, idle: Duration, request: Described) -> Self {
        Self {
            body,
            idle,
            deadline: None,
            request,
        }
    }
}

impl Body for TimedBody {
    type Data = Bytes;
    type Error = Box<dyn Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(deadline) = this.deadline.as_mut() {
                    deadline.as_mut().reset(Instant::now() + this.idle);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(err))) => Poll::Ready(Some(Err(err.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let idle = this.idle;
                let deadline = this
                    .deadline
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                match deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        // Never silenced: a client holding a request open is worth knowing. The
                        // body ends here; hyper's client does not poll it again.
                        eprintln!(
                            "crossguard: body_timeout {} {}: no request body bytes for {}s",
                            this.request.method,
                            this.request.target.path(),
                            idle.as_secs_f64()
                        );
                        Poll::Ready(Some(Err(BodyTimeout(idle).into())))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
