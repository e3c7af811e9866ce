"""The figures a campaign's own page shows (the Campaigns report in `reports` has them all, with CSV and charts):
counts per step and variant with their rates, each rate with numerator and denominator, "–" for an empty one."""

from dataclasses import dataclass

from django.db.models import QuerySet

from campaigns.models import Campaign, Member, Send
from campaigns.selectors import email_figures, member_figures, two_proportion_p_value

DASH = "–"


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    def __str__(self) -> str:
        if not self.denominator:
            return DASH
        return f"{100 * self.numerator / self.denominator:.1f}%"


def campaign_tables(*, campaign: Campaign, members: QuerySet[Member]) -> dict:
    """Email figures per step and variant, the A/B test of each step with two variants, and member figures; all
    over the members the user may see."""
    sends = Send.objects.filter(member__in=members.values("pk"))
    rows = []
    for figures in email_figures(sends, by=("step", "variant")):
        rows.append(
            {
                "figures": figures,
                "open_rate": Rate(figures.opened, figures.delivered),
                "click_rate": Rate(figures.clicked, figures.delivered),
                "click_to_open": Rate(figures.clicked, figures.opened),
                "unsubscribe_rate": Rate(figures.unsubscribed, figures.delivered),
                "bounce_rate": Rate(figures.bounced, figures.sent),
            }
        )
    tests = []
    by_step: dict[int, dict[str, object]] = {}
    for row in rows:
        by_step.setdefault(row["figures"].step, {})[row["figures"].variant] = row["figures"]
    for step, variants in sorted(by_step.items()):
        if "A" in variants and "B" in variants:
            a, b = variants["A"], variants["B"]
            p_value = two_proportion_p_value(a.clicked, a.delivered, b.clicked, b.delivered)
            tests.append(
                {"step": step, "a": Rate(a.clicked, a.delivered), "b": Rate(b.clicked, b.delivered), "p": p_value}
            )
    people = member_figures(members).get(campaign.pk, {})
    return {"email": rows, "tests": tests, "people": people}
