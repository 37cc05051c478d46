"""Per-request overhead of ``crossguard.asgi.CrossGuard`` in an in-process ASGI loop (no
sockets), against no middleware, a pure-Python Fetch Metadata middleware from PyPI
(``asgi-cross-origin-protection``, pinned in ``python/tests/requirements.txt``), and pure-Python
code doing the same checks as the ``local`` preset on these requests (Host allowlist,
``Sec-Fetch-Site``/``Origin``, resource isolation, ``Vary`` and
``Cross-Origin-Resource-Policy`` on responses; no handshake or deflate validation).

    python overhead.py [ITERATIONS]

Prints, per request, the time per request of each stack and its overhead over the bare app, in
microseconds: the best of 9 rounds, each running ITERATIONS requests (default 20000) through
every stack in turn.
"""

from __future__ import annotations

import asyncio
import os
import platform
import sys
import time
from importlib.metadata import version

from asgi_cross_origin_protection import CrossOriginProtection

from crossguard import Policy
from crossguard.asgi import CrossGuard

# What Chromium sends (minus cookies), in the order it sends it.
COMMON = [
    (b"host", b"localhost:8188"),
    (b"connection", b"keep-alive"),
    (b"sec-ch-ua", b'"Chromium";v="131", "Not_A Brand";v="24"'),
    (b"sec-ch-ua-mobile", b"?0"),
    (b"sec-ch-ua-platform", b'"Linux"'),
    (b"user-agent", b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"),
    (b"accept-encoding", b"gzip, deflate, br, zstd"),
    (b"accept-language", b"en-US,en;q=0.9"),
]
REQUESTS = {
    "same-origin POST (fetch)": ("POST", [
        *COMMON, (b"content-type", b"application/json"), (b"accept", b"*/*"),
        (b"origin", b"http://localhost:8188"), (b"sec-fetch-site", b"same-origin"),
        (b"sec-fetch-mode", b"cors"), (b"sec-fetch-dest", b"empty"),
        (b"referer", b"http://localhost:8188/"),
    ]),
    "navigation GET": ("GET", [
        *COMMON, (b"accept", b"text/html,application/xhtml+xml"), (b"sec-fetch-site", b"none"),
        (b"sec-fetch-mode", b"navigate"), (b"sec-fetch-user", b"?1"), (b"sec-fetch-dest", b"document"),
        (b"upgrade-insecure-requests", b"1"),
    ]),
    "cross-site POST (refused)": ("POST", [
        *COMMON, (b"content-type", b"text/plain"), (b"accept", b"*/*"),
        (b"origin", b"https://evil.example"), (b"sec-fetch-site", b"cross-site"),
        (b"sec-fetch-mode", b"no-cors"), (b"sec-fetch-dest", b"empty"),
    ]),
}  # fmt: skip


async def app(scope, receive, send) -> None:
    """The app: a fixed 200."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


class PurePython:
    """The ``local`` preset's checks for these requests, in plain Python."""

    VARY = (b"vary", b"Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest")
    CORP = (b"cross-origin-resource-policy", b"same-origin")
    SAFE = frozenset(("GET", "HEAD", "OPTIONS"))

    def __init__(self, inner) -> None:
        self.inner = inner

    @staticmethod
    def _loopback(host: bytes) -> bool:
        name = host.rsplit(b":", 1)[0] if host.count(b":") == 1 or host.startswith(b"[") else host
        name = name.lower().rstrip(b".")
        return (
            name == b"localhost"
            or name.endswith(b".localhost")
            or name.startswith(b"127.")
            or name == b"[::1]"
        )

    async def __call__(self, scope, receive, send) -> None:
        hosts, site, mode, dest, origin = [], None, None, None, None
        for name, value in scope["headers"]:
            if name == b"host":
                hosts.append(value)
            elif name == b"sec-fetch-site":
                site = value
            elif name == b"sec-fetch-mode":
                mode = value
            elif name == b"sec-fetch-dest":
                dest = value
            elif name == b"origin":
                origin = value
        reason = None
        if len(hosts) != 1:
            reason = "missing_host"
        elif not self._loopback(hosts[0]):
            reason = "host_not_allowed"
        elif scope["method"] not in self.SAFE:
            if site is not None:
                if site not in (b"same-origin", b"none"):
                    reason = "cross_site_request"
            elif origin is not None and origin.split(b"://", 1)[-1] != hosts[0]:
                reason = "origin_mismatch"
        elif site not in (None, b"same-origin", b"none") and not (
            mode == b"navigate" and scope["method"] == "GET" and dest not in (b"object", b"embed")
        ):
            reason = "cross_site_resource"
        if reason is not None:
            body = f"crossguard: {reason}\n".encode()
            await send({"type": "http.response.start", "status": 403, "headers": [
                (b"content-type", b"text/plain; charset=utf-8"), self.VARY,
                (b"content-length", str(len(body)).encode())]})  # fmt: skip
            await send({"type": "http.response.body", "body": body})
            return

        async def adding(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                headers.append(self.VARY)
                if not any(name == self.CORP[0] for name, _ in headers):
                    headers.append(self.CORP)
                message = {**message, "headers": headers}
            await send(message)

        await self.inner(scope, receive, adding)


STACKS = {
    "no middleware": app,
    f"asgi-cross-origin-protection {version('asgi-cross-origin-protection')}": CrossOriginProtection(app),
    "pure Python, the local checks": PurePython(app),
    "CrossGuard, Policy()": CrossGuard(app, Policy()),
    'CrossGuard, Policy("local")': CrossGuard(app, Policy("local")),
}


async def receive():
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(message) -> None:
    return None


def _scope(method: str, headers: list) -> dict:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": "/api/prompt", "raw_path": b"/api/prompt", "query_string": b"",
        "root_path": "", "headers": headers, "server": ("127.0.0.1", 8188), "client": ("127.0.0.1", 50000),
    }  # fmt: skip


async def per_request(method: str, headers: list, iterations: int, rounds: int) -> dict[str, float]:
    """The best time per request of each stack, in µs, over ``rounds`` rounds that run every
    stack in turn (so a slow moment of the machine hits them alike)."""
    scope = _scope(method, headers)
    best = {name: float("inf") for name in STACKS}
    for _ in range(rounds):
        for name, stack in STACKS.items():
            started = time.perf_counter()
            for _ in range(iterations):
                await stack(dict(scope), receive, send)
            best[name] = min(best[name], (time.perf_counter() - started) / iterations * 1e6)
    return best


async def main(iterations: int, rounds: int) -> None:
    print(f"# {platform.python_implementation()} {platform.python_version()} on {platform.machine()} "
          f"({os.cpu_count()} CPUs), crossguard {version('crossguard')}; best of {rounds} rounds of "
          f"{iterations} requests per stack; µs per request")  # fmt: skip
    for request, (method, headers) in REQUESTS.items():
        times = await per_request(method, headers, iterations, rounds)
        bare = times["no middleware"]
        print(f"\n{request} ({len(headers)} header fields)")
        for name, total in times.items():
            overhead = "" if name == "no middleware" else f"  overhead {total - bare:5.2f}"
            print(f"  {name:40} {total:6.2f}{overhead}")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000, 9))
