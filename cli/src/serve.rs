//! The server loop every long-running subcommand shares: bind, announce, accept (at most
//! `max_connections` at a time), speak HTTP/1.1 or h2c with upgrades, refuse ambiguous framing,
//! cut slow first requests and idle connections, cap heads and HTTP/2 streams, and shut down
//! gracefully on SIGINT/SIGTERM.
//!
//! It knows nothing about the service it runs: a subcommand gives it a factory that builds one
//! hyper service per connection.

mod activity;
mod framing;

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::service::Service;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use activity::{Activity, InFlight, Tracked};
use framing::FramingLog;

/// The body of the response to a request whose body framing is ambiguous.
const AMBIGUOUS_FRAMING: &str = "crossguard: ambiguous_framing\n";

/// The largest request head: an HTTP/1 head past it gets `431` and its connection is closed; an
/// HTTP/2 header list past it is refused. Browsers send a few KiB.
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// HTTP/2 streams one client connection may have open at once.
pub(crate) const MAX_STREAMS: u32 = 32;

/// How the server treats its clients.
#[derive(Debug, Clone)]
pub(crate) struct ServeConfig {
    /// The address to bind.
    pub(crate) listen: SocketAddr,
    /// Open client connections at most; past it, new connections wait in the listen backlog.
    pub(crate) max_connections: usize,
    /// Time a client has to send a request head: its first request (on HTTP/2, the preface,
    /// SETTINGS and first HEADERS), and each later one; also how long a connection may stay
    /// without a request in flight.
    pub(crate) header_timeout: Duration,
    /// Time in-flight requests get to finish after SIGINT/SIGTERM.
    pub(crate) shutdown_timeout: Duration,
    /// Silence the per-request log lines.
    pub(crate) quiet: bool,
}

/// What a service factory learns about a new connection.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    /// The client's address.
    pub(crate) peer: SocketAddr,
    /// Held for as long as the connection, or a tunnel made from it, is open: a service that
    /// takes a connection over (a WebSocket tunnel) keeps a clone until the tunnel closes.
    pub(crate) slot: Arc<OwnedSemaphorePermit>,
}

/// The response body every service served here uses: it must be able to say why a request was
/// refused before it reached the service.
pub(crate) trait ServeBody:
    http_body::Body<Data = bytes::Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
    + From<&'static str>
    + Send
    + Unpin
    + 'static
{
}

impl<B> ServeBody for B where
    B: http_body::Body<Data = bytes::Bytes, Error: Into<Box<dyn std::error::Error + Send + Sync>>>
        + From<&'static str>
        + Send
        + Unpin
        + 'static
{
}

/// The service a subcommand answers each connection's requests with (one per connection).
pub(crate) trait ConnectionService<B>:
    Service<Request<Incoming>, Response = Response<B>, Error = Infallible, Future: Send + 'static>
    + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S, B> ConnectionService<B> for S where
    S: Service<
            Request<Incoming>,
            Response = Response<B>,
            Error = Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

/// When the server announces itself, and when it stops.
pub(crate) struct Lifecycle {
    /// A listener bound already; `None`: bind `config.listen`.
    pub(crate) listener: Option<std::net::TcpListener>,
    /// Resolves once the banner may be printed; `Err(code)`: exit with `code` without serving.
    pub(crate) ready: Pin<Box<dyn Future<Output = Result<(), u8>>>>,
    /// Resolves when the server should stop accepting and shut down, with the exit status.
    pub(crate) stop: Pin<Box<dyn Future<Output = u8>>>,
}

impl Lifecycle {
    /// Bind `config.listen`, announce at once, stop (status 0) at SIGINT or SIGTERM.
    pub(crate) fn until_signal() -> Result<Self, String> {
        let mut signals =
            Signals::new().map_err(|err| format!("cannot install signal handlers: {err}"))?;
        Ok(Self {
            listener: None,
            ready: Box::pin(std::future::ready(Ok(()))),
            stop: Box::pin(async move {
                signals.recv().await;
                0
            }),
        })
    }
}

