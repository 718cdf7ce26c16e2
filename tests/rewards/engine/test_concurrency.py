"""Two processes closing the same month at once on PostgreSQL settle each tenant once."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from klusbank.accounts.access import today
from klusbank.extensions import db
from klusbank.timeutil import Period
from rewards.engine.models import CloseRun, SettlementLine
from rewards.ledger.models import Journal, JournalKind
from tests.factories import create_corporation, create_finance, create_tenant
from tests.rewards.engine.helpers import create_rules, credit

PROJECT_ROOT = Path(__file__).resolve().parents[3]
TENANTS = 12


def start_close(database_url: str, instance_dir: Path, code: str, period: Period):
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KLUSBANK_ENV": "testing",
        "KLUSBANK_INSTANCE_DIR": str(instance_dir),
        "LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "wsgi",
        "rewards",
        "close",
        "--corporation",
        code,
        "--period",
        str(period),
    ]
    return subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_processes_close_once(app, backend, database_url, tmp_path):
    if backend != "postgresql":
        pytest.skip("SQLite allows one writer; the race needs PostgreSQL")
    # The last month that has ended, in real time, because the processes run
    # outside this test's clock.
    period = Period.of(today()).previous()
    corporation = create_corporation(code="race")
    create_rules(create_finance(corporation))
    for index in range(TENANTS):
        tenant = create_tenant(corporation)
        credit(corporation, tenant, 10 + index, period.starts_at)
    db.session.commit()

    processes = [
        start_close(database_url, tmp_path, corporation.code, period) for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120) for process in processes]

    for process, (_stdout, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
    messages = sorted(stdout for stdout, _ in outputs)
    assert messages[0].startswith(f"{period} of race is already closed")
    assert messages[1].startswith(f"closed {period} of race: {TENANTS} tenants")
    settled = db.session.scalar(
        select(func.count())
        .select_from(SettlementLine)
        .where(SettlementLine.corporation_id == corporation.id)
    )
    journals = db.session.scalar(
        select(func.count())
        .select_from(Journal)
        .where(
            Journal.corporation_id == corporation.id,
            Journal.kind == JournalKind.SETTLEMENT,
        )
    )
    runs = db.session.scalar(select(func.count()).select_from(CloseRun))
    assert settled == TENANTS
    assert journals == TENANTS
    assert runs == 1
