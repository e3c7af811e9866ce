"""The servers `make run` starts when no DATABASE_URL is set: a real PostgreSQL in a folder of its own here,
started, found running by a second caller, stopped, and started again on the same data."""

import psycopg

from crm import embedded_db


def test_the_embedded_database_starts_once_keeps_its_data_across_a_restart_and_has_pg_trgm(tmp_path):
    try:
        url = embedded_db.database_url(tmp_path)
        assert embedded_db.is_running(tmp_path)
        assert embedded_db.database_url(tmp_path) == url  # a second process finds it running
        with psycopg.connect(url, autocommit=True) as connection:
            assert connection.execute("SELECT current_database()").fetchone() == ("crm",)
            connection.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            connection.execute("CREATE TABLE kept (word text)")
            connection.execute("INSERT INTO kept VALUES ('still here')")
        assert embedded_db.stop(tmp_path)
        assert not embedded_db.is_running(tmp_path)
        assert not embedded_db.stop(tmp_path)  # stopping a stopped server is a no-op
        # What a process killed while the wheel rewrote its list of handles leaves behind.
        (tmp_path / "pgdata" / ".handle_pids.json").write_text("")

        with psycopg.connect(embedded_db.database_url(tmp_path)) as connection:
            assert connection.execute("SELECT word FROM kept").fetchall() == [("still here",)]
            assert connection.execute("SELECT similarity('lead', 'leads') > 0.5").fetchone() == (True,)
    finally:
        embedded_db.stop(tmp_path)
