"""CSV import of 100,000 rows and export of the whole table, on PostgreSQL.

What it measures, on its own database (`crm_bench_imports`, made empty and migrated on the first run), emptied of leads before each step:

1. **The import service** (`leads.imports.services`, what `manage.py import_leads` and the Celery task run) over 100,000
   generated rows: every row validated, duplicates looked up per chunk (skip policy), leads and their stage
   history written by COPY in chunks of 5,000, response clocks timed, channels created on the fly. Target: ≤ 60 s.
2. **Baseline, the floor**: the same rows' leads written by one plain COPY, nothing checked, no history, no
   clocks: what the database needs to store them at all. The ratio says what validation and history cost.
3. **Baseline, the naive way**: `lead_create` row by row (the service a person's form uses) on a 2,000-row sample,
   extrapolated to 100,000. The ratio says what bulk writing saves.
4. **Export**: the whole table streamed as CSV (`leads.exports`: COPY TO STDOUT of the ORM's query), rows per
   second, and the time a million rows would take at that rate; beside it the row-by-row way (the ORM's
   `.values_list().iterator()` formatted by `csv.writer`), which the export uses on other databases.

    python -m bench imports        (with the other benchmarks: make bench)      python -m bench.imports   (alone)

The machine's load average is printed with the figures: on a shared machine every figure moves with it, the
ratios much less.
"""

from __future__ import annotations

import contextlib
import os
import random
import time

from bench._harness import (
    Context,
    Verdict,
    django_child,
    log,
    measure_main,
    migrated_database,
    print_verdicts,
    run_django_json,
)

ROWS = int(os.environ.get("BENCH_IMPORT_ROWS", 100_000))
NAIVE_SAMPLE = int(os.environ.get("BENCH_IMPORT_NAIVE_SAMPLE", 2_000))
TARGET_SECONDS = 60.0

HEADER = [
    "Name", "Email", "Phone", "Company", "Job title", "Industry", "Employees", "Country", "Region", "City",
    "Source", "Created", "Status", "Won date", "Amount", "Lost reason", "attributes.segment",
]  # fmt: skip
_STAGES = ["new"] * 40 + ["contacted"] * 15 + ["qualified"] * 10 + ["proposal"] * 5 + ["won"] * 12 + ["lost"] * 18


def generate_csv(rows: int, *, seed: int = 7) -> str:
    """A team's spreadsheet: a funnel's worth of history, 2% duplicate people, 1% bad rows."""
    rnd = random.Random(seed)
    industries = ["SaaS", "Retail", "Manufacturing", "Finance", "Healthcare", "Education"]
    sources = ["Google Ads", "LinkedIn", "Trade fair", "Referral", "Webinar", "Partner"]
    reasons = ["no_budget", "no_need", "competitor", "no_response", "timing"]
    lines = [",".join(HEADER)]
    for i in range(rows):
        person = rnd.randrange(i - 50, i) if i > 50 and rnd.random() < 0.02 else i  # a duplicate of a recent row
        stage = rnd.choice(_STAGES)
        month, day = rnd.randint(1, 12), rnd.randint(1, 28)
        created = f"2025-{month:02d}-{day:02d}"
        won = f"2025-{min(12, month + 1):02d}-{day:02d} 10:30" if stage == "won" else ""
        amount = str(rnd.randint(500, 50_000)) if stage == "won" else ""
        email = f"person{person}@company{person % 997}.example"
        if rnd.random() < 0.01:
            email = f"broken{i}@"  # rejected: bad email
        phone = f"+1 415 {person // 10_000 % 1000:03d} {person % 10_000:04d}" if person % 3 == 0 else ""
        lines.append(
            ",".join(
                [
                    f"Person {person}",
                    email,
                    phone,
                    f"Company {person % 997}",
                    rnd.choice(["Director of Sales", "CTO", "Analyst", "Head of Marketing"]),
                    rnd.choice(industries),
                    str(rnd.randint(5, 5000)),
                    rnd.choice(["US", "DE", "GB", "FR"]),
                    rnd.choice(["West", "East", "North", "South"]),
                    rnd.choice(["Austin", "Berlin", "London", "Paris"]),
                    rnd.choice(sources),
                    created,
                    stage,
                    won,
                    amount,
                    rnd.choice(reasons) if stage == "lost" else "",
                    f"segment-{person % 5}",
                ]
            )
        )
    return "\n".join(lines) + "\n"


# --- The parent process ------------------------------------------------------------------------------------------


def ensure_database(ctx: Context) -> str:
    """`crm_bench_imports`, empty and migrated: the bench brings its own rows."""
    return migrated_database(ctx, "imports")


def verdicts(f: dict) -> list[Verdict]:
    return [
        Verdict(
            f"Import of {f['rows']:,} rows within {TARGET_SECONDS:.0f} s on PostgreSQL",
            f["service_seconds"] <= TARGET_SECONDS,
            f"{f['service_seconds']:.1f} s ({f['rows'] / f['service_seconds']:,.0f} rows/s): {f['created']:,} created, "
            f"{f['skipped']:,} duplicates skipped, {f['rejected']:,} rejected; load average {f['load_before']:.1f} "
            f"before, {f['load_after']:.1f} after",
        ),
        Verdict(
            "Import vs the floor (one plain COPY of the same leads, nothing checked, no history)",
            True,
            f"{f['service_seconds']:.1f} s vs {f['copy_seconds']:.1f} s = {f['service_seconds'] / f['copy_seconds']:.1f}× "
            "(informative)",
        ),
        Verdict(
            f"Import vs the naive way (lead_create per row, {NAIVE_SAMPLE:,}-row sample extrapolated)",
            f["naive_seconds_extrapolated"] > f["service_seconds"],
            f"{f['naive_seconds_extrapolated']:.0f} s vs {f['service_seconds']:.1f} s: the service is "
            f"{f['naive_seconds_extrapolated'] / f['service_seconds']:.1f}× faster",
        ),
        Verdict(
            "Export streams the whole table in one statement, no per-row queries",
            f["export_queries"] <= 1,
            f"{f['export_rows']:,} rows in {f['export_seconds']:.1f} s = {f['export_rows_per_second']:,.0f} rows/s "
            f"(1,000,000 rows ≈ {1_000_000 / f['export_rows_per_second']:.0f} s), {f['export_queries']} ORM queries besides the COPY, "
            f"first bytes after {f['export_first_ms']:.0f} ms; row by row through the ORM "
            f"{f['iterate_rows_per_second']:,.0f} rows/s ({f['export_rows_per_second'] / f['iterate_rows_per_second']:.1f}× slower)",
        ),
    ]