/// Binds `config.listen` (or takes the lifecycle's listener), prints the banner (`{addr}`
/// replaced by `http://ADDR`) once the lifecycle is ready, and serves until it says stop
/// ([`Lifecycle::until_signal`]: SIGINT/SIGTERM). `lifecycle` is called inside the acceptor's
/// runtime. The exit code is the lifecycle's after a graceful shutdown; 1 when the address cannot
/// be bound or the runtime cannot start.
///
/// One thread accepts; connections are handed, in turn, to single-threaded worker runtimes (one
/// per core), where each stays for its whole life (its socket's events, its requests, its
/// upstream connections, its tunnel): no task of a connection wakes another thread. Measured on
/// two cores against tokio's work-stealing runtime, this took the CPU time per proxied request
/// from about 39 to 32 µs (`scripts/bench-proxy.sh`, `docs/proxy.md`). `make_worker` is called
/// once in each worker, and the factory it returns once per connection.
pub(crate) fn serve<L, W, F, S, B>(
    config: ServeConfig,
    banner: String,
    lifecycle: L,
    make_worker: W,
) -> u8
where
    L: FnOnce() -> Result<Lifecycle, String>,
    W: Fn() -> F + Send + Sync + 'static,
    F: Fn(Connection) -> S + 'static,
    S: ConnectionService<B>,
    B: ServeBody,
{
    let acceptor = match single_threaded_runtime() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("crossguard: cannot start the runtime: {err}");
            return 1;
        }
    };
    // One worker per core, as nginx's `worker_processes auto`.
    let workers = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let make_worker = Arc::new(make_worker);
    let mut handoffs = Vec::with_capacity(workers);
    let mut threads = Vec::with_capacity(workers);
    for index in 0..workers {
        let (handoff, arrivals) = tokio::sync::mpsc::unbounded_channel::<Arrival>();
        let make_worker = Arc::clone(&make_worker);
        let config = config.clone();
        let thread = std::thread::Builder::new()
            .name(format!("crossguard-worker-{index}"))
            .spawn(move || work(&config, arrivals, make_worker.as_ref()));
        match thread {
            Ok(thread) => {
                handoffs.push(handoff);
                threads.push(thread);
            }
            Err(err) => {
                eprintln!("crossguard: cannot start a worker thread: {err}");
                return 1;
            }
        }
    }
    let code = acceptor.block_on(accept(&config, &banner, lifecycle, handoffs));
    // The handoffs are closed: each worker lets its connections finish (at most
    // `--shutdown-timeout`), then ends.
    for thread in threads {
        let _ = thread.join();
    }
    code
}

/// The runtime of the acceptor and of each worker.
fn single_threaded_runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// An accepted connection on its way to a worker. The socket travels as a `std` one: a tokio
/// socket stays registered with the runtime that accepted it, whose thread would then wake the
/// worker for every readiness event.
struct Arrival {
    stream: std::net::TcpStream,
    connection: Connection,
}

