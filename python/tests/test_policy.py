"""``Policy``, ``Verdict``, ``check_head`` and ``explain``: settings, exact verdicts, hostile
input, and the command's own output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

import crossguard
from crossguard import ConfigError, Policy

KEY = "dGhlIHNhbXBsZSBub25jZQ=="
ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="  # RFC 6455 §1.3
VARY = "Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest"
HOST = (b"host", b"localhost:8188")
HANDSHAKE = [
    HOST,
    (b"upgrade", b"websocket"),
    (b"connection", b"Upgrade"),
    (b"sec-websocket-key", KEY.encode()),
    (b"sec-websocket-version", b"13"),
]


def test_refusal_carries_the_librarys_response() -> None:
    verdict = Policy("local").check(
        "POST", "/api/prompt", [HOST, (b"sec-fetch-site", b"cross-site"), (b"origin", b"https://evil.example")]
    )
    assert not verdict.allowed
    assert (verdict.status, verdict.reason, verdict.rule) == (403, "cross_site_request", "sec_fetch_site")
    assert verdict.body == "crossguard: cross_site_request\n"
    assert verdict.headers == [("content-type", "text/plain; charset=utf-8"), ("vary", VARY)]
    assert not verdict.websocket


def test_426_carries_the_fields_its_status_needs() -> None:
    headers = [*HANDSHAKE[:-1], (b"sec-websocket-version", b"8")]
    verdict = Policy().check("GET", "/ws", headers)
    assert (verdict.status, verdict.reason) == (426, "unsupported_websocket_version")
    assert verdict.headers == [
        ("content-type", "text/plain; charset=utf-8"),
        ("sec-websocket-version", "13"),
        ("upgrade", "websocket"),
        ("connection", "upgrade"),
    ]


def test_allowed_request_lists_what_the_guard_adds() -> None:
    verdict = Policy("local").check("GET", "/view?file=x", [HOST])
    assert verdict.allowed
    assert (verdict.status, verdict.reason, verdict.rule, verdict.body) == (None, None, "safe_method", None)
    assert verdict.headers == [("vary", VARY), ("cross-origin-resource-policy", "same-origin")]
    assert Policy().check("GET", "/", [HOST]).headers == []


def test_handshake_agreement() -> None:
    policy = Policy(protocols=["chat", "superchat"], server_max_window_bits=10)
    headers = [
        *HANDSHAKE,
        ("Sec-WebSocket-Protocol", "superchat, chat"),
        ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits, x-webkit-deflate-frame"),
    ]
    verdict = policy.check("GET", "/chat", headers)
    assert verdict.allowed and verdict.websocket
    assert (verdict.status, verdict.rule) == (101, "non_browser")
    assert verdict.accept == ACCEPT
    assert verdict.protocol == "chat"
    assert verdict.extensions == "permessage-deflate; server_max_window_bits=10"
    assert verdict.headers == [
        ("upgrade", "websocket"),
        ("connection", "Upgrade"),
        ("sec-websocket-accept", ACCEPT),
        ("sec-websocket-protocol", "chat"),
        ("sec-websocket-extensions", "permessage-deflate; server_max_window_bits=10"),
    ]
    assert Policy(deflate=False).check("GET", "/chat", headers).extensions is None


def test_http2_extended_connect() -> None:
    headers = [(b":protocol", b"websocket"), (b"sec-websocket-version", b"13"), (b"origin", b"https://evil.example")]
    verdict = Policy().check("CONNECT", "https://localhost:8188/ws", headers, "2")
    assert (verdict.allowed, verdict.status, verdict.reason) == (False, 403, "cross_site_websocket")
    same = [(b":protocol", b"websocket"), (b"sec-websocket-version", b"13"), (b"origin", b"https://localhost:8188")]
    verdict = Policy().check("CONNECT", "https://localhost:8188/ws", same, "2")
    assert (verdict.allowed, verdict.status, verdict.accept) == (True, 200, None)


def test_report_only_lets_through_and_reports() -> None:
    verdict = Policy(report_only=True).check("POST", "/", [HOST, (b"sec-fetch-site", b"cross-site")])
    assert (verdict.allowed, verdict.status, verdict.reason, verdict.rule) == (
        True,
        None,
        "cross_site_request",
        "sec_fetch_site",
    )
    assert Policy(report_only=True).report_only


def test_repeated_names_count_as_the_library_counts_them() -> None:
    twice = [HOST, (b"Origin", b"http://localhost:8188"), ("origin", "http://localhost:8188")]
    verdict = Policy().check("POST", "/", twice)
    assert (verdict.status, verdict.reason) == (400, "duplicate_header")
    hosts = [HOST, (b"HOST", b"localhost:8188")]
    assert Policy().check("GET", "/", hosts).reason == "duplicate_host"


@pytest.mark.parametrize(
    ("keywords", "message"),
    [
        (dict(allow_origins=["https://*.com"]), "public suffix"),
        (dict(allow_origins=["https://app.example/"]), "https://app.example/"),
        (dict(allow_hosts=[".co.uk"]), "public suffix"),
        (dict(server_max_window_bits=7), "8"),
        (dict(server_max_window_bits=300), "must be in 8..=15, not 300"),
        (dict(protocols=["a b"]), "a b"),
    ],
)
def test_bad_settings_raise_config_error(keywords: dict, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        Policy(**keywords)
    assert isinstance(error.value, ValueError)
    assert message in str(error.value)


def test_unknown_preset_and_local_without_isolation() -> None:
    with pytest.raises(ConfigError, match="unknown preset"):
        Policy("strict")
    assert Policy("default", resource_isolation=False)._library_debug() == Policy()._library_debug()
    # `local` isolates; resource_isolation=False is `--no-resource-isolation`: a cross-site
    # <img> load passes, which `local` refuses.
    image = [("host", "localhost:8188"), ("sec-fetch-site", "cross-site"), ("sec-fetch-mode", "no-cors"), ("sec-fetch-dest", "image")]
    assert Policy("local").check("GET", "/view", image).reason == "cross_site_resource"
    assert Policy("local", resource_isolation=False).check("GET", "/view", image).allowed is True


def test_keywords_are_the_cli_options() -> None:
    policy = Policy(
        "local",
        allow_origins=["https://trusted.example"],
        allow_hosts=["loopback:8188"],
        allow_same_site=True,
        require_origin_for_websocket=True,
        report_only=True,
        protocols=["chat"],
        client_max_window_bits=12,
        server_no_context_takeover=True,
    )
    debug = policy._library_debug()
    for part in (
        'Exact { scheme: "https", host: Name("trusted.example"), port: Some(443) }',
        "Loopback { port: Some(8188) }",
        "allow_same_site: true",
        "require_origin_for_websocket: true",
        "report_only: true",
        'protocols: ["chat"]',
        "client_max_window_bits: 12",
        "server_no_context_takeover: true",
    ):
        assert part in debug
    with pytest.raises(TypeError):
        Policy(allow_origins="https://trusted.example")  # a str is not a list of origins


# --- hostile input: a typed refusal, never an exception --------------------------------------


def _malformed(verdict: crossguard.Verdict) -> None:
    assert (verdict.allowed, verdict.status, verdict.reason, verdict.rule) == (
        False,
        400,
        "malformed_head",
        "header_syntax",
    )
    assert verdict.body == "crossguard: malformed_head\n"


def test_ten_thousand_headers_are_refused_unread() -> None:
    _malformed(Policy().check("GET", "/", [HOST] + [(b"x-a", b"1")] * 10_000))
    # A generator has no length: reading stops at the bound.
    taken = []

    def fields():
        for i in range(10_000):
            taken.append(i)
            yield (b"x-a", b"1")

    _malformed(Policy().check("GET", "/", fields()))
    assert len(taken) == crossguard.MAX_HEADER_FIELDS + 1


def test_non_ascii_bytes_get_the_librarys_refusals() -> None:
    verdict = Policy().check("POST", "/", [HOST, (b"origin", b"http://\xe9vil.example")])
    assert (verdict.status, verdict.reason) == (400, "malformed_origin")
    verdict = Policy().check("POST", "/", [HOST, (b"sec-fetch-site", "crôss-site")])
    assert (verdict.status, verdict.reason) == (400, "malformed_fetch_metadata")
    verdict = Policy("local").check("GET", "/", [(b"host", b"l\xf6calhost")])
    assert (verdict.status, verdict.reason) == (400, "malformed_host")
    # A field crossguard does not read may carry obs-text.
    assert Policy().check("GET", "/", [HOST, (b"x-name", b"\xff\xfe")]).allowed


def test_huge_values_get_the_librarys_refusals() -> None:
    big = b"a" * (1024 * 1024)
    assert Policy().check("POST", "/", [HOST, (b"origin", b"http://" + big)]).reason == "malformed_origin"
    assert Policy().check("GET", "/", [(b"host", big)]).reason == "malformed_host"
    handshake = [*HANDSHAKE, (b"sec-websocket-extensions", b"permessage-deflate, " * 50_000)]
    assert Policy().check("GET", "/ws", handshake).reason == "malformed_websocket_extensions"


@pytest.mark.parametrize(
    ("method", "target", "headers", "version"),
    [
        ("POST", "/", [HOST, (b"bad name", b"x")], "1.1"),
        ("POST", "/", [HOST, (b"origin", b"http://a\r\nx: y")], "1.1"),
        ("POST", "/", [HOST, (b"x", b"\x00")], "1.1"),
        ("POST", "/", [HOST, ("x", "\udcff")], "1.1"),
        ("POST", "/", [HOST, (b":path", b"/")], "1.1"),
        ("PO ST", "/", [HOST], "1.1"),
        ("GET", "/a b", [HOST], "1.1"),
        ("GET", "", [HOST], "1.1"),
        ("GET", "/", [HOST], "7"),
    ],
)
def test_heads_http_cannot_carry_are_refused(method, target, headers, version) -> None:
    _malformed(Policy().check(method, target, headers, version))


def _names_http_takes(name: bytes) -> bool:
    """Whether the report path (which builds every name with the ``http`` crate) takes ``name``."""
    try:
        Policy().explain("GET", "/", [HOST, (name, b"v")])
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("byte", range(256))
def test_a_field_no_check_reads_is_held_to_the_same_name_syntax(byte: int) -> None:
    """``check`` and ``CrossGuard`` judge the syntax of a name no check reads without building
    it: that judgement is the ``http`` crate's, byte for byte, whatever the case and length."""
    names = [bytes([byte]), b"x-" + bytes([byte]) + b"-y", b"X-Custom" + bytes([byte])]
    for name in names:
        takes = _names_http_takes(name)
        verdict = Policy().check("GET", "/", [HOST, (name, b"v")])
        assert verdict.reason == (None if takes else "malformed_head"), name
        scope = {"type": "http", "method": "GET", "raw_path": b"/", "headers": [HOST, (name, b"v")]}
        judged = Policy()._check_asgi(scope)
        assert (judged is None) == takes, name


