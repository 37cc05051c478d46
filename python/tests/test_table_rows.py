"""The Rust table rows (tests/policy_table.rs, tests/websocket_handshake.rs, tests/hardening.rs,
tests/browser_headers.rs) through ``Policy.check``, ``Policy.check_head`` and the ASGI path.

The Rust tests write every decision they check to the JSON Lines file named by
``CROSSGUARD_TABLE_ROWS`` (scripts/test-python.sh runs them once with it set): the policy in the
library's ``Debug`` form, the request, and the library's verdict. Each row's policy is rebuilt
from Python keywords read off that form, and used only when the rebuilt policy's ``Debug`` form
is the same string (rows whose policy the keywords cannot express, such as a bypass predicate,
are skipped and counted). No row is written here.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any, Optional

import pytest

import crossguard
from crossguard import Policy
from crossguard._native import AddingSend

ROWS_FILE = os.environ.get("CROSSGUARD_TABLE_ROWS")

_PORT = r"(?:None|Some\((\d+)\))"
_LOOPBACK = re.compile(r"Loopback \{ port: " + _PORT + r" \}")
_EXACT_HOST = re.compile(
    r"Exact \{ host: (?:Name\(\"([^\"]+)\"\)|Ipv4\(([^)]+)\)|Ipv6\(([^)]+)\)), port: " + _PORT + r" \}"
)
_DOMAIN = re.compile(r"Domain \{ apex: \"([^\"]+)\", port: " + _PORT + r" \}")
_ORIGIN = re.compile(r"Exact \{ scheme: \"(\w+)\", host: Name\(\"([^\"]+)\"\), port: Some\((\d+)\) \}")


def _hosts(debug: str) -> Optional[list[str]]:
    match = re.search(r"hosts: Some\(HostAllowlist \{ entries: \[(.*?)\] \}\)", debug)
    if not match:
        return []
    entries = []
    for entry in re.finditer(r"(Loopback|Exact|Domain) \{[^{}]*\}", match.group(1)):
        text = entry.group(0)
        if m := _LOOPBACK.fullmatch(text):
            entries.append("loopback" + (f":{m.group(1)}" if m.group(1) else ""))
        elif m := _EXACT_HOST.fullmatch(text):
            name = m.group(1) or m.group(2) or f"[{m.group(3)}]"
            entries.append(name + (f":{m.group(4)}" if m.group(4) else ""))
        elif m := _DOMAIN.fullmatch(text):
            entries.append(f".{m.group(1)}" + (f":{m.group(2)}" if m.group(2) else ""))
        else:
            return None
    return entries


def _flag(debug: str, name: str) -> bool:
    return f"{name}: true" in debug


def policy_of(debug: str) -> Optional[Policy]:
    """The policy the keywords give for the library's ``Debug`` form, or ``None``."""
    hosts = _hosts(debug)
    if hosts is None:
        return None
    local = bool(hosts) and hosts[0] == "loopback" and _flag(debug, "resource_isolation") and _flag(
        debug, "cross_origin_resource_policy"
    )
    if local:
        hosts = hosts[1:]
    origins_text = re.search(r"origins: OriginAllowlist \{ entries: \[(.*?)\], null: (\w+) \}", debug)
    if not origins_text:
        return None
    origins = [f"{s}://{h}:{p}" for s, h, p in _ORIGIN.findall(origins_text.group(1))]
    if origins_text.group(2) == "true":
        origins.append("null")
    protocols = re.search(r"protocols: \[(.*?)\]", debug)
    deflate = re.search(
        r"deflate: Some\(DeflateConfig \{ server_max_window_bits: (\d+), client_max_window_bits: (\d+), "
        r"server_no_context_takeover: (\w+), client_no_context_takeover: (\w+)",
        debug,
    )
    keywords: dict[str, Any] = dict(
        allow_origins=origins,
        allow_hosts=hosts,
        allow_same_site=_flag(debug, "allow_same_site"),
        resource_isolation=True if (_flag(debug, "resource_isolation") and not local) else None,
        require_origin_for_websocket=_flag(debug, "require_origin_for_websocket"),
        report_only=_flag(debug, "report_only"),
        protocols=re.findall(r"\"([^\"]*)\"", protocols.group(1)) if protocols else [],
    )
    if deflate:
        keywords.update(
            server_max_window_bits=int(deflate.group(1)),
            client_max_window_bits=int(deflate.group(2)),
            server_no_context_takeover=deflate.group(3) == "true",
            client_no_context_takeover=deflate.group(4) == "true",
        )
    else:
        keywords["deflate"] = False
    try:
        policy = Policy("local" if local else "default", **keywords)
    except ValueError:
        return None
    return policy if policy._library_debug() == debug else None


def _load() -> list[dict]:
    if not ROWS_FILE:
        return []
    return [json.loads(line) for line in Path(ROWS_FILE).read_text().splitlines() if line]


ROWS = _load()
POLICIES: dict[str, Optional[Policy]] = {}
for _row in ROWS:
    if _row["policy"] not in POLICIES:
        POLICIES[_row["policy"]] = policy_of(_row["policy"])
