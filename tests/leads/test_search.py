"""Searching leads: the list and the top bar find the same leads, newest first, whether the walk of the newest
leads finds a page of matches (a common word) or the trigram index must add older ones (a rare word)."""

import datetime as dt

import pytest
from django.urls import reverse

from crm import access, clock
from crm.pagination import Sort
from leads import search
from leads.filters import LeadFilter
from leads.models import Lead
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def short_walk(monkeypatch):
    """A walk of 4 leads, so a handful of leads shows both plans and the edge between them."""
    monkeypatch.setattr(search, "WALK_ROWS", 4)


def _leads(owner, names: list[str]) -> list[Lead]:
    """Leads named in order of age, the first the oldest, a minute apart."""
    start = clock.now() - dt.timedelta(days=1)
    return [
        LeadFactory(owner=owner, name=name, company="", created_at=start + dt.timedelta(minutes=i))
        for i, name in enumerate(names)
    ]


def _page_names(user, query: dict, size: int = 3, cursor=None) -> tuple[list[str], str | None]:
    lead_filter = LeadFilter(query, queryset=access.leads_visible_to(user), user=user)
    page = lead_filter.page(cursor=cursor, size=size)
    return [lead.name for lead in page.rows], page.next_cursor


def test_a_common_word_is_found_by_the_walk_newest_first(short_walk, rep):
    _leads(rep, ["Ada Smith", "Bob Smith", "Cy Jones", "Di Smith", "Ed Smith", "Flo Smith"])
    names, cursor = _page_names(rep, {"q": "smith"})
    assert names == ["Flo Smith", "Ed Smith", "Di Smith"]
    assert cursor is not None


def test_a_rare_word_beyond_the_walk_comes_from_the_trigram_index(short_walk, rep):
    _leads(rep, ["Ada Quokka", "Bob Jones", "Cy Jones", "Di Jones", "Ed Jones", "Flo Quokka", "Gus Jones"])
    assert _page_names(rep, {"q": "quokka"}) == (["Flo Quokka", "Ada Quokka"], None)


def test_pages_of_a_search_follow_each_other_across_the_walks_edge(short_walk, rep):
    _leads(rep, [f"Lead {i} smith" if i % 2 else f"Lead {i} jones" for i in range(12)])
    expected = list(
        Lead.objects.filter(search_text__contains="smith").order_by("-created_at", "-id").values_list("name", flat=True)
    )
    seen, cursor = [], None
    while True:
        names, cursor = _page_names(rep, {"q": "smith"}, size=2, cursor=cursor)
        seen += names
        if cursor is None:
            break
    assert seen == expected


def test_oldest_first_searches_walk_from_the_oldest(short_walk, rep):
    _leads(rep, ["Ada Smith", "Bob Jones", "Cy Smith", "Di Smith", "Ed Smith"])
    assert _page_names(rep, {"q": "smith", "sort": "created"})[0] == ["Ada Smith", "Cy Smith", "Di Smith"]


@pytest.mark.parametrize("walk", [1, 2, 5, 40])
@pytest.mark.parametrize("walk_max", [3, 12, 1000])
def test_the_walks_and_the_index_agree_with_the_plain_search(rep, monkeypatch, walk, walk_max):
    """Every mix of first walk, further walks (their length from the density found) and trigram index."""
    monkeypatch.setattr(search, "WALK_ROWS", walk)
    monkeypatch.setattr(search, "WALK_MAX_ROWS", walk_max)
    leads = _leads(rep, [f"Person {i} {'acme' if i % 7 in (0, 3) else 'other'}" for i in range(40)])
    newest = Lead.objects.order_by("-created_at", "-id")
    for limit in (1, 4, 7, 30):
        found = search.newest_matches(newest, term="acme", sort=Sort("created_at"), limit=limit)
        assert [lead.pk for lead in found] == [lead.pk for lead in reversed(leads) if "acme" in lead.name][:limit]


def test_a_phone_number_in_any_format_finds_the_lead(rep):
    LeadFactory(owner=rep, name="Ada", phone="+1 415 555 0100", phone_normalized="+14155550100")
    assert _page_names(rep, {"q": "(415) 555-0100"})[0] == ["Ada"]


def test_the_top_bar_search_lists_only_leads_the_user_may_see(rep_client, rep, other_rep, pool_lead, htmx):
    LeadFactory(owner=rep, name="Ada Mine")
    LeadFactory(owner=other_rep, name="Ada Theirs")
    pool_lead.name = "Ada Pool"
    pool_lead.save()
    response = rep_client.get(reverse("leads:search"), {"q": "ada"}, headers=htmx)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Ada Mine" in html and "Ada Pool" in html
    assert "Ada Theirs" not in html


def test_the_top_bar_search_without_javascript_opens_the_filtered_list(rep_client):
    response = rep_client.get(reverse("leads:search"), {"q": "ada lovelace"})
    assert response.status_code == 302
    assert response.url == reverse("leads:list") + "?q=ada+lovelace"


def test_the_top_bar_search_says_when_nothing_matches(rep_client, htmx):
    response = rep_client.get(reverse("leads:search"), {"q": "zzzz"}, headers=htmx)
    assert "No lead you can see matches" in response.content.decode()


def test_the_top_bar_search_reads_a_bounded_number_of_queries(rep_client, rep, htmx, django_assert_max_num_queries):
    for i in range(12):
        LeadFactory(owner=rep, name=f"Ada {i}")
    with django_assert_max_num_queries(8):
        response = rep_client.get(reverse("leads:search"), {"q": "ada"}, headers=htmx)
    assert response.content.decode().count('role="option"') == 8
    assert "All matching leads" in response.content.decode()
