"""The rows of the demo leads, made cheaply: plain tuples, times as epoch seconds until the last moment.

A million leads make some fourteen million rows, so this is the hot path: one random number per choice (see
`_Weighted`), no model instances, hand-built JSON where the values never need escaping.
"""

import bisect
import datetime as dt
import json
import math
import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from crm.models import User
from crm.roles import Role
from leads.demo.vocabulary import (
    ARRIVAL_NOTES,
    AUTHORITIES,
    AUTHORITY_QUALITY,
    BUDGETS,
    CALL_OUTCOMES,
    CHANNELS,
    COMPANY_COUNT,
    COMPANY_PREFIXES,
    COMPANY_SIZES,
    COUNTRIES,
    DAY,
    DEMO_USERS,
    DOWNLOADS,
    EVENTS,
    FIRST_EMAIL_SUBJECTS,
    FIRST_NAMES,
    FIT_FOR_DEMO,
    FIT_FOR_WHITEPAPER,
    FOLLOW_UP_SUBJECTS,
    FORM_INTENT,
    FORM_WEIGHTS,
    FORMS,
    FREE_MAIL_DOMAINS,
    FUNNEL_STEPS,
    HOUR,
    INDUSTRIES,
    JOB_TITLES,
    LAST_NAMES,
    LOW_INTENT_FORMS,
    MEDIAN_DEAL,
    MEETINGS_BY_STAGE,
    MESSAGES,
    NEEDS,
    NOTES,
    OUTBOUND_SEQUENCES,
    PARTNERS,
    POOL_SHARE,
    PRICING_PAGE,
    PRICING_VISITOR_INTENT,
    PRICING_VISITOR_SHARE,
    QUALITY_MEAN,
    REPLY_SUBJECTS,
    RESPONSE_BUCKETS,
    RESPONSE_PROFILES,
    RETURNING_SHARE,
    SITE_PAGES,
    TASK_TITLES,
    TEAM_BY_REGION,
    TEAMS,
    TIMELINES,
    UNANSWERED_LOST_REASONS,
    UNANSWERED_LOST_SHARE,
    ChannelSpec,
    Country,
    Industry,
    ResponseBucket,
)
from leads.facts import EDITABLE_FIELDS
from leads.models import FUNNEL, Channel, Interaction, Stage

# Leads generated and written together: big enough that COPY statements are few, small enough that a chunk's
# rows stay a few dozen megabytes.
CHUNK_LEADS = 20_000
# How many recent people a returning lead is drawn from.
RECENT_PEOPLE = 1000

Kind = Interaction.Kind
Direction = Interaction.Direction
EVENT, EMAIL_CAMPAIGN, COLD = Channel.Kind.EVENT, Channel.Kind.EMAIL, Channel.Kind.COLD
CLOSED = (Stage.WON, Stage.LOST)

# The rows of one chunk, by table: "leads", "interactions", "stage_changes", "tasks" (columns: writers.TABLES).
Rows = dict[str, list[tuple]]


class _Weighted:
    """A weighted choice for one random number and a bisect (`random.choices` re-sums the weights per call)."""

    def __init__(self, rng: random.Random, items: Sequence, weights: Sequence[float]) -> None:
        self.items = list(items)
        self.cumulative = [sum(weights[: i + 1]) for i in range(len(weights))]
        self.total = self.cumulative[-1]
        self.random = rng.random

    def __call__(self):
        return self.items[bisect.bisect(self.cumulative, self.random() * self.total)]


def _phone_maker(rng: random.Random, template: str) -> Callable[[], tuple[str, str]]:
    """A function returning (phone as typed, E.164) for a template such as "+49 30 ########".

    The E.164 form is the typed digits (with +1 before a US-style local number): what leads.normalize gives for
    these templates (the tests check it), without a phonenumbers parse per lead.
    """
    width = template.count("#")
    pattern, limit, randrange = template.replace("#", "{}"), 10**width, rng.randrange
    country_code = "+" if template.startswith("+") else "+1"

    def make() -> tuple[str, str]:
        typed = pattern.format(*str(randrange(limit)).zfill(width))
        return typed, country_code + "".join(ch for ch in typed if ch.isdigit())

    return make


def _at(timestamp: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, dt.UTC)


