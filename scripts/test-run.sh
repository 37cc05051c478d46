#!/usr/bin/env bash
# End-to-end tests of `crossguard run` (tests/proxy/run.mjs): the demo, Jupyter Server and the Vite
# dev server started by `crossguard run`, as root and as nobody (setpriv), at their usual URLs
# with the app's own port closed; Jupyter on a Unix socket behind `crossguard proxy --upstream
# unix:`; pip's way out with and without --no-egress (pasta for nobody, crossguard's CONNECT proxy
# for root); signals, exit statuses, the start timeout, and no namespaces (exit 2).
# Installs what it needs itself: Debian's chromium and passt (pasta), the pip packages of
# tests/proxy/requirements.txt (pinned with hashes) and tests/proxy's npm lockfile. Everything
# listens on loopback; every process the suite starts is stopped by PID, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/suite.sh

if [ "$(uname -s)" != Linux ]; then
    echo "crossguard run is Linux only; skipped"
    exit 0
fi

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v pasta >/dev/null || missing+=(passt)
command -v setpriv >/dev/null || missing+=(util-linux)
[ -x /usr/bin/python3 ] && /usr/bin/python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
install_debian "${missing[@]}"

timeout 600 python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --require-hashes -r tests/proxy/requirements.txt
(cd tests/proxy && timeout 300 npm ci --no-audit --no-fund --silent >/dev/null)

timeout 1200 cargo build --quiet --release --locked -p crossguard-cli
timeout 1200 cargo build --quiet --release --locked --all-features --example demo

CROSSGUARD_BIN=target/release/crossguard DEMO_BIN=target/release/examples/demo PYTHON=python3 \
    run_suite E2E_PIDFILE 720 node tests/proxy/run.mjs
