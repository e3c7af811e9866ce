"""Event campaigns: registrations from the public form, attendance marked at the door, follow-ups after."""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.db import transaction

from campaigns.models import Campaign, Member
from campaigns.selectors import members_visible_to
from crm import access, clock
from crm.models import User
from leads.intake.services import Arrival, event_record, lead_arrive
from leads.models import Interaction
from leads.normalize import normalize_email
from leads.services import tasks_create_for_owners

ATTENDANCE_CSV_MAX_ROWS = 20_000


@transaction.atomic
def registration_submit(*, campaign: Campaign, facts: dict, submission: dict) -> tuple[Member, Arrival]:
    """Someone registered on the event's public page: a lead through the arrival pipeline (new, with its response
    clock, or the existing one with this email or phone), a member of the campaign, registered once."""
    arrival = lead_arrive(
        channel=campaign.channel,
        facts=facts,
        submission={**submission, "event": campaign.name, "campaign": campaign.pk},
    )
    now = clock.now()
    member, _ = Member.objects.get_or_create(
        campaign=campaign,
        lead=arrival.lead,
        defaults={"source": Member.Source.REGISTRATION, "added_at": now, "registered_at": now},
    )
    if member.registered_at is None:
        Member.objects.filter(pk=member.pk, registered_at__isnull=True).update(registered_at=now)
        member.registered_at = now
    return member, arrival


@transaction.atomic
def attendance_mark(*, user: User, member: Member) -> bool:
    """Checked in at the door (one tap): once, with an "event attended" interaction on the lead's timeline.
    Two phones tapping the same person at once record one attendance."""
    access.ensure(access.can_manage_campaigns, user)
    now = clock.now()
    if not Member.objects.filter(pk=member.pk, attended_at__isnull=True).update(attended_at=now):
        return False
    member.attended_at = now
    event_record(
        lead=member.lead,
        kind=Interaction.Kind.EVENT_ATTENDED,
        occurred_at=now,
        subject=f"Attended {member.campaign.name}",
        details={"campaign": member.campaign_id},
    )
    return True


@transaction.atomic
def attendees_follow_up(*, user: User, campaign: Campaign, due_in: dt.timedelta = dt.timedelta(days=1)) -> int:
    """A follow-up task for the owner of every attendee not followed up yet (claimed per member, so pressing the
    button twice, or two managers at once, gives one task each). Attendees in the pool get none."""
    access.ensure(access.can_manage_campaigns, user)
    now = clock.now()
    claimed = list(
        Member.objects.filter(campaign=campaign, attended_at__isnull=False, follow_up_at__isnull=True)
        .select_for_update(skip_locked=True)
        .values_list("pk", "lead_id")
    )
    if not claimed:
        return 0
    Member.objects.filter(pk__in=[pk for pk, _ in claimed]).update(follow_up_at=now)
    return tasks_create_for_owners(
        lead_ids=[lead_id for _, lead_id in claimed],
        title=f"Follow up: met at {campaign.name}",
        due_at=now + due_in,
        created_by=user,
    )


def attendance_from_csv(*, user: User, campaign: Campaign, data: bytes) -> tuple[int, int]:
    """Attendance from a CSV file (a scanner's or a sign-in sheet's export): the column named "email" (else the
    first) of each row; the members whose lead has that email are marked attended, once each. Returns (marked,
    not found among the members the user may see)."""
    access.ensure(access.can_manage_campaigns, user)
    text = data.decode("utf-8-sig", errors="replace")
    rows = list(csv.reader(io.StringIO(text)))[: ATTENDANCE_CSV_MAX_ROWS + 1]
    if not rows:
        return 0, 0
    header = [cell.strip().lower() for cell in rows[0]]
    column = header.index("email") if "email" in header else 0
    body = rows[1:] if "email" in header or "@" not in (rows[0][0] if rows[0] else "") else rows
    emails = {normalize_email(row[column]) for row in body if len(row) > column and "@" in row[column]}
    members = members_visible_to(user=user, campaign=campaign).filter(lead__email_normalized__in=emails)
    marked = found = 0
    for member in members.select_related("lead", "campaign"):
        found += 1
        marked += attendance_mark(user=user, member=member)
    return marked, len(emails) - found
