#!/usr/bin/env bash
# End-to-end tests of `crossguard run` (tests/proxy/run.mjs): the demo, Jupyter Server and the Vite
# dev server started by `crossguard run`, as root and as nobody (setpriv; nobody's Jupyter comes
# from a virtual environment of Debian's Python), at their usual URLs with the app's own port
# closed; Jupyter on a Unix socket behind `crossguard proxy --upstream
# unix:`; pip's way out with and without --no-egress (pasta for nobody, crossguard's CONNECT proxy
# for root); signals, exit statuses, the start timeout, and no namespaces (exit 2).
# Installs what it needs itself: Debian's chromium, passt (pasta), python3-pip and python3-venv;
# the pip packages of tests/proxy/requirements.txt (root's Python) and requirements-debian.txt (a
# virtual environment of Debian's Python, for nobody), pinned with hashes; tests/proxy's npm
# lockfile. Everything listens on loopback; every process the suite starts is stopped by PID, also
# on failure.
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
/usr/bin/python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
install_debian "${missing[@]}"

timeout 600 python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --require-hashes -r tests/proxy/requirements.txt
# Jupyter for the unprivileged runs: a virtual environment of Debian's Python, outside the
# checkout (which another user may not be able to read), kept between runs as a cache.
venv=${TMPDIR:-/tmp}/crossguard-run-venv
if ! "$venv/bin/python" -c 'import jupyter_server, ipykernel' 2>/dev/null; then
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv"
    timeout 600 "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --require-hashes -r tests/proxy/requirements-debian.txt
fi
chmod -R a+rX "$venv"
(cd tests/proxy && timeout 300 npm ci --no-audit --no-fund --silent >/dev/null)

timeout 1200 cargo build --quiet --release --locked -p crossguard-cli
timeout 1200 cargo build --quiet --release --locked --all-features --example demo

CROSSGUARD_BIN=target/release/crossguard DEMO_BIN=target/release/examples/demo PYTHON=python3 \
    NOBODY_PYTHON="$venv/bin/python" \
    run_suite E2E_PIDFILE 720 node tests/proxy/run.mjs
