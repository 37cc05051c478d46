//! The guard's response future.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{HeaderValue, Response};
use pin_project_lite::pin_project;

use crate::policy::add_response_headers;

pin_project! {
    /// Response future of [`Guard`](super::Guard): the inner service's, or a ready rejection.
    pub struct ResponseFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner {
            #[pin]
            future: F,
            vary: Option<&'static HeaderValue>,
            corp: bool,
        },
        Rejected {
            response: Option<Response<B>>,
        },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn inner(future: F, vary: Option<&'static HeaderValue>, corp: bool) -> Self {
        Self {
            kind: Kind::Inner { future, vary, corp },
        }
    }

    pub(crate) fn rejected(response: Response<B>) -> Self {
        Self {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            // With nothing to add, the inner service's answer is passed on as it is, not moved
            // through this frame.
            KindProj::Inner {
                future,
                vary: None,
                corp: false,
            } => future.poll(cx),
            KindProj::Inner { future, vary, corp } => {
                let mut response = ready!(future.poll(cx))?;
                add_response_headers(response.headers_mut(), *vary, *corp);
                Poll::Ready(Ok(response))
            }
            KindProj::Rejected { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                // A future is not polled after it completed (std::future::Future::poll); doing
                // so is a bug in the caller, reported loudly rather than hung on.
                #[allow(clippy::panic)]
                None => panic!("crossguard ResponseFuture polled after completion"),
            },
        }
    }
}
