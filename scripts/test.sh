#!/usr/bin/env bash
# Runs every test of the project: the Rust suites (unit, integration, doctests) with all features,
# then the suites that need outside tools, each of which installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo test (all features)"
cargo test --workspace --all-features --locked

for suite in scripts/test-*.sh; do
    [ -e "$suite" ] || continue
    echo "== $suite"
    bash "$suite"
done
