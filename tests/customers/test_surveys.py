"""Surveys: a signed one-click link by email, one answer per link (also under two submissions at once), tampered,
expired and used links refused with a clear page; answers on the customer page."""

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from crm import clock
from customers import surveys
from customers.models import Survey
from tests.threads import together

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey(customer, rep):
    return surveys.survey_send(account=customer, contact=customer.contacts.get(), kind="nps", user=rep)


def link(survey) -> str:
    return reverse("survey", args=[surveys.survey_token(survey)])


def test_sending_emails_the_contact_a_link_once(survey):
    assert surveys.survey_email(survey_id=survey.pk) is True
    assert surveys.survey_email(survey_id=survey.pk) is False  # a redelivered task
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["grace@navy.example"]
    assert "/s/" in mail.outbox[0].body and "recommend" in mail.outbox[0].body
    survey.refresh_from_db()
    assert survey.emailed_at is not None


def test_the_sweep_emails_surveys_whose_task_was_lost(survey):
    assert surveys.surveys_email_unsent() == 0  # too fresh: its own task may still come
    with time_machine.travel(clock.now() + dt.timedelta(minutes=2)):
        assert surveys.surveys_email_unsent() == 1
    assert len(mail.outbox) == 1


def test_the_sweep_gives_up_on_a_survey_whose_link_would_have_expired(survey, settings):
    with time_machine.travel(clock.now() + dt.timedelta(days=settings.SURVEY_LINK_DAYS, minutes=1)):
        assert surveys.surveys_email_unsent() == 0
    assert mail.outbox == []


def test_a_survey_goes_only_to_a_contact_of_the_customer_with_an_address(customer, other_customer, rep):
    with pytest.raises(ValidationError, match="another customer"):
        surveys.survey_send(account=customer, contact=other_customer.contacts.get(), kind="csat", user=None)
    contact = customer.contacts.get()
    contact.email = ""
    with pytest.raises(ValidationError, match="no email"):
        surveys.survey_send(account=customer, contact=contact, kind="csat", user=rep)


def test_the_link_opens_without_login_and_takes_one_answer(survey):
    client = Client()
    page = client.get(link(survey))
    assert page.status_code == 200 and "How likely are you to recommend" in page.content.decode()
    answered = client.post(link(survey), {"score": "9", "comment": "Great support"}, follow=True)
    assert answered.redirect_chain[0][1] == 302 and "Thank you" in answered.content.decode()
    survey.refresh_from_db()
    assert (survey.score, survey.comment) == (9, "Great support") and survey.answered_at is not None
    again = client.post(link(survey), {"score": "0"})
    assert again.status_code == 409 and "answered already" in again.content.decode()
    survey.refresh_from_db()
    assert survey.score == 9


def test_a_score_out_of_range_is_refused_with_the_form(survey):
    response = Client().post(link(survey), {"score": "11"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert Survey.objects.get().answered_at is None


def test_a_csat_survey_takes_1_to_5(customer, rep):
    survey = surveys.survey_send(account=customer, contact=customer.contacts.get(), kind="csat", user=rep)
    assert Client().post(link(survey), {"score": "0"}).status_code == 400
    assert Client().post(link(survey), {"score": "5"}).status_code == 302


def test_a_tampered_link_is_refused(survey):
    token = surveys.survey_token(survey)
    other_id = token.replace(token.split(":")[0], "Mg", 1)  # another survey's id, same signature
    for bad in (other_id, token[:-2] + "xx", "nonsense"):
        response = Client().get(reverse("survey", args=[bad]))
        assert response.status_code == 400 and "This link is not valid" in response.content.decode()


def test_an_expired_link_is_refused(survey, settings):
    settings.SURVEY_LINK_DAYS = 14
    url = link(survey)  # made (signed) now
    with time_machine.travel(clock.now() + dt.timedelta(days=13)):
        assert Client().get(url).status_code == 200
    with time_machine.travel(clock.now() + dt.timedelta(days=15)):
        response = Client().post(url, {"score": "10"})
    assert response.status_code == 410 and "expired" in response.content.decode()
    assert Survey.objects.get().answered_at is None


@pytest.mark.django_db(transaction=True)
def test_two_submissions_at_once_keep_one_answer(customer, rep):
    survey = surveys.survey_send(account=customer, contact=customer.contacts.get(), kind="nps", user=rep)
    results, errors = together(
        lambda: surveys.survey_answer(survey=survey, score=10), lambda: surveys.survey_answer(survey=survey, score=0)
    )
    assert errors == [None, None] and sorted(results) == [False, True]
    survey.refresh_from_db()
    assert survey.score == (10 if results[0] else 0)


def test_answers_show_on_the_customer_page(survey, rep_client, customer):
    surveys.survey_answer(survey=survey, score=7, comment="Fine, <b>mostly</b>")
    page = rep_client.get(customer.get_absolute_url()).content.decode()
    assert "<strong>7</strong> / 10" in page and "Fine, &lt;b&gt;mostly&lt;/b&gt;" in page


def test_sending_from_the_customer_page(rep_client, customer):
    contact = customer.contacts.get()
    response = rep_client.post(
        reverse("customers:survey_send", args=[customer.pk]), {"contact": contact.pk, "kind": "csat"}
    )
    assert response.status_code == 302
    assert Survey.objects.get().kind == "csat"


def test_another_teams_rep_cannot_send_a_survey(client, other_rep, customer):
    client.force_login(other_rep)
    url = reverse("customers:survey_send", args=[customer.pk])
    assert client.post(url, {"contact": customer.contacts.get().pk, "kind": "csat"}).status_code == 404
    assert not Survey.objects.exists()
