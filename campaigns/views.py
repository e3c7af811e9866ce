"""Campaign pages: the list, a campaign with its members and figures, set-up (managers and admins), the event
check-in page for phones, and the campaigns panel of the lead page."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from campaigns import events, selectors, sending, services
from campaigns.forms import CampaignForm, MemberByHandForm, MembersByFilterForm, ScheduleForm, StepForm
from campaigns.models import Campaign, EmailStep, Member, Send
from campaigns.tables import campaign_tables
from crm import access
from leads.selectors import get_lead_for_user

MEMBERS_SHOWN = 25


@require_GET
def campaign_list(request: HttpRequest) -> HttpResponse:
    return render(request, "campaigns/list.html", {"campaigns": selectors.campaigns_list(user=request.user)})


@access.require(access.can_manage_campaigns)
@require_http_methods(["GET", "POST"])
def campaign_edit(request: HttpRequest, campaign_id: int | None = None) -> HttpResponse:
    campaign = (
        selectors.get_campaign_for_user(user=request.user, campaign_id=campaign_id) if campaign_id else Campaign()
    )
    owners = access.users_assignable_by(request.user).order_by("first_name", "last_name", "username")
    form = CampaignForm(request.POST or None, instance=campaign, owners=owners)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.campaign_save(user=request.user, campaign=form.save(commit=False))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Campaign “{campaign.name}” saved.")
            return redirect(campaign)
    return render(
        request, "campaigns/form.html", {"form": form, "campaign": campaign}, status=400 if form.errors else 200
    )


MEMBER_COUNT_CAP = 10_000
DRILL_COUNT_CAP = 1_000


def _detail_context(request: HttpRequest, campaign: Campaign) -> dict:
    user = request.user
    visible = selectors.members_visible_to(user=user, campaign=campaign)
    did, q = request.GET.get("did", ""), request.GET.get("q", "")[:100]
    try:
        step = int(request.GET.get("step") or 0) or None
    except ValueError:
        step = None
    if step is not None and not 1 <= step <= 20:
        step = None
    variant = request.GET.get("variant", "") if request.GET.get("variant", "") in ("A", "B") else ""
    chosen = selectors.members_filtered(visible, campaign=campaign, did=did, step=step, variant=variant, q=q)
    members = list(
        chosen.select_related("lead__owner")
        .prefetch_related(Prefetch("sends", queryset=Send.objects.select_related("step", "variant").order_by("step")))
        .order_by("-added_at", "-pk")[:MEMBERS_SHOWN]
    )
    # Counted up to a bound, in the list's index order (each member one probe): at a million members an exact
    # count of a drill-down would read every send of the email. The whole list is counted further.
    cap = DRILL_COUNT_CAP if (did in selectors.DID or q.strip()) else MEMBER_COUNT_CAP
    member_count = chosen.order_by("-added_at", "-pk")[: cap + 1].count()
    steps = list(EmailStep.objects.filter(campaign=campaign).prefetch_related("variants"))
    may_manage = access.can_manage_campaigns(user)
    return {
        "campaign": campaign,
        "members": members,
        "member_count": min(member_count, cap),
        "member_count_more": member_count > cap,
        "steps": steps,
        "failed": sending.retryable_by_step(campaign) if may_manage and steps else {},
        "tables": campaign_tables(campaign=campaign, members=visible, user=user),
        "filters": {"did": did, "step": step, "variant": variant, "q": q},
        "did_choices": list(selectors.DID),
        "may_manage": may_manage,
        "by_filter": MembersByFilterForm(),
        "by_hand": MemberByHandForm(),
        "schedule": ScheduleForm(),
        "statuses": Campaign.Status.choices,
    }


@require_GET
@vary_on_headers("HX-Request")
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = selectors.get_campaign_for_user(user=request.user, campaign_id=campaign_id)
    template = "campaigns/detail.html"
    if request.htmx and not request.htmx.boosted:
        template += "#members"
    return render(request, template, _detail_context(request, campaign))


@access.require(access.can_manage_campaigns)
@require_POST
def members_add(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = selectors.get_campaign_for_user(user=request.user, campaign_id=campaign_id)
    if "address" in request.POST:
        form = MembersByFilterForm(request.POST)
        if form.is_valid():
            try:
                added = services.members_add_by_filter(
                    user=request.user, campaign=campaign, address=form.cleaned_data["address"]
                )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(request, f"{added:,} lead{'s' if added != 1 else ''} added from the leads list.")
        else:
            messages.error(request, "Paste the address of a filtered leads list.")
        return redirect(campaign)
    form = MemberByHandForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the lead's email or number.")
        return redirect(campaign)
    wanted = form.cleaned_data["lead"].strip()
    condition = Q(pk=int(wanted)) if wanted.isdigit() else Q(email_normalized=wanted.lower())
    lead = access.leads_visible_to(request.user).filter(condition).order_by("pk").first()
    if lead is None:
        messages.error(request, f"No lead you can see has “{wanted}”.")
    else:
        _, created = services.member_add(user=request.user, campaign=campaign, lead=lead)
        messages.success(request, f"{lead.name} {'added' if created else 'was already a member'}.")
    return redirect(campaign)


MEMBERS_CSV_MAX_BYTES = 5_000_000
NOT_FOUND_SHOWN = 20


@access.require(access.can_manage_campaigns)
@require_POST
def members_import(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """Members from a CSV of emails or lead numbers; the rows that named no lead are listed back."""
    campaign = selectors.get_campaign_for_user(user=request.user, campaign_id=campaign_id)
    upload = request.FILES.get("file")
    if upload is None or upload.size > MEMBERS_CSV_MAX_BYTES:
        messages.error(request, "Choose a CSV file of at most 5 MB: one email or lead number a row.")
        return redirect(campaign)
    try:
        result = services.members_add_from_csv(user=request.user, campaign=campaign, data=upload.read())
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(campaign)
    messages.success(
        request,
        f"{result.added:,} lead{'s' if result.added != 1 else ''} added from the file"
        f"{f'; {result.already:,} already members' if result.already else ''}.",
    )
    if result.not_found:
        shown = ", ".join(f"row {number}: {value}" for number, value in result.not_found[:NOT_FOUND_SHOWN])
        more = len(result.not_found) - NOT_FOUND_SHOWN
        messages.warning(
            request,
            f"{len(result.not_found):,} row{'s' if len(result.not_found) != 1 else ''} named no lead you can see "
            f"({shown}{f', and {more:,} more' if more > 0 else ''}).",
        )
    return redirect(campaign)


@access.require(access.can_manage_campaigns)
@require_POST
def member_remove(request: HttpRequest, campaign_id: int, member_id: int) -> HttpResponse:
    campaign = selectors.get_campaign_for_user(user=request.user, campaign_id=campaign_id)
    member = selectors.get_member_for_user(user=request.user, campaign=campaign, member_id=member_id)
    try:
        services.member_remove(user=request.user, member=member)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{member.lead.name} removed.")
    return redirect(campaign)


@access.require(access.can_manage_campaigns)
@require_http_methods(["GET", "POST"])
def step_edit(request: HttpRequest, campaign_id: int, position: int) -> HttpResponse:
    campaign = selectors.get_campaign_for_user(user=request.user, campaign_id=campaign_id)
    step = EmailStep.objects.filter(campaign=campaign, position=position).prefetch_related("variants").first()
    initial = {}
    if step:
        variants = {v.label: v for v in step.variants.all()}
        initial = {"delay_days": step.delay_days, "stop_if_engaged": step.stop_if_engaged}
        if "A" in variants:
            initial.update(subject_a=variants["A"].subject, body_a=variants["A"].body, share_a=variants["A"].share)
        if "B" in variants:
            initial.update(subject_b=variants["B"].subject, body_b=variants["B"].body)
    form = StepForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.step_save(
                user=request.user,
                campaign=campaign,
                position=position,
                subject_a=data["subject_a"],
                body_a=data["body_a"],
                subject_b=data["subject_b"],
                body_b=data["body_b"],
                share_a=data["share_a"],
                delay_days=data["delay_days"] if data["delay_days"] is not None else 3,
                stop_if_engaged=data["stop_if_engaged"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"Email {position} saved.")
            return redirect(campaign)
    context = {"campaign": campaign, "form": form, "position": position, "step": step}
    return render(request, "campaigns/step_form.html", context, status=400 if form.errors else 200)


@access.require(access.can_manage_campaigns)
@require_POST
def campaign_schedule(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = selectors.get_campaign_for_user(user=request.user, campaign_id=campaign_id)
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter a date and time, or leave it empty to send now.")
        return redirect(campaign)
    try:
        step = services.campaign_schedule(user=request.user, campaign=campaign, send_at=form.cleaned_data["send_at"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        when = "now" if step.released_at else f"at {step.send_at:%Y-%m-%d %H:%M}"
        messages.success(request, f"Sending {when}.")
    return redirect(campaign)


@access.require(access.can_manage_campaigns)
@require_POST
def campaign_status(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = selectors.get_campaign_for_user(user=request.user, campaign_id=campaign_id)
    try:
        services.campaign_set_status(user=request.user, campaign=campaign, status=request.POST.get("status", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect(campaign)


@access.require(access.can_manage_campaigns)
@require_POST
def campaign_retry(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """Retry the messages the email backend refused: the whole campaign, or one email (`step`, its position)."""
    campaign = selectors.get_campaign_for_user(user=request.user, campaign_id=campaign_id)
    raw = request.POST.get("step", "").strip()
    position = None
    if raw:
        if not raw.isdigit() or not 1 <= int(raw) <= 20:
            return HttpResponseBadRequest("The email to retry is its number, 1 to 20.", content_type="text/plain")
        position = int(raw)
    try:
        result = services.sends_retry(user=request.user, campaign=campaign, position=position)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        skipped = result["skipped"]
        note = f"; {skipped:,} skipped (unsubscribed or bounced since)" if skipped else ""
        messages.success(request, f"{result['queued']:,} failed message{'s' if result['queued'] != 1 else ''} "
                         f"queued again{note}.")  # fmt: skip
    return redirect(campaign)


# --- Events -------------------------------------------------------------------------------------------------------


@access.require(access.can_manage_campaigns)
@require_GET
@vary_on_headers("HX-Request")
def check_in(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """The door's page, for a phone: search registered people by name, one tap marks them attended."""
    campaign = selectors.get_campaign_for_user(user=request.user, campaign_id=campaign_id)
    q = request.GET.get("q", "").strip()[:100]
    visible = selectors.members_visible_to(user=request.user, campaign=campaign)
    members = visible.select_related("lead")
    if q:
        members = members.filter(lead__name__icontains=q)
    context = {
        "campaign": campaign,
        "q": q,
        "members": list(members.order_by("lead__name", "pk")[:50]),
        "attended": visible.filter(attended_at__isnull=False).count(),
    }
    template = "campaigns/check_in.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, context)


