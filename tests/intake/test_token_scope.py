"""The API's quick duplicate query (`pipeline.OWN_CHANNEL`, plain SQL) reads exactly the leads `crm.access` says a
token sees (`access.leads_for_token`): the rule lives in the access module, the SQL is only a faster way to it."""

import pytest

from crm import access
from leads.channels import services as channel_services
from leads.intake.pipeline import CANONICAL_ORDER, _duplicates_of_channel
from tests.factories import ChannelFactory, LeadFactory

pytestmark = pytest.mark.django_db


def test_own_channel_matches_are_the_tokens_leads_in_the_same_order(admin_user):
    ads, portal = ChannelFactory(name="Ads"), ChannelFactory(name="Portal")
    token, _ = channel_services.api_token_create(user=admin_user, channel=ads, name="Landing page")
    for channel in (ads, portal, ads, portal, ads):
        LeadFactory(channel=channel, email="ada@example.com", phone="+442071838750")
        LeadFactory(channel=channel, email="other@example.com")
    emails, phones = {"ada@example.com"}, {"+442071838750"}
    found, _reserved = _duplicates_of_channel(emails, phones, channel_id=token.channel_id)
    quick = [lead.pk for lead in found]
    by_rule = list(
        access.leads_for_token(token)
        .filter(email_normalized__in=emails)
        .union(access.leads_for_token(token).filter(phone_normalized__in=phones))
        .order_by(*CANONICAL_ORDER)
        .values_list("pk", flat=True)
    )
    assert quick == by_rule and len(quick) == 3
