"""The arrival pipeline itself: one batch or one lead, the identity lock's bounds and order, the duplicate rule."""

import threading

import pytest
from django.db import connection, transaction

from crm.clock import now
from leads.intake.pipeline import (
    IDENTITY_LOCK_CLASS,
    IDENTITY_LOCK_SLOTS,
    Arriving,
    arrivals_match,
    arrivals_store,
)
from leads.models import Lead, ResponseClock, StageChange
from tests.factories import LeadFactory, ResponsePolicyFactory


def _identity_locks_held() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND classid = %s",
            [IDENTITY_LOCK_CLASS],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_a_big_batch_takes_at_most_the_lock_slots_and_one_lead_one_or_two():
    with transaction.atomic():
        arrivals_match([Arriving(facts={"name": "Ada", "email": "ada@example.com", "phone": "+1 415 555 0100"})])
        assert 1 <= _identity_locks_held() <= 2
    with transaction.atomic():
        batch = [
            Arriving(facts={"name": f"P{i}", "email": f"p{i}@example.com"}, row_key=f"{i:064x}") for i in range(3000)
        ]
        arrivals_match(batch)
        assert _identity_locks_held() == IDENTITY_LOCK_SLOTS


@pytest.mark.django_db
def test_a_batch_is_stored_with_history_clocks_and_the_duplicate_rule(channel):
    ResponsePolicyFactory(target_minutes=60)
    stored = LeadFactory(email="known@example.com", email_normalized="known@example.com")
    batch = [
        Arriving(facts={"name": "Known", "email": "KNOWN@example.com", "channel": channel}),
        Arriving(facts={"name": "New", "email": "new@example.com", "channel": channel}),
        Arriving(facts={"name": "New again", "email": "new@example.com", "channel": channel}),
        Arriving(facts={"name": "Won", "stage": "won", "deal_value": 100, "won_at": now(), "channel": channel}),
    ]
    with transaction.atomic():
        arrivals_match(batch)
        assert [a.duplicate_of for a in batch] == [stored, None, None, None]
        assert batch[2].earlier is batch[1]
        records = arrivals_store([a for a in batch if a.is_new], user=None)
    assert len(records) == 2 and Lead.objects.count() == 3
    new = Lead.objects.get(name="New")
    assert list(new.stage_changes.values_list("to_stage", flat=True)) == ["new"]
    assert sorted(Lead.objects.get(name="Won").stage_changes.values_list("to_stage", flat=True)) == ["new", "won"]
    assert ResponseClock.objects.filter(lead=new).exists()
    assert not ResponseClock.objects.filter(lead__name="Won").exists()  # closed: no clock


@pytest.mark.django_db(transaction=True)
def test_two_batches_locking_the_same_people_in_opposite_orders_never_deadlock():
    people = [f"person{i}@example.com" for i in range(40)]
    barrier = threading.Barrier(2)
    errors = []

    def arrive(emails):
        try:
            barrier.wait()
            with transaction.atomic():
                batch = [Arriving(facts={"name": email, "email": email}) for email in emails]
                arrivals_match(batch)
                arrivals_store([a for a in batch if a.is_new], user=None)
        except Exception as error:  # reported to the test, which asserts there were none
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=arrive, args=(p,)) for p in (people, people[::-1])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert Lead.objects.count() == 40 and StageChange.objects.count() == 40
