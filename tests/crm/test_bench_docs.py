"""`python -m bench` writes each benchmark's figures into its own section of docs/benchmarks.md."""

import subprocess
import sys
import textwrap
import types
from datetime import UTC, datetime

from bench import __main__ as bench_main
from bench._docs import RunFacts, StdoutCopy, end_marker, render_section, start_marker, write_section
from bench._harness import Verdict

DOC = textwrap.dedent(
    """\
    # Benchmarks

    Prose a person wrote, kept as it is.

    ## scoring

    Rescore every lead. How the scoring benchmark measures.

    <!-- bench:scoring -->
    old scoring figures
    <!-- /bench:scoring -->

    ## sla

    <!-- bench:sla -->
    old sla figures
    <!-- /bench:sla -->

    Closing words.
    """
)


FACTS = RunFacts(
    finished_at=datetime(2026, 12, 7, 7, 30, tzinfo=UTC),
    seconds=12.4,
    cpus=2,
    load_before=(1.5, 2.25, 3.0),
    load_after=(4.0, 3.0, 2.0),
    python="3.11.2",
    sizes=(2_000, 100_000),
    requests=5,
)


def test_a_run_replaces_only_its_own_section_and_keeps_the_prose(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(DOC)

    write_section(doc, name="scoring", body="new scoring figures\n")

    text = doc.read_text()
    assert "new scoring figures" in text
    assert "old scoring figures" not in text
    assert "old sla figures" in text
    assert text.count(start_marker("scoring")) == 1
    assert text.count(end_marker("scoring")) == 1
    assert text.replace("new scoring figures", "old scoring figures") == DOC


def test_a_second_run_replaces_the_figures_of_the_first(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(DOC)

    write_section(doc, name="sla", body="first run\n")
    write_section(doc, name="sla", body="second run\n")

    text = doc.read_text()
    assert "second run" in text
    assert "first run" not in text
    assert text.count(start_marker("sla")) == 1


def test_a_benchmark_without_a_section_gets_one_at_the_end(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(DOC)

    write_section(doc, name="dedupe", body="dedupe figures\n", title="The duplicates page.")

    text = doc.read_text()
    assert text.startswith(DOC.rstrip("\n"))
    assert text.endswith(
        f"## dedupe\n\nThe duplicates page.\n\n{start_marker('dedupe')}\ndedupe figures\n{end_marker('dedupe')}\n"
    )


def test_a_missing_file_is_created(tmp_path):
    doc = tmp_path / "docs" / "benchmarks.md"

    write_section(doc, name="sla", body="sla figures\n")

    assert doc.read_text().startswith("# Benchmarks\n\n## sla\n")


def test_backslashes_in_figures_are_written_as_they_are(tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(DOC)

    write_section(doc, name="scoring", body=r"a path C:\bench\1 and \g<0>" + "\n")

    assert r"a path C:\bench\1 and \g<0>" in doc.read_text()


def test_the_section_says_when_on_what_load_and_sizes_with_the_output_and_verdicts():
    body = render_section(
        name="leads_pages",
        facts=FACTS,
        output="Leads list, median ms\n=====\nrep  26.1\n",
        verdicts=[Verdict("pages ≤ 50 ms", True, "26 ms"), Verdict("count ≤ 20 ms", False)],
    )

    assert "`python -m bench leads_pages` on 2026-12-07 07:30 UTC in 12 s" in body
    assert "2 CPUs, load average 1.5, 2.2, 3.0 before and 4.0, 3.0, 2.0 after" in body
    assert "`BENCH_SIZES` 2,000, 100,000; `BENCH_REQUESTS` 5" in body
    assert "```text\nLeads list, median ms\n=====\nrep  26.1\n```" in body
    assert "- `[MET    ] pages ≤ 50 ms — 26 ms`" in body
    assert "- `[NOT MET] count ≤ 20 ms`" in body


def test_the_copy_of_stdout_holds_what_child_processes_print_too(capfd):
    with StdoutCopy() as printed:
        print("from this process", flush=True)
        subprocess.run([sys.executable, "-c", "print('from a child process')"], check=True)

    assert printed.text == "from this process\nfrom a child process\n"
    assert capfd.readouterr().out == "from this process\nfrom a child process\n"


def test_running_a_benchmark_writes_its_figures_into_the_file(tmp_path, monkeypatch, capfd):
    def run(ctx):
        print("Fake table\n==========\nrow  1.0", flush=True)
        subprocess.run([sys.executable, "-c", "print('row  2.0 (from its Django subprocess)')"], check=True)
        return [Verdict("fake target", True, "1.0 ms")]

    fake = types.ModuleType("bench.fake", "A fake benchmark.")
    fake.run = run
    monkeypatch.setattr(bench_main, "discover", lambda: {"fake": fake})
    monkeypatch.setenv("BENCH_SIZES", "2k")
    monkeypatch.setenv("BENCH_REQUESTS", "3")
    doc = tmp_path / "benchmarks.md"
    doc.write_text(DOC)

    assert bench_main.main(["fake", "--docs", str(doc)]) == 0

    text = doc.read_text()
    assert text.startswith(DOC.rstrip("\n"))
    section = text.split(start_marker("fake"))[1].split(end_marker("fake"))[0]
    assert "`python -m bench fake`" in section
    assert "`BENCH_SIZES` 2,000; `BENCH_REQUESTS` 3" in section
    assert "Fake table\n==========\nrow  1.0\nrow  2.0 (from its Django subprocess)\n```" in section
    assert "- `[MET    ] fake target — 1.0 ms`" in section
    assert "row  2.0 (from its Django subprocess)" in capfd.readouterr().out


def test_a_crashed_benchmark_keeps_its_last_figures(tmp_path, monkeypatch):
    def run(ctx):
        print("half a table", flush=True)
        raise RuntimeError("the database went away")

    crashing = types.ModuleType("bench.sla", "The minute sweep.")
    crashing.run = run
    monkeypatch.setattr(bench_main, "discover", lambda: {"sla": crashing})
    doc = tmp_path / "benchmarks.md"
    doc.write_text(DOC)

    assert bench_main.main(["sla", "--docs", str(doc)]) == 1

    assert doc.read_text() == DOC


def test_no_docs_writes_nothing(tmp_path, monkeypatch):
    fake = types.ModuleType("bench.fake", "A fake benchmark.")
    fake.run = lambda ctx: []
    monkeypatch.setattr(bench_main, "discover", lambda: {"fake": fake})
    doc = tmp_path / "benchmarks.md"

    assert bench_main.main(["fake", "--docs", str(doc), "--no-docs"]) == 0

    assert not doc.exists()
