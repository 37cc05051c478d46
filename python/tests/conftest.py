"""Real servers for the tests: each runs in a process group of its own on a free loopback port,
is waited for with a bound, and is stopped (SIGTERM, then SIGKILL) when its test ends, also on
failure. When ``PY_SUITE_PIDFILE`` names a file (scripts/test-python.sh), every group's PID is
written there too, for the suite's own cleanup."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, Optional, Sequence

import pytest

HERE = Path(__file__).resolve().parent
APPS = HERE / "apps"
PYTHON_DIR = HERE.parent


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A running server: its process, port and log file."""

    def __init__(self, process: subprocess.Popen, port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.log = log

    @property
    def base(self) -> str:
        """``http://localhost:PORT``."""
        return f"http://localhost:{self.port}"

    def log_text(self) -> str:
        """What the server wrote so far."""
        return self.log.read_text(errors="replace")

    def app_lines(self) -> list[str]:
        """The lines the app itself logged (``app: ...``): what reached it."""
        return [line for line in self.log_text().splitlines() if line.startswith("app:")]


def _record(pid: int) -> None:
    pidfile = os.environ.get("PY_SUITE_PIDFILE")
    if pidfile:
        with open(pidfile, "a") as out:
            out.write(f"{pid}\n")


def wait_for_port(port: int, process: subprocess.Popen, log: Path, seconds: float) -> None:
    """Waits until ``port`` accepts connections; fails if the process exits or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"server exited with {process.returncode}:\n{log.read_text(errors='replace')}"
            )
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"no server on port {port} after {seconds} s:\n{log.read_text(errors='replace')}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the process group, SIGKILL after 10 s."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextlib.contextmanager
def running(
    args: Sequence[str],
    port: int,
    log: Path,
    *,
    seconds: float = 60,
    env: Optional[dict] = None,
    cwd: Optional[Path] = None,
) -> Iterator[Server]:
    """Runs ``args`` until the block ends; yields once ``port`` accepts connections."""
    with open(log, "wb") as out:
        process = subprocess.Popen(
            list(args),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
            cwd=cwd,
        )
    _record(process.pid)
    try:
        wait_for_port(port, process, log, seconds)
        yield Server(process, port, log)
    finally:
        stop(process)


def python_app(script: str, port: int, log: Path, *extra: str) -> contextlib.AbstractContextManager:
    """One of the apps in ``apps/``, started with this interpreter."""
    return running([sys.executable, str(APPS / script), *extra], port, log, cwd=APPS)


@pytest.fixture(scope="module")
def asgi_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The FastAPI app behind ``CrossGuard`` under uvicorn."""
    port = free_port()
    log = tmp_path_factory.mktemp("asgi") / "server.log"
    with python_app("asgi_app.py", port, log, str(port)) as server:
        yield server


@pytest.fixture(scope="module")
def aiohttp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The aiohttp app behind ``crossguard.aiohttp.middleware``."""
    port = free_port()
    log = tmp_path_factory.mktemp("aiohttp") / "server.log"
    with python_app("aiohttp_app.py", port, log, str(port)) as server:
        yield server


@pytest.fixture(scope="module")
def comfy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The ComfyUI stand-in with the node folder dropped into its custom-nodes directory."""
    import shutil

    port = free_port()
    work = tmp_path_factory.mktemp("comfy")
    nodes = work / "custom_nodes"
    shutil.copytree(PYTHON_DIR / "comfyui" / "crossguard_guard", nodes / "crossguard_guard")
    args = ["--listen", "127.0.0.1", "--port", str(port), "--custom-nodes", str(nodes)]
    with running(
        [sys.executable, str(APPS / "comfy_harness" / "main.py"), *args],
        port,
        work / "server.log",
        cwd=work,
    ) as server:
        yield server


@pytest.fixture(scope="module")
def mcp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The MCP SDK's streamable-HTTP app behind ``CrossGuard``."""
    port = free_port()
    log = tmp_path_factory.mktemp("mcp") / "server.log"
    with python_app("mcp_app.py", port, log, str(port)) as server:
        yield server


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    port = free_port()
    work = tmp_path_factory.mktemp("jupyter")
    root, runtime = work / "root", work / "runtime"
    root.mkdir()
    runtime.mkdir()
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "JUPYTER_CONFIG_DIR": str(runtime),
        "JUPYTER_DATA_DIR": str(runtime),
        "JUPYTER_PLATFORM_DIRS": "1",
    }
    command = [
        sys.executable, "-m", "jupyter_server", "--allow-root", "--no-browser",
        "--ip=127.0.0.1", f"--port={port}", "--port-retries=0",
        f"--ServerApp.root_dir={root}", "--IdentityProvider.token=", "--ServerApp.password=",
        "--ServerApp.disable_check_xsrf=True", "--ServerApp.allow_origin=*",
        "--ServerApp.jpserver_extensions={'crossguard.jupyter': True}",
    ]  # fmt: skip
    with running(command, port, work / "jupyter.log", env=env, cwd=root, seconds=90) as server:
        yield server


def exchange(
    port: int, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes = b""
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Sends one request with exactly ``headers`` (Host included) and returns status, fields
    (names lower-cased, in order) and body."""
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            connection.putheader(name, value)
        if body:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body or None)
        response = connection.getresponse()
        fields = [(name.lower(), value) for name, value in response.getheaders()]
        return response.status, fields, response.read()
    finally:
        connection.close()


def field(fields: Sequence[tuple[str, str]], name: str) -> list[str]:
    """Every value of ``name`` among ``fields``."""
    return [value for key, value in fields if key == name]
