"""An email campaign with members (the rep's leads), its first email written, nothing sent yet."""

import pytest

from campaigns import services
from campaigns.models import Campaign
from tests.factories import LeadFactory


@pytest.fixture
def campaign(manager, channel):
    return services.campaign_save(
        user=manager, campaign=Campaign(name="Spring offer", channel=channel, kind=Campaign.Kind.EMAIL)
    )


@pytest.fixture
def members(campaign, rep, channel):
    leads = LeadFactory.create_batch(5, owner=rep, channel=channel)
    for lead in leads:
        services.member_add(user=campaign.created_by, campaign=campaign, lead=lead)
    return leads


@pytest.fixture
def first_email(campaign, manager):
    return services.step_save(
        user=manager,
        campaign=campaign,
        position=1,
        subject_a="Spring for {{ company }}",
        body_a="Hello {{ first_name }},\n\nOur spring offer: https://example.com/spring?x=1.\n\nSee you",
    )
