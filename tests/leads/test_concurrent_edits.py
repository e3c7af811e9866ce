"""Edits never overwrite other people's changes: two tabs, a logged call, a bulk reassignment, at the same moment.

Real concurrent PostgreSQL transactions (threads with their own connections, `tests.threads.together`); each edit
is posted back from the form as the lead page rendered it, as a browser tab would.
"""

import html
from functools import partial
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.urls import reverse

from leads import services
from leads.models import Interaction, Lead, ResponseClock, Stage
from tests.factories import ResponsePolicyFactory
from tests.threads import together

pytestmark = pytest.mark.django_db(transaction=True)

HTMX = {"HX-Request": "true"}


class _FormReader(HTMLParser):
    """The values a browser would send back from the page's form, untouched."""

    def __init__(self):
        super().__init__()
        self.values: dict[str, str] = {}
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") not in ("checkbox", "submit") and attrs.get("name"):
            self.values[attrs["name"]] = attrs.get("value") or ""
        elif tag == "select":
            self._select = attrs["name"]
            self.values.setdefault(self._select, "")
        elif tag == "option" and self._select and "selected" in attrs:
            self.values[self._select] = attrs.get("value") or ""
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self.values[self._textarea] = ""

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _open_edit_form(client: Client, lead: Lead) -> dict[str, str]:
    """Open the lead page's inline edit form (a tab) and return what saving it untouched would send."""
    page = client.get(reverse("leads:detail", args=[lead.pk]) + "?edit=facts", headers=HTMX)
    assert page.status_code == 200
    reader = _FormReader()
    reader.feed(page.content.decode())
    values = reader.values
    values.pop("csrfmiddlewaretoken", None)
    assert "version" in values and "initial-company" in values  # the form carries what it showed
    return values


def _save(client: Client, lead: Lead, form: dict[str, str], **changes):
    return client.post(reverse("leads:edit", args=[lead.pk]), {**form, **changes}, headers=HTMX)


@pytest.fixture
def rep_tab(rep):
    return _client(rep)


@pytest.fixture
def other_tab(rep):
    return _client(rep)


def test_two_tabs_changing_different_fields_keep_both_changes(rep_tab, other_tab, lead):
    tab_a, tab_b = _open_edit_form(rep_tab, lead), _open_edit_form(other_tab, lead)
    assert (lead.company, lead.job_title) == ("Analytical Engines", "")
    (saved_a, saved_b), errors = together(
        lambda: _save(rep_tab, lead, tab_a, company="Difference Engines"),
        lambda: _save(other_tab, lead, tab_b, job_title="Countess"),
    )
    assert errors == [None, None]
    assert (saved_a.status_code, saved_b.status_code) == (200, 200)
    lead.refresh_from_db()
    assert (lead.company, lead.job_title, lead.name) == ("Difference Engines", "Countess", "Ada Lovelace")


def test_a_stale_tab_does_not_revert_a_field_it_did_not_change(rep_tab, other_tab, lead):
    stale = _open_edit_form(other_tab, lead)
    assert _save(rep_tab, lead, _open_edit_form(rep_tab, lead), company="Difference Engines").status_code == 200
    assert _save(other_tab, lead, stale, city="London").status_code == 200
    lead.refresh_from_db()
    assert (lead.company, lead.city) == ("Difference Engines", "London")


def test_two_tabs_changing_the_same_field_refuse_the_second_with_both_values(rep_tab, other_tab, lead):
    tab_a, tab_b = _open_edit_form(rep_tab, lead), _open_edit_form(other_tab, lead)
    responses, errors = together(
        lambda: _save(rep_tab, lead, tab_a, company="Babbage & Co"),
        lambda: _save(other_tab, lead, tab_b, company="Lovelace Ltd"),
    )
    assert errors == [None, None]
    assert sorted(r.status_code for r in responses) == [200, 409]
    won, refused = sorted(responses, key=lambda r: r.status_code)
    kept, mine = ("Babbage & Co", "Lovelace Ltd") if won is responses[0] else ("Lovelace Ltd", "Babbage & Co")
    lead.refresh_from_db()
    assert lead.company == kept  # the first save stands, nothing of the second was written
    page = html.unescape(refused.content.decode())
    assert f"Someone else changed this to “{kept}” while you were editing; your value: “{mine}”." in page
    assert f'value="{mine}"' in page  # the refused tab keeps its input


def test_a_refused_edit_can_be_saved_again_and_keeps_the_newer_values_of_other_fields(rep_tab, other_tab, lead):
    stale = _open_edit_form(other_tab, lead)
    _save(rep_tab, lead, _open_edit_form(rep_tab, lead), company="Babbage & Co", city="London")
    refused = _save(other_tab, lead, stale, company="Lovelace Ltd")
    assert refused.status_code == 409
    page = html.unescape(refused.content.decode())
    error = "Someone else changed this to “Babbage & Co” while you were editing; your value: “Lovelace Ltd”."
    # Next to the field: in the company field's own block, before the next field's.
    assert page.index('name="company"') < page.index(error) < page.index('name="industry"')
    lead.refresh_from_db()
    assert (lead.company, lead.city) == ("Babbage & Co", "London")

    # The refused form shows the other tab's city and moves on to the lead's current version: saved again, the
    # person's own company wins and the city someone else wrote stays.
    reader = _FormReader()
    reader.feed(refused.content.decode())
    again = {k: v for k, v in reader.values.items() if k != "csrfmiddlewaretoken"}
    assert again["city"] == "London" and again["company"] == "Lovelace Ltd"
    assert _save(other_tab, lead, again).status_code == 200
    lead.refresh_from_db()
    assert (lead.company, lead.city) == ("Lovelace Ltd", "London")


