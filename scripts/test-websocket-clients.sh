#!/usr/bin/env bash
# Real WebSocket clients (Python `websockets`, Node `ws`) against examples/websocket.rs:
# permessage-deflate negotiated by crossguard and used, 200 KB round trips, cross-origin refused.
# Installs the clients itself, at the versions tests/clients/requirements.txt (with hashes) and
# tests/clients/package-lock.json pin; the server is stopped by PID whatever happens.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore --require-hashes -r tests/clients/requirements.txt
(cd tests/clients && npm ci --silent --no-audit --no-fund >/dev/null)

cargo build --quiet --locked --example websocket
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
target/debug/examples/websocket "127.0.0.1:$port" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -f "$log"' EXIT

for _ in $(seq 1 100); do
    grep -q listening "$log" && break
    sleep 0.1
done
grep -q listening "$log" || { echo "server did not start:"; cat "$log"; exit 1; }

url="ws://127.0.0.1:$port/ws"
status=0
timeout 120 python3 tests/clients/python_client.py "$url" || status=1
timeout 120 node tests/clients/node_client.js "$url" || status=1
exit $status
