"""Starts the ComfyUI stand-in the way ComfyUI's ``main.py`` does: create the ``PromptServer``,
import every folder of the custom-nodes directory by its ``__init__.py`` (as ComfyUI's
``nodes.load_custom_node`` does: a module named after the folder, put in ``sys.modules`` and
executed), add the routes, then serve on each ``--listen`` address.

``python main.py --listen 127.0.0.1 --port PORT --custom-nodes DIR``
"""

import importlib.util
import sys
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))

import server  # noqa: E402
from comfy.cli_args import args  # noqa: E402


def load_custom_nodes(directory: Path) -> None:
    for folder in sorted(directory.iterdir()):
        init = folder / "__init__.py"
        if not init.is_file():
            continue
        spec = importlib.util.spec_from_file_location(folder.name, init)
        if spec is None or spec.loader is None:
            continue
        module = importlib.util.module_from_spec(spec)
        sys.modules[folder.name] = module
        spec.loader.exec_module(module)
        print("loaded custom node", folder.name, flush=True)


def main() -> None:
    prompt_server = server.PromptServer()
    load_custom_nodes(Path(args.custom_nodes))
    prompt_server.add_routes()
    hosts = [address for address in args.listen.split(",")]
    web.run_app(prompt_server.app, host=hosts, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
