//! The guard's response future.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{HeaderValue, Response, header};
use pin_project_lite::pin_project;

/// `Vary` for responses whose status depends on Fetch Metadata (resource isolation).
pub(crate) const FETCH_METADATA_VARY: HeaderValue =
    HeaderValue::from_static("Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest");

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
            vary: bool,
        },
        Rejected {
            response: Option<Response<B>>,
        },
    }
}

impl<F, B> ResponseFuture<F, B> {
    pub(crate) fn inner(future: F, vary: bool) -> Self {
        Self {
            kind: Kind::Inner { future, vary },
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
            KindProj::Inner { future, vary } => {
                let mut response = ready!(future.poll(cx))?;
                if *vary {
                    response
                        .headers_mut()
                        .append(header::VARY, FETCH_METADATA_VARY);
                }
                Poll::Ready(Ok(response))
            }
            KindProj::Rejected { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => Poll::Pending,
            },
        }
    }
}
