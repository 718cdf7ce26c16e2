"""Load the portal under gunicorn with wrk: two portal pages against a bare Flask route.

The script fills a PostgreSQL database with 10,000 chores: approved work with
its ledger journals, work waiting for review and chores open for claims. It
starts gunicorn with 2 sync workers on a free loopback port and logs a tenant
and a caretaker in through the real login form. Then wrk loads each page for a
fixed time at 16 connections:

- baseline: ``/bare/ping``, a Flask route with nothing behind it, served by
  the same gunicorn (see ``benchmarks.portal_app``);
- ``/healthz``, the Klusbank app answering with one database round trip;
- the tenant's list of open chores and the caretaker's review queue.

Sessions are bound to the client address and User-Agent, so wrk sends the
same User-Agent as the login did. Every request must answer 200; a redirect to
the login page would otherwise look like a fast page.

Beside the latencies the script reports the CPU time per request of the
gunicorn workers, of their PostgreSQL server processes and of wrk, read from
/proc and getrusage. Other processes on a shared machine stretch the latencies
but hardly the CPU time, so the CPU-bound rate (cores divided by that CPU time)
estimates what an otherwise idle machine of the same cores would serve.

    python -m benchmarks.bench_portal --connections 16 --duration 10
"""

import argparse
import os
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import requests
from sqlalchemy.engine import make_url

from benchmarks import data, harness

TARGET_P95_MS = 50
USER_AGENT = "klusbank-benchmark/1.0"
WRK_SCRIPT = Path(__file__).with_name("wrk_report.lua")
PROJECT_ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_SECONDS = 120
APPROVED_PERIODS = ("2026-09", "2026-10", "2026-11")


@dataclass
class WrkResult:
    """Throughput and latency that wrk measured for one page."""

    page: str
    path: str
    requests: int
    seconds: float
    socket_errors: int
    non_200: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    cpu: "ServerCpu"

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def cpu_ms(self, seconds: float) -> float:
        """Return CPU seconds spread over the requests, in ms per request."""
        return seconds * 1000 / self.requests

    @property
    def cpu_bound_rate(self) -> float:
        """Requests/s that the machine's cores would serve at this CPU cost."""
        return (os.cpu_count() or 1) * self.requests / self.cpu.total


