"""An MCP server from the ``mcp`` SDK (its streamable-HTTP app) wrapped in ``CrossGuard``: the
SDK's own client lists and calls a tool; a cross-site browser request and a DNS-rebinding Host
are refused before the SDK sees them."""

from __future__ import annotations

import asyncio
import json

from conftest import Server, exchange, field
from mcp import Client

INITIALIZE = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "evil", "version": "1"}},
    }
).encode()


def test_the_sdk_client_lists_and_calls_a_tool(mcp_server: Server) -> None:
    async def session() -> tuple[list[str], object]:
        async with Client(f"http://localhost:{mcp_server.port}/mcp") as client:
            tools = await client.list_tools()
            result = await client.call_tool("add", {"a": 2, "b": 40})
            return [tool.name for tool in tools.tools], result

    names, result = asyncio.run(asyncio.wait_for(session(), 60))
    assert names == ["add"]
    assert [content.text for content in result.content] == ["42"]
    assert "app: tool add 2 40" in mcp_server.app_lines()


def test_cross_site_post_never_reaches_the_sdk(mcp_server: Server) -> None:
    before = len(mcp_server.app_lines())
    status, fields, body = exchange(
        mcp_server.port,
        "POST",
        "/mcp",
        [
            ("Host", f"localhost:{mcp_server.port}"),
            ("Origin", "https://evil.example"),
            ("Sec-Fetch-Site", "cross-site"),
            ("Sec-Fetch-Mode", "no-cors"),
            ("Content-Type", "text/plain"),
            ("Accept", "application/json, text/event-stream"),
        ],
        INITIALIZE,
    )
    assert (status, body) == (403, b"crossguard: cross_site_request\n")
    assert field(fields, "content-type") == ["text/plain; charset=utf-8"]
    assert len(mcp_server.app_lines()) == before


def test_dns_rebinding_gets_403_not_the_sdks_421(mcp_server: Server) -> None:
    before = len(mcp_server.app_lines())
    status, _, body = exchange(
        mcp_server.port,
        "POST",
        "/mcp",
        [
            ("Host", f"attacker.example:{mcp_server.port}"),
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
        ],
        INITIALIZE,
    )
    assert (status, body) == (403, b"crossguard: host_not_allowed\n")
    assert len(mcp_server.app_lines()) == before
