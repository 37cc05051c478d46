#!/usr/bin/env bash
# Load comparison of `crossguard proxy` against Debian's nginx as a plain reverse proxy, on
# loopback. One upstream (tests/proxy/bench/upstream.mjs: Node `http` answering small GETs and
# POSTs, `ws` echoing on /ws) behind both:
#   - `crossguard proxy --upstream http://127.0.0.1:UP --listen 127.0.0.1:0 --quiet`
#   - nginx: `worker_processes 2`, `upstream {}` with `keepalive 32`, HTTP/1.1 to the upstream
#     with `Connection: ""`, and a /ws location passing Upgrade/Connection.
# Scenarios, each run for SECONDS per side, sides alternating (and which side goes first
# alternating from round to round), ROUNDS rounds:
#   get   wrk -t2 -c32 --latency, GET /
#   post  wrk -t2 -c32 --latency, same-origin POST /api/prompt with a small JSON body
#         (Origin, Host and Sec-Fetch-* of the side's own origin: the `local` preset allows it)
#   ws    tests/proxy/bench/ws-load.mjs: 32 connections, 64-byte message round trips
# Beside throughput and latency, each run's CPU time per request: the user + system time of the
# side's processes (crossguard's one process; nginx's master and workers), read from /proc before
# and after the run, divided by the requests (or WebSocket messages) served. It is far steadier
# than requests per second on a small shared machine.
# Prints every run, then one table of medians and the crossguard/nginx ratios.
#
#   ROUNDS=3 SECONDS=8 scripts/bench-proxy.sh
#
# Installs what it needs (Debian's nginx and wrk, `ws` by `npm ci`). Everything listens on
# 127.0.0.1 and is stopped on exit, also on failure. Not a test: CI does not run it.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-3}
# SECONDS is also bash's clock, which starts from the value the environment gives it: read it
# first thing (SECONDS_PER_RUN is the same setting under a name of its own); 0 means unset.
seconds=${SECONDS_PER_RUN:-$SECONDS}
[ "$seconds" != 0 ] || seconds=8
case "$rounds$seconds" in *[!0-9]*) echo "ROUNDS and SECONDS must be whole numbers" >&2; exit 2 ;; esac
[ "$rounds" -ge 1 ] && [ "$seconds" -ge 1 ] || { echo "ROUNDS and SECONDS must be at least 1" >&2; exit 2; }
connections=32
bench=tests/proxy/bench

# --- what the bench needs -------------------------------------------------------------------
. scripts/lib/suite.sh
missing=()
for tool in nginx wrk; do command -v "$tool" >/dev/null || missing+=("$tool"); done
install_debian "${missing[@]}"
command -v node >/dev/null || { echo "node is needed (Debian's nodejs)" >&2; exit 1; }
(cd "$bench" && timeout 300 npm ci --no-audit --no-fund --silent >/dev/null)
timeout 1200 cargo build --quiet --release -p crossguard-cli --locked
crossguard=target/release/crossguard
nginx_bin=$(command -v nginx)

