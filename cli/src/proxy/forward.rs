//! The forwarding service the guard wraps: sends an allowed request to the upstream over a
//! pooled HTTP/1.1 connection and relays the answer, bodies streamed both ways.
//!
//! At most `max_upstream` requests are in flight to the upstream at once (each holds a slot until
//! its response body ends, or its WebSocket tunnel closes), so HTTP/2 clients, whose streams
//! multiply, cannot open more upstream connections than that. A request that finds no free slot
//! within `--connect-timeout` gets `503 upstream_busy`.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crossguard::Verdict;
use crossguard::websocket::Offer;
use http::{HeaderValue, Method, Request, Response, StatusCode, Version, header};
use hyper::body::Incoming;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower_service::Service;

use super::body::{BodyTimeout, Described, ProxyBody, TimedBody};
use super::connect::Connector;
use super::hop::{add_forwarded, forwarded_for, remove_hop_by_hop, rewrite_for_upstream};
use super::pool::{Pool, SendError};
use super::upgrade::tunnel;
use super::upstream::Upstream;

/// How the proxy talks to its upstream.
#[derive(Debug, Clone)]
pub(crate) struct ForwardConfig {
    pub(crate) upstream: Upstream,
    pub(crate) rewrite_host: bool,
    pub(crate) connect_timeout: Duration,
    pub(crate) response_timeout: Duration,
    /// How long a request body may go without a byte before it is cut.
    pub(crate) body_timeout: Duration,
    /// Requests in flight to the upstream at most.
    pub(crate) max_upstream: usize,
}

/// What every connection's [`Forward`] shares: the configuration and the connection pool.
#[derive(Debug)]
pub(crate) struct Forwarder {
    config: ForwardConfig,
    pool: Arc<Pool>,
    upstream_slots: Arc<Semaphore>,
}

impl Forwarder {
    /// A forwarder with its own connection pool, taking its upstream slots from `upstream_slots`
    /// (shared by every worker).
    pub(crate) fn new(config: ForwardConfig, upstream_slots: Arc<Semaphore>) -> Self {
        let connector = Connector::new(
            config.upstream.origin_uri(),
            config.upstream.via().clone(),
            config.connect_timeout,
        );
        let pool = Arc::new(Pool::new(connector, config.max_upstream));
        Self {
            config,
            pool,
            upstream_slots,
        }
    }
}

/// The per-connection forwarding service.
#[derive(Debug, Clone)]
pub(crate) struct Forward {
    forwarder: Arc<Forwarder>,
    /// The client's address, as `X-Forwarded-For` says it.
    peer: HeaderValue,
    slot: Arc<OwnedSemaphorePermit>,
}

impl Forward {
    pub(crate) fn new(
        forwarder: Arc<Forwarder>,
        peer: SocketAddr,
        slot: Arc<OwnedSemaphorePermit>,
    ) -> Self {
        Self {
            forwarder,
            peer: forwarded_for(peer.ip()),
            slot,
        }
    }
}

/// The future of [`forward`], an `async fn`, whose type has no name a `Service` could give on
/// stable Rust: the request path's one box (one allocation per request).
type BoxFuture = Pin<Box<dyn Future<Output = Result<Response<ProxyBody>, Infallible>> + Send>>;

impl Service<Request<Incoming>> for Forward {
    type Response = Response<ProxyBody>;
    type Error = Infallible;
    type Future = BoxFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Incoming>) -> BoxFuture {
        let forwarder = Arc::clone(&self.forwarder);
        let peer = self.peer.clone();
        let slot = Arc::clone(&self.slot);
        Box::pin(async move { Ok(forward(&forwarder, peer, slot, request).await) })
    }
}

/// Why the upstream gave no usable answer.
#[derive(Debug, Clone, Copy)]
enum Failure {
    Unavailable,
    Timeout,
    BadHandshake,
    Busy,
    BodyTimeout,
}

