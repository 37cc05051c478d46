"""The middlewares in real servers: uvicorn + FastAPI (ASGI), aiohttp, and the ComfyUI node in
a server that loads custom nodes as ComfyUI does. Every app serves ``/``, ``POST /api/prompt``
and the ``/ws`` WebSocket, and logs each request that reaches it."""

from __future__ import annotations

import uuid

import pytest
from conftest import Server, exchange, field
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

SERVERS = ["asgi_server", "aiohttp_server", "comfy_server"]
VARY = "Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest"


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> Server:
    return request.getfixturevalue(request.param)


def test_same_origin_post_reaches_the_app(server: Server) -> None:
    marker = uuid.uuid4().hex
    status, fields, body = exchange(
        server.port,
        "POST",
        "/api/prompt",
        [
            ("Host", f"localhost:{server.port}"),
            ("Origin", f"http://localhost:{server.port}"),
            ("Sec-Fetch-Site", "same-origin"),
            ("Sec-Fetch-Mode", "cors"),
            ("Sec-Fetch-Dest", "empty"),
            ("Content-Type", "application/json"),
        ],
        f'{{"prompt": "{marker}"}}'.encode(),
    )
    assert status == 200
    assert field(fields, "vary") == [VARY]
    assert field(fields, "cross-origin-resource-policy") == ["same-origin"]
    assert any(marker in line for line in server.app_lines())


@pytest.mark.parametrize(
    ("headers", "status", "reason"),
    [
        ([("Origin", "https://evil.example"), ("Sec-Fetch-Site", "cross-site")], 403, "cross_site_request"),
        ([("Origin", "https://evil.example")], 403, "origin_mismatch"),
        ([("Origin", "null")], 403, "null_origin"),
        ([("Sec-Fetch-Site", "same-site"), ("Origin", "http://localhost:3000")], 403, "same_site_request"),
        ([("Origin", "http://a"), ("Origin", "http://b")], 400, "duplicate_header"),
    ],
)
def test_refused_post_never_reaches_the_app(
    server: Server, headers: list[tuple[str, str]], status: int, reason: str
) -> None:
    marker = uuid.uuid4().hex
    got, fields, body = exchange(
        server.port,
        "POST",
        "/api/prompt",
        [("Host", f"localhost:{server.port}"), *headers, ("Content-Type", "text/plain")],
        marker.encode(),
    )
    assert got == status
    assert body == f"crossguard: {reason}\n".encode()
    assert field(fields, "content-type") == ["text/plain; charset=utf-8"]
    assert field(fields, "vary") == [VARY]
    assert field(fields, "cross-origin-resource-policy") == []
    assert not any(marker in line for line in server.app_lines())


def test_dns_rebinding_host_is_refused(server: Server) -> None:
    before = len(server.app_lines())
    status, fields, body = exchange(
        server.port, "GET", "/", [("Host", f"attacker.example:{server.port}")]
    )
    assert (status, body) == (403, b"crossguard: host_not_allowed\n")
    assert len(server.app_lines()) == before


def test_cross_site_image_is_refused_navigation_is_not(server: Server) -> None:
    host = [("Host", f"localhost:{server.port}"), ("Sec-Fetch-Site", "cross-site")]
    image = [*host, ("Sec-Fetch-Mode", "no-cors"), ("Sec-Fetch-Dest", "image")]
    status, _, body = exchange(server.port, "GET", "/", image)
    assert (status, body) == (403, b"crossguard: cross_site_resource\n")
    navigation = [*host, ("Sec-Fetch-Mode", "navigate"), ("Sec-Fetch-Dest", "document")]
    status, fields, _ = exchange(server.port, "GET", "/", navigation)
    assert status == 200
    assert field(fields, "vary") == [VARY]


def test_same_origin_websocket_works(server: Server) -> None:
    origin = f"http://localhost:{server.port}"
    with connect(f"ws://localhost:{server.port}/ws", origin=origin, open_timeout=10) as ws:
        ws.send("hello")
        assert ws.recv(timeout=10) == "echo:hello"
    assert any(line == f"app: WS /ws {origin}" for line in server.app_lines())


@pytest.mark.parametrize(
    ("origin", "extra", "status", "reason"),
    [
        ("https://evil.example", [], 403, "cross_site_websocket"),
        ("null", [], 403, "null_origin"),
        (None, [("Sec-WebSocket-Version", "8")], 426, "unsupported_websocket_version"),
    ],
)
def test_refused_websocket_never_reaches_the_app(
    request: pytest.FixtureRequest,
    server: Server,
    origin: str | None,
    extra: list[tuple[str, str]],
    status: int,
    reason: str,
) -> None:
    if status == 426 and request.node.callspec.params["server"] == "asgi_server":
        pytest.skip("uvicorn answers a version other than 13 itself, before any ASGI app runs")
    before = [line for line in server.app_lines() if line.startswith("app: WS")]
    headers = [
        ("Host", f"localhost:{server.port}"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        *([("Origin", origin)] if origin else []),
        *(extra or [("Sec-WebSocket-Version", "13")]),
    ]
    got, fields, body = exchange(server.port, "GET", "/ws", headers)
    assert got == status
    assert body == f"crossguard: {reason}\n".encode()
    if status == 426:
        assert field(fields, "sec-websocket-version") == ["13"]
        assert field(fields, "upgrade") == ["websocket"]
    assert [line for line in server.app_lines() if line.startswith("app: WS")] == before


def test_cross_site_websocket_client_sees_403(server: Server) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(f"ws://localhost:{server.port}/ws", origin="https://evil.example", open_timeout=10)
    assert refused.value.response.status_code == 403
    assert refused.value.response.body == b"crossguard: cross_site_websocket\n"
