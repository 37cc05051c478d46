"""crossguard: stop cross-site attacks on local HTTP apps.

CSRF, cross-site WebSocket hijacking and DNS rebinding are refused from the request head alone
(Fetch Metadata, Origin and Host allowlists, strict RFC 6455 handshakes), by the same Rust core
as the ``crossguard`` command, which this package also installs.

- :class:`Policy` decides; :meth:`Policy.check` returns a :class:`Verdict`.
- :mod:`crossguard.asgi` guards ASGI apps (Starlette, FastAPI, Gradio, the MCP SDK's apps).
- :mod:`crossguard.aiohttp` guards aiohttp apps (ComfyUI).
- :mod:`crossguard.jupyter` is a Jupyter Server extension.
- :mod:`crossguard.comfyui` is installed by a ComfyUI custom node.
"""

from crossguard._native import MAX_HEADER_FIELDS, ConfigError, Policy, Verdict

__all__ = ["MAX_HEADER_FIELDS", "ConfigError", "Policy", "Verdict", "__version__"]

__version__ = "0.1.0"