def test_the_full_edit_page_shows_a_conflict_as_a_form_error(rep_tab, other_tab, lead):
    page = rep_tab.get(reverse("leads:edit", args=[lead.pk])).content.decode()
    assert 'name="version"' in page and 'name="initial-company"' in page
    stale = _open_edit_form(other_tab, lead)
    _save(rep_tab, lead, _open_edit_form(rep_tab, lead), company="Babbage & Co")
    refused = other_tab.post(reverse("leads:edit", args=[lead.pk]), {**stale, "company": "Lovelace Ltd"})
    assert refused.status_code == 200
    assert "Someone else changed this to" in html.unescape(refused.content.decode())
    lead.refresh_from_db()
    assert lead.company == "Babbage & Co"


def test_an_edit_racing_a_logged_call_keeps_the_first_response_the_stage_and_the_stopped_clock(rep, rep_tab):
    ResponsePolicyFactory(target_minutes=60)
    for attempt in range(20):
        lead = services.lead_create(user=rep, name=f"Race {attempt}", email=f"race{attempt}@example.com")
        assert ResponseClock.objects.get(lead=lead).next_at is not None
        assert (lead.stage, lead.first_response_at) == (Stage.NEW, None)
        form = _open_edit_form(rep_tab, lead)
        call_tab = _client(rep)

        call = {"kind": "call", "direction": "outbound", "outcome": "connected", "body": "Spoke to them"}
        (edited, logged), errors = together(
            partial(_save, rep_tab, lead, form, company=f"Company {attempt}"),
            partial(call_tab.post, reverse("leads:log", args=[lead.pk]), call),
        )
        assert errors == [None, None], attempt
        assert (edited.status_code, logged.status_code) == (200, 302), attempt
        logged_call = Interaction.objects.get(lead=lead)
        lead.refresh_from_db()
        assert lead.first_response_at == logged_call.occurred_at, attempt
        assert lead.stage == Stage.CONTACTED, attempt
        assert lead.company == f"Company {attempt}", attempt
        assert ResponseClock.objects.get(lead=lead).next_at is None, attempt


def test_an_edit_racing_a_bulk_reassignment_keeps_the_new_owner(rep, rep_tab, manager, teammate, channel):
    manager_tab = _client(manager)
    for attempt in range(10):
        lead = services.lead_create(user=rep, name=f"Race {attempt}", email=f"race{attempt}@example.com")
        assert lead.owner == rep
        form = _open_edit_form(rep_tab, lead)

        reassign = {"action": "reassign", "lead_ids": [lead.pk], "owner": teammate.pk}
        (edited, reassigned), errors = together(
            partial(_save, rep_tab, lead, form, company=f"Company {attempt}"),
            partial(manager_tab.post, reverse("leads:bulk"), reassign),
        )
        assert errors == [None, None], attempt
        assert reassigned.status_code == 302, attempt
        lead.refresh_from_db()
        assert (lead.owner, lead.team) == (teammate, teammate.team), attempt
        # The rep's edit is saved (its answer may then be a 404: the lead is the teammate's by the time the page
        # reads it again), or refused when the lead was already the teammate's.
        assert edited.status_code in (200, 403, 404), attempt
        assert lead.company in (f"Company {attempt}", ""), attempt
        if edited.status_code == 200:
            assert lead.company == f"Company {attempt}", attempt


def test_an_update_with_a_stale_version_and_no_shown_values_is_refused(rep, lead):
    version = lead.updated_at
    services.lead_update(lead=lead, user=rep, data={"city": "London"})
    with pytest.raises(services.EditConflict) as refused:
        services.lead_update(lead=lead, user=rep, data={"city": "Paris"}, version=version)
    assert refused.value.conflicts == {"city": ("London", "Paris")}
    lead.refresh_from_db()
    assert lead.city == "London"


def test_line_ends_a_browser_changed_do_not_make_a_field_look_edited(rep, lead):
    # A textarea sends CRLF; the hidden input beside it gives the shown value back with LF.
    Lead.objects.filter(pk=lead.pk).update(need="Two seats\r\nBy March")
    shown = {"need": "Two seats\nBy March", "company": "Analytical Engines"}
    Lead.objects.filter(pk=lead.pk).update(need="Ten seats")  # someone else, meanwhile
    services.lead_update(
        lead=lead, user=rep, data={"need": "Two seats\r\nBy March", "company": "Babbage & Co"}, rendered=shown
    )
    lead.refresh_from_db()
    assert (lead.need, lead.company) == ("Ten seats", "Babbage & Co")
