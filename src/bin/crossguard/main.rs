//! `crossguard check`: explains the verdict crossguard gives a request head.
//!
//! The request goes through the very [`GuardLayer`] a service would use, so the answer is the
//! layer's answer; the per-field lines of the report only describe what the policy saw.

mod input;
mod report;

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::path::PathBuf;
use std::pin::pin;
use std::process::ExitCode;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use clap::{Args, Parser, Subcommand, ValueEnum};
use crossguard::websocket::DeflateConfig;
use crossguard::{GuardLayer, Policy, PolicyBuilder, Preset, Verdict};
use http::{Request, Response};
use tower_layer::Layer as _;
use tower_service::Service;

/// Explain crossguard's verdict on an HTTP request head.
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
    Check(Check),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PresetArg {
    /// CSRF and cross-site WebSocket checks; no host allowlist.
    Default,
    /// `default` plus the loopback host allowlist and resource isolation.
    Local,
}

#[derive(Debug, Args)]
struct Check {
    /// The request head; standard input when absent or `-`.
    file: Option<PathBuf>,
    /// The method, for a bare list of header lines (overrides the request line).
    #[arg(long)]
    method: Option<String>,
    /// The request target, for a bare list of header lines (overrides the request line).
    #[arg(long)]
    target: Option<String>,
    /// The policy to start from.
    #[arg(long, value_enum, default_value = "default")]
    preset: PresetArg,
    /// Trust an origin: `https://app.example`, `https://*.example.com` or `null` (repeatable).
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origin: Vec<String>,
    /// Answer a host: `localhost`, `host:port`, `.example.com` or `loopback` (repeatable).
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_host: Vec<String>,
    /// Allow unsafe `Sec-Fetch-Site: same-site` requests.
    #[arg(long)]
    allow_same_site: bool,
    /// Turn resource isolation on.
    #[arg(long)]
    resource_isolation: bool,
    /// Refuse WebSocket handshakes without Origin.
    #[arg(long)]
    require_origin_for_websocket: bool,
    /// Report instead of refusing.
    #[arg(long)]
    report_only: bool,
    /// A WebSocket subprotocol the server speaks, most preferred first (repeatable).
    #[arg(long = "protocol", value_name = "NAME")]
    protocols: Vec<String>,
    /// Decline permessage-deflate.
    #[arg(long)]
    no_deflate: bool,
    /// Largest server window for permessage-deflate (8..=15).
    #[arg(long, value_name = "N")]
    server_max_window_bits: Option<u8>,
    /// Largest client window for permessage-deflate (8..=15).
    #[arg(long, value_name = "N")]
    client_max_window_bits: Option<u8>,
    /// Always answer server_no_context_takeover.
    #[arg(long)]
    server_no_context_takeover: bool,
    /// Always answer client_no_context_takeover.
    #[arg(long)]
    client_no_context_takeover: bool,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    json: bool,
}

impl Check {
    fn policy(&self) -> Result<Policy, crossguard::ConfigError> {
        let preset = match self.preset {
            PresetArg::Default => Preset::Default,
            PresetArg::Local => Preset::Local,
        };
        let mut builder = PolicyBuilder::from_preset(preset);
        for origin in &self.allow_origin {
            builder = builder.allow_origin(origin.as_str());
        }
        for host in &self.allow_host {
            builder = builder.allow_host(host.as_str());
        }
        if self.allow_same_site {
            builder = builder.allow_same_site(true);
        }
        if self.resource_isolation {
            builder = builder.resource_isolation(true);
        }
        for protocol in &self.protocols {
            builder = builder.websocket_protocol(protocol.as_str());
        }
        let deflate = (!self.no_deflate).then(|| {
            let mut config = DeflateConfig::default()
                .server_no_context_takeover(self.server_no_context_takeover)
                .client_no_context_takeover(self.client_no_context_takeover);
            if let Some(bits) = self.server_max_window_bits {
                config = config.server_max_window_bits(bits);
            }
            if let Some(bits) = self.client_max_window_bits {
                config = config.client_max_window_bits(bits);
            }
            config
        });
        builder
            .require_origin_for_websocket(self.require_origin_for_websocket)
            .report_only(self.report_only)
            .deflate(deflate)
            .build()
    }
}

/// The innermost service: records the verdict the guard attached and answers an empty 200.
#[derive(Clone, Default)]
struct Recorder(Rc<RefCell<Option<Verdict>>>);

impl Service<Request<()>> for Recorder {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Ready<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<()>) -> Self::Future {
        *self.0.borrow_mut() = request.extensions().get::<Verdict>().cloned();
        ready(Ok(Response::new(String::new())))
    }
}

/// What the guard did with the request.
pub(crate) struct Outcome {
    /// The verdict, when the request reached the service.
    pub(crate) verdict: Option<Verdict>,
    /// The response: the guard's rejection, or the service's (with what the guard added).
    pub(crate) response: Response<String>,
}

fn run_guard(policy: &Policy, request: Request<()>) -> Option<Outcome> {
    let recorder = Recorder::default();
    let mut guard = GuardLayer::new(policy.clone()).layer(recorder.clone());
    let mut cx = Context::from_waker(Waker::noop());
    // Every future here is ready at once: the guard decides synchronously and the recorder
    // answers with `Ready`.
    if guard.poll_ready(&mut cx).is_pending() {
        return None;
    }
    let future = pin!(guard.call(request));
    let Poll::Ready(Ok(response)) = future.poll(&mut cx) else {
        return None;
    };
    let verdict = recorder.0.borrow_mut().take();
    Some(Outcome { verdict, response })
}

fn fail(message: &str) -> ExitCode {
    eprintln!("crossguard: {message}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            let text = err.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            return fail(first.trim_start_matches("error: "));
        }
    };
    let Command::Check(check) = cli.command;
    let policy = match check.policy() {
        Ok(policy) => policy,
        Err(err) => return fail(&err.to_string()),
    };
    let bytes = match check.file.as_deref() {
        None => input::read_bounded(std::io::stdin().lock()),
        Some(path) if path.as_os_str() == "-" => input::read_bounded(std::io::stdin().lock()),
        Some(path) => match std::fs::File::open(path) {
            Ok(file) => input::read_bounded(file),
            Err(err) => return fail(&format!("{}: {err}", path.display())),
        },
    };
    let head = match bytes
        .and_then(|b| input::parse(&b, check.method.as_deref(), check.target.as_deref()))
    {
        Ok(head) => head,
        Err(err) => return fail(&err.to_string()),
    };
    let request = head.to_request();
    let Some(outcome) = run_guard(&policy, request.clone()) else {
        return fail("internal error: the guard did not answer at once");
    };
    let report = report::Report::new(&policy, &request, &outcome);
    if check.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.text());
    }
    if report.allowed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
