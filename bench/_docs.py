"""The benchmarks write their own figures into docs/benchmarks.md, so nobody copies figures by hand.

Each benchmark owns one section of that file, between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`. A run
replaces the sections of the benchmarks it ran and leaves the others (and all the prose around them) as they
were: `python -m bench sla` refreshes only the SLA figures. A benchmark that crashed keeps its last figures,
since an empty section would tell less than an older one. A benchmark whose markers are missing gets a new
section at the end of the file.

What goes in a section: when it ran, the machine's CPUs and load average before and after (these machines are
shared; the load says how much to trust the absolute figures), the sizes and repetitions it was given, what it
printed to stdout (its tables, its own processes' included) and its verdicts.
"""

from __future__ import annotations

import io
import os
import re
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bench._harness import PROJECT_DIR, Verdict

DOCS_FILE = PROJECT_DIR / "docs" / "benchmarks.md"


def start_marker(name: str) -> str:
    return f"<!-- bench:{name} -->"


def end_marker(name: str) -> str:
    return f"<!-- /bench:{name} -->"


@dataclass(frozen=True)
class RunFacts:
    """The circumstances of one benchmark's run, written above its figures."""

    finished_at: datetime
    seconds: float
    cpus: int
    load_before: Sequence[float]
    load_after: Sequence[float]
    python: str
    sizes: Sequence[int]
    requests: int


def render_section(*, name: str, facts: RunFacts, output: str, verdicts: Sequence[Verdict]) -> str:
    """The Markdown that goes between a benchmark's markers (the markers excluded)."""

    def load(values: Sequence[float]) -> str:
        return ", ".join(f"{value:.1f}" for value in values)

    lines = [
        f"Written by `python -m bench {name}` on {facts.finished_at:%Y-%m-%d %H:%M} UTC in {facts.seconds:.0f} s: "
        f"{facts.cpus} CPUs, load average {load(facts.load_before)} before and {load(facts.load_after)} after "
        f"(1, 5, 15 minutes); Python {facts.python}; `BENCH_SIZES` {', '.join(f'{s:,}' for s in facts.sizes)}; "
        f"`BENCH_REQUESTS` {facts.requests}.",
        "",
        "```text",
        output.strip("\n") or "(nothing printed)",
        "```",
        "",
    ]
    if verdicts:
        lines += [f"- `{verdict.line()}`" for verdict in verdicts]
    else:
        lines.append("- no targets")
    return "\n".join(lines) + "\n"


def replace_section(text: str, *, name: str, body: str, title: str = "") -> str:
    """`text` with the section of `name` holding `body`; a missing section is appended under a heading that is
    the benchmark's name alone (a short, stable anchor for links: `benchmarks.md#sla`), then its title."""
    start, end = start_marker(name), end_marker(name)
    pattern = re.compile(re.escape(start) + r"\n.*?" + re.escape(end), re.DOTALL)
    block = f"{start}\n{body.rstrip()}\n{end}"
    if pattern.search(text):
        # A function, so that backslashes in the figures are taken literally, not as group references.
        return pattern.sub(lambda _match: block, text, count=1)
    heading = f"## {name}\n\n" + (f"{title}\n\n" if title else "")
    return text.rstrip("\n") + ("\n\n" if text.strip() else "") + f"{heading}{block}\n"


def write_section(path: Path, *, name: str, body: str, title: str = "") -> None:
    """Replace (or add) one benchmark's section of the file at `path`, atomically: a reader, or a crash while
    writing, never meets half a file."""
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    updated = replace_section(text, name=name, body=body, title=title)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(updated)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class StdoutCopy:
    """While active, everything written to file descriptor 1 still reaches it and is also kept in `text`.

    It works on the file descriptor, not on `sys.stdout`, because several benchmarks print their tables from a
    Django subprocess that inherits the descriptor; `sys.stdout` is pointed at the descriptor meanwhile, in case
    something (a test runner) had replaced it. Progress goes to stderr and is not kept.
    """

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self.text = ""

    def __enter__(self) -> StdoutCopy:
        sys.stdout.flush()
        self._original = os.dup(1)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 1)
        os.close(write_end)
        self._pump = threading.Thread(target=self._copy, args=(read_end,), daemon=True)
        self._pump.start()
        self._sys_stdout = sys.stdout
        sys.stdout = io.TextIOWrapper(
            io.FileIO(1, "w", closefd=False), encoding="utf-8", errors="replace", line_buffering=True
        )
        return self

    def _copy(self, read_end: int) -> None:
        with os.fdopen(read_end, "rb", buffering=0) as pipe:
            while chunk := pipe.read(65536):
                self._chunks.append(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(self._original, view) :]

    def __exit__(self, *exc_info: object) -> None:
        sys.stdout.flush()
        sys.stdout = self._sys_stdout
        os.dup2(self._original, 1)  # closes the pipe's write end held here: the pump sees the end of the output
        # A process the benchmark left running could still hold a copy of the write end; do not wait for it.
        self._pump.join(timeout=30)
        os.close(self._original)
        self.text = b"".join(self._chunks).decode("utf-8", errors="replace")
