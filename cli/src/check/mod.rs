//! `crossguard check`: explains the verdict crossguard gives a request head.
//!
//! The lines come from the library's [`Policy::explain`]; the response is the one the very
//! [`GuardLayer`] a service uses sends. Nothing here judges a field.

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

use clap::Args;
use crossguard::{GuardLayer, Policy, RequestHead, Verdict};
use http::{Request, Response};
use tower_layer::Layer as _;
use tower_service::Service;

use crate::fail;
use crate::options::{PolicyArgs, PresetArg};

/// `crossguard check [OPTIONS] [FILE]`.
#[derive(Debug, Args)]
pub(crate) struct Check {
    /// The request head; standard input when absent or `-`.
    file: Option<PathBuf>,
    /// The method, for a bare list of header lines (overrides the request line).
    #[arg(long)]
    method: Option<String>,
    /// The request target, for a bare list of header lines (overrides the request line).
    #[arg(long)]
    target: Option<String>,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Print one JSON object instead of the report.
    #[arg(long)]
    json: bool,
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

pub(crate) fn run(check: &Check) -> ExitCode {
    let policy = match check.policy.policy(PresetArg::Default) {
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
    let explanation = policy.explain(&RequestHead::from_request(&request));
    let Some(outcome) = run_guard(&policy, request.clone()) else {
        return fail("internal error: the guard did not answer at once");
    };
    // The layer runs the same decision; it is asked only for the exact response it sends.
    if explanation.result().is_ok() != outcome.verdict.is_some() {
        return fail("internal error: the guard layer and the explanation disagree");
    }
    let report = report::Report::new(&explanation, &request, &outcome, policy.is_report_only());
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
