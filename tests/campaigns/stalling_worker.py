"""A real Celery worker for the crash test: it claims a campaign send (committed), then stalls before handing the
message to the email backend, until the test kills the process with SIGKILL.

Run as `celery -A tests.campaigns.stalling_worker worker ...` with CAMPAIGN_STALL_MARKER naming a file to touch.
"""

import os
import time
from pathlib import Path

from celery.signals import worker_ready

from crm.celery import app

__all__ = ["app"]


@worker_ready.connect
def stall_between_claim_and_send(**kwargs):
    from campaigns import sending

    def claimed_then_stall(send_id, mail_connection):
        Path(os.environ["CAMPAIGN_STALL_MARKER"]).write_text(str(send_id))
        time.sleep(600)

    sending._deliver = claimed_then_stall
