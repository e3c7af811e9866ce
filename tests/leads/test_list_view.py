import datetime as dt

import pytest
from django.urls import reverse

from crm import clock
from leads.models import Lead
from tests.factories import ChannelFactory, LeadFactory

pytestmark = pytest.mark.django_db
URL = "/leads/"


def _names(response) -> list[str]:
    return [lead.name for lead in response.context["page"].rows]


def test_rep_lists_own_and_pool_leads_newest_first(rep_client, rep, teammate):
    now = clock.now()
    LeadFactory(owner=rep, name="Older", created_at=now - dt.timedelta(days=2))
    LeadFactory(owner=None, name="Pooled", created_at=now - dt.timedelta(days=1))
    LeadFactory(owner=rep, name="Newest", created_at=now)
    LeadFactory(owner=teammate, name="Not mine")
    response = rep_client.get(URL)
    assert response.status_code == 200
    assert _names(response) == ["Newest", "Pooled", "Older"]
    assert b"Not mine" not in response.content


def test_htmx_request_gets_only_the_results_partial(rep_client, lead, htmx):
    response = rep_client.get(URL, {"q": "ada"}, headers=htmx)
    assert response.status_code == 200
    assert response.content.lstrip().startswith(b'<div id="results"')
    assert b"<html" not in response.content
    assert b"Ada Lovelace" in response.content


@pytest.mark.parametrize(
    "query,expected",
    [
        ({"q": "lovelace"}, {"Ada Lovelace"}),
        ({"q": "ANALYTICAL"}, {"Ada Lovelace"}),
        ({"q": "ada@"}, set()),
        ({"q": "(415) 555-01"}, {"Phone Person"}),
        ({"stage": "won"}, {"Winner"}),
        ({"pool": "on"}, {"Pooled Person"}),
        ({"awaiting": "on"}, {"Ada Lovelace", "Pooled Person", "Phone Person"}),
        ({"grade": "A"}, {"Winner"}),
        ({"created_after": "2026-01-01", "created_before": "2026-01-31"}, {"January"}),
    ],
)
def test_filters_narrow_the_list(rep_client, rep, lead, pool_lead, query, expected):
    LeadFactory(owner=rep, name="Phone Person", phone="+1 415 555 0199", phone_normalized="+14155550199")
    LeadFactory(
        owner=rep,
        name="Winner",
        stage="won",
        deal_value=10,
        won_at=clock.now(),
        grade="A",
        score=90,
        first_response_at=clock.now(),
    )
    LeadFactory(
        owner=rep,
        name="January",
        created_at=dt.datetime(2026, 1, 15, 12, tzinfo=dt.UTC),
        first_response_at=clock.now(),
    )
    response = rep_client.get(URL, query)
    assert set(_names(response)) == expected


def test_filter_by_channel_and_owner(client, manager, rep, teammate):
    web, event = ChannelFactory(name="Web"), ChannelFactory(name="Events")
    LeadFactory(owner=rep, channel=web, name="R web")
    LeadFactory(owner=rep, channel=event, name="R event")
    LeadFactory(owner=teammate, channel=event, name="T event")
    client.force_login(manager)
    assert set(_names(client.get(URL, {"channel": event.pk}))) == {"R event", "T event"}
    assert set(_names(client.get(URL, {"channel": event.pk, "owner": rep.pk}))) == {"R event"}


def test_rep_cannot_filter_by_someone_elses_leads(rep_client, teammate):
    LeadFactory(owner=teammate, name="Hidden")
    response = rep_client.get(URL, {"owner": teammate.pk})
    assert response.status_code == 200
    assert "owner" in response.context["filter"].errors
    assert "Hidden" not in _names(response)


def test_bad_filter_values_give_a_message_not_an_error(rep_client, lead):
    response = rep_client.get(URL, {"created_after": "yesterday-ish", "stage": "nonsense", "after": "garbage!!"})
    assert response.status_code == 200
    assert response.context["filter"].errors


def test_pages_follow_each_other_without_gaps_or_repeats(rep_client, rep, settings):
    settings.LEADS_PAGE_SIZE = 4
    same_time = clock.now()
    LeadFactory.create_batch(6, owner=rep, created_at=same_time)  # ties on the sort key
    LeadFactory.create_batch(5, owner=rep)
    seen, params = [], {}
    for _ in range(5):
        response = rep_client.get(URL, params)
        seen += [lead.pk for lead in response.context["page"].rows]
        cursor = response.context["page"].next_cursor
        if not cursor:
            break
        params = {"after": cursor}
    assert len(seen) == len(set(seen)) == 11
    assert seen == list(Lead.objects.order_by("-created_at", "-id").values_list("pk", flat=True))


@pytest.mark.parametrize("sort", ["-created", "created", "-activity", "-score"])
def test_every_sort_pages_through_all_leads(rep_client, rep, settings, sort):
    settings.LEADS_PAGE_SIZE = 3
    for i in range(7):
        LeadFactory(owner=rep, score=i % 3 if i % 2 else None)
    seen, params = [], {"sort": sort}
    while True:
        response = rep_client.get(URL, params)
        seen += [lead.pk for lead in response.context["page"].rows]
        if not response.context["page"].next_cursor:
            break
        params = {"sort": sort, "after": response.context["page"].next_cursor}
    assert sorted(seen) == sorted(Lead.objects.values_list("pk", flat=True))
    assert len(seen) == 7


