"""Time the monthly close against a bare insert of the same ledger rows.

For each database and each tenant count N, the script builds a corporation
with N tenants and a fixed number of approved chores in one month (bulk, see
``benchmarks.data``), then:

- baseline: inserts the month's approval journals and postings once more, with
  a bare DBAPI ``executemany`` into scratch tables of the same columns and
  indexes but without triggers or foreign keys;
- close: runs ``rewards.jobs.run_close`` (prepare the accounts, then
  ``close_period``) in a fresh process, timing it and recording how far the
  process's peak RSS rose above its RSS before the close.

Both throughputs count the same rows: the month's approval journals plus
their postings. The close should reach half the baseline's rows per second,
and its peak memory should not grow with N.

    python -m benchmarks.bench_close --database both --approvals 100000 \\
        --tenants 1000 10000
"""

import argparse
import gc
import multiprocessing
import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Index,
    MetaData,
    Table,
    func,
    select,
)

from benchmarks import data, harness

PERIOD = "2026-11"
# Memory counts as flat when the largest N's peak growth is at most this many
# times the smallest N's, plus a fixed allowance for allocator noise.
FLAT_MEMORY_FACTOR = 1.5
FLAT_MEMORY_ALLOWANCE_MIB = 16
BASELINE_TABLES = ("bench_baseline_journals", "bench_baseline_postings")