@dataclass(frozen=True)
class ServerCpu:
    """CPU seconds of one wrk run: gunicorn workers, PostgreSQL and wrk itself."""

    workers: float
    postgres: float
    wrk: float

    @property
    def total(self) -> float:
        return self.workers + self.postgres + self.wrk


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--chores", type=int, default=10_000, help="Chores in the database."
    )
    parser.add_argument(
        "--connections", type=int, default=16, help="wrk connections (default: 16)."
    )
    parser.add_argument(
        "--duration", type=int, default=10, help="Seconds per page (default: 10)."
    )
    parser.add_argument(
        "--workers", type=int, default=2, help="gunicorn workers (default: 2)."
    )
    parser.add_argument(
        "--postgres-url",
        default=harness.DEFAULT_POSTGRES_URL,
        help="Server database used to create and drop the kbbench_* databases.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="Short run: 5 seconds per page."
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration = 5
    return args


def main(argv: list[str] | None = None) -> list[WrkResult]:
    """Fill the database, serve it with gunicorn, load each page with wrk."""
    args = parse_args(argv)
    harness.stop_on_sigterm()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed; install the Debian package wrk")
    print(f"portal benchmark on {harness.machine_summary()}")
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    with harness.bench_database("postgresql", "portal", args.postgres_url) as database:
        config = harness.bench_config(database)
        harness.migrate(config)
        with harness.app_context(config):
            users = _fill(args.chores)
        results = _serve_and_load(database, users, args)
    report(results, args)
    return results


def _fill(chores: int) -> dict[str, Any]:
    """Create tenants, staff and the chores; return the e-mail addresses to log in with."""
    from klusbank.timeutil import Period

    now = datetime.now(UTC)
    population = data.create_population(
        "portal", 2_000, clusters=40, clusters_per_caretaker=5
    )
    # 4% open for claims and 2% waiting for review: with 10,000 chores a
    # tenant's list shows 10 chores and a caretaker's queue 25 claims.
    open_per_cluster = max(1, chores * 4 // 100 // len(population.cluster_ids))
    opened = data.add_open_chores(population, open_per_cluster, now)
    submitted = data.add_submitted_work(population, chores * 2 // 100, now)
    approved = chores - opened - submitted
    for number, name in enumerate(APPROVED_PERIODS):
        share = approved // len(APPROVED_PERIODS)
        if number == len(APPROVED_PERIODS) - 1:
            share = approved - share * number
        works = data.spread_work(population, share, Period.parse(name), seed=number)
        data.add_approved_work(population, works)
    data.refresh_statistics()
    tenant_id = population.tenant_ids[0]
    caretaker_id = population.caretaker_of[population.cluster_of[tenant_id]]
    print(
        f"  {opened} open, {submitted} submitted and {approved} approved chores; "
        f"{len(population.tenant_ids)} tenants in {len(population.cluster_ids)} "
        "clusters",
        flush=True,
    )
    return {
        "tenant": population.emails[tenant_id],
        "caretaker": population.emails[caretaker_id],
    }


def _serve_and_load(
    database: harness.BenchDatabase, users: dict[str, str], args: argparse.Namespace
) -> list[WrkResult]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = _start_gunicorn(database, port, args.workers)
    try:
        _wait_until_ready(base, server)
        tenant = _login(base, users["tenant"])
        caretaker = _login(base, users["caretaker"])
        pages = [
            ("bare Flask route (baseline)", "/bare/ping", None),
            ("/healthz (Klusbank, 1 query)", "/healthz", None),
            ("tenant: open chores", _path(database, "participation.chores"), tenant),
            (
                "caretaker: review queue",
                _path(database, "participation.review_queue"),
                caretaker,
            ),
        ]
        results = []
        processes = _ServerProcesses(server, database, args.postgres_url)
        for page, path, cookie in pages:
            _check_page(base, path, cookie)
            results.append(_wrk(page, base, path, cookie, args, processes))
            print(
                f"  {page}: {results[-1].rate:.0f} requests/s, "
                f"load average {os.getloadavg()[0]:.2f}",
                flush=True,
            )
        return results
    finally:
        _stop(server)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start_gunicorn(
    database: harness.BenchDatabase, port: int, workers: int
) -> subprocess.Popen:
    factory = (
        "benchmarks.portal_app:create_portal_app("
        f"database_url={database.url!r}, instance_dir={str(database.instance_dir)!r}, "
        f"secret_key={secrets.token_hex(32)!r})"
    )
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--chdir",
        str(PROJECT_ROOT),
        "--log-level",
        "warning",
        factory,
    ]
    return subprocess.Popen(command, cwd=PROJECT_ROOT, start_new_session=True)


def _wait_until_ready(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with code {server.returncode}")
        try:
            if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.5)
    raise TimeoutError(f"gunicorn did not respond within {READY_TIMEOUT_SECONDS} s")


def _stop(server: subprocess.Popen) -> None:
    """Stop the gunicorn this script started: its process group, by its pid."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)


def _path(database: harness.BenchDatabase, endpoint: str) -> str:
    """Return the URL path of a Klusbank endpoint."""
    from flask import url_for

    config = harness.bench_config(database)
    with harness.app_context(config) as app, app.test_request_context():
        return url_for(endpoint)


def _login(base: str, email: str) -> str:
    """Log in through the login form; return the Cookie header value."""
    client = requests.Session()
    client.headers["User-Agent"] = USER_AGENT
    form = client.get(f"{base}/login", timeout=30)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text)
    if token is None:
        raise RuntimeError("the login page has no CSRF token")
    response = client.post(
        f"{base}/login",
        data={
            "csrf_token": token.group(1),
            "email": email,
            "password": data.BENCH_PASSWORD,
        },
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 302:
        raise RuntimeError(
            f"login of {email} returned {response.status_code}, expected 302"
        )
    return "; ".join(f"{name}={value}" for name, value in client.cookies.items())


def _check_page(base: str, path: str, cookie: str | None) -> None:
    """Raise unless the page returns 200 to the session, not a redirect to login."""
    headers = {"User-Agent": USER_AGENT}
    if cookie:
        headers["Cookie"] = cookie
    response = requests.get(
        base + path, headers=headers, allow_redirects=False, timeout=30
    )
    if response.status_code != 200:
        raise RuntimeError(f"{path} returned {response.status_code}, expected 200")


class _ServerProcesses:
    """The gunicorn workers and PostgreSQL server processes that serve the pages."""

    def __init__(
        self,
        server: subprocess.Popen,
        database: harness.BenchDatabase,
        postgres_url: str,
    ) -> None:
        self.server = server
        self.database_name = make_url(database.url).database
        admin_url = make_url(postgres_url).set(drivername="postgresql")
        self.admin_url = admin_url.render_as_string(hide_password=False)

    def cpu_seconds(self) -> tuple[dict[int, float], dict[int, float]]:
        """Return the CPU seconds used so far per worker pid and per server pid."""
        return (
            _cpu_by_pid(_child_pids(self.server.pid)),
            _cpu_by_pid(self._postgres_pids()),
        )

    def _postgres_pids(self) -> list[int]:
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            rows = connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s",
                (self.database_name,),
            ).fetchall()
        return [pid for (pid,) in rows]


def _child_pids(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def _cpu_by_pid(pids: list[int]) -> dict[int, float]:
    used = {}
    for pid in pids:
        try:
            used[pid] = harness.process_cpu_seconds(pid)
        except FileNotFoundError:  # the process ended after it was listed
            continue
    return used


def _used_between(before: dict[int, float], after: dict[int, float]) -> float:
    """Sum the CPU used between two readings; a new process counts from zero."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def _wrk(
    page: str,
    base: str,
    path: str,
    cookie: str | None,
    args: argparse.Namespace,
    processes: _ServerProcesses,
) -> WrkResult:
    command = [
        "wrk",
        "--threads",
        "2",
        "--connections",
        str(args.connections),
        "--duration",
        f"{args.duration}s",
        "--timeout",
        "10s",
        "--script",
        str(WRK_SCRIPT),
        "--header",
        f"User-Agent: {USER_AGENT}",
    ]
    if cookie:
        command += ["--header", f"Cookie: {cookie}"]
    workers_before, postgres_before = processes.cpu_seconds()
    wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(
        [*command, base + path],
        capture_output=True,
        text=True,
        check=True,
        timeout=args.duration + 60,
    ).stdout
    wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    workers_after, postgres_after = processes.cpu_seconds()
    cpu = ServerCpu(
        workers=_used_between(workers_before, workers_after),
        postgres=_used_between(postgres_before, postgres_after),
        wrk=(wrk_after.ru_utime + wrk_after.ru_stime)
        - (wrk_before.ru_utime + wrk_before.ru_stime),
    )
    match = re.search(r"^WRK_RESULT (.+)$", output, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"wrk printed no result for {path}:\n{output}")
    values = {
        key: int(value)
        for key, value in (item.split("=") for item in match.group(1).split())
    }
    return WrkResult(
        page=page,
        path=path,
        requests=values["requests"],
        seconds=values["duration_us"] / 1e6,
        socket_errors=values["socket_errors"],
        non_200=values["non_200"],
        p50_ms=values["p50_us"] / 1000,
        p95_ms=values["p95_us"] / 1000,
        p99_ms=values["p99_us"] / 1000,
        cpu=cpu,
    )


def report(results: list[WrkResult], args: argparse.Namespace) -> None:
    """Print requests per second and latency percentiles against the bare route."""
    bare = results[0]
    harness.print_table(
        f"Portal under gunicorn ({args.workers} sync workers), wrk "
        f"{args.connections} connections, {args.duration} s per page",
        [
            "page",
            "requests/s",
            "vs bare",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "non-200",
            "socket errors",
            f"p95 < {TARGET_P95_MS} ms",
        ],
        [
            [
                result.page,
                result.rate,
                f"{result.rate / bare.rate:.3f}x",
                result.p50_ms,
                result.p95_ms,
                result.p99_ms,
                result.non_200,
                result.socket_errors,
                harness.verdict(
                    result.p95_ms < TARGET_P95_MS
                    and result.non_200 == 0
                    and result.socket_errors == 0
                ),
            ]
            for result in results
        ],
    )
    harness.print_table(
        "CPU time per request (gunicorn workers, their PostgreSQL server "
        "processes, wrk)",
        [
            "page",
            "workers ms",
            "PostgreSQL ms",
            "wrk ms",
            "total ms",
            "CPU-bound requests/s",
        ],
        [
            [
                result.page,
                result.cpu_ms(result.cpu.workers),
                result.cpu_ms(result.cpu.postgres),
                result.cpu_ms(result.cpu.wrk),
                result.cpu_ms(result.cpu.total),
                result.cpu_bound_rate,
            ]
            for result in results
        ],
    )


if __name__ == "__main__":
    main()
