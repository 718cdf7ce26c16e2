"""Run the four benchmarks and print a summary of their ratios and targets.

``make bench`` runs this module. The default sizes finish in minutes on a
2-core machine, and ``--quick`` is a smoke run. ``--full`` uses each script's
own defaults: 100,000 approvals over 1,000 and 10,000 tenants, 8 x 1,000
postings, 200 statements on both databases and 10 s per page. On a 2-core
machine that takes hours. Every benchmark creates and drops its own kbbench_*
databases, so PostgreSQL must be running on 127.0.0.1:5432.
"""

import argparse
import os
import time

from benchmarks import (
    bench_close,
    bench_portal,
    bench_postings,
    bench_statements,
    harness,
)

SIZES = {
    "quick": {
        "close": ["--database", "postgresql", "--approvals", "2000"]
        + ["--tenants", "20", "200"],
        "postings": ["--postings", "50"],
        "statements": ["--database", "postgresql", "--statements", "8"],
        "portal": ["--chores", "2000", "--duration", "3"],
    },
    "standard": {
        "close": ["--database", "both", "--approvals", "10000"]
        + ["--tenants", "100", "1000"],
        "postings": ["--postings", "200"],
        "statements": ["--database", "postgresql", "--statements", "30"],
        "portal": ["--duration", "10"],
    },
    "full": {"close": [], "postings": [], "statements": [], "portal": []},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument(
        "--quick", action="store_true", help="Smoke run with tiny sizes."
    )
    sizes.add_argument(
        "--full", action="store_true", help="The sizes of docs/benchmarks.md."
    )
    parser.add_argument(
        "--only",
        nargs="+",
        choices=("close", "postings", "statements", "portal"),
        help="Run only these benchmarks.",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmarks in turn and print the summary table."""
    args = parse_args(argv)
    size = "standard"
    if args.quick:
        size = "quick"
    elif args.full:
        size = "full"
    chosen = args.only or ["close", "postings", "statements", "portal"]
    print(f"Klusbank benchmarks ({size} sizes) on {harness.machine_summary()}")
    print(f"load average: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
    started = time.monotonic()
    rows = []
    for name in chosen:
        print(f"\n=== {name} ===", flush=True)
        rows += RUNNERS[name](SIZES[size][name])
    harness.print_table(
        "Summary", ["benchmark", "figure", "measured", "target", "verdict"], rows
    )
    print(f"all benchmarks took {time.monotonic() - started:.0f} s")


def _close(argv: list[str]) -> list[list]:
    figures = bench_close.main(argv)
    rows = [
        [
            f"close {item.backend} N={item.tenants}",
            "close/baseline rows/s",
            f"{item.ratio:.3f}x",
            ">= 0.5x",
            harness.verdict(item.ratio >= 0.5),
        ]
        for item in figures
    ]
    for backend in sorted({item.backend for item in figures}):
        runs = sorted(
            (item for item in figures if item.backend == backend),
            key=lambda item: item.tenants,
        )
        if len(runs) >= 2:
            small, large = runs[0], runs[-1]
            rows.append(
                [
                    f"close {backend}",
                    f"peak RSS growth N={small.tenants} -> {large.tenants}",
                    f"{small.peak_growth_mib:.0f} -> {large.peak_growth_mib:.0f} MiB",
                    "flat",
                    harness.verdict(bench_close.is_flat(small, large)),
                ]
            )
    return rows


def _postings(argv: list[str]) -> list[list]:
    hot = bench_postings.main(argv)[0]
    return [
        [
            "postings",
            "journals/s, hot account",
            f"{hot.rate:.0f}",
            f">= {bench_postings.TARGET_JOURNALS_PER_SECOND}",
            harness.verdict(hot.rate >= bench_postings.TARGET_JOURNALS_PER_SECOND),
        ]
    ]


def _statements(argv: list[str]) -> list[list]:
    rows = []
    for item in bench_statements.main(argv):
        long_met = (
            item.long_seconds < bench_statements.TARGET_LONG_SECONDS
            and item.long_peak_mib < bench_statements.TARGET_LONG_MIB
        )
        rows += [
            [
                f"statements {item.backend}",
                "production/bare WeasyPrint",
                f"{item.ratio:.2f}x",
                f">= {bench_statements.TARGET_RATIO}x",
                harness.verdict(item.ratio >= bench_statements.TARGET_RATIO),
            ],
            [
                f"statements {item.backend}",
                f"speed-up 1 -> {item.workers} workers",
                f"{item.speed_up:.2f}x",
                f">= {bench_statements.TARGET_SPEED_UP}x",
                harness.verdict(item.speed_up >= bench_statements.TARGET_SPEED_UP),
            ],
            [
                f"statements {item.backend}",
                "400 chores: seconds, peak RSS",
                f"{item.long_seconds:.1f} s, {item.long_peak_mib:.0f} MiB",
                "< 60 s, < 1024 MiB",
                harness.verdict(long_met),
            ],
        ]
    return rows


def _portal(argv: list[str]) -> list[list]:
    return [
        [
            "portal",
            f"p95 {result.page}",
            f"{result.p95_ms:.0f} ms",
            f"< {bench_portal.TARGET_P95_MS} ms",
            harness.verdict(result.p95_ms < bench_portal.TARGET_P95_MS),
        ]
        for result in bench_portal.main(argv)
    ]


RUNNERS = {
    "close": _close,
    "postings": _postings,
    "statements": _statements,
    "portal": _portal,
}


if __name__ == "__main__":
    main()
