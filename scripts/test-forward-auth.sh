#!/usr/bin/env bash
# Real-engine tests of `crossguard forward-auth` (tests/forward_auth/): Debian's nginx and Caddy,
# configured from deploy/, in front of an unguarded app and of Jupyter Server, with headless
# Chromium and raw clients. Same-origin POST, WebSocket echo and a Jupyter kernel work through each
# engine; cross-site form/no-cors POST and WebSocket are refused before the app sees them; DNS
# rebinding is refused; version-8 handshakes get 426 through Caddy and 403 through nginx; a
# misconfigured engine gets 500 and a log line naming the missing field.
# The Traefik, Envoy and Kubernetes recipes are checked statically (validate_configs.py).
# Installs what it needs (apt: nginx caddy chromium; pip: jupyter_server ipykernel pyyaml, pinned
# with hashes by tests/forward_auth/requirements.txt; npm: tests/forward_auth/package-lock.json).
# Everything listens on loopback; every process the suite starts is stopped by PID, also on
# failure.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/suite.sh

need=()
[ -x /usr/sbin/nginx ] || need+=(nginx)
[ -x /usr/bin/caddy ] || need+=(caddy)
[ -x /usr/bin/chromium ] || need+=(chromium)
install_debian "${need[@]}"
python=${PYTHON:-python3}
timeout 600 "$python" -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
    --require-hashes -r tests/forward_auth/requirements.txt
# Traefik and Envoy are not Debian packages: their recipes (and the Kubernetes one) are checked
# statically, field by field.
"$python" tests/forward_auth/validate_configs.py

(cd tests/forward_auth && timeout 300 npm ci --no-audit --no-fund --silent >/dev/null)

cargo build --quiet --release -p crossguard-cli --locked

CROSSGUARD_BIN=target/release/crossguard PYTHON="$python" \
    run_suite FA_PIDFILE 420 node tests/forward_auth/run.mjs
