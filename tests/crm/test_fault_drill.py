"""The operators' fault drill (bench/fault_drill.py) passes against a live server: its concurrency scenarios here,
the outage ones by hand against `make run` (they stop the database and the broker)."""

import pytest

from bench import fault_drill

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_fault_drill_passes_and_cleans_up_after_itself(live_server, admin_user):
    from leads.models import ApiToken, Lead

    token, raw = fault_drill.drill_token()
    drill = fault_drill.Drill(live_server.url, raw, run="test")
    fault_drill.retries_with_one_key(drill)
    fault_drill.one_person_at_once(drill)
    fault_drill.event_redelivered(drill)
    assert drill.failures == []
    assert Lead.objects.filter(email_normalized__endswith="@fault-drill.invalid").count() == 3
    fault_drill.clean_up(drill.run, token)
    assert not Lead.objects.filter(email_normalized__endswith="@fault-drill.invalid").exists()
    assert not ApiToken.objects.filter(pk=token.pk).exists()
