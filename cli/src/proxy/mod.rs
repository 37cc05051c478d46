//! `crossguard proxy`: the guard in front of any local app.
//!
//! A hyper server whose service is one tower chain: a refusal log, the crate's [`GuardLayer`],
//! and the forwarding service ([`forward::Forward`]). The guard decides; this module only moves bytes and reports: one log
//! line per refused request and per report-only finding (`--quiet` silences them), and the
//! upstream's failures, always.

mod body;
mod connect;
mod forward;
mod hop;
mod pool;
mod upgrade;
pub(crate) mod upstream;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use clap::Args;
use crossguard::layer::Report;
use crossguard::{GuardLayer, Rejection};
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::service::TowerToHyperService;
use tower::ServiceBuilder;
use tower_layer::Layer;
use tower_service::Service;

use crate::options::{PolicyArgs, PresetArg};
use crate::serve::{self, ServeConfig};
use body::ProxyBody;
use forward::{Forward, ForwardConfig, Forwarder};
use tokio::sync::Semaphore;
use upstream::Upstream;

/// `crossguard proxy --upstream URL [--listen ADDR] [OPTIONS]`.
#[derive(Debug, Args)]
pub(crate) struct Proxy {
    /// The app to protect: an origin, `http://host:port`, or a Unix socket, `unix:/path/app.sock`.
    #[arg(long, value_name = "URL", value_parser = Upstream::parse)]
    upstream: Upstream,
    /// The address to listen on (`127.0.0.1:0` picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8189")]
    listen: SocketAddr,
    #[command(flatten)]
    options: ProxyOptions,
}

/// What `proxy` and `run` share: how the proxy treats clients and the upstream, and the policy.
#[derive(Debug, Args)]
pub(crate) struct ProxyOptions {
    /// Send the upstream its own authority as `Host` and, for allowed requests, its own origin
    /// as `Origin` and in `Referer`.
    #[arg(long)]
    rewrite_host: bool,
    /// Time to connect to the upstream before answering 504.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = seconds)]
    connect_timeout: Duration,
    /// Time to the upstream's response head before answering 504 (a streaming body is never
    /// cut).
    #[arg(long, value_name = "SECS", default_value = "300", value_parser = seconds)]
    response_timeout: Duration,
    /// Time a client has to send a request head before its connection is closed.
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = seconds)]
    header_timeout: Duration,
    /// Time a request body may go without a byte before it is cut (408, and a log line).
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = seconds)]
    body_timeout: Duration,
    /// Time in-flight requests get to finish after SIGINT/SIGTERM.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = seconds)]
    shutdown_timeout: Duration,
    /// Open client connections at most; further connections wait until one closes.
    #[arg(long, value_name = "N", default_value = "1024",
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_connections: u32,
    /// No log line per refused request or report-only finding (errors are still logged).
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    policy: PolicyArgs,
}

/// Seconds, decimals allowed: `5`, `0.5`.
pub(crate) fn seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(secs.is_finite() && secs > 0.0 && secs <= 1e9) {
        return Err(format!("`{text}` must be a positive number of seconds"));
    }
    Ok(Duration::from_secs_f64(secs))
}

impl ProxyOptions {
    /// Whether the policy options make a policy; the error is the library's message.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub(crate) fn validate(&self) -> Result<(), String> {
        self.policy
            .policy(PresetArg::Local)
            .map(drop)
            .map_err(|err| err.to_string())
    }
}

/// Runs the proxy until SIGINT/SIGTERM.
pub(crate) fn run(args: &Proxy) -> u8 {
    #[cfg(unix)]
    if let upstream::Via::Unix(path) = args.upstream.via() {
        if let Some(warning) = open_socket_warning(path) {
            eprintln!("crossguard: warning: {warning}");
        }
    }
    serve_proxy(
        &args.options,
        args.upstream.clone(),
        args.listen,
        serve::Lifecycle::until_signal,
    )
}

/// What is wrong with a socket file other users can connect to, when it exists (connecting takes
/// write permission on the file and search permission on its directory).
#[cfg(unix)]
fn open_socket_warning(path: &std::path::Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    let directory = path.parent()?;
    let directory_mode = std::fs::metadata(directory).ok()?.permissions().mode() & 0o777;
    (mode & 0o022 != 0 && directory_mode & 0o011 != 0).then(|| {
        format!(
            "{} (mode {mode:o}, in a directory of mode {directory_mode:o}) can be connected to by \
             other users, around the guard; make it 0600 or put it in a 0700 directory",
            path.display()
        )
    })
}

