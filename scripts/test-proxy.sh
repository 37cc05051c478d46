#!/usr/bin/env bash
# End-to-end tests of `crossguard proxy` against real upstreams (tests/proxy/): Jupyter Server
# (jupyter_server + ipykernel from PyPI, no token, its own XSRF/Origin checks off) and the Vite
# dev server (npm), driven by Debian's headless Chromium through playwright-core; python-websockets
# and Node `ws` with permessage-deflate; a 200 MiB download, a 50 MiB upload (the proxy's VmHWM
# under 64 MiB) and server-sent events through a Node upstream; 502 and SIGTERM; hostile clients
# (ambiguous framing, a slow head, a burst of idle connections past --max-connections).
# Installs what it needs itself (pip: tests/proxy/requirements.txt, pinned with hashes; npm:
# tests/proxy/package-lock.json). Everything listens on loopback; every process the suite starts
# is stopped by PID (process group), also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/suite.sh

[ -x /usr/bin/chromium ] || install_debian chromium

timeout 600 python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --require-hashes -r tests/proxy/requirements.txt
(cd tests/proxy && timeout 300 npm ci --no-audit --no-fund --silent >/dev/null)

timeout 1200 cargo build --quiet --release --locked -p crossguard-cli

CROSSGUARD_BIN=target/release/crossguard PYTHON=python3 \
    run_suite E2E_PIDFILE 420 node tests/proxy/e2e.mjs
