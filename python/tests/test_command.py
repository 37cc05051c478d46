"""The ``crossguard`` console script installed from the wheel: ``proxy`` in front of a real app,
stopped by SIGINT and SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid

import pytest
from conftest import exchange, free_port, python_app, running

CROSSGUARD = os.path.join(os.path.dirname(sys.executable), "crossguard")

pytestmark = pytest.mark.skipif(
    not os.path.exists(CROSSGUARD), reason="the crossguard console script is not installed here"
)


def test_version_and_usage_errors() -> None:
    version = subprocess.run([CROSSGUARD, "--version"], capture_output=True, timeout=60)
    assert (version.returncode, version.stdout) == (0, b"crossguard 0.1.0\n")
    usage = subprocess.run([CROSSGUARD, "check", "--preset", "strict"], capture_output=True, timeout=60)
    assert usage.returncode == 2


@pytest.mark.parametrize("stop_with", [signal.SIGINT, signal.SIGTERM])
def test_proxy_guards_a_real_app_and_stops_on_signal(tmp_path, stop_with: signal.Signals) -> None:
    app_port, proxy_port = free_port(), free_port()
    with python_app("plain_app.py", app_port, tmp_path / "app.log", str(app_port)) as app:
        command = [
            CROSSGUARD,
            "proxy",
            "--upstream",
            f"http://127.0.0.1:{app_port}",
            "--listen",
            f"127.0.0.1:{proxy_port}",
        ]
        with running(command, proxy_port, tmp_path / "proxy.log") as proxy:
            host = [("Host", f"localhost:{proxy_port}")]
            allowed, refused = uuid.uuid4().hex, uuid.uuid4().hex
            status, _, body = exchange(
                proxy_port,
                "POST",
                "/api/prompt",
                [*host, ("Sec-Fetch-Site", "same-origin"), ("Content-Type", "application/json")],
                f'{{"p": "{allowed}"}}'.encode(),
            )
            assert (status, body) == (200, b'{"queued": true}')
            status, _, body = exchange(
                proxy_port,
                "POST",
                "/api/prompt",
                [*host, ("Sec-Fetch-Site", "cross-site"), ("Content-Type", "text/plain")],
                refused.encode(),
            )
            assert (status, body) == (403, b"crossguard: cross_site_request\n")
            status, _, body = exchange(proxy_port, "GET", "/", [("Host", f"attacker.example:{proxy_port}")])
            assert (status, body) == (403, b"crossguard: host_not_allowed\n")
            lines = app.app_lines()
            assert any(allowed in line for line in lines)
            assert not any(refused in line for line in lines)

            proxy.process.send_signal(stop_with)
            started = time.monotonic()
            assert proxy.process.wait(timeout=20) == 0
            assert time.monotonic() - started < 15


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="crossguard run is Linux only")
def test_run_from_the_wheel_isolates_a_real_app_and_exits_with_its_status(tmp_path) -> None:
    """`crossguard run` from the console script: its namespace helper is this interpreter
    (`python -m crossguard`), the app's port exists only in its namespace, and crossguard
    exits with the app's status."""
    port = free_port()
    app = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    with running([CROSSGUARD, "run", "--port", str(port), "--", *app], port, tmp_path / "run.log") as run:
        status, _, _ = exchange(port, "GET", "/", [("Host", f"localhost:{port}")])
        assert status == 200
        status, _, body = exchange(
            port, "POST", "/", [("Host", f"localhost:{port}"), ("Sec-Fetch-Site", "cross-site")]
        )
        assert (status, body) == (403, b"crossguard: cross_site_request\n")
        status, _, body = exchange(port, "GET", "/", [("Host", f"attacker.example:{port}")])
        assert (status, body) == (403, b"crossguard: host_not_allowed\n")
        log = run.log.read_text()
        assert f"crossguard proxy: listening on http://127.0.0.1:{port}, forwarding to http://127.0.0.1:{port} in the app's network namespace" in log
        # Only the GET reached the app (http.server logs each request it answers).
        assert log.count('"GET / HTTP/1.1" 200') == 1 and '"POST /' not in log
        run.process.send_signal(signal.SIGTERM)
        # http.server dies of SIGTERM: 128 + 15.
        assert run.process.wait(timeout=20) == 143
    exited = subprocess.run(
        [CROSSGUARD, "run", "--port", str(free_port()), "--", sys.executable, "-c", "raise SystemExit(3)"],
        capture_output=True,
        timeout=60,
    )
    assert exited.returncode == 3, exited.stderr
