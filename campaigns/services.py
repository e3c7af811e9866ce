"""Writes to campaigns: set-up, members, emails, scheduling. Views, commands and tasks all come through here."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.http import QueryDict

from campaigns import arrivals, counts, sending
from campaigns.models import Campaign, EmailStep, EmailVariant, Member
from crm import access, clock
from crm.models import User
from leads.filters import LeadFilter
from leads.models import Lead
from leads.normalize import normalize_email


@transaction.atomic
def campaign_save(*, user: User, campaign: Campaign) -> Campaign:
    access.ensure(access.can_manage_campaigns, user)
    if campaign.pk is None:
        campaign.created_by = user
        campaign.owner = campaign.owner or user
    campaign.full_clean()
    campaign.save()
    # An ad or content campaign: the leads that already arrived with its utm_campaign join it.
    arrivals.campaign_arrivals(campaign)
    return campaign


@transaction.atomic
def campaign_set_status(*, user: User, campaign: Campaign, status: str) -> Campaign:
    access.ensure(access.can_manage_campaigns, user)
    if status not in Campaign.Status.values:
        raise ValidationError({"status": "Unknown status."})
    Campaign.objects.filter(pk=campaign.pk).update(status=status)
    campaign.status = status
    return campaign


# --- Members ---------------------------------------------------------------------------------------------------


def leads_filter_from(*, user: User, address: str) -> LeadFilter:
    """The leads list's filters from a saved leads-list address (or its query string), over the leads the user
    may see: the same filters, the same leads the list shows."""
    query = urlsplit(address.strip()).query if "?" in address or "://" in address else address.strip().lstrip("?")
    params = QueryDict(query[:4000])
    return LeadFilter(params or None, queryset=access.leads_visible_to(user), user=user)


@transaction.atomic
def members_add_by_filter(*, user: User, campaign: Campaign, address: str) -> int:
    """Every lead the leads-list filter shows the user joins the campaign, in one INSERT … SELECT (leads already
    in it are left as they are). Returns how many joined."""
    access.ensure(access.can_manage_campaigns, user)
    lead_filter = leads_filter_from(user=user, address=address)
    if lead_filter.is_bound and not lead_filter.is_valid():
        raise ValidationError({"address": "These filters are not valid for the leads list."})
    leads_sql, params = lead_filter.qs.order_by().values("pk").query.sql_with_params()
    table = connection.ops.quote_name(Member._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} (campaign_id, lead_id, source, added_at, added_by_id)
                SELECT %s, chosen.id, %s, %s, %s FROM ({leads_sql}) AS chosen(id)
                ON CONFLICT (campaign_id, lead_id) DO NOTHING""",
            [campaign.pk, Member.Source.FILTER, clock.now(), user.pk, *params],
        )
        added = cursor.rowcount
    if added:
        counts.refresh_soon(campaign.pk)
    return added


MEMBERS_CSV_MAX_ROWS = 50_000
# Columns a members file may name its values by (else the first column).
MEMBERS_CSV_COLUMNS = ("email", "lead", "lead id", "lead_id", "id", "number")


@dataclass
class MembersImport:
    added: int = 0
    already: int = 0
    # (row number in the file, value) of each row that named no lead the importer may see.
    not_found: list[tuple[int, str]] = field(default_factory=list)


def _members_csv_values(data: bytes) -> list[tuple[int, str]]:
    """(row number, value) of a members file: the column named email, lead, lead id or id (else the first)."""
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig", errors="replace"))))
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    named = [name for name in MEMBERS_CSV_COLUMNS if name in header]
    column = header.index(named[0]) if named else 0
    first = rows[0][0].strip() if rows[0] else ""
    start = 1 if named or not (first.isdigit() or "@" in first) else 0
    if len(rows) - start > MEMBERS_CSV_MAX_ROWS:
        raise ValidationError(f"At most {MEMBERS_CSV_MAX_ROWS:,} rows a file; this one has {len(rows) - start:,}.")
    return [
        (number, row[column].strip()[:320])
        for number, row in enumerate(rows[start:], start=start + 1)
        if len(row) > column and row[column].strip()
    ]


