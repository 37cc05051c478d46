"""The ``crossguard`` command: ``python -m crossguard`` and the ``crossguard`` console script.

It is the same program as the Rust binary (``check``, ``proxy``, ``forward-auth``), run by the
compiled extension.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import Sequence

from crossguard import _native


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``crossguard`` command line ``argv`` (default: ``sys.argv[1:]``).

    Returns the command's exit status when called with ``argv``; as the console script, exits
    with it. ``SIGINT`` and ``SIGTERM`` are left to the command (``proxy`` shuts down on them).
    """
    as_script = argv is None
    args = ["crossguard", *(sys.argv[1:] if argv is None else argv)]
    if threading.current_thread() is threading.main_thread():
        # Python's own SIGINT handler would only set a flag while the command runs; give the
        # signal back to the system default, which the command replaces while it serves.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    status = _native.main([sys.executable, "-m", "crossguard"], args)
    if as_script:
        sys.exit(status)
    return status


if __name__ == "__main__":
    main()