impl Failure {
    fn response(self) -> Response<ProxyBody> {
        let (status, body) = match self {
            Self::Unavailable => (
                StatusCode::BAD_GATEWAY,
                "crossguard: upstream_unavailable\n",
            ),
            Self::Timeout => (
                StatusCode::GATEWAY_TIMEOUT,
                "crossguard: upstream_timeout\n",
            ),
            Self::BadHandshake => (
                StatusCode::BAD_GATEWAY,
                "crossguard: upstream_bad_handshake\n",
            ),
            Self::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "crossguard: upstream_busy\n",
            ),
            Self::BodyTimeout => (StatusCode::REQUEST_TIMEOUT, "crossguard: body_timeout\n"),
        };
        text_response(status, body)
    }

    fn reason(self) -> &'static str {
        match self {
            Self::Unavailable => "upstream_unavailable",
            Self::Timeout => "upstream_timeout",
            Self::BadHandshake => "upstream_bad_handshake",
            Self::Busy => "upstream_busy",
            Self::BodyTimeout => "body_timeout",
        }
    }
}

fn text_response(status: StatusCode, body: &'static str) -> Response<ProxyBody> {
    let mut response = Response::new(ProxyBody::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

async fn forward(
    forwarder: &Forwarder,
    peer: HeaderValue,
    slot: Arc<OwnedSemaphorePermit>,
    mut request: Request<Incoming>,
) -> Response<ProxyBody> {
    let config = &forwarder.config;
    if request.method() == Method::CONNECT {
        // A reverse proxy has no tunnel to offer; HTTP/2 WebSocket (RFC 8441) is not enabled.
        let mut response = text_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "crossguard: connect_not_supported\n",
        );
        response.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_static("GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"),
        );
        return response;
    }
    if !only_chunked(request.headers()) {
        // hyper decodes `chunked` only; another coding would reach the upstream still applied
        // and unannounced once `Transfer-Encoding` (hop-by-hop) is dropped (RFC 9112 §6.1).
        return text_response(
            StatusCode::NOT_IMPLEMENTED,
            "crossguard: unsupported_transfer_coding\n",
        );
    }
    let verdict = request.extensions().get::<Verdict>();
    let policy_passed = verdict.is_none_or(|v| v.reported().is_none());
    // The accept value the guard's verdict derives from the client's key: the upstream's 101
    // must carry exactly it. Only HTTP/1.1 handshakes have one (and are tunnelled).
    let accept = verdict
        .and_then(Verdict::handshake)
        .and_then(|h| h.accept())
        .filter(|_| request.version() == Version::HTTP_11);
    let handshake = accept.is_some();
    let method = request.method().clone();
    // The target, for log lines (a clone shares its bytes); they print its path only.
    let target = request.uri().clone();
    let path = Path(&target);
    let version = request.version();

    // The target's authority (absolute form, HTTP/2's `:authority`) wins over `Host` (RFC 9112
    // §3.2.2); the upstream is sent it as `Host`.
    let target_host = request
        .uri()
        .authority()
        .and_then(|a| HeaderValue::from_str(a.as_str()).ok());
    let received_host = target_host
        .clone()
        .or_else(|| request.headers().get(header::HOST).cloned());
    let websocket = accept.map(|accept| {
        (
            Offer::new(request.headers(), accept),
            hyper::upgrade::on(&mut request),
        )
    });

    // A free slot is taken at once; the timer starts only when there is none.
    let upstream_slot = match Arc::clone(&forwarder.upstream_slots).try_acquire_owned() {
        Ok(slot) => Ok(slot),
        Err(_) => tokio::time::timeout(
            config.connect_timeout,
            Arc::clone(&forwarder.upstream_slots).acquire_owned(),
        )
        .await
        .map_err(drop)
        .and_then(|acquired| acquired.map_err(drop)),
    };
    let Ok(upstream_slot) = upstream_slot else {
        eprintln!(
            "crossguard: upstream_busy {method} {path}: {} requests already in flight to the upstream",
            config.max_upstream
        );
        return Failure::Busy.response();
    };

    let (mut parts, body) = request.into_parts();
    let body = TimedBody::new(
        body,
        config.body_timeout,
        Described {
            method: method.clone(),
            target: target.clone(),
        },
    );
    remove_hop_by_hop(&mut parts.headers, handshake);
    add_forwarded(&mut parts.headers, &peer, received_host.as_ref());
    if config.rewrite_host {
        rewrite_for_upstream(&mut parts.headers, &config.upstream, policy_passed);
    } else if let Some(host) = target_host {
        parts.headers.insert(header::HOST, host);
    } else if received_host.is_none() {
        // HTTP/1.0 may come without `Host`; HTTP/1.1 requires one (RFC 9112 §3.2).
        parts
            .headers
            .insert(header::HOST, config.upstream.authority_value().clone());
    }
    if parts.uri.scheme().is_some() || parts.uri.authority().is_some() {
        // Absolute form (and HTTP/2's target): the upstream gets the origin form.
        parts.uri = parts
            .uri
            .path_and_query()
            .cloned()
            .map_or_else(|| http::Uri::from_static("/"), http::Uri::from);
    }
    parts.version = Version::HTTP_11;
    parts.extensions = http::Extensions::new();
    let upstream_request = Request::from_parts(parts, body);

    let answer = tokio::time::timeout(
        config.response_timeout,
        forwarder.pool.send(upstream_request),
    )
    .await;
    let (mut response, lease) = match answer {
        Ok(Ok(answer)) => answer,
        Ok(Err(SendError::Request(err))) if BodyTimeout::caused(&err) => {
            // The body's own log line has said why.
            let mut response = Failure::BodyTimeout.response();
            if version < Version::HTTP_2 {
                // The rest of the body may still come: the connection cannot be reused.
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            return response;
        }
        Ok(Err(err)) => {
            let (failure, why) = match err {
                SendError::Connect(err) => {
                    let failure = if timed_out(err.as_ref()) {
                        Failure::Timeout
                    } else {
                        Failure::Unavailable
                    };
                    (failure, format!("cannot connect: {}", chain(err.as_ref())))
                }
                SendError::Request(err) => (Failure::Unavailable, chain(&err)),
            };
            eprintln!("crossguard: {} {method} {path}: {why}", failure.reason());
            return failure.response();
        }
        Err(_) => {
            eprintln!(
                "crossguard: upstream_timeout {method} {path}: no response head within {}s",
                config.response_timeout.as_secs_f64()
            );
            return Failure::Timeout.response();
        }
    };

    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        let Some((offer, client_upgrade)) = websocket else {
            eprintln!(
                "crossguard: upstream_bad_handshake {method} {path}: 101 to a request that asked for no upgrade"
            );
            return Failure::BadHandshake.response();
        };
        if let Err(why) = offer.check_answer(response.headers()) {
            eprintln!("crossguard: upstream_bad_handshake {method} {path}: {why}");
            return Failure::BadHandshake.response();
        }
        let upstream_upgrade = hyper::upgrade::on(&mut response);
        tunnel(client_upgrade, upstream_upgrade, slot, upstream_slot);
        let (parts, _) = response.into_parts();
        let mut relayed = Response::from_parts(parts, ProxyBody::empty());
        relayed.extensions_mut().clear();
        return relayed;
    }

    let (mut parts, body) = response.into_parts();
    remove_hop_by_hop(&mut parts.headers, false);
    parts.extensions = http::Extensions::new();
    // The client's connection has its own version; hyper frames the answer for it.
    parts.version = Version::HTTP_11;
    Response::from_parts(
        parts,
        ProxyBody::Upstream {
            body,
            request: Described { method, target },
            slot: Some(upstream_slot),
            lease: Some(lease),
        },
    )
}

/// Whether every transfer coding the request names is `chunked` (or it names none).
fn only_chunked(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(header::TRANSFER_ENCODING)
        .iter()
        .flat_map(|value| value.as_bytes().split(|&b| b == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|coding| !coding.is_empty())
        .all(|coding| coding.eq_ignore_ascii_case(b"chunked"))
}

/// Whether the connect attempt ran out of time (`--connect-timeout`).
fn timed_out(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(err) = source {
        if err
            .downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::TimedOut)
        {
            return true;
        }
        source = err.source();
    }
    false
}

/// An error and its causes on one line.
pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A target's path, as log lines print it: queries can hold secrets.
struct Path<'a>(&'a http::Uri);

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.path())
    }
}