/// Serves the proxy to `upstream` on `listen` for as long as `lifecycle` says.
pub(crate) fn serve_proxy(
    args: &ProxyOptions,
    upstream: Upstream,
    listen: SocketAddr,
    lifecycle: impl FnOnce() -> Result<serve::Lifecycle, String>,
) -> u8 {
    let policy = match args.policy.policy(PresetArg::Local) {
        Ok(policy) => policy,
        Err(err) => return crate::fail(&err.to_string()),
    };
    let quiet = args.quiet;
    let layer = GuardLayer::new(policy);
    let layer = layer.on_report(move |report: &Report<'_>| {
        if !quiet {
            eprintln!(
                "crossguard: report-only {} {}: {}",
                report.method,
                report.uri.path(),
                report.rejection.reason()
            );
        }
    });
    let serve_config = ServeConfig {
        listen,
        max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
        header_timeout: args.header_timeout,
        shutdown_timeout: args.shutdown_timeout,
        quiet,
    };
    let banner = format!("crossguard proxy: listening on {{addr}}, forwarding to {upstream}");
    let forward_config = ForwardConfig {
        upstream,
        rewrite_host: args.rewrite_host,
        connect_timeout: args.connect_timeout,
        response_timeout: args.response_timeout,
        body_timeout: args.body_timeout,
        // As many requests in flight to the upstream as client connections: an HTTP/1 client has
        // one at a time, and HTTP/2 clients cannot multiply that.
        max_upstream: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
    };
    // The upstream slots are shared by every worker; each worker has its own connection pool,
    // so an upstream connection is only ever used by the thread that opened it.
    let upstream_slots = Arc::new(Semaphore::new(forward_config.max_upstream.max(1)));
    serve::serve(serve_config, banner, lifecycle, move || {
        let forwarder = Arc::new(Forwarder::new(
            forward_config.clone(),
            Arc::clone(&upstream_slots),
        ));
        let layer = layer.clone();
        move |connection: serve::Connection| {
            // The whole request path, outermost first.
            let service = ServiceBuilder::new()
                // A log line for each refusal (unless --quiet)...
                .layer(LogRefusalsLayer { quiet })
                // ...of the guard, which answers a refused request itself...
                .layer(layer.clone())
                // ...and passes the others to the upstream.
                .service(Forward::new(
                    Arc::clone(&forwarder),
                    connection.peer,
                    connection.slot,
                ));
            TowerToHyperService::new(service)
        }
    })
}

/// Wraps a service in [`LogRefusals`].
#[derive(Debug, Clone, Copy)]
struct LogRefusalsLayer {
    quiet: bool,
}

impl<S> Layer<S> for LogRefusalsLayer {
    type Service = LogRefusals<S>;

    fn layer(&self, inner: S) -> LogRefusals<S> {
        LogRefusals {
            inner,
            quiet: self.quiet,
        }
    }
}

/// The guard's service, with a log line for each refusal (the response carries the
/// [`Rejection`]).
#[derive(Debug, Clone)]
struct LogRefusals<S> {
    inner: S,
    quiet: bool,
}

impl<S> Service<Request<Incoming>> for LogRefusals<S>
where
    S: Service<Request<Incoming>, Response = Response<ProxyBody>, Error = Infallible>,
{
    type Response = Response<ProxyBody>;
    type Error = Infallible;
    type Future = Logged<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Incoming>) -> Self::Future {
        // The method and target are kept for the log line (a clone shares their bytes).
        let asked = (!self.quiet).then(|| (request.method().clone(), request.uri().clone()));
        Logged {
            future: self.inner.call(request),
            asked,
        }
    }
}

pin_project_lite::pin_project! {
    /// The guard's answer, logged when it is a refusal.
    struct Logged<F> {
        #[pin]
        future: F,
        asked: Option<(http::Method, http::Uri)>,
    }
}

impl<F> Future for Logged<F>
where
    F: Future<Output = Result<Response<ProxyBody>, Infallible>>,
{
    type Output = Result<Response<ProxyBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let Ok(response) = std::task::ready!(this.future.poll(cx));
        if let (Some((method, uri)), Some(rejection)) =
            (this.asked.take(), response.extensions().get::<Rejection>())
        {
            // The path only: queries can hold secrets.
            eprintln!(
                "crossguard: refused {method} {}: {}",
                uri.path(),
                rejection.reason()
            );
        }
        Poll::Ready(Ok(response))
    }
}
