"""The ComfyUI node's and the Jupyter extension's policies, read from their hosts' settings, and
the fields the aiohttp middleware puts on raised responses."""

from __future__ import annotations

import importlib.util
import sys
import types

import pytest
from aiohttp import web
from conftest import PYTHON_DIR, Server, exchange, field

from crossguard import Policy

NODE = PYTHON_DIR / "comfyui" / "crossguard_guard" / "__init__.py"


def _load_node(monkeypatch: pytest.MonkeyPatch, listen: str, port: int = 8188):
    """Imports the node as ComfyUI does, with stand-ins for ``server`` and ``comfy.cli_args``."""
    app = web.Application(middlewares=[web.normalize_path_middleware()])
    prompt_server = types.SimpleNamespace(app=app)
    server = types.ModuleType("server")
    server.PromptServer = types.SimpleNamespace(instance=prompt_server)  # type: ignore[attr-defined]
    comfy = types.ModuleType("comfy")
    cli_args = types.ModuleType("comfy.cli_args")
    cli_args.args = types.SimpleNamespace(listen=listen, port=port)  # type: ignore[attr-defined]
    for name, module in (("server", server), ("comfy", comfy), ("comfy.cli_args", cli_args)):
        monkeypatch.setitem(sys.modules, name, module)
    spec = importlib.util.spec_from_file_location("crossguard_guard", NODE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "crossguard_guard", module)
    spec.loader.exec_module(module)
    return module, app


def test_the_node_puts_the_guard_first(monkeypatch: pytest.MonkeyPatch) -> None:
    module, app = _load_node(monkeypatch, "127.0.0.1")
    assert len(app.middlewares) == 2
    assert app.middlewares[0].__name__ == "crossguard_middleware"
    assert module.NODE_CLASS_MAPPINGS == {}


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("127.0.0.1", Policy("local")),
        ("::1", Policy("local")),
        ("localhost", Policy("local")),
        ("127.0.0.1,192.168.1.5", Policy("local", allow_hosts=["192.168.1.5:8189"])),
        ("fd00::5", Policy("local", allow_hosts=["[fd00::5]:8189"])),
        ("0.0.0.0,::", Policy()),
        ("0.0.0.0", Policy()),
        ("", Policy()),
    ],
)
def test_the_nodes_policy_follows_listen(listen: str, expected: Policy) -> None:
    from crossguard.comfyui import policy_for

    assert policy_for(listen, 8189)._library_debug() == expected._library_debug()


def test_the_jupyter_policy_comes_from_its_config() -> None:
    from traitlets.config import Config

    from crossguard.jupyter import CrossGuard, own_hosts

    config = Config()
    config.CrossGuard.allow_origins = ["https://trusted.example"]
    config.CrossGuard.report_only = True
    policy = CrossGuard(config=config).policy(own_hosts("192.168.1.5", 8888))
    expected = Policy(
        "local", allow_origins=["https://trusted.example"], allow_hosts=["192.168.1.5:8888"], report_only=True
    )
    assert policy._library_debug() == expected._library_debug()
    assert CrossGuard().policy()._library_debug() == Policy("local")._library_debug()
    assert own_hosts("0.0.0.0", 8888) == own_hosts("", 8888) == own_hosts("::", 8888) == []
    assert own_hosts("::1", 8888) == ["[::1]:8888"]
    assert own_hosts("my-box.lan", 8888) == ["my-box.lan:8888"]


def test_aiohttp_raised_responses_carry_the_guards_fields(aiohttp_server: Server) -> None:
    host = [("Host", f"localhost:{aiohttp_server.port}")]
    status, fields, _ = exchange(aiohttp_server.port, "GET", "/no-such-page", host)
    assert status == 404
    assert field(fields, "vary") == ["Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest"]
    assert field(fields, "cross-origin-resource-policy") == ["same-origin"]

