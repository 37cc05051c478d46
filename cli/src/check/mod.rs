//! `crossguard check`: explains the verdict crossguard gives a request head.
//!
//! The lines come from the library's [`Policy::explain`]; a refusal's response is the library's
//! [`Policy::rejection_response`], the one every surface sends. Nothing here judges a field.

mod input;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use crossguard::RequestHead;

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
    let report = report::Report::new(&explanation, &request, &policy);
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