/// The acceptor: binds, announces, and hands each connection (with its slot) to the next worker
/// until the lifecycle says stop.
async fn accept(
    config: &ServeConfig,
    banner: &str,
    lifecycle: impl FnOnce() -> Result<Lifecycle, String>,
    handoffs: Vec<tokio::sync::mpsc::UnboundedSender<Arrival>>,
) -> u8 {
    let Lifecycle {
        listener,
        ready,
        mut stop,
    } = match lifecycle() {
        Ok(lifecycle) => lifecycle,
        Err(message) => {
            eprintln!("crossguard: {message}");
            return 1;
        }
    };
    let listener = match listener {
        Some(listener) => listener
            .set_nonblocking(true)
            .and_then(|()| TcpListener::from_std(listener)),
        None => TcpListener::bind(config.listen).await,
    };
    let listener = match listener {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!(
                "crossguard: cannot listen on {}: {}",
                config.listen,
                describe_bind_error(&err)
            );
            return 1;
        }
    };
    let bound = match listener.local_addr() {
        Ok(addr) => addr,
        Err(err) => {
            eprintln!("crossguard: cannot read the bound address: {err}");
            return 1;
        }
    };
    tokio::select! {
        // A lifecycle that gives up on its start decides the status, even if it stopped meanwhile.
        biased;
        ready = ready => if let Err(code) = ready {
            return code;
        },
        code = &mut stop => return code,
    }
    println!("{}", banner.replace("{addr}", &format!("http://{bound}")));

    let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let mut next = 0usize;
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => permit,
            code = &mut stop => return code,
        };
        let Ok(permit) = permit else { return 1 };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            code = &mut stop => return code,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors and the like: keep serving the open connections.
                eprintln!("crossguard: accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(err) => {
                eprintln!("crossguard: cannot hand a connection over: {err}");
                continue;
            }
        };
        let arrival = Arrival {
            stream,
            connection: Connection {
                peer,
                slot: Arc::new(permit),
            },
        };
        // The next worker that can take it: a worker whose thread has ended is passed over.
        let mut arrival = Some(arrival);
        for _ in 0..handoffs.len() {
            let Some(handoff) = handoffs.get(next % handoffs.len()) else {
                break;
            };
            next = next.wrapping_add(1);
            match arrival.take().map(|a| handoff.send(a)) {
                Some(Err(returned)) => arrival = Some(returned.0),
                _ => break,
            }
        }
        if arrival.is_some() {
            eprintln!("crossguard: no worker is left to serve connections");
            return 1;
        }
    }
}

/// One worker: a single-threaded runtime serving the connections handed to it, until the
/// acceptor closes the handoff; then it lets them finish for at most the shutdown timeout.
fn work<W, F, S, B>(
    config: &ServeConfig,
    mut arrivals: tokio::sync::mpsc::UnboundedReceiver<Arrival>,
    make_worker: &W,
) where
    W: Fn() -> F,
    F: Fn(Connection) -> S,
    S: ConnectionService<B>,
    B: ServeBody,
{
    let runtime = match single_threaded_runtime() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("crossguard: cannot start a worker's runtime: {err}");
            return;
        }
    };
    runtime.block_on(async {
        let make_service = make_worker();
        let mut builder = auto::Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(config.header_timeout)
            .max_buf_size(MAX_HEAD);
        builder
            .http2()
            .timer(TokioTimer::new())
            .max_concurrent_streams(MAX_STREAMS)
            .max_header_list_size(u32::try_from(MAX_HEAD).unwrap_or(u32::MAX));
        let graceful = GracefulShutdown::new();
        while let Some(Arrival { stream, connection }) = arrivals.recv().await {
            // Registered with this worker's reactor: its events wake nothing else.
            let stream = match tokio::net::TcpStream::from_std(stream) {
                Ok(stream) => stream,
                Err(err) => {
                    eprintln!("crossguard: cannot take a connection over: {err}");
                    continue;
                }
            };
            let framing = FramingLog::default();
            let io = TokioIo::new(framing::FramingIo::new(stream, framing.clone()));
            let activity = Activity::new();
            let service = Watched {
                inner: make_service(connection),
                framing,
                activity: Arc::clone(&activity),
                quiet: config.quiet,
            };
            let connection = builder
                .serve_connection_with_upgrades(io, service)
                .into_owned();
            let connection = graceful.watch(connection);
            let timeout = config.header_timeout;
            tokio::spawn(async move {
                tokio::select! {
                    // A client that goes away mid-request is not an error of the server's.
                    _ = connection => {}
                    // No request (yet, or any more) within the timeout: dropping the connection
                    // closes its socket.
                    () = activity.expired(timeout) => {}
                }
            });
        }
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(config.shutdown_timeout) => {
                // Said once, whichever worker runs out of time first.
                static SAID: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
                if !SAID.swap(true, std::sync::atomic::Ordering::Relaxed) {
                    eprintln!(
                        "crossguard: shutdown timeout ({}s) elapsed; closing the remaining connections",
                        config.shutdown_timeout.as_secs_f64()
                    );
                }
            }
        }
    });
}

