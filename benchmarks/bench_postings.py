"""Time concurrent approval credits on PostgreSQL, all touching one corporation account.

Worker processes (8 by default), each with its own app and connection, post
``rewards.ledger.services.credit_approved_work`` over 1,000 tenant accounts,
one journal per transaction, as the approval of a claim does. Every journal
debits the corporation's single POINTS_ISSUED account: the hot account.

The ledger has exactly one counter-account per corporation and kind (a unique
index), so one corporation's hot account cannot be spread over several rows.
Its design avoids the contention instead: counter-accounts carry no cached
balance, so a posting only inserts rows and never updates the hot account's
row. The control run checks that claim: the same workers and postings, but
each worker posts into a corporation of its own, so no account is shared.

Each run also reports the CPU time per journal of the workers and of their
PostgreSQL server processes, the statements sent per journal, and the load
average at its end. Other processes on a shared machine slow both the rate
and the CPU figures, so the load belongs with them.

    python -m benchmarks.bench_postings --workers 8 --postings 1000
"""

import argparse
import multiprocessing
import os
import time
from dataclasses import dataclass
from typing import Any

from benchmarks import data, harness

TARGET_JOURNALS_PER_SECOND = 1_000
POINTS = 10
# Workers wait at most this long for each other before the timed part.
START_TIMEOUT_SECONDS = 300
RUN_TIMEOUT_SECONDS = 1_800


@dataclass
class PostingRun:
    """The outcome of one concurrent run."""

    name: str
    journals: int
    seconds: float
    latencies: list[float]
    client_cpu_seconds: float
    server_cpu_seconds: float
    # Statements sent through SQLAlchemy; BEGIN, COMMIT and the pool's
    # pre-ping check are not counted.
    statements: int
    load_average: float

    @property
    def rate(self) -> float:
        return self.journals / self.seconds

    @property
    def cpu_ms_per_journal(self) -> tuple[float, float]:
        """CPU time per journal of the workers and of their PostgreSQL backends."""
        return (
            self.client_cpu_seconds / self.journals * 1000,
            self.server_cpu_seconds / self.journals * 1000,
        )

    @property
    def statements_per_journal(self) -> float:
        return self.statements / self.journals

    @property
    def cpu_bound_rate(self) -> float:
        """Journals per second if every core did nothing but this work."""
        client, server = self.cpu_ms_per_journal
        return (os.cpu_count() or 1) * 1000 / (client + server)

    def latency_ms(self, fraction: float) -> float:
        return harness.percentile(self.latencies, fraction) * 1000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--workers", type=int, default=8, help="Worker processes (default: 8)."
    )
    parser.add_argument(
        "--postings",
        type=int,
        default=1_000,
        help="Journals each worker posts (default: 1000).",
    )
    parser.add_argument(
        "--tenants",
        type=int,
        default=1_000,
        help="Tenant accounts the journals are spread over (default: 1000).",
    )
    parser.add_argument(
        "--postgres-url",
        default=harness.DEFAULT_POSTGRES_URL,
        help="Server database used to create and drop the kbbench_* databases.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="Small run: 200 journals per worker."
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="Write a pyinstrument profile of worker 0 of each run into this folder.",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.postings = 200
    return args


def main(argv: list[str] | None = None) -> list[PostingRun]:
    """Run the hot-account run and the control run, then print the table."""
    args = parse_args(argv)
    harness.stop_on_sigterm()
    print(f"postings benchmark on {harness.machine_summary()}")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    runs = [
        measure("hot account: 1 corporation", args, corporations=1),
        measure(
            f"control: {args.workers} corporations, no shared account",
            args,
            corporations=args.workers,
        ),
    ]
    report(runs)
    return runs


def measure(name: str, args: argparse.Namespace, *, corporations: int) -> PostingRun:
    """Build the accounts in a fresh database and time the workers posting into it."""
    label = f"postings_{corporations}"
    with harness.bench_database("postgresql", label, args.postgres_url) as database:
        config = harness.bench_config(database)
        harness.migrate(config)
        plans = _plan(config, args, corporations)
        run = _run_workers(name, config, plans, args.profile, label)
    print(
        f"  {name}: {run.journals} journals in {run.seconds:.1f} s",
        flush=True,
    )
    return run


def _plan(
    config: dict[str, Any], args: argparse.Namespace, corporations: int
) -> list[dict[str, Any]]:
    """Create the corporations, tenants and accounts; return each worker's postings."""

    tenants_each = args.tenants // corporations
    with harness.app_context(config):
        populations = []
        for number in range(corporations):
            population = data.create_population(
                f"post{number}", tenants_each, clusters=5
            )
            data.ensure_points_accounts(
                population.corporation_id, set(population.tenant_ids)
            )
            populations.append(population)
        data.refresh_statistics()

    plans = []
    for worker in range(args.workers):
        population = populations[worker % corporations]
        tenants = population.tenant_ids
        plans.append(
            {
                "corporation_id": population.corporation_id,
                # Workers start at different tenants and step through all of
                # them, so two workers rarely credit one tenant at once.
                "tenant_ids": [
                    tenants[(worker + step * args.workers) % len(tenants)]
                    for step in range(args.postings)
                ],
                "first_approval_id": (worker + 1) * 1_000_000,
            }
        )
    return plans


def _run_workers(
    name: str,
    config: dict[str, Any],
    plans: list[dict[str, Any]],
    profile_dir: str | None,
    label: str,
) -> PostingRun:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(plans))
    results = context.Queue()
    processes = [
        context.Process(
            target=posting_worker,
            args=(
                config,
                plan,
                barrier,
                results,
                profile_dir if number == 0 else None,
                label,
            ),
        )
        for number, plan in enumerate(plans)
    ]
    for process in processes:
        process.start()
    outcomes = []
    try:
        for _ in processes:
            outcomes.append(results.get(timeout=RUN_TIMEOUT_SECONDS))
    finally:
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.terminate()
                process.join()
    errors = [outcome["error"] for outcome in outcomes if "error" in outcome]
    if errors:
        raise RuntimeError(f"{name}: {len(errors)} workers failed: {errors[0]}")
    started = min(outcome["started"] for outcome in outcomes)
    finished = max(outcome["finished"] for outcome in outcomes)
    latencies = [value for outcome in outcomes for value in outcome["latencies"]]
    return PostingRun(
        name,
        len(latencies),
        finished - started,
        latencies,
        client_cpu_seconds=sum(outcome["client_cpu"] for outcome in outcomes),
        server_cpu_seconds=sum(outcome["server_cpu"] for outcome in outcomes),
        statements=sum(outcome["statements"] for outcome in outcomes),
        # The 1-minute load average at the end, which includes other processes.
        load_average=os.getloadavg()[0],
    )


