"""Every campaign figure against a fixture counted by hand, empty denominators included."""

import datetime as dt
from decimal import Decimal

import pytest

from campaigns.models import Campaign, EmailStep, EmailVariant, Member, Send
from campaigns.selectors import two_proportion_p_value
from crm import clock
from reports.periods import Period
from reports.scope import ReportScope
from reports.selectors.campaigns import campaigns_report
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
NOW = clock.now()


def _sends(step, variant, rows):
    """rows: (state, bounced, opened, clicked, unsubscribed) per member, each a new lead of the rep's."""
    for state, bounced, opened, clicked, unsubscribed in rows:
        member = Member.objects.create(campaign=step.campaign, lead=LeadFactory(owner=step.campaign.owner))
        Send.objects.create(
            member=member,
            step=step,
            variant=variant,
            state=state,
            sent_at=NOW if state == "sent" else None,
            bounced_at=NOW if bounced else None,
            opened_at=NOW if opened else None,
            clicked_at=NOW if clicked else None,
            unsubscribed_at=NOW if unsubscribed else None,
        )


@pytest.fixture
def world(rep, channel, admin_user):
    today = clock.now().date()
    email = Campaign.objects.create(
        name="Newsletter", channel=channel, kind="email", owner=rep, starts_on=today, spend=Decimal("300")
    )
    step = EmailStep.objects.create(campaign=email, position=1)
    a = EmailVariant.objects.create(step=step, label="A", subject="A", body="a", share=50)
    b = EmailVariant.objects.create(step=step, label="B", subject="B", body="b", share=50)
    # A: 5 sent (1 bounced), 3 opened (of the delivered), 1 clicked, 1 unsubscribed; 1 skipped (not sent).
    _sends(
        step,
        a,
        [
            ("sent", True, False, False, False),
            ("sent", False, True, True, False),
            ("sent", False, True, False, True),
            ("sent", False, True, False, False),
            ("sent", False, False, False, False),
            ("skipped", False, False, False, False),
        ],
    )
    # B: 2 sent, both bounced: delivered 0, every rate over delivered is "–".
    _sends(step, b, [("sent", True, False, False, False), ("sent", True, False, False, False)])
    # The A clicker won 1,000.
    clicker = Member.objects.get(sends__clicked_at__isnull=False).lead
    clicker.stage, clicker.deal_value, clicker.won_at = "won", Decimal("1000"), NOW
    clicker.save()
    event = Campaign.objects.create(
        name="Expo", channel=channel, kind="event", owner=rep, starts_on=today, spend=Decimal("200")
    )
    for registered, attended, won in (
        (True, True, True),
        (True, True, False),
        (True, False, False),
        (True, False, False),
    ):
        lead = LeadFactory(owner=rep)
        if won:
            lead.stage, lead.deal_value, lead.won_at = "won", Decimal("500"), NOW
            lead.save()
        Member.objects.create(
            campaign=event, lead=lead, registered_at=NOW if registered else None, attended_at=NOW if attended else None
        )
    empty = Campaign.objects.create(name="Nothing yet", channel=channel, kind="email", starts_on=today)
    return {"email": email, "event": event, "empty": empty}


def _scope(user):
    today = clock.now().date()
    return ReportScope.for_user(user, Period(today - dt.timedelta(days=1), today, "custom"))


def _row(table, name, **match):
    return next(
        row for row in table.rows if row["group"].text == name and all(row[k].value == v for k, v in match.items())
    )


def test_email_figures_per_variant_match_the_hand_count(world, admin_user):
    result = campaigns_report(_scope(admin_user))
    email = result.table("email")
    a = _row(email, "Newsletter", variant="A")
    assert (a["sent"].value, a["delivered"].value) == (5, 4)
    assert a["open_rate"].value == pytest.approx(3 / 4) and a["open_rate"].sub == "3 / 4"
    assert a["click_rate"].value == pytest.approx(1 / 4)
    assert a["click_to_open"].value == pytest.approx(1 / 3)
    assert a["unsubscribe_rate"].value == pytest.approx(1 / 4)
    assert a["bounce_rate"].value == pytest.approx(1 / 5)
    b = _row(email, "Newsletter", variant="B")
    assert (b["sent"].value, b["delivered"].value) == (2, 0)
    for key in ("open_rate", "click_rate", "click_to_open", "unsubscribe_rate"):
        assert b[key].value is None and b[key].text == "–"
    assert b["bounce_rate"].value == 1.0
    assert "did=clicked" in a["click_rate"].href and "variant=A" in a["click_rate"].href


def test_the_ab_test_says_no_winner_when_a_group_is_empty(world, admin_user):
    (row,) = campaigns_report(_scope(admin_user)).table("ab").rows
    assert row["rate_b"].value is None and row["difference"].value is None
    assert row["p_value"].value is None and row["winner"].text == "–"


