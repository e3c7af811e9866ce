"""What the embedded servers (crm.embedded_db, crm.embedded_broker) share: their folder and their command line."""

import os
import sys
from collections.abc import Callable
from pathlib import Path


def default_var_dir() -> Path:
    # The same folder the settings use (CRM_VAR_DIR, or var/ beside manage.py), read without importing them.
    return Path(os.environ.get("CRM_VAR_DIR") or Path(__file__).resolve().parent.parent / "var")


def command_line(
    argv: list[str],
    *,
    what: str,
    module: str,
    url: Callable[[Path], str],
    stop: Callable[[Path], bool],
    is_running: Callable[[Path], bool],
) -> int:
    """`python -m MODULE [start|url|stop|status]`: start (printing the URL), stop, or tell whether it runs."""
    command = argv[1] if len(argv) > 1 else "url"
    var_dir = default_var_dir()
    if command in ("start", "url"):
        print(url(var_dir))
    elif command == "stop":
        print(f"{what} stopped." if stop(var_dir) else f"{what} was not running.")
    elif command == "status":
        print("running" if is_running(var_dir) else "stopped")
    else:
        print(f"usage: python -m {module} [start|url|stop|status], not {command!r}", file=sys.stderr)
        return 2
    return 0
