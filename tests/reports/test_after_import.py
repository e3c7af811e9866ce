"""An import's leads are in the reports when it says it is done: `leads.signals.import_finished` (sent by the
import with the days it touched) makes reports rebuild those days, on the command line and in the Celery job."""

import datetime as dt
import io

import pytest
from django.core.management import call_command

from leads.imports import services as imports
from leads.models import ImportJob
from leads.signals import import_finished
from reports.models import DailyLeadStats, StatsRefresh
from reports.services import stats_refresh
from tests.factories import LeadFactory
from tests.imports.conftest import csv_text

pytestmark = pytest.mark.django_db

FILE = csv_text(
    "name,email,created_at,stage,won_at,deal_value",
    "Ada,ada@example.com,2024-01-05,won,2024-02-01,1200",
    "Bob,bob@example.com,2024-01-05,lost,,",
    "Cy,cy@example.com,2024-01-07,new,,",
)


def figures() -> dict[dt.date, tuple[int, int, int]]:
    rows = DailyLeadStats.objects.values_list("day", "leads", "won", "lost")
    totals: dict[dt.date, tuple[int, int, int]] = {}
    for day, leads, won, lost in rows:
        before = totals.get(day, (0, 0, 0))
        totals[day] = (before[0] + leads, before[1] + won, before[2] + lost)
    return totals


def test_the_command_line_import_refreshes_the_days_it_touched(tmp_path):
    stats_refresh()  # the periodic refresh ran before the import: its bookmark is now
    path = tmp_path / "history.csv"
    path.write_text(FILE)
    out = io.StringIO()
    call_command("import_leads", str(path), stdout=out)
    assert "Report figures refreshed for 2 days." in out.getvalue()
    assert figures() == {dt.date(2024, 1, 5): (2, 1, 1), dt.date(2024, 1, 7): (1, 0, 0)}


def test_the_celery_job_refreshes_its_days_before_it_is_done(admin_user):
    seen = []

    def watch(sender, days, job_id, **kwargs):  # what a receiver is told, and when: the job is not done yet
        seen.append((days, job_id, ImportJob.objects.get(pk=job_id).status))

    import_finished.connect(watch)
    try:
        job = imports.import_job_create(user=admin_user, file_name="history.csv", data=FILE.encode())
        imports.import_job_start(job=job, user=admin_user)
        imports.import_job_run(job_id=job.pk)
    finally:
        import_finished.disconnect(watch)
    assert seen == [([dt.date(2024, 1, 5), dt.date(2024, 1, 7)], job.pk, "running")]
    job.refresh_from_db()
    assert (job.status, job.days_touched) == ("done", ["2024-01-05", "2024-01-07"])
    assert figures() == {dt.date(2024, 1, 5): (2, 1, 1), dt.date(2024, 1, 7): (1, 0, 0)}


def test_only_the_days_touched_are_rebuilt_and_a_failing_receiver_does_not_fail_the_import(admin_user):
    other_day = LeadFactory(created_at=dt.datetime(2024, 3, 1, 12, tzinfo=dt.UTC))
    stats_refresh(full=True)
    DailyLeadStats.objects.filter(day=dt.date(2024, 3, 1)).update(leads=99)  # a day the import must not touch

    def broken(**kwargs):
        raise RuntimeError("reports are away")

    import_finished.connect(broken)
    try:
        job = imports.import_job_create(user=admin_user, file_name="history.csv", data=FILE.encode())
        imports.import_job_start(job=job, user=admin_user)
        imports.import_job_run(job_id=job.pk)
    finally:
        import_finished.disconnect(broken)
    assert ImportJob.objects.get(pk=job.pk).status == "done"
    assert figures()[dt.date(2024, 1, 5)] == (2, 1, 1) and figures()[other_day.created_at.date()][0] == 99
    assert StatsRefresh.objects.get(pk=1).full_rebuild_at is not None  # the periodic refresh's bookmark is its own


def test_a_dry_run_refreshes_nothing(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(FILE)
    call_command("import_leads", str(path), "--dry-run", stdout=io.StringIO())
    assert not DailyLeadStats.objects.exists()
