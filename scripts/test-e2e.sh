#!/usr/bin/env bash
# Real-browser end-to-end tests: Debian's Chromium, driven by playwright-core (tests/e2e/), against
# examples/demo.rs. Same-origin use works (fetch, WebSocket with permessage-deflate, 100 KB echo);
# cross-site and same-site form/fetch CSRF and WebSocket hijacking are refused; DNS rebinding is
# refused; --allow-origin lets a trusted origin through; top-level links still work.
# Installs Chromium (apt) and playwright-core (npm) itself. Everything listens on loopback; every
# process the suite starts is stopped by PID, also on failure; screenshots go to tests/e2e/out/.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
    echo "installing Debian's chromium"
    sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
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

(cd tests/e2e && timeout 300 npm install --no-audit --no-fund --silent >/dev/null)

cargo build --quiet --release --all-features --example demo --locked

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

E2E_PIDFILE="$pidfile" DEMO_BIN=target/release/examples/demo \
    timeout --kill-after=10 240 node tests/e2e/e2e.mjs &
suite=$!
status=0
wait "$suite" || status=$?
suite=
exit "$status"
