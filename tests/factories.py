import datetime as dt

import factory
from factory.django import DjangoModelFactory

from crm import clock
from crm.models import BusinessCalendar, Team, User
from crm.roles import Role
from crm.services import user_set_role
from leads.models import Channel, FollowUpTask, Interaction, Lead, ResponsePolicy, StageChange
from leads.normalize import normalize_email


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "demo")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        self.save()
        if extracted:
            user_set_role(user=self, role=Role(extracted))


class ChannelFactory(DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Channel {n}")
    kind = Channel.Kind.PAID_SEARCH


class LeadFactory(DjangoModelFactory):
    """A lead written directly (not through services): for arranging a state, not for testing rules."""

    class Meta:
        model = Lead
        skip_postgeneration_save = True

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    email_normalized = factory.LazyAttribute(lambda lead: normalize_email(lead.email))
    company = factory.Faker("company")
    channel = factory.SubFactory(ChannelFactory, name="Web")
    owner = None
    team = factory.LazyAttribute(lambda lead: lead.owner.team if lead.owner else None)

    @factory.post_generation
    def score_record(lead, create, extracted, **kwargs):
        """A lead made with a score also gets scoring's record of it, as the scoring engine writes both (the
        list's score sort and grade filter read the record)."""
        if not create or lead.score is None:
            return
        from scoring.models import LeadScore, ScoringModel

        model = ScoringModel.objects.order_by("-version").first() or ScoringModel.objects.create(
            version=1, name="Factory model"
        )
        LeadScore.objects.update_or_create(
            lead=lead,
            defaults={"model": model, "score": lead.score, "grade": lead.grade, "computed_at": lead.created_at},
        )


class InteractionFactory(DjangoModelFactory):
    class Meta:
        model = Interaction

    lead = factory.SubFactory(LeadFactory)
    kind = Interaction.Kind.CALL
    direction = Interaction.Direction.OUTBOUND
    outcome = Interaction.Outcome.CONNECTED
    occurred_at = factory.LazyFunction(clock.now)
    # Recorded when it happened, unless a test says otherwise (a back-dated entry gives both).
    created_at = factory.LazyAttribute(lambda interaction: interaction.occurred_at)


class TaskFactory(DjangoModelFactory):
    class Meta:
        model = FollowUpTask

    lead = factory.SubFactory(LeadFactory)
    assignee = factory.LazyAttribute(lambda task: task.lead.owner)
    title = "Call back"
    due_at = factory.LazyFunction(lambda: clock.now() + dt.timedelta(hours=2))


class StageChangeFactory(DjangoModelFactory):
    class Meta:
        model = StageChange

    lead = factory.SubFactory(LeadFactory)
    to_stage = "new"


class BusinessCalendarFactory(DjangoModelFactory):
    class Meta:
        model = BusinessCalendar

    name = factory.Sequence(lambda n: f"Office hours {n}")
    time_zone = "Europe/Berlin"
    opens_at = dt.time(9)
    closes_at = dt.time(17)


class ResponsePolicyFactory(DjangoModelFactory):
    """A response target written directly: tests that need clocks re-timed call the service afterwards."""

    class Meta:
        model = ResponsePolicy

    name = factory.Sequence(lambda n: f"Target {n}")
    target_minutes = 60
    reminder_percent = 50