def test_a_field_names_length_is_held_to_the_http_crates_bounds() -> None:
    for length, takes in [(0, False), (65_535, True), (65_536, False)]:
        name = b"a" * length
        assert _names_http_takes(name) is takes
        verdict = Policy().check("GET", "/", [HOST, (name, b"v")])
        assert verdict.reason == (None if takes else "malformed_head")


def test_wrong_types_are_the_callers_bug() -> None:
    with pytest.raises(TypeError):
        Policy().check("GET", "/", [(b"host", 1)])
    with pytest.raises(TypeError):
        Policy().check("GET", "/", [(b"host",)])


# --- check_head and explain: the command's own output ----------------------------------------

# The console script installed beside this interpreter (the venv's), else the one on PATH.
CROSSGUARD = shutil.which("crossguard", path=os.path.dirname(sys.executable)) or shutil.which("crossguard")

HEAD = (
    b"GET /ws HTTP/1.1\r\nHost: localhost:8188\r\nOrigin: http://evil.example\r\n"
    b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + KEY.encode() + b"\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)


def test_check_head_is_the_json_the_command_prints() -> None:
    assert Policy("local").check_head(HEAD) == {
        "allowed": False,
        "status": 403,
        "reason": "cross_site_websocket",
        "rule": "websocket_origin",
        "websocket": {"accept": None, "protocol": None, "extensions": None},
        "response_headers": [["content-type", "text/plain; charset=utf-8"], ["vary", VARY]],
    }
    with pytest.raises(ValueError, match="expected a request line"):
        Policy().check_head(b"nonsense\r\n\r\n")


@pytest.mark.skipif(CROSSGUARD is None, reason="the crossguard command is not installed")
@pytest.mark.parametrize("options", [[], ["--preset", "local"], ["--allow-origin", "http://evil.example"]])
def test_check_head_equals_the_installed_command(options: list[str]) -> None:
    result = subprocess.run(
        [CROSSGUARD, "check", "--json", *options], input=HEAD, capture_output=True, timeout=60
    )
    keywords = {
        (): {},
        ("--preset", "local"): {"preset": "local"},
        ("--allow-origin", "http://evil.example"): {"allow_origins": ["http://evil.example"]},
    }[tuple(options)]
    assert json.loads(result.stdout) == Policy(**keywords).check_head(HEAD)
    assert result.returncode == (0 if json.loads(result.stdout)["allowed"] else 1)
    text = subprocess.run([CROSSGUARD, "check", *options], input=HEAD, capture_output=True, timeout=60)
    headers = [line.split(b": ", 1) for line in HEAD.split(b"\r\n")[1:] if line]
    assert text.stdout.decode() == Policy(**keywords).explain("GET", "/ws", [tuple(h) for h in headers])


def test_explain_is_the_commands_report() -> None:
    report = Policy("local").explain("POST", "/api/prompt", [HOST, (b"sec-fetch-site", b"cross-site")])
    assert report.splitlines()[0] == "request: POST /api/prompt HTTP/1.1"
    assert "verdict: REJECTED 403 cross_site_request by rule sec_fetch_site" in report
    with pytest.raises(ValueError, match="header name"):
        Policy().explain("GET", "/", [(b"bad name", b"x")])
    with pytest.raises(ValueError, match="more than 1000 header fields"):
        Policy().explain("GET", "/", [HOST] * 1001)


def test_module_main_runs_the_command(capsys: pytest.CaptureFixture) -> None:
    from crossguard.__main__ import main

    assert main(["--version"]) == 0
    assert main(["check", "--no-such-option"]) == 2
