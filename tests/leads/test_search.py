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


@pytest.fixture
def everyones_leads(rep, teammate, other_rep, manager, other_manager):
    """A lead named "Zed" of every kind of visibility: each owner's, and the pool's (one with a team left on it)."""
    leads = {
        "rep": LeadFactory(owner=rep, name="Zed Rep"),
        "teammate": LeadFactory(owner=teammate, name="Zed Teammate"),
        "other_rep": LeadFactory(owner=other_rep, name="Zed Other"),
        "manager": LeadFactory(owner=manager, name="Zed Manager"),
        "other_manager": LeadFactory(owner=other_manager, name="Zed Other Manager"),
        "pool": LeadFactory(owner=None, name="Zed Pool"),
        "team_no_owner": LeadFactory(owner=None, team=rep.team, name="Zed Team Left"),
    }
    LeadFactory(owner=rep, name="Nobody Else")
    return leads


@pytest.mark.parametrize("username", ["rep", "teammate", "other_rep", "manager", "other_manager", "admin_user"])
def test_the_search_index_keys_select_exactly_the_leads_the_user_may_see(request, everyones_leads, username):
    """`lead_visibility_keys` is `leads_visible_to` in the index's terms; a search adds one to the other, so they
    must agree on every lead (an admin has no keys: every lead)."""
    from leads.models import search_key

    user = request.getfixturevalue(username)
    keys = access.lead_visibility_keys(user)
    by_keys = Lead.objects.all()
    if keys is not None:
        by_keys = by_keys.alias(key=search_key()).filter(key__overlap=keys)
    assert set(by_keys.values_list("pk", flat=True)) == set(access.leads_visible_to(user).values_list("pk", flat=True))


def test_users_in_no_role_have_no_keys(db):
    from tests.factories import UserFactory

    assert access.lead_visibility_keys(UserFactory(username="nobody")) == []


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("rep", {"rep", "pool", "team_no_owner"}),
        ("manager", {"rep", "teammate", "manager", "pool", "team_no_owner"}),
        ("admin_user", {"rep", "teammate", "other_rep", "manager", "other_manager", "pool", "team_no_owner"}),
    ],
)
@pytest.mark.parametrize("walk", [1, 2_000])
def test_a_search_lists_and_counts_what_each_role_may_see(
    request, client, monkeypatch, everyones_leads, username, expected, walk
):
    """The list (the walk, or the trigram index with the visibility keys after a walk of one lead) and its
    count, as rep, manager and admin."""
    monkeypatch.setattr(search, "WALK_ROWS", walk)
    user = request.getfixturevalue(username)
    names = {everyones_leads[key].name for key in expected}
    listed, _ = _page_names(user, {"q": "zed"}, size=20)
    assert set(listed) == names
    assert len(listed) == len(names)
    client.force_login(user)
    response = client.get(reverse("leads:count"), {"q": "zed"})
    assert response.status_code == 200
    assert f"<strong>{len(names)}</strong> lead" in response.content.decode()


@pytest.fixture
def small_buckets(monkeypatch):
    """Blocks of two ids, so that a handful of leads spreads over many (`leads.models.search_bucket`)."""
    from leads import models

    monkeypatch.setattr(models, "SEARCH_BUCKET_BITS", 1)
    monkeypatch.setattr(search, "SEARCH_BUCKET_BITS", 1)


@pytest.mark.parametrize(("first", "most"), [(1, 1), (1, 3), (2, 8), (5, 2), (2, 100)])
@pytest.mark.parametrize("username", ["rep", "manager", "admin_user"])
def test_the_count_block_by_block_is_the_plain_capped_count(request, small_buckets, monkeypatch, username, first, most):
    """Every cap, below, at and above the number of matches, for a rep, a manager and an admin: the count read
    block by block, newest first (then the rest at once), equals the capped count of the whole search."""
    from crm.pagination import capped_count

    monkeypatch.setattr(search, "COUNT_FIRST_BUCKETS", first)
    monkeypatch.setattr(search, "COUNT_MAX_BUCKETS", most)
    user = request.getfixturevalue(username)
    teammate = request.getfixturevalue("teammate")
    other_rep = request.getfixturevalue("other_rep")
    owners = [None if access.is_crm_admin(user) else user, teammate, other_rep, None]
    for i in range(40):
        # Matches thin out towards the oldest ids, then come back: the density of the newest blocks misleads.
        name = f"Lead {i} {'acme' if i % 3 == 0 or i > 30 else 'other'}"
        LeadFactory(owner=owners[i % len(owners)], name=name, company="")
    keys = access.lead_visibility_keys(user)
    leads = search.leads_matching(search.visible_leads(user), "acme")
    total = leads.count()
    assert total > 3
    for cap in range(1, total + 3):
        assert search.capped_search_count(leads, cap=cap, keys=keys) == capped_count(leads, cap=cap), cap


def test_the_count_of_a_search_with_no_leads_at_all(rep):
    assert search.capped_search_count(search.leads_matching(search.visible_leads(rep), "acme"), cap=10).value == 0


@pytest.mark.parametrize(
    "term", ["stone studios", "studios stone", "an stone", "a b", "stone  studios", "o s", "ne st", "stone stone"]
)
@pytest.mark.parametrize("walk", [1, 2_000])
def test_a_term_of_several_words_finds_what_the_whole_term_matches(rep, monkeypatch, term, walk):
    """The index is asked for each word, the rows for the whole term: the same leads as `LIKE '%term%'`."""
    monkeypatch.setattr(search, "WALK_ROWS", walk)
    for name in [
        "Stone Studios",
        "Studios Stone",
        "Keystone Studiosa",
        "Stone Art Studios",
        "Stone  Studios",
        "An Stone",
    ]:
        LeadFactory(owner=rep, name=name, company="")
    expected = list(
        Lead.objects.filter(search_text__contains=search.search_term(term))
        .order_by("-created_at", "-id")
        .values_list("name", flat=True)
    )
    assert _page_names(rep, {"q": term}, size=20)[0] == expected
    matching = search.leads_matching(Lead.objects.all(), search.search_term(term))
    assert sorted(matching.values_list("name", flat=True)) == sorted(expected)
