"""The scheduled jobs: the close on the 1st at 02:00 and the nightly verify."""

import logging
from datetime import datetime

import time_machine

from klusbank.extensions import db
from klusbank.scheduler import build_scheduler, run_in_app_context
from klusbank.timeutil import AMSTERDAM, Period
from rewards.jobs import (
    CLOSE_JOB_ID,
    VERIFY_JOB_ID,
    close_previous_month,
    verify_ledger_job,
)
from rewards.ledger import services as ledger
from rewards.ledger.models import PeriodStatus
from tests.factories import create_corporation, create_finance, create_tenant
from tests.rewards.engine.helpers import amsterdam, create_rules, credit


def test_close_runs_at_two_on_the_first(app):
    scheduler = build_scheduler(app)
    job = scheduler.get_job(CLOSE_JOB_ID)
    now = datetime(2026, 11, 15, 12, tzinfo=AMSTERDAM)

    next_run = job.trigger.get_next_fire_time(None, now)

    assert next_run == datetime(2026, 12, 1, 2, 0, tzinfo=AMSTERDAM)
    assert next_run.utcoffset().total_seconds() == 3600


def test_close_time_follows_summer_time(app):
    job = build_scheduler(app).get_job(CLOSE_JOB_ID)
    now = datetime(2026, 5, 15, 12, tzinfo=AMSTERDAM)

    next_run = job.trigger.get_next_fire_time(None, now)

    assert next_run == datetime(2026, 6, 1, 2, 0, tzinfo=AMSTERDAM)
    assert next_run.utcoffset().total_seconds() == 7200


def test_verify_runs_nightly(app):
    job = build_scheduler(app).get_job(VERIFY_JOB_ID)
    now = datetime(2026, 11, 15, 12, tzinfo=AMSTERDAM)

    assert job.trigger.get_next_fire_time(None, now).date().isoformat() == "2026-11-16"


def test_scheduled_close_covers_every_corporation(app, caplog):
    corporations = []
    for code in ("north", "south"):
        corporation = create_corporation(code=code)
        create_rules(create_finance(corporation))
        credit(corporation, create_tenant(corporation), 30, amsterdam(2026, 11, 9))
        corporations.append(corporation)
    db.session.commit()

    with time_machine.travel(amsterdam(2026, 12, 1, 2, 0), tick=False):
        with caplog.at_level(logging.INFO, logger="rewards.jobs"):
            first = close_previous_month(app)
        second = close_previous_month(app)

    assert first == {"closed": 2, "already_closed": 0, "failed": 0}
    assert second == {"closed": 0, "already_closed": 2, "failed": 0}
    for corporation in corporations:
        assert (
            ledger.period_status(corporation.id, Period(2026, 11))
            == PeriodStatus.CLOSED
        )
    assert "scheduled close of 2026-11: 2 closed" in caplog.text


def test_verify_job_logs_result(app, caplog):
    corporation = create_corporation()
    credit(corporation, create_tenant(corporation), 30, amsterdam(2026, 11, 9))
    db.session.commit()

    with caplog.at_level(logging.INFO, logger="rewards.jobs"):
        violations = run_in_app_context(app, verify_ledger_job)

    assert violations == []
    assert "ledger verify found no violations" in caplog.text
