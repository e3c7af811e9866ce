"""The two executions of a scoring model, which must agree to the point (a property test checks it):

* `score_lead` evaluates a model in Python for one lead and its interactions, with an explanation per rule;
* `scored_leads` builds ONE SQL query (through the ORM) that scores any set of leads: one aggregate pass over
  their interactions, grouped by lead, that reads each interaction (and each detail a rule tests, such as the
  url) once and computes every engagement rule's count at once (`_Activity`), joined to the lead rows; fit
  rules as CASE expressions, group caps, decay, clamping and grade bands, all in the database.

Arithmetic is defined so both sides compute the same bits: integer points, decay as
`points * 0.5 ** (whole_days / half_life)` in double precision, a group's points summed in the same balanced
tree on both sides (`tree_sum`), `floor(x + 0.5)` rounding. A group's whole points (fit, inactivity, engagement
that does not fade) are exact in any order, so they are added first, and in the database the fit rules comparing
one field with values (equals, is one of) are added by one `CASE field WHEN ... END` per field, and the steps of
one number ("at least t") by one `width_bucket` over the sorted thresholds per field, which picks the running sum
of the steps reached: a discovered model of hundreds of such rules reads each field once per lead, not once per
rule.
"""

import datetime as dt
import math
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db.models import (
    BigIntegerField,
    Case,
    DateTimeField,
    Expression,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Q,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.expressions import Col
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, Floor, Greatest, Least, Lower, Power
from django.db.models.sql.constants import LOUTER

from leads.models import Interaction, Lead
from scoring.fields import (
    ATTRIBUTE,
    NUMBER,
    NUMBER_TEXT_SQL,
    attribute_text,
    count_text_sql,
    detail_count,
    fit_field,
    lead_number,
    lead_text,
)
from scoring.models import Rule
from scoring.spec import ModelSpec, RuleSpec

DAY = dt.timedelta(days=1)


# --- per lead -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleResult:
    rule: RuleSpec
    points: float  # after decay
    base_points: int  # before decay
    value: int | None  # count or sum, for engagement rules
    latest_at: dt.datetime | None
    matched: bool


@dataclass(frozen=True)
class GroupResult:
    name: str
    cap: int | None
    total: float  # after the cap
    uncapped: float


@dataclass(frozen=True)
class ScoreResult:
    score: int
    grade: str
    raw: float
    rules: tuple[RuleResult, ...]
    groups: tuple[GroupResult, ...]


def tree_sum(terms: list):
    """`terms` added as a balanced tree, ((t0 + t1) + (t2 + t3)), the same order for numbers and SQL expressions.

    A model of hundreds of rules summed left to right is an expression hundreds of levels deep: past Python's
    recursion limit when Django compiles it, and deep for the database's parser; as a tree it is a few levels.
    """
    if len(terms) == 1:
        return terms[0]
    middle = len(terms) // 2
    return tree_sum(terms[:middle]) + tree_sum(terms[middle:])


def _decays(spec: ModelSpec, rule: RuleSpec) -> bool:
    """Whether a rule's points fade (and so are fractions, added after the whole points)."""
    return bool(spec.half_life_days and rule.decays and rule.is_engagement)


def decay_factor(*, spec: ModelSpec, rule: RuleSpec, latest_at: dt.datetime | None, now: dt.datetime) -> float:
    if not (spec.half_life_days and rule.decays and latest_at is not None):
        return 1.0
    days = max(0, (now - latest_at) // DAY)
    return 0.5 ** (days / spec.half_life_days)


def _fit_matches(rule: RuleSpec, lead: Lead) -> bool:
    field = fit_field(rule.field)
    if field is None:
        return False
    op = rule.operator
    if op == Rule.Operator.RANGE:
        number = lead_number(lead, field)
        if number is None:
            return False
        if field.type == ATTRIBUTE:
            low = None if rule.range_min is None else float(rule.range_min)
            high = None if rule.range_max is None else float(rule.range_max)
        else:
            low, high = rule.range_min, rule.range_max
        return (low is None or number >= low) and (high is None or number <= high)
    if op == Rule.Operator.IS_SET and field.type == NUMBER:
        return lead_number(lead, field) is not None
    text = lead_text(lead, field).lower()
    if op == Rule.Operator.EQUALS:
        return text == rule.value.lower()
    if op == Rule.Operator.IN:
        return text in {v.lower() for v in rule.values}
    if op == Rule.Operator.CONTAINS:
        return rule.value.lower() in text
    if op == Rule.Operator.IS_SET:
        return text != ""
    return False


def _interaction_matches(rule: RuleSpec, interaction: Interaction, now: dt.datetime) -> bool:
    if interaction.kind != rule.interaction_kind:
        return False
    if rule.window_days is not None and interaction.occurred_at < now - rule.window_days * DAY:
        return False
    if rule.detail_key and rule.detail_contains:
        text = attribute_text((interaction.details or {}).get(rule.detail_key)).lower()
        if rule.detail_contains.lower() not in text:
            return False
    return True


def _engagement_value(rule: RuleSpec, matching: list[Interaction]) -> int:
    if rule.kind == Rule.Kind.ACTIVITY and rule.measure != Rule.Measure.COUNT:
        total = 0
        for interaction in matching:
            amount = detail_count((interaction.details or {}).get(rule.measure))
            if amount is not None:
                total += amount
        return total
    return len(matching)


def score_lead(*, spec: ModelSpec, lead: Lead, interactions: list[Interaction], now: dt.datetime) -> ScoreResult:
    """Score one lead in Python. `interactions` must hold at least those within the model's longest window."""
    results: list[RuleResult] = []
    exact: list[float | int] = [0] * len(spec.groups)
    decayed: list[list[float]] = [[] for _ in spec.groups]
    for rule in spec.rules:
        value, latest_at, base = None, None, 0
        if rule.kind == Rule.Kind.FIT:
            base = rule.points if _fit_matches(rule, lead) else 0
            points = base
        elif rule.kind == Rule.Kind.INACTIVITY:
            base = rule.points if lead.last_activity_at < now - (rule.inactive_days or 0) * DAY else 0
            points = base
        else:
            matching = [i for i in interactions if _interaction_matches(rule, i, now)]
            value = _engagement_value(rule, matching)
            latest_at = max((i.occurred_at for i in matching), default=None)
            tier = next((t for t in rule.effective_tiers if t.matches(value)), None)
            base = tier.points if tier else 0
            points = base * decay_factor(spec=spec, rule=rule, latest_at=latest_at, now=now) if base else 0
        if _decays(spec, rule):
            decayed[rule.group].append(points)
        else:
            exact[rule.group] = exact[rule.group] + points
        results.append(RuleResult(rule, points, base, value, latest_at, base != 0))
    groups, raw, fading = [], 0, []
    group_sums = [e + tree_sum(d) if d else e for e, d in zip(exact, decayed, strict=True)]
    for group, total, faded in zip(spec.groups, group_sums, decayed, strict=True):
        capped = min(total, group.cap) if group.cap is not None else total
        groups.append(GroupResult(group.name, group.cap, capped, total))
        if faded:
            fading.append(capped)
        else:
            raw = raw + capped
    for capped in fading:  # after the whole points, in order, as the database adds them
        raw = raw + capped
    score = min(max(math.floor(float(raw) + 0.5), spec.score_min), spec.score_max)
    return ScoreResult(score, spec.grade_for(score), float(raw), tuple(results), tuple(groups))


def interactions_for_scoring(*, spec: ModelSpec, lead_id: int, now: dt.datetime) -> list[Interaction]:
    """The lead's interactions the model can see (its kinds, within its windows), in one query."""
    seen = _visible_interactions(spec, now, prefix="")
    if seen is None:
        return []
    return list(Interaction.objects.filter(seen, lead_id=lead_id).only("kind", "occurred_at", "details"))


def _visible_interactions(spec: ModelSpec, now: dt.datetime, prefix: str) -> Q | None:
    """Interactions some engagement rule may count: kinds with windows only within the longest window of that
    kind; kinds some rule counts over all time, all of them. Keeps the join to interactions small."""
    windows: dict[str, int | None] = {}
    for rule in spec.rules:
        if rule.is_engagement:
            kind = rule.interaction_kind
            if kind in windows and (windows[kind] is None or rule.window_days is None):
                windows[kind] = None
            else:
                windows[kind] = max(windows.get(kind) or 0, rule.window_days) if rule.window_days else None
    if not windows:
        return None
    parts = []
    unbounded = sorted(k for k, w in windows.items() if w is None)
    if unbounded:
        parts.append(Q(**{f"{prefix}kind__in": unbounded}))
    by_window: dict[int, list[str]] = {}
    for kind, window in windows.items():
        if window is not None:
            by_window.setdefault(window, []).append(kind)
    for window, kinds in sorted(by_window.items()):
        parts.append(Q(**{f"{prefix}kind__in": sorted(kinds), f"{prefix}occurred_at__gte": now - window * DAY}))
    condition = parts[0]
    for part in parts[1:]:
        condition |= part
    return condition


# --- in the database --------------------------------------------------------------------------------------------


class WholeDaysSince(Func):
    """Whole days from a timestamp column to `now` (floored), like `(now - ts) // timedelta(days=1)` in Python."""

    output_field = IntegerField()
    template = "FLOOR(EXTRACT(EPOCH FROM (%(expressions)s)) / 86400)::integer"
    arg_joiner = " - "

    def __init__(self, expression, *, now: dt.datetime | Expression):
        super().__init__(now if isinstance(now, Expression) else Value(now), expression)


def _attribute_text_alias(field, aliases: dict) -> str:
    """The alias of an attribute's text ("" when the lead has none), registered in `aliases`."""
    text_alias = f"attr_{field.lookup}"
    aliases.setdefault(
        text_alias, Coalesce(KeyTextTransform(field.lookup, "attributes"), Value(""), output_field=TextField())
    )
    return text_alias


def _attribute_number_alias(field, aliases: dict) -> str:
    """The alias of an attribute's value as a number (NULL when its text is no number), registered in `aliases`."""
    text_alias = _attribute_text_alias(field, aliases)
    number_alias = f"attrnum_{field.lookup}"
    aliases.setdefault(
        number_alias,
        Case(
            When(**{f"{text_alias}__regex": NUMBER_TEXT_SQL}, then=Cast(F(text_alias), FloatField())),
            default=Value(None, output_field=FloatField()),
        ),
    )
    return number_alias


def _lower_alias(field, aliases: dict) -> str:
    """The alias of a text field's (or attribute's) lower-cased value, registered in `aliases`."""
    if field.type == ATTRIBUTE:
        text_alias = _attribute_text_alias(field, aliases)
        lower_alias = f"attrlow_{field.lookup}"
        aliases.setdefault(lower_alias, Lower(F(text_alias)))
        return lower_alias
    lower_alias = "low_" + field.lookup.replace("__", "_")
    aliases.setdefault(lower_alias, Lower(Coalesce(F(field.lookup), Value(""))))
    return lower_alias


def _is_value_rule(rule: RuleSpec) -> bool:
    """A fit rule comparing a text field with values: one of many a single CASE per field can add up."""
    if rule.kind != Rule.Kind.FIT or rule.operator not in (Rule.Operator.EQUALS, Rule.Operator.IN):
        return False
    field = fit_field(rule.field)
    return field is not None and field.type != NUMBER


def _is_step_rule(rule: RuleSpec) -> bool:
    """A fit rule "number at least ...": the steps on one field add up in a single CASE, highest first."""
    if rule.kind != Rule.Kind.FIT or rule.operator != Rule.Operator.RANGE:
        return False
    field = fit_field(rule.field)
    return field is not None and rule.range_min is not None and rule.range_max is None


def _combined(rule: RuleSpec) -> bool:
    return _is_value_rule(rule) or _is_step_rule(rule)


class _OnOneExpression(Expression):
    """Points computed from one expression (a field or an attribute), which Django compiles and relabels."""

    output_field = IntegerField()

    def get_source_expressions(self):
        return [self.expression]

    def set_source_expressions(self, exprs):
        (self.expression,) = exprs


class ValuePoints(_OnOneExpression):
    """`CASE <lower-cased field> WHEN 'v1' THEN 5 WHEN 'v2' THEN -3 ... ELSE 0 END`: the points of every
    equals / is-one-of rule on one field, with the field read once (a searched CASE would read it per value)."""

    def __init__(self, expression, points: dict[str, int]):
        super().__init__()
        self.expression = expression
        self.points = points

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.expression)
        whens = " ".join(f"WHEN %s THEN {int(points)}" for points in self.points.values())
        return f"(CASE {sql} {whens} ELSE 0 END)", [*params, *self.points]


class StepPoints(_OnOneExpression):
    """`COALESCE((ARRAY[0, p1, p1+p2, ...])[width_bucket(number, ARRAY[t1, t2, ...]) + 1], 0)`: the points of
    every "at least t" rule on one number, with the number read once. `width_bucket` counts the thresholds the
    number reaches (thresholds sorted, smallest first), so the lead gets the running sum up to the last one; a
    missing number gets 0. A CASE of one WHEN per step would compute the number (for an attribute: its text
    out of the JSON, a pattern match and a cast) once per step, and a discovered model cuts a number at up to
    99 percentiles. `sql_type` is the type both sides are compared in (numeric, exact for columns; float8 for
    attributes, as `score_lead` compares them)."""

    def __init__(self, expression, steps: list[tuple], sql_type: str):
        super().__init__()
        self.expression = expression
        self.steps = steps  # (threshold, running points), thresholds ascending
        self.sql_type = sql_type

    def as_sql(self, compiler, connection):
        sql, params = compiler.compile(self.expression)
        running = ", ".join(str(int(points)) for _, points in self.steps)
        thresholds = ", ".join(["%s"] * len(self.steps))
        return (
            f"COALESCE((ARRAY[0, {running}])[width_bucket(({sql})::{self.sql_type}, "
            f"ARRAY[{thresholds}]::{self.sql_type}[]) + 1], 0)",
            [*params, *(threshold for threshold, _ in self.steps)],
        )


def _step_number(field, aliases: dict) -> tuple[Expression, str]:
    """The number "at least" rules on `field` compare, and the SQL type they are compared in."""
    if field.type == ATTRIBUTE:
        return F(_attribute_number_alias(field, aliases)), "float8"
    return F(field.lookup), "numeric"


def _value_points(spec: ModelSpec, aliases: dict) -> dict[int, list[Expression]]:
    """Per group, one `ValuePoints` per field that value rules test, and one CASE per field with steps."""
    by_field: dict[tuple[int, str], dict[str, int]] = {}
    for rule in spec.rules:
        if _is_value_rule(rule):
            values = [rule.value] if rule.operator == Rule.Operator.EQUALS else list(rule.values)
            points = by_field.setdefault((rule.group, rule.field), {})
            for value in {v.lower() for v in values}:
                points[value] = points.get(value, 0) + rule.points
    terms: dict[int, list[Expression]] = {}
    for (group, name), points in by_field.items():
        points = {value: p for value, p in points.items() if p}
        if points:
            alias = _lower_alias(fit_field(name), aliases)
            terms.setdefault(group, []).append(ValuePoints(F(alias), points))
    # Steps "at least t": a lead whose number reaches the highest step it passes gets every step up to it.
    steps: dict[tuple[int, str], list[RuleSpec]] = {}
    for rule in spec.rules:
        if _is_step_rule(rule) and rule.points:
            steps.setdefault((rule.group, rule.field), []).append(rule)
    for (group, name), rules in steps.items():
        rules.sort(key=lambda r: Decimal(r.range_min))
        number, sql_type = _step_number(fit_field(name), aliases)
        running, points = [], 0
        for rule in rules:
            points += rule.points
            low = Decimal(rule.range_min)
            running.append((float(low) if sql_type == "float8" else low, points))
        terms.setdefault(group, []).append(StepPoints(number, running, sql_type))
    return terms


def _fit_condition(rule: RuleSpec, aliases: dict) -> Q | None:
    field = fit_field(rule.field)
    if field is None:
        return None
    op = rule.operator
    if field.type == ATTRIBUTE:
        if op == Rule.Operator.RANGE:
            number_alias = _attribute_number_alias(field, aliases)
            condition = Q(**{f"{number_alias}__isnull": False})
            if rule.range_min is not None:
                condition &= Q(**{f"{number_alias}__gte": float(rule.range_min)})
            if rule.range_max is not None:
                condition &= Q(**{f"{number_alias}__lte": float(rule.range_max)})
            return condition
        lower_alias = _lower_alias(field, aliases)
    elif field.type == NUMBER:
        if op == Rule.Operator.IS_SET:
            return Q(**{f"{field.lookup}__isnull": False})
        if op != Rule.Operator.RANGE:
            return None
        condition = Q(**{f"{field.lookup}__isnull": False})
        # A whole-number column compared with 0.01 would be compared with int(0.01) = 0: round the bounds inwards.
        whole = isinstance(Lead._meta.get_field(field.lookup), IntegerField)
        if rule.range_min is not None:
            low = Decimal(rule.range_min)
            condition &= Q(**{f"{field.lookup}__gte": math.ceil(low) if whole else low})
        if rule.range_max is not None:
            high = Decimal(rule.range_max)
            condition &= Q(**{f"{field.lookup}__lte": math.floor(high) if whole else high})
        return condition
    else:
        lower_alias = _lower_alias(field, aliases)
    if op == Rule.Operator.EQUALS:
        return Q(**{lower_alias: rule.value.lower()})
    if op == Rule.Operator.IN:
        return Q(**{f"{lower_alias}__in": sorted({v.lower() for v in rule.values})})
    if op == Rule.Operator.CONTAINS:
        return Q(**{f"{lower_alias}__contains": rule.value.lower()})
    if op == Rule.Operator.IS_SET:
        return ~Q(**{lower_alias: ""})
    return None


class _Activity:
    """What the engagement rules count, computed in ONE pass over the interactions of the leads being scored.

    The interactions the model can see are read once each, in a fenced subquery (`OFFSET 0` keeps PostgreSQL from
    folding it into the aggregate above, which would compute a detail once per rule reading it): every detail a
    rule tests (lower-cased text, e.g. the `url`), every measure it sums (pages, seconds, as text: the sums above
    test that it is a count and cast it) and the kind as a number (`k`) become columns there. Above it, one GROUP
    BY lead computes every rule's count, sum and latest occurrence as `FILTER` aggregates of those columns. The
    lead query joins that per-lead row (at most one per lead, none for a lead with no visible interaction), so it
    computes its own facts once per lead, ungrouped.
    """

    def __init__(self, spec: ModelSpec, now: dt.datetime, *, as_of_close: bool = False):
        self.spec, self.now, self.as_of_close = spec, now, as_of_close
        self.all_kinds = False  # an inactivity rule as of the close reads every kind
        self.details: dict[str, str] = {}  # detail key → column
        self.measures: dict[str, str] = {}  # measure → column
        self.kinds: dict[str, set[str]] = {}  # detail or measure column → the kinds of interaction rules read it of
        self.kind_codes: dict[str, int] = {}  # kind → its number in the column `k` (compared as integers)
        self.aggregates: dict[str, tuple[str, str, list]] = {}  # column → (aggregate, FILTER condition, params)

    def rule_columns(self, rule: RuleSpec) -> tuple[str, str | None]:
        """The columns of a rule's value (count or sum) and, for fading points, its latest occurrence."""
        code = self.kind_codes.setdefault(rule.interaction_kind, len(self.kind_codes))
        conditions, params = [f"i.k = {code}"], []
        if rule.window_days is not None and self.as_of_close:
            conditions.append("i.occurred_at >= i.closed_at - %s")
            params.append(rule.window_days * DAY)
        elif rule.window_days is not None:
            conditions.append("i.occurred_at >= %s")
            params.append(self.now - rule.window_days * DAY)
        if rule.detail_key and rule.detail_contains:
            column = self.details.setdefault(rule.detail_key, f"d{len(self.details)}")
            self.kinds.setdefault(column, set()).add(rule.interaction_kind)
            conditions.append(f"strpos(i.{column}, %s) > 0")  # "contains", with no pattern to escape
            params.append(rule.detail_contains.lower())
        condition = " AND ".join(conditions)
        if rule.kind == Rule.Kind.ACTIVITY and rule.measure != Rule.Measure.COUNT:
            measure = self.measures.setdefault(rule.measure, f"m{len(self.measures)}")
            self.kinds.setdefault(measure, set()).add(rule.interaction_kind)
            # The measure's text is read once per interaction below; only the sums that take it test it.
            value = (
                f"SUM(CASE WHEN {count_text_sql(f'i.{measure}')} THEN i.{measure}::integer END)",
                condition,
                params,
            )
        else:
            value = ("COUNT(*)", condition, params)
        value_column = self._column(value, "v")
        latest_column = None
        if _decays(self.spec, rule):
            latest_column = self._column(("MAX(i.occurred_at)", condition, params), "t")
        return value_column, latest_column

    def last_activity_column(self) -> str:
        """As of the close: the column of the lead's latest interaction of any kind before its close."""
        self.all_kinds = True
        return self._column(("MAX(i.occurred_at)", "true", []), "t")

    def _column(self, aggregate: tuple[str, str, list], prefix: str) -> str:
        for column, known in self.aggregates.items():
            if known == aggregate:  # the same count for two rules: computed once
                return column
        column = f"{prefix}{len(self.aggregates)}"
        self.aggregates[column] = aggregate
        return column

    def sql(self, leads: QuerySet[Lead], id_range: tuple[int, int] | None) -> tuple[str, list]:
        """The per-lead row of every aggregate (columns `lead_id` and those named by `rule_columns`)."""
        if self.as_of_close:
            # Before the lead's close (won, or the move to Lost), within windows counted back from it.
            closed_at = Coalesce(F("lead__won_at"), F("lead__stage_changed_at"))
            seen = Q(occurred_at__lt=closed_at)
            if not self.all_kinds:
                kinds = sorted({r.interaction_kind for r in self.spec.rules if r.is_engagement})
                seen &= Q(kind__in=kinds)
        else:
            seen = _visible_interactions(self.spec, self.now, prefix="")
        if id_range is not None:
            # For a chunk of lead ids, the same range here lets the database read the interactions in one range
            # scan, in lead order, instead of one index probe per lead.
            seen &= Q(lead_id__gte=id_range[0], lead_id__lt=id_range[1])
        # Each detail only of the kinds some rule reads it of (NULL for the others, which no rule counts).
        read = {
            column: Case(
                When(
                    kind__in=sorted(self.kinds[column]),
                    then=Lower(Coalesce(KeyTextTransform(key, "details"), Value(""), output_field=TextField())),
                ),
                default=Value(None, output_field=TextField()),
            )
            for key, column in self.details.items()
        }
        for measure, column in self.measures.items():
            # As text (the sums test and cast it): read out of the JSON once, and only for the kinds that sum it.
            read[column] = Case(
                When(kind__in=sorted(self.kinds[column]), then=KeyTextTransform(measure, "details")),
                default=Value(None, output_field=TextField()),
                output_field=TextField(),
            )
        # The kind as a small number: every aggregate's FILTER compares it, an integer comparison instead of text.
        read["k"] = Case(
            *(When(kind=kind, then=Value(code)) for kind, code in self.kind_codes.items()),
            default=Value(None, output_field=IntegerField()),
            output_field=IntegerField(),
        )
        rows = Interaction.objects.filter(seen)
        if id_range is None:
            rows = rows.filter(lead_id__in=leads.order_by().values("id"))
        if self.as_of_close:
            read["closed_at"] = closed_at
        # In lead order (as the index on lead_id reads them): the aggregate then streams, lead by lead.
        rows = rows.order_by("lead_id").annotate(**read).values("lead_id", "occurred_at", *read)
        rows_sql, rows_params = rows.query.sql_with_params()
        selects, params = [], []
        for column, (aggregate, condition, condition_params) in self.aggregates.items():
            selects.append(f"{aggregate} FILTER (WHERE {condition}) AS {column}")
            params += condition_params
        sql = f"SELECT i.lead_id, {', '.join(selects)} FROM ({rows_sql} OFFSET 0) i GROUP BY i.lead_id"
        return sql, [*params, *rows_params]


class _ActivityJoin:
    """The lead query's LEFT JOIN to the per-lead aggregates (`_Activity.sql`), as an entry of Django's alias map:
    the ORM joins tables and relations, not subqueries. It answers what the compiler asks of a `Join`."""

    join_type = LOUTER
    nullable = True
    filtered_relation = None
    join_field = None

    def __init__(self, sql: str, params: list, parent_alias: str, table_alias: str):
        self.sql, self.params = sql, params
        self.parent_alias, self.table_alias, self.table_name = parent_alias, table_alias, table_alias

    def as_sql(self, compiler, connection):
        parent = compiler.quote_name_unless_alias(self.parent_alias)
        return (
            f'LEFT OUTER JOIN ({self.sql}) {self.table_alias} ON ({self.table_alias}.lead_id = {parent}."id")',
            list(self.params),
        )

    def relabeled_clone(self, change_map):
        return _ActivityJoin(
            self.sql,
            self.params,
            change_map.get(self.parent_alias, self.parent_alias),
            change_map.get(self.table_alias, self.table_alias),
        )

    def demote(self):
        return self

    def promote(self):
        return self

    @property
    def identity(self):
        return (self.__class__, self.sql, tuple(map(str, self.params)), self.parent_alias, self.table_alias)

    def __eq__(self, other):
        return isinstance(other, _ActivityJoin) and self.identity == other.identity

    def __hash__(self):
        return hash(self.identity)


ACTIVITY_ALIAS = "activity"


def _activity_column(column: str, field) -> Col:
    """A column of the joined per-lead aggregates."""
    target = field
    target.set_attributes_from_name(column)
    return Col(ACTIVITY_ALIAS, target, output_field=target)


def _rule_points(spec: ModelSpec, now: dt.datetime, *, as_of_close: bool = False) -> tuple[dict, _Activity, list]:
    """Per rule, an expression for its (decayed) points; with the aliases and per-lead aggregates they read.

    `as_of_close`: each (closed) lead as it was when it closed (`won_at`, else `stage_changed_at`): its
    interactions before then, windows and fading counted back from then, and inactivity from its latest
    interaction before then (or its creation) to then. The lead's own facts are as they are now.
    """
    aliases: dict[str, Expression] = {}
    activity = _Activity(spec, now, as_of_close=as_of_close)
    moment = Coalesce(F("won_at"), F("stage_changed_at")) if as_of_close else now
    rule_points: list[Expression] = []
    for i, rule in enumerate(spec.rules):
        if rule.kind == Rule.Kind.FIT:
            condition = _fit_condition(rule, aliases)
            points = Case(When(condition, then=Value(rule.points)), default=Value(0)) if condition else Value(0)
        elif rule.kind == Rule.Kind.INACTIVITY and as_of_close:
            aliases.setdefault(
                "last_activity_at_close",
                Coalesce(_activity_column(activity.last_activity_column(), DateTimeField()), F("created_at")),
            )
            cutoff = ExpressionWrapper(
                moment - Value(dt.timedelta(days=rule.inactive_days or 0)), output_field=DateTimeField()
            )
            points = Case(When(last_activity_at_close__lt=cutoff, then=Value(rule.points)), default=Value(0))
        elif rule.kind == Rule.Kind.INACTIVITY:
            cutoff = now - (rule.inactive_days or 0) * DAY
            points = Case(When(last_activity_at__lt=cutoff, then=Value(rule.points)), default=Value(0))
        else:
            value_column, latest_column = activity.rule_columns(rule)
            value_name = f"r{i}_value"
            # No interaction at all: no row joined, a count of 0 (a sum of nothing is 0 too).
            aliases[value_name] = Coalesce(_activity_column(value_column, BigIntegerField()), Value(0))
            tier_whens = [
                When(
                    Q(**{f"{value_name}__gte": t.min})
                    if t.max is None
                    else Q(**{f"{value_name}__gte": t.min, f"{value_name}__lte": t.max}),
                    then=Value(t.points),
                )
                for t in rule.effective_tiers
            ]
            base = Case(*tier_whens, default=Value(0), output_field=IntegerField()) if tier_whens else Value(0)
            if latest_column is not None:
                latest_name = f"r{i}_latest"
                aliases[latest_name] = _activity_column(latest_column, DateTimeField())
                days = Greatest(WholeDaysSince(F(latest_name), now=moment), Value(0))
                factor = Power(Value(0.5), Cast(days, FloatField()) / Value(float(spec.half_life_days)))
                # No activity earned the points (a "0 visits" tier): nothing to fade.
                points = Case(
                    When(**{f"{latest_name}__isnull": True}, then=Cast(base, FloatField())),
                    default=Cast(base, FloatField()) * factor,
                    output_field=FloatField(),
                )
            else:
                points = base
        rule_points.append((rule, points))
    return aliases, activity, rule_points


def _with_activity(
    qs: QuerySet, activity: _Activity, leads: QuerySet[Lead], id_range: tuple[int, int] | None
) -> QuerySet:
    """`qs` (of `leads`, with aliases read) joined to the per-lead aggregates of their interactions, if any."""
    if not activity.aggregates:
        return qs
    sql, params = activity.sql(leads, id_range)
    qs = qs.all()
    query = qs.query
    base = query.get_initial_alias()
    query.alias_map[ACTIVITY_ALIAS] = _ActivityJoin(sql, params, base, ACTIVITY_ALIAS)
    query.alias_refcount[ACTIVITY_ALIAS] = 1
    return qs


def scored_leads(
    *,
    spec: ModelSpec,
    leads: QuerySet[Lead],
    now: dt.datetime,
    id_range: tuple[int, int] | None = None,
    with_current: bool = False,
) -> QuerySet:
    """`leads` with `new_score`, computed in one SQL query (values: id, new_score).

    `id_range` (start, end) says that `leads` lie within those ids, a hint for the pass over interactions.
    `with_current` adds the lead's score and grade as they are (values: current_score, current_grade), read on
    the way, so that writing the new ones needs no second look at the lead rows.
    """
    others = replace(spec, rules=tuple(r for r in spec.rules if not _combined(r)))
    aliases, activity, rule_points = _rule_points(others, now)
    value_points = _value_points(spec, aliases)
    whole: list[Expression] = []
    fading: list[Expression] = []
    for index, group in enumerate(spec.groups):
        rules = [(r, p) for r, p in rule_points if r.group == index]
        # The lead's own facts and the counts of its interactions (exact in any order), then fading points.
        exact = value_points.get(index, []) + [p for r, p in rules if not _decays(spec, r)]
        decayed = [p for r, p in rules if _decays(spec, r)]
        group_total = tree_sum(exact) if exact else Value(0)
        if decayed:
            group_total = group_total + tree_sum(decayed)
        if group.cap is not None:
            group_total = Least(group_total, Value(group.cap))
        (fading if decayed else whole).append(group_total)
    # Whole-point groups first (exact in any order), the groups with fading points after, in order: as in
    # `score_lead`.
    total = tree_sum(whole) if whole else None
    for group_total in fading:
        total = group_total if total is None else total + group_total
    if total is None:
        total = Value(0)
    rounded = Cast(Floor(Cast(total, FloatField()) + Value(0.5)), IntegerField())
    score = Greatest(Least(rounded, Value(spec.score_max)), Value(spec.score_min), output_field=IntegerField())

    qs = leads.order_by().alias(**aliases).annotate(new_score=score)
    if with_current:
        qs = qs.values("id", "new_score", current_score=F("score"), current_grade=F("grade"))
    else:
        qs = qs.values("id", "new_score")
    return _with_activity(qs, activity, leads, id_range)


def rule_features(*, spec: ModelSpec, leads: QuerySet[Lead], now: dt.datetime, as_of_close: bool = False) -> QuerySet:
    """`leads` with one column per rule (`f0`, `f1`, ...): the rule's decayed points, before group caps.
    `as_of_close`: each closed lead as it was when it closed (see `_rule_points`)."""
    aliases, activity, rule_points = _rule_points(spec, now, as_of_close=as_of_close)
    columns = {f"f{i}": Cast(points, FloatField()) for i, (_, points) in enumerate(rule_points)}
    qs = leads.order_by().alias(**aliases).annotate(**columns).values("id", *columns)
    return _with_activity(qs, activity, leads, None)


def grade_case_sql(spec: ModelSpec, column: str) -> tuple[str, list]:
    """SQL for the grade of a score column, by the model's bands (computed once per row, outside the query)."""
    whens, params = [], []
    for grade, low, high in spec.bands:
        whens.append(f"WHEN {column} >= %s AND {column} <= %s THEN %s")
        params += [low, high, grade]
    if not whens:
        return "''", []
    return f"CASE {' '.join(whens)} ELSE '' END", params
