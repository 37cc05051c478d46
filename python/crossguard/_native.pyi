"""Type stubs of the compiled module ``crossguard._native``."""

from typing import Any, Awaitable, Callable, Iterable, MutableMapping, Optional, Sequence, Tuple, Union

_Text = Union[bytes, str]

MAX_HEADER_FIELDS: int

class ConfigError(ValueError):
    """A policy setting the library refuses; the message says how to fix it."""

class Verdict:
    """What the guard decided about one request, and what to answer."""

    @property
    def allowed(self) -> bool:
        """Whether the request may reach the app (always, in report-only mode)."""
    @property
    def status(self) -> Optional[int]:
        """The refusal's status, ``101``/``200`` for an allowed handshake, else ``None``."""
    @property
    def reason(self) -> Optional[str]:
        """The refusal's reason code (report-only: the refusal it would have been)."""
    @property
    def rule(self) -> str:
        """The rule that decided."""
    @property
    def websocket(self) -> bool:
        """Whether the request was judged as a WebSocket opening handshake."""
    @property
    def accept(self) -> Optional[str]:
        """An allowed HTTP/1.1 handshake's ``Sec-WebSocket-Accept``."""
    @property
    def protocol(self) -> Optional[str]:
        """The agreed subprotocol, if any."""
    @property
    def extensions(self) -> Optional[str]:
        """The agreed ``permessage-deflate`` parameters, as the answer's field value."""
    @property
    def headers(self) -> list[Tuple[str, str]]:
        """The fields to send: a refusal's, a handshake's answer's, or the ones the guard adds."""
    @property
    def raw_headers(self) -> list[Tuple[bytes, bytes]]:
        """The same fields as ``(bytes, bytes)`` pairs, as ASGI servers take them."""
    @property
    def body(self) -> Optional[str]:
        """A refusal's ``text/plain`` body (``crossguard: <reason>\\n``)."""

class Policy:
    """A validated, immutable policy: what the guard allows."""

    def __init__(
        self,
        preset: str = "default",
        *,
        allow_origins: Sequence[str] = (),
        allow_hosts: Sequence[str] = (),
        allow_same_site: bool = False,
        resource_isolation: Optional[bool] = None,
        require_origin_for_websocket: bool = False,
        report_only: bool = False,
        protocols: Sequence[str] = (),
        deflate: bool = True,
        server_max_window_bits: Optional[int] = None,
        client_max_window_bits: Optional[int] = None,
        server_no_context_takeover: bool = False,
        client_no_context_takeover: bool = False,
    ) -> None: ...
    @property
    def preset(self) -> str:
        """The preset the policy started from: ``"default"`` or ``"local"``."""
    @property
    def report_only(self) -> bool:
        """Whether the policy reports instead of refusing."""
    def check(
        self,
        method: _Text,
        target: _Text,
        headers: Iterable[Tuple[_Text, _Text]],
        http_version: str = "1.1",
    ) -> Verdict:
        """Decide one request; a head HTTP cannot carry is refused, never raised."""
    def check_head(self, head: bytes) -> dict:
        """Exactly the object ``crossguard check --json`` prints for a raw HTTP/1.1 head."""
    def explain(
        self,
        method: _Text,
        target: _Text,
        headers: Iterable[Tuple[_Text, _Text]],
        http_version: str = "1.1",
    ) -> str:
        """The report ``crossguard check`` prints for the request."""
    def _check_asgi(self, scope: MutableMapping[str, Any]) -> Optional[Verdict]:
        """An ``http`` or ``websocket`` scope's verdict; ``None`` when the app runs as it is."""
    def _guard_asgi(
        self,
        scope: MutableMapping[str, Any],
        send: Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ) -> Union[None, AddingSend, Verdict]:
        """What ``CrossGuard`` does with a scope: ``None`` (the app runs as it is), an
        ``AddingSend`` wrapping ``send``, or the ``Verdict``."""

class AddingSend:
    """An ASGI ``send`` that adds an allowed request's fields to the response start."""

    def __call__(self, message: MutableMapping[str, Any]) -> Awaitable[None]: ...

def main(program: Sequence[str], args: Sequence[str]) -> int:
    """Run the ``crossguard`` command line ``args``; returns its exit status."""