@transaction.atomic
def members_add_from_csv(*, user: User, campaign: Campaign, data: bytes) -> MembersImport:
    """Members from a CSV file of emails or lead numbers (one a row; the column named email, lead, lead id or id,
    else the first). Each row names a lead the user may see: by number, or by email (the oldest lead with it, as
    adding by hand picks). One SELECT of the leads named, one INSERT … ON CONFLICT DO NOTHING; leads already in
    the campaign stay as they are. Rows that name no lead the user may see are returned, with their row number."""
    access.ensure(access.can_manage_campaigns, user)
    values = _members_csv_values(data)
    ids = {int(value) for _, value in values if value.isdigit() and len(value) < 19}
    emails = {normalize_email(value) for _, value in values if "@" in value}
    found_ids: set[int] = set()
    by_email: dict[str, int] = {}
    if ids or emails:
        leads = access.leads_visible_to(user).filter(Q(pk__in=ids) | Q(email_normalized__in=emails))
        for pk, email in leads.order_by("-pk").values_list("pk", "email_normalized"):
            if pk in ids:
                found_ids.add(pk)
            if email in emails:
                by_email[email] = pk  # the oldest lead with the email wins (ordered newest first)
    result = MembersImport()
    chosen: set[int] = set()
    for number, value in values:
        lead_id = None
        if value.isdigit() and len(value) < 19 and int(value) in found_ids:
            lead_id = int(value)
        elif "@" in value:
            lead_id = by_email.get(normalize_email(value))
        if lead_id is None:
            result.not_found.append((number, value))
        else:
            chosen.add(lead_id)
    if chosen:
        table = connection.ops.quote_name(Member._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {table} (campaign_id, lead_id, source, added_at, added_by_id)
                    SELECT %s, chosen.id, %s, %s, %s FROM unnest(%s::bigint[]) AS chosen(id)
                    ON CONFLICT (campaign_id, lead_id) DO NOTHING""",
                [campaign.pk, Member.Source.IMPORT, clock.now(), user.pk, sorted(chosen)],
            )
            result.added = cursor.rowcount
        if result.added:
            counts.refresh_soon(campaign.pk)
    result.already = len(chosen) - result.added
    return result


@transaction.atomic
def member_add(*, user: User, campaign: Campaign, lead: Lead, source: str = Member.Source.HAND) -> tuple[Member, bool]:
    access.ensure(access.can_manage_campaigns, user)
    if not access.can_view_lead(user, lead):
        raise PermissionDenied("You cannot see this lead.")
    return Member.objects.get_or_create(
        campaign=campaign, lead=lead, defaults={"source": source, "added_by": user, "added_at": clock.now()}
    )


@transaction.atomic
def member_remove(*, user: User, member: Member) -> None:
    """Only a member nothing was sent to yet may go: what was sent stays traceable to its member."""
    access.ensure(access.can_manage_campaigns, user)
    if member.source == Member.Source.ARRIVAL:
        raise ValidationError("This lead arrived through the campaign's UTM campaign; it stays a member.")
    if member.sends.exclude(state="skipped").exists():
        raise ValidationError("This member was already sent email; it stays for the figures.")
    member.delete()


# --- Email steps --------------------------------------------------------------------------------------------------


@transaction.atomic
def step_save(
    *,
    user: User,
    campaign: Campaign,
    position: int,
    subject_a: str,
    body_a: str,
    subject_b: str = "",
    body_b: str = "",
    share_a: int = 50,
    delay_days: int = 3,
    stop_if_engaged: bool = True,
) -> EmailStep:
    """Create or change a step and its variants (B only when it differs from A). A released step is frozen."""
    access.ensure(access.can_manage_campaigns, user)
    step, _ = EmailStep.objects.select_for_update().get_or_create(campaign=campaign, position=position)
    if step.released_at or step.sends.exists():
        raise ValidationError("This step is already being sent; it can no longer change.")
    step.delay_days, step.stop_if_engaged = delay_days, stop_if_engaged
    step.full_clean()
    step.save()
    has_b = bool(subject_b.strip() or body_b.strip())
    variants = [("A", subject_a, body_a, share_a if has_b else 100)]
    if has_b:
        variants.append(("B", subject_b.strip() or subject_a, body_b.strip() or body_a, 100 - share_a))
    for label, subject, body, share in variants:
        variant = EmailVariant.objects.filter(step=step, label=label).first() or EmailVariant(step=step, label=label)
        variant.subject, variant.body, variant.share = subject.strip(), body.strip(), share
        variant.full_clean()
        variant.save()
    if not has_b:
        EmailVariant.objects.filter(step=step, label="B").delete()
    return step


@transaction.atomic
def campaign_schedule(*, user: User, campaign: Campaign, send_at: dt.datetime | None = None) -> EmailStep:
    """Start an email campaign: step 1 goes out at `send_at` (now when None); the campaign becomes active."""
    access.ensure(access.can_manage_campaigns, user)
    if campaign.kind != Campaign.Kind.EMAIL:
        raise ValidationError("Only email campaigns are sent.")
    step = EmailStep.objects.select_for_update().filter(campaign=campaign, position=1).first()
    if step is None or not step.variants.exists():
        raise ValidationError("Write the first email before scheduling.")
    if step.released_at:
        raise ValidationError("The first email is already being sent.")
    now = clock.now()
    step.send_at = send_at or now
    step.save(update_fields=["send_at"])
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.ACTIVE)
    campaign.status = Campaign.Status.ACTIVE
    if step.send_at <= now:
        sending.step_release(step=step, now=now)
        step.refresh_from_db(fields=["released_at"])
    return step


@transaction.atomic
def sends_retry(*, user: User, campaign: Campaign, position: int | None = None) -> dict[str, int]:
    """Retry the messages of a campaign (or of one of its emails) that the email backend refused: queued again and
    sent by Celery, once per member and step; unsubscribed or bounced members skipped (`sending.sends_retry`)."""
    access.ensure(access.can_manage_campaigns, user)
    if campaign.status != Campaign.Status.ACTIVE:
        raise ValidationError("Set the campaign active to retry its failed messages.")
    result = sending.sends_retry(campaign=campaign, position=position)
    if not result["queued"] and not result["skipped"]:
        raise ValidationError("No failed message to retry.")
    return result
