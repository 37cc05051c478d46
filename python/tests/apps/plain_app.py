"""An unguarded aiohttp app for ``crossguard proxy`` to guard: ``python plain_app.py PORT``."""

import sys

from aiohttp import web
from page import log


async def prompt(request: web.Request) -> web.Response:
    body = await request.read()
    log("POST /api/prompt", body.decode(errors="replace"))
    return web.json_response({"queued": True})


app = web.Application()
app.add_routes([web.post("/api/prompt", prompt)])

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
