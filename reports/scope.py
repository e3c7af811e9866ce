"""Who sees which figures, and the filters of a report, as one object every selector starts from.

Admins see every lead; managers the leads of the teams they manage; reps only the leads they own. The same
conditions apply to the pre-aggregated rows (`stats_q`), to live queries on leads (`leads_q`), and to the links
to the leads list (`leads_url`), so a figure and the list behind it count the same leads.
"""

import datetime as dt
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from django import forms
from django.db.models import Q, QuerySet
from django.urls import reverse

from crm import access
from crm.models import Team, User
from leads.models import Channel
from reports.periods import DEFAULT_PRESET, PRESETS, Period, period_for_preset

# A custom period longer than this is refused: nobody reads a funnel over decades, and it bounds the work.
MAX_PERIOD_DAYS = 5 * 366


@dataclass(frozen=True)
class ReportScope:
    user: User
    period: Period
    channel: Channel | None = None
    team: Team | None = None
    owner: User | None = None
    # What the user may see: None = everything; otherwise a list of team ids, or the user's own id.
    allowed_team_ids: tuple[int, ...] | None = None
    own_leads_only: bool = False

    @classmethod
    def for_user(cls, user: User, period: Period, **filters) -> "ReportScope":
        if access.sees_all_figures(user):
            return cls(user=user, period=period, **filters)
        if access.can_see_team_reports(user):
            team_ids = tuple(access.teams_managed_by(user).values_list("pk", flat=True))
            return cls(user=user, period=period, allowed_team_ids=team_ids, **filters)
        return cls(user=user, period=period, own_leads_only=True, **{**filters, "team": None, "owner": None})

    @property
    def is_everything(self) -> bool:
        """True when the figures cover the whole company (no permission limit and no team or owner filter)."""
        return self.allowed_team_ids is None and not self.own_leads_only and not self.team and not self.owner

    def with_period(self, period: Period) -> "ReportScope":
        return replace(self, period=period)

    def previous(self) -> "ReportScope":
        return self.with_period(self.period.previous())

    def _who(self, prefix: str = "") -> Q:
        condition = Q()
        if self.own_leads_only:
            condition &= Q(**{f"{prefix}owner": self.user.pk})
        if self.allowed_team_ids is not None:
            condition &= Q(**{f"{prefix}team__in": self.allowed_team_ids})
        if self.channel:
            condition &= Q(**{f"{prefix}channel": self.channel.pk})
        if self.team:
            condition &= Q(**{f"{prefix}team": self.team.pk})
        if self.owner:
            condition &= Q(**{f"{prefix}owner": self.owner.pk})
        return condition

    def stats_q(self, *, all_time: bool = False) -> Q:
        """Rows of `DailyLeadStats` in scope (and in the period, unless all_time)."""
        condition = self._who()
        if not all_time:
            condition &= Q(day__gte=self.period.start, day__lte=self.period.end)
        return condition

    def leads_q(self, *, all_time: bool = False) -> Q:
        """Leads in scope, created in the period (unless all_time)."""
        condition = self._who()
        if not all_time:
            condition &= Q(created_at__gte=self.period.starts_at, created_at__lt=self.period.ends_before)
        return condition

    def customers_q(self, prefix: str = "") -> Q:
        """Customers (accounts) in scope, by the same rule as leads: their owner, team and channel; `prefix` for
        rows that reach the account through a relation (`account__`)."""
        return self._who(prefix)

    def list_params(self, *, all_time: bool = False, **extra) -> list[tuple[str, str]]:
        """The leads list's filters that show the leads behind a figure."""
        params: list[tuple[str, str]] = []
        if not all_time:
            params += [
                ("created_after", self.period.start.isoformat()),
                ("created_before", self.period.end.isoformat()),
            ]
        if self.channel:
            params.append(("channel", str(self.channel.pk)))
        if self.own_leads_only:
            params.append(("owner", str(self.user.pk)))
        if self.owner:
            params.append(("owner", str(self.owner.pk)))
        if self.team:
            params.append(("team", str(self.team.pk)))
        elif self.allowed_team_ids is not None:
            params += [("team", str(pk)) for pk in self.allowed_team_ids]
        for key, value in extra.items():
            if value is None:
                continue
            if key in ("owner", "channel", "team"):
                params = [(k, v) for k, v in params if k != key]
            params.append((key, str(value)))
        return params

    def leads_url(self, *, all_time: bool = False, **extra) -> str:
        return f"{reverse('leads:list')}?{urlencode(self.list_params(all_time=all_time, **extra))}"

    def filter_query(self) -> str:
        """This scope's report filters as a query string, for links between reports."""
        params = {"period": self.period.preset}
        if self.period.preset == "custom":
            params.update(start=self.period.start.isoformat(), end=self.period.end.isoformat())
        for name in ("channel", "team", "owner"):
            value = getattr(self, name)
            if value:
                params[name] = value.pk
        return urlencode(params)


