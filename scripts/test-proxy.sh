#!/usr/bin/env bash
# End-to-end tests of `crossguard proxy` against real upstreams (tests/proxy/): Jupyter Server
# (jupyter_server + ipykernel from PyPI, no token, its own XSRF/Origin checks off) and the Vite
# dev server (npm), driven by Debian's headless Chromium through playwright-core; python-websockets
# and Node `ws` with permessage-deflate; a 200 MiB download, a 50 MiB upload (the proxy's VmHWM
# under 64 MiB) and server-sent events through a Node upstream; 502 and SIGTERM; hostile clients
# (ambiguous framing, a slow head, a burst of idle connections past --max-connections).
# Installs what it needs itself. Everything listens on loopback; every process the suite starts
# is stopped by PID (process group), also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
if [ ! -x /usr/bin/chromium ]; then
    echo "installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt_log=$(mktemp)
    timeout 300 "${sudo[@]}" apt-get update -qq
    if ! timeout 600 "${sudo[@]}" apt-get install -y -qq chromium >"$apt_log" 2>&1; then
        tail -n 40 "$apt_log"
        echo "apt-get install chromium failed; finishing dpkg's work and trying once more"
        timeout 300 "${sudo[@]}" dpkg --configure -a
        timeout 600 "${sudo[@]}" apt-get install -y -qq chromium >"$apt_log" 2>&1 || { tail -n 40 "$apt_log"; exit 1; }
    fi
    rm -f "$apt_log"
fi

timeout 600 python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore -r tests/proxy/requirements.txt
(cd tests/proxy && timeout 300 npm ci --no-audit --no-fund --silent >/dev/null)

timeout 1200 cargo build --quiet --release --locked -p crossguard-cli

pidfile=$(mktemp)
suite=
cleanup() {
    local status=$?
    if [ -n "$suite" ]; then
        kill "$suite" 2>/dev/null || true
        wait "$suite" 2>/dev/null || true
    fi
    # Whatever the suite could not stop itself (each PID leads its own process group).
    local pid
    while read -r pid; do
        [ -n "$pid" ] && kill -KILL -- "-$pid" 2>/dev/null || true
    done <"$pidfile"
    rm -f "$pidfile"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

E2E_PIDFILE="$pidfile" CROSSGUARD_BIN=target/release/crossguard PYTHON=python3 \
    timeout --kill-after=10 420 node tests/proxy/e2e.mjs &
suite=$!
status=0
wait "$suite" || status=$?
suite=
exit "$status"
