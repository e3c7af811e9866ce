"""Members from a CSV file of emails or lead numbers, from the campaign page; rows not found are listed back."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from campaigns import services
from campaigns.models import Member
from tests.factories import LeadFactory
from tests.threads import together

pytestmark = pytest.mark.django_db


def _upload(content: bytes):
    return SimpleUploadedFile("members.csv", content, content_type="text/csv")


def test_a_file_of_emails_and_numbers_adds_the_leads_and_lists_the_rows_not_found(
    client, campaign, manager, rep, other_rep
):
    ada = LeadFactory(owner=rep, email="Ada@Example.com", email_normalized="ada@example.com")
    bob = LeadFactory(owner=rep)
    theirs = LeadFactory(owner=other_rep, email="otto@example.com", email_normalized="otto@example.com")
    Member.objects.create(campaign=campaign, lead=bob)  # already in
    client.force_login(manager)
    content = f"Email\n ADA@example.com\n{bob.pk}\notto@example.com\nnobody@x.io\nnot an address\n".encode()
    response = client.post(f"/campaigns/{campaign.pk}/members/import/", {"file": _upload(content)}, follow=True)
    page = response.content.decode()
    assert "1 lead added from the file; 1 already members." in page
    # Another team's lead is not the manager's to add: not found, like a lead that does not exist.
    assert (
        "3 rows named no lead you can see (row 4: otto@example.com, row 5: nobody@x.io, row 6: not an address)" in page
    )
    members = Member.objects.filter(campaign=campaign)
    assert set(members.values_list("lead_id", flat=True)) == {ada.pk, bob.pk}
    assert members.get(lead=ada).source == Member.Source.IMPORT and members.get(lead=bob).source == "hand"
    assert theirs.pk not in set(members.values_list("lead_id", flat=True))


def test_a_lead_id_column_is_read_by_its_name_and_a_file_without_header_by_its_first_column(campaign, manager, rep):
    leads = LeadFactory.create_batch(3, owner=rep)
    named = f"name,lead id\nA,{leads[0].pk}\nB,{leads[1].pk}\n".encode()
    assert services.members_add_from_csv(user=manager, campaign=campaign, data=named).added == 2
    bare = f"{leads[2].pk}\n{leads[0].pk}\n".encode()
    result = services.members_add_from_csv(user=manager, campaign=campaign, data=bare)
    assert (result.added, result.already, result.not_found) == (1, 1, [])


def test_an_email_of_two_leads_adds_the_oldest_as_adding_by_hand_does(campaign, manager, rep):
    old = LeadFactory(owner=rep, email="x@example.com", email_normalized="x@example.com")
    LeadFactory(owner=rep, email="x@example.com", email_normalized="x@example.com")
    services.members_add_from_csv(user=manager, campaign=campaign, data=b"email\nx@example.com\n")
    assert list(Member.objects.filter(campaign=campaign).values_list("lead_id", flat=True)) == [old.pk]


def test_too_many_rows_is_refused_with_the_limit(campaign, manager, monkeypatch):
    monkeypatch.setattr(services, "MEMBERS_CSV_MAX_ROWS", 2)
    with pytest.raises(ValidationError, match="At most 2 rows"):
        services.members_add_from_csv(user=manager, campaign=campaign, data=b"email\na@x.io\nb@x.io\nc@x.io\n")
    assert not Member.objects.exists()


def test_no_file_or_a_file_too_large_is_a_clear_message(client, campaign, manager, monkeypatch):
    client.force_login(manager)
    response = client.post(f"/campaigns/{campaign.pk}/members/import/", {}, follow=True)
    assert "Choose a CSV file of at most 5 MB" in response.content.decode()
    from campaigns import views

    monkeypatch.setattr(views, "MEMBERS_CSV_MAX_BYTES", 10)
    response = client.post(f"/campaigns/{campaign.pk}/members/import/", {"file": _upload(b"a" * 11)}, follow=True)
    assert "Choose a CSV file of at most 5 MB" in response.content.decode()


def test_a_rep_may_not_import_members(client, campaign, rep):
    client.force_login(rep)
    response = client.post(f"/campaigns/{campaign.pk}/members/import/", {"file": _upload(b"1\n")})
    assert response.status_code in (403, 404) and not Member.objects.exists()


def test_the_campaign_page_offers_the_file(client, campaign, manager):
    client.force_login(manager)
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert f'action="/campaigns/{campaign.pk}/members/import/"' in page and 'name="file"' in page


@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_file_at_once_add_each_lead_once(campaign, manager, rep):
    leads = LeadFactory.create_batch(5, owner=rep)
    data = "\n".join(str(lead.pk) for lead in leads).encode()
    results, errors = together(
        lambda: services.members_add_from_csv(user=manager, campaign=campaign, data=data),
        lambda: services.members_add_from_csv(user=manager, campaign=campaign, data=data),
    )
    assert errors == [None, None]
    assert sum(r.added for r in results) == 5
    assert all(r.added + r.already == 5 for r in results)
    assert Member.objects.filter(campaign=campaign).count() == 5
