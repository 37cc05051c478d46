"""Stands in for ComfyUI's ``server`` module: ``PromptServer`` builds an aiohttp application with
its own middlewares and sets ``PromptServer.instance`` when created; routes are added after the
custom nodes are imported (as ComfyUI's ``main.py`` orders it)."""

import sys
from pathlib import Path

from aiohttp import WSMsgType, web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from page import PAGE, log  # noqa: E402


@web.middleware
async def cache_control(request: web.Request, handler):
    """One of ComfyUI's own middlewares (it sets cache headers on every response)."""
    response = await handler(request)
    response.headers.setdefault("Cache-Control", "no-cache")
    return response


class PromptServer:
    """The server object custom nodes reach through ``PromptServer.instance``."""

    instance: "PromptServer"

    def __init__(self) -> None:
        PromptServer.instance = self
        self.app = web.Application(client_max_size=100 * 1024 * 1024, middlewares=[cache_control])
        self.routes = web.RouteTableDef()

    def add_routes(self) -> None:
        """ComfyUI's page, prompt API and ``/ws`` WebSocket, in miniature."""

        @self.routes.get("/")
        async def home(request: web.Request) -> web.Response:
            log("GET /")
            return web.Response(text=PAGE, content_type="text/html")

        @self.routes.post("/api/prompt")
        async def prompt(request: web.Request) -> web.Response:
            body = await request.read()
            log("POST /api/prompt", body.decode(errors="replace"))
            return web.json_response({"prompt_id": "1"})

        @self.routes.get("/ws")
        async def ws(request: web.Request) -> web.WebSocketResponse:
            log("WS /ws", request.headers.get("Origin"))
            socket = web.WebSocketResponse()
            await socket.prepare(request)
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    await socket.send_str("echo:" + message.data)
                    await socket.close()
            return socket

        self.app.add_routes(self.routes)
