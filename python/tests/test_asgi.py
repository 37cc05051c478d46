"""``CrossGuard`` driven as an ASGI app in-process: the paths a server does not choose (a
WebSocket denial without the ``websocket.http.response`` extension, the subprotocol agreement,
other scope types, the app's own ``Cross-Origin-Resource-Policy``)."""

from __future__ import annotations

import asyncio
from typing import Any

from crossguard import Policy
from crossguard.asgi import CrossGuard

KEY = b"dGhlIHNhbXBsZSBub25jZQ=="


def _handshake(origin: bytes, protocols: bytes = b"") -> list[tuple[bytes, bytes]]:
    headers = [
        (b"host", b"localhost:8188"),
        (b"origin", origin),
        (b"upgrade", b"websocket"),
        (b"connection", b"Upgrade"),
        (b"sec-websocket-key", KEY),
        (b"sec-websocket-version", b"13"),
    ]
    return headers + ([(b"sec-websocket-protocol", protocols)] if protocols else [])


def _run(guard: CrossGuard, scope: dict, incoming: list[dict]) -> list[dict]:
    sent: list[dict] = []

    async def receive() -> dict:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(guard(scope, receive, send))
    return sent


class App:
    """Records that it ran; accepts WebSockets (naming ``subprotocol``), answers HTTP 200."""

    def __init__(self, subprotocol: Any = None, headers: Any = ()) -> None:
        self.calls: list[str] = []
        self.subprotocol = subprotocol
        self.headers = list(headers)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        self.calls.append(scope["type"])
        if scope["type"] == "websocket":
            await receive()
            await send({"type": "websocket.accept", "subprotocol": self.subprotocol})
        elif scope["type"] == "http":
            await send({"type": "http.response.start", "status": 200, "headers": self.headers})
            await send({"type": "http.response.body", "body": b"ok"})


def _ws_scope(headers: list, extensions: dict | None = None) -> dict:
    scope = {"type": "websocket", "path": "/ws", "raw_path": b"/ws", "query_string": b"", "headers": headers}
    if extensions is not None:
        scope["extensions"] = extensions
    return scope


def test_refused_websocket_without_the_extension_is_closed_before_accept() -> None:
    app = App()
    sent = _run(CrossGuard(app), _ws_scope(_handshake(b"https://evil.example")), [{"type": "websocket.connect"}])
    assert sent == [{"type": "websocket.close", "code": 1008}]
    assert app.calls == []


def test_refused_websocket_with_the_extension_gets_the_guards_response() -> None:
    app = App()
    scope = _ws_scope(_handshake(b"https://evil.example"), {"websocket.http.response": {}})
    sent = _run(CrossGuard(app), scope, [{"type": "websocket.connect"}])
    assert sent == [
        {
            "type": "websocket.http.response.start",
            "status": 403,
            "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"33")],
        },
        {"type": "websocket.http.response.body", "body": b"crossguard: cross_site_websocket\n"},
    ]
    assert app.calls == []


def test_the_guards_subprotocol_is_named_when_the_app_names_none() -> None:
    policy = Policy(protocols=["chat", "superchat"])
    headers = _handshake(b"http://localhost:8188", b"superchat, chat")
    sent = _run(CrossGuard(App(), policy), _ws_scope(headers), [{"type": "websocket.connect"}])
    assert sent == [{"type": "websocket.accept", "subprotocol": "chat"}]
    sent = _run(CrossGuard(App("superchat"), policy), _ws_scope(headers), [{"type": "websocket.connect"}])
    assert sent == [{"type": "websocket.accept", "subprotocol": "superchat"}]


def test_query_string_and_method_reach_the_policy() -> None:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api",
        "raw_path": b"/api",
        "query_string": b"x=1",
        "http_version": "1.1",
        "headers": [(b"host", b"localhost:8188"), (b"sec-fetch-site", b"cross-site")],
    }
    app = App()
    sent = _run(CrossGuard(app, Policy("local")), scope, [])
    assert sent[0]["status"] == 403
    assert app.calls == []
    scope["method"] = "GET"
    scope["headers"] = [(b"host", b"localhost:8188")]
    sent = _run(CrossGuard(app, Policy("local")), scope, [])
    assert sent[0]["headers"] == [
        (b"vary", b"Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest"),
        (b"cross-origin-resource-policy", b"same-origin"),
    ]


