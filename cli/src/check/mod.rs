//! `crossguard check`: explains the verdict crossguard gives a request head.
//!
//! The lines come from the library's [`Policy::explain`]; a refusal's response is the library's
//! [`Policy::rejection_response`], the one every surface sends. Nothing here judges a field.

mod input;
mod report;

use std::path::PathBuf;

use clap::Args;
use crossguard::{Policy, RequestHead};

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

pub(crate) fn run(check: &Check) -> u8 {
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
    let report = report_of(&policy, &head);
    if check.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.text());
    }
    if report.allowed() { 0 } else { 1 }
}

fn report_of(policy: &Policy, head: &input::Head) -> report::Report {
    let request = head.to_request();
    let explanation = policy.explain(&RequestHead::from_request(&request));
    report::Report::new(&explanation, &request, policy)
}

/// Reads `bytes` as `crossguard check` reads its input (a raw HTTP/1.1 head, at most 64 KiB).
fn read_head(bytes: &[u8]) -> Result<input::Head, String> {
    input::read_bounded(bytes)
        .and_then(|b| input::parse(&b, None, None))
        .map_err(|err| err.to_string())
}

/// The object `crossguard check --json` prints for the raw HTTP/1.1 head `bytes` under `policy`;
/// the error is the message the command prints when it exits 2.
pub fn head_json(policy: &Policy, bytes: &[u8]) -> Result<serde_json::Value, String> {
    read_head(bytes).map(|head| report_of(policy, &head).json())
}

/// The report `crossguard check` prints for the raw HTTP/1.1 head `bytes` under `policy`; the
/// error is the message the command prints when it exits 2.
pub fn head_report(policy: &Policy, bytes: &[u8]) -> Result<String, String> {
    read_head(bytes).map(|head| report_of(policy, &head).text())
}
