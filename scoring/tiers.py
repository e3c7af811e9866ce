"""Tiers: points by how often something happened ("3-5 = 5; 6+ = 10"), as data, JSON and text people type.

Plain values with no database behind them, so the model's validation and the model's spec both read them.
"""

import itertools
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Tier:
    min: int
    max: int | None  # None: no upper bound
    points: int

    def matches(self, value: int) -> bool:
        return self.min <= value and (self.max is None or value <= self.max)


def tiers_from_json(data: list) -> tuple[Tier, ...]:
    return tuple(Tier(int(t["min"]), None if t.get("max") is None else int(t["max"]), int(t["points"])) for t in data)


def tiers_to_json(tiers: tuple[Tier, ...]) -> list[dict]:
    return [{"min": t.min, "max": t.max, "points": t.points} for t in tiers]


TIER_RE = re.compile(r"^\s*(\d+)\s*(?:(\+)|[-–]\s*(\d+))?\s*[=:]\s*([+-]?\s*\d+)\s*$")


def tiers_parse(text: str) -> tuple[Tier, ...]:
    """Parse "3-5 = 5; 6+ = 10" (or one per line) into tiers. Raises ValueError with a message for people."""
    parts = [p for p in re.split(r"[;\n,]", text or "") if p.strip()]
    if not parts:
        raise ValueError("Give at least one tier, e.g. “3-5 = 5; 6+ = 10”.")
    tiers = []
    for part in parts:
        match = TIER_RE.match(part)
        if not match:
            raise ValueError(f"“{part.strip()}” is not a tier: write “3-5 = 5” or “6+ = 10” (points are numbers).")
        low, plus, high, points = match.groups()
        low = int(low)
        high_value = None if plus else (int(high) if high is not None else low)
        if high_value is not None and high_value < low:
            raise ValueError(f"In “{part.strip()}” the range runs backwards.")
        tiers.append(Tier(low, high_value, int(points.replace(" ", ""))))
    tiers.sort(key=lambda t: t.min)
    for before, after in itertools.pairwise(tiers):
        if before.max is None or before.max >= after.min:
            raise ValueError(f"Tiers overlap: {tier_label(before)} and {tier_label(after)}.")
    return tuple(tiers)


def tier_label(tier: Tier) -> str:
    if tier.max is None:
        return f"{tier.min}+"
    if tier.max == tier.min:
        return f"{tier.min}"
    return f"{tier.min}-{tier.max}"


def tiers_text(tiers: tuple[Tier, ...]) -> str:
    return "; ".join(f"{tier_label(t)} = {t.points:+d}" for t in tiers)
