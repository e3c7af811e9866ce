"""Benchmarks for the issues that come with a speed target; `make bench` (or `python -m bench`) runs them all.

Benchmarks are not tests: they print figures and verdicts, and never fail a build because a machine was slow.
These machines are noisy, so every figure is printed beside a baseline measured in the same run (the raw SQL,
or the naive way), and the ratio is what to compare between runs.

Adding one: create `bench/<name>.py` with a module docstring (its first line is the benchmark's title) and

    def run(ctx: Context) -> list[Verdict]: ...

which prints its own tables (see `bench._harness.table`) and returns one verdict per target of its issue. The
runner finds it by itself; modules whose name starts with `_` are helpers, not benchmarks. `python -m bench NAME`
runs only the benchmarks named. What a benchmark prints to stdout (its subprocesses' output included) and its
verdicts are written into its section of docs/benchmarks.md (`bench._docs`); give it a few lines of description
there, above its markers.

Benchmarks that need data use `bench._harness.seeded_database`, which keeps one PostgreSQL database per data
size (`crm_bench_100k`, `crm_bench_1m`, ...) filled by `manage.py seed_demo`, and reuses it on later runs. Code
that needs Django runs in a subprocess with that database's `DATABASE_URL`, because Django reads its settings
once, at import.
"""
