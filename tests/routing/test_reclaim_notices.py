"""Item 6 of issue 15: pool notices that say what they mean. The reclaim notice opens exactly the leads it
counts; a lead already taken keeps no other rule's "goes back on …" warning; an admin sees how many leads a rule
would take before switching it on; My day lists the leads at risk."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from crm.models import Notification
from leads import services
from leads.at_risk import leads_at_risk
from leads.models import Lead, ReclaimRule, ResponseClock
from leads.routing import reclaim
from tests.factories import LeadFactory
from tests.routing.conftest import at

pytestmark = pytest.mark.django_db


def _rule(admin, **fields) -> ReclaimRule:
    fields = {"name": "Untouched 3 days", "kind": "no_outbound", "days": 3, "warn_hours": 0, **fields}
    return reclaim.reclaim_rule_save(user=admin, rule=ReclaimRule(**fields))


def _leads(owner, *names, when=(2026, 5, 4, 9, 0)):
    with at(*when):
        return [services.lead_create(user=owner, name=name) for name in names]


def test_the_reclaim_notice_opens_exactly_the_leads_it_counts(client, admin_user, rep, pool_lead):
    _rule(admin_user)
    taken = _leads(rep, "Ada", "Grace")
    with at(2026, 5, 8, 9, 0):
        assert reclaim.reclaim_sweep().reclaimed == 2
    notice = Notification.objects.get(user=rep, key__startswith="reclaimed:")
    assert notice.text.startswith("2 of your leads went back to the pool")
    client.force_login(rep)
    page = client.get(notice.url).content.decode()
    assert all(lead.name in page for lead in taken)
    assert pool_lead.name not in page  # the rest of the pool is not in this notice's list
    assert "Taken back by reclaim" in page  # the filter is shown, so the rep can clear it


def test_a_lead_taken_by_one_rule_keeps_no_other_rules_warning(admin_user, rep):
    _rule(admin_user, name="No progress 5 days", kind="no_progress", days=5, warn_hours=48)
    _rule(admin_user, name="No call 3 days", days=3, warn_hours=24)
    (lead,) = _leads(rep, "Ada")
    with at(2026, 5, 6, 9, 30):
        assert reclaim.reclaim_sweep().warned == 1  # "goes back to the pool on 07 May" (No call 3 days)
    with at(2026, 5, 7, 9, 10):
        assert reclaim.reclaim_sweep().warned == 1  # "… on 09 May" (No progress 5 days)
    assert Notification.objects.filter(user=rep, key__startswith="reclaim-warning:").count() == 2
    with at(2026, 5, 7, 9, 30):
        assert reclaim.reclaim_sweep().reclaimed == 1  # the 3-day rule takes it
    assert Lead.objects.get(pk=lead.pk).owner is None
    remaining = list(Notification.objects.filter(user=rep).values_list("text", flat=True))
    assert [text for text in remaining if "goes back to the pool on" in text] == []
    assert remaining == [
        "Ada went back to the pool (No call 3 days: no outbound interaction within 3 days of assignment)."
    ]


def test_an_admin_sees_how_many_leads_a_rule_would_take_before_switching_it_on(client, admin_user, rep, other_rep):
    _leads(rep, "Ada", "Grace", "Linus")
    _leads(other_rep, "Barbara")
    _leads(rep, "Fresh", when=(2026, 5, 8, 8, 0))
    rule = _rule(admin_user, active=False, warn_hours=24)
    client.force_login(admin_user)
    with at(2026, 5, 7, 12, 0):
        # 4 leads past 3 days (less the 24 h warning) since their assignment; "Fresh" is not.
        assert reclaim.reclaim_rule_preview(rule).label == "4"
        listing = client.get(reverse("leads:routing_rules")).content.decode()
        assert "would take 4 leads if switched on now" in listing
        form = client.get(reverse("leads:reclaim_rule_edit", args=[rule.pk])).content.decode()
        assert "warn the owners of <strong>4</strong> leads" in form
        # A dry run of the form as filled in (2 days): nothing saved.
        response = client.post(
            reverse("leads:reclaim_rule_edit", args=[rule.pk]),
            {"name": rule.name, "kind": "no_outbound", "days": 6, "warn_hours": 0, "action": "pool", "preview": "1"},
        )
        assert "take <strong>0</strong> leads" in response.content.decode()
        assert ReclaimRule.objects.get(pk=rule.pk).days == 3
        # Switched on as previewed, the sweeps take those four.
        rule.active = True
        rule.save()
    with at(2026, 5, 7, 12, 0):
        assert reclaim.reclaim_sweep().warned == 4
    with at(2026, 5, 8, 12, 1):
        assert reclaim.reclaim_sweep().reclaimed == 4


def test_my_day_lists_the_leads_about_to_be_reclaimed_or_to_miss_their_response_target(rep_client, admin_user, rep):
    _rule(admin_user, warn_hours=24)
    old, _ = _leads(rep, "Ada Old", "Grace Old")
    with at(2026, 5, 6, 10, 0):
        (answered,) = _leads(rep, "Linus Answered", when=(2026, 5, 4, 9, 0))
        services.interaction_log(lead=answered, user=rep, kind="call", outcome="connected")
        (fresh,) = _leads(rep, "Barbara Fresh", when=(2026, 5, 6, 9, 50))
        ResponseClock.objects.update_or_create(
            lead=fresh,
            defaults={"arrived_at": fresh.created_at, "due_at": dt.datetime(2026, 5, 6, 10, 30, tzinfo=dt.UTC)},
        )
        LeadFactory(owner=rep, name="Calm Lead")
        items = leads_at_risk(user=rep)
        assert [item.lead.name for item in items] == ["Barbara Fresh", "Ada Old", "Grace Old"]
        assert [item.why for item in items] == ["response", "reclaim", "reclaim"]
        html = rep_client.get("/").content.decode()
    assert 'id="at-risk"' in html and "back to the pool" in html and "answer by 10:30" in html
    assert old.name in html
    with time_machine.travel(dt.datetime(2026, 5, 6, 10, 0, tzinfo=dt.UTC), tick=False):
        assert (
            "Linus Answered" not in rep_client.get("/").content.decode().split('id="at-risk"')[1].split("</section>")[0]
        )
