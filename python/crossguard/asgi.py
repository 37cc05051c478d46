"""The guard as ASGI middleware, for Starlette, FastAPI, Gradio and the MCP SDK's apps.

.. code-block:: python

    from crossguard import Policy
    from crossguard.asgi import CrossGuard

    app = CrossGuard(app, Policy("local"))

Every ``http`` and ``websocket`` scope is judged before the app sees it; other scopes
(``lifespan``) pass through. A refused request never reaches the app.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, MutableMapping, Optional
from urllib.parse import quote

from crossguard._native import AddingSend, Policy, Verdict

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

def _target(scope: Scope) -> bytes:
    """The request target as sent: ``raw_path`` (else ``path`` re-encoded) and the query."""
    path = scope.get("raw_path")
    if not path:
        path = quote(scope.get("path", "/"), safe="/:@!$&'()*+,;=-._~").encode("ascii")
    query = scope.get("query_string", b"")
    return path + b"?" + query if query else path


class CrossGuard:
    """ASGI middleware that refuses cross-site requests before ``app`` sees them.

    ``policy`` defaults to ``Policy()`` (the ``default`` preset); use ``Policy("local")`` for an
    app on a loopback address (adds the loopback Host allowlist against DNS rebinding).

    - A refused ``http`` request gets the guard's response: its status, ``text/plain`` body
      ``crossguard: <reason>``, and fields (``Vary``, the ``426`` fields, ``Allow``).
    - A refused ``websocket`` scope gets that same response as an HTTP denial when the server
      supports the ``websocket.http.response`` extension (uvicorn does), else a close before
      accept (the server answers ``403``).
    - An allowed response gets the fields the guard adds (``Vary``; in the ``local`` preset
      ``Cross-Origin-Resource-Policy: same-origin`` unless the app set its own).
    - An allowed handshake: the server answers the ``101`` itself (the accept key is the same
      function of the key). When the policy agreed a subprotocol (``protocols=``) and the app
      accepts without naming one, the guard's choice is sent. ``permessage-deflate`` is
      negotiated by the server's WebSocket implementation from the offer the guard validated.
    """

    def __init__(self, app: ASGIApp, policy: Optional[Policy] = None) -> None:
        self.app = app
        self.policy = policy if policy is not None else Policy()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Judge the scope, then refuse it or run the app."""
        # One call decides (None for the common case: the app runs as it is, and for scopes
        # other than ``http`` and ``websocket``).
        judged = self.policy._guard_asgi(scope, send)
        if judged is not None:
            if type(judged) is AddingSend:
                send = judged  # allowed: the response gets the guard's fields
            elif not judged.allowed:
                if scope["type"] == "http":
                    await _refuse_http(judged, send)
                else:
                    await _refuse_websocket(judged, scope, receive, send)
                return
            elif judged.protocol is not None:
                send = _agreeing(send, judged.protocol)
        await self.app(scope, receive, send)


def _refusal(verdict: Verdict) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = (verdict.body or "").encode("ascii")
    headers = verdict.raw_headers
    headers.append((b"content-length", str(len(body)).encode("ascii")))
    return verdict.status or 400, headers, body


async def _refuse_http(verdict: Verdict, send: Send) -> None:
    status, headers, body = _refusal(verdict)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse_websocket(verdict: Verdict, scope: Scope, receive: Receive, send: Send) -> None:
    message = await receive()
    if message.get("type") != "websocket.connect":
        return  # the client went away before the handshake was answered
    if "websocket.http.response" in (scope.get("extensions") or {}):
        status, headers, body = _refusal(verdict)
        await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})


def _agreeing(send: Send, protocol: str) -> Send:
    """``send``, naming the guard's agreed subprotocol on an accept that names none."""

    async def agreeing(message: Message) -> None:
        if message["type"] == "websocket.accept" and message.get("subprotocol") is None:
            message = {**message, "subprotocol": protocol}
        await send(message)

    return agreeing
