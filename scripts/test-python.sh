#!/usr/bin/env bash
# The Python package (python/): builds the wheel with maturin (release, in the shared target/
# directory), installs it into a fresh venv with the pinned test tools, writes the Rust table rows
# to a file (tests/support: CROSSGUARD_TABLE_ROWS) and runs pytest (python/tests/) against real
# servers: uvicorn + FastAPI, aiohttp, a ComfyUI-style server with the custom node, an MCP SDK
# server, Jupyter Server with the extension, the installed `crossguard proxy`, and Debian's headless
# Chromium through playwright-core.
# Installs what it needs itself (pip: python/tests/requirements.txt, pinned with hashes; npm:
# python/tests/browser/package-lock.json; Debian's chromium). Everything listens on loopback;
# every server the tests start is stopped by PID (process group), also on failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/suite.sh

[ -x /usr/bin/chromium ] || install_debian chromium

work=target/python-test
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)

python3 -m venv "$work/venv"
timeout 600 "$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    --require-hashes -r python/tests/requirements.txt
(cd python/tests/browser && timeout 300 npm ci --no-audit --no-fund --silent >/dev/null)

echo "== maturin build --release"
(cd python && timeout 1500 "$work/venv/bin/maturin" build --release --locked --quiet --out "$work/wheels")
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "$work"/wheels/crossguard-*.whl

echo "== the Rust table rows, written for pytest"
# The same build as scripts/test.sh's `cargo test --workspace --all-features --locked`.
CROSSGUARD_TABLE_ROWS="$work/rows.jsonl" timeout 1200 \
    cargo test --workspace --all-features --locked --test tests >"$work/rows.log" 2>&1 ||
    { tail -n 60 "$work/rows.log"; exit 1; }
echo "$(wc -l <"$work/rows.jsonl") rows"

echo "== pytest"
export CROSSGUARD_TABLE_ROWS="$work/rows.jsonl" PYTHONDONTWRITEBYTECODE=1
run_suite PY_SUITE_PIDFILE 900 "$work/venv/bin/python" -m pytest -p no:cacheprovider -q -rs \
    python/tests
