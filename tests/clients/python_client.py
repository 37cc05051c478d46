"""Python `websockets` against the crossguard WebSocket example: permessage-deflate negotiated by
crossguard, a 200 KB round trip, and a cross-origin handshake refused with 403."""
import asyncio
import random
import sys

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, PerMessageDeflate

URL = sys.argv[1]
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok - python websockets: {name}")
    else:
        failed += 1
        print(f"not ok - python websockets: {name} {detail}")


def message():
    rnd = random.Random(7)
    words = [bytes(rnd.getrandbits(8) for _ in range(6)).hex() for _ in range(400)]
    return " ".join(rnd.choice(words) for _ in range(200_000 // 13))[:200_000]


async def round_trip(name, expected_extensions, **kwargs):
    async with connect(URL, max_size=2**22, **kwargs) as ws:
        got = ws.response.headers.get("Sec-WebSocket-Extensions", "")
        check(f"{name}: 101 Sec-WebSocket-Extensions", got == expected_extensions, f"got {got!r}")
        check(f"{name}: extension active", any(isinstance(e, PerMessageDeflate) for e in ws.protocol.extensions))
        text = message()
        for _ in range(2):  # twice, so context takeover is exercised
            await ws.send(text)
            check(f"{name}: 200 KB text echoed intact", await ws.recv() == text)
        data = text.encode()[:150_000]
        await ws.send(data)
        check(f"{name}: binary echoed intact", await ws.recv() == data)


async def main():
    await round_trip("default offer", "permessage-deflate")
    await round_trip(
        "small windows, no context takeover",
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
        "server_max_window_bits=10; client_max_window_bits=9",
        extensions=[ClientPerMessageDeflateFactory(
            server_no_context_takeover=True, client_no_context_takeover=True,
            server_max_window_bits=10, client_max_window_bits=9)],
    )
    try:
        async with connect(URL, origin="http://evil.example"):
            check("cross-origin handshake refused", False, "connected")
    except InvalidStatus as exc:
        status = exc.response.status_code
        body = exc.response.body or b""
        check("cross-origin handshake refused with 403", status == 403, f"status {status}")
        check("403 names cross_site_websocket", b"cross_site_websocket" in body, repr(body))
    print(f"python websockets: {passed} passed, {failed} failed")


asyncio.run(asyncio.wait_for(main(), timeout=60))
sys.exit(1 if failed else 0)