def test_the_count_comes_apart_and_is_capped_instead_of_counting_the_whole_table(rep_client, rep, settings, htmx):
    settings.LEADS_COUNT_CAP = 5
    LeadFactory.create_batch(8, owner=rep)
    LeadFactory(owner=rep, stage="qualified")
    page = rep_client.get(URL, {"stage": "qualified", "sort": "-score"})
    assert b'hx-get="/leads/count/?stage=qualified"' in page.content
    assert b"<strong>5+</strong> leads" in rep_client.get("/leads/count/", headers=htmx).content
    exact = rep_client.get("/leads/count/", {"stage": "qualified"}, headers=htmx)
    assert b"<strong>1</strong> lead<" in exact.content


def test_the_count_respects_permissions(rep_client, teammate, htmx):
    LeadFactory.create_batch(3, owner=teammate)
    assert b"<strong>0</strong> leads" in rep_client.get("/leads/count/", headers=htmx).content


@pytest.mark.parametrize("rows", [3, 30])
def test_the_list_issues_a_constant_number_of_queries(
    client, manager, rep, teammate, django_assert_max_num_queries, rows
):
    channel = ChannelFactory()
    for i in range(rows):
        LeadFactory(owner=rep if i % 2 else teammate, channel=channel)
    client.force_login(manager)
    with django_assert_max_num_queries(9):
        response = client.get(URL, {"sort": "-score"})
    assert len(response.context["page"].rows) == rows


def test_managers_see_bulk_actions_and_reps_do_not(client, rep, manager, lead):
    client.force_login(rep)
    assert b"With ticked leads" not in client.get(URL).content
    client.force_login(manager)
    assert b"With ticked leads" in client.get(URL).content


def test_manager_bulk_reassign_from_the_list_keeps_the_filter(client, manager, rep, teammate, htmx):
    leads = LeadFactory.create_batch(2, owner=rep, stage="new")
    client.force_login(manager)
    response = client.post(
        reverse("leads:bulk"),
        {"action": "reassign", "owner": teammate.pk, "lead_ids": [lead.pk for lead in leads], "stage": "new", "q": ""},
        headers=htmx,
    )
    assert response.status_code == 200
    assert b"2 lead(s) given to" in response.content
    assert Lead.objects.filter(owner=teammate).count() == 2
    assert response.context["filter"].data["stage"] == "new"


def test_bulk_action_without_ticked_leads_says_so(client, manager, htmx):
    client.force_login(manager)
    response = client.post(reverse("leads:bulk"), {"action": "reassign"}, headers=htmx)
    assert b"Tick some leads." in response.content


def test_bulk_action_is_refused_to_reps(rep_client, lead):
    response = rep_client.post(reverse("leads:bulk"), {"action": "reassign", "lead_ids": [lead.pk]})
    assert response.status_code == 403


def test_the_score_sort_puts_scored_leads_first_then_the_unscored_ones_across_pages(
    rep_client, rep, teammate, settings, django_assert_max_num_queries
):
    """The score sort reads scoring's record (its index), then pages on into the leads not scored yet, after
    every score, a negative one too (a model may allow scores below zero)."""
    from scoring.models import LeadScore

    settings.LEADS_PAGE_SIZE = 3
    scored = [LeadFactory(owner=rep, score=score, grade="C") for score in (-5, 90, -1, 70, -7)]
    unscored = LeadFactory.create_batch(3, owner=rep)
    LeadFactory(owner=teammate, score=100, grade="A")  # another rep's: never shown
    assert LeadScore.objects.count() == 6  # the factory writes scoring's record of a score, as scoring does

    seen, params = [], {"sort": "-score"}
    while True:
        with django_assert_max_num_queries(10):
            response = rep_client.get(URL, params)
        seen += [lead.pk for lead in response.context["page"].rows]
        if not response.context["page"].next_cursor:
            break
        params = {"sort": "-score", "after": response.context["page"].next_cursor}
    by_score = sorted(scored, key=lambda lead: (-lead.score, -lead.pk))
    assert seen == [lead.pk for lead in by_score] + sorted((lead.pk for lead in unscored), reverse=True)


def test_the_grade_filter_is_labelled_plainly(rep_client):
    assert '<span class="filter-label">Grade</span>' in rep_client.get(URL).content.decode()


@pytest.mark.parametrize("query", [{}, {"sort": "-activity"}, {"sort": "-score"}, {"q": "acme"}, {"awaiting": "on"}])
@pytest.mark.parametrize("rows", [3, 30])
def test_every_row_is_drawn_from_the_pages_own_query(
    client, manager, rep, teammate, channel, django_assert_max_num_queries, query, rows
):
    """The list reads only the columns its rows show (`leads.selectors.LIST_ROW_FIELDS`): a row that needed another
    would read it lead by lead, and thirty rows would cost more queries than three."""
    from leads import services
    from leads.sla.services import response_clocks_recompute
    from tests.factories import ResponsePolicyFactory

    ResponsePolicyFactory(name="Everyone", target_minutes=30)
    leads = [
        LeadFactory(owner=[rep, teammate, None][i % 3], channel=channel, company=f"Acme {i}", grade="A", score=90)
        for i in range(rows)
    ]
    response_clocks_recompute()
    services.interaction_log(lead=leads[0], user=rep, kind="call")  # answered: the "answered in" chip
    client.force_login(manager)
    with django_assert_max_num_queries(11):
        html = client.get(URL, query).content.decode()
    assert html.count('class="lead-link"') == rows - (1 if query.get("awaiting") else 0)
    assert "Response target “Everyone”" in html and "Pool" in html and "Google Ads" in html