def _interaction(
    lead_id: int,
    kind: str,
    direction: str,
    at: int,
    user_id: int | None,
    subject: str = "",
    body: str = "",
    details: str = "{}",
    outcome: str = "",
) -> tuple:
    """An interaction row, logged when it happened."""
    occurred_at = _at(at)
    return (lead_id, kind, direction, occurred_at, user_id, subject, body, outcome, details, occurred_at)


# Hand-built JSON: json.dumps costs ten times more, and these values never need escaping.
def _visit_details(pages: int, seconds: int, url: str) -> str:
    return f'{{"pages": {pages}, "seconds": {seconds}, "url": "{url}"}}'


def _url_details(url: str) -> str:
    return f'{{"url": "{url}"}}'


@dataclass(frozen=True)
class _Company:
    name: str
    domain: str
    industry: Industry
    country: Country
    size: int  # index into COMPANY_SIZES


class DemoDataGenerator:
    """Makes the demo leads' rows, chunk by chunk; tallies leads per channel and month for the spend rows."""

    def __init__(self, *, rng: random.Random, now: dt.datetime, users: Sequence[User], channels: Sequence[Channel]):
        self.rng = rng
        self.now = int(now.timestamp())
        today = timezone.localdate(now)
        tz = timezone.get_current_timezone()
        # The window: the last twelve calendar months, this one included.
        firsts, year, month = [], today.year, today.month
        for _ in range(12):
            firsts.append(dt.date(year, month, 1))
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        self.month_firsts = sorted(firsts)
        self.month_starts = [int(dt.datetime.combine(d, dt.time.min, tzinfo=tz).timestamp()) for d in self.month_firsts]
        self.start = self.month_starts[0]
        self.today_start = int(dt.datetime.combine(today, dt.time.min, tzinfo=tz).timestamp())
        self.today_weekday = today.weekday()
        self.leads_per_channel_month: Counter[tuple[int, int]] = Counter()

        by_username = {user.username: user for user in users}
        self.reps_by_team: dict[str, _Weighted] = {}
        self.response_of_rep: dict[int, _Weighted] = {}
        self.team_of_rep: dict[int, int | None] = {}
        for team in TEAMS:
            reps = [d for d in DEMO_USERS if d.team == team and d.role == Role.REP]
            ids = [by_username[d.username].pk for d in reps]
            self.reps_by_team[team] = _Weighted(rng, ids, [d.load for d in reps])
            for demo, user_id in zip(reps, ids, strict=True):
                self.response_of_rep[user_id] = _Weighted(rng, [*RESPONSE_BUCKETS, None], RESPONSE_PROFILES[demo.speed])
                self.team_of_rep[user_id] = by_username[demo.username].team_id

        specs = {spec.name: spec for spec in CHANNELS}
        self.channel = _Weighted(
            rng, [(c.pk, specs[c.name]) for c in channels], [specs[c.name].weight for c in channels]
        )
        self.phone_of_city = {city: _phone_maker(rng, phone) for c in COUNTRIES for city, phone in c.cities}
        self.title = _Weighted(rng, JOB_TITLES, [t.weight for t in JOB_TITLES])
        self.authority_of_title = {t.title: _Weighted(rng, AUTHORITIES, t.authority) for t in JOB_TITLES}
        self.form = _Weighted(rng, FORMS, FORM_WEIGHTS)
        self.budget = _Weighted(rng, BUDGETS, [b[1] for b in BUDGETS])
        self.timeline = _Weighted(rng, TIMELINES, [t[1] for t in TIMELINES])
        self.call_outcome = _Weighted(rng, [o for o, _ in CALL_OUTCOMES], [w for _, w in CALL_OUTCOMES])
        self.lost_reason = [
            _Weighted(rng, [r for r, _ in step.lost_reasons], [w for _, w in step.lost_reasons])
            for step in FUNNEL_STEPS
        ]
        self.unanswered_reason = _Weighted(
            rng, [r for r, _ in UNANSWERED_LOST_REASONS], [w for _, w in UNANSWERED_LOST_REASONS]
        )
        # Hour of arrival: office hours, with an evening tail.
        self.hour = _Weighted(
            rng, range(24), [1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 10, 9, 8, 9, 10, 10, 9, 7, 5, 4, 3, 2, 2, 1]
        )
        self.companies = self._companies()
        self.people: list[tuple] = []  # recent people, some of whom come back

    def _companies(self) -> list[_Company]:
        rng = self.rng
        industry = _Weighted(rng, INDUSTRIES, [i.weight for i in INDUSTRIES])
        country = _Weighted(rng, COUNTRIES, [c.weight for c in COUNTRIES])
        size = _Weighted(rng, range(len(COMPANY_SIZES)), [s.weight for s in COMPANY_SIZES])
        companies, names = [], set()
        for _ in range(COMPANY_COUNT):
            sector = industry()
            name = f"{rng.choice(COMPANY_PREFIXES)} {rng.choice(sector.company_nouns)}"
            if name in names:
                continue
            names.add(name)
            home = country()
            domain = f"{name.lower().replace(' ', '')}.{home.tld}"
            companies.append(_Company(f"{name} {home.legal_suffix}", domain, sector, home, size()))
        return companies

    # --- time ---

    def _arrival(self) -> int:
        """A creation time in the window: later months a little busier, weekdays and office hours busiest."""
        rng, span = self.rng, self.now - self.start
        while True:
            # Three quarters uniform, a quarter leaning to the present: the latest month gets ~1.5× the first.
            fraction = rng.random() if rng.random() < 0.75 else rng.triangular(0.0, 1.0, 1.0)
            moment = self.start + int(fraction * span)
            day_start = moment - (moment - self.today_start) % DAY
            weekday = (self.today_weekday + (day_start - self.today_start) // DAY) % 7
            if weekday >= 5 and rng.random() > 0.3:
                continue
            moment = day_start + self.hour() * HOUR + int(rng.random() * HOUR)
            if moment <= self.now:
                return moment
            if day_start < self.now:  # today, at an hour still to come: earlier today instead
                return day_start + int(rng.random() * (self.now - day_start))

    def _days(self, median_days: float) -> int:
        """A log-normal duration in seconds around a median: most near it, a few much longer."""
        return int(median_days * DAY * self.rng.lognormvariate(0.0, 0.6))

    def _between(self, start: int, end: int) -> int:
        return start + int(self.rng.random() * max(end - start, 0))

    # --- leads ---

    def chunks(self, ids: Sequence[int]) -> Iterator[Rows]:
        """Yield the rows of one lead per id (ascending ids), CHUNK_LEADS leads at a time.

        Leads are made in order of arrival, so ids grow with creation time as they would in real use. Nothing
        here touches the database, so chunks can be made in another thread while the last one is written.
        """
        arrivals = sorted(self._arrival() for _ in ids)
        for first in range(0, len(ids), CHUNK_LEADS):
            rows: Rows = {"leads": [], "interactions": [], "stage_changes": [], "tasks": []}
            chunk = slice(first, first + CHUNK_LEADS)
            for lead_id, created in zip(ids[chunk], arrivals[chunk], strict=True):
                self._lead(lead_id, created, rows)
            yield rows

    def _lead(self, lead_id: int, created: int, rows: Rows) -> None:
        rng, random_, now = self.rng, self.rng.random, self.now

        # Who: a person at a company. Now and then someone comes back (same email and phone): what duplicate
        # detection is for.
        if self.people and random_() < RETURNING_SHARE:
            person = rng.choice(self.people)
        else:
            person = self._person()
            if len(self.people) < RECENT_PEOPLE:
                self.people.append(person)
            else:
                self.people[int(random_() * RECENT_PEOPLE)] = person
        first, last, email, phone, phone_normalized, company, city = person
        country, size = company.country, COMPANY_SIZES[company.size]
        title = self.title()
        authority = self.authority_of_title[title.title]()
        budget, _, budget_quality = self.budget()
        timeline, _, timeline_quality = self.timeline()

        # Where from.
        channel_id, spec = self.channel()
        month = bisect.bisect(self.month_starts, created) - 1
        self.leads_per_channel_month[channel_id, month] += 1
        # Fit of the profile.
        fit = (
            company.industry.quality
            * size.quality
            * title.quality
            * AUTHORITY_QUALITY[authority]
            * budget_quality
            * timeline_quality
        )
        # Intent: what the lead asked for, and whether it looked at prices. Leads who fit ask for demos and prices
        # more often (a decision maker with a budget wants to see the product), those who fit badly less.
        form = self.form() if spec.is_web else None
        if form is not None:
            if fit > FIT_FOR_DEMO and form[0] in LOW_INTENT_FORMS and random_() < 0.4:
                form = FORMS[0]
            elif fit < FIT_FOR_WHITEPAPER and form[0] not in LOW_INTENT_FORMS and random_() < 0.5:
                form = FORMS[3]
        attributes, utm_campaign = self._attributes(spec, month, form)
        intent = FORM_INTENT[form[0]] if form else 1.0
        pricing_visitor = bool(form and form[1] == PRICING_PAGE)
        if not pricing_visitor and random_() < PRICING_VISITOR_SHARE * min(fit, 2.0):
            pricing_visitor, intent = True, intent * PRICING_VISITOR_INTENT

        # How likely to buy: fit of the profile, the channel and the lead's intent.
        quality = intent * spec.quality * fit / QUALITY_MEAN

        # Who owns it and how fast they answered; pool leads have no owner and no answer.
        owner_id = team_id = bucket = response_at = None
        if random_() >= POOL_SHARE:
            owner_id = self.reps_by_team[TEAM_BY_REGION[country.region]]()
            team_id = self.team_of_rep[owner_id]
            bucket = self.response_of_rep[owner_id]()
            if bucket is not None:
                delay = int(bucket.min_seconds * (bucket.max_seconds / bucket.min_seconds) ** random_())
                if created + delay <= now:  # else: the clock is still running
                    response_at = created + delay

        changes, lost_reason = self._stages(created, spec, owner_id, bucket, response_at, quality)
        stage, stage_at = changes[-1][1], changes[-1][2]
        rows["stage_changes"].extend((lead_id, before, after, _at(at), user) for before, after, at, user in changes)
        won_at = deal_value = None
        if stage == Stage.WON:
            won_at = stage_at
            deal_value = Decimal(round(MEDIAN_DEAL * size.deal_factor * rng.lognormvariate(0, 0.45), -2))

        # What happened: marketing touches, the owner's outreach, the lead's replies.
        is_open = stage not in CLOSED
        active_until = now if is_open else min(now, stage_at + 14 * DAY)
        # How far down the funnel it got (a lost lead: the stage it was lost from); engagement grows with it.
        depth = FUNNEL.index(changes[-1][0] if stage == Stage.LOST else stage)
        interactions = rows["interactions"]
        last_activity = self._marketing(
            lead_id, created, active_until, spec, form, depth, bool(email), interactions, pricing_visitor, intent
        )
        if response_at is not None:
            outreach, latest = self._outreach(lead_id, owner_id, response_at, changes, depth, active_until, bool(phone))
            interactions.extend(outreach)
            last_activity = max(last_activity, latest)
        elif owner_id is not None and random_() < 0.3:
            # An unanswered lead may carry a note; a note is not a response.
            at = self._between(created, active_until)
            interactions.append(_interaction(lead_id, Kind.NOTE, Direction.SYSTEM, at, owner_id, "", rng.choice(NOTES)))
            last_activity = max(last_activity, at)
        if is_open and owner_id is not None:
            self._tasks(lead_id, owner_id, stage, created, rows["tasks"])

        low, high = size.employees
        created_at = _at(created)
        # The lead's facts by name, drawn in the order they always were (the same seed makes the same leads);
        # the row takes them in the list's order (leads.facts), so a fact missing here fails loudly.
        facts = {
            "name": f"{first} {last}",
            "email": email,
            "phone": phone,
            "company": company.name if random_() < 0.97 else "",
            "job_title": title.title if random_() < 0.95 else "",
            "industry": company.industry.name if random_() < 0.95 else "",
            "company_size": rng.randint(low, high) if random_() < 0.9 else None,
            "country": country.code,
            "region": country.region,
            "city": city,
            "channel": channel_id,
            "utm_source": spec.utm_source,
            "utm_medium": spec.utm_medium,
            "utm_campaign": utm_campaign,
            "budget": budget,
            "budget_amount": Decimal(round(MEDIAN_DEAL * size.deal_factor * rng.lognormvariate(0, 0.5), -3))
            if budget == "confirmed"
            else None,
            "authority": authority,
            "need": rng.choice(NEEDS) if random_() < 0.7 else "",
            "timeline": timeline,
            "attributes": attributes,
        }
        rows["leads"].append(
            (
                lead_id,
                *[facts[name] for name in EDITABLE_FIELDS],
                email.lower(),
                phone_normalized,
                owner_id,
                team_id,
                created_at if owner_id else None,
                stage,
                _at(stage_at),
                lost_reason,
                deal_value,
                _at(won_at) if won_at else None,
                "",
                _at(response_at) if response_at is not None else None,
                response_at - created if response_at is not None else None,
                _at(last_activity),
                created_at,
                _at(now),
            )
        )

    def _stages(
        self,
        created: int,
        spec: ChannelSpec,
        owner_id: int | None,
        bucket: ResponseBucket | None,
        response_at: int | None,
        quality: float,
    ) -> tuple[list[tuple[str, str, int, int | None]], str]:
        """The lead's stage changes (from, to, when, by whom) and its lost reason.

        The first response makes a lead Contacted, as `interaction_log` does. From there each step either
        advances (more often after a fast response and for a good fit), or loses the lead, or leaves it open; a
        step that would land after now has not happened yet, which is why recent leads are still open.
        """
        random_, now = self.rng.random, self.now
        # A cold-outreach lead is entered by its rep; the others arrive by themselves.
        changes = [("", Stage.NEW, created, owner_id if spec.kind == COLD else None)]
        if response_at is None:
            if owner_id is not None and random_() < UNANSWERED_LOST_SHARE:
                at = created + self._days(30)
                if at <= now:
                    changes.append((Stage.NEW, Stage.LOST, at, owner_id))
                    return changes, self.unanswered_reason()
            return changes, ""
        changes.append((Stage.NEW, Stage.CONTACTED, response_at, owner_id))
        stage, stage_at = Stage.CONTACTED, response_at
        for index, step in enumerate(FUNNEL_STEPS):
            rate = bucket.qualify_rate * quality if index == 0 else step.rate * math.sqrt(quality)
            if random_() < min(0.95, rate):
                at = stage_at + self._days(step.median_days)
                if at > now:
                    break
                changes.append((stage, step.to_stage, at, owner_id))
                stage, stage_at = step.to_stage, at
                continue
            if random_() < step.lost_share:
                at = stage_at + self._days(step.lost_median_days)
                if at <= now:
                    changes.append((stage, Stage.LOST, at, owner_id))
                    return changes, self.lost_reason[index]()
            break
        return changes, ""

    def _person(self) -> tuple[str, str, str, str, str, _Company, str]:
        """First and last name, email, phone as typed and in E.164, company and city of a new person."""
        rng = self.rng
        company = rng.choice(self.companies)
        city = rng.choice(company.country.cities)[0]
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        phone, phone_normalized = self.phone_of_city[city]() if rng.random() < 0.88 else ("", "")
        return first, last, self._email(first, last, company), phone, phone_normalized, company, city

    def _email(self, first: str, last: str, company: _Company) -> str:
        """An address as the lead typed it; some are capitalised, so the normalised form matters."""
        roll = self.rng.random()
        if roll < 0.03:
            return ""
        if roll < 0.11:
            return f"{first}.{last}{self.rng.randrange(10, 99)}@{self.rng.choice(FREE_MAIL_DOMAINS)}"
        if roll < 0.21:
            return f"{first}.{last}@{company.domain}"
        if roll < 0.41:
            return f"{first[0]}{last}@{company.domain}".lower()
        return f"{first}.{last}@{company.domain}".lower()

    def _attributes(self, spec: ChannelSpec, month: int, form: tuple[str, str] | None) -> tuple[str, str]:
        """Custom attributes (JSON text) and the UTM campaign, as the lead's source would record them."""
        rng, kind = self.rng, spec.kind
        campaign = rng.choice(spec.campaigns) if spec.campaigns else ""
        if kind == EMAIL_CAMPAIGN:
            campaign = f"{campaign}-{self.month_firsts[month]:%Y-%m}"
        attributes: dict[str, str | bool] = {"newsletter": rng.random() < 0.4}
        if form is not None:
            attributes["source_form"] = form[0]
        elif kind == EVENT:
            attributes["event"] = rng.choice(EVENTS)
            attributes["badge_scanned"] = rng.random() < 0.8
        elif kind == Channel.Kind.PARTNER:
            attributes["partner"] = rng.choice(PARTNERS)
        elif kind == Channel.Kind.REFERRAL:
            attributes["referred_by"] = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        elif kind == Channel.Kind.IMPORT:
            attributes["import_file"] = f"leads-{self.month_firsts[month]:%Y-%m}.csv"
        elif kind == COLD:
            attributes["sequence"] = rng.choice(OUTBOUND_SEQUENCES)
        return json.dumps(attributes), campaign

    # --- interactions ---

    def _marketing(
        self,
        lead_id: int,
        created: int,
        until: int,
        spec: ChannelSpec,
        form: tuple[str, str] | None,
        depth: int,
        has_email: bool,
        out: list[tuple],
        pricing_visitor: bool = False,
        intent: float = 1.0,
    ) -> int:
        """How the lead arrived, and its visits, downloads and email engagement. Returns the latest time.

        Keen leads (intent above 1.5: a demo or pricing request, a look at the prices) come back to the site more
        often, and lately; pricing visitors look at the prices once or twice (first before they arrive)."""
        rng, random_ = self.rng, self.rng.random
        if form is not None:
            form_name, page = form
            if spec.kind == EMAIL_CAMPAIGN:
                clicked = created - 60 - int(random_() * 1800)
                out.append(
                    _interaction(lead_id, Kind.EMAIL_CLICK, Direction.SYSTEM, clicked, None, "", "", _url_details(page))
                )
            subject = form_name.replace("_", " ").capitalize()
            out.append(
                _interaction(
                    lead_id, Kind.FORM_SUBMISSION, Direction.INBOUND, created, None, subject, "", _url_details(page)
                )
            )
            for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):  # visits before the form
                out.append(self._visit(lead_id, created - HOUR - int(random_() * 20 * DAY)))
        elif spec.kind == EVENT:
            at = created - int(random_() * 2 * DAY)
            out.append(_interaction(lead_id, Kind.EVENT_ATTENDED, Direction.INBOUND, at, None, rng.choice(EVENTS)))
        elif spec.kind in ARRIVAL_NOTES:
            out.append(_interaction(lead_id, Kind.NOTE, Direction.SYSTEM, created, None, "", ARRIVAL_NOTES[spec.kind]))

        latest = created
        keen = intent > 1.5
        for _ in range(int(random_() * 3) + depth // 2 + spec.is_web + 3 * keen):
            # A keen lead's visits lean to the latest days (it keeps coming back); the others' are spread out.
            at = until - int((until - created) * random_() ** 2) if keen else self._between(created, until)
            out.append(self._visit(lead_id, at))
            latest = max(latest, at)
        if pricing_visitor:
            out.append(self._visit(lead_id, created - 60 - int(random_() * DAY), PRICING_PAGE))
            if random_() < 0.6:
                at = until - int((until - created) * random_() ** 2)
                out.append(self._visit(lead_id, at, PRICING_PAGE))
                latest = max(latest, at)
        for _ in range((int(random_() * 3) + 2 * keen) if has_email else 0):
            at = until - int((until - created) * random_() ** 2) if keen else self._between(created, until)
            out.append(
                _interaction(lead_id, Kind.EMAIL_OPEN, Direction.SYSTEM, at, None, rng.choice(FOLLOW_UP_SUBJECTS))
            )
            latest = max(latest, at)
            if random_() < (0.6 if keen else 0.3):
                clicked = min(at + 30 + int(random_() * 600), self.now)
                details = _url_details(rng.choice(SITE_PAGES))
                out.append(_interaction(lead_id, Kind.EMAIL_CLICK, Direction.SYSTEM, clicked, None, "", "", details))
                latest = max(latest, clicked)
        if random_() < 0.12:
            at = self._between(created, until)
            out.append(_interaction(lead_id, Kind.DOWNLOAD, Direction.INBOUND, at, None, rng.choice(DOWNLOADS)))
            latest = max(latest, at)
        if has_email and random_() < 0.02:
            at = self._between(created, until)
            out.append(_interaction(lead_id, Kind.UNSUBSCRIBE, Direction.SYSTEM, at, None))
            latest = max(latest, at)
        return latest

    def _visit(self, lead_id: int, at: int, url: str = "") -> tuple:
        pages = 1 + int(self.rng.random() * 8)
        details = _visit_details(pages, 20 + int(self.rng.random() * 90 * pages), url or self.rng.choice(SITE_PAGES))
        return _interaction(lead_id, Kind.WEB_VISIT, Direction.SYSTEM, at, None, "", "", details)

    def _outreach(
        self,
        lead_id: int,
        owner_id: int,
        response_at: int,
        changes: list[tuple],
        depth: int,
        until: int,
        has_phone: bool,
    ) -> tuple[list[tuple], int]:
        """The owner's first response, follow-ups and meetings, their notes, and the lead's replies; and the
        latest of their times.

        Every outbound personal interaction is at or after `response_at`, so the lead's first response is the
        earliest of them, as `interaction_log` would have recorded it.
        """
        rng, random_, now = self.rng, self.rng.random, self.now
        call_outcome = self.call_outcome
        out = []
        if has_phone and random_() < 0.65:
            call = _interaction(lead_id, Kind.CALL, Direction.OUTBOUND, response_at, owner_id, outcome=call_outcome())
            out.append(call)
        else:
            subject = rng.choice(FIRST_EMAIL_SUBJECTS)
            out.append(_interaction(lead_id, Kind.EMAIL, Direction.OUTBOUND, response_at, owner_id, subject))
        # A meeting shortly before each later move up the funnel.
        for _before, after, at, _user in changes[2:]:
            if after in MEETINGS_BY_STAGE:
                held = min(max(response_at + 60, at - int(random_() * DAY)), now)
                out.append(
                    _interaction(lead_id, Kind.MEETING, Direction.OUTBOUND, held, owner_id, MEETINGS_BY_STAGE[after])
                )
        end = max(until, response_at + 60)
        for _ in range(int(random_() * 3) + depth):
            at = min(self._between(response_at + 60, end), now)
            roll = random_()
            if has_phone and roll < 0.45:
                out.append(_interaction(lead_id, Kind.CALL, Direction.OUTBOUND, at, owner_id, outcome=call_outcome()))
            elif roll < 0.9:
                subject = rng.choice(FOLLOW_UP_SUBJECTS)
                out.append(_interaction(lead_id, Kind.EMAIL, Direction.OUTBOUND, at, owner_id, subject))
            else:
                out.append(
                    _interaction(lead_id, Kind.MESSAGE, Direction.OUTBOUND, at, owner_id, "", rng.choice(MESSAGES))
                )
        # The lead's replies: inbound, so not responses, and with no user.
        for _ in range(int(random_() * 2) + depth // 2):
            at = min(self._between(response_at + 60, end), now)
            if has_phone and random_() < 0.25:
                out.append(
                    _interaction(lead_id, Kind.CALL, Direction.INBOUND, at, None, outcome=Interaction.Outcome.CONNECTED)
                )
            else:
                out.append(_interaction(lead_id, Kind.EMAIL, Direction.INBOUND, at, None, rng.choice(REPLY_SUBJECTS)))
        if random_() < 0.5:
            at = min(self._between(response_at, end), now)
            out.append(_interaction(lead_id, Kind.NOTE, Direction.SYSTEM, at, owner_id, "", rng.choice(NOTES)))
        return out, int(max(row[3] for row in out).timestamp())

    def _tasks(self, lead_id: int, owner_id: int, stage: str, created: int, out: list[tuple]) -> None:
        """Follow-ups of an open lead: some overdue, some due today, some later, some done."""
        rng, random_, now = self.rng, self.rng.random, self.now
        count = 0 if random_() < 0.45 else (2 if random_() < 0.25 else 1)
        for _ in range(count):
            roll, done_at = random_(), None
            if roll < 0.25:  # overdue
                due = max(created + HOUR, now - HOUR - int(random_() * 10 * DAY))
            elif roll < 0.4:  # due today
                due = self.today_start + int(random_() * DAY)
            elif roll < 0.8:  # later
                due = now + HOUR + int(random_() * 14 * DAY)
            else:  # done
                due = max(created + HOUR, now - int(random_() * 20 * DAY))
                done_at = min(now, max(created, due - int(random_() * DAY)))
            task_created = max(created, min(due, now) - HOUR - int(random_() * 3 * DAY))
            title = rng.choice(TASK_TITLES[stage])
            done = _at(done_at) if done_at is not None else None
            out.append((lead_id, owner_id, title, _at(due), done, owner_id, _at(task_created)))
