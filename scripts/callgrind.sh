#!/usr/bin/env bash
# Counts instructions (valgrind --tool=callgrind) for the same in-process request loop through an
# axum app with and without the guard (benches/harness/request_loop.rs), and prints the ratio,
# beside a layer that does nothing and tower-http's CSRF layer in the same loop.
# Instruction counts are deterministic for the same binary and input, unlike timings on a shared
# machine.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${REQUESTS:-20000}
command -v valgrind >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; }
bin=$(bash scripts/build-harness.sh request_loop)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for mode in none no-op-layer tower-http-csrf default local; do
    valgrind --tool=callgrind --callgrind-out-file="$out/$mode" \
        "$bin" "$mode" "$count" >/dev/null 2>"$out/$mode.log"
done
total() { grep -E '^(summary|totals):' "$out/$1" | head -1 | awk '{print $2}'; }
python3 - "$count" "$(total none)" "$(total no-op-layer)" "$(total tower-http-csrf)" "$(total default)" "$(total local)" <<'PY'
import sys
count, none, noop, csrf, default, local = (int(x) for x in sys.argv[1:])
print(f"requests: {count} (same-origin Chromium POST through an axum Router, in process)")
print(f"no layer: {none / count:.0f} instructions per request")
for name, total in (("a layer that does nothing", noop), ("tower-http csrf", csrf),
                    ("guard, default preset", default), ("guard, local preset", local)):
    print(f"{name}: {total / count:8.0f} instructions per request, "
          f"+{(total - none) / count:.0f} ({100 * (total - none) / none:.1f}%), "
          f"throughput ratio {none / total:.4f}")
print(f"guard, default preset adds {(default - none) / (csrf - none):.2f}x what tower-http csrf adds; "
      f"local preset {(local - none) / (csrf - none):.2f}x")
PY