@access.require(access.can_manage_campaigns)
@require_POST
def check_in_member(request: HttpRequest, campaign_id: int, member_id: int) -> HttpResponse:
    campaign = selectors.get_campaign_for_user(user=request.user, campaign_id=campaign_id)
    member = selectors.get_member_for_user(user=request.user, campaign=campaign, member_id=member_id)
    events.attendance_mark(user=request.user, member=member)
    if request.htmx:
        return render(request, "campaigns/check_in.html#row", {"campaign": campaign, "member": member})
    messages.success(request, f"{member.lead.name} checked in.")
    return redirect("campaigns:check_in", campaign_id=campaign.pk)


ATTENDANCE_CSV_MAX_BYTES = 2_000_000


@access.require(access.can_manage_campaigns)
@require_POST
def attendance_upload(request: HttpRequest, campaign_id: int) -> HttpResponse:
    """Attendance from a CSV of emails (a badge scanner's export, a sign-in sheet)."""
    campaign = selectors.get_campaign_for_user(user=request.user, campaign_id=campaign_id)
    upload = request.FILES.get("file")
    if upload is None or upload.size > ATTENDANCE_CSV_MAX_BYTES:
        messages.error(request, "Choose a CSV file of at most 2 MB with an “email” column.")
        return redirect(campaign)
    marked, unknown = events.attendance_from_csv(user=request.user, campaign=campaign, data=upload.read())
    note = f"; {unknown:,} email{'s' if unknown != 1 else ''} matched no member" if unknown else ""
    messages.success(request, f"{marked:,} attendee{'s' if marked != 1 else ''} checked in{note}.")
    return redirect(campaign)


@access.require(access.can_manage_campaigns)
@require_POST
def follow_up(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = selectors.get_campaign_for_user(user=request.user, campaign_id=campaign_id)
    created = events.attendees_follow_up(user=request.user, campaign=campaign)
    messages.success(request, f"{created:,} follow-up task{'s' if created != 1 else ''} created for the owners.")
    return redirect(campaign)


# --- The lead page's panel ----------------------------------------------------------------------------------------


@require_GET
def lead_panel(request: HttpRequest, lead_id: int) -> HttpResponse:
    """The lead's campaigns: what it was sent, opened and clicked, its registrations and attendance."""
    lead = get_lead_for_user(user=request.user, lead_id=lead_id)
    memberships = (
        Member.objects.filter(lead=lead)
        .select_related("campaign")
        .prefetch_related(Prefetch("sends", queryset=Send.objects.select_related("step", "variant").order_by("step")))
        .order_by("-added_at")[:20]
    )
    return render(request, "campaigns/lead_panel.html", {"lead": lead, "memberships": memberships})
