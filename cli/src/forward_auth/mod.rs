//! `crossguard forward-auth`: the guard as the authorization service of a proxy tier (nginx
//! `auth_request`, ingress-nginx `auth-url`, Caddy `forward_auth`, Traefik `ForwardAuth`, Envoy
//! HTTP `ext_authz`).
//!
//! Each request it receives is a question about an original request; the original's head is
//! rebuilt from the forwarded fields ([`original`]), judged by the guard, and answered the way
//! the engine expects ([`answer`]). It trusts the forwarded fields, so only the proxy tier may
//! reach it: it listens on loopback unless told otherwise, and warns when told otherwise.

mod answer;
mod original;
mod service;

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

use crate::fail;
use crate::options::{PolicyArgs, PresetArg};
use crate::serve::{self, ServeConfig};

use answer::{DenyStatus, Judge};
use original::Conventions;
use service::ForwardAuth as Service;

/// `crossguard forward-auth [--listen ADDR] [--deny-status CODE] [POLICY OPTIONS]`.
#[derive(Debug, Args)]
pub(crate) struct ForwardAuth {
    /// The address to listen on. Only the proxy tier may reach it: it trusts X-Forwarded-*.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9180")]
    listen: SocketAddr,
    /// Answer every refusal with this status instead of the guard's own (401 or 403; nginx's
    /// auth_request turns any other status into a 500).
    #[arg(long, value_name = "CODE", value_parser = DenyStatus::parse)]
    deny_status: Option<DenyStatus>,
    /// Envoy HTTP ext_authz: questions whose path starts with PREFIX/ carry the original method,
    /// Host and target themselves (set the same `path_prefix` in Envoy).
    #[arg(long, value_name = "PREFIX", value_parser = parse_prefix)]
    envoy_path_prefix: Option<String>,
    /// For engines that drop Upgrade and Connection from the question (Traefik): judge a question
    /// carrying Sec-WebSocket-Key and neither field as the WebSocket handshake it came from.
    #[arg(long)]
    restore_websocket_upgrade: bool,
    /// Do not log refusals (misconfigurations are always logged).
    #[arg(long)]
    quiet: bool,
    #[command(flatten)]
    policy: PolicyArgs,
}

fn parse_prefix(text: &str) -> Result<String, String> {
    if text.len() < 2 || !text.starts_with('/') || text.ends_with('/') {
        return Err("give a path such as /crossguard (leading /, no trailing /)".to_owned());
    }
    if !text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-._~".contains(&b))
    {
        return Err("use only letters, digits and / - . _ ~".to_owned());
    }
    let health = service::HEALTH_PATH;
    if health == text || health.starts_with(&format!("{text}/")) {
        return Err(format!(
            "{text} would send questions to the health endpoint {health}: choose another prefix"
        ));
    }
    Ok(text.to_owned())
}

pub(crate) fn run(args: &ForwardAuth) -> u8 {
    let policy = match args.policy.policy(PresetArg::Default) {
        Ok(policy) => policy,
        Err(err) => return fail(&err.to_string()),
    };
    let conventions = Conventions {
        envoy_path_prefix: args.envoy_path_prefix.clone(),
        restore_websocket_upgrade: args.restore_websocket_upgrade,
    };
    let service = Service::new(
        Judge::new(policy, args.deny_status),
        conventions,
        args.quiet,
    );
    if !args.listen.ip().is_loopback() {
        eprintln!(
            "crossguard: warning: listening on {}, not a loopback address: forward-auth trusts \
             the X-Forwarded-* fields, so only the proxy tier may reach it",
            args.listen
        );
    }
    let config = ServeConfig {
        listen: args.listen,
        max_connections: MAX_CONNECTIONS,
        header_timeout: HEADER_TIMEOUT,
        shutdown_timeout: SHUTDOWN_TIMEOUT,
        quiet: args.quiet,
    };
    let banner = "crossguard forward-auth: listening on {addr}".to_owned();
    serve::serve(config, banner, serve::Lifecycle::until_signal, move || {
        let service = service.clone();
        move |_connection| service.clone()
    })
}

/// Open connections at most: a proxy tier keeps a pool of keep-alive connections per worker.
const MAX_CONNECTIONS: usize = 1024;
/// How long an engine may take to send a question's head.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// How long open questions get to be answered after SIGINT/SIGTERM.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);
