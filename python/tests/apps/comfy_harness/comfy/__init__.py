"""Stands in for ComfyUI's ``comfy`` package (only ``comfy.cli_args``)."""
