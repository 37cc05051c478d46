//! What hyper does not time: the whole first request of a connection (on HTTP/2, the preface, the
//! SETTINGS frame and the first HEADERS), and an HTTP/2 connection with no open stream.
//!
//! Each connection's service counts its requests in flight, from the head's arrival to the end of
//! the response body ([`Activity::start`]); the connection's task races the connection against
//! [`Activity::expired`], and drops the connection (closing its socket) when it wins.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::Instant;

/// One connection's requests, as its service sees them.
#[derive(Debug)]
pub(crate) struct Activity {
    /// When the connection was accepted.
    opened: Instant,
    /// Whether a complete request head has arrived yet.
    seen: AtomicBool,
    /// Requests whose response has not been sent to the end.
    in_flight: AtomicUsize,
    /// When the last request in flight ended, in nanoseconds since `opened`.
    idle_since: AtomicU64,
}

impl Activity {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self {
            opened: Instant::now(),
            seen: AtomicBool::new(false),
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(0),
        })
    }

    /// A request head arrived: it is in flight until the returned guard is dropped (with the
    /// response body, or the response future if it never completes).
    pub(crate) fn start(self: &Arc<Self>) -> InFlight {
        self.seen.store(true, Ordering::Release);
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(self))
    }

    fn idle_since(&self) -> Instant {
        self.opened + Duration::from_nanos(self.idle_since.load(Ordering::Acquire))
    }

    /// Resolves once the connection has had no request for `timeout`: none at all since it
    /// opened (the first head, or HTTP/2's preface, SETTINGS and first HEADERS, took too long),
    /// or none in flight since the last one ended.
    pub(crate) async fn expired(&self, timeout: Duration) {
        loop {
            let now = Instant::now();
            let wake = if !self.seen.load(Ordering::Acquire) {
                self.opened + timeout
            } else if self.in_flight.load(Ordering::Acquire) > 0 {
                // Busy: look again later.
                now + timeout
            } else {
                self.idle_since() + timeout
            };
            if wake <= now {
                return;
            }
            tokio::time::sleep_until(wake).await;
        }
    }
}

/// A request in flight; dropping it ends it.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        let since = u64::try_from(activity.opened.elapsed().as_nanos()).unwrap_or(u64::MAX);
        activity.idle_since.store(since, Ordering::Release);
        activity.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that keeps its request in flight until it ends or is dropped.
#[derive(Debug)]
pub(crate) struct Tracked<B> {
    body: B,
    in_flight: Option<InFlight>,
}

impl<B: Body + Unpin> Tracked<B> {
    pub(crate) fn new(body: B, in_flight: Option<InFlight>) -> Self {
        Self { body, in_flight }
    }
}

impl<B> Body for Tracked<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            this.in_flight = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_first_request_must_come_within_the_timeout() {
        let activity = Activity::new();
        let started = Instant::now();
        activity.expired(Duration::from_secs(5)).await;
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_is_never_idle_and_idleness_counts_from_its_end() {
        let activity = Activity::new();
        let request = activity.start();
        let expired = tokio::time::timeout(
            Duration::from_secs(60),
            activity.expired(Duration::from_secs(5)),
        )
        .await;
        assert!(
            expired.is_err(),
            "a request in flight for 60 s keeps the connection"
        );
        let ended = Instant::now();
        drop(request);
        activity.expired(Duration::from_secs(5)).await;
        let waited = ended.elapsed();
        assert!(
            waited >= Duration::from_secs(5) && waited <= Duration::from_secs(10),
            "{waited:?}"
        );
    }
}
