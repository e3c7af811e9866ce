"""Hand-written PostgreSQL for the figures of each report, straight from the base tables (no pre-aggregation),
and the same figures read from what the report pages show, so the bench can time the one beside the other and
check they agree. Figures are keyed "group:measure"; groups with no leads are left out on both sides."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import connection

from crm import clock

STAGE_RANK = "CASE sc.to_stage WHEN 'contacted' THEN 1 WHEN 'qualified' THEN 2 WHEN 'proposal' THEN 3 WHEN 'won' THEN 4 ELSE 0 END"
FUNNEL = ("contacted", "qualified", "proposal", "won")
OPEN = ("new", "contacted", "qualified", "proposal")
LOST_REASONS = ("no_budget", "no_need", "competitor", "no_response", "bad_data", "timing", "other")


def _who(scope, alias="l") -> tuple[str, list]:
    if scope.own_leads_only:
        return f" AND {alias}.owner_id = %s", [scope.user.pk]
    if scope.allowed_team_ids is not None:
        return f" AND {alias}.team_id = ANY(%s)", [list(scope.allowed_team_ids)]
    return "", []


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _period(scope) -> list:
    return [scope.period.starts_at, scope.period.ends_before]


def funnel(scope, option="") -> dict:
    who, params = _who(scope)
    reached = ", ".join(f"count(*) FILTER (WHERE f >= {i + 1})" for i in range(4))
    lost = ", ".join(f"count(*) FILTER (WHERE stage = 'lost' AND lost_reason = '{r}')" for r in LOST_REASONS)
    row = _fetch(
        f"""SELECT count(*), {reached}, {lost} FROM (
              SELECT l.id, l.stage, l.lost_reason, max({STAGE_RANK}) AS f
              FROM leads_lead l LEFT JOIN leads_stagechange sc ON sc.lead_id = l.id
              WHERE l.created_at >= %s AND l.created_at < %s {who} GROUP BY l.id) s""",
        _period(scope) + params,
    )[0]
    figures = {"reached:new": row[0]}
    figures.update({f"reached:{stage}": row[1 + i] for i, stage in enumerate(FUNNEL)})
    figures.update({f"lost:{reason}": row[5 + i] for i, reason in enumerate(LOST_REASONS)})
    return figures


def conversion(scope, option="channel") -> dict:
    who, params = _who(scope)
    previous = scope.previous().period
    group = {
        "channel": "coalesce(c.name, 'No channel')",
        "industry": "coalesce(nullif(l.industry, ''), '(blank)')",
        "month": "to_char(date_trunc('month', l.created_at AT TIME ZONE %s), 'Mon YYYY')",
    }[option]
    group_params = [settings.TIME_ZONE] if option == "month" else []
    start, end = scope.period.starts_at, scope.period.ends_before
    since = start if option == "month" else previous.starts_at
    rows = _fetch(
        f"""SELECT {group}, count(*) FILTER (WHERE l.created_at >= %s),
                   count(*) FILTER (WHERE l.created_at >= %s AND l.stage = 'won'),
                   count(*) FILTER (WHERE l.created_at < %s),
                   count(*) FILTER (WHERE l.created_at < %s AND l.stage = 'won')
            FROM leads_lead l LEFT JOIN leads_channel c ON c.id = l.channel_id
            WHERE l.created_at >= %s AND l.created_at < %s {who} GROUP BY 1""",
        [*group_params, start, start, start, start, since, end, *params],
    )
    figures = {}
    for name, leads, won, leads_before, won_before in rows:
        figures[f"{name}:leads"], figures[f"{name}:won"] = leads, won
        if option != "month":
            figures[f"{name}:previous_leads"], figures[f"{name}:previous_won"] = leads_before, won_before
    return figures


def velocity(scope, option="") -> dict:
    who, params = _who(scope)
    period = _period(scope)
    median, p90 = _fetch(
        f"""SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM won_at - created_at)),
                   percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM won_at - created_at))
            FROM leads_lead l WHERE l.stage = 'won' AND l.created_at >= %s AND l.created_at < %s {who}""",
        period + params,
    )[0]
    spells = _fetch(
        f"""SELECT to_stage, count(*), sum(extract(epoch FROM left_at - changed_at)) FROM (
              SELECT sc.to_stage, sc.changed_at,
                     lead(sc.changed_at) OVER (PARTITION BY sc.lead_id ORDER BY sc.changed_at, sc.id) AS left_at
              FROM leads_stagechange sc JOIN leads_lead l ON l.id = sc.lead_id
              WHERE l.created_at >= %s AND l.created_at < %s {who}) s
            WHERE left_at IS NOT NULL AND to_stage IN ('new', 'contacted', 'qualified', 'proposal') GROUP BY 1""",
        period + params,
    )
    now = clock.now()
    ageing = _fetch(
        f"""SELECT l.stage,
                   CASE WHEN l.stage_changed_at > %s - interval '8 days' THEN '0-7d'
                        WHEN l.stage_changed_at > %s - interval '31 days' THEN '8-30d'
                        WHEN l.stage_changed_at > %s - interval '91 days' THEN '31-90d' ELSE 'over-90d' END,
                   count(*)
            FROM leads_lead l WHERE l.stage IN ('new', 'contacted', 'qualified', 'proposal')
              AND l.stage_changed_at <= %s AND l.created_at >= %s AND l.created_at < %s {who} GROUP BY 1, 2""",
        [now, now, now, now, *period, *params],
    )
    figures = {"won:median_days": _days(median), "won:p90_days": _days(p90)}
    for stage, n, total in spells:
        figures[f"{stage}:average_days"] = round(float(total) / n / 86400, 2)
    for stage, bucket, n in ageing:
        figures[f"{stage}:{bucket}"] = n
    return figures


def _days(seconds) -> float | None:
    return None if seconds is None else round(float(seconds) / 86400, 2)


def economics(scope, option="") -> dict:
    who, params = _who(scope)
    p = scope.period
    rows = _fetch(
        f"""WITH spend AS (
              SELECT channel_id, sum(amount * ((least(period_end, %s) - greatest(period_start, %s) + 1)::numeric
                                              / (period_end - period_start + 1))) AS spend
              FROM leads_channelspend WHERE period_start <= %s AND period_end >= %s GROUP BY 1),
            mine AS (
              SELECT channel_id, count(*) AS leads, count(*) FILTER (WHERE stage = 'won') AS won
              FROM leads_lead l WHERE l.created_at >= %s AND l.created_at < %s {who} GROUP BY 1),
            everyone AS (
              SELECT channel_id, count(*) AS leads FROM leads_lead
              WHERE created_at >= %s AND created_at < %s GROUP BY 1)
            SELECT c.name, coalesce(s.spend, 0) * coalesce(m.leads, 0) / nullif(e.leads, 0),
                   coalesce(s.spend, 0), m.leads, m.won
            FROM leads_channel c LEFT JOIN spend s ON s.channel_id = c.id
              LEFT JOIN mine m ON m.channel_id = c.id LEFT JOIN everyone e ON e.channel_id = c.id""",
        [p.end, p.start, p.end, p.start, *_period(scope), *params, *_period(scope)],
    )
    figures = {}
    for name, attributed, spend, leads, won in rows:
        if not leads:
            continue
        value = spend if scope.is_everything else (attributed or Decimal(0))
        figures[f"{name}:spend"] = Decimal(value).quantize(Decimal("0.01"))
        figures[f"{name}:leads"], figures[f"{name}:won"] = leads, won
    return figures


def speed(scope, option="") -> dict:
    who, params = _who(scope)
    row = _fetch(
        f"""SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY response_seconds),
                   percentile_cont(0.9) WITHIN GROUP (ORDER BY response_seconds), avg(response_seconds)
            FROM leads_lead l WHERE l.created_at >= %s AND l.created_at < %s {who}""",
        _period(scope) + params,
    )[0]
    buckets = _fetch(
        f"""SELECT CASE WHEN response_seconds IS NULL THEN 'never' WHEN response_seconds < 300 THEN 'under-5m'
                        WHEN response_seconds < 1800 THEN '5-30m' WHEN response_seconds < 3600 THEN '30-60m'
                        WHEN response_seconds < 86400 THEN '1-24h' ELSE 'over-24h' END,
                   count(*), count(*) FILTER (WHERE stage = 'won')
            FROM leads_lead l WHERE l.created_at >= %s AND l.created_at < %s {who} GROUP BY 1""",
        _period(scope) + params,
    )
    figures = {
        "response:median": _float(row[0]),
        "response:p90": _float(row[1]),
        "response:average": _float(row[2]),
    }
    for bucket, leads, won in buckets:
        figures[f"{bucket}:leads"], figures[f"{bucket}:won"] = leads, won
    figures.update(speed_sla(scope))
    return figures


def speed_sla(scope) -> dict:
    """Share within SLA and breaches per owner, from the leads joined to their response clocks."""
    who, params = _who(scope)
    open_stages = ", ".join(f"'{stage}'" for stage in OPEN)
    rows = _fetch(
        f"""SELECT l.owner_id, count(*),
                   count(*) FILTER (WHERE l.first_response_at <= c.due_at),
                   count(*) FILTER (WHERE l.first_response_at > c.due_at
                                    OR (l.first_response_at IS NULL AND l.stage IN ({open_stages}) AND c.due_at <= %s))
            FROM leads_lead l JOIN leads_responseclock c ON c.lead_id = l.id
            WHERE c.due_at IS NOT NULL AND l.created_at >= %s AND l.created_at < %s {who}
            GROUP BY 1""",
        [clock.now(), *_period(scope), *params],
    )
    from crm.models import User

    names = {u.pk: str(u) for u in User.objects.filter(pk__in=[r[0] for r in rows if r[0]])}
    figures = {"sla:timed": 0, "sla:within": 0, "sla:breached": 0}
    for owner_id, timed, within, breached in rows:
        name = names.get(owner_id, "Pool (no owner)")
        figures.update({f"sla {name}:timed": timed, f"sla {name}:within": within, f"sla {name}:breached": breached})
        figures["sla:timed"] += timed
        figures["sla:within"] += within
        figures["sla:breached"] += breached
    return figures


def _float(value) -> float | None:
    return None if value is None else round(float(value), 1)


def team(scope, option="") -> dict:
    who, params = _who(scope)
    if scope.allowed_team_ids is not None:
        people_sql, people_params = "SELECT id FROM crm_user WHERE team_id = ANY(%s)", [list(scope.allowed_team_ids)]
    else:
        people_sql, people_params = "SELECT id FROM crm_user WHERE is_active", []
    rows = _fetch(
        f"""WITH people AS ({people_sql}),
            period AS (
              SELECT owner_id, count(*) AS leads, count(*) FILTER (WHERE stage = 'won') AS won,
                     coalesce(sum(deal_value) FILTER (WHERE stage = 'won'), 0) AS won_value
              FROM leads_lead l WHERE l.created_at >= %s AND l.created_at < %s {who} GROUP BY 1),
            open_now AS (
              SELECT owner_id, count(*) AS n FROM leads_lead l
              WHERE l.stage IN ('new', 'contacted', 'qualified', 'proposal') {who} GROUP BY 1),
            overdue AS (
              SELECT assignee_id, count(*) AS n FROM leads_followuptask
              WHERE done_at IS NULL AND due_at < %s GROUP BY 1)
            SELECT u.id, coalesce(o.n, 0), coalesce(t.n, 0), coalesce(p.leads, 0), coalesce(p.won, 0),
                   coalesce(p.won_value, 0)
            FROM crm_user u JOIN people ON people.id = u.id LEFT JOIN period p ON p.owner_id = u.id
              LEFT JOIN open_now o ON o.owner_id = u.id LEFT JOIN overdue t ON t.assignee_id = u.id""",
        people_params + _period(scope) + params + params + [clock.now()],
    )
    from crm.models import User

    names = {u.pk: str(u) for u in User.objects.filter(pk__in=[r[0] for r in rows])}
    figures = {}
    for pk, open_now, overdue, leads, won, won_value in rows:
        name = names[pk]
        figures.update(
            {
                f"{name}:open": open_now,
                f"{name}:overdue": overdue,
                f"{name}:leads": leads,
                f"{name}:won": won,
                f"{name}:won_value": Decimal(won_value).quantize(Decimal("0.01")),
            }
        )
    return figures


def completeness(scope, option="") -> dict:
    who, params = _who(scope)
    fields = ("email", "phone", "company", "job_title", "industry", "region")
    filled = ", ".join(f"count(*) FILTER (WHERE {f} <> '')" for f in fields)
    row = _fetch(
        f"""SELECT count(*), {filled}, count(*) FILTER (WHERE company_size IS NOT NULL)
            FROM leads_lead l WHERE l.created_at >= %s AND l.created_at < %s {who}""",
        _period(scope) + params,
    )[0]
    figures = {"leads": row[0], "company_size:filled": row[-1]}
    figures.update({f"{f}:filled": row[1 + i] for i, f in enumerate(fields)})
    return figures


def grades(scope, option="") -> dict:
    who, params = _who(scope)
    rows = _fetch(
        f"""SELECT grade, count(*), count(*) FILTER (WHERE stage = 'won'), count(*) FILTER (WHERE stage = 'lost')
            FROM leads_lead l WHERE l.created_at >= %s AND l.created_at < %s {who} GROUP BY 1""",
        _period(scope) + params,
    )
    figures = {}
    for grade, leads, won, lost in rows:
        figures.update({f"{grade or '-'}:leads": leads, f"{grade or '-'}:won": won, f"{grade or '-'}:lost": lost})
    figures.update(grades_auc(scope))
    return figures


def grades_auc(scope) -> dict:
    """ROC AUC by the textbook rank formula: every closed lead ranked by its published score (ties averaged),
    AUC = (sum of the won leads' ranks − n_won(n_won + 1)/2) / (n_won · n_lost)."""
    who, params = _who(scope)
    won, lost, rank_sum = _fetch(
        f"""WITH closed AS (
              SELECT s.score, l.stage = 'won' AS won
              FROM scoring_leadscore s JOIN leads_lead l ON l.id = s.lead_id
              WHERE s.model_id = (SELECT id FROM scoring_scoringmodel WHERE status = 'published')
                AND l.stage IN ('won', 'lost') AND l.created_at >= %s AND l.created_at < %s {who}),
            ranked AS (
              SELECT won, rank() OVER (ORDER BY score) + (count(*) OVER (PARTITION BY score) - 1) / 2.0 AS r
              FROM closed)
            SELECT count(*) FILTER (WHERE won), count(*) FILTER (WHERE NOT won), sum(r) FILTER (WHERE won)
            FROM ranked""",
        _period(scope) + params,
    )[0]
    auc = None
    if won and lost:
        auc = round((float(rank_sum) - won * (won + 1) / 2) / (won * lost), 6)
    return {"auc:won": won, "auc:lost": lost, "auc:value": auc}


def dashboard(scope, option="") -> dict:
    who, params = _who(scope)
    row = _fetch(
        f"""SELECT count(*), count(*) FILTER (WHERE stage = 'won'),
                   coalesce(sum(deal_value) FILTER (WHERE stage = 'won'), 0),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY response_seconds)
            FROM leads_lead l WHERE l.created_at >= %s AND l.created_at < %s {who}""",
        _period(scope) + params,
    )[0]
    open_now = _fetch(
        f"SELECT count(*) FROM leads_lead l WHERE l.stage IN ('new', 'contacted', 'qualified', 'proposal') {who}",
        params,
    )[0][0]
    funnel_figures = funnel(scope)
    return {
        "leads": row[0],
        "won": row[1],
        "won_value": Decimal(row[2]).quantize(Decimal("0.01")),
        "median_response": _float(row[3]),
        "open_now": open_now,
        **{k: v for k, v in funnel_figures.items() if k.startswith("reached:")},
    }


def pool(scope, option="") -> dict:
    """Everything the Pool and recovery page shows: the pool by age now, claims and reclaims in the period by rep,
    by rule, and recovery (a later move to Qualified or Won) with its median cycle by channel and by region."""
    ages = _fetch(
        """SELECT count(*), count(*) FILTER (WHERE created_at > now() - interval '1 day'),
                  count(*) FILTER (WHERE created_at <= now() - interval '1 day' AND created_at > now() - interval '7 days'),
                  count(*) FILTER (WHERE created_at <= now() - interval '7 days' AND created_at > now() - interval '30 days'),
                  count(*) FILTER (WHERE created_at <= now() - interval '30 days')
           FROM leads_lead WHERE owner_id IS NULL AND stage = ANY(%s)""",
        [list(OPEN)],
    )[0]
    if scope.own_leads_only:
        who, claim_who, params = " AND r.from_user_id = %s", " AND c.user_id = %s", [scope.user.pk]
    elif scope.allowed_team_ids is not None:
        who, claim_who, params = " AND u.team_id = ANY(%s)", " AND u.team_id = ANY(%s)", [list(scope.allowed_team_ids)]
    else:
        who, claim_who, params = "", "", []
    _fetch(
        f"""SELECT c.user_id, count(*) FROM leads_poolclaim c LEFT JOIN crm_user u ON u.id = c.user_id
            WHERE c.claimed_at >= %s AND c.claimed_at < %s {claim_who} GROUP BY c.user_id""",
        _period(scope) + params,
    )
    reclaims = f"""WITH r AS (
            SELECT r.*, l.channel_id, l.region, (SELECT min(sc.changed_at) FROM leads_stagechange sc
                WHERE sc.lead_id = r.lead_id AND sc.to_stage IN ('qualified', 'won')
                AND sc.changed_at > r.reclaimed_at) AS recovered_at
            FROM leads_reclaimrecord r JOIN leads_lead l ON l.id = r.lead_id
            LEFT JOIN crm_user u ON u.id = r.from_user_id
            WHERE r.reclaimed_at >= %s AND r.reclaimed_at < %s {who})"""
    totals = _fetch(f"{reclaims} SELECT count(*), count(recovered_at) FROM r", _period(scope) + params)[0]
    for group in ("rule_name", "from_user_id", "channel_id", "region"):
        _fetch(
            f"""{reclaims} SELECT {group}, count(*), count(recovered_at),
                percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM recovered_at - reclaimed_at))
                FROM r GROUP BY {group}""",
            _period(scope) + params,
        )
    return {"pool": ages[0], "reclaimed": totals[0], "recovered": totals[1]}


BASELINES = {
    "dashboard": dashboard,
    "funnel": funnel,
    "conversion": conversion,
    "velocity": velocity,
    "economics": economics,
    "speed": speed,
    "team": team,
    "completeness": completeness,
    "grades": grades,
    "pool": pool,
}


# The same figures, read from what the pages show. ------------------------------------------------------------

_STAGE_KEYS = {"New": "new", "Contacted": "contacted", "Qualified": "qualified", "Proposal": "proposal"}


def report_figures(slug: str, result, option: str = "") -> dict:
    figures: dict = {}
    if slug == "funnel":
        for row, stage in zip(result.table("stages").rows, ("new", *FUNNEL), strict=True):
            figures[f"reached:{stage}"] = row["reached"].value
        for row, reason in zip(result.table("lost_reasons").rows, LOST_REASONS, strict=True):
            figures[f"lost:{reason}"] = row["lost"].value
    elif slug == "conversion":
        for row in result.tables[0].rows:
            name = row["group"].text
            before = row["previous_leads"].value if "previous_leads" in row else 0
            if not row["leads"].value and not before:
                continue
            figures[f"{name}:leads"], figures[f"{name}:won"] = row["leads"].value, row["won"].value
            if "previous_leads" in row:
                figures[f"{name}:previous_leads"] = row["previous_leads"].value
                figures[f"{name}:previous_won"] = row["previous_won"].value
    elif slug == "velocity":
        days = result.table("days_to_won").rows
        figures["won:median_days"] = days[1]["days"].value
        figures["won:p90_days"] = days[2]["days"].value
        for row in result.table("time_in_stage").rows:
            if row["spells"].value:
                figures[f"{_STAGE_KEYS[row['group'].text]}:average_days"] = row["average_days"].value
        for row in result.table("ageing").rows:
            for bucket in ("0-7d", "8-30d", "31-90d", "over-90d"):
                n = row[bucket.replace("-", "_")].value
                if n:
                    figures[f"{_STAGE_KEYS[row['group'].text]}:{bucket}"] = n
    elif slug == "economics":
        for row in result.tables[0].rows:
            if row["leads"].value:
                name = row["group"].text
                figures[f"{name}:spend"] = row["spend"].value
                figures[f"{name}:leads"], figures[f"{name}:won"] = row["leads"].value, row["won"].value
    elif slug == "speed":
        headlines = {h.label: h.cell for h in result.headlines}
        figures["response:median"] = headlines["Median first response"].value
        figures["response:p90"] = headlines["90th percentile"].value
        figures["response:average"] = headlines["Average"].value
        keys = ("under-5m", "5-30m", "30-60m", "1-24h", "over-24h", "never")
        for row, key in zip(result.table("buckets").rows, keys, strict=True):
            if row["leads"].value:
                figures[f"{key}:leads"], figures[f"{key}:won"] = row["leads"].value, row["won"].value
        sla = result.table("sla_by_owner")
        for row in sla.rows:
            if row["timed"].value:
                name = row["group"].text
                for measure in ("timed", "within", "breached"):
                    figures[f"sla {name}:{measure}"] = row[measure].value
        for measure in ("timed", "within", "breached"):
            figures[f"sla:{measure}"] = sla.total[measure].value
    elif slug == "team":
        for row in result.tables[0].rows:
            name = row["group"].text
            figures.update(
                {
                    f"{name}:open": row["open_leads"].value,
                    f"{name}:overdue": row["overdue_tasks"].value,
                    f"{name}:leads": row["leads"].value,
                    f"{name}:won": row["won"].value,
                    f"{name}:won_value": row["won_value"].value,
                }
            )
    elif slug == "completeness":
        keys = ("email", "phone", "company", "job_title", "industry", "company_size", "region")
        rows = result.tables[0].rows
        figures["leads"] = rows[0]["filled"].value + rows[0]["missing"].value
        for row, key in zip(rows, keys, strict=True):
            figures[f"{key}:filled"] = row["filled"].value
    elif slug == "pool":
        headlines = {h.label: h.cell for h in result.headlines}
        figures["pool"] = headlines["In the pool now"].value
        figures["reclaimed"] = headlines["Reclaimed in the period"].value
        figures["recovered"] = int(headlines["Recovery rate"].sub.split(" / ")[0].replace(",", ""))
    elif slug == "grades":
        for row, key in zip(result.tables[0].rows, ("A", "B", "C", "D", "-"), strict=True):
            if row["leads"].value:
                figures.update(
                    {
                        f"{key}:leads": row["leads"].value,
                        f"{key}:won": row["won"].value,
                        f"{key}:lost": row["lost"].value,
                    }
                )
        auc = result.table("auc").rows[0]
        figures.update({"auc:won": auc["won"].value, "auc:lost": auc["lost"].value, "auc:value": auc["roc_auc"].value})
    return figures


def dashboard_figures(board) -> dict:
    headlines = {h.label: h.cell for h in board.headlines}
    funnel_rows = board.panels[0].rows
    return {
        "leads": headlines["Leads"].value,
        "won": headlines["Won"].value,
        "won_value": headlines["Won value"].value,
        "median_response": headlines["Median first response"].value,
        "open_now": headlines["Open leads now"].value,
        **{
            f"reached:{stage}": int(value.replace(",", ""))
            for (label, value), stage in zip(funnel_rows, ("new", *FUNNEL), strict=True)
        },
    }