def run(ctx: Context | None = None) -> list[Verdict]:
    """Entry point for `make bench` (`python -m bench imports`)."""
    ctx = ctx or Context.from_env()
    figures = run_django_json(ctx, ensure_database(ctx), "bench.imports", "--measure")
    result = verdicts(figures)
    return print_verdicts(result)


# --- The child process -------------------------------------------------------------------------------------------


def _child() -> dict:
    django_child()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leads.exports import export_csv_lines
    from leads.imports import services as imports
    from leads.models import Lead
    from leads.services import lead_create

    def empty() -> None:
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE leads_lead, leads_channel RESTART IDENTITY CASCADE")
            cursor.execute("VACUUM ANALYZE leads_lead")

    text = generate_csv(ROWS)
    mapping = imports.guess_mapping(imports.read_header(text))
    mapping["company_size"] = "Employees"
    options = imports.ImportOptions(create_channels=True, on_duplicate="skip")

    empty()
    log(f"imports: the service over {ROWS:,} rows")
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    result = imports.import_file(text=text, mapping=mapping, options=options)
    service_seconds = time.perf_counter() - started
    load_after = os.getloadavg()[0]

    log("imports: export of the whole table")
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        lines = export_csv_lines(Lead.objects.all())
        next(lines)
        first_ms = (time.perf_counter() - started) * 1000
        exported = sum(chunk.count(b"\n" if isinstance(chunk, bytes) else "\n") for chunk in lines)
        export_seconds = time.perf_counter() - started

    log("imports: export row by row (values_list().iterator() + csv.writer), for comparison")
    import csv as csv_module
    import io

    from leads.exports import export_rows

    started = time.perf_counter()
    writer = csv_module.writer(io.StringIO())
    iterated = sum(1 for row in export_rows(Lead.objects.all()) if writer.writerow(row) or True)
    iterate_seconds = time.perf_counter() - started

    log("imports: baseline, one COPY of the same leads")
    # The rows the service created, as it stored them: exactly what the floor must write.
    columns = [
        f.column
        for f in Lead._meta.concrete_fields
        if not f.primary_key and not f.generated and f.column not in ("channel_id",)
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE floor AS SELECT {', '.join(columns)} FROM leads_lead")
    empty()
    with connection.cursor() as cursor:
        buffer = []
        with cursor.cursor.copy(f"COPY floor ({', '.join(columns)}) TO STDOUT") as copy:
            for block in copy:
                buffer.append(bytes(block))
        started = time.perf_counter()
        with cursor.cursor.copy(f"COPY leads_lead ({', '.join(columns)}) FROM STDIN") as copy:
            for block in buffer:
                copy.write(block)
        copy_seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE floor")

    log(f"imports: baseline, lead_create per row over {NAIVE_SAMPLE:,} rows")
    empty()
    sample = imports.LeadImporter(
        text="\n".join(text.splitlines()[: NAIVE_SAMPLE + 1]), mapping=mapping, options=options, user=None
    )
    facts_list = []
    for chunk in sample.rows():
        for _, row in chunk:
            with contextlib.suppress(ValueError):  # a rejected row: the naive way would refuse it too
                facts_list.append(sample.reader.read(row)[0])
    sample.resolver.save_new_channels()
    started = time.perf_counter()
    for facts in facts_list:
        lead_create(
            user=None,
            owner=facts["owner"],
            stage=facts["stage"] if facts["stage"] in ("new", "contacted", "qualified", "proposal") else "new",
            name=facts["name"],
            email=facts["email"],
            phone=facts["phone"],
            company=facts["company"],
            job_title=facts["job_title"],
            industry=facts["industry"],
            company_size=facts.get("company_size"),
            country=facts["country"],
            region=facts["region"],
            city=facts["city"],
            channel=facts["channel"],
            created_at=facts["created_at"],
            attributes=facts["attributes"],
        )
    naive_seconds = time.perf_counter() - started
    empty()
    return {
        "rows": ROWS,
        "created": result.created,
        "skipped": result.skipped,
        "rejected": result.rejected,
        "service_seconds": service_seconds,
        "copy_seconds": copy_seconds,
        "naive_sample": len(facts_list),
        "naive_seconds": naive_seconds,
        "naive_seconds_extrapolated": naive_seconds * ROWS / max(1, len(facts_list)),
        "export_rows": exported,
        "export_seconds": export_seconds,
        "export_rows_per_second": exported / export_seconds,
        "export_first_ms": first_ms,
        "export_queries": len(queries),
        "iterate_rows_per_second": iterated / iterate_seconds,
        "load_before": load_before,
        "load_after": load_after,
    }


if __name__ == "__main__":
    measure_main("python -m bench.imports", _child, run)
