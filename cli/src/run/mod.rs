//! `crossguard run -- APP`: the app in a network namespace of its own, where nothing outside can
//! connect to it, and the proxy in front of it on the host, the only way in.
//!
//! - The parent (this process) binds the address the user knows (`127.0.0.1:PORT`) and starts a
//!   helper in new network (and, unless root, user) namespaces: the helper brings the
//!   namespace's loopback up and starts the app there.
//! - The proxy is `crossguard proxy`'s own code; its upstream connections are TCP sockets the
//!   helper makes inside the namespace and hands out over a Unix socket pair (`SCM_RIGHTS`),
//!   connected by the proxy to `127.0.0.1:PORT` there.
//! - Outbound traffic goes through `pasta` when it is installed, else through an HTTP CONNECT
//!   proxy this process serves from a socket bound inside the namespace; `--no-egress` cuts it.
//!
//! Linux only: elsewhere (or where namespaces cannot be made) the command exits 2 and never
//! starts the app unprotected.

#[cfg(target_os = "linux")]
mod linux;

use std::ffi::OsString;
use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::proxy::{ProxyOptions, seconds};

/// `crossguard run [OPTIONS] --port PORT -- COMMAND [ARGS...]`.
#[derive(Debug, Args)]
pub(crate) struct Run {
    /// The port the app listens on, at 127.0.0.1 inside its namespace; crossguard listens on
    /// 127.0.0.1:PORT on the host.
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    port: u16,
    /// The address crossguard listens on [default: 127.0.0.1:PORT].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Cut all of the app's outbound network traffic.
    #[arg(long)]
    no_egress: bool,
    /// Time the app has to accept connections on PORT before crossguard stops it and exits 1.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = seconds)]
    start_timeout: Duration,
    #[command(flatten)]
    options: ProxyOptions,
    /// The app's command line.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<OsString>,
}

/// How the app reaches the network outside its namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Egress {
    /// Nothing: loopback only.
    None,
    /// `pasta`, a user-mode network stack attached to the namespace.
    Pasta,
    /// An HTTP CONNECT proxy served by crossguard, announced in `HTTP_PROXY`/`HTTPS_PROXY`.
    Proxy,
}

/// The helper's command line (hidden): it runs inside the namespace.
#[derive(Debug, Args)]
pub(crate) struct Helper {
    /// The control socket inherited from the parent.
    #[arg(long)]
    control_fd: i32,
    /// The app's port.
    #[arg(long)]
    port: u16,
    /// The egress the parent set up.
    #[arg(long, value_enum)]
    egress: Egress,
    /// The app's command line.
    #[arg(last = true, required = true)]
    command: Vec<OsString>,
}

/// Runs the app isolated, behind the proxy; the exit status is the app's (128+N for signal N).
pub(crate) fn run(args: &Run) -> u8 {
    #[cfg(target_os = "linux")]
    {
        linux::run(args)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = args;
        crate::fail(
            "crossguard run needs Linux network namespaces; on this system use \
             `crossguard proxy --upstream` (or `unix:` upstreams) in front of the app, or an \
             in-process guard, and keep the app's own port closed to pages",
        )
    }
}

/// The helper, inside the namespace.
pub(crate) fn helper(args: &Helper) -> u8 {
    #[cfg(target_os = "linux")]
    {
        linux::helper(args)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = args;
        crate::fail("the namespace helper runs on Linux only")
    }
}
