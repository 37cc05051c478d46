"""Jupyter Server with the ``crossguard.jupyter`` extension: a kernel runs ``42`` through its
WebSocket; cross-site requests (kernel WebSockets included) and a DNS-rebinding Host are refused
before any handler runs. Jupyter's own XSRF and Origin checks are off, so only the extension
stands between a page and the kernel."""

from __future__ import annotations

import json
import uuid

import pytest
from conftest import Server, exchange, field
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect


def _same_origin(port: int) -> list[tuple[str, str]]:
    return [("Host", f"localhost:{port}"), ("Origin", f"http://localhost:{port}"), ("Sec-Fetch-Site", "same-origin")]


def _start_kernel(port: int) -> str:
    status, _, body = exchange(
        port, "POST", "/api/kernels", [*_same_origin(port), ("Content-Type", "application/json")], b"{}"
    )
    assert status == 201, body
    return json.loads(body)["id"]


def _execute(code: str, session: str) -> tuple[str, str]:
    msg_id = uuid.uuid4().hex
    message = {
        "header": {"msg_id": msg_id, "username": "test", "session": session, "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {},
        "metadata": {},
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False},
        "channel": "shell",
    }
    return msg_id, json.dumps(message)


def test_the_extension_is_loaded(jupyter: Server) -> None:
    assert "crossguard: every request is judged (preset local)" in jupyter.log_text()


def test_a_kernel_runs_42_over_its_websocket(jupyter: Server) -> None:
    kernel = _start_kernel(jupyter.port)
    url = f"ws://localhost:{jupyter.port}/api/kernels/{kernel}/channels"
    with connect(url, origin=f"http://localhost:{jupyter.port}", open_timeout=30, max_size=None) as ws:
        msg_id, message = _execute("42", uuid.uuid4().hex)
        ws.send(message)
        while True:
            reply = json.loads(ws.recv(timeout=60))
            if reply["parent_header"].get("msg_id") == msg_id and reply["msg_type"] == "execute_result":
                assert reply["content"]["data"]["text/plain"] == "42"
                break


def test_cross_site_kernel_websocket_is_refused(jupyter: Server) -> None:
    kernel = _start_kernel(jupyter.port)
    url = f"ws://localhost:{jupyter.port}/api/kernels/{kernel}/channels"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, origin="https://evil.example", open_timeout=30)
    assert refused.value.response.status_code == 403
    assert refused.value.response.body == b"crossguard: cross_site_websocket\n"
    assert f"/api/kernels/{kernel}/channels" not in jupyter.log_text()


def test_refused_requests_reach_no_handler(jupyter: Server) -> None:
    port = jupyter.port
    # Control: an allowed request for a missing file reaches Jupyter, which logs its 404.
    seen = f"/api/contents/{uuid.uuid4().hex}"
    status, _, _ = exchange(port, "GET", seen, _same_origin(port))
    assert status == 404
    refused = f"/api/contents/{uuid.uuid4().hex}"
    status, fields, body = exchange(
        port,
        "POST",
        refused,
        [("Host", f"localhost:{port}"), ("Origin", "https://evil.example"), ("Sec-Fetch-Site", "cross-site"),
         ("Content-Type", "text/plain")],
        b'{"type": "file"}',
    )  # fmt: skip
    assert (status, body) == (403, b"crossguard: cross_site_request\n")
    assert field(fields, "content-type") == ["text/plain; charset=utf-8"]
    assert field(fields, "vary") == ["Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest"]
    status, _, body = exchange(port, "GET", "/api/contents", [("Host", f"attacker.example:{port}")])
    assert (status, body) == (403, b"crossguard: host_not_allowed\n")
    log = jupyter.log_text()
    assert seen in log
    assert refused not in log


def test_allowed_responses_carry_the_guards_fields(jupyter: Server) -> None:
    status, fields, _ = exchange(jupyter.port, "GET", "/api/status", _same_origin(jupyter.port))
    assert status == 200
    assert field(fields, "vary")[-1] == "Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest"
    assert field(fields, "cross-origin-resource-policy") == ["same-origin"]
