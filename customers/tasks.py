"""Celery tasks of `customers`: thin wrappers that call one service each, safe to run twice (crm.queue.TASK_OPTIONS)."""

from celery import shared_task

from crm.queue import TASK_OPTIONS
from customers import surveys


@shared_task(**TASK_OPTIONS)
def email_survey(survey_id: int) -> bool:
    """Queued on commit when a survey is sent. A redelivered task finds it emailed and does nothing."""
    return surveys.survey_email(survey_id=survey_id)


@shared_task(**TASK_OPTIONS)
def email_unsent_surveys() -> int:
    """Run by Celery beat every 5 minutes: the survey emails a lost task did not send."""
    return surveys.surveys_email_unsent()
