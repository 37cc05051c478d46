"""crossguard for ComfyUI: refuses cross-site requests, cross-site WebSocket hijacking and DNS
rebinding before any ComfyUI route sees them (see ``crossguard.comfyui``).

Install: ``pip install crossguard`` into ComfyUI's Python, then put this folder (or a folder
with this file) into ``ComfyUI/custom_nodes/``.
"""

from crossguard.comfyui import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS, install

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]

install()