RUN = [row for row in ROWS if POLICIES[row["policy"]] is not None]
SKIPPED = Counter(row["policy"] for row in ROWS if POLICIES[row["policy"]] is None)

needs_rows = pytest.mark.skipif(
    not ROWS_FILE, reason="CROSSGUARD_TABLE_ROWS names no row file (scripts/test-python.sh sets it)"
)


def _headers(row: dict) -> list[tuple[bytes, bytes]]:
    headers = [(name.encode("ascii"), value.encode("latin-1")) for name, value in row["headers"]]
    if row["protocol"] is not None:
        headers.append((b":protocol", row["protocol"].encode("latin-1")))
    return headers


def _expected(row: dict) -> dict:
    return {key: row[key] for key in ("allowed", "status", "reason", "rule", "accept", "subprotocol", "extensions")}


def _got(verdict: Any) -> dict:
    return {
        "allowed": verdict.allowed,
        "status": verdict.status,
        "reason": verdict.reason,
        "rule": verdict.rule,
        "accept": verdict.accept,
        "subprotocol": verdict.protocol,
        "extensions": verdict.extensions,
    }


def _id(row: dict) -> str:
    return f"{row['source']} :: {row['method']} {row['target']}"


@needs_rows
def test_rows_were_written_and_most_are_replayed() -> None:
    total = len(ROWS)
    print(f"\ntable rows: {total} written, {len(RUN)} replayed, {total - len(RUN)} skipped")
    for debug, count in SKIPPED.items():
        print(f"  skipped {count}: {debug[:160]}")
    assert total >= 200
    assert len(RUN) >= total * 0.9


@needs_rows
@pytest.mark.parametrize("row", RUN, ids=_id)
def test_check_gives_the_rows_verdict(row: dict) -> None:
    policy = POLICIES[row["policy"]]
    assert policy is not None
    verdict = policy.check(row["method"], row["target"], _headers(row), row["version"])
    assert _got(verdict) == _expected(row)


def _raw_head(row: dict) -> bytes:
    version = {"0.9": "HTTP/0.9", "1.0": "HTTP/1.0", "1.1": "HTTP/1.1", "2": "HTTP/2", "3": "HTTP/3"}
    lines = [f"{row['method']} {row['target']} {version[row['version']]}".encode("ascii")]
    if row["protocol"] is not None:
        lines.append(b":protocol: " + row["protocol"].encode("latin-1"))
    lines += [name.encode("ascii") + b": " + value.encode("latin-1") for name, value in row["headers"]]
    return b"\r\n".join(lines) + b"\r\n\r\n"


@needs_rows
@pytest.mark.parametrize("row", RUN, ids=_id)
def test_check_head_gives_the_rows_verdict(row: dict) -> None:
    policy = POLICIES[row["policy"]]
    assert policy is not None
    values = [value for _, value in row["headers"]]
    if any(value != value.strip(" \t") for value in values):
        pytest.skip("a value with surrounding whitespace: a raw head's reader strips it")
    report = policy.check_head(_raw_head(row))
    websocket = report["websocket"] or {}
    got = {
        "allowed": report["allowed"],
        "status": report["status"],
        "reason": report["reason"],
        "rule": report["rule"],
        "accept": websocket.get("accept"),
        "subprotocol": websocket.get("protocol"),
        "extensions": websocket.get("extensions"),
    }
    assert got == _expected(row)


@needs_rows
@pytest.mark.parametrize("row", RUN, ids=_id)
def test_the_asgi_path_gives_the_rows_verdict(row: dict) -> None:
    """``CrossGuard``'s one-call reading of a scope: the row's verdict, or ``None`` exactly when
    the row's request is allowed with nothing to add to the app's response (a handshake's
    answer fields are the server's to send, not added to an ``http`` scope's response)."""
    policy = POLICIES[row["policy"]]
    assert policy is not None
    path, _, query = row["target"].partition("?")
    if not path:
        pytest.skip("an empty path: ASGI has no such request target")
    scope = {
        "type": "http",
        "method": row["method"],
        "path": path,
        "raw_path": path.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "http_version": row["version"],
        "headers": _headers(row),
    }
    verdict = policy._check_asgi(scope)

    async def send(message: dict) -> None:
        raise AssertionError("nothing is sent while judging")

    # What CrossGuard acts on: the same judgement, with an allowed request's fields to add
    # carried by the ``send`` it wraps.
    guarded = policy._guard_asgi(scope, send)
    if verdict is None:
        assert guarded is None
    elif verdict.allowed:
        assert type(guarded) is AddingSend
    else:
        assert type(guarded) is crossguard.Verdict
        assert _got(guarded) == _got(verdict)
    if verdict is None:
        assert row["allowed"] is True
        checked = policy.check(row["method"], row["target"], _headers(row), row["version"])
        assert checked.allowed
        assert [name for name, _ in checked.headers if name in ("vary", "cross-origin-resource-policy")] == []
        return
    assert _got(verdict) == _expected(row)