# --- processes, stopped on exit ---------------------------------------------------------------
tmp=$(mktemp -d /tmp/crossguard-bench-proxy.XXXXXX)
pids=()
cleanup() {
    local status=$? pid
    trap - EXIT INT TERM
    # Each process was started by setsid and leads its own group: TERM the group, give it a
    # bounded time, then KILL what is left (nginx's workers included).
    for pid in "${pids[@]}"; do
        kill -TERM -- "-$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null || true
        kill -KILL -- "-$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$tmp"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Starts "$@" in its own process group, output to $tmp/NAME.out; sets $started to its PID.
start() {
    local name=$1
    shift
    setsid "$@" >"$tmp/$name.out" 2>&1 </dev/null &
    started=$!
    pids+=("$started")
}

# Waits (bounded) for a line matching REGEX in $tmp/NAME.out and prints the port it names.
port_from() {
    local name=$1 regex=$2 pid=$3
    local deadline=$((SECONDS + 20)) line
    while [ "$SECONDS" -lt "$deadline" ]; do
        line=$(grep -Eo "$regex" "$tmp/$name.out" 2>/dev/null | head -n 1 || true)
        if [ -n "$line" ]; then
            printf '%s\n' "$line" | grep -Eo '[0-9]+$'
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "$name did not announce its address:" >&2
    cat "$tmp/$name.out" >&2
    return 1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

start upstream node "$bench/upstream.mjs" 0
upstream_port=$(port_from upstream 'listening on http://127\.0\.0\.1:[0-9]+' "$started")

start crossguard "$crossguard" proxy --upstream "http://127.0.0.1:$upstream_port" --listen 127.0.0.1:0 --quiet
crossguard_pid=$started
crossguard_port=$(port_from crossguard 'listening on http://127\.0\.0\.1:[0-9]+' "$started")

nginx_port=$(free_port)
mkdir -p "$tmp/nginx/logs" "$tmp/nginx/temp"
user_line="user $(id -un) $(id -gn);"
[ "$(id -u)" -eq 0 ] || user_line=""
cat >"$tmp/nginx/nginx.conf" <<NGINX
$user_line
worker_processes 2;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events {
    worker_connections 4096;
}
http {
    access_log off;
    client_body_temp_path $tmp/nginx/temp/client_body;
    proxy_temp_path $tmp/nginx/temp/proxy;
    fastcgi_temp_path $tmp/nginx/temp/fastcgi;
    uwsgi_temp_path $tmp/nginx/temp/uwsgi;
    scgi_temp_path $tmp/nginx/temp/scgi;

    upstream app {
        server 127.0.0.1:$upstream_port;
        keepalive 32;
    }
    server {
        listen 127.0.0.1:$nginx_port;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        location /ws {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_read_timeout 60s;
        }
    }
}
NGINX
timeout 10 "$nginx_bin" -t -q -p "$tmp/nginx" -e "$tmp/nginx/logs/error.log" -c "$tmp/nginx/nginx.conf" -g 'daemon off;'
start nginx "$nginx_bin" -p "$tmp/nginx" -e "$tmp/nginx/logs/error.log" -c "$tmp/nginx/nginx.conf" -g 'daemon off;'
nginx_pid=$started

port_of() { if [ "$1" = crossguard ]; then echo "$crossguard_port"; else echo "$nginx_port"; fi; }

# Both proxies answer, and answer 200 to the GET and the same-origin POST.
post_body='{"prompt":{"3":{"inputs":{"seed":1}}}}'
for side in crossguard nginx; do
    port=$(port_of "$side")
    ready=
    for _ in $(seq 1 100); do
        if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$port/"; then ready=1; break; fi
        [ "$side" = nginx ] && ! kill -0 "$nginx_pid" 2>/dev/null && break
        sleep 0.1
    done
    [ -n "$ready" ] || { echo "$side is not answering on 127.0.0.1:$port" >&2; cat "$tmp/$side.out" "$tmp/nginx/logs/error.log" >&2 2>/dev/null || true; exit 1; }
    get_status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/")
    post_status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST \
        -H "Host: localhost:$port" -H "Origin: http://localhost:$port" \
        -H 'Sec-Fetch-Site: same-origin' -H 'Sec-Fetch-Mode: cors' -H 'Sec-Fetch-Dest: empty' \
        -H 'Content-Type: application/json' --data "$post_body" "http://127.0.0.1:$port/api/prompt")
    if [ "$get_status" != 200 ] || [ "$post_status" != 200 ]; then
        echo "$side answered GET $get_status, same-origin POST $post_status (200 expected for both); aborting" >&2
        exit 1
    fi
    cat >"$tmp/post-$side.lua" <<LUA
wrk.method = "POST"
wrk.body = '$post_body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Host"] = "localhost:$port"
wrk.headers["Origin"] = "http://localhost:$port"
wrk.headers["Sec-Fetch-Site"] = "same-origin"
wrk.headers["Sec-Fetch-Mode"] = "cors"
wrk.headers["Sec-Fetch-Dest"] = "empty"
LUA
done

# --- the runs ------------------------------------------------------------------------------
# wrk's latency in milliseconds ("812.00us", "1.23ms", "1.01s").
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /m$/) n *= 60000; else if (v ~ /s$/) n *= 1000
        printf "%.3f", n
    }'
}

# The user + system time, in clock ticks, of every process in the group led by PID.
cpu_ticks() {
    local total=0 pid fields
    for pid in $(pgrep -g "$1" || true); do
        # Fields after the command name (which may hold spaces): utime and stime are the 12th and
        # 13th of them (14th and 15th of the whole line).
        fields=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
        set -- $fields
        total=$((total + ${12} + ${13}))
    done
    echo "$total"
}
clock_ticks=$(getconf CLK_TCK)
pgid_of() { if [ "$1" = crossguard ]; then echo "$crossguard_pid"; else echo "$nginx_pid"; fi; }

# One run; prints "RATE P50_MS P99_MS CPU_US_PER_REQUEST".
run() {
    local scenario=$1 side=$2 port out before after served
    port=$(port_of "$side")
    out="$tmp/run.out"
    before=$(cpu_ticks "$(pgid_of "$side")")
    measure "$scenario" "$side" "$port" "$out" >"$tmp/measured" || return 1
    after=$(cpu_ticks "$(pgid_of "$side")")
    served=$(cat "$tmp/served")
    [ "$served" -gt 0 ] || { echo "no request served" >&2; return 1; }
    echo "$(cat "$tmp/measured") $(awk -v t=$((after - before)) -v hz="$clock_ticks" -v n="$served" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')"
}

