"""Demo campaigns: created once over the demo leads, with figures of every kind."""

import io

import pytest
from django.core.management import call_command

from campaigns.models import Campaign, Member, Send
from leads.models import Interaction

pytestmark = pytest.mark.django_db


def test_seed_campaigns_fills_every_kind_once(settings):
    settings.DEBUG = True
    call_command("seed_demo", "--leads", "600", "--seed", "3", stdout=io.StringIO())
    out = io.StringIO()
    call_command("seed_campaigns", stdout=out)
    assert "5 demo campaigns created" in out.getvalue()
    assert set(Campaign.objects.values_list("kind", flat=True)) == {"email", "event", "ad", "content"}
    arrived = Member.objects.filter(source=Member.Source.ARRIVAL)
    assert arrived.exists() and set(arrived.values_list("campaign__kind", flat=True)) <= {"ad", "content"}
    assert Send.objects.filter(state="sent", opened_at__isnull=False).exists()
    assert Send.objects.filter(step__position=2).exists() and Member.objects.filter(attended_at__isnull=False).exists()
    assert Interaction.objects.filter(kind=Interaction.Kind.EMAIL_OPEN).exists()
    call_command("seed_campaigns", stdout=out)
    assert Campaign.objects.count() == 5
