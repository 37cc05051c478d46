#!/usr/bin/env bash
# A bounded soak of `crossguard proxy` (not run by CI): DURATION seconds (default 300) of mixed
# load through the proxy to a Node upstream that tests/proxy/soak.mjs kills and restarts every
# 30 s: small GETs and POSTs, 10 MB downloads (one reader slow), server-sent events, WebSocket
# echo sessions, clients that abort mid-body. It fails on any answer that is neither the
# upstream's nor the proxy's own 502/504, on a hung request, or when the proxy's descriptors do
# not come back to their baseline; it prints the report (resident memory before, at peak and
# after included).
#
#   DURATION=300 bash scripts/soak.sh
#
# Everything listens on 127.0.0.1; the proxy is stopped on exit, also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-300}
(cd tests/proxy && timeout 300 npm ci --no-audit --no-fund --silent >/dev/null)
timeout 1200 cargo build --quiet --release --locked -p crossguard-cli

tmp=$(mktemp -d /tmp/crossguard-soak.XXXXXX)
proxy_pid=
cleanup() {
    local status=$?
    [ -n "$proxy_pid" ] && kill -TERM "$proxy_pid" 2>/dev/null && timeout 15 tail --pid="$proxy_pid" -f /dev/null || true
    [ -n "$proxy_pid" ] && kill -KILL "$proxy_pid" 2>/dev/null || true
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

upstream_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
target/release/crossguard proxy --upstream "http://127.0.0.1:$upstream_port" --listen 127.0.0.1:0 \
    >"$tmp/proxy.out" 2>"$tmp/proxy.err" &
proxy_pid=$!
for _ in $(seq 1 100); do
    grep -q 'listening on' "$tmp/proxy.out" 2>/dev/null && break
    sleep 0.1
done
proxy_url=$(grep -Eo 'http://127\.0\.0\.1:[0-9]+' "$tmp/proxy.out" | head -n 1)
[ -n "$proxy_url" ] || { cat "$tmp/proxy.err" >&2; exit 1; }
echo "proxy $proxy_url (pid $proxy_pid), upstream 127.0.0.1:$upstream_port, $duration s"
status=0
timeout $((duration + 120)) node tests/proxy/soak.mjs "$proxy_url" "$proxy_pid" "$upstream_port" "$duration" || status=$?
echo "proxy log lines by kind:"
sed -E 's/^crossguard: ([a-z_-]+).*/\1/' "$tmp/proxy.err" | sort | uniq -c | sort -rn | head -20
exit "$status"
