"""Satisfaction surveys: a CSAT or NPS question emailed to a contact as a one-click link.

The link carries a signed token (`django.core.signing`: the survey's id and when the link was made, under the
secret key), valid for SURVEY_LINK_DAYS. Anyone holding it may answer, without logging in, once: the answer is a
conditional UPDATE of a survey not answered yet, so of two submissions at the same moment exactly one is kept.
A tampered, expired or used link is refused with a page that says which.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse

from crm import access, clock
from crm.models import User
from crm.queue import enqueue_on_commit
from customers.models import Account, Contact, Survey

logger = logging.getLogger(__name__)
SALT = "customers.survey"

QUESTIONS = {
    Survey.Kind.CSAT: "How satisfied are you with {company}? (1 = very unsatisfied, 5 = very satisfied)",
    Survey.Kind.NPS: "How likely are you to recommend {company} to a friend or colleague? (0 = not at all, 10 = very)",
}


class SurveyLinkError(Exception):
    """A link that cannot be answered; `reason` is one of "invalid", "expired", "answered"."""

    def __init__(self, reason: str, survey: Survey | None = None):
        super().__init__(reason)
        self.reason = reason
        self.survey = survey


def survey_token(survey: Survey) -> str:
    return signing.dumps(survey.pk, salt=SALT, compress=False)


def survey_url(survey: Survey) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("survey", args=[survey_token(survey)])


def survey_question(survey: Survey) -> str:
    return QUESTIONS[survey.kind].format(company=settings.SURVEY_COMPANY_NAME)


def survey_from_token(token: str) -> Survey:
    """The survey a link answers; SurveyLinkError when it is tampered with, expired or already answered."""
    try:
        survey_id = signing.loads(token, salt=SALT, max_age=dt.timedelta(days=settings.SURVEY_LINK_DAYS))
    except signing.SignatureExpired:
        raise SurveyLinkError("expired") from None
    except signing.BadSignature:
        raise SurveyLinkError("invalid") from None
    survey = Survey.objects.select_related("contact", "account").filter(pk=survey_id).first()
    if survey is None:
        raise SurveyLinkError("invalid")
    if survey.answered_at is not None:
        raise SurveyLinkError("answered", survey)
    return survey


@transaction.atomic
def survey_send(*, account: Account, contact: Contact, kind: str, user: User | None) -> Survey:
    """Record a survey and email its link to the contact once the transaction commits."""
    if user is not None:
        access.ensure(access.can_edit_customer, user, account)
    if contact.account_id != account.pk:
        raise ValidationError("This contact belongs to another customer.")
    if not contact.email:
        raise ValidationError("This contact has no email address.")
    if kind not in Survey.Kind.values:
        raise ValidationError("Choose CSAT or NPS.")
    survey = Survey.objects.create(account=account, contact=contact, kind=kind, sent_by=user)
    enqueue_on_commit("customers.tasks.email_survey", survey.pk)
    return survey


def survey_email(*, survey_id: int) -> bool:
    """Email a survey's link, once: the survey's row is locked while it is sent and marked sent in the same
    transaction, so a redelivered task or the sweep finds it sent. False when there was nothing to send."""
    with transaction.atomic():
        survey = (
            Survey.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("contact")
            .filter(pk=survey_id, emailed_at__isnull=True, answered_at__isnull=True)
            .first()
        )
        if survey is None:
            return False
        body = (
            f"Hello {survey.contact.name},\n\n{survey_question(survey)}\n\n"
            f"Answer with one click (no login needed):\n{survey_url(survey)}\n\n"
            f"The link works once and for {settings.SURVEY_LINK_DAYS} days.\n"
        )
        EmailMessage(subject="A quick question", body=body, to=[survey.contact.email]).send()
        Survey.objects.filter(pk=survey.pk).update(emailed_at=clock.now())
    return True


def surveys_email_unsent(*, older_than_seconds: int = 60) -> int:
    """Email the surveys whose task was lost (a broker outage, a mail server down): the sweep beat runs every few
    minutes, at most 500 a run."""
    now = clock.now()
    # A survey whose link would have expired is not sent any more (an address that keeps failing stops here).
    ids = Survey.objects.filter(
        emailed_at__isnull=True,
        answered_at__isnull=True,
        created_at__lt=now - dt.timedelta(seconds=older_than_seconds),
        created_at__gte=now - dt.timedelta(days=settings.SURVEY_LINK_DAYS),
    )
    return sum(survey_email(survey_id=pk) for pk in ids.values_list("pk", flat=True)[:500])


def survey_answer(*, survey: Survey, score: int, comment: str = "") -> bool:
    """Record the answer; False when the survey was answered already (the other of two submissions won)."""
    if not survey.min_score <= score <= survey.max_score:
        raise ValidationError(f"Choose a score from {survey.min_score} to {survey.max_score}.")
    answered = Survey.objects.filter(pk=survey.pk, answered_at__isnull=True).update(
        score=score, comment=comment.strip()[:2000], answered_at=clock.now()
    )
    return answered == 1
