"""The guard as aiohttp middleware (ComfyUI's server is an aiohttp app).

.. code-block:: python

    from aiohttp import web
    from crossguard import Policy
    import crossguard.aiohttp

    app = web.Application(middlewares=[crossguard.aiohttp.middleware(Policy("local"))])

WebSocket routes are covered: their handshake arrives as a request with ``Upgrade`` fields, and
is judged (Origin, RFC 6455 fields) before the handler runs.
"""

from __future__ import annotations

from typing import Awaitable, Callable, Optional

from aiohttp import web

from crossguard._native import Policy, Verdict

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: The key under which the verdict of an allowed request is stored on the ``web.Request``.
VERDICT_KEY = "crossguard.verdict"

_CORP = "Cross-Origin-Resource-Policy"


def check_request(policy: Policy, request: web.BaseRequest) -> Verdict:
    """Judge an aiohttp request (its raw target and raw header fields) with ``policy``."""
    version = request.version
    return policy.check(
        request.method,
        request.raw_path,
        request.raw_headers,
        f"{version.major}.{version.minor}",
    )


def refusal(verdict: Verdict) -> web.Response:
    """The guard's response for a refused ``verdict``: status, fields and ``text/plain`` body."""
    response = web.Response(status=verdict.status or 400, body=(verdict.body or "").encode())
    for name, value in verdict.headers:
        response.headers.add(name, value)
    return response


def middleware(policy: Optional[Policy] = None) -> Callable[..., Awaitable[web.StreamResponse]]:
    """An aiohttp middleware that refuses cross-site requests before any handler runs.

    ``policy`` defaults to ``Policy()``. A refused request gets the guard's response and its
    handler is not called. An allowed request's verdict is in ``request["crossguard.verdict"]``;
    the fields the guard adds (``Vary``, ``Cross-Origin-Resource-Policy``) are put on the
    handler's response unless it was already sent (a stream or WebSocket response the handler
    prepared itself). aiohttp's ``WebSocketResponse`` answers the handshake itself, choosing the
    subprotocol from its ``protocols=`` and compression from the offer the guard validated.
    """
    guard = policy if policy is not None else Policy()

    @web.middleware
    async def crossguard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        verdict = check_request(guard, request)
        if not verdict.allowed:
            return refusal(verdict)
        request[VERDICT_KEY] = verdict
        added = [] if verdict.websocket else verdict.headers
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # aiohttp's 404s and redirects are raised
            _add(exc, added)
            raise
        _add(response, added)
        return response

    return crossguard_middleware


def _add(response: web.StreamResponse, added: list[tuple[str, str]]) -> None:
    if not added or response.prepared:
        return
    for name, value in added:
        if name.lower() == _CORP.lower() and _CORP in response.headers:
            continue
        response.headers.add(name, value)
