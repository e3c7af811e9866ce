"""The import runs in the background on a real Celery worker (Redis broker), the page's figures moving."""

import pytest
from django.db import transaction

from leads.imports import services as imports
from leads.models import ImportJob, Lead
from tests.workers import own_queue, wait_for, worker_on

pytestmark = pytest.mark.django_db(transaction=True)

QUEUE = "imports-celery"  # this module's own queue: no other test's tasks reach its worker, nor its tasks theirs


@pytest.fixture
def worker():
    with own_queue(QUEUE), worker_on(QUEUE):
        yield


def test_a_started_import_is_run_by_the_worker_chunk_by_chunk(worker, admin_user, settings):
    settings.IMPORT_CHUNK_SIZE = 50
    lines = ["name,email"] + [f"Person {i},p{i}@example.com" for i in range(240)] + [",bad@"]
    job = imports.import_job_create(user=admin_user, file_name="big.csv", data="\n".join(lines).encode())
    with transaction.atomic():
        imports.import_job_configure(
            job=job, user=admin_user, mapping=job.mapping, options=imports.ImportOptions.from_dict(job.options)
        )
        imports.import_job_start(job=job, user=admin_user)
    wait_for(lambda: ImportJob.objects.get(pk=job.pk).is_finished, what="the import finishing")
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.created, job.rejected, job.percent) == ("done", 241, 240, 1, 100)
    assert Lead.objects.count() == 240
