#!/usr/bin/env bash
# Throughput of `crossguard forward-auth`, and what it adds to an nginx request, measured with wrk
# (Debian) on loopback in one run: (1) questions/s straight to crossguard, (2) nginx proxying to an
# app (an nginx `return 200`) without auth_request, (3) the same through deploy/nginx's
# auth_request recipe. Each run is bounded (DURATION seconds); everything started is stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
for tool in wrk nginx; do command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install wrk nginx)"; exit 1; }; done
cargo build --quiet --release -p crossguard-cli --locked
dir=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$dir"; }
trap cleanup EXIT
target/release/crossguard forward-auth --listen 127.0.0.1:0 --deny-status 403 --quiet >"$dir/cg.out" &
pids+=($!)
for _ in $(seq 50); do grep -q http:// "$dir/cg.out" 2>/dev/null && break; sleep 0.1; done
cg=$(grep -o '127.0.0.1:[0-9]*' "$dir/cg.out")
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
app=$(port); plain=$(port); guarded=$(port)
mkdir -p "$dir/tmp"
sed -e "s/127\.0\.0\.1:9180/$cg/; s/127\.0\.0\.1:8188/127.0.0.1:$app/; s/127\.0\.0\.1:8080/127.0.0.1:$guarded/" \
    deploy/nginx/crossguard.conf >"$dir/crossguard.conf"
cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/tmp/b; proxy_temp_path $dir/tmp/p; fastcgi_temp_path $dir/tmp/f;
  uwsgi_temp_path $dir/tmp/u; scgi_temp_path $dir/tmp/s;
  upstream app { server 127.0.0.1:$app; keepalive 16; }
  server { listen 127.0.0.1:$app; location / { return 200 "ok\n"; } }
  server { listen 127.0.0.1:$plain; location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_set_header Host \$http_host; } }
  include $dir/crossguard.conf;
}
CONF
nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' &
pids+=($!)
sleep 1
cat >"$dir/question.lua" <<'LUA'
wrk.method = "GET"
wrk.path = "/.crossguard/auth"
wrk.headers["X-Forwarded-Method"] = "POST"
wrk.headers["X-Forwarded-Proto"] = "http"
wrk.headers["X-Forwarded-Host"] = "localhost:8188"
wrk.headers["X-Forwarded-Uri"] = "/api/prompt"
wrk.headers["Origin"] = "http://localhost:8188"
wrk.headers["Sec-Fetch-Site"] = "same-origin"
LUA
cat >"$dir/browser.lua" <<'LUA'
wrk.headers["Sec-Fetch-Site"] = "same-origin"
LUA
run() { echo "== $1"; timeout $((DURATION + 20)) wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "${@:2}" | grep -E "Requests/sec|Latency|50%|99%|Non-2xx"; }
run "crossguard forward-auth, questions straight to it" -s "$dir/question.lua" "http://$cg"
run "nginx -> app, no auth_request" -s "$dir/browser.lua" "http://127.0.0.1:$plain/"
run "nginx -> app, auth_request to crossguard (deploy/nginx)" -s "$dir/browser.lua" "http://127.0.0.1:$guarded/"
