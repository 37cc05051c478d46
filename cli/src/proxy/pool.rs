//! A worker's HTTP/1.1 connections to the upstream: hyper's connection-level client, one task per
//! connection, and a list of the idle ones.
//!
//! Every worker thread has its own pool, so a connection is only ever used by the thread that
//! opened it (its lock is never contended). A connection goes back to the pool when the response
//! it carried has been relayed to its end; one whose response was cut, or that became a
//! WebSocket tunnel, is not reused. Idle connections are dropped after [`IDLE_TIMEOUT`], or when
//! the upstream closes them. A request that finds its pooled connection closed before a byte of
//! it was written is sent again once, on a new connection, as nothing of it reached the upstream.

use std::error::Error as StdError;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use http::{Request, Response};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;

use super::body::TimedBody;
use super::connect::Connector;

/// How long an idle connection is kept.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

type BoxError = Box<dyn StdError + Send + Sync>;

/// Why a request got no response from the upstream.
#[derive(Debug)]
pub(crate) enum SendError {
    /// No connection could be made (the cause says why; a timeout is an `io::ErrorKind::TimedOut`
    /// among its causes).
    Connect(BoxError),
    /// The connection failed while the request was sent or its response head awaited.
    Request(hyper::Error),
}

/// A worker's idle connections and the way to make new ones.
#[derive(Debug)]
pub(crate) struct Pool {
    connector: Connector,
    idle: Mutex<Vec<Idle>>,
    max_idle: usize,
}

#[derive(Debug)]
struct Idle {
    sender: SendRequest<TimedBody>,
    since: Instant,
}

/// A connection lent out for one request: [`Lease::release`] hands it back for reuse once its
/// response has ended; dropped otherwise, it is not reused.
#[derive(Debug)]
pub(crate) struct Lease {
    sender: SendRequest<TimedBody>,
    pool: Arc<Pool>,
}

impl Lease {
    /// The response this connection carried has ended: the connection can take the next request.
    pub(crate) fn release(self) {
        self.pool.put(self.sender);
    }
}

impl Pool {
    /// A pool keeping at most `max_idle` idle connections.
    pub(crate) fn new(connector: Connector, max_idle: usize) -> Self {
        Self {
            connector,
            idle: Mutex::new(Vec::new()),
            max_idle: max_idle.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Idle>> {
        // A list of connections stays usable whatever a panicking holder did.
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends `request` on an idle connection, or on a new one; the response head and the lease
    /// of the connection that carries its body.
    pub(crate) async fn send(
        self: &Arc<Self>,
        mut request: Request<TimedBody>,
    ) -> Result<(Response<Incoming>, Lease), SendError> {
        if let Some(mut sender) = self.checkout() {
            match sender.try_send_request(request).await {
                Ok(response) => return Ok((response, self.lease(sender))),
                Err(mut err) => match err.take_message() {
                    // The connection closed before the request was written: none of it reached
                    // the upstream, so it can go on a new connection.
                    Some(unsent) => request = unsent,
                    None => return Err(SendError::Request(err.into_error())),
                },
            }
        }
        let mut sender = self.connect().await?;
        match sender.send_request(request).await {
            Ok(response) => Ok((response, self.lease(sender))),
            Err(err) => Err(SendError::Request(err)),
        }
    }

    fn lease(self: &Arc<Self>, sender: SendRequest<TimedBody>) -> Lease {
        Lease {
            sender,
            pool: Arc::clone(self),
        }
    }

    /// The most recently used idle connection that is ready for a request. Closed and expired
    /// ones are dropped; one still finishing its last exchange is left for later.
    fn checkout(&self) -> Option<SendRequest<TimedBody>> {
        let mut idle = self.lock();
        let mut index = idle.len();
        let now = Instant::now();
        while index > 0 {
            index -= 1;
            let Some(entry) = idle.get(index) else { break };
            if entry.sender.is_closed() || now.duration_since(entry.since) > IDLE_TIMEOUT {
                idle.swap_remove(index);
            } else if entry.sender.is_ready() {
                return Some(idle.swap_remove(index).sender);
            }
        }
        None
    }

    fn put(&self, sender: SendRequest<TimedBody>) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.lock();
        if idle.len() >= self.max_idle {
            // The oldest goes: the most recent are the likeliest to be still open upstream.
            idle.remove(0);
        }
        idle.push(Idle {
            sender,
            since: Instant::now(),
        });
    }

    /// A new connection, its task spawned on the worker's runtime.
    async fn connect(&self) -> Result<SendRequest<TimedBody>, SendError> {
        let stream = self.connector.connect().await.map_err(SendError::Connect)?;
        let (sender, connection) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|err| SendError::Connect(err.into()))?;
        tokio::spawn(async move {
            // Its errors reach the request it was carrying; nothing more to say here.
            let _ = connection.with_upgrades().await;
        });
        Ok(sender)
    }
}
