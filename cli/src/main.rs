//! The `crossguard` command; everything is in the library (`crossguard_cli::main`).

use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(crossguard_cli::main(std::env::args_os()))
}