def test_two_proportion_p_value_matches_the_textbook():
    # 30/100 against 50/100: pooled 0.4, z = −0.2 / √(0.4·0.6·0.02) = −2.8868, two-sided p = 0.003892.
    assert two_proportion_p_value(30, 100, 50, 100) == pytest.approx(0.003892, abs=1e-6)
    assert two_proportion_p_value(10, 100, 10, 100) == pytest.approx(1.0)
    assert two_proportion_p_value(0, 10, 0, 10) is None  # both rates 0: no variance
    assert two_proportion_p_value(1, 0, 1, 10) is None


def test_returns_and_event_figures_match_the_hand_count(world, admin_user):
    result = campaigns_report(_scope(admin_user))
    returns = result.table("returns")
    email = _row(returns, "Newsletter")
    # Influenced: the 3 openers (the clicker among them); won 1 of 3 for 1,000; spend 300.
    assert (email["members"].value, email["influenced"].value, email["won"].value) == (8, 3, 1)
    assert email["conversion"].value == pytest.approx(1 / 3)
    assert email["won_value"].value == Decimal("1000.00")
    assert email["cost_per_lead"].value == Decimal("100.00")
    assert email["roi"].value == pytest.approx((1000 - 300) / 300)
    event = _row(returns, "Expo")
    assert (event["influenced"].value, event["won"].value) == (4, 1)
    assert event["roi"].value == pytest.approx((500 - 200) / 200)
    empty = _row(returns, "Nothing yet")
    assert empty["conversion"].value is None and empty["cost_per_lead"].value is None and empty["roi"].value is None
    assert returns.total["spend"].value == Decimal("500.00") and returns.total["won_value"].value == Decimal("1500.00")

    (expo,) = result.table("events").rows
    assert (expo["registered"].value, expo["attended"].value, expo["attendees_won"].value) == (4, 2, 1)
    assert expo["attendance_rate"].value == pytest.approx(2 / 4)
    assert expo["attendee_conversion"].value == pytest.approx(1 / 2)
    assert expo["cost_per_attendee"].value == Decimal("100.00")
    assert expo["event_roi"].value == pytest.approx((500 - 200) / 200)


def test_another_teams_manager_sees_none_of_these_members(world, other_manager):
    result = campaigns_report(_scope(other_manager))
    assert all(row["members"].value == 0 for row in result.table("returns").rows)
    assert result.table("email").rows == []
    assert result.table("returns").total["spend"].value == Decimal("0.00")  # no members in view, no spend


def test_the_report_page_and_its_csv_answer_managers(world, client, manager):
    client.force_login(manager)
    page = client.get("/reports/campaigns/")
    assert page.status_code == 200 and b"Newsletter" in page.content
    csv = client.get("/reports/campaigns/?format=csv&table=returns")
    assert csv.status_code == 200 and csv.content.decode().splitlines()[0].startswith("group,kind,spend")


def test_first_and_last_touch_give_each_won_lead_to_one_touch_per_model(rep, channel, admin_user):
    now = clock.now()
    webinar = Campaign.objects.create(name="Webinar", channel=channel, kind="email", utm_campaign="webinar")
    expo = Campaign.objects.create(name="Expo", channel=channel, kind="event")

    def won_lead(value, **facts):
        return LeadFactory(
            owner=rep, stage="won", deal_value=Decimal(value), won_at=now - dt.timedelta(days=1), **facts
        )

    both = won_lead(100, created_at=now - dt.timedelta(days=10), utm_source="google", utm_campaign="webinar")
    Member.objects.create(campaign=expo, lead=both, registered_at=now - dt.timedelta(days=5))
    won_lead(50, created_at=now - dt.timedelta(days=8), utm_source="linkedin", utm_campaign="abm")
    late = won_lead(70, created_at=now - dt.timedelta(days=8))
    Member.objects.create(campaign=expo, lead=late, added_at=now)  # joined after the win: no touch
    Member.objects.create(campaign=webinar, lead=LeadFactory(owner=rep), added_at=now - dt.timedelta(days=3))

    today = now.date()
    scope = ReportScope.for_user(admin_user, Period(today - dt.timedelta(days=30), today, "custom"))
    rows = {row["group"].text: row for row in campaigns_report(scope).table("attribution").rows}
    figures = {
        label: (r["first_won"].value, r["first_value"].value, r["last_won"].value, r["last_value"].value)
        for label, r in rows.items()
    }
    assert figures == {
        "Webinar": (1, Decimal("100.00"), 0, Decimal("0.00")),
        "Expo": (0, Decimal("0.00"), 1, Decimal("100.00")),
        "UTM: linkedin / abm": (1, Decimal("50.00"), 1, Decimal("50.00")),
    }
