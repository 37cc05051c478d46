"""crossguard for ComfyUI: refuses cross-site requests, cross-site WebSocket hijacking and DNS
rebinding before any ComfyUI route sees them.

Install: ``pip install crossguard`` into ComfyUI's Python, then copy this folder into
``ComfyUI/custom_nodes/``. ComfyUI imports it at startup, after creating its server and before
serving, and it puts the guard in front of every other middleware of ComfyUI's aiohttp app.

The policy follows ``--listen``: loopback addresses only (the default, ``127.0.0.1``) → the
``local`` preset (the loopback Host allowlist against DNS rebinding, resource isolation); named
addresses → ``local`` plus those addresses at ``--port``; any address for every interface
(``--listen`` alone, ``0.0.0.0``, ``::``) → the ``default`` preset, without a Host allowlist.
This folder adds no nodes.
"""

from __future__ import annotations

import ipaddress
import logging

NODE_CLASS_MAPPINGS: dict = {}
NODE_DISPLAY_NAME_MAPPINGS: dict = {}

_EVERY_INTERFACE = ("", "0.0.0.0", "::")


def policy_for(listen: str, port: int):
    """The ``crossguard.Policy`` for ComfyUI's ``--listen`` value and ``--port``."""
    from crossguard import Policy

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


def _install() -> None:
    import crossguard.aiohttp
    from comfy.cli_args import args
    from server import PromptServer

    policy = policy_for(args.listen or "", args.port)
    PromptServer.instance.app.middlewares.insert(0, crossguard.aiohttp.middleware(policy))
    logging.info("crossguard: guarding ComfyUI's server (preset %s)", policy.preset)


_install()