@dataclass
class CloseFigures:
    """The measurements of one database and tenant count."""

    backend: str
    tenants: int
    approvals: int
    ledger_rows: int
    generate_seconds: float
    baseline_seconds: float
    baseline_cpu_seconds: float
    close_seconds: float
    close_cpu_seconds: float
    prepare_seconds: float
    peak_growth_mib: float
    tenants_settled: int

    @property
    def baseline_rate(self) -> float:
        return self.ledger_rows / self.baseline_seconds

    @property
    def close_rate(self) -> float:
        return self.ledger_rows / self.close_seconds

    @property
    def ratio(self) -> float:
        return self.close_rate / self.baseline_rate

    @property
    def cpu_ratio(self) -> float:
        """Close against baseline in rows per CPU second (Python + PostgreSQL)."""
        return self.baseline_cpu_seconds / self.close_cpu_seconds


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    harness.add_database_options(parser)
    parser.add_argument(
        "--approvals",
        type=int,
        default=100_000,
        help="Approved chores in the month (default: 100000).",
    )
    parser.add_argument(
        "--tenants",
        type=int,
        nargs="+",
        default=[1_000, 10_000],
        help="Tenant counts to compare, e.g. 1000 10000 (default).",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="Small run: 10000 approvals over 100 and 1000 tenants.",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="Write a pyinstrument profile of each close into this folder.",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.approvals, args.tenants = 10_000, [100, 1_000]
    return args


def main(argv: list[str] | None = None) -> list[CloseFigures]:
    """Run the close benchmark and print its table."""
    args = parse_args(argv)
    harness.stop_on_sigterm()
    print(f"close benchmark on {harness.machine_summary()}")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    figures = []
    for backend in args.database:
        for tenants in sorted(args.tenants):
            figures.append(
                measure(
                    backend,
                    tenants,
                    args.approvals,
                    postgres_url=args.postgres_url,
                    profile_dir=args.profile,
                )
            )
    report(figures)
    return figures


def measure(
    backend: str,
    tenants: int,
    approvals: int,
    *,
    postgres_url: str,
    profile_dir: str | None = None,
) -> CloseFigures:
    """Build one corporation, time the baseline insert and the close."""
    label = f"close_{backend[:2]}_{tenants}"
    with harness.bench_database(backend, label, postgres_url) as database:
        config = harness.bench_config(database)
        harness.migrate(config)
        with harness.app_context(config):
            corporation_id, generate_seconds = _generate(tenants, approvals)
            journals, postings = _month_rows(corporation_id)
            baseline_seconds, baseline_cpu = _bare_insert(journals, postings)
        ledger_rows = len(journals) + len(postings)
        del journals, postings
        child = _close_in_child(config, corporation_id, profile_dir, label)
    figures = CloseFigures(
        backend=backend,
        tenants=tenants,
        approvals=approvals,
        ledger_rows=ledger_rows,
        generate_seconds=generate_seconds,
        baseline_seconds=baseline_seconds,
        baseline_cpu_seconds=baseline_cpu,
        close_seconds=child["close_seconds"],
        close_cpu_seconds=child["close_cpu_seconds"],
        prepare_seconds=child["prepare_seconds"],
        peak_growth_mib=child["peak_growth_mib"],
        tenants_settled=child["tenants_settled"],
    )
    print(
        f"  {backend} N={tenants}: generated in {generate_seconds:.1f} s, "
        f"baseline {baseline_seconds:.1f} s, close {figures.close_seconds:.1f} s "
        f"(of which prepare {figures.prepare_seconds:.1f} s), "
        f"{figures.tenants_settled} tenants settled, "
        f"ratio {figures.ratio:.3f}x, by CPU {figures.cpu_ratio:.3f}x, "
        f"peak RSS growth {figures.peak_growth_mib:.1f} MiB",
        flush=True,
    )
    return figures


def _generate(tenants: int, approvals: int) -> tuple[int, float]:
    from klusbank.timeutil import Period

    with harness.Stopwatch() as watch:
        population = data.create_population("close", tenants, clusters=50)
        works = data.spread_work(population, approvals, Period.parse(PERIOD))
        data.add_approved_work(population, works)
        data.refresh_statistics()
    return population.corporation_id, watch.seconds


def _month_rows(corporation_id: int) -> tuple[list[tuple], list[tuple]]:
    """Read the month's approval journals and postings as plain DBAPI tuples."""
    from klusbank.extensions import db
    from rewards.ledger.models import Journal, Posting

    journal_columns = [column.name for column in Journal.__table__.columns]
    posting_columns = [column.name for column in Posting.__table__.columns]
    connection = db.session.connection()
    journals = connection.exec_driver_sql(
        f"SELECT {', '.join(journal_columns)} FROM ledger_journals"
        f" WHERE corporation_id = {int(corporation_id)} AND period = '{PERIOD}'"
        " AND kind = 'approval' ORDER BY id"
    ).all()
    postings = connection.exec_driver_sql(
        f"SELECT {', '.join('p.' + name for name in posting_columns)}"
        " FROM ledger_postings AS p JOIN ledger_journals AS j ON j.id = p.journal_id"
        f" WHERE j.corporation_id = {int(corporation_id)} AND j.period = '{PERIOD}'"
        " AND j.kind = 'approval' ORDER BY p.id"
    ).all()
    db.session.rollback()
    return [tuple(row) for row in journals], [tuple(row) for row in postings]


def baseline_tables() -> tuple[Table, Table]:
    """Return scratch copies of the journal and posting tables: columns and indexes.

    They have the primary keys and the same secondary indexes as the ledger
    tables, but no triggers, checks or foreign keys, so inserting into them
    measures what the database needs to store the rows and nothing else.
    """
    from rewards.ledger.models import Journal, Posting

    metadata = MetaData()
    journals = Table(
        BASELINE_TABLES[0],
        metadata,
        *(_bare_column(column) for column in Journal.__table__.columns),
    )
    Index(
        "bench_baseline_journals_key",
        journals.c.corporation_id,
        journals.c.idempotency_key,
        unique=True,
    )
    Index(
        "bench_baseline_journals_period", journals.c.corporation_id, journals.c.period
    )
    postings = Table(
        BASELINE_TABLES[1],
        metadata,
        *(_bare_column(column) for column in Posting.__table__.columns),
    )
    Index("bench_baseline_postings_journal", postings.c.journal_id)
    Index("bench_baseline_postings_account", postings.c.account_id)
    return journals, postings


def _bare_column(column: Column) -> Column:
    return Column(
        column.name,
        column.type,
        primary_key=column.primary_key,
        nullable=column.nullable,
        autoincrement=False,
    )


def _bare_insert(journals: list[tuple], postings: list[tuple]) -> tuple[float, float]:
    """Insert the rows with a bare DBAPI executemany; return wall and CPU seconds."""
    from klusbank.extensions import db

    journal_table, posting_table = baseline_tables()
    connection = db.session.connection()
    # The scratch tables are outside the migrated schema on purpose: they exist
    # only in this throwaway database, as the baseline's target.
    journal_table.metadata.create_all(connection)
    db.session.commit()

    raw = db.session.connection().connection.driver_connection
    marker = "%s" if db.engine.dialect.name == "postgresql" else "?"
    cursor = raw.cursor()
    cpu = harness.CpuMeter(harness.backend_pid())
    with harness.Stopwatch() as watch, cpu:
        for table, rows in ((journal_table, journals), (posting_table, postings)):
            columns = [column.name for column in table.columns]
            cursor.executemany(
                f"INSERT INTO {table.name} ({', '.join(columns)})"
                f" VALUES ({', '.join(marker for _ in columns)})",
                rows,
            )
        db.session.commit()
    cursor.close()
    inserted = db.session.scalar(select(func.count()).select_from(posting_table))
    db.session.rollback()
    if inserted != len(postings):
        raise RuntimeError(f"baseline inserted {inserted} postings of {len(postings)}")
    return watch.seconds, cpu.seconds


def _close_in_child(
    config: dict[str, Any], corporation_id: int, profile_dir: str | None, label: str
) -> dict[str, Any]:
    """Run the close in a fresh process, so its peak memory is its own."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=close_child,
        args=(config, corporation_id, profile_dir, label, sender),
    )
    process.start()
    sender.close()
    try:
        # The close of 100,000 approvals takes minutes on a loaded 2-core
        # machine; an hour means something is stuck.
        if not receiver.poll(3600):
            raise TimeoutError(f"close of {label} did not finish within an hour")
        outcome = receiver.recv()
    finally:
        process.join(timeout=60)
        if process.is_alive():
            process.terminate()
            process.join()
    if "error" in outcome:
        raise RuntimeError(f"close of {label} failed: {outcome['error']}")
    return outcome


def close_child(
    config: dict[str, Any],
    corporation_id: int,
    profile_dir: str | None,
    label: str,
    sender: Any,
) -> None:
    """Prepare and close the month in this process; send the timings back."""
    try:
        sender.send(_timed_close(config, corporation_id, profile_dir, label))
    except Exception as error:  # noqa: BLE001 - the parent raises it again
        sender.send({"error": repr(error)})
    finally:
        sender.close()


def _timed_close(
    config: dict[str, Any], corporation_id: int, profile_dir: str | None, label: str
) -> dict[str, Any]:
    from klusbank.extensions import db
    from klusbank.scheduler import run_in_app_context
    from klusbank.timeutil import Period
    from rewards.jobs import close_period, prepare_close

    period = Period.parse(PERIOD)
    with harness.app_context(config) as app:
        # The pool hands the close this same connection, so its server process
        # is the one whose CPU time is counted.
        cpu = harness.CpuMeter(harness.backend_pid())
        db.session.remove()
        profiler = harness.start_profiler(profile_dir)
        gc.collect()
        harness.reset_peak_rss()
        rss_before, _ = harness.rss_kib()
        with harness.Stopwatch() as total, cpu:
            with harness.Stopwatch() as prepare:
                run_in_app_context(app, prepare_close, corporation_id, period)
            result = run_in_app_context(app, close_period, corporation_id, period)
        _, peak = harness.rss_kib()
        harness.stop_profiler(profiler, profile_dir, label)
        db.session.remove()
    if result.already_closed:
        raise RuntimeError(f"{PERIOD} of corporation {corporation_id} was closed")
    return {
        "close_seconds": total.seconds,
        "close_cpu_seconds": cpu.seconds,
        "prepare_seconds": prepare.seconds,
        "peak_growth_mib": (peak - rss_before) / 1024,
        "tenants_settled": result.tenants_settled,
    }


def report(figures: list[CloseFigures]) -> None:
    """Print the throughput table and the memory verdict per database."""
    harness.print_table(
        "Close throughput (rows = approval journals + postings of the month)",
        [
            "database",
            "tenants",
            "approvals",
            "rows",
            "baseline rows/s",
            "close s",
            "close rows/s",
            "close/baseline",
            "target 0.5",
            "by CPU time",
            "peak RSS growth MiB",
        ],
        [
            [
                item.backend,
                item.tenants,
                item.approvals,
                item.ledger_rows,
                item.baseline_rate,
                item.close_seconds,
                item.close_rate,
                f"{item.ratio:.3f}x",
                harness.verdict(item.ratio >= 0.5),
                f"{item.cpu_ratio:.3f}x",
                item.peak_growth_mib,
            ]
            for item in figures
        ],
    )
    print_cpu_note()
    for backend in sorted({item.backend for item in figures}):
        runs = sorted(
            (item for item in figures if item.backend == backend),
            key=lambda item: item.tenants,
        )
        if len(runs) < 2:
            continue
        small, large = runs[0], runs[-1]
        print(
            f"{backend}: peak RSS growth {small.peak_growth_mib:.1f} MiB at "
            f"N={small.tenants}, {large.peak_growth_mib:.1f} MiB at N={large.tenants} "
            f"(flat means <= {flat_limit_mib(small):.1f} MiB): "
            f"{harness.verdict(is_flat(small, large))}"
        )


def print_cpu_note() -> None:
    """Explain the CPU-time column."""
    print(
        "by CPU time: the same ratio from CPU seconds of the Python process and its "
        "PostgreSQL server process, which waiting for a busy machine does not inflate."
    )


def flat_limit_mib(small: CloseFigures) -> float:
    """Return the largest peak growth that still counts as flat against ``small``."""
    return small.peak_growth_mib * FLAT_MEMORY_FACTOR + FLAT_MEMORY_ALLOWANCE_MIB


def is_flat(small: CloseFigures, large: CloseFigures) -> bool:
    """Tell whether the close's peak memory stayed flat from the smaller N to the larger."""
    return large.peak_growth_mib <= flat_limit_mib(small)


if __name__ == "__main__":
    main()
