#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time (FUZZ_SECONDS each, default 60) on the nightly
# toolchain, installing cargo-fuzz when missing. Prints one summary line per target; exits non-zero
# on the first crash (the reproducer is left in fuzz/artifacts/<target>/, which git ignores).
# The committed seeds (fuzz/seeds/<target>/) are only read; what the fuzzer finds goes to
# fuzz/corpus/<target>/, which git ignores too, so a run leaves the working tree clean.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-"origin host extensions protocol accept_key request_head framing"}

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --quiet
fi
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal

cargo +nightly fuzz build --release >/dev/null 2>&1 || cargo +nightly fuzz build --release
passed=0
for target in $targets; do
    log=$(mktemp)
    # The grown corpus first (libFuzzer writes new inputs there), then the seeds (read only).
    mkdir -p "fuzz/corpus/$target"
    if ! cargo +nightly fuzz run --release "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" -- \
        -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1; then
        echo "fuzz $target: CRASH"
        tail -40 "$log"
        exit 1
    fi
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo '?')
    echo "fuzz $target: ok, ${seconds}s, ${runs} executions, coverage ${cov} edges"
    rm -f "$log"
    passed=$((passed + 1))
done
echo "fuzz: $passed passed, 0 failed"
