"""ComfyUI's ``--listen`` and ``--port`` options, as ComfyUI defines them: ``--listen`` defaults
to ``127.0.0.1``, alone means ``0.0.0.0,::``, and takes a comma-separated list."""

import argparse

parser = argparse.ArgumentParser()
parser.add_argument("--listen", type=str, default="127.0.0.1", nargs="?", const="0.0.0.0,::")
parser.add_argument("--port", type=int, default=8188)
parser.add_argument("--custom-nodes", type=str, required=True)
args = parser.parse_args()
