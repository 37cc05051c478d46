"""python-websockets through `crossguard proxy`: permessage-deflate negotiated with the upstream
and a 1 MB message round-tripped. Usage: ws_client.py ws://127.0.0.1:PORT/echo"""

import asyncio
import os
import sys

from websockets.asyncio.client import connect


async def main(url: str) -> int:
    payload = os.urandom(512 * 1024).hex()  # 1 MiB of text (hex digits), compressible
    async with asyncio.timeout(60):
        async with connect(url, compression="deflate", max_size=None) as ws:
            extensions = ws.response.headers.get("Sec-WebSocket-Extensions", "")
            await ws.send(payload)
            echoed = await ws.recv()
    if not extensions.startswith("permessage-deflate"):
        print(f"not ok - python websockets: no permessage-deflate (got {extensions!r})")
        return 1
    if echoed != payload:
        print(f"not ok - python websockets: echo differs ({len(echoed)} of {len(payload)} chars)")
        return 1
    print(f"ok - python websockets {extensions!r}, {len(payload)} chars round-tripped")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1])))
