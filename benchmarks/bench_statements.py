"""Time monthly statements against bare WeasyPrint, across cores, and one long month.

For each database the script builds two identical corporations of tenants
with approved chores in one month and closes that month with the real close.

- Production against bare WeasyPrint, for each tenant of the first
  corporation in turn. The production path is ``build_statement`` reading the
  closed month, then ``render_statement``: Jinja, the static-only fetcher and
  a tagged PDF/UA-1. Bare WeasyPrint is ``HTML(string=...).write_pdf()`` with
  default options on the same HTML. Alternating the two keeps drifting
  machine load out of the ratio.
- Cores: ``render_month``, the code behind ``flask rewards statements``, on
  one worker for the first corporation and on every core for the second. The
  CPU seconds of the parent and of its worker processes (getrusage) give a
  second speed-up, cores times the one-worker CPU over the all-cores CPU,
  which other load on a shared machine does not lower. It assumes the work
  spreads evenly over the cores.
- One tenant with 400 chores in the month, built and rendered in a fresh
  process: time and peak RSS.

    python -m benchmarks.bench_statements --database both --statements 200
"""

import argparse
import gc
import multiprocessing
import os
import resource
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks import data, harness

PERIOD = "2026-11"
CHORES_PER_TENANT = 6
LONG_MONTH_CHORES = 400
TARGET_RATIO = 0.8
TARGET_SPEED_UP = 1.8
TARGET_LONG_SECONDS = 60
TARGET_LONG_MIB = 1024


@dataclass
class StatementFigures:
    """The measurements of one database."""

    backend: str
    statements: int
    production_seconds: float
    bare_seconds: float
    production_cpu_seconds: float
    bare_cpu_seconds: float
    one_worker: "MonthRun"
    all_cores: "MonthRun"
    workers: int
    long_seconds: float
    long_peak_mib: float
    long_growth_mib: float
    long_pages: int

    @property
    def production_rate(self) -> float:
        return self.statements / self.production_seconds

    @property
    def bare_rate(self) -> float:
        return self.statements / self.bare_seconds

    @property
    def ratio(self) -> float:
        return self.production_rate / self.bare_rate

    @property
    def cpu_ratio(self) -> float:
        """The same ratio from CPU seconds, which a busy machine does not inflate."""
        return self.bare_cpu_seconds / self.production_cpu_seconds

    @property
    def speed_up(self) -> float:
        return self.one_worker.seconds / self.all_cores.seconds

    @property
    def cpu_speed_up(self) -> float:
        """Speed-up on idle cores if the all-cores run's CPU time spread evenly."""
        return self.workers * self.one_worker.cpu_seconds / self.all_cores.cpu_seconds


