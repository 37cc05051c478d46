#!/usr/bin/env bash
# Mutation testing of the library (not run by CI: about 40 minutes on a 2-core machine). Installs
# cargo-mutants from crates.io when missing, mutates src/ of the `crossguard` package, and runs
# the library's own tests against each mutant. Every viable mutant must be caught, or listed in
# docs/security.md as equivalent with a reason. Results: mutants.out/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-mutants >/dev/null 2>&1 || cargo install cargo-mutants --locked
exec cargo mutants --package crossguard --all-features --no-shuffle \
    --timeout "${MUTANTS_TIMEOUT:-120}" "$@"
