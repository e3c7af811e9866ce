"""Fault drill: rerun against a running deployment to check that nothing is lost and nothing doubled.

    python -m bench.fault_drill                     # make run's server on 127.0.0.1:8000, embedded DB and broker
    python -m bench.fault_drill --url https://crm.example.com \\
        --broker-stop "systemctl stop redis" --broker-start "systemctl start redis" \\
        --db-stop "systemctl stop postgresql" --db-start "systemctl start postgresql"

It talks to the web server over HTTP, as clients do, and counts rows in the deployment's own database (run it on
a machine with the deployment's environment: DATABASE_URL, or the embedded default under `var/`). Each scenario
prints PASS or FAIL with the counts it checked; the exit status is the number of failures.

1. Eight concurrent retries of one API call with one Idempotency-Key: one lead, eight identical answers.
2. Eight concurrent arrivals of one person without a key: one lead, seven repeat submissions on it.
3. Four concurrent redeliveries of one event (same event_id, no key): one interaction.
4. Broker down (with --broker-stop/--broker-start, or the embedded broker): a new lead answers 201 and is
   stored once; /health/ says the broker is down but the app serves; after the restart a retry replays.
5. Database down (with --db-stop/--db-start, or the embedded database): the API answers 503 in JSON with
   Retry-After, /health/ 503; after the restart the same server creates leads again, no restart needed.

The drill works on its own channel ("Fault drill") with addresses under @fault-drill.invalid, and deletes its
leads at the end (`--keep` leaves them to look at). Scenarios 4 and 5 stop real services: run them on a
deployment where a minute without the broker or database is acceptable, or pass --skip-outages.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field

EMBEDDED_BROKER = (f"{sys.executable} -m crm.embedded_broker stop", f"{sys.executable} -m crm.embedded_broker start")
EMBEDDED_DB = (f"{sys.executable} -m crm.embedded_db stop", f"{sys.executable} -m crm.embedded_db start")
DOMAIN = "fault-drill.invalid"


@dataclass
class Answer:
    status: int
    body: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)


class Drill:
    def __init__(self, url: str, token: str, run: str):
        self.url, self.token, self.run = url.rstrip("/"), token, run
        self.failures: list[str] = []

    # --- HTTP, as a client sees it ------------------------------------------------------------------------------

    def call(self, method: str, path: str, body: dict | None = None, **headers: str) -> Answer:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Content-Type", "application/json")
        for name, value in headers.items():
            request.add_header(name.replace("_", "-"), value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, _json(response.read()), dict(response.headers))
        except urllib.error.HTTPError as error:
            return Answer(error.code, _json(error.read()), dict(error.headers))

    def together(self, calls: list) -> list[Answer]:
        barrier, answers = threading.Barrier(len(calls)), [None] * len(calls)

        def run(index, call):
            barrier.wait()
            try:
                answers[index] = call()
            except Exception as error:  # a refused connection: the scenario's check reports it
                answers[index] = Answer(0, {"error": repr(error)})

        threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        return answers

    def email(self, name: str) -> str:
        return f"{name}-{self.run}@{DOMAIN}"

    # --- Verdicts ------------------------------------------------------------------------------------------------

    def check(self, scenario: str, ok: bool, said: str) -> None:
        print(f"  {'PASS' if ok else 'FAIL'}  {scenario}: {said}")
        if not ok:
            self.failures.append(scenario)


def _json(raw: bytes) -> dict:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {"not_json": raw[:200].decode(errors="replace")}
    return value if isinstance(value, dict) else {"value": value}


def _shell(command: str) -> None:
    print(f"    $ {command}")
    subprocess.run(shlex.split(command), check=True, stdout=subprocess.DEVNULL)


def _leads(email: str) -> int:
    from django.db import connection

    from leads.models import Lead

    connection.close()  # the database may have restarted since the last count
    return Lead.objects.filter(email_normalized=email).count()


def _interactions(email: str, **filters) -> int:
    from leads.models import Interaction

    return Interaction.objects.filter(lead__email_normalized=email, **filters).count()


def _wait_for(predicate, seconds: float) -> bool:
    """Poll until `predicate()` holds (an event: the server is back), at most `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:
            pass
        time.sleep(0.5)
    return False


# --- Scenarios ---------------------------------------------------------------------------------------------------


def retries_with_one_key(drill: Drill) -> None:
    email, key = drill.email("retry"), f"drill-{drill.run}-retry"
    body = {"name": "Drill Retry", "email": email}
    answers = drill.together([lambda: drill.call("POST", "/api/v1/leads/", body, Idempotency_Key=key)] * 8)
    statuses = sorted(a.status for a in answers)
    same = all(a.body == answers[0].body for a in answers)
    leads = _leads(email)
    drill.check("retries with one key", statuses == [201] * 8 and same and leads == 1, f"{statuses}, {leads} lead")


def one_person_at_once(drill: Drill) -> None:
    email = drill.email("arrival")
    calls = [
        (lambda i=i: drill.call("POST", "/api/v1/leads/", {"name": f"Drill {i}", "email": email, "message": str(i)}))
        for i in range(8)
    ]
    statuses = sorted(a.status for a in drill.together(calls))
    leads, repeats = _leads(email), _interactions(email, kind="form_submission")
    ok = statuses == [200] * 7 + [201] and leads == 1 and repeats == 7
    drill.check("one person arriving 8 times at once", ok, f"{statuses}, {leads} lead, {repeats} repeat submissions")


def event_redelivered(drill: Drill) -> None:
    email = drill.email("event")
    created = drill.call("POST", "/api/v1/leads/", {"name": "Drill Event", "email": email})
    if created.status != 201:
        drill.check("event redelivered", False, f"could not create its lead: {created.status} {created.body}")
        return
    body = {"kind": "download", "lead_id": created.body["lead"]["id"], "event_id": f"drill-{drill.run}"}
    statuses = sorted(a.status for a in drill.together([lambda: drill.call("POST", "/api/v1/events/", body)] * 4))
    events = _interactions(email, kind="download")
    drill.check(
        "event redelivered 4 times at once",
        statuses == [200, 200, 200, 201] and events == 1,
        f"{statuses}, {events} event",
    )


def broker_down(drill: Drill, stop: str, start: str) -> None:
    email, key = drill.email("broker"), f"drill-{drill.run}-broker"
    body = {"name": "Drill Broker", "email": email}
    _shell(stop)
    try:
        created = drill.call("POST", "/api/v1/leads/", body, Idempotency_Key=key)
        health = drill.call("GET", "/health/")
    finally:
        _shell(start)
    replay = drill.call("POST", "/api/v1/leads/", body, Idempotency_Key=key)
    leads = _leads(email)
    ok = created.status == 201 and health.body.get("broker") == "down" and replay.body == created.body and leads == 1
    said = f"created {created.status}, health {health.status} broker={health.body.get('broker')}, "
    drill.check("broker down at intake", ok, said + f"replay {replay.status}, {leads} lead")


def database_down(drill: Drill, stop: str, start: str) -> None:
    email = drill.email("database")
    body = {"name": "Drill Database", "email": email}
    _shell(stop)
    try:
        refused = drill.call("POST", "/api/v1/leads/", body)
        health = drill.call("GET", "/health/")
    finally:
        _shell(start)
    back = _wait_for(lambda: drill.call("GET", "/health/").status == 200, seconds=90)
    created = drill.call("POST", "/api/v1/leads/", body)
    leads = _leads(email)
    ok = (
        refused.status == 503
        and "detail" in refused.body
        and refused.headers.get("Retry-After")
        and health.status == 503
        and back
        and created.status == 201
        and leads == 1
    )
    said = f"during: API {refused.status} (Retry-After {refused.headers.get('Retry-After')}), health {health.status}; "
    drill.check("database down", bool(ok), said + f"after: API {created.status}, {leads} lead")


# --- Set-up and clean-up -----------------------------------------------------------------------------------------


def drill_token() -> tuple[object, str]:
    """A token of the drill's own channel, made by the first admin (revoked at the end)."""
    from django.contrib.auth import get_user_model

    from leads.channels import services as channel_services
    from leads.models import Channel

    admin = get_user_model().objects.filter(is_active=True, is_superuser=True).order_by("pk").first()
    if admin is None:
        raise SystemExit("No active superuser to make the drill's API token with (manage.py createsuperuser).")
    channel, _ = Channel.objects.get_or_create(name="Fault drill")
    return channel_services.api_token_create(user=admin, channel=channel, name=f"Fault drill {time.time():.0f}")


def clean_up(run: str, token) -> None:
    from django.db import connection

    from leads.models import Lead

    connection.close()
    deleted, _ = Lead.objects.filter(email_normalized__endswith=f"-{run}@{DOMAIN}").delete()
    token.delete()
    print(f"  cleaned up: {deleted} rows of this drill, its token")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fault_drill", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the running web server")
    parser.add_argument("--broker-stop", help="command that stops the broker (default: the embedded one)")
    parser.add_argument("--broker-start", help="command that starts it again")
    parser.add_argument("--db-stop", help="command that stops the database (default: the embedded one)")
    parser.add_argument("--db-start", help="command that starts it again")
    parser.add_argument("--skip-outages", action="store_true", help="only the concurrency scenarios 1-3")
    parser.add_argument("--keep", action="store_true", help="keep the drill's leads")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    import django

    django.setup()
    from django.conf import settings

    embedded_db = not os.environ.get("DATABASE_URL")
    embedded_broker = not os.environ.get("CELERY_BROKER_URL")
    broker = (
        (args.broker_stop, args.broker_start) if args.broker_stop else (EMBEDDED_BROKER if embedded_broker else None)
    )
    database = (args.db_stop, args.db_start) if args.db_stop else (EMBEDDED_DB if embedded_db else None)

    token, raw = drill_token()
    drill = Drill(args.url, raw, run=uuid.uuid4().hex[:8])
    print(f"Fault drill {drill.run} against {drill.url} (database {settings.DATABASES['default']['NAME']})")
    try:
        retries_with_one_key(drill)
        one_person_at_once(drill)
        event_redelivered(drill)
        if args.skip_outages:
            print("  skipped: broker and database outages (--skip-outages)")
        else:
            for name, commands, scenario in (("broker", broker, broker_down), ("database", database, database_down)):
                if commands is None:
                    flag = "db" if name == "database" else name
                    print(f"  skipped: {name} down (give --{flag}-stop and --{flag}-start)")
                else:
                    scenario(drill, *commands)
    finally:
        if not args.keep:
            clean_up(drill.run, token)
    print(f"{len(drill.failures)} failed" + (f": {', '.join(drill.failures)}" if drill.failures else ""))
    return len(drill.failures)


if __name__ == "__main__":
    sys.exit(main())