def test_the_apps_own_resource_policy_is_kept() -> None:
    scope = {"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": [(b"host", b"localhost")]}
    app = App(headers=[(b"Cross-Origin-Resource-Policy", b"cross-origin")])
    sent = _run(CrossGuard(app, Policy("local")), scope, [])
    assert sent[0]["headers"] == [
        (b"Cross-Origin-Resource-Policy", b"cross-origin"),
        (b"vary", b"Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest"),
    ]


def test_http2_websocket_scope_is_an_extended_connect() -> None:
    headers = [(b"host", b"localhost:8188"), (b"origin", b"https://evil.example"), (b"sec-websocket-version", b"13")]
    scope = _ws_scope(headers, {"websocket.http.response": {}})
    scope["http_version"] = "2"
    app = App()
    sent = _run(CrossGuard(app), scope, [{"type": "websocket.connect"}])
    assert sent[0]["status"] == 403
    assert sent[1]["body"] == b"crossguard: cross_site_websocket\n"
    assert app.calls == []


def test_lifespan_passes_through() -> None:
    app = App()
    _run(CrossGuard(app), {"type": "lifespan"}, [])
    assert app.calls == ["lifespan"]


def test_an_allowed_request_with_nothing_to_add_gets_the_servers_own_send() -> None:
    seen: list[Any] = []

    async def app(scope: dict, receive: Any, send: Any) -> None:
        seen.append(send)

    async def send(message: dict) -> None:
        raise AssertionError("nothing is sent")

    async def receive() -> dict:
        return {"type": "http.disconnect"}

    scope = {"type": "http", "method": "GET", "path": "/", "raw_path": b"/", "query_string": b"", "headers": [(b"host", b"x")]}
    asyncio.run(CrossGuard(app)(scope, receive, send))
    assert seen == [send]


def test_a_field_http_cannot_carry_is_refused_whichever_field_it_is() -> None:
    for field in [(b"user-agent", b"a\x00b"), (b"bad name", b"x"), (b"x-other", b"a\r\nb"), (b"", b"x")]:
        app = App()
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/",
            "raw_path": b"/",
            "query_string": b"",
            "headers": [(b"host", b"localhost:8188"), field],
        }
        sent = _run(CrossGuard(app, Policy("local")), scope, [])
        assert sent[0]["status"] == 400, field
        assert sent[1]["body"] == b"crossguard: malformed_head\n"
        assert app.calls == []
    # obs-text in a field crossguard does not read is allowed, as http allows it.
    app = App()
    scope["headers"] = [(b"host", b"localhost:8188"), (b"x-name", b"\xff\xfe\t")]
    sent = _run(CrossGuard(app, Policy("local")), scope, [])
    assert sent[0]["status"] == 200
    assert app.calls == ["http"]


def test_a_handshake_served_as_http_gets_only_the_fields_the_guard_adds() -> None:
    # A server without WebSocket support hands the upgrade request over as an ``http`` scope:
    # the app answers it, and the handshake's answer fields are not put on that answer.
    scope = {"type": "http", "method": "GET", "path": "/ws", "raw_path": b"/ws", "query_string": b"",
             "headers": _handshake(b"http://localhost:8188")}  # fmt: skip
    app = App(headers=[(b"content-type", b"text/plain")])
    sent = _run(CrossGuard(app, Policy("local")), scope, [])
    assert sent[0]["status"] == 200
    assert sent[0]["headers"] == [
        (b"content-type", b"text/plain"),
        (b"vary", b"Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest"),
        (b"cross-origin-resource-policy", b"same-origin"),
    ]
    assert app.calls == ["http"]