# One load run; prints "RATE P50_MS P99_MS" and writes the number served to $tmp/served.
measure() {
    local scenario=$1 side=$2 port=$3 out=$4
    case "$scenario" in
        get | post)
            local script=()
            local path=/
            if [ "$scenario" = post ]; then script=(-s "$tmp/post-$side.lua"); path=/api/prompt; fi
            timeout $((seconds + 30)) wrk -t2 -c"$connections" -d"${seconds}s" --latency "${script[@]}" \
                "http://127.0.0.1:$port$path" >"$out" 2>&1 || { cat "$out" >&2; return 1; }
            if grep -Eq 'Non-2xx|Socket errors' "$out"; then
                echo "wrk $scenario against $side saw errors:" >&2
                cat "$out" >&2
                return 1
            fi
            local rps p50 p99
            rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
            p50=$(awk '$1 == "50%" {print $2}' "$out")
            p99=$(awk '$1 == "99%" {print $2}' "$out")
            [ -n "$rps" ] && [ -n "$p50" ] && [ -n "$p99" ] || { cat "$out" >&2; return 1; }
            awk '/ requests in / {print $1}' "$out" >"$tmp/served"
            echo "$rps $(to_ms "$p50") $(to_ms "$p99")"
            ;;
        ws)
            timeout $((seconds + 30)) node "$bench/ws-load.mjs" "ws://127.0.0.1:$port/ws" "$seconds" "$connections" \
                >"$out" 2>&1 || { echo "ws load against $side failed:" >&2; cat "$out" >&2; return 1; }
            python3 -c 'import json, sys; r = json.loads(sys.stdin.read()); print(r["messages"])' <"$out" >"$tmp/served"
            python3 -c 'import json, sys; r = json.loads(sys.stdin.read()); print("%.2f %.3f %.3f" % (r["msgs_per_s"], r["p50_ms"], r["p99_ms"]))' <"$out"
            ;;
    esac
}

echo "upstream 127.0.0.1:$upstream_port; crossguard 127.0.0.1:$crossguard_port; nginx 127.0.0.1:$nginx_port"
echo "$("$nginx_bin" -v 2>&1); node $(node --version); $(wrk -v 2>&1 | head -n 1 | awk '{print "wrk", $2}'); $(nproc) cores"
echo "rounds $rounds, $seconds s per side per scenario, $connections connections"
echo "load before: $(uptime)"

# Warm both sides up (pools, caches), unrecorded.
for side in crossguard nginx; do
    timeout 30 wrk -t2 -c"$connections" -d2s "http://127.0.0.1:$(port_of "$side")/" >/dev/null 2>&1 || true
done

results="$tmp/results"
: >"$results"
for round in $(seq 1 "$rounds"); do
    if [ $((round % 2)) -eq 1 ]; then order=(crossguard nginx); else order=(nginx crossguard); fi
    for scenario in get post ws; do
        for side in "${order[@]}"; do
            line=$(run "$scenario" "$side")
            printf 'round %s %-4s %-10s %12s /s  p50 %8s ms  p99 %8s ms  cpu %8s us/req\n' "$round" "$scenario" "$side" $line
            echo "$scenario $side $line" >>"$results"
        done
    done
done
echo "load after: $(uptime)"
echo

python3 - "$results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    scenario, side, rate, p50, p99, cpu = line.split()
    runs.setdefault((scenario, side), []).append((float(rate), float(p50), float(p99), float(cpu)))
def med(scenario, side, i):
    return statistics.median(r[i] for r in runs[(scenario, side)])
names = {"get": "small GET", "post": "same-origin POST", "ws": "WebSocket echo"}
units = {"get": "req/s", "post": "req/s", "ws": "msg/s"}
header = (f"{'scenario':<17} {'side':<10} {'median rate':>16} {'p50 ms':>8} {'p99 ms':>8} {'cpu us/req':>10}"
          f"   {'rate ratio':>10} {'p99 ratio':>9} {'cpu ratio':>9}")
print(header)
print("-" * len(header))
for scenario in ("get", "post", "ws"):
    cg = [med(scenario, "crossguard", i) for i in range(4)]
    ng = [med(scenario, "nginx", i) for i in range(4)]
    for side, m in (("crossguard", cg), ("nginx", ng)):
        rate = f"{m[0]:.0f} {units[scenario]}"
        ratios = ""
        if side == "crossguard":
            ratios = f"   {cg[0] / ng[0]:>9.3f}x {cg[2] / ng[2]:>8.3f}x {cg[3] / ng[3]:>8.3f}x"
        print(f"{names[scenario]:<17} {side:<10} {rate:>16} {m[1]:>8.3f} {m[2]:>8.3f} {m[3]:>10.2f}{ratios}")
print()
print("ratios are crossguard / nginx: goal cpu ratio <= 1.0 (CPU time per request served);")
print("rate and p99 are shown beside it, but swing by tens of percent between runs on a small machine")
PY
