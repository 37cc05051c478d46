#!/usr/bin/env bash
# End-to-end load comparison on loopback: the same axum app (benches/harness/bench_server.rs)
# with and without the guard, loaded alternately by wrk (installed from Debian when missing).
# Bounded: ROUNDS rounds of SECONDS_PER_RUN per side. Prints requests/s per run and the median
# ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
seconds=${SECONDS_PER_RUN:-10}
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
bin=$(bash scripts/build-harness.sh bench_server)
lua=$(mktemp)
cat >"$lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"prompt":{"3":{"inputs":{}}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Origin"] = "http://localhost:18188"
wrk.headers["Sec-Fetch-Site"] = "same-origin"
wrk.headers["Sec-Fetch-Mode"] = "cors"
wrk.headers["Sec-Fetch-Dest"] = "empty"
LUA
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -f "$lua"' EXIT
"$bin" 127.0.0.1:18188 >/dev/null & pids+=($!)
"$bin" 127.0.0.1:18189 --no-guard >/dev/null & pids+=($!)
sleep 1
results=()
for round in $(seq 1 "$rounds"); do
    for side in guard none; do
        port=18188; [ "$side" = none ] && port=18189
        rps=$(timeout $((seconds + 10)) wrk -t1 -c32 -d"${seconds}s" -s "$lua" -H "Host: localhost:$port" \
            "http://127.0.0.1:$port/api/prompt" | awk '/Requests\/sec/ {print $2}')
        echo "round $round $side: $rps requests/s"
        results+=("$side $rps")
    done
done
printf '%s\n' "${results[@]}" | python3 -c '
import sys, statistics
runs = {"guard": [], "none": []}
for line in sys.stdin:
    side, rps = line.split(); runs[side].append(float(rps))
g, n = statistics.median(runs["guard"]), statistics.median(runs["none"])
print(f"median with guard {g:.0f} req/s, without {n:.0f} req/s, ratio {g / n:.3f}")
'