def posting_worker(
    config: dict[str, Any],
    plan: dict[str, Any],
    barrier: Any,
    results: Any,
    profile_dir: str | None,
    label: str,
) -> None:
    """Post this worker's journals, one transaction each, and report the latencies."""
    try:
        results.put(_post_all(config, plan, barrier, profile_dir, label))
    except Exception as error:  # noqa: BLE001 - the parent raises it again
        barrier.abort()
        results.put({"error": repr(error)})


def _post_all(
    config: dict[str, Any],
    plan: dict[str, Any],
    barrier: Any,
    profile_dir: str | None,
    label: str,
) -> dict[str, Any]:
    from sqlalchemy import event, text

    from klusbank.db import utcnow
    from klusbank.extensions import db
    from rewards.ledger import services as ledger

    corporation_id = plan["corporation_id"]
    with harness.app_context(config):
        # Open the connection before the clock starts.
        backend_pid = db.session.scalar(text("SELECT pg_backend_pid()"))
        db.session.rollback()
        statements = 0

        def count_statement(*_arguments: Any) -> None:
            nonlocal statements
            statements += 1

        event.listen(db.engine, "before_cursor_execute", count_statement)
        profiler = harness.start_profiler(profile_dir)
        barrier.wait(timeout=START_TIMEOUT_SECONDS)
        latencies = []
        client_cpu = harness.process_cpu_seconds()
        server_cpu = harness.process_cpu_seconds(backend_pid)
        started = time.monotonic()
        for step, tenant_id in enumerate(plan["tenant_ids"]):
            approval_id = plan["first_approval_id"] + step
            begin = time.perf_counter()
            ledger.credit_approved_work(
                corporation_id,
                tenant_id,
                POINTS,
                approval_id=approval_id,
                approved_at=utcnow(),
                memo=f"Trappenhuis vegen (benchmark approval {approval_id})",
            )
            db.session.commit()
            latencies.append(time.perf_counter() - begin)
        finished = time.monotonic()
        client_cpu = harness.process_cpu_seconds() - client_cpu
        server_cpu = harness.process_cpu_seconds(backend_pid) - server_cpu
        harness.stop_profiler(profiler, profile_dir, f"{label}_worker0")
        event.remove(db.engine, "before_cursor_execute", count_statement)
    return {
        "started": started,
        "finished": finished,
        "latencies": latencies,
        "client_cpu": client_cpu,
        "server_cpu": server_cpu,
        "statements": statements,
    }


def report(runs: list[PostingRun]) -> None:
    """Print journals per second and latency percentiles of each run."""
    hot = runs[0]
    harness.print_table(
        "Concurrent approval credits on PostgreSQL (one transaction per journal)",
        [
            "run",
            "journals",
            "seconds",
            "journals/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "vs hot account",
            "CPU ms/journal (Python + PostgreSQL)",
            "CPU-bound journals/s",
            "statements/journal",
            "load after",
        ],
        [
            [
                run.name,
                run.journals,
                run.seconds,
                run.rate,
                run.latency_ms(0.50),
                run.latency_ms(0.95),
                run.latency_ms(0.99),
                f"{run.rate / hot.rate:.2f}x",
                "{:.2f} + {:.2f}".format(*run.cpu_ms_per_journal),
                run.cpu_bound_rate,
                f"{run.statements_per_journal:.1f}",
                f"{run.load_average:.1f}",
            ]
            for run in runs
        ],
    )
    met = hot.rate >= TARGET_JOURNALS_PER_SECOND
    print(
        f"target >= {TARGET_JOURNALS_PER_SECOND} journals/s with the hot account: "
        f"{hot.rate:.0f} journals/s, {harness.verdict(met)}"
    )
    print(
        "CPU-bound journals/s = cores / CPU time per journal: the rate this work "
        "would reach on an otherwise idle machine with no waiting."
    )
    print(
        "The ledger allows one counter-account per corporation and kind, so the "
        "hot account cannot be spread; the control run shows what sharing it costs."
    )


if __name__ == "__main__":
    main()
