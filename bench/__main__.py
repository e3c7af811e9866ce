"""`python -m bench [NAME ...]`: run every benchmark module of this package, or only the ones named.

Each benchmark runs on its own: one that crashes is reported with its traceback and the others still run, since
a half-finished run still tells something. The exit status is 1 only when a benchmark crashed; a target that is
not met is a printed verdict, not a failure.

What each benchmark prints, and its verdicts, are also written to its section of docs/benchmarks.md (see
`bench._docs`); `--docs FILE` writes them elsewhere, `--no-docs` nowhere.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import bench
from bench._docs import DOCS_FILE, RunFacts, StdoutCopy, render_section, write_section
from bench._harness import Context, Verdict


def discover() -> dict[str, ModuleType]:
    """Every module of the package that defines `run(ctx)`, by name, in alphabetical order."""
    found = {}
    for info in sorted(pkgutil.iter_modules(bench.__path__), key=lambda info: info.name):
        if info.name.startswith("_") or info.ispkg:
            continue
        module = importlib.import_module(f"bench.{info.name}")
        if callable(getattr(module, "run", None)):
            found[info.name] = module
    return found


def title_of(module: ModuleType) -> str:
    return (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else module.__name__


def main(argv: list[str] | None = None) -> int:
    benchmarks = discover()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(benchmarks)}")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--docs",
        type=Path,
        default=DOCS_FILE,
        metavar="FILE",
        help="the Markdown file whose bench sections get this run's figures (default: docs/benchmarks.md)",
    )
    parser.add_argument("--no-docs", action="store_true", help="print the figures only, write no file")
    args = parser.parse_args(argv)
    if args.list:
        for name, module in benchmarks.items():
            print(f"{name:20} {title_of(module)}")
        return 0
    unknown = [name for name in args.names if name not in benchmarks]
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}; there are: {', '.join(benchmarks)}")

    ctx = Context.from_env()
    # The load says how much to trust this run's absolute figures (the ratios hold up better).
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(
        f"Benchmarks on {os.cpu_count()} CPUs (load average {load}), Python {sys.version.split()[0]}; "
        f"sizes {', '.join(f'{s:,}' for s in ctx.sizes)}; {ctx.requests} timed requests per scenario\n"
    )
    results: dict[str, list[Verdict] | None] = {}
    for name in args.names or list(benchmarks):
        module = benchmarks[name]
        heading = f"## {name}: {title_of(module)}"
        print(f"{heading}\n{'#' * len(heading)}\n", flush=True)
        started = time.perf_counter()
        load_before = os.getloadavg()
        with StdoutCopy() as printed:
            try:
                results[name] = list(module.run(ctx) or [])
            except Exception:
                traceback.print_exc()
                results[name] = None
                print(f"{name} CRASHED (traceback on stderr)\n")
        seconds = time.perf_counter() - started
        print(f"({name} took {seconds:.0f} s)\n", flush=True)
        if results[name] is not None and not args.no_docs:
            facts = RunFacts(
                finished_at=datetime.now(UTC),
                seconds=seconds,
                cpus=os.cpu_count() or 0,
                load_before=load_before,
                load_after=os.getloadavg(),
                python=sys.version.split()[0],
                sizes=ctx.sizes,
                requests=ctx.requests,
            )
            body = render_section(name=name, facts=facts, output=printed.text, verdicts=results[name])
            write_section(args.docs, name=name, body=body, title=title_of(module))
            print(f"(figures written to {args.docs}, section bench:{name})\n", flush=True)

    print("Summary\n=======")
    for name, verdicts in results.items():
        if verdicts is None:
            print(f"{name}: crashed, no figures")
            continue
        met = sum(v.met for v in verdicts)
        print(f"{name}: {met}/{len(verdicts)} targets met")
        for verdict in verdicts:
            print(f"  {verdict.line()}")
    return 1 if any(v is None for v in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
