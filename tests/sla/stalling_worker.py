"""A real Celery worker for the crash test: the sweep stalls right after storing its notices, inside its
transaction (rows locked, nothing committed), until the test kills the process with SIGKILL.

Run as `celery -A tests.sla.stalling_worker worker ...` with SLA_STALL_MARKER naming a file to touch.
"""

import os
import time
from pathlib import Path

from celery.signals import worker_ready

from crm.celery import app

__all__ = ["app"]


@worker_ready.connect
def stall_after_the_notices_are_stored(**kwargs):
    from leads.sla import services as sla_services

    store = sla_services.notifications_send

    def store_then_stall(**store_kwargs):
        store(**store_kwargs)
        Path(os.environ["SLA_STALL_MARKER"]).write_text("claimed")
        time.sleep(600)

    sla_services.notifications_send = store_then_stall
