"""Headless Chromium (Debian's ``chromium``, driven by ``browser/browser.mjs``) against every
guarded server: a same-origin page works; a cross-site page's form POST, ``no-cors`` fetch and
WebSocket are refused, and the app's log shows none of them; a DNS-rebinding Host gets 403."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from conftest import HERE, Server

BROWSER = HERE / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and (BROWSER / "node_modules").is_dir() and shutil.which("node")),
    reason="needs Debian's chromium, node and `npm ci` in tests/browser (scripts/test-python.sh installs them)",
)

PAGE_APP = {"same": "page", "post": "/api/prompt", "ws": "/ws"}
TARGETS = {
    "asgi_server": PAGE_APP,
    "aiohttp_server": PAGE_APP,
    "comfy_server": PAGE_APP,
    "mcp_server": {"same": "page", "post": "/mcp", "ws": None},
    "jupyter": {"same": "jupyter", "post": "/api/contents", "ws": "/api/kernels/00000000-0000-0000-0000-000000000000/channels"},
}


def test_browser_against_every_server(request: pytest.FixtureRequest) -> None:
    servers: dict[str, Server] = {name: request.getfixturevalue(name) for name in TARGETS}
    marker = uuid.uuid4().hex
    targets = [
        {"name": name, "port": server.port, "marker": marker, **TARGETS[name]} for name, server in servers.items()
    ]
    done = subprocess.run(
        ["node", "browser.mjs", json.dumps(targets)], cwd=BROWSER, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    for name, server in servers.items():
        result = results[name]
        same = result["same"]
        if name == "jupyter":
            assert same == {"post": 201, "ws": "42"}, name
        elif name == "mcp_server":
            assert same == {"post": 200}, name
        else:
            assert same["post"] == 200, name
            assert same["ws"] == "echo:same-origin", name
        cross = result["cross"]
        assert cross["form"] == "loaded", name  # the frame shows the refusal
        assert cross["fetch"] == "opaque", name
        if TARGETS[name]["ws"]:
            assert cross["ws"] == "error", name
        assert result["rebinding"] == {"status": 403, "body": "crossguard: host_not_allowed\n"}, name
        assert marker not in server.log_text(), f"{name}: a cross-site request reached the app"
