"""An MCP server (the ``mcp`` SDK's streamable-HTTP app) wrapped in ``CrossGuard``:
``python mcp_app.py PORT``. Its tool ``add`` logs each call."""

import sys

import uvicorn
from mcp.server.mcpserver import MCPServer
from page import log

from crossguard import Policy
from crossguard.asgi import CrossGuard

server = MCPServer("crossguard-test")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    log("tool add", a, b)
    return a + b


class Logged:
    """Logs every HTTP request that reaches the MCP app (inside the guard)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            log(scope["method"], scope["path"])
        await self.app(scope, receive, send)


app = CrossGuard(Logged(server.streamable_http_app()), Policy("local"))

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
