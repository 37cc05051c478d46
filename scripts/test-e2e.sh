#!/usr/bin/env bash
# Real-browser end-to-end tests: Debian's Chromium, driven by playwright-core (tests/e2e/), against
# examples/demo.rs. Same-origin use works (fetch, WebSocket with permessage-deflate, 100 KB echo);
# cross-site and same-site form/fetch CSRF and WebSocket hijacking are refused; DNS rebinding is
# refused; --allow-origin lets a trusted origin through; top-level links still work.
# Installs Chromium (apt) and playwright-core (npm ci: tests/e2e/package-lock.json) itself.
# Everything listens on loopback; every process the suite starts is stopped by PID, also on
# failure; screenshots go to tests/e2e/out/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/suite.sh

[ -x /usr/bin/chromium ] || install_debian chromium

(cd tests/e2e && timeout 300 npm ci --no-audit --no-fund --silent >/dev/null)

cargo build --quiet --release --all-features --example demo --locked

DEMO_BIN=target/release/examples/demo run_suite E2E_PIDFILE 240 node tests/e2e/e2e.mjs
