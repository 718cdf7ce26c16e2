"""Shared plumbing of the benchmarks: databases, apps, timing, memory and tables.

Every benchmark works on databases it creates itself: a temporary SQLite file,
or a PostgreSQL database named ``kbbench_*`` on the local server, migrated with
Alembic exactly as the tests do and dropped afterwards.
"""

import argparse
import os
import platform
import re
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

BACKENDS = ("sqlite", "postgresql")
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DATABASE_PREFIX = "kbbench_"


@dataclass(frozen=True)
class BenchDatabase:
    """A database created for one benchmark run, with a folder for its app."""

    backend: str
    url: str
    instance_dir: Path


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so cleanup blocks drop the kbbench_* databases."""

    def _exit(signum: int, frame: object) -> None:
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, _exit)


def backend_choices(value: str) -> tuple[str, ...]:
    """Parse ``--database``: sqlite, postgresql or both."""
    if value == "both":
        return BACKENDS
    if value in BACKENDS:
        return (value,)
    raise argparse.ArgumentTypeError(
        f"invalid database {value!r}; use sqlite, postgresql or both"
    )


def add_database_options(
    parser: argparse.ArgumentParser, *, default: str = "both"
) -> None:
    """Add ``--database`` and ``--postgres-url`` to a benchmark's arguments."""
    parser.add_argument(
        "--database",
        type=backend_choices,
        default=backend_choices(default),
        help=f"Database to run on: sqlite, postgresql or both (default: {default}).",
    )
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="Server database used to create and drop the kbbench_* databases.",
    )


@contextmanager
def bench_database(
    backend: str, label: str, postgres_url: str = DEFAULT_POSTGRES_URL
) -> Iterator[BenchDatabase]:
    """Create an empty database, yield it, and drop it afterwards, also on errors."""
    if not re.fullmatch(r"[a-z0-9_]+", label):
        raise ValueError(f"invalid database label {label!r}; use a-z, 0-9 and _")
    workdir = Path(tempfile.mkdtemp(prefix=f"klusbank-bench-{label}-"))
    name = f"{DATABASE_PREFIX}{label}_{os.getpid()}"
    try:
        if backend == "sqlite":
            url = f"sqlite:///{workdir / (name + '.sqlite')}"
        else:
            _admin_execute(postgres_url, f'DROP DATABASE IF EXISTS "{name}"')
            _admin_execute(postgres_url, f'CREATE DATABASE "{name}"')
            url = make_url(postgres_url).set(database=name)
            url = url.render_as_string(hide_password=False)
        yield BenchDatabase(backend, url, workdir)
    finally:
        if backend == "postgresql":
            _admin_execute(
                postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
            )
        shutil.rmtree(workdir, ignore_errors=True)


def _admin_execute(postgres_url: str, statement: str) -> None:
    url = make_url(postgres_url).set(drivername="postgresql")
    with psycopg.connect(
        url.render_as_string(hide_password=False), autocommit=True, connect_timeout=5
    ) as connection:
        connection.execute(statement)


def bench_config(database: BenchDatabase, **overrides: Any) -> dict[str, Any]:
    """Return the app configuration of a benchmark: production-like, quiet logs.

    Logging stays at WARNING because the ledger logs one INFO line per journal,
    which would time the log handler rather than the ledger.
    """
    config = {
        "ENV": "development",
        "SQLALCHEMY_DATABASE_URI": database.url,
        "INSTANCE_DIR": database.instance_dir,
        "UPLOAD_DIR": database.instance_dir / "uploads",
        "SECRET_KEY": "benchmark-only-secret-key-not-for-production",
        "LOG_LEVEL": "WARNING",
        "SERVER_NAME": "klusbank.bench",
    }
    config.update(overrides)
    return config


def migrate(config: dict[str, Any]) -> None:
    """Bring the database of a configuration to the latest migration."""
    from flask_migrate import upgrade

    from klusbank import create_app
    from klusbank.extensions import db

    app = create_app(config)
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()


