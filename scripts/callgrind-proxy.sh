#!/usr/bin/env bash
# Counts the instructions `crossguard proxy` and nginx (`proxy_pass`, keepalive upstream, one
# process) spend per proxied request, under valgrind --tool=callgrind, over the same load: the
# upstream of scripts/bench-proxy.sh (tests/proxy/bench/upstream.mjs), `wrk -t1 -c8` for SECONDS
# of small GETs, then of same-origin POSTs, each proxy started afresh under callgrind for each.
# Instruction counts move far less than times on a shared machine (the polls a request takes vary
# a little with timing, so expect about 1% between runs); they count user space only, not the
# kernel's share (the system calls, the same four per request for both).
#
#   SECONDS_PER_RUN=10 scripts/callgrind-proxy.sh
#
# Installs what it needs (valgrind, nginx, wrk; `ws` by `npm ci`). Everything listens on
# 127.0.0.1 and is stopped on exit, also on failure. Not a test: CI does not run it.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${SECONDS_PER_RUN:-10}
case "$seconds" in '' | *[!0-9]*) echo "SECONDS_PER_RUN must be a whole number" >&2; exit 2 ;; esac
bench=tests/proxy/bench

. scripts/lib/suite.sh
missing=()
for tool in valgrind nginx wrk; do command -v "$tool" >/dev/null || missing+=("$tool"); done
install_debian "${missing[@]}"
command -v node >/dev/null || { echo "node is needed" >&2; exit 1; }
(cd "$bench" && timeout 300 npm ci --no-audit --no-fund --silent >/dev/null)
timeout 1200 cargo build --quiet --release -p crossguard-cli --locked
crossguard=$PWD/target/release/crossguard

tmp=$(mktemp -d /tmp/crossguard-callgrind-proxy.XXXXXX)
pids=()
cleanup() {
    local status=$? pid
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do
        timeout 10 tail --pid="$pid" -f /dev/null 2>/dev/null || true
        kill -KILL -- "-$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The upstream, for every run.
setsid node "$bench/upstream.mjs" 0 >"$tmp/upstream.out" 2>&1 </dev/null &
pids+=("$!")
upstream_port=
for _ in $(seq 1 100); do
    upstream_port=$(grep -Eo '127\.0\.0\.1:[0-9]+' "$tmp/upstream.out" | head -n 1 | cut -d: -f2 || true)
    [ -n "$upstream_port" ] && break
    sleep 0.1
done
[ -n "$upstream_port" ] || { echo "the upstream did not start" >&2; cat "$tmp/upstream.out" >&2; exit 1; }

mkdir -p "$tmp/nginx/logs" "$tmp/nginx/temp"
user_line="user $(id -un) $(id -gn);"
[ "$(id -u)" -eq 0 ] || user_line=""

# One run: SIDE under callgrind on a fresh port, wrk for the scenario; prints instructions per
# request.
measure() {
    local side=$1 scenario=$2 port pid out served total script=() path=/
    port=$(free_port)
    out="$tmp/$side-$scenario.callgrind"
    if [ "$side" = crossguard ]; then
        setsid valgrind --tool=callgrind --callgrind-out-file="$out" "$crossguard" proxy \
            --upstream "http://127.0.0.1:$upstream_port" --listen "127.0.0.1:$port" --quiet \
            >"$tmp/$side.log" 2>&1 </dev/null &
    else
        cat >"$tmp/nginx/nginx.conf" <<NGINX
$user_line
worker_processes 1;
master_process off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $tmp/nginx/temp/client_body;
    proxy_temp_path $tmp/nginx/temp/proxy;
    fastcgi_temp_path $tmp/nginx/temp/fastcgi;
    uwsgi_temp_path $tmp/nginx/temp/uwsgi;
    scgi_temp_path $tmp/nginx/temp/scgi;
    upstream app { server 127.0.0.1:$upstream_port; keepalive 32; }
    server {
        listen 127.0.0.1:$port;
        location / { proxy_pass http://app; proxy_http_version 1.1; proxy_set_header Connection ""; }
    }
}
NGINX
        setsid valgrind --tool=callgrind --callgrind-out-file="$out" nginx -p "$tmp/nginx" \
            -e "$tmp/nginx/logs/error.log" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' \
            >"$tmp/$side.log" 2>&1 </dev/null &
    fi
    pid=$!
    pids+=("$pid")
    local ready=
    for _ in $(seq 1 300); do
        if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"; then ready=1; break; fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$ready" ] || { echo "$side did not answer under valgrind" >&2; cat "$tmp/$side.log" >&2; return 1; }
    if [ "$scenario" = post ]; then
        path=/api/prompt
        cat >"$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"prompt":{"3":{"inputs":{"seed":1}}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Host"] = "localhost:$port"
wrk.headers["Origin"] = "http://localhost:$port"
wrk.headers["Sec-Fetch-Site"] = "same-origin"
wrk.headers["Sec-Fetch-Mode"] = "cors"
wrk.headers["Sec-Fetch-Dest"] = "empty"
LUA
        script=(-s "$tmp/post.lua")
    fi
    timeout $((seconds + 60)) wrk -t1 -c8 -d"${seconds}s" "${script[@]}" "http://127.0.0.1:$port$path" >"$tmp/wrk.out" 2>&1
    if grep -Eq 'Non-2xx|Socket errors' "$tmp/wrk.out"; then
        echo "wrk against $side saw errors:" >&2
        cat "$tmp/wrk.out" >&2
        return 1
    fi
    served=$(awk '/requests in/ {print $1}' "$tmp/wrk.out")
    # SIGQUIT: nginx's graceful shutdown; SIGTERM: crossguard's. Either way callgrind writes its
    # file when the process exits.
    if [ "$side" = crossguard ]; then kill -TERM -- "-$pid"; else kill -QUIT -- "-$pid"; fi
    timeout 60 tail --pid="$pid" -f /dev/null 2>/dev/null || true
    total=$(grep -E '^(summary|totals):' "$out" | head -n 1 | awk '{print $2}')
    [ -n "$total" ] && [ "$served" -gt 0 ] || { echo "no count for $side" >&2; return 1; }
    echo "$served $total"
}

printf '%-18s %-11s %9s %14s\n' scenario side requests instr/request
for scenario in get post; do
    declare -A per=()
    for side in crossguard nginx; do
        read -r served total < <(measure "$side" "$scenario")
        per[$side]=$((total / served))
        printf '%-18s %-11s %9d %14d\n' "$scenario" "$side" "$served" "${per[$side]}"
    done
    awk -v a="${per[crossguard]}" -v b="${per[nginx]}" -v s="$scenario" \
        'BEGIN { printf "%-18s crossguard/nginx %.2fx\n", s, a / b }'
done