@dataclass(frozen=True)
class MonthRun:
    """Wall and CPU seconds of one ``render_month`` run."""

    seconds: float
    parent_cpu_seconds: float
    worker_cpu_seconds: float

    @property
    def cpu_seconds(self) -> float:
        return self.parent_cpu_seconds + self.worker_cpu_seconds


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    harness.add_database_options(parser)
    parser.add_argument(
        "--statements",
        type=int,
        default=200,
        help="Statements per measurement (default: 200).",
    )
    parser.add_argument(
        "--quick", action="store_true", help="Small run: 20 statements."
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="Write a pyinstrument profile of the production renders into DIR.",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.statements = 20
    return args


def main(argv: list[str] | None = None) -> list[StatementFigures]:
    """Run the statement benchmark on each database and print the table."""
    args = parse_args(argv)
    harness.stop_on_sigterm()
    print(f"statements benchmark on {harness.machine_summary()}")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    figures = [
        measure(backend, args.statements, args.postgres_url, args.profile)
        for backend in args.database
    ]
    report(figures)
    return figures


def measure(
    backend: str, statements: int, postgres_url: str, profile_dir: str | None
) -> StatementFigures:
    """Build and close the month, then time the three measurements."""
    from klusbank.timeutil import Period

    period = Period.parse(PERIOD)
    label = f"statements_{backend[:2]}"
    with harness.bench_database(backend, label, postgres_url) as database:
        config = harness.bench_config(database)
        harness.migrate(config)
        with harness.app_context(config) as app:
            first, second, long_month = _build_month(app, statements, period)
            production, bare, production_cpu, bare_cpu = _production_and_bare(
                first.corporation_id, first.tenant_ids, period, profile_dir, label
            )
            one_worker = _render_month(first.corporation_id, period, workers=1)
            workers = os.cpu_count() or 1
            all_cores = _render_month(second.corporation_id, period, workers=workers)
        long_run = _long_month_in_child(
            config, long_month.corporation_id, long_month.tenant_ids[0]
        )
    figures = StatementFigures(
        backend=backend,
        statements=statements,
        production_seconds=production,
        bare_seconds=bare,
        production_cpu_seconds=production_cpu,
        bare_cpu_seconds=bare_cpu,
        one_worker=one_worker,
        all_cores=all_cores,
        workers=workers,
        long_seconds=long_run["seconds"],
        long_peak_mib=long_run["peak_mib"],
        long_growth_mib=long_run["growth_mib"],
        long_pages=long_run["pages"],
    )
    print(
        f"  {backend}: production {production:.1f} s, bare {bare:.1f} s, "
        f"render_month 1 worker {one_worker.seconds:.1f} s, {workers} workers "
        f"{all_cores.seconds:.1f} s, 400 chores {figures.long_seconds:.1f} s",
        flush=True,
    )
    return figures


def _build_month(app, statements: int, period):
    """Create three corporations, their month of chores, and close that month."""
    from klusbank.extensions import db
    from rewards.jobs import run_close

    populations = []
    for code, tenants, chores in (
        ("stmta", statements, CHORES_PER_TENANT),
        ("stmtb", statements, CHORES_PER_TENANT),
        ("stmtlong", 1, LONG_MONTH_CHORES),
    ):
        population = data.create_population(code, tenants, clusters=5)
        works = data.spread_work(population, tenants * chores, period)
        data.add_approved_work(population, works)
        populations.append(population)
    data.refresh_statistics()
    db.session.remove()
    for population in populations:
        run_close(app, population.corporation_id, period, trigger="benchmark")
    return populations


def _production_and_bare(
    corporation_id: int,
    tenant_ids: list[int],
    period,
    profile_dir: str | None,
    label: str,
) -> tuple[float, float, float, float]:
    """Return wall and CPU seconds of the production path and of bare WeasyPrint."""
    from flask import render_template
    from flask_babel import force_locale
    from weasyprint import HTML

    from klusbank import paths
    from klusbank.extensions import db
    from rewards.statements.data import build_statement
    from rewards.statements.pdf import STATEMENT_TEMPLATE, render_statement

    # Bare WeasyPrint reads the stylesheet straight from disk with its own
    # fetcher; the template's relative URL resolves against the project root.
    base_url = paths.PROJECT_ROOT.resolve().as_uri() + "/"
    production = bare = production_cpu = bare_cpu = 0.0
    profiler = harness.start_profiler(profile_dir)
    for tenant_id in tenant_ids:
        cpu = harness.CpuMeter(harness.backend_pid())
        with harness.Stopwatch() as watch, cpu:
            document = build_statement(corporation_id, tenant_id, period)
            rendered = render_statement(document)
        production += watch.seconds
        production_cpu += cpu.seconds
        db.session.remove()

        with force_locale(document.locale):
            html = render_template(STATEMENT_TEMPLATE, document=document)
        cpu = harness.CpuMeter()
        with harness.Stopwatch() as watch, cpu:
            content = HTML(string=html, base_url=base_url).write_pdf()
        bare += watch.seconds
        bare_cpu += cpu.seconds
        if not content.startswith(b"%PDF") or not rendered.content.startswith(b"%PDF"):
            raise RuntimeError(f"statement of tenant {tenant_id} is not a PDF")
    harness.stop_profiler(profiler, profile_dir, f"{label}_production")
    return production, bare, production_cpu, bare_cpu


def _render_month(corporation_id: int, period, *, workers: int) -> MonthRun:
    """Render and store every statement of the month; return seconds and CPU."""
    from rewards.statements.rendering import render_month

    prefix = "klusbank-bench-statements-"
    # The pool has joined its workers when render_month returns, so their CPU
    # time is in RUSAGE_CHILDREN by then.
    children_before = _children_cpu_seconds()
    with (
        tempfile.TemporaryDirectory(prefix=prefix) as out,
        harness.Stopwatch() as watch,
        harness.CpuMeter() as parent_cpu,
    ):
        report = render_month(
            corporation_id, period, Path(out), workers=workers, progress=False
        )
    if report.reused:
        raise RuntimeError(f"{report.reused} statements were stored already")
    return MonthRun(
        seconds=watch.seconds,
        parent_cpu_seconds=parent_cpu.seconds,
        worker_cpu_seconds=_children_cpu_seconds() - children_before,
    )


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _long_month_in_child(
    config: dict[str, Any], corporation_id: int, tenant_id: int
) -> dict[str, Any]:
    """Build and render the 400-chore statement in a fresh process."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        outcome = pool.apply_async(
            long_month_child, (config, corporation_id, tenant_id)
        )
        return outcome.get(timeout=900)


def long_month_child(
    config: dict[str, Any], corporation_id: int, tenant_id: int
) -> dict[str, Any]:
    """Build and render one statement; return seconds, pages and peak RSS."""
    from pypdf import PdfReader

    from klusbank.timeutil import Period
    from rewards.statements.data import build_statement
    from rewards.statements.pdf import render_statement

    with harness.app_context(config):
        gc.collect()
        harness.reset_peak_rss()
        before, _ = harness.rss_kib()
        with harness.Stopwatch() as watch:
            document = build_statement(corporation_id, tenant_id, Period.parse(PERIOD))
            rendered = render_statement(document)
        _, peak = harness.rss_kib()
    with tempfile.TemporaryFile() as pdf:
        pdf.write(rendered.content)
        pdf.seek(0)
        pages = len(PdfReader(pdf).pages)
    return {
        "seconds": watch.seconds,
        "peak_mib": peak / 1024,
        "growth_mib": (peak - before) / 1024,
        "pages": pages,
        "chores": len(document.chores),
    }


def report(figures: list[StatementFigures]) -> None:
    """Print the throughput, speed-up and long-month tables."""
    harness.print_table(
        "Statements: production path against bare WeasyPrint on the same HTML",
        [
            "database",
            "statements",
            "production/s",
            "bare WeasyPrint/s",
            "ratio",
            f"target {TARGET_RATIO}",
            "by CPU time",
        ],
        [
            [
                item.backend,
                item.statements,
                item.production_rate,
                item.bare_rate,
                f"{item.ratio:.2f}x",
                harness.verdict(item.ratio >= TARGET_RATIO),
                f"{item.cpu_ratio:.2f}x",
            ]
            for item in figures
        ],
    )
    harness.print_table(
        "Statements: render_month on one worker against all cores",
        [
            "database",
            "statements",
            "1 worker s",
            "workers",
            "all cores s",
            "speed-up",
            f"target {TARGET_SPEED_UP}x",
            "1 worker CPU s",
            "all cores CPU s (parent + workers)",
            "by CPU time",
        ],
        [
            [
                item.backend,
                item.statements,
                item.one_worker.seconds,
                item.workers,
                item.all_cores.seconds,
                f"{item.speed_up:.2f}x",
                harness.verdict(item.speed_up >= TARGET_SPEED_UP),
                item.one_worker.cpu_seconds,
                f"{item.all_cores.cpu_seconds:.1f} "
                f"({item.all_cores.parent_cpu_seconds:.1f} + "
                f"{item.all_cores.worker_cpu_seconds:.1f})",
                f"{item.cpu_speed_up:.2f}x",
            ]
            for item in figures
        ],
    )
    harness.print_table(
        f"Statements: one tenant with {LONG_MONTH_CHORES} chores in a month",
        [
            "database",
            "pages",
            "seconds",
            "peak RSS MiB",
            "RSS growth MiB",
            f"target < {TARGET_LONG_SECONDS} s, < {TARGET_LONG_MIB} MiB",
        ],
        [
            [
                item.backend,
                item.long_pages,
                item.long_seconds,
                item.long_peak_mib,
                item.long_growth_mib,
                harness.verdict(
                    item.long_seconds < TARGET_LONG_SECONDS
                    and item.long_peak_mib < TARGET_LONG_MIB
                ),
            ]
            for item in figures
        ],
    )


if __name__ == "__main__":
    main()
