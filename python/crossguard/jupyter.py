"""The guard as a Jupyter Server extension.

Enable it for one run::

    jupyter server --ServerApp.jpserver_extensions="{'crossguard.jupyter': True}"

or in ``jupyter_server_config.py``::

    c.ServerApp.jpserver_extensions = {"crossguard.jupyter": True}
    c.CrossGuard.preset = "local"                     # the default
    c.CrossGuard.allow_origins = ["https://trusted.example"]

Every request is judged before tornado chooses its handler (the application's router entry,
``find_handler``, is wrapped), so every handler is guarded: the REST API, static files, 404s and
the kernels' WebSockets (``/api/kernels/<id>/channels``). A refused request gets the guard's
response and reaches no handler. The policy comes from the ``CrossGuard`` section of Jupyter's
config; its Host allowlist is the ``local`` preset's loopback names plus the address the server
listens on (unless that is every interface, ``0.0.0.0`` or ``::``).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from tornado import httputil, web
from traitlets import Bool, Enum, Integer, List, Unicode
from traitlets.config import LoggingConfigurable

from crossguard._native import Policy, Verdict

_CORP = "Cross-Origin-Resource-Policy"
_ADDED = "_crossguard_added"


class CrossGuard(LoggingConfigurable):
    """The policy of the Jupyter extension, read from the ``CrossGuard`` config section.

    Each trait means what the ``crossguard`` command's option of the same name means.
    """

    preset = Enum(["default", "local"], default_value="local", help="The preset.").tag(config=True)
    allow_origins = List(Unicode(), help="Trusted origins (--allow-origin).").tag(config=True)
    allow_hosts = List(
        Unicode(), help="Hosts answered besides the preset's and the server's own (--allow-host)."
    ).tag(config=True)
    allow_same_site = Bool(False, help="Allow unsafe same-site requests.").tag(config=True)
    resource_isolation = Bool(
        None, allow_none=True, help="Resource isolation (None: the preset's)."
    ).tag(config=True)
    require_origin_for_websocket = Bool(
        False, help="Refuse WebSocket handshakes without Origin."
    ).tag(config=True)
    report_only = Bool(False, help="Report instead of refusing.").tag(config=True)
    protocols = List(Unicode(), help="WebSocket subprotocols, preferred first.").tag(config=True)
    deflate = Bool(True, help="Agree permessage-deflate.").tag(config=True)
    server_max_window_bits = Integer(None, allow_none=True).tag(config=True)
    client_max_window_bits = Integer(None, allow_none=True).tag(config=True)
    server_no_context_takeover = Bool(False).tag(config=True)
    client_no_context_takeover = Bool(False).tag(config=True)

    def policy(self, own_hosts: list[str] = []) -> Policy:  # noqa: B006 (never mutated)
        """The ``Policy`` these settings describe, answering ``own_hosts`` as well."""
        return Policy(
            self.preset,
            allow_origins=list(self.allow_origins),
            allow_hosts=[*own_hosts, *self.allow_hosts],
            allow_same_site=self.allow_same_site,
            resource_isolation=self.resource_isolation,
            require_origin_for_websocket=self.require_origin_for_websocket,
            report_only=self.report_only,
            protocols=list(self.protocols),
            deflate=self.deflate,
            server_max_window_bits=self.server_max_window_bits,
            client_max_window_bits=self.client_max_window_bits,
            server_no_context_takeover=self.server_no_context_takeover,
            client_no_context_takeover=self.client_no_context_takeover,
        )


def own_hosts(ip: str, port: int) -> list[str]:
    """The Host allowlist entries for a server listening on ``ip``:``port``.

    Nothing for every interface (``""``, ``0.0.0.0``, ``::``, ``*``): the names clients use are
    not known, list them in ``CrossGuard.allow_hosts``.
    """
    if ip in ("", "*", "0.0.0.0", "::"):
        return []
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return [f"{ip}:{port}"]
    if address.version == 6:
        return [f"[{address}]:{port}"]
    return [f"{address}:{port}"]


def check_request(policy: Policy, request: httputil.HTTPServerRequest) -> Verdict:
    """Judge a tornado request (tornado decodes the head as Latin-1; the bytes are given back)."""
    headers = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in request.headers.get_all()
    ]
    version = request.version.removeprefix("HTTP/") if request.version else "1.1"
    return policy.check(request.method or "", request.uri or "", headers, version)


class _Refusal(httputil.HTTPMessageDelegate):
    """Answers a refused request with the guard's response once its body has arrived."""

    def __init__(self, request: httputil.HTTPServerRequest, verdict: Verdict) -> None:
        self.request = request
        self.verdict = verdict

    def data_received(self, chunk: bytes) -> None:
        return None  # the body of a refused request is discarded

    def finish(self) -> None:
        body = (self.verdict.body or "").encode("ascii")
        headers = httputil.HTTPHeaders()
        for name, value in self.verdict.headers:
            headers.add(name, value)
        headers["Content-Length"] = str(len(body))
        status = self.verdict.status or 400
        start = httputil.ResponseStartLine("HTTP/1.1", status, httputil.responses.get(status, ""))
        connection = self.request.connection
        if connection is not None:
            connection.write_headers(start, headers, body)
            connection.finish()

    def execute(self) -> None:
        """The legacy ``Application.__call__`` interface."""
        self.finish()


class _AddedFields(web.OutputTransform):
    """Puts the fields the guard adds on an allowed request's response."""

    def __init__(self, request: httputil.HTTPServerRequest) -> None:
        self.added = getattr(request, _ADDED, None)

    def transform_first_chunk(
        self, status_code: int, headers: httputil.HTTPHeaders, chunk: bytes, finishing: bool
    ) -> tuple[int, httputil.HTTPHeaders, bytes]:
        for name, value in self.added or ():
            if name.lower() == _CORP.lower() and _CORP in headers:
                continue
            headers.add(name, value)
        return status_code, headers, chunk


def guard(web_app: web.Application, policy: Policy) -> None:
    """Guard every request ``web_app`` routes with ``policy``."""
    routed = web_app.find_handler

    def find_handler(request: httputil.HTTPServerRequest, **kwargs: Any) -> Any:
        verdict = check_request(policy, request)
        if not verdict.allowed:
            return _Refusal(request, verdict)
        if verdict.headers and not verdict.websocket:
            setattr(request, _ADDED, verdict.headers)
        return routed(request, **kwargs)

    web_app.find_handler = find_handler  # type: ignore[method-assign]
    web_app.transforms.append(_AddedFields)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Jupyter Server's entry point: this module is the extension."""
    return [{"module": "crossguard.jupyter"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Jupyter Server's hook: guard the server's application with the configured policy."""
    settings = CrossGuard(parent=serverapp)
    policy = settings.policy(own_hosts(serverapp.ip, serverapp.port))
    guard(serverapp.web_app, policy)
    serverapp.log.info("crossguard: every request is judged (preset %s)", policy.preset)