def teams_in_scope(user: User) -> QuerySet[Team]:
    return access.teams_visible_to(user)


def owners_in_scope(user: User) -> QuerySet[User]:
    """People whose figures the user may see one by one."""
    return access.people_visible_to(user)


# Custom periods stay within these days: a period, the one before it (for "change") and the day after its end must
# be dates Python and PostgreSQL can hold (year 1 and 9999 cannot be compared with their neighbours).
EARLIEST_DAY, LATEST_DAY = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


class ReportFilterForm(forms.Form):
    period = forms.ChoiceField(choices=list(PRESETS.items()), required=False, label="Period", initial=DEFAULT_PRESET)
    start = forms.DateField(required=False, label="From", widget=forms.DateInput({"type": "date"}))
    end = forms.DateField(required=False, label="To", widget=forms.DateInput({"type": "date"}))
    channel = forms.ModelChoiceField(queryset=Channel.objects.all(), required=False, empty_label="All channels")
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, empty_label="All my teams")
    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False, empty_label="Everyone", label="Owner")

    def __init__(self, data=None, *, user: User, **kwargs):
        super().__init__(data, **kwargs)
        self.user = user
        self.fields["team"].queryset = teams_in_scope(user)
        self.fields["owner"].queryset = owners_in_scope(user).order_by("first_name", "last_name", "username")
        if access.sees_all_figures(user):
            self.fields["team"].empty_label = "All teams"
        if not access.can_see_team_reports(user):
            # A rep's figures are their own: nothing to choose.
            del self.fields["team"]
            del self.fields["owner"]

    def clean(self):
        data = super().clean()
        preset = data.get("period") or DEFAULT_PRESET
        data["period"] = preset
        if preset == "custom":
            start, end = data.get("start"), data.get("end")
            if not start:
                self.add_error("start", "Choose the first day.")
            if not end:
                self.add_error("end", "Choose the last day.")
            for name, day in (("start", start), ("end", end)):
                if day and not (EARLIEST_DAY <= day <= LATEST_DAY):
                    self.add_error(name, f"Choose a day between {EARLIEST_DAY:%Y} and {LATEST_DAY:%Y}.")
            if start and end and not self.errors:
                if end < start:
                    self.add_error("end", "The last day comes before the first.")
                elif (end - start).days >= MAX_PERIOD_DAYS:
                    self.add_error("end", "Choose a period of five years or less.")
        return data

    def scope(self) -> ReportScope:
        """The scope of a valid form; an invalid one falls back to the default period with no filters."""
        if not self.is_valid():
            return ReportScope.for_user(self.user, period_for_preset(DEFAULT_PRESET))
        data = self.cleaned_data
        if data["period"] == "custom":
            period = Period(data["start"], data["end"], "custom")
        else:
            period = period_for_preset(data["period"])
        return ReportScope.for_user(
            self.user, period, channel=data.get("channel"), team=data.get("team"), owner=data.get("owner")
        )
