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


PAGE = b"""<!doctype html>
<meta charset="utf-8"><title>MCP client page</title>
<script>
window.result = (async () => {
  const response = await fetch('/mcp', {
    method: 'POST',
    headers: {'content-type': 'application/json', 'accept': 'application/json, text/event-stream'},
    body: JSON.stringify({jsonrpc: '2.0', id: 1, method: 'initialize', params: {
      protocolVersion: '2025-06-18', capabilities: {}, clientInfo: {name: 'page', version: '1'}}}),
  });
  return {post: response.status};
})();
</script>
"""


class Logged:
    """Logs every HTTP request that reaches the MCP app (inside the guard), and serves a
    same-origin page at ``/`` that initializes an MCP session with ``fetch``."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            log(scope["method"], scope["path"], scope["query_string"].decode(errors="replace"))
            if scope["path"] == "/":
                headers = [(b"content-type", b"text/html"), (b"content-length", str(len(PAGE)).encode())]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": PAGE})
                return
        await self.app(scope, receive, send)


app = CrossGuard(Logged(server.streamable_http_app()), Policy("local"))

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