@contextmanager
def app_context(config: dict[str, Any]) -> Iterator[Any]:
    """Create an app, push its context, and release its connections at the end."""
    from klusbank import create_app
    from klusbank.extensions import db

    app = create_app(config)
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


class Stopwatch:
    """Wall-clock time of a block, in seconds, from ``time.perf_counter``."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> "Stopwatch":
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.seconds = time.perf_counter() - self._started


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the nearest-rank percentile (fraction 0..1) of a list of values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def reset_peak_rss() -> bool:
    """Reset this process's peak RSS (VmHWM); return False where Linux cannot."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def rss_kib() -> tuple[int, int]:
    """Return this process's (current RSS, peak RSS since the last reset) in KiB."""
    status = Path("/proc/self/status").read_text()
    values = {}
    for key in ("VmRSS", "VmHWM"):
        match = re.search(rf"^{key}:\s+(\d+) kB", status, re.MULTILINE)
        values[key] = int(match.group(1)) if match else 0
    return values["VmRSS"], values["VmHWM"]


def start_profiler(profile_dir: str | None) -> Any:
    """Start a pyinstrument profiler when a profile folder is given."""
    if not profile_dir:
        return None
    from pyinstrument import Profiler

    profiler = Profiler()
    profiler.start()
    return profiler


def stop_profiler(profiler: Any, profile_dir: str | None, name: str) -> None:
    """Stop a profiler from ``start_profiler`` and write its text report."""
    if profiler is None or not profile_dir:
        return
    profiler.stop()
    path = Path(profile_dir) / f"{name}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(profiler.output_text(color=False), encoding="utf-8")
    print(f"  profile written to {path}", flush=True)


def process_cpu_seconds(pid: int | None = None) -> float:
    """Return the user + system CPU seconds a process has used (Linux /proc)."""
    stat = Path(f"/proc/{pid or 'self'}/stat").read_text()
    # Fields after the command name, which is in parentheses and may hold spaces.
    fields = stat.rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def backend_pid() -> int | None:
    """Return the PostgreSQL server process of the session's connection, if any."""
    from sqlalchemy import text

    from klusbank.extensions import db

    if db.session.get_bind().dialect.name != "postgresql":
        return None
    return db.session.scalar(text("SELECT pg_backend_pid()"))


class CpuMeter:
    """CPU seconds used in a block by this process and, if given, a server process."""

    def __init__(self, server_pid: int | None = None) -> None:
        self.server_pid = server_pid
        self.seconds = 0.0

    def _now(self) -> float:
        used = process_cpu_seconds()
        if self.server_pid is not None:
            used += process_cpu_seconds(self.server_pid)
        return used

    def __enter__(self) -> "CpuMeter":
        self._started = self._now()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.seconds = self._now() - self._started


def machine_summary() -> str:
    """Describe the machine: CPU model, core count, memory and Python version."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        match = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        if match:
            model = match.group(1).strip()
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        match = re.search(r"^MemTotal:\s+(\d+) kB", meminfo.read_text(), re.MULTILINE)
        if match:
            memory = f", {int(match.group(1)) / 1024 / 1024:.1f} GiB memory"
    return (
        f"{model}, {os.cpu_count()} cores{memory}, Python {platform.python_version()}"
    )


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]):
    """Print a plain-text table with a title, right-aligned numbers."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [
        max(len(str(header)), *(len(row[index]) for row in cells))
        if cells
        else len(str(header))
        for index, header in enumerate(headers)
    ]
    print()
    print(title)
    print("  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * width for width in widths))
    for row in cells:
        print(
            "  ".join(
                value.rjust(width) if _is_number(value) else value.ljust(width)
                for value, width in zip(row, widths, strict=True)
            )
        )
    print(flush=True)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value >= 100:
            return f"{value:,.0f}"
        if value >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _is_number(text: str) -> bool:
    return bool(re.fullmatch(r"[-+]?[\d,]*\.?\d+(x| ms| s| MiB|%)?", text))


def verdict(met: bool) -> str:
    """Return the word printed beside a target."""
    return "met" if met else "MISSED"
