"""The servers `make run` starts when no DATABASE_URL / CELERY_BROKER_URL is set: real PostgreSQL and Redis, each
in a folder of its own here, started, found running by a second caller, stopped, and started again on the same
data."""

import psycopg
import redis

from crm import embedded_broker, embedded_db


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


def test_the_embedded_broker_starts_once_and_keeps_queued_messages_across_a_restart(tmp_path):
    try:
        url = embedded_broker.broker_url(tmp_path)
        assert url == f"redis+socket://{tmp_path.resolve() / 'redis.sock'}"
        assert embedded_broker.broker_url(tmp_path) == url
        client = redis.Redis(unix_socket_path=str(tmp_path / "redis.sock"))
        client.lpush("celery", "a queued task")
        client.close()
        assert embedded_broker.stop(tmp_path)
        assert not embedded_broker.is_running(tmp_path)
        assert not embedded_broker.stop(tmp_path)

        embedded_broker.broker_url(tmp_path)
        client = redis.Redis(unix_socket_path=str(tmp_path / "redis.sock"))
        assert client.lrange("celery", 0, -1) == [b"a queued task"]
        client.close()
    finally:
        embedded_broker.stop(tmp_path)