fn describe_bind_error(err: &io::Error) -> String {
    match err.kind() {
        io::ErrorKind::AddrInUse => "address already in use".to_owned(),
        io::ErrorKind::AddrNotAvailable => "address not available on this machine".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => err.to_string(),
    }
}

/// SIGINT and SIGTERM (Ctrl-C elsewhere), installed before the server announces itself.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    #[cfg(not(unix))]
    fn new() -> io::Result<Self> {
        Ok(Self {})
    }

    #[cfg(unix)]
    async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }

    #[cfg(not(unix))]
    async fn recv(&mut self) {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Each connection's service: answers `400` to a request whose head [`framing`] found ambiguous
/// (RFC 9112 §6.3, §11.2) before the inner service sees it, and counts requests in flight for
/// the connection's timeouts ([`activity`]).
#[derive(Clone)]
struct Watched<S> {
    inner: S,
    framing: FramingLog,
    activity: Arc<Activity>,
    quiet: bool,
}

impl<S, B> Service<Request<Incoming>> for Watched<S>
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>,
    B: ServeBody,
{
    type Response = Response<Tracked<B>>;
    type Error = Infallible;
    type Future = WatchedFuture<S::Future, B>;

    fn call(&self, request: Request<Incoming>) -> Self::Future {
        let in_flight = Some(self.activity.start());
        // HTTP/2 has no such ambiguity (its frames carry the lengths); only HTTP/1 heads are
        // recorded.
        let ambiguous = request.version() < http::Version::HTTP_2 && self.framing.next_ambiguous();
        if ambiguous {
            if !self.quiet {
                eprintln!(
                    "crossguard: refused {} {}: ambiguous_framing",
                    request.method(),
                    request.uri().path()
                );
            }
            let mut response = Response::new(B::from(AMBIGUOUS_FRAMING));
            *response.status_mut() = StatusCode::BAD_REQUEST;
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            return WatchedFuture::Refused {
                response: Some(response.map(|body| Tracked::new(body, in_flight))),
            };
        }
        WatchedFuture::Served {
            future: self.inner.call(request),
            framing: self.framing.clone(),
            in_flight,
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Watched`]: the inner service's answer, or a ready refusal.
    #[project = WatchedProjection]
    pub(crate) enum WatchedFuture<F, B> {
        Served {
            #[pin]
            future: F,
            framing: FramingLog,
            in_flight: Option<InFlight>,
        },
        Refused {
            response: Option<Response<Tracked<B>>>,
        },
    }
}

impl<F, B> Future for WatchedFuture<F, B>
where
    F: Future<Output = Result<Response<B>, Infallible>>,
    B: ServeBody,
{
    type Output = Result<Response<Tracked<B>>, Infallible>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            WatchedProjection::Served {
                future,
                framing,
                in_flight,
            } => {
                let Ok(response) = std::task::ready!(future.poll(cx));
                if response.status() == StatusCode::SWITCHING_PROTOCOLS {
                    // What follows on this connection is a tunnel, not HTTP.
                    framing.stop();
                }
                let in_flight = in_flight.take();
                Poll::Ready(Ok(response.map(|body| Tracked::new(body, in_flight))))
            }
            WatchedProjection::Refused { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                // A future is not polled after it completed (std::future::Future::poll).
                #[allow(clippy::panic)]
                None => {
                    panic!("crossguard: a connection's response future polled after completion")
                }
            },
        }
    }
}
