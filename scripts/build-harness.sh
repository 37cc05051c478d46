#!/usr/bin/env bash
# Builds a harness from benches/harness/ (a `[[bench]]` target with `harness = false`) in release
# mode and prints the path of its binary, read from cargo's JSON messages: bench binaries carry a
# hash in their file name (target/release/deps/NAME-HASH).
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:?usage: scripts/build-harness.sh NAME}
cargo build --quiet --release --locked -p crossguard-benches --bench "$name" --message-format=json | python3 -c '
import json, sys
name, found = sys.argv[1], None
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message["target"]["name"] == name:
        found = message.get("executable") or found
if not found:
    sys.exit(f"cargo built no executable for bench target {name}")
print(found)
' "$name"
