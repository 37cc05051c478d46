"""An aiohttp app with a WebSocket route behind ``crossguard.aiohttp.middleware``:
``python aiohttp_app.py PORT``."""

import sys

from aiohttp import WSMsgType, web
from page import PAGE, log

import crossguard.aiohttp
from crossguard import Policy


async def home(request: web.Request) -> web.Response:
    log("GET /")
    return web.Response(text=PAGE, content_type="text/html")


async def prompt(request: web.Request) -> web.Response:
    body = await request.read()
    log("POST /api/prompt", body.decode(errors="replace"))
    return web.json_response({"queued": True})


async def ws(request: web.Request) -> web.WebSocketResponse:
    log("WS /ws", request.headers.get("Origin"))
    socket = web.WebSocketResponse()
    await socket.prepare(request)
    async for message in socket:
        if message.type == WSMsgType.TEXT:
            await socket.send_str("echo:" + message.data)
            await socket.close()
    return socket


def make_app() -> web.Application:
    """The app, guarded with the ``local`` preset."""
    app = web.Application(middlewares=[crossguard.aiohttp.middleware(Policy("local"))])
    app.add_routes([web.get("/", home), web.post("/api/prompt", prompt), web.get("/ws", ws)])
    return app


if __name__ == "__main__":
    web.run_app(make_app(), host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
