"""The duplicates page: groups of leads sharing a normalised email or phone, for managers and admins."""

import datetime as dt

import pytest
from django.urls import reverse

from crm import clock
from leads.dedupe import services as dedupe
from tests.factories import LeadFactory

URL = reverse("leads:duplicates")


def _lead(email="", phone="", **kwargs):
    from leads.normalize import normalize_phone

    return LeadFactory(email=email, phone=phone, phone_normalized=normalize_phone(phone), **kwargs)


def test_rep_is_refused(client, rep):
    client.force_login(rep)
    assert client.get(URL).status_code == 403


def test_groups_are_leads_sharing_a_normalised_email(client, manager, twins):
    keep, twin = twins
    LeadFactory(owner=keep.owner, email="someone.else@example.com")
    client.force_login(manager)
    response = client.get(URL)
    assert response.status_code == 200
    [group] = response.context["page"].groups
    assert group.value == "grace@navy.mil"
    assert group.size == 2
    assert [lead.pk for lead in group.leads] == [keep.pk, twin.pk]  # oldest first
    body = response.content.decode()
    assert "Grace Hopper" in body and "G. Hopper" in body and "US Navy" in body


def test_phone_groups_ignore_formatting_and_blank_phones(admin_user, rep):
    a = _lead(phone="+49 30 1234567", owner=rep)
    b = _lead(phone="+49 (30) 123-4567", owner=rep)
    _lead(phone="", owner=rep)
    _lead(phone="", owner=rep)
    page = dedupe.duplicate_groups(user=admin_user, key="phone")
    assert [(g.value, [lead.pk for lead in g.leads]) for g in page.groups] == [("+49301234567", [a.pk, b.pk])]
    # Blank emails never form a group either.
    assert dedupe.duplicate_groups(user=admin_user, key="email").groups == []


def test_manager_sees_only_groups_among_leads_they_may_merge(manager, rep, other_rep, pool_lead):
    LeadFactory(owner=other_rep, email="shared@example.com")
    LeadFactory(owner=other_rep, email="shared@example.com")
    # One of the team's leads and one of another team's: only one of them is the manager's, so no group.
    LeadFactory(owner=rep, email="half@example.com")
    LeadFactory(owner=other_rep, email="half@example.com")
    # The team's lead and a pool lead: both are the manager's to merge.
    pool_lead.email = pool_lead.email_normalized = "pool@example.com"
    pool_lead.save()
    LeadFactory(owner=rep, email="pool@example.com")
    page = dedupe.duplicate_groups(user=manager, key="email")
    assert [g.value for g in page.groups] == ["pool@example.com"]


def test_admin_sees_every_group(admin_user, rep, other_rep):
    LeadFactory(owner=other_rep, email="shared@example.com")
    LeadFactory(owner=rep, email="shared@example.com")
    assert [g.value for g in dedupe.duplicate_groups(user=admin_user).groups] == ["shared@example.com"]


def test_groups_are_paged_by_keyset(client, admin_user, rep):
    for n in range(5):
        LeadFactory.create_batch(2, owner=rep, email=f"dup{n}@example.com")
    first = dedupe.duplicate_groups(user=admin_user, limit=2)
    assert [g.value for g in first.groups] == ["dup0@example.com", "dup1@example.com"]
    assert first.next_after == "dup1@example.com"
    second = dedupe.duplicate_groups(user=admin_user, after=first.next_after, limit=2)
    assert [g.value for g in second.groups] == ["dup2@example.com", "dup3@example.com"]
    last = dedupe.duplicate_groups(user=admin_user, after=second.next_after, limit=2)
    assert [g.value for g in last.groups] == ["dup4@example.com"]
    assert last.next_after is None

    client.force_login(admin_user)
    response = client.get(URL, {"after": "dup2@example.com"})
    assert [g.value for g in response.context["page"].groups] == ["dup3@example.com", "dup4@example.com"]


def test_a_big_group_shows_its_oldest_leads_and_says_how_many_more(admin_user, rep):
    start = clock.now() - dt.timedelta(days=30)
    leads = [
        LeadFactory(owner=rep, email="switchboard@example.com", created_at=start + dt.timedelta(hours=n))
        for n in range(dedupe.LEADS_PER_GROUP + 3)
    ]
    [group] = dedupe.duplicate_groups(user=admin_user).groups
    assert group.size == dedupe.LEADS_PER_GROUP + 3
    assert [lead.pk for lead in group.leads] == [lead.pk for lead in leads[: dedupe.LEADS_PER_GROUP]]
    assert group.hidden == 3


def test_page_query_count_does_not_grow_with_groups(client, admin_user, rep, teammate, django_assert_max_num_queries):
    for n in range(dedupe.GROUPS_PER_PAGE + 5):
        LeadFactory(owner=rep, email=f"dup{n:02}@example.com")
        LeadFactory(owner=teammate if n % 2 else None, email=f"dup{n:02}@example.com")
    client.force_login(admin_user)
    # Session and user, the groups, their leads (with owners and channels): nothing per group or per lead.
    with django_assert_max_num_queries(6):
        response = client.get(URL)
    assert len(response.context["page"].groups) == dedupe.GROUPS_PER_PAGE
    assert "Next groups" in response.content.decode()


def test_manager_page_query_count(client, manager, rep, django_assert_max_num_queries):
    for n in range(10):
        LeadFactory.create_batch(3, owner=rep, email=f"dup{n}@example.com")
    client.force_login(manager)
    with django_assert_max_num_queries(6):
        response = client.get(URL, {"by": "email"})
    assert len(response.context["page"].groups) == 10


def test_htmx_request_gets_the_groups_partial(client, manager, twins, htmx):
    client.force_login(manager)
    response = client.get(URL, headers=htmx)
    body = response.content.decode()
    assert 'id="groups"' in body and "<html" not in body


def test_unknown_key_falls_back_to_email(client, manager, twins):
    client.force_login(manager)
    response = client.get(URL, {"by": "fax"})
    assert response.status_code == 200
    assert response.context["key"] == "email"


@pytest.mark.parametrize("user_fixture, shown", [("manager", True), ("admin_user", True), ("rep", False)])
def test_leads_list_links_to_duplicates_for_managers_and_admins(db, client, request, user_fixture, shown):
    # `db` named here: with the user only asked for by name, pytest-django ran this test among the database-less
    # ones at the end of the suite, and its connection was still open when the test database was dropped.
    client.force_login(request.getfixturevalue(user_fixture))
    body = client.get(reverse("leads:list")).content.decode()
    assert (URL in body) is shown


def test_no_duplicates_says_so(client, admin_user, rep):
    LeadFactory(owner=rep, email="one@example.com")
    LeadFactory(owner=rep, email="two@example.com")
    client.force_login(admin_user)
    response = client.get(URL)
    assert response.status_code == 200
    assert "No likely duplicates" in response.content.decode()
    assert "Next groups" not in response.content.decode()
