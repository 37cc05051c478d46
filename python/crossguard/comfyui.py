"""The guard for ComfyUI, installed by a custom node.

ComfyUI imports each folder of ``custom_nodes/`` at startup, after creating its server and before
serving. The node folder's ``__init__.py`` is two lines::

    from crossguard.comfyui import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS, install
    install()

:func:`install` puts :func:`crossguard.aiohttp.middleware` in front of every other middleware
of ComfyUI's aiohttp application, with the policy :func:`policy_for` reads from ``--listen``.
The node adds no nodes to the graph.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

from crossguard._native import Policy

#: No nodes: ComfyUI reads these from every custom node.
NODE_CLASS_MAPPINGS: dict[str, Any] = {}
NODE_DISPLAY_NAME_MAPPINGS: dict[str, str] = {}

_EVERY_INTERFACE = ("", "0.0.0.0", "::")


def policy_for(listen: str, port: int) -> Policy:
    """The policy for ComfyUI's ``--listen`` value (a comma-separated list) and ``--port``.

    - Loopback addresses only (ComfyUI's default, ``127.0.0.1``): the ``local`` preset (the
      loopback Host allowlist against DNS rebinding, resource isolation).
    - Named addresses: ``local``, plus each non-loopback address at ``port``.
    - Any address for every interface (``--listen`` alone is ``0.0.0.0,::``): the ``default``
      preset, without a Host allowlist (the names clients use are not known).
    """
    addresses = [address.strip() for address in listen.split(",")]
    if any(address in _EVERY_INTERFACE for address in addresses):
        return Policy("default")
    hosts = []
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            if address != "localhost":
                hosts.append(f"{address}:{port}")
            continue
        if ip.is_loopback:
            continue
        hosts.append(f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}")
    return Policy("local", allow_hosts=hosts)


def install() -> Policy:
    """Guards the running ComfyUI's server (``server.PromptServer.instance.app``) with the
    policy for its ``--listen`` and ``--port`` (``comfy.cli_args.args``); returns the policy."""
    import crossguard.aiohttp
    from comfy.cli_args import args  # type: ignore[import-not-found]
    from server import PromptServer  # type: ignore[import-not-found]

    policy = policy_for(args.listen or "", args.port)
    PromptServer.instance.app.middlewares.insert(0, crossguard.aiohttp.middleware(policy))
    logging.info("crossguard: guarding ComfyUI's server (preset %s)", policy.preset)
    return policy
