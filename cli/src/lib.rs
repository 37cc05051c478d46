//! The `crossguard` command, as a library: the binary and the Python package's `crossguard`
//! command both call [`main`].
//!
//! - `check`: explains the verdict crossguard gives a request head.
//! - `forward-auth`: answers nginx, Caddy, Traefik and Envoy about the requests they receive.
//! - `proxy`: guards any local app as a reverse proxy.
//! - `run`: starts an app where only crossguard can reach it (Linux).
//!
//! Nothing here is a stable Rust API: the command line is the contract (`docs/cli.md`).

mod check;
mod forward_auth;
mod options;
mod proxy;
mod run;
mod serve;

use std::ffi::OsString;
use std::sync::OnceLock;

use clap::{Parser, Subcommand};

#[doc(hidden)]
pub use check::{head_json, head_report};
#[doc(hidden)]
pub use options::{PolicyArgs, PresetArg};

/// Stop cross-site attacks on HTTP services: explain a verdict, guard an app as a proxy, or
/// answer a proxy tier as its forward-auth service.
#[derive(Debug, Parser)]
#[command(name = "crossguard", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check one request head (a raw HTTP/1.1 head, or `Name: value` lines with --method and
    /// --target) read from FILE or standard input.
    Check(check::Check),
    /// Serve as the forward-auth service of a proxy tier (nginx auth_request, Caddy forward_auth,
    /// Traefik ForwardAuth, Envoy ext_authz): judge the original request each question describes.
    ForwardAuth(forward_auth::ForwardAuth),
    /// Guard an existing app: a reverse proxy that refuses cross-site requests, cross-site
    /// WebSocket handshakes and DNS rebinding before they reach it.
    Proxy(Box<proxy::Proxy>),
    /// Run an app where nothing but crossguard can reach it (Linux): the app in a network
    /// namespace of its own, the proxy on its usual address the only way in.
    Run(Box<run::Run>),
    /// The helper `run` starts inside the app's namespace (not for direct use).
    #[command(name = "__namespace-helper", hide = true)]
    NamespaceHelper(run::Helper),
}

/// Prints one line naming the problem and returns the usage-error exit code.
pub(crate) fn fail(message: &str) -> u8 {
    eprintln!("crossguard: {message}");
    2
}

/// How to start this same command again, for `crossguard run`'s helper inside the namespace:
/// this executable, unless [`main_with_program`] said otherwise.
static PROGRAM: OnceLock<Vec<OsString>> = OnceLock::new();

/// The command line that starts this same program (`crossguard run` starts its in-namespace
/// helper with it).
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) fn program() -> Vec<OsString> {
    PROGRAM
        .get()
        .cloned()
        .unwrap_or_else(|| match std::env::current_exe() {
            Ok(path) => vec![path.into_os_string()],
            Err(_) => vec![OsString::from("crossguard")],
        })
}

/// [`main`], for a host that starts this program as `program` (the Python package passes
/// `[sys.executable, "-m", "crossguard"]`), which `crossguard run` uses to start its helper.
///
/// ```
/// let status = crossguard_cli::main_with_program(vec!["crossguard".into()], ["crossguard", "--help"]);
/// assert_eq!(status, 0);
/// ```
pub fn main_with_program<I, T>(program: Vec<OsString>, args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let _ = PROGRAM.set(program);
    main(args)
}

/// Runs the command line `args` (the first is the program's name) and returns its exit status:
/// 0 allowed or done, 1 refused or failed at run time, 2 a usage error.
///
/// ```
/// let status = crossguard_cli::main(["crossguard", "--version"]);
/// assert_eq!(status, 0);
/// ```
pub fn main<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            let _ = err.print();
            return 0;
        }
        Err(err) if err.kind() == clap::error::ErrorKind::MissingRequiredArgument => {
            let missing = match err.get(clap::error::ContextKind::InvalidArg) {
                Some(clap::error::ContextValue::Strings(args)) => args.join(", "),
                _ => "an argument".to_owned(),
            };
            return fail(&format!("missing required argument: {missing}"));
        }
        Err(err) => {
            let text = err.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            return fail(first.trim_start_matches("error: "));
        }
    };
    match &cli.command {
        Command::Check(args) => check::run(args),
        Command::ForwardAuth(args) => forward_auth::run(args),
        Command::Proxy(args) => proxy::run(args),
        Command::Run(args) => run::run(args),
        Command::NamespaceHelper(args) => run::helper(args),
    }
}
